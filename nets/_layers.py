"""tf-slim layers on plain `tf.compat.v1` ops.

tf-slim 1.1.0 builds `conv2d`, `batch_norm` and the pooling layers on legacy
Keras layer classes, which TensorFlow 2.21 no longer ships without `tf_keras`
(and which hash every graph variable on each `add_weight`, so graph building
grows super-linearly with depth). These replacements create the same variables
(`weights`, `biases`, `BatchNorm/{beta,gamma,moving_mean,moving_variance}`),
put them in the same collections, compute the same numbers and collect the
same end points, using `tf.compat.v1.get_variable` and `tf.nn` ops only.

Each layer answers to the arg_scope key of its tf-slim twin, so user code such
as::

    with slim.arg_scope([slim.batch_norm], is_training=False):
      net, end_points = resnet_v2.resnet_v2_50(images)

reaches these layers exactly as it reached tf-slim's. A `normalizer_fn` given
as tf-slim's own `batch_norm` (as tf-slim's `resnet_arg_scope` does) runs as
this module's `batch_norm`.
"""

import functools

import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import initializers as slim_initializers
from tf_slim.layers import utils as slim_utils
from tf_slim.ops import arg_scope as slim_arg_scope
# Not exported by tf.compat.v1; tf-slim's batch_norm uses the same function.
from tensorflow.python.training import moving_averages  # pylint: disable=g-direct-tensorflow-import

from nets import _grouped

_NHWC = 'NHWC'
_NCHW = 'NCHW'


def _answers_to(slim_layer):
  """Decorator: `func` reads the arg_scope entries keyed on `slim_layer`.

  tf-slim keys an arg_scope by the undecorated layer function, so sharing the
  key makes `slim.arg_scope([slim.conv2d], ...)` and
  `slim.arg_scope([nets conv2d], ...)` one and the same scope.
  """
  key = slim_arg_scope.arg_scope_func_key(slim_layer)

  def decorate(func):

    @functools.wraps(func)
    def with_scope_args(*args, **kwargs):
      scope_args = slim_arg_scope.current_arg_scope().get(key)
      if scope_args:
        merged = dict(scope_args)
        merged.update(kwargs)
        kwargs = merged
      return func(*args, **kwargs)

    with_scope_args._key_op = key  # pylint: disable=protected-access
    return with_scope_args

  return decorate


def _pair(value, name):
  """Returns `value` as a pair of positive ints, or raises naming `name`."""
  if isinstance(value, int):
    pair = (value, value)
  else:
    try:
      pair = tuple(int(v) for v in value)
    except TypeError:
      raise TypeError('%s must be an int or a pair of ints, got %r' %
                      (name, value)) from None
    if len(pair) != 2:
      raise ValueError('%s must be an int or a pair of ints, got %r' %
                       (name, value))
  if min(pair) < 1:
    raise ValueError('%s must be positive, got %r' % (name, value))
  return pair


def _check_num_outputs(num_outputs, layer, scope):
  """Raises naming the layer unless `num_outputs` is a positive int (a
  negative one fails deep in TensorFlow as 'Dimension -256')."""
  if (isinstance(num_outputs, bool) or not isinstance(num_outputs, int) or
      num_outputs < 1):
    raise ValueError('%s %s: num_outputs must be a positive int, got %r' %
                     (layer, scope or '', num_outputs))


def check_is_training(pred, where):
  """Checks `is_training`-like `pred`: a Python bool or a scalar bool tensor.

  tf.cond would take any scalar and a float tensor would be read as a
  truth value; a [batch] bool tensor fails only at run time.
  """
  if isinstance(pred, (tf.Tensor, tf.Variable)):
    if pred.dtype.base_dtype != tf.bool or pred.shape.rank not in (0, None):
      raise ValueError('%s must be a Python bool or a scalar bool tensor, got '
                       "%s %s '%s'" % (where, pred.dtype.base_dtype.name,
                                       pred.shape, pred.name))


def _check_rank4(inputs, layer):
  """Converts `inputs` to a tensor and checks that it is rank 4."""
  inputs = tf.convert_to_tensor(inputs)
  rank = inputs.shape.ndims
  if rank != 4:
    raise ValueError(
        '%s: inputs must be a rank-4 tensor [batch, height, width, channels], '
        'got %s %s' % (layer, 'a tensor of unknown rank' if rank is None else
                       'rank %d' % rank, _describe(inputs)))
  return inputs


def _describe(tensor):
  return "'%s' with shape %s" % (getattr(tensor, 'name', '?'), tensor.shape)


