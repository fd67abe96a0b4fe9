"""Xception: DeepLab's aligned Xception-41/65/71 and Chollet's original.

[1] Francois Chollet. Xception: Deep Learning with Depthwise Separable
    Convolutions. arXiv:1610.02357
[2] Haozhi Qi, Zheng Zhang, Bin Xiao, Han Hu, Bowen Cheng, Yichen Wei,
    Jifeng Dai. Deformable Convolutional Networks -- COCO Detection and
    Segmentation Challenge 2017 Entry. ICCV 2017 COCO Challenge workshop.
[3] Liang-Chieh Chen, Yukun Zhu, George Papandreou, Florian Schroff, Hartwig
    Adam. Encoder-Decoder with Atrous Separable Convolution for Semantic
    Image Segmentation (DeepLabv3+). arXiv:1802.02611

Two networks live here.

The aligned Xception of [2], as modified in [3] (`xception_41`,
`xception_65`, `xception_71`, generator `xception`), is drop-in for
DeepLab's `research/deeplab/core/xception.py`: the same arguments, variable
names, end points and computation, hence the variable names of DeepLab's
checkpoints (ImageNet ones have 1001 classes and "inception"
preprocessing). Its max-pools are
strided separable convolutions, padded explicitly so that every strided layer
equals its stride-1 version subsampled ("aligned" features), which makes any
`output_stride` exact.

Chollet's original Xception [1] in the layout of Keras' `Xception`
application (`xception_keras`, generator `xception_keras_generator`) is
written the same slim way. Its ImageNet weights are Keras' (1000 classes,
"tf" preprocessing: pixels scaled to [-1, 1]); the table in
`xception_keras_generator` maps each Keras layer to a slim scope.

Networks are lists of `Block`s (`resnet_utils.Block`, whose unit arguments
are dicts) stacked by `resnet_utils.stack_blocks_dense`, which alone handles
`output_stride`.

Typical use:

   import tf_slim as slim
   from nets import xception

   # ImageNet classification with a DeepLab checkpoint:
   with slim.arg_scope(xception.xception_arg_scope()):
     logits, end_points = xception.xception_65(images, num_classes=1001,
                                               is_training=False)

   # DeepLabv3+ features at stride 16, multi-grid in the last block:
   with slim.arg_scope(xception.xception_arg_scope()):
     net, end_points = xception.xception_65(
         images, global_pool=False, is_training=False, output_stride=16,
         multi_grid=[1, 2, 4])
     low_level = end_points['xception_65/entry_flow/block2/unit_1/'
                            'xception_module/separable_conv2_pointwise']

   # The original Xception with converted Keras weights:
   with slim.arg_scope(xception.xception_keras_arg_scope()):
     logits, end_points = xception.xception_keras(images, num_classes=1000,
                                                  is_training=False)
"""

import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import initializers as slim_initializers
from tf_slim.layers import regularizers as slim_regularizers
from tf_slim.layers import utils as slim_utils

from nets import _common
from nets import _layers
from nets import registry
from nets import resnet_utils

# DeepLab re-declares this namedtuple; one definition serves both families.
Block = resnet_utils.Block
stack_blocks_dense = resnet_utils.stack_blocks_dense

_DEFAULT_MULTI_GRID = (1, 1, 1)
# Clipping bound of DeepLab's bounded (quantization-friendly) activations.
_CLIP_CAP = 6
_SKIP_CONNECTION_TYPES = ('conv', 'sum', 'none')


def _check_skip_connection_type(skip_connection_type):
  if skip_connection_type not in _SKIP_CONNECTION_TYPES:
    raise ValueError(
        'skip_connection_type must be one of %s, got %r' %
        (', '.join(repr(t) for t in _SKIP_CONNECTION_TYPES),
         skip_connection_type))


def _check_three(values, name):
  if len(values) != 3:
    raise ValueError('%s must have three elements (one per separable conv), '
                     'got %r' % (name, list(values)))


def _check_sync_batch_norm_method(sync_batch_norm_method):
  # DeepLab's other methods are TPU cross-replica batch norms.
  if sync_batch_norm_method not in ('None', None):
    raise ValueError("sync_batch_norm_method: only 'None' is supported, got "
                     '%r' % (sync_batch_norm_method,))


def _fixed_padding(inputs, kernel_size, rate=1):
  """Pads height and width by `k_eff - 1` (half before), whatever their size.

  `k_eff = kernel_size + (kernel_size - 1) * (rate - 1)`. A VALID strided
  convolution of the result equals the stride-1 SAME one subsampled.
  """
  kernel_size_effective = kernel_size + (kernel_size - 1) * (rate - 1)
  pad_total = kernel_size_effective - 1
  pad_begin = pad_total // 2
  spatial = [pad_begin, pad_total - pad_begin]
  if _common.scoped_data_format() == 'NCHW':
    paddings = [[0, 0], [0, 0], spatial, spatial]
  else:
    paddings = [[0, 0], spatial, spatial, [0, 0]]
  return tf.pad(inputs, paddings)


