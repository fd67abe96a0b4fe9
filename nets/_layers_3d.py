"""tf-slim's 3-D layers (`conv3d`, `max_pool3d`, `avg_pool3d`) on plain ops.

The video networks (I3D, S3D-G) are built from these, the way the image
networks are built from `nets._layers`: the same variables as tf-slim's
layers (`weights` [kT, kH, kW, in_channels, out_channels], `biases`, the
normalizer's variables under `<scope>/BatchNorm/`), the same collections
(GLOBAL_VARIABLES, MODEL_VARIABLES, TRAINABLE_VARIABLES, the regularizer's
loss in REGULARIZATION_LOSSES), the same numbers and collected outputs, with
`tf.compat.v1.get_variable` and `tf.nn` ops only (tf-slim's run on the
legacy Keras layers that TensorFlow 2.21 ships only with tf_keras).

Each layer answers to the arg_scope key of its tf-slim twin, so
`slim.arg_scope([slim.conv3d], weights_regularizer=...)` reaches it, and a
`normalizer_fn` of tf-slim's `batch_norm` runs as `nets._layers.batch_norm`
(which takes 5-D inputs).

Typical use:

   from nets import _layers
   from nets import _layers_3d

   net = _layers_3d.conv3d(clips, 64, [3, 7, 7], stride=2,
                           normalizer_fn=_layers.batch_norm, scope='Conv1')
   net = _layers_3d.max_pool3d(net, [1, 3, 3], stride=[1, 2, 2],
                               padding='SAME', scope='MaxPool1')
"""

import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import initializers as slim_initializers
from tf_slim.layers import utils as slim_utils

from nets import _layers

# Variables, losses, checks and arg-scope keys exactly as nets._layers makes
# them for the 2-D layers.
# pylint: disable=protected-access
_answers_to = _layers._answers_to
_check_num_outputs = _layers._check_num_outputs
_describe = _layers._describe
_is_slim_batch_norm = _layers._is_slim_batch_norm
_model_variable = _layers._model_variable
# pylint: enable=protected-access

_NDHWC = 'NDHWC'
_NCDHW = 'NCDHW'


def _triple(value, name):
  """Returns `value` as three positive ints (time, height, width)."""
  if isinstance(value, int) and not isinstance(value, bool):
    triple = (value,) * 3
  else:
    try:
      triple = tuple(int(v) for v in value)
    except TypeError:
      raise TypeError('%s must be an int or a list of 3 ints, got %r' %
                      (name, value)) from None
    if len(triple) != 3:
      raise ValueError('%s must be an int or a list of 3 ints, got %r' %
                       (name, value))
  if min(triple) < 1:
    raise ValueError('%s must be positive, got %r' % (name, value))
  return triple


def _data_format(data_format, layer):
  data_format = data_format or _NDHWC
  if data_format not in (_NDHWC, _NCDHW):
    raise ValueError("%s: data_format must be 'NDHWC' or 'NCDHW', got %r" %
                     (layer, data_format))
  return data_format


def _check_rank5(inputs, layer):
  """Converts `inputs` to a tensor and checks that it is rank 5."""
  inputs = tf.convert_to_tensor(inputs)
  rank = inputs.shape.ndims
  if rank != 5:
    raise ValueError(
        '%s: inputs must be a rank-5 tensor [batch, time, height, width, '
        'channels] (or NCDHW), got %s %s' %
        (layer, 'a tensor of unknown rank' if rank is None else
         'rank %d' % rank, _describe(inputs)))
  return inputs


def _full(values, data_format):
  """[1, t, h, w, 1] or [1, 1, t, h, w]: strides etc. for all five axes."""
  if data_format == _NCDHW:
    return [1, 1] + list(values)
  return [1] + list(values) + [1]