def _channels(inputs, data_format, layer):
  """The static channel count of rank-4 (or rank-5) `inputs`, or a clear
  error."""
  axis = 1 if data_format == _NCHW else -1
  channels = inputs.shape.dims[axis].value
  if channels is None:
    raise ValueError('%s: inputs %s have an unknown channel dimension; it must '
                     'be known to create the weights' % (layer, _describe(inputs)))
  return channels


def _data_format(data_format, layer):
  data_format = data_format or _NHWC
  if data_format not in (_NHWC, _NCHW):
    raise ValueError("%s: data_format must be 'NHWC' or 'NCHW', got %r" %
                     (layer, data_format))
  return data_format


def _model_variable(name, shape, dtype, initializer, regularizer, trainable,
                    variables_collections, collection_name, loss_name=None):
  """A variable with `slim.model_variable` semantics.

  In GLOBAL_VARIABLES and MODEL_VARIABLES (and TRAINABLE_VARIABLES when
  trainable), plus the user's `variables_collections` for `collection_name`;
  the regularizer's loss goes to REGULARIZATION_LOSSES on creation only, as
  `<layer scope>/<loss_name>/Regularizer/...` (`loss_name` defaults to
  `name`; tf-slim's Keras-based layers name it after the Keras weight, such
  as `kernel` for `weights`).
  """
  collections = list(
      slim_utils.get_variable_collections(variables_collections,
                                          collection_name) or [])
  collections += [tf.compat.v1.GraphKeys.GLOBAL_VARIABLES,
                  tf.compat.v1.GraphKeys.MODEL_VARIABLES]
  if regularizer is not None:
    regularizer = _RegularizerBuiltOnce(regularizer, name, loss_name or name)
  variable = tf.compat.v1.get_variable(
      name, shape=shape, dtype=dtype, initializer=initializer,
      regularizer=regularizer, trainable=trainable,
      collections=list(set(collections)))
  if regularizer is not None:
    regularizer.creation_done()
  return variable


class _RegularizerBuiltOnce:
  """A regularizer whose loss get_variable builds once instead of twice.

  On creating a variable, `tf.compat.v1.get_variable` calls its regularizer
  twice: first in the caller's name scope only to learn whether the loss is
  None, then under `<variable name>/Regularizer/` for the loss it collects
  (wrapped in a tensor that calls the regularizer again wherever the loss is
  used later). The first call would leave orphan ops in the graph, four
  per weights variable (7% of a ResNet's ops, 2% of its build time), which
  tf-slim's nets (regularized through Keras layers) do not have.

  Here the first call builds the loss where tf-slim's layer would, with the
  colocation of the second call, and the second returns it. Once
  get_variable has returned, calls go straight to the regularizer, so later
  uses of the collected loss behave exactly as TensorFlow intends; if the
  variable's name is not the expected one (a custom getter renamed it),
  every call does.
  """

  def __init__(self, regularizer, name, loss_name):
    self._regularizer = regularizer
    scope = tf.compat.v1.get_variable_scope().name
    prefix = scope + '/' if scope else ''
    self._variable_name = prefix + name
    self._loss_scope = prefix + loss_name + '/Regularizer/'
    self._creating = True
    self._loss = None
    self._calls = 0

  def __call__(self, variable):
    if not self._creating or variable.op.name != self._variable_name:
      return self._regularizer(variable)
    self._calls += 1
    if self._calls == 1:
      with tf.compat.v1.colocate_with(variable):
        with tf.compat.v1.name_scope(self._loss_scope):
          self._loss = self._regularizer(variable)
    return self._loss

  def creation_done(self):
    """Later calls build a new loss each time, as the plain regularizer."""
    self._creating = False


def _static_value(pred):
  """The Python bool of `pred`, or None when only known at run time.

  (tf-slim's own `utils.constant_value` uses `ops.Tensor`, gone in TF 2.21.)
  """
  if isinstance(pred, (tf.Tensor, tf.Variable)):
    value = tf.get_static_value(pred)
    return None if value is None else bool(value)
  return bool(pred)


def _smart_cond(pred, true_fn, false_fn):
  """`true_fn()` or `false_fn()` when `pred` is static, else `tf.cond`."""
  value = _static_value(pred)
  if value is None:
    return tf.cond(pred, true_fn, false_fn)
  return true_fn() if value else false_fn()


def _assign_moving_average(variable, value, decay, rate, zero_debias):
  """`variable -= rate * (variable - value)`, as tf-slim computes it.

  `rate` is the tensor `1 - decay`.

  Outside a distribution strategy this is written out directly: TensorFlow's
  `assign_moving_average` spends most of its graph-building time in
  `merge_call` bookkeeping that only a strategy needs.
  """
  if zero_debias or tf.distribute.has_strategy():
    return moving_averages.assign_moving_average(variable, value, decay,
                                                 zero_debias=zero_debias)
  with tf.compat.v1.name_scope(None, 'AssignMovingAvg',
                               [variable, value]) as scope:
    delta = (variable - value) * rate
    return tf.compat.v1.assign_sub(variable, delta, name=scope)