@slim.add_arg_scope
def separable_conv2d_same(inputs,
                          num_outputs,
                          kernel_size,
                          depth_multiplier,
                          stride,
                          rate=1,
                          use_explicit_padding=True,
                          regularize_depthwise=False,
                          scope=None,
                          **kwargs):
  """Strided 2-D separable convolution with input-size invariant 'SAME'.

  As `resnet_utils.conv2d_same` for separable convolutions: with stride > 1
  (and `use_explicit_padding`) the input is zero-padded explicitly and
  convolved with 'VALID' padding, so the result equals the stride-1 'SAME'
  convolution followed by `resnet_utils.subsample(net, stride)` for odd and
  even input sizes alike; TensorFlow's own strided 'SAME' is off by one pixel
  for even sizes.

  With `regularize_depthwise=False` (DeepLab's default) the convolution is
  split into `<scope>_depthwise` (a `separable_conv2d` with num_outputs=None,
  variable `depthwise_weights`) and `<scope>_pointwise` (a 1x1 `conv2d`,
  variable `weights`), each with its own normalizer and activation; with True
  it is one `separable_conv2d` named `<scope>` (variables
  `depthwise_weights`, `pointwise_weights`), whose depthwise weights then get
  the separable conv's weights regularizer too.

  Args:
    inputs: a rank-4 tensor.
    num_outputs: output channels.
    kernel_size: an int, the depthwise kernel size.
    depth_multiplier: depthwise outputs per input channel.
    stride: an int, the output stride.
    rate: an int, the atrous rate of the depthwise convolution.
    use_explicit_padding: pad explicitly when strided; False gives TensorFlow's
      native (misaligned for even sizes) strided 'SAME'.
    regularize_depthwise: one `separable_conv2d` instead of the split pair.
    scope: the scope (required when `regularize_depthwise` is False).
    **kwargs: further arguments for the layers, e.g. `activation_fn`.

  Returns:
    The convolution output.

  Raises:
    ValueError: no `scope` for the split convolutions.
  """
  if scope is None and not regularize_depthwise:
    raise ValueError('separable_conv2d_same: a scope is required to name the '
                     'split <scope>_depthwise and <scope>_pointwise convs')
  if stride == 1 or not use_explicit_padding:
    padding = 'SAME'
  else:
    inputs = _fixed_padding(inputs, kernel_size, rate)
    padding = 'VALID'
  if regularize_depthwise:
    return _layers.separable_conv2d(
        inputs, num_outputs, kernel_size, depth_multiplier=depth_multiplier,
        stride=stride, rate=rate, padding=padding, scope=scope, **kwargs)
  net = _layers.separable_conv2d(
      inputs, None, kernel_size, depth_multiplier=depth_multiplier,
      stride=stride, rate=rate, padding=padding, scope=scope + '_depthwise',
      **kwargs)
  return _layers.conv2d(net, num_outputs, 1, scope=scope + '_pointwise',
                        **kwargs)


