"""Pre-activation ResNets (ResNet v2), drop-in for TF-Slim's `nets.resnet_v2`.

[1] Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun.
    Identity Mappings in Deep Residual Networks. arXiv:1603.05027

Same variable names, end points, collections and numbers as TF-Slim, so
checkpoints such as `resnet_v2_50.ckpt` (1001 classes, "inception"
preprocessing) restore as they are. Networks are lists of `Block`s; the unit
strides sit on the last unit of each block, as in slim.

Typical use:

   import tf_slim as slim
   from nets import resnet_v2

   # ImageNet classification:
   with slim.arg_scope(resnet_v2.resnet_arg_scope()):
     net, end_points = resnet_v2.resnet_v2_101(inputs, 1001,
                                               is_training=False)

   # Dense features for segmentation, at stride 16:
   with slim.arg_scope(resnet_v2.resnet_arg_scope()):
     net, end_points = resnet_v2.resnet_v2_101(inputs, num_classes=None,
                                               is_training=False,
                                               global_pool=False,
                                               output_stride=16)
"""

import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import utils as slim_utils

from nets import _common
from nets import _layers
from nets import registry
from nets import resnet_utils

resnet_arg_scope = resnet_utils.resnet_arg_scope


@slim.add_arg_scope
def bottleneck(inputs,
               depth,
               depth_bottleneck,
               stride,
               rate=1,
               outputs_collections=None,
               scope=None):
  """Bottleneck residual unit with pre-activation, Fig. 1(b) of [1].

  `preact` (batch norm + ReLU) feeds both the residual branch (1x1 `conv1`,
  3x3 `conv2` carrying the stride and rate, 1x1 `conv3` without batch norm)
  and, when the depth changes, the projection `shortcut` (1x1 conv with
  biases); an unchanged depth gives an identity (subsampled) shortcut.

  Args:
    inputs: a rank-4 tensor.
    depth: output channels.
    depth_bottleneck: channels of conv1 and conv2.
    stride: the unit's stride (on conv2 and the shortcut).
    rate: atrous rate of conv2.
    outputs_collections: collection for the end points.
    scope: variable scope, default 'bottleneck_v2'.

  Returns:
    The unit's output.
  """
  with tf.compat.v1.variable_scope(scope, 'bottleneck_v2', [inputs]) as sc:
    depth_in = inputs.shape.dims[
        1 if _common.scoped_data_format() == 'NCHW' else 3].value
    preact = _layers.batch_norm(inputs, activation_fn=tf.nn.relu,
                                scope='preact')
    if depth == depth_in:
      shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
    else:
      shortcut = _layers.conv2d(preact, depth, [1, 1], stride=stride,
                                normalizer_fn=None, activation_fn=None,
                                scope='shortcut')
    residual = _layers.conv2d(preact, depth_bottleneck, [1, 1], stride=1,
                              scope='conv1')
    residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride,
                                        rate=rate, scope='conv2')
    residual = _layers.conv2d(residual, depth, [1, 1], stride=1,
                              normalizer_fn=None, activation_fn=None,
                              scope='conv3')
    output = shortcut + residual
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)


def resnet_v2(inputs,
              blocks,
              num_classes=None,
              is_training=True,
              global_pool=True,
              output_stride=None,
              include_root_block=True,
              spatial_squeeze=True,
              reuse=None,
              scope=None):
  """Generator for v2 (pre-activation) ResNet models.

  Root block `conv1` (7x7/2 conv with biases, no batch norm: the first unit
  pre-activates it) and `pool1` (3x3/2 max-pool, SAME under
  resnet_arg_scope), the blocks, `postnorm` (batch norm + ReLU), then the
  optional global pool and 1x1 `logits`.

  Args:
    inputs: a tensor [batch, height, width, channels] (channels known).
    blocks: a list of `resnet_utils.Block`s.
    num_classes: logits size; None or 0 returns the features before logits.
    is_training: batch norm mode, a Python bool or a scalar bool tensor.
    global_pool: average over height and width before the logits.
    output_stride: None, or the wanted ratio of input to output resolution; a
      multiple of 4 with the root block. Smaller than the nominal 32 it turns
      later units atrous.
    include_root_block: add conv1 and pool1.
    spatial_squeeze: squeeze logits [B, 1, 1, C] to [B, C].
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope, default 'resnet_v2'.

  Returns:
    net: logits [B, num_classes] ([B, 1, 1, num_classes] unsqueezed), or the
      features [B, 1, 1, C] after global_pool, or [B, H/os, W/os, C].
    end_points: ordered dict `<scope>/conv1`, the units'
      `.../unit_U/bottleneck_v2/{shortcut,conv1,conv2,conv3}` and the units,
      `<scope>/blockN` (before postnorm), then 'global_pool',
      `<scope>/logits`, `<scope>/spatial_squeeze`, 'predictions'.

  Raises:
    ValueError / TypeError: bad inputs, num_classes or output_stride.
  """
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(
      scope, 'resnet_v2', [inputs], reuse=reuse) as sc:
    inputs = _common.validate_inputs(inputs)
    end_points_collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope(
        [_layers.conv2d, bottleneck, resnet_utils.stack_blocks_dense],
        outputs_collections=end_points_collection):
      with slim.arg_scope([_layers.batch_norm], is_training=is_training):
        net = inputs
        if include_root_block:
          output_stride = _common.blocks_output_stride(output_stride, 4)
          # No batch norm or activation in conv1: the first unit's preact
          # normalizes it (Appendix of [1]).
          with slim.arg_scope([_layers.conv2d], activation_fn=None,
                              normalizer_fn=None):
            net = resnet_utils.conv2d_same(net, 64, 7, stride=2, scope='conv1')
          net = _layers.max_pool2d(net, [3, 3], stride=2, scope='pool1')
        else:
          output_stride = _common.blocks_output_stride(output_stride, 1)
        net = resnet_utils.stack_blocks_dense(net, blocks, output_stride)
        # Pre-activation units leave their sum un-normalized (Appendix of [1]).
        net = _layers.batch_norm(net, activation_fn=tf.nn.relu,
                                 scope='postnorm')
        return _common.classification_head(
            net, end_points_collection, sc.name, num_classes, global_pool,
            spatial_squeeze)