def _is_slim_batch_norm(func):
  return func is slim.batch_norm


@_answers_to(slim.batch_norm)
def batch_norm(inputs,
               decay=0.999,
               center=True,
               scale=False,
               epsilon=0.001,
               activation_fn=None,
               param_initializers=None,
               param_regularizers=None,
               updates_collections=tf.compat.v1.GraphKeys.UPDATE_OPS,
               is_training=True,
               reuse=None,
               variables_collections=None,
               outputs_collections=None,
               trainable=True,
               batch_weights=None,
               fused=None,
               data_format=_NHWC,
               zero_debias_moving_mean=False,
               scope=None,
               renorm=False,
               renorm_clipping=None,
               renorm_decay=0.99,
               adjustment=None):
  """Batch normalization with tf-slim's variables, defaults and updates.

  Normalizes over all but the channel axis with TensorFlow's fused kernel:
  batch statistics when training, `moving_mean` / `moving_variance` otherwise.
  In training the two moving-average updates
  (`v -= (1 - decay) * (v - batch_value)`) go to `updates_collections`, or run
  before the output is returned when that is None.

  Args:
    inputs: rank-2, rank-4 or rank-5 tensor with a known channel dimension
      (rank 5 is video, [batch, time, height, width, channels] under
      data_format 'NHWC', [batch, channels, time, height, width] under
      'NCHW').
    decay: moving-average decay.
    center: add the `beta` offset.
    scale: multiply by `gamma`.
    epsilon: added to the variance, passed to the fused kernel unchanged as
      tf-slim does on TensorFlow 2.21.
    activation_fn: applied to the output, or None.
    param_initializers: optional dict of initializers for `beta`, `gamma`,
      `moving_mean`, `moving_variance`.
    param_regularizers: optional dict of regularizers for `beta` and `gamma`.
    updates_collections: collections for the update ops, or None for in-place.
    is_training: Python bool or scalar bool tensor.
    reuse: reuse the variables of `scope`.
    variables_collections: extra collections (a list, or a dict keyed by
      variable name).
    outputs_collections: collections the output is added to (aliased as the
      scope name).
    trainable: put `beta` and `gamma` in TRAINABLE_VARIABLES.
    batch_weights, renorm, renorm_clipping, renorm_decay, adjustment: accepted
      for signature compatibility; only their defaults are supported.
    fused: the fused kernel is always used; `fused=False` (tf-slim's
      layer path) makes the moving variance follow the biased batch
      variance, as tf-slim's then does, instead of the fused kernel's
      unbiased (n / (n - 1)) one.
    data_format: 'NHWC' or 'NCHW'.
    zero_debias_moving_mean: zero-debias the moving mean (adds its variables).
    scope: variable scope, default 'BatchNorm'.

  Returns:
    The normalized tensor, same shape as `inputs`.
  """
  del renorm_clipping, renorm_decay  # only meaningful with unsupported paths
  for name, value in (('batch_weights', batch_weights), ('renorm', renorm),
                      ('adjustment', adjustment)):
    if value:
      raise NotImplementedError(
          'batch_norm: %s is not supported by slimnets (tf-slim\'s non-fused '
          'path); leave it at its default' % name)
  data_format = _data_format(data_format, 'batch_norm')
  with tf.compat.v1.variable_scope(
      scope, 'BatchNorm', [inputs], reuse=reuse) as sc:
    check_is_training(is_training, 'batch_norm %s: is_training' % sc.name)
    inputs = tf.convert_to_tensor(inputs)
    original_shape = inputs.shape
    rank = original_shape.ndims
    if rank not in (2, 4, 5):
      raise ValueError(
          'batch_norm: inputs must be rank 2, 4 or 5, got %s %s' %
          ('unknown rank' if rank is None else 'rank %d' % rank,
           _describe(inputs)))
    if rank == 2:
      channels = original_shape.dims[-1].value
      if channels is None:
        raise ValueError('batch_norm: inputs %s have an unknown channel '
                         'dimension' % _describe(inputs))
      original_inputs = inputs
      inputs = tf.reshape(
          inputs, [-1, channels, 1, 1] if data_format == _NCHW else
          [-1, 1, 1, channels])
    channels = _channels(inputs, data_format, 'batch_norm')
    params_shape = [channels]
    # The fused kernel takes 5-D inputs under the 3-D names of the layouts.
    kernel_format = (data_format if rank != 5 else
                     {_NHWC: 'NDHWC', _NCHW: 'NCDHW'}[data_format])
    param_initializers = param_initializers or {}
    param_regularizers = param_regularizers or {}

    def param(name, default_initializer, variable_trainable):
      return _model_variable(
          name, params_shape, tf.float32,
          param_initializers.get(name, default_initializer),
          param_regularizers.get(name), variable_trainable,
          variables_collections, name)

    # gamma before beta: the variable order of tf-slim's default path.
    if scale:
      gamma = param('gamma', tf.compat.v1.ones_initializer(), trainable)
    else:
      gamma = tf.constant(1.0, tf.float32, params_shape)
    if center:
      beta = param('beta', tf.compat.v1.zeros_initializer(), trainable)
    else:
      beta = tf.constant(0.0, tf.float32, params_shape)
    # Partitioned moving statistics would break assign_moving_average and the
    # checkpoint layout, as in tf-slim.
    if tf.compat.v1.get_variable_scope().partitioner is None:
      moving_mean = param('moving_mean', tf.compat.v1.zeros_initializer(),
                          False)
      moving_variance = param('moving_variance',
                              tf.compat.v1.ones_initializer(), False)
    else:
      with tf.compat.v1.variable_scope(
          tf.compat.v1.get_variable_scope()) as local_scope:
        local_scope.set_partitioner(None)
        moving_mean = param('moving_mean', tf.compat.v1.zeros_initializer(),
                            False)
        moving_variance = param('moving_variance',
                                tf.compat.v1.ones_initializer(), False)
    def training():
      # One empty tensor serves as both "no mean" and "no variance".
      empty = tf.constant([], tf.float32)
      outputs, batch_mean, batch_variance = tf.raw_ops.FusedBatchNormV3(
          x=inputs, scale=gamma, offset=beta, mean=empty, variance=empty,
          epsilon=epsilon, data_format=kernel_format, is_training=True)[:3]
      if fused is False:
        # Back to the biased variance tf.nn.moments gives tf-slim's layer.
        count = tf.cast(tf.size(inputs) // channels, tf.float32)
        batch_variance *= tf.maximum(count - 1.0, 0.0) / count
      return outputs, batch_mean, batch_variance

    def inference():
      return tf.raw_ops.FusedBatchNormV3(
          x=inputs, scale=gamma, offset=beta, mean=moving_mean,
          variance=moving_variance, epsilon=epsilon,
          data_format=kernel_format, is_training=False)[:3]

    outputs, mean, variance = _smart_cond(is_training, training, inference)
    is_training_value = _static_value(is_training)
    if is_training_value is None or is_training_value:

      def updates():
        # One `1 - decay` constant serves both updates.
        rate = tf.convert_to_tensor(1.0 - decay, tf.float32, name='decay')
        return (_assign_moving_average(moving_mean, mean, decay, rate,
                                       zero_debias_moving_mean),
                _assign_moving_average(moving_variance, variance, decay, rate,
                                       False))

      if updates_collections is None:

        def forced_updates():
          with tf.control_dependencies(updates()):
            return tf.identity(outputs)

        outputs = _smart_cond(is_training, forced_updates, lambda: outputs)
      else:
        update_mean, update_variance = _smart_cond(
            is_training, updates, lambda: (moving_mean, moving_variance))
        tf.compat.v1.add_to_collections(updates_collections, update_mean)
        tf.compat.v1.add_to_collections(updates_collections, update_variance)
    outputs.set_shape(inputs.shape)
    if rank == 2:
      outputs = tf.reshape(outputs, tf.shape(original_inputs))
      outputs.set_shape(original_shape)
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            outputs)