@_answers_to(slim.conv3d)
def conv3d(inputs,
           num_outputs,
           kernel_size,
           stride=1,
           padding='SAME',
           data_format=None,
           rate=1,
           activation_fn=tf.nn.relu,
           normalizer_fn=None,
           normalizer_params=None,
           weights_initializer=slim_initializers.xavier_initializer(),
           weights_regularizer=None,
           biases_initializer=tf.compat.v1.zeros_initializer(),
           biases_regularizer=None,
           reuse=None,
           variables_collections=None,
           outputs_collections=None,
           trainable=True,
           scope=None):
  """3-D convolution with tf-slim's `conv3d` variables and semantics.

  Variables `weights` ([kT, kH, kW, in_channels, num_outputs]) and, only
  without a normalizer, `biases`. The normalizer runs inside this scope (so
  batch norm variables live under `<scope>/BatchNorm/`), then the activation.

  Args:
    inputs: rank-5 tensor [batch, time, height, width, channels] (NDHWC) or
      [batch, channels, time, height, width] (NCDHW), known channels.
    num_outputs: number of output channels.
    kernel_size: int or [time, height, width].
    stride: int or [time, height, width].
    padding: 'SAME' or 'VALID'.
    data_format: None / 'NDHWC' or 'NCDHW'.
    rate: dilation rate, int or [time, height, width]; only with stride 1.
    activation_fn: applied last; None for linear.
    normalizer_fn: e.g. `nets._layers.batch_norm`; replaces the biases.
    normalizer_params: keyword arguments for `normalizer_fn`.
    weights_initializer, weights_regularizer: for `weights`.
    biases_initializer, biases_regularizer: for `biases` (None: no biases).
    reuse: reuse the variables of `scope`.
    variables_collections: extra collections (list, or dict keyed by
      'weights' / 'biases').
    outputs_collections: collections the output is added to.
    trainable: put the variables in TRAINABLE_VARIABLES.
    scope: variable scope, default 'Conv'.

  Returns:
    The output tensor.
  """
  data_format = _data_format(data_format, 'conv3d')
  _check_num_outputs(num_outputs, 'conv3d', scope)
  kernel = _triple(kernel_size, 'conv3d kernel_size')
  strides = _triple(stride, 'conv3d stride')
  rates = _triple(rate, 'conv3d rate')
  if max(strides) > 1 and max(rates) > 1:
    # tf-slim's (Keras) layer refuses the combination too.
    raise ValueError('conv3d %s: stride %r > 1 cannot be combined with rate '
                     '%r > 1' % (scope or '', stride, rate))
  with tf.compat.v1.variable_scope(
      scope, 'Conv', [inputs], reuse=reuse) as sc:
    inputs = _check_rank5(inputs, 'conv3d %s' % sc.name)
    channel_axis = 1 if data_format == _NCDHW else 4
    in_channels = inputs.shape.dims[channel_axis].value
    if in_channels is None:
      raise ValueError('conv3d %s: inputs %s have an unknown channel '
                       'dimension; it must be known to create the weights' %
                       (sc.name, _describe(inputs)))
    dtype = inputs.dtype.base_dtype
    weights = _model_variable(
        'weights', list(kernel) + [in_channels, num_outputs], dtype,
        weights_initializer, weights_regularizer, trainable,
        variables_collections, 'weights', loss_name='kernel')
    if max(rates) == 1:
      outputs = tf.nn.conv3d(inputs, weights, _full(strides, data_format),
                             padding, data_format=data_format)
    else:
      # Through space_to_batch where Conv3D has no dilated kernel (CPU), as
      # tf-slim's layer does.
      outputs = tf.nn.convolution(inputs, weights, padding=padding,
                                  data_format=data_format,
                                  dilations=list(rates))
    if normalizer_fn is None and biases_initializer is not None:
      biases = _model_variable(
          'biases', [num_outputs], dtype, biases_initializer,
          biases_regularizer, trainable, variables_collections, 'biases',
          loss_name='bias')
      # bias_add names only the 2-D layouts; NCDHW's channels are axis 1 too.
      outputs = tf.nn.bias_add(
          outputs, biases,
          data_format='NCHW' if data_format == _NCDHW else 'NHWC')
    if normalizer_fn is not None:
      if _is_slim_batch_norm(normalizer_fn):
        normalizer_fn = _layers.batch_norm
      outputs = normalizer_fn(outputs, **(normalizer_params or {}))
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            outputs)


def _pool3d(pool_fn, default_scope, layer, inputs, kernel_size, stride,
            padding, data_format, outputs_collections, scope):
  data_format = _data_format(data_format, layer)
  ksize = _triple(kernel_size, '%s kernel_size' % layer)
  strides = _triple(stride, '%s stride' % layer)
  with tf.compat.v1.name_scope(scope, default_scope, [inputs]) as sc:
    inputs = _check_rank5(inputs, layer)
    if data_format == _NCDHW:
      # TensorFlow's CPU kernels pool NDHWC only; tf-slim's (Keras) layers
      # transpose around the pooling in the same way on every device.
      outputs = tf.transpose(
          pool_fn(tf.transpose(inputs, [0, 2, 3, 4, 1]),
                  _full(ksize, _NDHWC), _full(strides, _NDHWC), padding,
                  data_format=_NDHWC), [0, 4, 1, 2, 3])
    else:
      outputs = pool_fn(inputs, _full(ksize, _NDHWC),
                        _full(strides, _NDHWC), padding, data_format=_NDHWC)
    return slim_utils.collect_named_outputs(outputs_collections,
                                            sc.rstrip('/'), outputs)


@_answers_to(slim.max_pool3d)
def max_pool3d(inputs,
               kernel_size,
               stride=2,
               padding='VALID',
               data_format=_NDHWC,
               outputs_collections=None,
               scope=None):
  """3-D max pooling as tf-slim's `max_pool3d` (name scope 'MaxPool3D').

  Args:
    inputs: rank-5 tensor in `data_format`.
    kernel_size: int or [time, height, width] of the pooling window.
    stride: int or [time, height, width].
    padding: 'VALID' or 'SAME'.
    data_format: 'NDHWC' or 'NCDHW'.
    outputs_collections: collections the output is added to.
    scope: name scope.

  Returns:
    The pooled tensor.
  """
  return _pool3d(tf.nn.max_pool3d, 'MaxPool3D', 'max_pool3d', inputs,
                 kernel_size, stride, padding, data_format,
                 outputs_collections, scope)


@_answers_to(slim.avg_pool3d)
def avg_pool3d(inputs,
               kernel_size,
               stride=2,
               padding='VALID',
               data_format=_NDHWC,
               outputs_collections=None,
               scope=None):
  """3-D average pooling as tf-slim's `avg_pool3d` (name scope 'AvgPool3D').

  With SAME padding the average is over the window's valid elements only,
  as in TensorFlow's kernel. Arguments as in `max_pool3d`.

  Returns:
    The pooled tensor.
  """
  return _pool3d(tf.nn.avg_pool3d, 'AvgPool3D', 'avg_pool3d', inputs,
                 kernel_size, stride, padding, data_format,
                 outputs_collections, scope)
