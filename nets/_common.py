"""Checks and the classification head shared by every family (private)."""

import inspect

import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import utils as slim_utils
from tf_slim.ops import arg_scope as slim_arg_scope

from nets import _layers


def scoped_data_format():
  """The data_format the current arg_scope gives conv2d (default NHWC)."""
  key = slim_arg_scope.arg_scope_func_key(_layers.conv2d)
  return (slim_arg_scope.current_arg_scope().get(key, {}).get('data_format')
          or 'NHWC')


def spatial_axes():
  """The (height, width) axes under the current arg_scope's data_format."""
  return [2, 3] if scoped_data_format() == 'NCHW' else [1, 2]


# Shapes of 2**31 and more overflow TensorFlow's int32 shape tensors (the
# error would be 'Invalid value in tensor used for shape' deep in a layer).
_MAX_DIMENSION = 2**31


def validate_inputs(inputs, name='inputs'):
  """Checks network `inputs` and lays them out for the scoped data_format.

  Network inputs are always images [batch, height, width, channels]; under
  an arg scope with data_format 'NCHW' (see `nets.runtime.data_format_scope`)
  they are transposed once here, so the whole network runs NCHW.

  Returns:
    The inputs as a tensor, in the scoped data_format.

  Raises:
    ValueError: naming `name` when the rank is not 4, channels are unknown,
      the dtype is not floating, height or width is 0, or a dimension is
      2**31 or more.
  """
  inputs = tf.convert_to_tensor(inputs)
  rank = inputs.shape.ndims
  if rank != 4:
    raise ValueError(
        '%s must be a rank-4 tensor [batch, height, width, channels], got %s '
        "('%s', shape %s)" % (name, 'unknown rank' if rank is None else
                              'rank %d' % rank, inputs.name, inputs.shape))
  if inputs.shape.dims[3].value is None:
    raise ValueError("%s '%s' has an unknown channel dimension (shape %s); it "
                     'must be known to build the network' %
                     (name, inputs.name, inputs.shape))
  if not inputs.dtype.is_floating:
    raise ValueError(
        "%s '%s' has dtype %s; the networks take float images (convert and "
        'scale them first, e.g. with slimnets.preprocessing)' %
        (name, inputs.name, inputs.dtype.name))
  dims = inputs.shape.as_list()
  if 0 in dims[1:3]:
    raise ValueError("%s '%s' has an empty image (shape %s): height and width "
                     'must be at least 1' % (name, inputs.name, inputs.shape))
  if any(d is not None and d >= _MAX_DIMENSION for d in dims):
    raise ValueError(
        "%s '%s' is too large (shape %s): TensorFlow's CPU and GPU kernels "
        'index with 32-bit ints, so each dimension must stay below 2**31; '
        'feed smaller batches' % (name, inputs.name, inputs.shape))
  if scoped_data_format() == 'NCHW':
    inputs = tf.transpose(inputs, [0, 3, 1, 2], name='to_nchw')
  return inputs


def require_nhwc(model_name):
  """Raises one line when the current arg scope asks for NCHW.

  For the families written channels-last only (their concats, pads and
  squeezes index NHWC axes), so a `data_format_scope('NCHW')` fails at the
  network's entry instead of deep inside with a shape error.
  """
  if scoped_data_format() == 'NCHW':
    raise ValueError(
        "%s runs in data_format 'NHWC' only; build it outside an NCHW arg "
        'scope (e.g. nets.runtime.data_format_scope)' % model_name)


def validate_is_training(is_training):
  """Raises unless `is_training` is a Python value or a scalar bool tensor."""
  _layers.check_is_training(is_training, 'is_training')


def validate_num_classes(num_classes):
  """Raises unless `num_classes` is None, 0 or a positive int."""
  if num_classes is None:
    return
  if isinstance(num_classes, bool) or not isinstance(num_classes, int):
    raise TypeError('num_classes must be a non-negative int or None, got %r' %
                    (num_classes,))
  if num_classes < 0:
    raise ValueError('num_classes must be a non-negative int or None, got %d'
                     % num_classes)


def scoped_padding(layer):
  """The padding `layer` gets from the current arg_scope, else its default."""
  key = slim_arg_scope.arg_scope_func_key(layer)
  scoped = slim_arg_scope.current_arg_scope().get(key, {}).get('padding')
  return scoped or inspect.signature(layer).parameters['padding'].default