@_answers_to(slim.conv2d)
def conv2d(inputs,
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
           scope=None,
           groups=1):
  """2-D convolution with tf-slim's `conv2d` variables and semantics.

  Variables `weights` ([kh, kw, in_channels / groups, num_outputs]) and, only
  without a normalizer, `biases`. The normalizer runs inside this scope (so
  batch norm variables live under `<scope>/BatchNorm/`), then the activation.

  Args:
    inputs: rank-4 tensor with a known channel dimension.
    num_outputs: number of output channels.
    kernel_size: int or [height, width].
    stride: int or [height, width].
    padding: 'SAME' or 'VALID'.
    data_format: None / 'NHWC' or 'NCHW'.
    rate: atrous (dilation) rate, int or pair.
    activation_fn: applied last; None for linear.
    normalizer_fn: e.g. `batch_norm`; replaces the biases.
    normalizer_params: keyword arguments for `normalizer_fn`.
    weights_initializer, weights_regularizer: for `weights`.
    biases_initializer, biases_regularizer: for `biases` (None: no biases).
    reuse: reuse the variables of `scope`.
    variables_collections: extra collections (list, or dict keyed by
      'weights' / 'biases').
    outputs_collections: collections the output is added to.
    trainable: put the variables in TRAINABLE_VARIABLES.
    scope: variable scope, default 'Conv'.
    groups: grouped convolution (ResNeXt's cardinality), run as one native
      grouped convolution where TensorFlow has the kernels.

  Returns:
    The output tensor.
  """
  data_format = _data_format(data_format, 'conv2d')
  _check_num_outputs(num_outputs, 'conv2d', scope)
  kernel_h, kernel_w = _pair(kernel_size, 'conv2d kernel_size')
  stride_h, stride_w = _pair(stride, 'conv2d stride')
  rate_h, rate_w = _pair(rate, 'conv2d rate')
  with tf.compat.v1.variable_scope(
      scope, 'Conv', [inputs], reuse=reuse) as sc:
    inputs = _check_rank4(inputs, 'conv2d %s' % sc.name)
    in_channels = _channels(inputs, data_format, 'conv2d %s' % sc.name)
    if in_channels % groups or num_outputs % groups:
      raise ValueError(
          'conv2d %s: groups=%d must divide both the input channels (%d) and '
          'num_outputs (%d)' % (sc.name, groups, in_channels, num_outputs))
    dtype = inputs.dtype.base_dtype
    weights = _model_variable(
        'weights', [kernel_h, kernel_w, in_channels // groups, num_outputs],
        dtype, weights_initializer, weights_regularizer, trainable,
        variables_collections, 'weights', loss_name='kernel')
    if data_format == _NCHW:
      strides, dilations = [1, 1, stride_h, stride_w], [1, 1, rate_h, rate_w]
    else:
      strides, dilations = [1, stride_h, stride_w, 1], [1, rate_h, rate_w, 1]
    outputs = _grouped.grouped_conv2d(inputs, weights, groups, strides,
                                      padding, data_format, dilations)
    if normalizer_fn is None and biases_initializer is not None:
      biases = _model_variable(
          'biases', [num_outputs], dtype, biases_initializer,
          biases_regularizer, trainable, variables_collections, 'biases',
          loss_name='bias')
      outputs = tf.nn.bias_add(outputs, biases, data_format=data_format)
    if normalizer_fn is not None:
      if _is_slim_batch_norm(normalizer_fn):
        normalizer_fn = batch_norm
      outputs = normalizer_fn(outputs, **(normalizer_params or {}))
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            outputs)