@slim.add_arg_scope
def xception_module(inputs,
                    depth_list,
                    skip_connection_type,
                    stride,
                    kernel_size=3,
                    unit_rate_list=None,
                    rate=1,
                    activation_fn_in_separable_conv=False,
                    regularize_depthwise=False,
                    outputs_collections=None,
                    scope=None,
                    use_bounded_activation=False,
                    use_explicit_padding=True):
  """DeepLab's aligned Xception module [2, 3].

  Three `separable_conv2d_same` layers `separable_conv1..3` (the third one
  carries the stride: [3] replaces Xception's max-pools by strided separable
  convolutions so that atrous rates apply everywhere) form the residual
  branch. With `activation_fn_in_separable_conv=False` a ReLU precedes each
  separable conv and none runs inside it; with True the ReLU follows each of
  its batch norms instead. The output is the residual plus, by
  `skip_connection_type`, a 1x1 `shortcut` conv (with the stride; its
  normalizer comes from the arg scope) of the inputs ('conv'), the inputs
  themselves ('sum'), or nothing ('none').

  Args:
    inputs: a rank-4 tensor.
    depth_list: three output depths, one per separable conv.
    skip_connection_type: 'conv', 'sum' or 'none'.
    stride: the unit's stride, on separable_conv3 and the shortcut.
    kernel_size: the depthwise kernel size.
    unit_rate_list: three atrous rate multipliers (DeepLab's multi-grid),
      default [1, 1, 1].
    rate: the atrous rate, multiplied by `unit_rate_list`.
    activation_fn_in_separable_conv: ReLU after each batch norm inside the
      separable convs instead of before each separable conv.
    regularize_depthwise: see `separable_conv2d_same` (it also decides
      whether the separable convs are split in depthwise and pointwise).
    outputs_collections: collection for the end points.
    scope: variable scope, default 'xception_module'.
    use_bounded_activation: DeepLab's quantization-friendly variant: ReLU6
      and clipping to [-6, 6] around the sums.
    use_explicit_padding: see `separable_conv2d_same`.

  Returns:
    The module's output.

  Raises:
    ValueError: depth_list or unit_rate_list without three elements, or an
      unknown skip_connection_type.
  """
  _check_three(depth_list, 'depth_list')
  if unit_rate_list is None:
    unit_rate_list = _DEFAULT_MULTI_GRID
  _check_three(unit_rate_list, 'unit_rate_list')
  _check_skip_connection_type(skip_connection_type)
  with tf.compat.v1.variable_scope(scope, 'xception_module', [inputs]) as sc:
    residual = inputs
    for i in range(3):
      if activation_fn_in_separable_conv:
        activation_fn = tf.nn.relu6 if use_bounded_activation else tf.nn.relu
      elif use_bounded_activation:
        activation_fn = _clip
        residual = tf.nn.relu6(residual)
      else:
        activation_fn = None
        residual = tf.nn.relu(residual)
      residual = separable_conv2d_same(
          residual, depth_list[i], kernel_size, depth_multiplier=1,
          stride=stride if i == 2 else 1, rate=rate * unit_rate_list[i],
          activation_fn=activation_fn,
          use_explicit_padding=use_explicit_padding,
          regularize_depthwise=regularize_depthwise,
          scope='separable_conv%d' % (i + 1))
    if skip_connection_type == 'conv':
      shortcut = _layers.conv2d(inputs, depth_list[-1], [1, 1], stride=stride,
                                activation_fn=None, scope='shortcut')
      outputs = _residual_sum(residual, shortcut, use_bounded_activation)
    elif skip_connection_type == 'sum':
      outputs = _residual_sum(residual, inputs, use_bounded_activation)
    else:
      outputs = residual
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            outputs)


def _clip(x):
  return tf.clip_by_value(x, -_CLIP_CAP, _CLIP_CAP)


def _residual_sum(residual, shortcut, use_bounded_activation):
  if not use_bounded_activation:
    return residual + shortcut
  return tf.nn.relu6(_clip(residual) + _clip(shortcut))


def xception_block(scope,
                   depth_list,
                   skip_connection_type,
                   activation_fn_in_separable_conv,
                   regularize_depthwise,
                   num_units,
                   stride,
                   kernel_size=3,
                   unit_rate_list=None):
  """A block of `num_units` identical `xception_module`s.

  As in DeepLab's code, every unit gets `stride` (the published specs only
  repeat stride-1 units).

  Args:
    scope: the block's scope, e.g. 'entry_flow/block1'.
    depth_list: three depths per unit.
    skip_connection_type: 'conv', 'sum' or 'none'.
    activation_fn_in_separable_conv: see `xception_module`.
    regularize_depthwise: see `xception_module`.
    num_units: number of units.
    stride: the units' stride.
    kernel_size: depthwise kernel size.
    unit_rate_list: three atrous rate multipliers, default [1, 1, 1].

  Returns:
    A `Block`.
  """
  if unit_rate_list is None:
    unit_rate_list = _DEFAULT_MULTI_GRID
  return Block(scope, xception_module, [{
      'depth_list': list(depth_list),
      'skip_connection_type': skip_connection_type,
      'activation_fn_in_separable_conv': activation_fn_in_separable_conv,
      'regularize_depthwise': regularize_depthwise,
      'stride': stride,
      'kernel_size': kernel_size,
      'unit_rate_list': list(unit_rate_list),
  }] * num_units)


