"""ResNeXt [1] and torchvision-layout ResNets ("v1.5") in TF-Slim style.

[1] Saining Xie, Ross Girshick, Piotr Dollar, Zhuowen Tu, Kaiming He.
    Aggregated Residual Transformations for Deep Neural Networks. CVPR 2017,
    arXiv:1611.05431
[2] Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun.
    Deep Residual Learning for Image Recognition. arXiv:1512.03385

One generator, `resnext()`, builds both families from `resnet_utils.Block`
lists of `bottleneck` units:

- ResNeXt [1] (`resnext50_32x4d`, `resnext101_32x4d`, `resnext101_32x8d`,
  `resnext101_64x4d`): the bottleneck's 3x3 conv is a grouped convolution
  with `cardinality` groups (one native TensorFlow grouped conv, see
  `nets._grouped`). Widths follow torchvision: a block of `base_depth` planes
  with `base_width` channels per group has a bottleneck width of
  `int(base_depth * base_width / 64) * cardinality` and outputs
  `4 * base_depth` channels (resnext50_32x4d: 128 -> 256 in block1).
- The torchvision / Paddle ResNet-50/101/152 [2] (`tv_resnet50`,
  `tv_resnet101`, `tv_resnet152`, timm's names for them), i.e. the same
  generator with cardinality 1.

Both use the layout of FB-Torch, torchvision, Keras' ResNeXt and Paddle,
which differs from slim's `resnet_v1` in three places:

- the stride sits on the 3x3 conv of the FIRST unit of a block (slim: last);
- `pool1` pads one pixel on EVERY side, then a VALID 3x3/2 max-pool (slim:
  SAME, which pads 0 before and 1 after on even sizes);
- a unit has a projection shortcut (1x1 conv + batch norm, with the stride)
  whenever its depth or its stride changes; slim subsamples the input when
  only the stride changes.

Every conv has batch norm and no biases (v1 layout); a unit outputs
ReLU(shortcut + conv3). The root `conv1` is `resnet_utils.conv2d_same` (7x7/2,
3 pixels of padding on each side, as torch's `padding=3`).

Variable layout and its torchvision counterpart (`<m>` is the model scope,
block b = torch `layer<b>`, unit u = torch index u - 1; a Paddle ResNet state
dict has the same keys with `_mean`/`_variance` for the running stats):

   <m>/conv1/weights                            conv1.weight
   <m>/conv1/BatchNorm/gamma, beta              bn1.weight, bn1.bias
   <m>/conv1/BatchNorm/moving_mean, _variance   bn1.running_mean, running_var
   <m>/block<b>/unit_<u>/bottleneck/conv1/...   layer<b>.<u-1>.conv1 + bn1
   <m>/block<b>/unit_<u>/bottleneck/conv2/...   layer<b>.<u-1>.conv2 + bn2
   <m>/block<b>/unit_<u>/bottleneck/conv3/...   layer<b>.<u-1>.conv3 + bn3
   <m>/block<b>/unit_1/bottleneck/shortcut/...  layer<b>.0.downsample.0 + .1
   <m>/logits/weights, biases                   fc.weight, fc.bias

Conv weights are HWIO: a torch weight W [O, I / groups, kh, kw] is
`W.transpose(2, 3, 1, 0)`, the grouped conv2 included (filter
[3, 3, width / cardinality, width]); `logits/weights` [1, 1, 2048, 1000] is
`fc.weight.T`; torch's `num_batches_tracked` has no counterpart. In Keras'
ResNeXt50/101 (keras-applications) conv<b+1>_block<u>_{0,1,2,3}_{conv,bn} are
the shortcut, conv1, conv2 and conv3, `conv1_conv`/`conv1_bn` the root and
`probs` the logits; its grouped conv is a DepthwiseConv2D kernel K
[3, 3, width, c] (c = width / cardinality) and maps to ours as
F[kh, kw, a, g*c + b] = K[kh, kw, g*c + a, b].

The checkpoints these layouts come from have 1000 classes and expect "torch"
preprocessing (RGB in [0, 1], minus ImageNet mean, over its std).

Typical use:

   import tf_slim as slim
   from nets import resnext

   with slim.arg_scope(resnext.resnext_arg_scope()):
     logits, end_points = resnext.resnext50_32x4d(images, 1000,
                                                  is_training=False)
"""