def _pool(pool_fn, default_scope, layer, inputs, kernel_size, stride, padding,
          data_format, outputs_collections, scope):
  data_format = _data_format(data_format, layer)
  kernel_h, kernel_w = _pair(kernel_size, '%s kernel_size' % layer)
  stride_h, stride_w = _pair(stride, '%s stride' % layer)
  with tf.compat.v1.name_scope(scope, default_scope, [inputs]) as sc:
    inputs = _check_rank4(inputs, layer)
    if data_format == _NCHW:
      ksize, strides = [1, 1, kernel_h, kernel_w], [1, 1, stride_h, stride_w]
    else:
      ksize, strides = [1, kernel_h, kernel_w, 1], [1, stride_h, stride_w, 1]
    outputs = pool_fn(inputs, ksize, strides, padding, data_format=data_format)
    return slim_utils.collect_named_outputs(outputs_collections, sc.rstrip('/'),
                                            outputs)


@_answers_to(slim.max_pool2d)
def max_pool2d(inputs,
               kernel_size,
               stride=2,
               padding='VALID',
               data_format=_NHWC,
               outputs_collections=None,
               scope=None):
  """2-D max pooling as tf-slim's `max_pool2d` (name scope 'MaxPool2D')."""
  return _pool(tf.nn.max_pool2d, 'MaxPool2D', 'max_pool2d', inputs,
               kernel_size, stride, padding, data_format, outputs_collections,
               scope)


@_answers_to(slim.avg_pool2d)
def avg_pool2d(inputs,
               kernel_size,
               stride=2,
               padding='VALID',
               data_format=_NHWC,
               outputs_collections=None,
               scope=None):
  """2-D average pooling as tf-slim's `avg_pool2d` (name scope 'AvgPool2D')."""
  return _pool(tf.nn.avg_pool2d, 'AvgPool2D', 'avg_pool2d', inputs,
               kernel_size, stride, padding, data_format, outputs_collections,
               scope)


