"""MobileNet v1, drop-in for TF-Slim's `nets.mobilenet_v1`.

[1] Andrew G. Howard, Menglong Zhu, Bo Chen, Dmitry Kalenichenko, Weijun
    Wang, Tobias Weyand, Marco Andreetto, Hartwig Adam. MobileNets: Efficient
    Convolutional Neural Networks for Mobile Vision Applications.
    arXiv:1704.04861

The network is data: `MOBILENETV1_CONV_DEFS`, a list of `Conv` (a full 3x3
convolution, `Conv2d_<i>`) and `DepthSepConv` (a 3x3 depthwise convolution
`Conv2d_<i>_depthwise` then a 1x1 pointwise one `Conv2d_<i>_pointwise`),
walked by `mobilenet_v1_base`, which alone handles the depth multiplier and
`output_stride`. slim's variable names, end points and numbers, so the
`mobilenet_v1_<multiplier>_<size>` checkpoints (1001 classes, "inception"
preprocessing) restore as they are.

At 224x224 the base (up to Conv2d_13_pointwise) has 3,185,088 weights and
567,716,352 multiply-adds; with the 0.75 multiplier at 128x128, 1,800,144
and 106,002,432 (upstream's layer tables).

Typical use:

   import tf_slim as slim
   from nets import mobilenet_v1

   with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope(
       is_training=False)):
     logits, end_points = mobilenet_v1.mobilenet_v1_050(
         images, num_classes=1001, is_training=False)

   # Dense features at stride 16 with explicit (input-size independent)
   # padding:
   with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
     net, end_points = mobilenet_v1.mobilenet_v1_base(
         images, output_stride=16, use_explicit_padding=True)
"""

import collections
import functools

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import registry

# A full convolution and a depthwise-separable one: kernel [h, w], stride,
# depth (output channels before the depth multiplier).
Conv = collections.namedtuple('Conv', ['kernel', 'stride', 'depth'])
DepthSepConv = collections.namedtuple('DepthSepConv',
                                      ['kernel', 'stride', 'depth'])

# Table 1 of [1]: nominal output stride 32.
MOBILENETV1_CONV_DEFS = [
    Conv(kernel=[3, 3], stride=2, depth=32),
    DepthSepConv(kernel=[3, 3], stride=1, depth=64),
    DepthSepConv(kernel=[3, 3], stride=2, depth=128),
    DepthSepConv(kernel=[3, 3], stride=1, depth=128),
    DepthSepConv(kernel=[3, 3], stride=2, depth=256),
    DepthSepConv(kernel=[3, 3], stride=1, depth=256),
    DepthSepConv(kernel=[3, 3], stride=2, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=2, depth=1024),
    DepthSepConv(kernel=[3, 3], stride=1, depth=1024),
]

_OUTPUT_STRIDES = (8, 16, 32)