def xception(inputs,
             blocks,
             num_classes=None,
             is_training=True,
             global_pool=True,
             keep_prob=0.5,
             output_stride=None,
             reuse=None,
             scope=None,
             sync_batch_norm_method='None'):
  """Generator for DeepLab's aligned Xception models [2, 3].

  Root `entry_flow/conv1_1` (32 3x3 stride 2, `conv2d_same`) and
  `entry_flow/conv1_2` (64 3x3), with the arg scope's normalizer and
  activation; the blocks; then, as DeepLab: `global_pool` (mean, op
  'global_pool'), dropout `prelogits_dropout` and the 1x1 `logits` (with
  biases). The logits are not squeezed.

  Args:
    inputs: a tensor [batch, height, width, channels] (channels known).
    blocks: a list of `Block`s, e.g. from `xception_block`.
    num_classes: logits size; None or 0 returns the features before logits.
    is_training: batch norm and dropout mode (bool or scalar bool tensor).
    global_pool: average over height and width before the logits.
    keep_prob: keep probability of the pre-logits dropout.
    output_stride: None, or the wanted ratio of input to output resolution;
      even (the root has stride 2). Below the nominal stride later units turn
      atrous.
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope, default 'xception'.
    sync_batch_norm_method: DeepLab's argument; only 'None' is supported.

  Returns:
    net: logits [B, 1, 1, num_classes] (or [B, H', W', num_classes] without
      global_pool), else the features.
    end_points: DeepLab's keys, in order: `<scope>/entry_flow/conv1_1`,
      `<scope>/entry_flow/conv1_2`, per unit
      `.../<block>/unit_U/xception_module/separable_convK_{depthwise,pointwise}`
      (`separable_convK` with regularize_depthwise), `.../shortcut` ('conv'
      units) and the unit, `<scope>/<block>` per block, then 'global_pool',
      `<scope>/logits`, 'predictions'. They are collected in
      `<scope>/end_points` (DeepLab's name, which is then cleared).

  Raises:
    ValueError / TypeError: bad inputs, num_classes, odd or unreachable
      output_stride.
  """
  _check_sync_batch_norm_method(sync_batch_norm_method)
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(
      scope, 'xception', [inputs], reuse=reuse) as sc:
    inputs = _common.validate_inputs(inputs)
    end_points_collection = sc.original_name_scope + 'end_points'
    with slim.arg_scope([_layers.conv2d, _layers.separable_conv2d,
                         xception_module, stack_blocks_dense],
                        outputs_collections=end_points_collection):
      with slim.arg_scope([_layers.batch_norm], is_training=is_training):
        output_stride = _common.blocks_output_stride(output_stride, 2)
        net = resnet_utils.conv2d_same(inputs, 32, 3, stride=2,
                                       scope='entry_flow/conv1_1')
        net = resnet_utils.conv2d_same(net, 64, 3, stride=1,
                                       scope='entry_flow/conv1_2')
        net = stack_blocks_dense(net, blocks, output_stride)
        end_points = slim_utils.convert_collection_to_dict(
            end_points_collection, clear_collection=True)
        if global_pool:
          net = tf.reduce_mean(net, _common.spatial_axes(),
                               name='global_pool', keepdims=True)
          end_points['global_pool'] = net
        if num_classes:
          net = _layers.dropout(net, keep_prob=keep_prob,
                                is_training=is_training,
                                scope='prelogits_dropout')
          net = _layers.conv2d(net, num_classes, [1, 1], activation_fn=None,
                               normalizer_fn=None, scope='logits')
          end_points[sc.name + '/logits'] = net
          end_points['predictions'] = _common.predictions(net)
        return net, end_points


xception.default_image_size = 299

# The depth table of [3]: (depth, stride) of each single-unit entry-flow
# block, and the number of middle-flow units.
_ALIGNED_ENTRY_FLOW = {
    41: ((128, 2), (256, 2), (728, 2)),
    65: ((128, 2), (256, 2), (728, 2)),
    71: ((128, 2), (256, 1), (256, 2), (728, 1), (728, 2)),
}
_ALIGNED_MIDDLE_UNITS = {41: 8, 65: 16, 71: 16}


def _aligned_blocks(depth, regularize_depthwise, multi_grid):
  if multi_grid is not None and len(multi_grid) != 3:
    raise ValueError('multi_grid must have three elements (the rates of '
                     "exit_flow/block2's separable convs), got %r" %
                     (list(multi_grid),))
  blocks = [
      xception_block('entry_flow/block%d' % (i + 1), [block_depth] * 3,
                     'conv', False, regularize_depthwise, 1, stride)
      for i, (block_depth, stride) in enumerate(_ALIGNED_ENTRY_FLOW[depth])
  ]
  return blocks + [
      xception_block('middle_flow/block1', [728] * 3, 'sum', False,
                     regularize_depthwise, _ALIGNED_MIDDLE_UNITS[depth], 1),
      xception_block('exit_flow/block1', [728, 1024, 1024], 'conv', False,
                     regularize_depthwise, 1, 2),
      xception_block('exit_flow/block2', [1536, 1536, 2048], 'none', True,
                     regularize_depthwise, 1, 1, unit_rate_list=multi_grid),
  ]