import contextlib

import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import utils as slim_utils

from nets import _common
from nets import _layers
from nets import registry
from nets import resnet_utils


def resnext_arg_scope(
    weight_decay=0.0001,
    batch_norm_decay=0.9,
    batch_norm_epsilon=1e-5,
    batch_norm_scale=True,
    activation_fn=tf.nn.relu,
    use_batch_norm=True,
    batch_norm_updates_collections=tf.compat.v1.GraphKeys.UPDATE_OPS):
  """The ResNeXt / torchvision-ResNet arg scope.

  `resnet_utils.resnet_arg_scope` with the batch-norm settings of the
  frameworks these weights come from: epsilon 1e-5 (torch and Paddle; Keras
  uses 1.001e-5, which conversion carries into the arg scope) and decay 0.9
  (torch's momentum 0.1, FB-Torch's and Paddle's default), instead of slim's
  0.997:
  the recipes that trained these models updated the moving statistics at that
  rate, and when fine-tuning converted weights the statistics follow the new
  data within tens of steps instead of thousands. `weight_decay` 1e-4 is
  torchvision's recipe too: slim's loss `wd * sum(w**2) / 2` has exactly the
  gradient of torch SGD's `weight_decay=wd`.

  Args:
    weight_decay: L2 weight decay for conv weights (loss `wd * sum(w**2) / 2`).
    batch_norm_decay: moving-average decay of batch norm.
    batch_norm_epsilon: added to the variance in batch norm.
    batch_norm_scale: give batch norm a `gamma`.
    activation_fn: activation after each conv.
    use_batch_norm: put batch norm after each conv.
    batch_norm_updates_collections: collection for the batch norm updates.

  Returns:
    An arg_scope (a dict) for `slim.arg_scope(...)`.
  """
  return resnet_utils.resnet_arg_scope(
      weight_decay=weight_decay,
      batch_norm_decay=batch_norm_decay,
      batch_norm_epsilon=batch_norm_epsilon,
      batch_norm_scale=batch_norm_scale,
      activation_fn=activation_fn,
      use_batch_norm=use_batch_norm,
      batch_norm_updates_collections=batch_norm_updates_collections)


def _check_cardinality(cardinality, depth_bottleneck, where):
  """Raises unless `cardinality` is a positive int dividing the width."""
  if (isinstance(cardinality, bool) or not isinstance(cardinality, int) or
      cardinality < 1):
    raise ValueError('%s: cardinality must be a positive int, got %r' %
                     (where, cardinality))
  if depth_bottleneck % cardinality:
    raise ValueError(
        '%s: cardinality %d does not divide the bottleneck width '
        '(depth_bottleneck) %d' % (where, cardinality, depth_bottleneck))