@_answers_to(slim.separable_conv2d)
def separable_conv2d(inputs,
                     num_outputs,
                     kernel_size,
                     depth_multiplier=1,
                     stride=1,
                     padding='SAME',
                     data_format=_NHWC,
                     rate=1,
                     activation_fn=tf.nn.relu,
                     normalizer_fn=None,
                     normalizer_params=None,
                     weights_initializer=slim_initializers.xavier_initializer(),
                     pointwise_initializer=None,
                     weights_regularizer=None,
                     biases_initializer=tf.compat.v1.zeros_initializer(),
                     biases_regularizer=None,
                     reuse=None,
                     variables_collections=None,
                     outputs_collections=None,
                     trainable=True,
                     scope=None):
  """Depthwise-separable 2-D convolution as tf-slim's `separable_conv2d`.

  Variables `depthwise_weights` [kh, kw, in_channels, depth_multiplier] and,
  when `num_outputs` is not None, `pointwise_weights`
  [1, 1, in_channels * depth_multiplier, num_outputs]; `biases` only without
  a normalizer. `num_outputs=None` gives the depthwise convolution alone.

  Args:
    inputs: rank-4 tensor with a known channel dimension.
    num_outputs: pointwise output channels, or None for depthwise only.
    kernel_size: int or [height, width] of the depthwise filter.
    depth_multiplier: depthwise outputs per input channel.
    stride: int or pair.
    padding: 'SAME' or 'VALID'.
    data_format: 'NHWC' or 'NCHW'.
    rate: atrous rate of the depthwise convolution.
    activation_fn, normalizer_fn, normalizer_params: as in `conv2d`.
    weights_initializer: for the depthwise (and by default pointwise) weights.
    pointwise_initializer: for the pointwise weights, default
      `weights_initializer`.
    weights_regularizer: applied to both weight tensors.
    biases_initializer, biases_regularizer: for `biases`.
    reuse, variables_collections, outputs_collections, trainable: as in
      `conv2d`.
    scope: variable scope, default 'SeparableConv2d'.

  Returns:
    The output tensor.
  """
  data_format = _data_format(data_format, 'separable_conv2d')
  kernel_h, kernel_w = _pair(kernel_size, 'separable_conv2d kernel_size')
  stride_h, stride_w = _pair(stride, 'separable_conv2d stride')
  rate_h, rate_w = _pair(rate, 'separable_conv2d rate')
  with tf.compat.v1.variable_scope(
      scope, 'SeparableConv2d', [inputs], reuse=reuse) as sc:
    inputs = _check_rank4(inputs, 'separable_conv2d %s' % sc.name)
    in_channels = _channels(inputs, data_format,
                            'separable_conv2d %s' % sc.name)
    dtype = inputs.dtype.base_dtype
    # With a pointwise conv tf-slim builds a Keras layer (losses named after
    # its Keras weights); without one, plain variables (slim names).
    keras_names = num_outputs is not None
    depthwise_weights = _model_variable(
        'depthwise_weights', [kernel_h, kernel_w, in_channels,
                              depth_multiplier], dtype, weights_initializer,
        weights_regularizer, trainable, variables_collections, 'weights',
        loss_name='depthwise_kernel' if keras_names else None)
    if data_format == _NCHW:
      strides = [1, 1, stride_h, stride_w]
    else:
      strides = [1, stride_h, stride_w, 1]
    if num_outputs is not None:
      pointwise_weights = _model_variable(
          'pointwise_weights', [1, 1, in_channels * depth_multiplier,
                                num_outputs], dtype,
          pointwise_initializer or weights_initializer, weights_regularizer,
          trainable, variables_collections, 'weights',
          loss_name='pointwise_kernel')
      outputs = tf.nn.separable_conv2d(
          inputs, depthwise_weights, pointwise_weights, strides, padding,
          data_format=data_format, dilations=[rate_h, rate_w])
    else:
      num_outputs = in_channels * depth_multiplier
      outputs = tf.nn.depthwise_conv2d(
          inputs, depthwise_weights, strides, padding,
          data_format=data_format, dilations=[rate_h, rate_w])
    if normalizer_fn is None and biases_initializer is not None:
      biases = _model_variable(
          'biases', [num_outputs], dtype, biases_initializer,
          biases_regularizer, trainable, variables_collections, 'biases',
          loss_name='bias' if keras_names else None)
      outputs = tf.nn.bias_add(outputs, biases, data_format=data_format)
    if normalizer_fn is not None:
      if _is_slim_batch_norm(normalizer_fn):
        normalizer_fn = batch_norm
      outputs = normalizer_fn(outputs, **(normalizer_params or {}))
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            outputs)