def xception_arg_scope(weight_decay=0.00004,
                       batch_norm_decay=0.9997,
                       batch_norm_epsilon=0.001,
                       batch_norm_scale=True,
                       weights_initializer_stddev=0.09,
                       regularize_depthwise=False,
                       use_batch_norm=True,
                       use_bounded_activation=False,
                       sync_batch_norm_method='None'):
  """DeepLab's default Xception arg scope.

  Args:
    weight_decay: L2 decay (slim's `l2_regularizer`) of the conv2d weights.
    batch_norm_decay: moving-average decay of batch norm.
    batch_norm_epsilon: added to the variance in batch norm.
    batch_norm_scale: give batch norm a `gamma`.
    weights_initializer_stddev: stddev of the truncated normal initializer of
      the conv2d and separable_conv2d weights.
    regularize_depthwise: also regularize separable_conv2d weights.
    use_batch_norm: batch norm after each conv2d and separable_conv2d.
    use_bounded_activation: ReLU6 activations, and `xception_module` with
      bounded activations and native padding, as DeepLab.
    sync_batch_norm_method: DeepLab's argument; only 'None' is supported.

  Returns:
    An arg_scope for `slim.arg_scope(...)`.
  """
  _check_sync_batch_norm_method(sync_batch_norm_method)
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': batch_norm_scale,
  }
  depthwise_regularizer = (
      slim_regularizers.l2_regularizer(weight_decay)
      if regularize_depthwise else None)
  with slim.arg_scope(
      [_layers.conv2d, _layers.separable_conv2d],
      weights_initializer=tf.compat.v1.truncated_normal_initializer(
          stddev=weights_initializer_stddev),
      activation_fn=tf.nn.relu6 if use_bounded_activation else tf.nn.relu,
      normalizer_fn=_layers.batch_norm if use_batch_norm else None):
    with slim.arg_scope([_layers.batch_norm], **batch_norm_params):
      with slim.arg_scope(
          [_layers.conv2d],
          weights_regularizer=slim_regularizers.l2_regularizer(weight_decay)):
        with slim.arg_scope([_layers.separable_conv2d],
                            weights_regularizer=depthwise_regularizer):
          with slim.arg_scope(
              [xception_module],
              use_bounded_activation=use_bounded_activation,
              use_explicit_padding=not use_bounded_activation) as arg_sc:
            return arg_sc


def _register_aligned(fn):
  return registry.register('xception', xception_arg_scope, 299, 1001,
                           'inception')(fn)


@_register_aligned
def xception_41(inputs,
                num_classes=None,
                is_training=True,
                global_pool=True,
                keep_prob=0.5,
                output_stride=None,
                regularize_depthwise=False,
                multi_grid=None,
                reuse=None,
                scope='xception_41',
                sync_batch_norm_method='None'):
  """Xception-41 of [3]. See xception() for arg and return description.

  `multi_grid`: three atrous rate multipliers for exit_flow/block2.
  """
  return xception(inputs, _aligned_blocks(41, regularize_depthwise,
                                          multi_grid),
                  num_classes=num_classes, is_training=is_training,
                  global_pool=global_pool, keep_prob=keep_prob,
                  output_stride=output_stride, reuse=reuse, scope=scope,
                  sync_batch_norm_method=sync_batch_norm_method)


@_register_aligned
def xception_65(inputs,
                num_classes=None,
                is_training=True,
                global_pool=True,
                keep_prob=0.5,
                output_stride=None,
                regularize_depthwise=False,
                multi_grid=None,
                reuse=None,
                scope='xception_65',
                sync_batch_norm_method='None'):
  """Xception-65 of [3]. See xception() for arg and return description.

  `multi_grid`: three atrous rate multipliers for exit_flow/block2.
  """
  return xception(inputs, _aligned_blocks(65, regularize_depthwise,
                                          multi_grid),
                  num_classes=num_classes, is_training=is_training,
                  global_pool=global_pool, keep_prob=keep_prob,
                  output_stride=output_stride, reuse=reuse, scope=scope,
                  sync_batch_norm_method=sync_batch_norm_method)


@_register_aligned
def xception_71(inputs,
                num_classes=None,
                is_training=True,
                global_pool=True,
                keep_prob=0.5,
                output_stride=None,
                regularize_depthwise=False,
                multi_grid=None,
                reuse=None,
                scope='xception_71',
                sync_batch_norm_method='None'):
  """Xception-71 of [3]. See xception() for arg and return description.

  `multi_grid`: three atrous rate multipliers for exit_flow/block2.
  """
  return xception(inputs, _aligned_blocks(71, regularize_depthwise,
                                          multi_grid),
                  num_classes=num_classes, is_training=is_training,
                  global_pool=global_pool, keep_prob=keep_prob,
                  output_stride=output_stride, reuse=reuse, scope=scope,
                  sync_batch_norm_method=sync_batch_norm_method)


# The original Xception [1], in Keras' layout.


_POOL_PADDINGS = ('SAME', 'SYMMETRIC')


