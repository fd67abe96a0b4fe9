"""The original ResNets (ResNet v1), drop-in for TF-Slim's `nets.resnet_v1`.

[1] Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun.
    Deep Residual Learning for Image Recognition. arXiv:1512.03385
[2] Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun.
    Identity Mappings in Deep Residual Networks. arXiv:1603.05027

Batch norm after every conv, projection shortcuts only where the depth
changes, and, as in slim, the stride on the 3x3 conv of the LAST unit of a
block. torchvision's and Keras' ResNet-50 put it elsewhere: the
torchvision / Paddle layout is `nets.resnext.tv_resnet50/101/152` (see
docs/conversion.md). slim's v1 checkpoints have 1000 classes and expect
"vgg" preprocessing.

Typical use:

   import tf_slim as slim
   from nets import resnet_v1

   with slim.arg_scope(resnet_v1.resnet_arg_scope()):
     net, end_points = resnet_v1.resnet_v1_50(inputs, 1000, is_training=False)
"""

import contextlib

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
               scope=None,
               use_bounded_activations=False):
  """Bottleneck residual unit with batch norm after each conv, Fig. 1(a) of [2].

  1x1 `conv1`, 3x3 `conv2` (stride and rate), 1x1 `conv3` without
  activation; the `shortcut` is a 1x1 conv with batch norm when the depth
  changes, else the (subsampled) input; output ReLU(shortcut + residual).

  Args:
    inputs: a rank-4 tensor.
    depth: output channels.
    depth_bottleneck: channels of conv1 and conv2.
    stride: the unit's stride (on conv2 and the shortcut).
    rate: atrous rate of conv2.
    outputs_collections: collection for the end points.
    scope: variable scope, default 'bottleneck_v1'.
    use_bounded_activations: ReLU6 on the shortcut and the output and a
      [-6, 6] clip of the residual, for quantized inference.

  Returns:
    The unit's output.
  """
  with tf.compat.v1.variable_scope(scope, 'bottleneck_v1', [inputs]) as sc:
    depth_in = inputs.shape.dims[
        1 if _common.scoped_data_format() == 'NCHW' else 3].value
    if depth == depth_in:
      shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
    else:
      shortcut = _layers.conv2d(
          inputs, depth, [1, 1], stride=stride,
          activation_fn=tf.nn.relu6 if use_bounded_activations else None,
          scope='shortcut')
    residual = _layers.conv2d(inputs, depth_bottleneck, [1, 1], stride=1,
                              scope='conv1')
    residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, stride,
                                        rate=rate, scope='conv2')
    residual = _layers.conv2d(residual, depth, [1, 1], stride=1,
                              activation_fn=None, scope='conv3')
    if use_bounded_activations:
      residual = tf.clip_by_value(residual, -6.0, 6.0)
      output = tf.nn.relu6(shortcut + residual)
    else:
      output = tf.nn.relu(shortcut + residual)
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)


def resnet_v1(inputs,
              blocks,
              num_classes=None,
              is_training=True,
              global_pool=True,
              output_stride=None,
              include_root_block=True,
              spatial_squeeze=True,
              store_non_strided_activations=False,
              reuse=None,
              scope=None):
  """Generator for v1 ResNet models.

  Root block `conv1` (7x7/2 conv + batch norm + ReLU) and `pool1` (3x3/2
  max-pool, SAME under resnet_arg_scope), the blocks, then the optional
  global pool and 1x1 `logits`.

  Args:
    inputs: a tensor [batch, height, width, channels] (channels known).
    blocks: a list of `resnet_utils.Block`s.
    num_classes: logits size; None or 0 returns the features before logits.
    is_training: batch norm mode, a Python bool or a scalar bool tensor; None
      leaves it to the caller's arg_scope.
    global_pool: average over height and width before the logits.
    output_stride: None, or the wanted ratio of input to output resolution; a
      multiple of 4 with the root block.
    include_root_block: add conv1 and pool1.
    spatial_squeeze: squeeze logits [B, 1, 1, C] to [B, C].
    store_non_strided_activations: make each block end point the activation
      before the block's final stride (for dense prediction).
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope, default 'resnet_v1'.

  Returns:
    net: logits [B, num_classes] ([B, 1, 1, num_classes] unsqueezed), or the
      features [B, 1, 1, C] after global_pool, or [B, H/os, W/os, C].
    end_points: ordered dict `<scope>/conv1`, the units'
      `.../unit_U/bottleneck_v1/{shortcut,conv1,conv2,conv3}` and the units,
      `<scope>/blockN`, then 'global_pool', `<scope>/logits`,
      `<scope>/spatial_squeeze`, 'predictions'.

  Raises:
    ValueError / TypeError: bad inputs, num_classes or output_stride.
  """
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(
      scope, 'resnet_v1', [inputs], reuse=reuse) as sc:
    inputs = _common.validate_inputs(inputs)
    end_points_collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope(
        [_layers.conv2d, bottleneck, resnet_utils.stack_blocks_dense],
        outputs_collections=end_points_collection):
      with (slim.arg_scope([_layers.batch_norm], is_training=is_training)
            if is_training is not None else contextlib.nullcontext()):
        net = inputs
        if include_root_block:
          output_stride = _common.blocks_output_stride(output_stride, 4)
          net = resnet_utils.conv2d_same(net, 64, 7, stride=2, scope='conv1')
          net = _layers.max_pool2d(net, [3, 3], stride=2, scope='pool1')
        else:
          output_stride = _common.blocks_output_stride(output_stride, 1)
        net = resnet_utils.stack_blocks_dense(net, blocks, output_stride,
                                              store_non_strided_activations)
        return _common.classification_head(
            net, end_points_collection, sc.name, num_classes, global_pool,
            spatial_squeeze)