@_answers_to(slim.dropout)
def dropout(inputs,
            keep_prob=0.5,
            noise_shape=None,
            is_training=True,
            outputs_collections=None,
            scope=None,
            seed=None):
  """Dropout as tf-slim's `dropout`: scaled by 1 / keep_prob, training only.

  Args:
    inputs: the tensor to drop from.
    keep_prob: probability of keeping each element.
    noise_shape: shape of the keep/drop mask (broadcast to `inputs`).
    is_training: Python bool or scalar bool tensor; identity when False.
    outputs_collections: collections the output is added to.
    scope: variable scope, default 'Dropout'.
    seed: op-level random seed.

  Returns:
    A tensor shaped like `inputs`.
  """
  with tf.compat.v1.variable_scope(scope, 'Dropout', [inputs]) as sc:
    check_is_training(is_training, 'dropout %s: is_training' % sc.name)
    inputs = tf.convert_to_tensor(inputs)
    outputs = _smart_cond(
        is_training,
        lambda: tf.nn.dropout(inputs, rate=1.0 - keep_prob,
                              noise_shape=noise_shape, seed=seed),
        lambda: tf.identity(inputs))
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            outputs)


@_answers_to(slim.fully_connected)
def fully_connected(inputs,
                    num_outputs,
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
  """A dense layer with tf-slim's `fully_connected` variables and semantics.

  Variables `weights` ([in_features, num_outputs]) and, only without a
  normalizer, `biases`; inputs of rank above 2 are multiplied along their
  last axis, as tf-slim does.

  Args:
    inputs: a tensor of rank 2 or more with a known last dimension.
    num_outputs: number of output units.
    activation_fn: applied last; None for linear.
    normalizer_fn: e.g. `batch_norm`; replaces the biases.
    normalizer_params: keyword arguments for `normalizer_fn`.
    weights_initializer, weights_regularizer: for `weights`.
    biases_initializer, biases_regularizer: for `biases` (None: no biases).
    reuse: reuse the variables of `scope`.
    variables_collections: extra collections (list, or dict keyed by
      'weights' / 'biases').
    outputs_collections: collections the output is added to.
    trainable: put the variables in TRAINABLE_VARIABLES.
    scope: variable scope, default 'fully_connected'.

  Returns:
    The output tensor, shaped like `inputs` with num_outputs last.
  """
  _check_num_outputs(num_outputs, 'fully_connected', scope)
  with tf.compat.v1.variable_scope(
      scope, 'fully_connected', [inputs], reuse=reuse) as sc:
    layer = 'fully_connected %s' % sc.name
    inputs = tf.convert_to_tensor(inputs)
    if inputs.shape.rank is None or inputs.shape.rank < 2:
      raise ValueError('%s: inputs must have rank 2 or more, got %s' %
                       (layer, _describe(inputs)))
    in_features = inputs.shape.dims[-1].value
    if in_features is None:
      raise ValueError('%s: inputs %s have an unknown last dimension; it must '
                       'be known to create the weights' %
                       (layer, _describe(inputs)))
    dtype = inputs.dtype.base_dtype
    weights = _model_variable(
        'weights', [in_features, num_outputs], dtype, weights_initializer,
        weights_regularizer, trainable, variables_collections, 'weights',
        loss_name='kernel')
    if inputs.shape.rank == 2:
      outputs = tf.linalg.matmul(inputs, weights)
    else:
      outputs = tf.tensordot(inputs, weights, [[inputs.shape.rank - 1], [0]])
    if normalizer_fn is None and biases_initializer is not None:
      biases = _model_variable(
          'biases', [num_outputs], dtype, biases_initializer,
          biases_regularizer, trainable, variables_collections, 'biases',
          loss_name='bias')
      outputs = tf.nn.bias_add(outputs, biases)
    if normalizer_fn is not None:
      if _is_slim_batch_norm(normalizer_fn):
        normalizer_fn = batch_norm
      outputs = normalizer_fn(outputs, **(normalizer_params or {}))
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            outputs)


@_answers_to(slim.flatten)
def flatten(inputs, outputs_collections=None, scope=None):
  """Flattens `inputs` to [batch, features], keeping the batch axis.

  Args:
    inputs: a tensor of rank 2 or more, [batch, ...].
    outputs_collections: collections the output is added to.
    scope: name scope, default 'Flatten'.

  Returns:
    A rank-2 tensor [batch, product of the other dimensions].
  """
  with tf.compat.v1.name_scope(scope, 'Flatten', [inputs]) as sc:
    inputs = tf.convert_to_tensor(inputs)
    if inputs.shape.rank is None or inputs.shape.rank < 2:
      raise ValueError('flatten: inputs must have rank 2 or more, got %s' %
                       _describe(inputs))
    features = inputs.shape[1:].num_elements()
    if features is None:
      shape = tf.stack([tf.shape(inputs)[0], -1])
    else:
      shape = [-1, features]
    outputs = tf.reshape(inputs, shape)
    return slim_utils.collect_named_outputs(outputs_collections, sc, outputs)