def min_image_size(layers):
  """The smallest image side for which the last of `layers` outputs >= 1.

  Args:
    layers: the spatial layers from the input on, as (kernel, stride,
      padding) with padding 'SAME' or 'VALID' (rate 1), or the layer
      function (e.g. `_layers.max_pool2d`) whose scoped padding applies.

  Returns:
    The minimum height (and width) in pixels.
  """
  size = 1
  for kernel, stride, padding in reversed(layers):
    if callable(padding):
      padding = scoped_padding(padding)
    # VALID: out = (in - kernel) // stride + 1; SAME: out = ceil(in / stride).
    size = (size - 1) * stride + (kernel if padding == 'VALID' else 1)
  return size


def check_image_size(inputs, minimum, model_name, reason):
  """Raises one line when the static height or width is below `minimum`.

  For networks whose fully connected layers are VALID convolutions over a
  fixed window (VGG, AlexNet, OverFeat): smaller images would fail deep in
  TensorFlow with a negative dimension. Unknown sizes are not checked.

  Args:
    inputs: validated network inputs (in the scoped data_format).
    minimum: the smallest allowed side, e.g. from `min_image_size`.
    model_name: named in the message.
    reason: what needs the size, e.g. "fc6 is a 7x7 VALID convolution".
  """
  for axis, side in zip(spatial_axes(), ('height', 'width')):
    size = inputs.shape.dims[axis].value
    if size is not None and size < minimum:
      raise ValueError(
          "%s needs images of at least %dx%d (%s), got inputs '%s' of %s %d" %
          (model_name, minimum, minimum, reason, inputs.name, side, size))


def blocks_output_stride(output_stride, root_stride):
  """`output_stride` left for the blocks after a root block of `root_stride`.

  Raises:
    TypeError / ValueError: naming output_stride when it is not a positive
      multiple of `root_stride`.
  """
  if output_stride is None:
    return None
  if isinstance(output_stride, bool) or not isinstance(output_stride, int):
    raise TypeError('output_stride must be an int or None, got %r' %
                    (output_stride,))
  if output_stride <= 0 or output_stride % root_stride:
    raise ValueError(
        'The output_stride needs to be a multiple of %d (the stride of the '
        'root block), got %d.' % (root_stride, output_stride))
  return output_stride // root_stride


def classification_head(net, end_points_collection, scope_name, num_classes,
                        global_pool, spatial_squeeze, dropout_keep_prob=None,
                        is_training=True):
  """Turns the collected end points into a dict and adds the slim head.

  `global_pool` (mean over height and width, op 'pool5'), optional dropout
  ('prelogits_dropout', Xception), `<scope>/logits` (1x1 conv with biases),
  `<scope>/spatial_squeeze` and `predictions` (softmax), as slim's nets do.

  Returns:
    (net, end_points).
  """
  end_points = slim_utils.convert_collection_to_dict(end_points_collection)
  axes = spatial_axes()
  if global_pool:
    net = tf.reduce_mean(net, axes, name='pool5', keepdims=True)
    end_points['global_pool'] = net
  if num_classes:
    if dropout_keep_prob is not None:
      net = _layers.dropout(net, keep_prob=dropout_keep_prob,
                            is_training=is_training, scope='prelogits_dropout')
      end_points[scope_name + '/prelogits_dropout'] = net
    net = _layers.conv2d(net, num_classes, [1, 1], activation_fn=None,
                         normalizer_fn=None, scope='logits')
    end_points[scope_name + '/logits'] = net
    if spatial_squeeze:
      net = tf.squeeze(net, axes, name='SpatialSqueeze')
      end_points[scope_name + '/spatial_squeeze'] = net
    end_points['predictions'] = predictions(net)
  return net, end_points