def _grouped_conv2d_same(inputs, num_outputs, kernel_size, stride, rate,
                         groups, scope):
  """`resnet_utils.conv2d_same` with `groups` (torch's `padding=rate`)."""
  if stride == 1:
    return _layers.conv2d(inputs, num_outputs, kernel_size, stride=1,
                          rate=rate, padding='SAME', groups=groups,
                          scope=scope)
  pad_total = kernel_size + (kernel_size - 1) * (rate - 1) - 1
  spatial = [pad_total // 2, pad_total - pad_total // 2]
  if _common.scoped_data_format() == 'NCHW':
    paddings = [[0, 0], [0, 0], spatial, spatial]
  else:
    paddings = [[0, 0], spatial, spatial, [0, 0]]
  inputs = tf.pad(inputs, paddings)
  return _layers.conv2d(inputs, num_outputs, kernel_size, stride=stride,
                        rate=rate, padding='VALID', groups=groups, scope=scope)


@slim.add_arg_scope
def bottleneck(inputs,
               depth,
               depth_bottleneck,
               stride,
               rate=1,
               cardinality=1,
               outputs_collections=None,
               scope=None):
  """ResNeXt bottleneck unit, Fig. 3(c) of [1]; ResNet's with cardinality 1.

  1x1 `conv1` and grouped 3x3 `conv2` (stride, rate, `cardinality` groups)
  with batch norm and ReLU, 1x1 `conv3` with batch norm only. The `shortcut`
  is a 1x1 conv with batch norm and the stride when `depth` differs from the
  input depth or `stride` is not 1, else the input. Output ReLU(shortcut +
  conv3).

  Under `output_stride`, `stack_blocks_dense` calls strided units with stride
  1; a unit that changes its stride but not its depth then loses its
  projection. Every model here changes the depth where it strides.

  Args:
    inputs: a rank-4 tensor.
    depth: output channels.
    depth_bottleneck: width of conv1 and conv2.
    stride: the unit's stride (on conv2 and the shortcut).
    rate: atrous rate of conv2.
    cardinality: groups of conv2; must divide `depth_bottleneck`.
    outputs_collections: collection for the end points.
    scope: variable scope, default 'bottleneck'.

  Returns:
    The unit's output.

  Raises:
    ValueError: if `cardinality` does not divide `depth_bottleneck`.
  """
  with tf.compat.v1.variable_scope(scope, 'bottleneck', [inputs]) as sc:
    _check_cardinality(cardinality, depth_bottleneck, 'bottleneck %s' % sc.name)
    depth_in = inputs.shape.dims[
        1 if _common.scoped_data_format() == 'NCHW' else 3].value
    if depth == depth_in and stride == 1:
      shortcut = inputs
    else:
      shortcut = _layers.conv2d(inputs, depth, [1, 1], stride=stride,
                                activation_fn=None, scope='shortcut')
    residual = _layers.conv2d(inputs, depth_bottleneck, [1, 1], stride=1,
                              scope='conv1')
    residual = _grouped_conv2d_same(residual, depth_bottleneck, 3, stride,
                                    rate, cardinality, 'conv2')
    residual = _layers.conv2d(residual, depth, [1, 1], stride=1,
                              activation_fn=None, scope='conv3')
    output = tf.nn.relu(shortcut + residual)
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)


def _pool1(net):
  """3x3/2 max-pool after one pixel of padding on each side (torch's)."""
  # Padding with the dtype's lowest value, not zeros, so the pool equals
  # torch's (which never picks padding) even without a ReLU before it; after
  # the usual ReLU it also equals Keras' ZeroPadding2D + MaxPooling2D.
  if _common.scoped_data_format() == 'NCHW':
    paddings = [[0, 0], [0, 0], [1, 1], [1, 1]]
  else:
    paddings = [[0, 0], [1, 1], [1, 1], [0, 0]]
  net = tf.pad(net, paddings, constant_values=net.dtype.min)
  return _layers.max_pool2d(net, [3, 3], stride=2, padding='VALID',
                            scope='pool1')