resnet_v1.default_image_size = 224


def resnet_v1_block(scope, base_depth, num_units, stride):
  """A block of `num_units` v1 bottlenecks of width `base_depth`.

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


def _blocks(depth, min_base_depth, depth_multiplier):
  # As upstream: depth = max(int(d * depth_multiplier), min_base_depth), so
  # 0 is a valid multiplier (every block at min_base_depth).
  if (isinstance(depth_multiplier, bool) or
      not isinstance(depth_multiplier, (int, float)) or depth_multiplier < 0):
    raise ValueError('depth_multiplier must be a non-negative number, got %r'
                     % (depth_multiplier,))
  if (isinstance(min_base_depth, bool) or
      not isinstance(min_base_depth, int)):
    raise ValueError('min_base_depth must be an int, got %r' %
                     (min_base_depth,))
  return [
      resnet_v1_block('block%d' % (i + 1),
                      max(int(base_depth * depth_multiplier), min_base_depth),
                      num_units, stride)
      for i, (base_depth, num_units, stride) in enumerate(
          zip(resnet_utils.BASE_DEPTHS, resnet_utils.UNITS_PER_BLOCK[depth],
              resnet_utils.BLOCK_STRIDES))
  ]


def _register(fn):
  return registry.register('resnet_v1', resnet_arg_scope, 224, 1000, 'vgg')(fn)


@_register
def resnet_v1_50(inputs,
                 num_classes=None,
                 is_training=True,
                 global_pool=True,
                 output_stride=None,
                 spatial_squeeze=True,
                 store_non_strided_activations=False,
                 min_base_depth=8,
                 depth_multiplier=1,
                 reuse=None,
                 scope='resnet_v1_50'):
  """ResNet-50 v1 of [1]. See resnet_v1() for arg and return description.

  `depth_multiplier` scales every block's depth, never below `min_base_depth`.
  """
  return resnet_v1(inputs, _blocks(50, min_base_depth, depth_multiplier),
                   num_classes=num_classes, is_training=is_training,
                   global_pool=global_pool, output_stride=output_stride,
                   include_root_block=True, spatial_squeeze=spatial_squeeze,
                   store_non_strided_activations=store_non_strided_activations,
                   reuse=reuse, scope=scope)


@_register
def resnet_v1_101(inputs,
                  num_classes=None,
                  is_training=True,
                  global_pool=True,
                  output_stride=None,
                  spatial_squeeze=True,
                  store_non_strided_activations=False,
                  min_base_depth=8,
                  depth_multiplier=1,
                  reuse=None,
                  scope='resnet_v1_101'):
  """ResNet-101 v1 of [1]. See resnet_v1_50() and resnet_v1()."""
  return resnet_v1(inputs, _blocks(101, min_base_depth, depth_multiplier),
                   num_classes=num_classes, is_training=is_training,
                   global_pool=global_pool, output_stride=output_stride,
                   include_root_block=True, spatial_squeeze=spatial_squeeze,
                   store_non_strided_activations=store_non_strided_activations,
                   reuse=reuse, scope=scope)


# Upstream orders store_non_strided_activations before spatial_squeeze for
# the two deepest models; kept, so positional calls stay drop-in.
@_register
def resnet_v1_152(inputs,
                  num_classes=None,
                  is_training=True,
                  global_pool=True,
                  output_stride=None,
                  store_non_strided_activations=False,
                  spatial_squeeze=True,
                  min_base_depth=8,
                  depth_multiplier=1,
                  reuse=None,
                  scope='resnet_v1_152'):
  """ResNet-152 v1 of [1]. See resnet_v1_50() and resnet_v1()."""
  return resnet_v1(inputs, _blocks(152, min_base_depth, depth_multiplier),
                   num_classes=num_classes, is_training=is_training,
                   global_pool=global_pool, output_stride=output_stride,
                   include_root_block=True, spatial_squeeze=spatial_squeeze,
                   store_non_strided_activations=store_non_strided_activations,
                   reuse=reuse, scope=scope)


@_register
def resnet_v1_200(inputs,
                  num_classes=None,
                  is_training=True,
                  global_pool=True,
                  output_stride=None,
                  store_non_strided_activations=False,
                  spatial_squeeze=True,
                  min_base_depth=8,
                  depth_multiplier=1,
                  reuse=None,
                  scope='resnet_v1_200'):
  """ResNet-200 v1 of [2]. See resnet_v1_50() and resnet_v1()."""
  return resnet_v1(inputs, _blocks(200, min_base_depth, depth_multiplier),
                   num_classes=num_classes, is_training=is_training,
                   global_pool=global_pool, output_stride=output_stride,
                   include_root_block=True, spatial_squeeze=spatial_squeeze,
                   store_non_strided_activations=store_non_strided_activations,
                   reuse=reuse, scope=scope)