def fc_conv_head(net, end_points_collection, scope_name, fc6_depth,
                 fc6_kernel, fc6_padding, num_classes, is_training,
                 dropout_keep_prob, spatial_squeeze, global_pool,
                 **fc8_kwargs):
  """The fully connected layers of VGG, AlexNet and OverFeat, as convolutions.

  `fc6` (fc6_kernel square, `fc6_padding`), `dropout6`, `fc7` (1x1, 4096),
  the end points dict (conv/pool/fc6/fc7 keys from the collection), then
  'global_pool' (op 'global_pool'), `dropout7` and the 1x1 logits `fc8`
  (no activation; `fc8_kwargs` go to its conv2d), squeezed as
  'fc8/squeezed', under `<scope>/fc8`: slim's layout for these nets.

  Returns:
    (net, end_points): the logits, or fc7 (pooled with global_pool) when
    num_classes is 0 or None.
  """
  net = _layers.conv2d(net, fc6_depth, [fc6_kernel, fc6_kernel],
                       padding=fc6_padding, scope='fc6')
  net = _layers.dropout(net, dropout_keep_prob, is_training=is_training,
                        scope='dropout6')
  net = _layers.conv2d(net, 4096, [1, 1], scope='fc7')
  end_points = slim_utils.convert_collection_to_dict(end_points_collection)
  axes = spatial_axes()
  if global_pool:
    net = tf.reduce_mean(net, axes, keepdims=True, name='global_pool')
    end_points['global_pool'] = net
  if num_classes:
    net = _layers.dropout(net, dropout_keep_prob, is_training=is_training,
                          scope='dropout7')
    net = _layers.conv2d(net, num_classes, [1, 1], activation_fn=None,
                         normalizer_fn=None, scope='fc8', **fc8_kwargs)
    if spatial_squeeze:
      net = tf.squeeze(net, axes, name='fc8/squeezed')
    # Added by hand: slim's key holds the squeezed logits.
    end_points[scope_name + '/fc8'] = net
  return net, end_points


def predictions(logits):
  """Softmax over the classes of `logits`: the 'predictions' end point.

  slim.softmax (the op names of tf-slim's nets) takes the last axis; 4-D
  NCHW logits (no spatial squeeze) keep their classes on axis 1.
  """
  if logits.shape.rank == 4 and scoped_data_format() == 'NCHW':
    with tf.name_scope('predictions'):
      return tf.nn.softmax(logits, axis=1)
  return slim.softmax(logits, scope='predictions')


_VIDEO_LAYOUTS = {
    'NDHWC': '[batch, time, height, width, channels]',
    'NCDHW': '[batch, channels, time, height, width]',
}


def validate_video_inputs(inputs, data_format='NDHWC', name='inputs'):
  """Checks the clips fed to a video network (I3D, S3D-G).

  Unlike `validate_inputs`, nothing is transposed: video networks take their
  layout as the explicit `data_format` argument, as upstream's do.

  Args:
    inputs: the network input.
    data_format: 'NDHWC' or 'NCDHW', the layout of `inputs`.
    name: how the error messages name `inputs`.

  Returns:
    `inputs` as a tensor.

  Raises:
    ValueError: naming `name` when the rank is not 5, channels are unknown,
      the dtype is not floating, time, height or width is 0, or a dimension
      is 2**31 or more; naming data_format when it is not a video layout.
  """
  if data_format not in _VIDEO_LAYOUTS:
    raise ValueError("data_format must be 'NDHWC' or 'NCDHW', got %r" %
                     (data_format,))
  inputs = tf.convert_to_tensor(inputs)
  layout = _VIDEO_LAYOUTS[data_format]
  rank = inputs.shape.ndims
  if rank != 5:
    raise ValueError(
        '%s must be a rank-5 tensor %s (video clips), got %s (%r, shape %s)'
        % (name, layout, 'unknown rank' if rank is None else 'rank %d' % rank,
           inputs.name, inputs.shape))
  dims = inputs.shape.as_list()
  channel_axis = data_format.index('C')
  if dims[channel_axis] is None:
    raise ValueError('%s %r has an unknown channel dimension (shape %s, %s); '
                     'it must be known to build the network' %
                     (name, inputs.name, inputs.shape, layout))
  if not inputs.dtype.is_floating:
    raise ValueError('%s %r has dtype %s; the networks take float clips '
                     '(convert and scale them first)' %
                     (name, inputs.name, inputs.dtype.name))
  if 0 in [d for axis, d in enumerate(dims) if axis not in (0, channel_axis)]:
    raise ValueError('%s %r is an empty clip (shape %s, %s): time, height and '
                     'width must be at least 1' %
                     (name, inputs.name, inputs.shape, layout))
  if any(d is not None and d >= _MAX_DIMENSION for d in dims):
    raise ValueError(
        "%s %r is too large (shape %s): TensorFlow's CPU and GPU kernels "
        'index with 32-bit ints, so each dimension must stay below 2**31; '
        'feed smaller batches' % (name, inputs.name, inputs.shape))
  return inputs