def resnext(inputs,
            blocks,
            num_classes=None,
            is_training=True,
            global_pool=True,
            output_stride=None,
            include_root_block=True,
            spatial_squeeze=True,
            reuse=None,
            scope=None):
  """Generator for ResNeXt and torchvision-layout ResNet models.

  Root block `conv1` (7x7/2 conv + batch norm + ReLU) and `pool1` (one pixel
  of padding on each side, then a VALID 3x3/2 max-pool), the blocks, then the
  optional global pool and 1x1 `logits`. At 224x224 the blocks output 56, 28,
  14 and 7 pixels.

  Args:
    inputs: a tensor [batch, height, width, channels] (channels known).
    blocks: a list of `resnet_utils.Block`s of `bottleneck` units.
    num_classes: logits size; None or 0 returns the features before logits.
    is_training: batch norm mode, a Python bool or a scalar bool tensor; None
      leaves it to the caller's arg_scope.
    global_pool: average over height and width before the logits.
    output_stride: None, or the wanted ratio of input to output resolution; a
      multiple of 4 with the root block. Units past it run at stride 1 with
      atrous convolution (see `resnet_utils.stack_blocks_dense`).
    include_root_block: add conv1 and pool1.
    spatial_squeeze: squeeze logits [B, 1, 1, C] to [B, C].
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope, default 'resnext'.

  Returns:
    net: logits [B, num_classes] ([B, 1, 1, num_classes] unsqueezed), or the
      features [B, 1, 1, C] after global_pool, or [B, H/os, W/os, C].
    end_points: ordered dict `<scope>/conv1`, the units'
      `.../unit_U/bottleneck/{shortcut,conv1,conv2,conv3}` and the units,
      `<scope>/blockN`, then 'global_pool', `<scope>/logits`,
      `<scope>/spatial_squeeze`, 'predictions'.

  Raises:
    ValueError / TypeError: bad inputs, num_classes or output_stride.
  """
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(
      scope, 'resnext', [inputs], reuse=reuse) as sc:
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
          net = _pool1(net)
        else:
          output_stride = _common.blocks_output_stride(output_stride, 1)
        net = resnet_utils.stack_blocks_dense(net, blocks, output_stride)
        return _common.classification_head(
            net, end_points_collection, sc.name, num_classes, global_pool,
            spatial_squeeze)


resnext.default_image_size = 224


def resnext_block(scope, base_depth, num_units, stride, cardinality=1,
                  base_width=64):
  """A block of `num_units` bottlenecks, the stride on the FIRST unit.

  Widths as torchvision's `Bottleneck(planes=base_depth, groups=cardinality,
  base_width=base_width)`: each unit outputs `4 * base_depth` channels and
  has a bottleneck width of `int(base_depth * base_width / 64) * cardinality`
  (ResNet: cardinality 1, base_width 64, width `base_depth`).

  Args:
    scope: the block's scope, e.g. 'block1'.
    base_depth: torchvision's `planes`.
    num_units: number of units.
    stride: the block's stride, on its first unit.
    cardinality: groups of the 3x3 convs.
    base_width: channels per group at `base_depth` 64.

  Returns:
    A `resnet_utils.Block`.

  Raises:
    ValueError: if base_depth, num_units or `cardinality` is not a positive
      int, or the width per group, `int(base_depth * base_width / 64)`, is
      zero.
  """
  resnet_utils.check_block_spec(scope, base_depth, num_units)
  where = "resnext_block '%s'" % scope
  # Checked before the multiplication so that a bad value is named, not
  # turned into a TypeError of the arithmetic.
  _check_cardinality(cardinality, cardinality, where)
  width_per_group = int(base_depth * (base_width / 64.0))
  if width_per_group < 1:
    raise ValueError(
        '%s: base_depth %r * base_width %r / 64 leaves no channels per group'
        % (where, base_depth, base_width))
  width = width_per_group * cardinality
  unit = {
      'depth': base_depth * 4,
      'depth_bottleneck': width,
      'cardinality': cardinality
  }
  return resnet_utils.Block(scope, bottleneck, [dict(unit, stride=stride)] +
                            [dict(unit, stride=1)] * (num_units - 1))


# Block strides of the torchvision layout: none on block1 (pool1 precedes it).
_BLOCK_STRIDES = (1, 2, 2, 2)


def _blocks(depth, cardinality=1, base_width=64):
  return [
      resnext_block('block%d' % (i + 1), base_depth, num_units, stride,
                    cardinality=cardinality, base_width=base_width)
      for i, (base_depth, num_units, stride) in enumerate(
          zip(resnet_utils.BASE_DEPTHS, resnet_utils.UNITS_PER_BLOCK[depth],
              _BLOCK_STRIDES))
  ]


def _register(fn):
  return registry.register(
      family='resnext', arg_scope_fn=resnext_arg_scope, default_image_size=224,
      num_classes=1000, preprocessing='torch')(fn)


