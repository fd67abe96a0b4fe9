"""Checks and the classification head shared by every family (private)."""

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


def predictions(logits):
  """Softmax over the classes of `logits`: the 'predictions' end point.

  slim.softmax (the op names of tf-slim's nets) takes the last axis; 4-D
  NCHW logits (no spatial squeeze) keep their classes on axis 1.
  """
  if logits.shape.rank == 4 and scoped_data_format() == 'NCHW':
    with tf.name_scope('predictions'):
      return tf.nn.softmax(logits, axis=1)
  return slim.softmax(logits, scope='predictions')