def _pad_spatial(inputs, pad):
  """`inputs` padded by `pad` pixels of -inf on every side of H and W."""
  height_axis, width_axis = _common.spatial_axes()
  paddings = [[0, 0]] * 4
  paddings[height_axis] = paddings[width_axis] = [pad, pad]
  return tf.pad(inputs, paddings, constant_values=float('-inf'))


def _max_pool_3x3(inputs, stride, rate, scope, padding='SAME'):
  """3x3 max-pool; with rate > 1 a dilated stride-1 one.

  Padding never wins the max (TensorFlow's 'SAME' pooling ignores it), so the
  explicit paddings are -inf. `padding` 'SAME' is Keras' (for an even size:
  nothing before, one pixel after, so each strided window starts on its
  pixel); 'SYMMETRIC' pads one pixel on every side and pools 'VALID', as
  torch's `MaxPool2d(3, stride, padding=1)` (each window centred on its
  pixel). The two agree for odd sizes and for stride 1.
  """
  if padding not in _POOL_PADDINGS:
    raise ValueError('max-pool %s: padding must be one of %s, got %r' %
                     (scope, ', '.join(_POOL_PADDINGS), padding))
  if rate == 1:
    if padding == 'SYMMETRIC' and stride != 1:
      with tf.compat.v1.name_scope(scope, 'MaxPool2D', [inputs]):
        padded = _pad_spatial(inputs, 1)
      return _layers.max_pool2d(padded, [3, 3], stride=stride,
                                padding='VALID', scope=scope)
    return _layers.max_pool2d(inputs, [3, 3], stride=stride, padding='SAME',
                              scope=scope)
  if stride != 1:
    raise ValueError('max-pool %s: stride (%d) and rate (%d) cannot both '
                     'exceed 1' % (scope, stride, rate))
  with tf.compat.v1.name_scope(scope, 'MaxPool2D', [inputs]):
    height_axis, width_axis = _common.spatial_axes()
    padded = _pad_spatial(inputs, rate)
    size = tf.shape(inputs)
    outputs = None
    for i in range(3):
      for j in range(3):
        begin = [0, 0, 0, 0]
        begin[height_axis], begin[width_axis] = i * rate, j * rate
        window = tf.slice(padded, begin, size)
        outputs = window if outputs is None else tf.maximum(outputs, window)
    outputs.set_shape(inputs.shape)
    return outputs


@slim.add_arg_scope
def xception_keras_module(inputs,
                          depth_list,
                          skip_connection_type,
                          stride,
                          rate=1,
                          activation_fn_in_separable_conv=False,
                          outputs_collections=None,
                          scope=None,
                          pool_padding='SAME'):
  """A module of the original Xception [1], as Keras builds it.

  Separable convs `separable_conv1..N` (Keras' `SeparableConv2D`: depthwise
  and pointwise in one layer without biases, then batch norm), preceded each
  by a ReLU, or followed each by one with `activation_fn_in_separable_conv`.
  Units with a 'conv' skip connection end the residual branch with a 3x3
  'SAME' max-pool `pool` carrying the stride (Keras' `blockN_pool`) and add
  a strided 1x1 `shortcut` conv (with batch norm) of the inputs; 'sum' adds
  the inputs, 'none' adds nothing. In atrous mode (stride 1, rate > 1) the
  pool is dilated by `rate`, like the separable convs.

  Args:
    inputs: a rank-4 tensor.
    depth_list: output depths, one per separable conv.
    skip_connection_type: 'conv', 'sum' or 'none'.
    stride: the unit's stride, on the pool and the shortcut ('conv' only).
    rate: atrous rate of the separable convs and the pool.
    activation_fn_in_separable_conv: ReLU after each batch norm instead of
      before each separable conv (Keras' block14).
    outputs_collections: collection for the end points.
    scope: variable scope, default 'xception_module'.
    pool_padding: 'SAME' (Keras) or 'SYMMETRIC' (one pixel on every side,
      as torch's `MaxPool2d(3, 2, padding=1)` in timm's legacy_xception);
      they differ only for even input sizes of a strided pool.

  Returns:
    The module's output.

  Raises:
    ValueError: an empty depth_list, an unknown skip_connection_type or
      pool_padding, or a stride > 1 without a 'conv' skip connection.
  """
  if not depth_list:
    raise ValueError('depth_list must not be empty')
  _check_skip_connection_type(skip_connection_type)
  if stride != 1 and skip_connection_type != 'conv':
    raise ValueError("stride %d needs skip_connection_type 'conv' (its max-pool"
                     ' and shortcut carry the stride), got %r' %
                     (stride, skip_connection_type))
  with tf.compat.v1.variable_scope(scope, 'xception_module', [inputs]) as sc:
    residual = inputs
    for i, depth in enumerate(depth_list):
      # Keras omits this ReLU in its first entry block, whose inputs are
      # already ReLU outputs; applying it again changes nothing.
      if not activation_fn_in_separable_conv:
        residual = tf.nn.relu(residual)
      residual = _layers.separable_conv2d(
          residual, depth, [3, 3], depth_multiplier=1, rate=rate,
          padding='SAME',
          activation_fn=tf.nn.relu if activation_fn_in_separable_conv else
          None, scope='separable_conv%d' % (i + 1))
    if skip_connection_type == 'conv':
      residual = _max_pool_3x3(residual, stride, rate, 'pool',
                               pool_padding)
      # Aliased by the variable scope, like the conv end points, so that
      # the keys do not change when the network is built again with reuse.
      residual = slim_utils.collect_named_outputs(
          outputs_collections, sc.name + '/pool', residual)
      shortcut = _layers.conv2d(inputs, depth_list[-1], [1, 1], stride=stride,
                                activation_fn=None, scope='shortcut')
      outputs = residual + shortcut
    elif skip_connection_type == 'sum':
      outputs = residual + inputs
    else:
      outputs = residual
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            outputs)