resnet_v2.default_image_size = 224


def resnet_v2_block(scope, base_depth, num_units, stride):
  """A block of `num_units` v2 bottlenecks of width `base_depth`.

  Args:
    scope: the block's scope, e.g. 'block1'.
    base_depth: bottleneck depth; units output 4 * base_depth channels.
    num_units: number of units.
    stride: the block's stride, on its last unit (the others have stride 1).

  Returns:
    A `resnet_utils.Block`.

  Raises:
    ValueError: naming the block unless base_depth and num_units are
      positive ints.
  """
  resnet_utils.check_block_spec(scope, base_depth, num_units)
  return resnet_utils.Block(scope, bottleneck, [{
      'depth': base_depth * 4,
      'depth_bottleneck': base_depth,
      'stride': 1
  }] * (num_units - 1) + [{
      'depth': base_depth * 4,
      'depth_bottleneck': base_depth,
      'stride': stride
  }])


def _blocks(depth):
  return [
      resnet_v2_block('block%d' % (i + 1), base_depth, num_units, stride)
      for i, (base_depth, num_units, stride) in enumerate(
          zip(resnet_utils.BASE_DEPTHS, resnet_utils.UNITS_PER_BLOCK[depth],
              resnet_utils.BLOCK_STRIDES))
  ]


def _register(fn):
  return registry.register('resnet_v2', resnet_arg_scope, 224, 1001,
                           'inception')(fn)


@_register
def resnet_v2_50(inputs,
                 num_classes=None,
                 is_training=True,
                 global_pool=True,
                 output_stride=None,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='resnet_v2_50'):
  """ResNet-50 v2 of [1]. See resnet_v2() for arg and return description."""
  return resnet_v2(inputs, _blocks(50), num_classes=num_classes,
                   is_training=is_training, global_pool=global_pool,
                   output_stride=output_stride, include_root_block=True,
                   spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)


@_register
def resnet_v2_101(inputs,
                  num_classes=None,
                  is_training=True,
                  global_pool=True,
                  output_stride=None,
                  spatial_squeeze=True,
                  reuse=None,
                  scope='resnet_v2_101'):
  """ResNet-101 v2 of [1]. See resnet_v2() for arg and return description."""
  return resnet_v2(inputs, _blocks(101), num_classes=num_classes,
                   is_training=is_training, global_pool=global_pool,
                   output_stride=output_stride, include_root_block=True,
                   spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)


@_register
def resnet_v2_152(inputs,
                  num_classes=None,
                  is_training=True,
                  global_pool=True,
                  output_stride=None,
                  spatial_squeeze=True,
                  reuse=None,
                  scope='resnet_v2_152'):
  """ResNet-152 v2 of [1]. See resnet_v2() for arg and return description."""
  return resnet_v2(inputs, _blocks(152), num_classes=num_classes,
                   is_training=is_training, global_pool=global_pool,
                   output_stride=output_stride, include_root_block=True,
                   spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)


@_register
def resnet_v2_200(inputs,
                  num_classes=None,
                  is_training=True,
                  global_pool=True,
                  output_stride=None,
                  spatial_squeeze=True,
                  reuse=None,
                  scope='resnet_v2_200'):
  """ResNet-200 v2 of [1]. See resnet_v2() for arg and return description."""
  return resnet_v2(inputs, _blocks(200), num_classes=num_classes,
                   is_training=is_training, global_pool=global_pool,
                   output_stride=output_stride, include_root_block=True,
                   spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)