@_register
def resnext50_32x4d(inputs,
                    num_classes=None,
                    is_training=True,
                    global_pool=True,
                    output_stride=None,
                    spatial_squeeze=True,
                    reuse=None,
                    scope='resnext50_32x4d'):
  """ResNeXt-50 (32x4d) of [1]. See resnext() for arg and return description."""
  return resnext(inputs, _blocks(50, cardinality=32, base_width=4),
                 num_classes=num_classes, is_training=is_training,
                 global_pool=global_pool, output_stride=output_stride,
                 include_root_block=True, spatial_squeeze=spatial_squeeze,
                 reuse=reuse, scope=scope)


@_register
def resnext101_32x4d(inputs,
                     num_classes=None,
                     is_training=True,
                     global_pool=True,
                     output_stride=None,
                     spatial_squeeze=True,
                     reuse=None,
                     scope='resnext101_32x4d'):
  """ResNeXt-101 (32x4d) of [1]. See resnext()."""
  return resnext(inputs, _blocks(101, cardinality=32, base_width=4),
                 num_classes=num_classes, is_training=is_training,
                 global_pool=global_pool, output_stride=output_stride,
                 include_root_block=True, spatial_squeeze=spatial_squeeze,
                 reuse=reuse, scope=scope)


@_register
def resnext101_32x8d(inputs,
                     num_classes=None,
                     is_training=True,
                     global_pool=True,
                     output_stride=None,
                     spatial_squeeze=True,
                     reuse=None,
                     scope='resnext101_32x8d'):
  """ResNeXt-101 (32x8d) of [1]. See resnext()."""
  return resnext(inputs, _blocks(101, cardinality=32, base_width=8),
                 num_classes=num_classes, is_training=is_training,
                 global_pool=global_pool, output_stride=output_stride,
                 include_root_block=True, spatial_squeeze=spatial_squeeze,
                 reuse=reuse, scope=scope)


@_register
def resnext101_64x4d(inputs,
                     num_classes=None,
                     is_training=True,
                     global_pool=True,
                     output_stride=None,
                     spatial_squeeze=True,
                     reuse=None,
                     scope='resnext101_64x4d'):
  """ResNeXt-101 (64x4d) of [1]. See resnext()."""
  return resnext(inputs, _blocks(101, cardinality=64, base_width=4),
                 num_classes=num_classes, is_training=is_training,
                 global_pool=global_pool, output_stride=output_stride,
                 include_root_block=True, spatial_squeeze=spatial_squeeze,
                 reuse=reuse, scope=scope)


@_register
def tv_resnet50(inputs,
                num_classes=None,
                is_training=True,
                global_pool=True,
                output_stride=None,
                spatial_squeeze=True,
                reuse=None,
                scope='tv_resnet50'):
  """ResNet-50 of [2] in torchvision's layout. See resnext()."""
  return resnext(inputs, _blocks(50), num_classes=num_classes,
                 is_training=is_training, global_pool=global_pool,
                 output_stride=output_stride, include_root_block=True,
                 spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)


@_register
def tv_resnet101(inputs,
                 num_classes=None,
                 is_training=True,
                 global_pool=True,
                 output_stride=None,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='tv_resnet101'):
  """ResNet-101 of [2] in torchvision's layout. See resnext()."""
  return resnext(inputs, _blocks(101), num_classes=num_classes,
                 is_training=is_training, global_pool=global_pool,
                 output_stride=output_stride, include_root_block=True,
                 spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)


@_register
def tv_resnet152(inputs,
                 num_classes=None,
                 is_training=True,
                 global_pool=True,
                 output_stride=None,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='tv_resnet152'):
  """ResNet-152 of [2] in torchvision's layout. See resnext()."""
  return resnext(inputs, _blocks(152), num_classes=num_classes,
                 is_training=is_training, global_pool=global_pool,
                 output_stride=output_stride, include_root_block=True,
                 spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)