def _fixed_padding(inputs, kernel_size, rate=1):
  """Zero-pads NHWC `inputs` so that a VALID conv equals a SAME one.

  Pads `k_eff - 1` in total per spatial dimension (`k_eff` the dilated
  kernel size), half before (rounded down) and the rest after, whatever the
  input size. (Upstream pads both dimensions by the kernel height: the same
  for MobileNet's square kernels.)
  """
  paddings = [[0, 0]]
  for size in kernel_size:
    total = size + (size - 1) * (rate - 1) - 1
    paddings.append([total // 2, total - total // 2])
  return tf.pad(inputs, paddings + [[0, 0]])


def _end_point_names(conv_defs):
  """The end points `conv_defs` give, in order (or ValueError)."""
  names = []
  for i, conv_def in enumerate(conv_defs):
    if isinstance(conv_def, Conv):
      names.append('Conv2d_%d' % i)
    elif isinstance(conv_def, DepthSepConv):
      names += ['Conv2d_%d_depthwise' % i, 'Conv2d_%d_pointwise' % i]
    else:
      raise ValueError('Unknown convolution type %s for layer %d (conv_defs '
                       'holds Conv and DepthSepConv tuples)' %
                       (type(conv_def).__name__, i))
  return names


def _check_base_args(depth_multiplier, output_stride, final_endpoint,
                     conv_defs):
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier is not greater than zero. Got %r' %
                     (depth_multiplier,))
  if output_stride is not None and output_stride not in _OUTPUT_STRIDES:
    raise ValueError('Only allowed output_stride values are 8, 16, 32. Got '
                     '%r' % (output_stride,))
  names = _end_point_names(conv_defs)
  if final_endpoint not in names:
    raise ValueError('Unknown final endpoint %r; valid ones, in order: %s' %
                     (final_endpoint, ', '.join(names)))


def mobilenet_v1_base(inputs,
                      final_endpoint='Conv2d_13_pointwise',
                      min_depth=8,
                      depth_multiplier=1.0,
                      conv_defs=None,
                      output_stride=None,
                      use_explicit_padding=False,
                      scope=None):
  """MobileNet v1 from `inputs` up to `final_endpoint`.

  Each `Conv` is a conv2d (scope `Conv2d_<i>`); each `DepthSepConv` a
  depthwise separable_conv2d (`Conv2d_<i>_depthwise`, multiplier 1) then a
  1x1 conv2d (`Conv2d_<i>_pointwise`). Normalizer and activation come from
  the arg scope (mobilenet_v1_arg_scope: batch norm and ReLU6).

  Args:
    inputs: a tensor [batch, height, width, channels].
    final_endpoint: the last end point built, one of 'Conv2d_0',
      'Conv2d_1_depthwise', 'Conv2d_1_pointwise', ..., 'Conv2d_13_pointwise'
      for the default conv_defs.
    min_depth: the smallest depth of any layer once multiplied (only active
      for depth_multiplier < 1).
    depth_multiplier: float multiplier of every layer's depth, > 0.
    conv_defs: the architecture, a list of `Conv` / `DepthSepConv`; None for
      MOBILENETV1_CONV_DEFS.
    output_stride: None, or 8, 16 or 32: the wanted ratio of input to output
      resolution; once reached, later layers run at stride 1 with an atrous
      rate that multiplies by each skipped stride. (A `Conv` past that point
      runs so too; upstream keeps its stride. The default conv_defs have
      their only Conv first, so both build the same network.)
    use_explicit_padding: pad by the kernel size alone (k_eff - 1 in total,
      half before) then convolve VALID: the output sizes of SAME, with a
      padding independent of the input size.
    scope: variable scope, default 'MobilenetV1'.

  Returns:
    net: the output of `final_endpoint`.
    end_points: dict of the end points up to `final_endpoint`, in order.

  Raises:
    ValueError: depth_multiplier <= 0, an output_stride other than 8, 16 or
      32, an unknown final_endpoint (the message lists the valid ones), an
      unknown entry of conv_defs, bad inputs or an NCHW arg scope.
  """
  _common.require_nhwc('mobilenet_v1')
  conv_defs = MOBILENETV1_CONV_DEFS if conv_defs is None else conv_defs
  _check_base_args(depth_multiplier, output_stride, final_endpoint,
                   conv_defs)

  def depth(d):
    return max(int(d * depth_multiplier), min_depth)

  padding = 'VALID' if use_explicit_padding else 'SAME'
  end_points = {}
  with tf.compat.v1.variable_scope(scope, 'MobilenetV1', [inputs]):
    net = _common.validate_inputs(inputs)
    with slim.arg_scope([_layers.conv2d, _layers.separable_conv2d],
                        padding=padding):
      # current_stride: the product of the strides so far; rate: the atrous
      # rate of the next layer once output_stride is reached.
      current_stride = 1
      rate = 1
      for i, conv_def in enumerate(conv_defs):
        if output_stride is not None and current_stride == output_stride:
          layer_stride, layer_rate = 1, rate
          rate *= conv_def.stride
        else:
          layer_stride, layer_rate = conv_def.stride, 1
          current_stride *= conv_def.stride
        for end_point, net in _conv_def_layers(
            net, i, conv_def, depth(conv_def.depth), layer_stride,
            layer_rate, use_explicit_padding):
          end_points[end_point] = net
          if end_point == final_endpoint:
            return net, end_points
  raise AssertionError('unreachable: %s was checked' % final_endpoint)


def _conv_def_layers(net, index, conv_def, depth, stride, rate,
                     use_explicit_padding):
  """Yields (end point, output) of the layers of one conv def, in order."""
  if use_explicit_padding:
    net = _fixed_padding(net, conv_def.kernel, rate)
  if isinstance(conv_def, Conv):
    yield 'Conv2d_%d' % index, _layers.conv2d(
        net, depth, conv_def.kernel, stride=stride, rate=rate,
        scope='Conv2d_%d' % index)
    return
  # num_outputs=None: the depthwise convolution alone.
  net = _layers.separable_conv2d(
      net, None, conv_def.kernel, depth_multiplier=1, stride=stride,
      rate=rate, scope='Conv2d_%d_depthwise' % index)
  yield 'Conv2d_%d_depthwise' % index, net
  yield 'Conv2d_%d_pointwise' % index, _layers.conv2d(
      net, depth, [1, 1], stride=1, scope='Conv2d_%d_pointwise' % index)


def _reduced_kernel_size_for_small_input(input_tensor, kernel_size):
  """`kernel_size`, shrunk to the static height/width of smaller inputs.

  Unknown sizes are assumed large enough.
  """
  shape = input_tensor.shape.as_list()
  if shape[1] is None or shape[2] is None:
    return kernel_size
  return [min(shape[1], kernel_size[0]), min(shape[2], kernel_size[1])]


def _register(name=None):
  return registry.register('mobilenet_v1', mobilenet_v1_arg_scope, 224, 1001,
                           'inception', name=name)


def mobilenet_v1_arg_scope(
    is_training=True,
    weight_decay=0.00004,
    stddev=0.09,
    regularize_depthwise=False,
    batch_norm_decay=0.9997,
    batch_norm_epsilon=0.001,
    batch_norm_updates_collections=tf.compat.v1.GraphKeys.UPDATE_OPS,
    normalizer_fn=_layers.batch_norm):
  """The MobileNet v1 arg scope.

  conv2d and separable_conv2d: truncated normal weights, ReLU6, batch norm
  (center and scale); L2 weight decay on the conv2d weights and, with
  regularize_depthwise, on the depthwise ones.

  Args:
    is_training: batch norm mode; None leaves it out of the batch_norm arg
      scope (for callers that set it themselves).
    weight_decay: the L2 regularization coefficient.
    stddev: standard deviation of the truncated normal weight initializer.
    regularize_depthwise: regularize the depthwise weights too.
    batch_norm_decay: decay of the moving averages.
    batch_norm_epsilon: added to the variance.
    batch_norm_updates_collections: collection of the update ops.
    normalizer_fn: the normalization after each convolution.

  Returns:
    An arg_scope.
  """
  batch_norm_params = {
      'center': True,
      'scale': True,
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'updates_collections': batch_norm_updates_collections,
  }
  if is_training is not None:
    batch_norm_params['is_training'] = is_training
  regularizer = slim.l2_regularizer(weight_decay)
  depthwise_regularizer = regularizer if regularize_depthwise else None
  with slim.arg_scope(
      [_layers.conv2d, _layers.separable_conv2d],
      weights_initializer=tf.compat.v1.truncated_normal_initializer(
          stddev=stddev),
      activation_fn=tf.nn.relu6, normalizer_fn=normalizer_fn):
    with slim.arg_scope([_layers.batch_norm], **batch_norm_params):
      with slim.arg_scope([_layers.conv2d], weights_regularizer=regularizer):
        with slim.arg_scope([_layers.separable_conv2d],
                            weights_regularizer=depthwise_regularizer) as sc:
          return sc


@_register()
def mobilenet_v1(inputs,
                 num_classes=1000,
                 dropout_keep_prob=0.999,
                 is_training=True,
                 min_depth=8,
                 depth_multiplier=1.0,
                 conv_defs=None,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='MobilenetV1',
                 global_pool=False):
  """MobileNet v1 for classification.

  The base, then under `<scope>/Logits/`: 'AvgPool_1a' (a 7x7 VALID average
  pool, shrunk for smaller static inputs) or, with global_pool, a mean over
  height and width ('global_pool'); 'Dropout_1b'; the 1x1 logits
  'Conv2d_1c_1x1' (with biases) and 'SpatialSqueeze'.

  Args:
    inputs: a tensor [batch, height, width, channels].
    num_classes: logits size; 0 or None returns the pooled features (before
      dropout) instead.
    dropout_keep_prob: keep probability of Dropout_1b.
    is_training: batch norm and dropout mode, a Python bool or a scalar bool
      tensor.
    min_depth, depth_multiplier, conv_defs: see mobilenet_v1_base().
    prediction_fn: turns the logits into 'Predictions' (None: no
      'Predictions').
    spatial_squeeze: logits [B, C] instead of [B, 1, 1, C].
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope.
    global_pool: pool any input size down to 1x1 (else larger inputs give
      larger outputs).

  Returns:
    net: the logits, or the pooled features when num_classes is 0 or None.
    end_points: dict of the base's end points, then 'AvgPool_1a' or
      'global_pool', 'Logits', 'Predictions'.

  Raises:
    ValueError / TypeError: see mobilenet_v1_base(); bad num_classes or
      is_training.
  """
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(
      scope, 'MobilenetV1', [inputs], reuse=reuse) as sc:
    with slim.arg_scope([_layers.batch_norm, _layers.dropout],
                        is_training=is_training):
      net, end_points = mobilenet_v1_base(
          inputs, scope=sc, min_depth=min_depth,
          depth_multiplier=depth_multiplier, conv_defs=conv_defs)
      with tf.compat.v1.variable_scope('Logits'):
        if global_pool:
          net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
          end_points['global_pool'] = net
        else:
          kernel_size = _reduced_kernel_size_for_small_input(net, [7, 7])
          net = _layers.avg_pool2d(net, kernel_size, padding='VALID',
                                   scope='AvgPool_1a')
          end_points['AvgPool_1a'] = net
        if not num_classes:
          return net, end_points
        net = _layers.dropout(net, keep_prob=dropout_keep_prob,
                              scope='Dropout_1b')
        logits = _layers.conv2d(net, num_classes, [1, 1], activation_fn=None,
                                normalizer_fn=None, scope='Conv2d_1c_1x1')
        if spatial_squeeze:
          logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
      end_points['Logits'] = logits
      if prediction_fn:
        end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


def wrapped_partial(func, *args, **kwargs):
  """`functools.partial(func, ...)` that keeps func's name, doc and attributes
  (such as default_image_size)."""
  partial_func = functools.partial(func, *args, **kwargs)
  functools.update_wrapper(partial_func, func)
  return partial_func


mobilenet_v1_075 = _register('mobilenet_v1_075')(
    wrapped_partial(mobilenet_v1, depth_multiplier=0.75))
mobilenet_v1_050 = _register('mobilenet_v1_050')(
    wrapped_partial(mobilenet_v1, depth_multiplier=0.50))
mobilenet_v1_025 = _register('mobilenet_v1_025')(
    wrapped_partial(mobilenet_v1, depth_multiplier=0.25))