def xception_keras_block(scope,
                         depth_list,
                         skip_connection_type,
                         num_units,
                         stride,
                         activation_fn_in_separable_conv=False):
  """A block of `num_units` identical `xception_keras_module`s.

  Args:
    scope: the block's scope, e.g. 'middle_flow/block1'.
    depth_list: depths of each unit's separable convs.
    skip_connection_type: 'conv', 'sum' or 'none'.
    num_units: number of units.
    stride: every unit's stride (as `xception_block`).
    activation_fn_in_separable_conv: see `xception_keras_module`.

  Returns:
    A `Block`.
  """
  return Block(scope, xception_keras_module, [{
      'depth_list': list(depth_list),
      'skip_connection_type': skip_connection_type,
      'stride': stride,
      'activation_fn_in_separable_conv': activation_fn_in_separable_conv,
  }] * num_units)


def xception_keras_generator(inputs,
                             blocks,
                             num_classes=None,
                             is_training=True,
                             global_pool=True,
                             output_stride=None,
                             spatial_squeeze=True,
                             reuse=None,
                             scope=None):
  """Generator for the original Xception [1] in Keras' layout.

  Root `entry_flow/conv1_1` (32 3x3 stride 2) and `entry_flow/conv1_2` (64
  3x3), both 'VALID' with batch norm and ReLU, the blocks, then slim's head:
  'global_pool', the 1x1 `logits` (with biases), `spatial_squeeze`,
  'predictions'. There is no dropout, as in Keras.

  Keras layer -> slim scope (under `<scope>/`; variables `weights`,
  `depthwise_weights`, `pointwise_weights`, `biases`,
  `BatchNorm/{gamma,beta,moving_mean,moving_variance}`), for
  `xception_keras`:

    block1_conv1, block1_conv1_bn   entry_flow/conv1_1, .../BatchNorm
    block1_conv2, block1_conv2_bn   entry_flow/conv1_2, .../BatchNorm
    blockB_sepconvK, ..._bn         U/separable_convK, .../BatchNorm
    blockB_pool                     U/pool (no variables)
    k-th unnamed Conv2D and         S/shortcut, S/shortcut/BatchNorm
      BatchNormalization
    predictions (Dense)             logits (kernel reshaped to [1, 1, C, N])

  where U is `<flow>/<block>/unit_<u>/xception_module` for Keras block B:
  B = 2, 3, 4 -> entry_flow/block{B-1}/unit_1; B = 5..12 ->
  middle_flow/block1/unit_{B-4}; B = 13 -> exit_flow/block1/unit_1;
  B = 14 -> exit_flow/block2/unit_1; and S, for the residual 1x1 convs
  k = 0..3 in model order (Keras leaves them unnamed, so their names depend
  on earlier models), is the U of B = 2, 3, 4, 13. Keras kernels have slim's
  shapes (HWIO; depthwise [3, 3, C, 1]).

  Args:
    inputs: a tensor [batch, height, width, channels] (channels known),
      at least 71x71 for the full network.
    blocks: a list of `Block`s, e.g. from `xception_keras_block`.
    num_classes: logits size; None or 0 returns the features before logits.
    is_training: batch norm mode (bool or scalar bool tensor).
    global_pool: average over height and width before the logits.
    output_stride: None, or the wanted ratio of input to output resolution;
      even (the root has stride 2). Keras' strided 'SAME' max-pools are only
      aligned with their stride-1 versions on odd sizes, so atrous features
      equal subsampled nominal ones only where every pool input is odd.
    spatial_squeeze: squeeze logits [B, 1, 1, N] to [B, N].
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope, default 'xception_keras'.

  Returns:
    net: logits, or the features.
    end_points: ordered dict `<scope>/entry_flow/conv1_1`, `.../conv1_2`, per
      unit `.../unit_U/xception_module/{separable_convK, pool, shortcut}` and
      the unit, `<scope>/<block>`, then 'global_pool', `<scope>/logits`,
      `<scope>/spatial_squeeze`, 'predictions' (collection
      `<scope>/_end_points`).

  Raises:
    ValueError / TypeError: bad inputs, num_classes, odd or unreachable
      output_stride.
  """
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(
      scope, 'xception_keras', [inputs], reuse=reuse) as sc:
    inputs = _common.validate_inputs(inputs)
    end_points_collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope([_layers.conv2d, _layers.separable_conv2d,
                         xception_keras_module, stack_blocks_dense],
                        outputs_collections=end_points_collection):
      with slim.arg_scope([_layers.batch_norm], is_training=is_training):
        output_stride = _common.blocks_output_stride(output_stride, 2)
        net = _layers.conv2d(inputs, 32, [3, 3], stride=2, padding='VALID',
                             activation_fn=tf.nn.relu,
                             scope='entry_flow/conv1_1')
        net = _layers.conv2d(net, 64, [3, 3], stride=1, padding='VALID',
                             activation_fn=tf.nn.relu,
                             scope='entry_flow/conv1_2')
        net = stack_blocks_dense(net, blocks, output_stride)
        return _common.classification_head(
            net, end_points_collection, sc.name, num_classes, global_pool,
            spatial_squeeze)