@_answers_to(slim.group_norm)
def group_norm(inputs,
               groups=32,
               channels_axis=-1,
               reduction_axes=(-3, -2),
               center=True,
               scale=True,
               epsilon=1e-6,
               activation_fn=None,
               param_initializers=None,
               reuse=None,
               variables_collections=None,
               outputs_collections=None,
               trainable=True,
               scope=None,
               mean_close_to_zero=False):
  """Group normalization (Wu and He, arXiv:1803.08494) as tf-slim's.

  The channels are split into `groups` groups of consecutive channels; each
  group is normalized by its mean and variance over `reduction_axes` and its
  own channels, then scaled by `gamma` and offset by `beta` per channel.
  Variables `GroupNorm/beta` and `GroupNorm/gamma` (no moving statistics:
  training and inference compute the same thing).

  Args:
    inputs: a tensor of rank 2 or more with a known channel dimension.
    groups: number of groups; must divide the channels.
    channels_axis: the channel axis (negative counts from the end).
    reduction_axes: the other axes the statistics are taken over, e.g.
      (-3, -2) for NHWC, (-2, -1) for NCHW.
    center: add the `beta` offset.
    scale: multiply by `gamma`.
    epsilon: added to the variance.
    activation_fn: applied to the output, or None.
    param_initializers: optional dict of initializers for `beta`, `gamma`.
    reuse: reuse the variables of `scope`.
    variables_collections: extra collections (a list, or a dict keyed by
      variable name).
    outputs_collections: collections the output is added to.
    trainable: put the variables in TRAINABLE_VARIABLES.
    scope: variable scope, default 'GroupNorm'.
    mean_close_to_zero: compute the variance from sufficient statistics (one
      pass), more accurate when the mean is close to zero.

  Returns:
    The normalized tensor, same shape as `inputs`.

  Raises:
    ValueError: for an unknown rank or channel dimension, axes out of range
      or overlapping the channel axis, or groups not dividing the channels.
  """
  inputs = tf.convert_to_tensor(inputs)
  rank = inputs.shape.rank
  if rank is None or rank < 2:
    raise ValueError('group_norm: inputs must have rank 2 or more, got %s' %
                     _describe(inputs))
  channel_axis = channels_axis % rank if -rank <= channels_axis < rank else None
  axes = [a % rank for a in reduction_axes if -rank <= a < rank]
  if channel_axis is None or len(axes) != len(reduction_axes):
    raise ValueError('group_norm: channels_axis %r or reduction_axes %r out of '
                     'range for %s' % (channels_axis, reduction_axes,
                                       _describe(inputs)))
  if channel_axis in axes:
    raise ValueError('group_norm: reduction_axes %r must not contain the '
                     'channels_axis %r' % (reduction_axes, channels_axis))
  channels = inputs.shape.dims[channel_axis].value
  if channels is None:
    raise ValueError('group_norm: inputs %s have an unknown channel dimension'
                     % _describe(inputs))
  if groups < 1 or channels % groups:
    raise ValueError('group_norm: groups=%d must divide the %d channels of %s'
                     % (groups, channels, _describe(inputs)))
  dynamic = tf.shape(inputs)
  dims = [d if d is not None else dynamic[i]
          for i, d in enumerate(inputs.shape.as_list())]
  # The channel axis becomes [groups, channels // groups]; axes after it
  # move one place.
  grouped_shape = (dims[:channel_axis] + [groups, channels // groups] +
                   dims[channel_axis + 1:])
  moments_axes = [channel_axis + 1] + [a + 1 if a > channel_axis else a
                                       for a in axes]
  params_shape = ([1] * channel_axis + [groups, channels // groups] +
                  [1] * (rank - channel_axis - 1))
  with tf.compat.v1.variable_scope(
      scope, 'GroupNorm', [inputs], reuse=reuse) as sc:
    param_initializers = param_initializers or {}
    dtype = inputs.dtype.base_dtype

    def param(name, default_initializer):
      variable = _model_variable(
          name, [channels], dtype,
          param_initializers.get(name, default_initializer), None, trainable,
          variables_collections, name)
      return tf.reshape(variable, params_shape)

    # beta before gamma: tf-slim's variable order.
    beta = param('beta', tf.compat.v1.zeros_initializer()) if center else None
    gamma = param('gamma', tf.compat.v1.ones_initializer()) if scale else None
    grouped = tf.reshape(inputs, grouped_shape)
    if mean_close_to_zero:
      counts, mean_ss, variance_ss, _ = tf.nn.sufficient_statistics(
          grouped, moments_axes, keepdims=True)
      mean, variance = tf.nn.normalize_moments(counts, mean_ss, variance_ss,
                                               shift=None)
    else:
      mean, variance = tf.nn.moments(grouped, moments_axes, keepdims=True)
    outputs = tf.nn.batch_normalization(grouped, mean, variance, beta, gamma,
                                        epsilon)
    outputs = tf.reshape(outputs, dynamic)
    outputs.set_shape(inputs.shape)
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            outputs)