xception_keras_generator.default_image_size = 299

# Keras' Xception: (scope, depth_list, skip_connection_type, num_units,
# stride, activation_fn_in_separable_conv) per block.
_KERAS_BLOCKS = (
    ('entry_flow/block1', (128, 128), 'conv', 1, 2, False),
    ('entry_flow/block2', (256, 256), 'conv', 1, 2, False),
    ('entry_flow/block3', (728, 728), 'conv', 1, 2, False),
    ('middle_flow/block1', (728, 728, 728), 'sum', 8, 1, False),
    ('exit_flow/block1', (728, 1024), 'conv', 1, 2, False),
    ('exit_flow/block2', (1536, 2048), 'none', 1, 1, True),
)


def xception_keras_arg_scope(
    weight_decay=0.00001,
    batch_norm_decay=0.99,
    batch_norm_epsilon=0.001,
    batch_norm_scale=True,
    use_batch_norm=True,
    batch_norm_updates_collections=tf.compat.v1.GraphKeys.UPDATE_OPS):
  """Arg scope of the original Xception: Keras' defaults, [1]'s decay.

  Glorot-uniform weights (Keras' default), batch norm with Keras' momentum
  and epsilon, and the weight decay of [1] on all conv weights (depthwise
  ones too: a Keras `SeparableConv2D` is one layer).

  Args:
    weight_decay: slim `l2_regularizer` weight of the conv weights.
    batch_norm_decay: moving-average decay (Keras' momentum).
    batch_norm_epsilon: added to the variance in batch norm.
    batch_norm_scale: give batch norm a `gamma`.
    use_batch_norm: batch norm after each conv.
    batch_norm_updates_collections: collection for the batch norm updates.

  Returns:
    An arg_scope for `slim.arg_scope(...)`.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': batch_norm_scale,
      'updates_collections': batch_norm_updates_collections,
  }
  with slim.arg_scope(
      [_layers.conv2d, _layers.separable_conv2d],
      weights_initializer=slim_initializers.xavier_initializer(),
      weights_regularizer=slim_regularizers.l2_regularizer(weight_decay),
      activation_fn=tf.nn.relu,
      normalizer_fn=_layers.batch_norm if use_batch_norm else None,
      normalizer_params=batch_norm_params):
    with slim.arg_scope([_layers.batch_norm], **batch_norm_params) as arg_sc:
      return arg_sc


@registry.register('xception', xception_keras_arg_scope, 299, 1000, 'tf')
def xception_keras(inputs,
                   num_classes=None,
                   is_training=True,
                   global_pool=True,
                   output_stride=None,
                   spatial_squeeze=True,
                   reuse=None,
                   scope='xception_keras'):
  """Xception of [1] as Keras' `Xception`.

  See xception_keras_generator() for arg and return description.
  """
  blocks = [xception_keras_block(*spec) for spec in _KERAS_BLOCKS]
  return xception_keras_generator(
      inputs, blocks, num_classes=num_classes, is_training=is_training,
      global_pool=global_pool, output_stride=output_stride,
      spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)
