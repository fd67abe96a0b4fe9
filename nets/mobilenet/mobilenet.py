"""The MobileNet builder, drop-in for research/slim's mobilenet/mobilenet.py.

[1] Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, Liang-Chieh
    Chen. MobileNetV2: Inverted Residuals and Linear Bottlenecks.
    arXiv:1801.04381
[2] Andrew Howard, Mark Sandler, Grace Chu, Liang-Chieh Chen, Bo Chen,
    Mingxing Tan, Weijun Wang, Yukun Zhu, Ruoming Pang, Vijay Vasudevan,
    Quoc V. Le, Hartwig Adam. Searching for MobileNetV3. arXiv:1905.02244

A network is data: a dict `conv_defs` with
  'spec': a list of `op(layer_fn, **params)`, one per layer, built in order
    as end points 'layer_1', 'layer_2', ...;
  'defaults' / 'overrides' (optional): {tuple of functions: kwargs}, arg
    scopes set around the whole network (overrides last).
`mobilenet_base` walks the list, scaling each layer's `num_outputs` by the
depth multiplier (through the op's `multiplier_func`, by default
`depth_multiplier`) and turning strides into atrous rates once
`output_stride` is reached; `mobilenet` adds the pooled classification head
(`Logits/Conv2d_1c_1x1`, end points 'global_pool', 'Logits',
'Predictions'). Variable names are those of the published checkpoints.

Typical use:

   from nets import slim
   from nets.mobilenet import mobilenet, mobilenet_v2

   # Inference (the default mode):
   logits, end_points = mobilenet.mobilenet(images, num_classes=1001,
                                            conv_defs=mobilenet_v2.V2_DEF,
                                            scope='MobilenetV2')

   # Training:
   with slim.arg_scope(mobilenet.training_scope(weight_decay=4e-5)):
     logits, end_points = mobilenet_v2.mobilenet(images)
"""

import collections
import contextlib
import copy
import numbers
import os

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers

# The blocks' padding and rounding rules; the builder uses the same ones.
from nets.mobilenet.conv_blocks import _fixed_padding
from nets.mobilenet.conv_blocks import _make_divisible


@slim.add_arg_scope
def apply_activation(x, name=None, activation_fn=None):
  """`activation_fn(x, name=name)`, or `x` itself when there is none."""
  if activation_fn is None:
    return x
  return activation_fn(x, name=name)


@contextlib.contextmanager
def _set_arg_scope_defaults(defaults):
  """Enters one arg scope per (functions, kwargs) item, in order.

  Args:
    defaults: a dict {function or tuple of functions: kwargs}, or a list of
      such pairs.

  Yields:
    Nothing; the arg scopes are set inside.
  """
  items = defaults.items() if hasattr(defaults, 'items') else defaults
  with contextlib.ExitStack() as stack:
    for funcs, kwargs in items:
      stack.enter_context(slim.arg_scope(funcs, **kwargs))
    yield


@slim.add_arg_scope
def depth_multiplier(output_params,
                     multiplier,
                     divisible_by=8,
                     min_depth=8,
                     **unused_kwargs):
  """Scales `output_params['num_outputs']` in place by `multiplier`.

  The result is rounded to a multiple of `divisible_by` and is at least
  `min_depth`; params without 'num_outputs' (pooling) are left alone.
  Arg-scoped: `slim.arg_scope([depth_multiplier], min_depth=...)` sets the
  rounding for a whole network.
  """
  if 'num_outputs' in output_params:
    output_params['num_outputs'] = _make_divisible(
        output_params['num_outputs'] * multiplier, divisible_by, min_depth)


_Op = collections.namedtuple('Op', ['op', 'params', 'multiplier_func'])


def op(opfunc, multiplier_func=depth_multiplier, **params):
  """One layer of a `conv_defs['spec']` list.

  Args:
    opfunc: the layer function, called as `opfunc(net, **params)`.
    multiplier_func: `(params, multiplier)` scaling the params in place
      (default `depth_multiplier`); 'multiplier_transform' in `params` is its
      legacy name.
    **params: the layer's keyword arguments.

  Returns:
    An `Op(op, params, multiplier_func)` namedtuple.
  """
  multiplier = params.pop('multiplier_transform', multiplier_func)
  return _Op(opfunc, params=params, multiplier_func=multiplier)


class NoOpScope(object):
  """A context manager that does nothing."""

  def __enter__(self):
    return None

  def __exit__(self, exc_type, exc_value, traceback):
    return False


def safe_arg_scope(funcs, **kwargs):
  """`slim.arg_scope(funcs, **kwargs)` without the None-valued kwargs.

  A None value means "leave this argument as it is"; with no argument left,
  a `NoOpScope`.
  """
  given = {name: value for name, value in kwargs.items() if value is not None}
  if not given:
    return NoOpScope()
  return slim.arg_scope(funcs, **given)


def check_classifier_multiplier(depth_multiplier, kwargs):
  """The multiplier checks of mobilenet_v2's and mobilenet_v3's `mobilenet`.

  Raises:
    TypeError: `depth_multiplier` is not a number.
    ValueError: it is not above zero, or `kwargs` holds upstream's refused
      generic 'multiplier'.
  """
  if (isinstance(depth_multiplier, bool) or
      not isinstance(depth_multiplier, numbers.Real)):
    raise TypeError('depth_multiplier must be a number, got %r' %
                    (depth_multiplier,))
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier is not greater than zero. (got %r)' %
                     (depth_multiplier,))
  if 'multiplier' in kwargs:
    raise ValueError('mobilenetv2 doesn\'t support generic '
                     'multiplier parameter use "depth_multiplier" instead.')


def _layer_names(conv_defs):
  return ['layer_%d' % (i + 1) for i in range(len(conv_defs['spec']))]


def _check_base_args(conv_defs, multiplier, final_endpoint, output_stride):
  if (isinstance(multiplier, bool) or
      not isinstance(multiplier, numbers.Real)):
    raise TypeError('multiplier must be a number, got %r' % (multiplier,))
  if multiplier <= 0:
    raise ValueError('multiplier is not greater than zero. (got %r)' %
                     (multiplier,))
  if output_stride is not None and (output_stride == 0 or
                                    (output_stride > 1 and output_stride % 2)):
    raise ValueError('Output stride must be None, 1 or a multiple of 2. '
                     '(got %r)' % (output_stride,))
  names = _layer_names(conv_defs)
  if final_endpoint is not None and final_endpoint not in names:
    raise ValueError('Unknown final endpoint %r; valid ones: %s' %
                     (final_endpoint, ', '.join(names)))


def _is_1x1(kernel_size):
  if isinstance(kernel_size, int):
    return kernel_size == 1
  return tuple(kernel_size) == (1, 1)


def _explicit_padding_overrides(overrides):
  """`overrides` plus VALID padding for every convolution."""
  overrides = copy.deepcopy(overrides)
  overrides[(_layers.conv2d, _layers.separable_conv2d)] = {'padding': 'VALID'}
  return overrides


def _extra_end_points(graph, layer_of_scope):
  """'layer_N/<name>' for the graph's '*output' tensors of the layers' scopes
  (an expanded_conv's expansion_output, depthwise_output, output, ...)."""
  extra = {}
  for graph_op in graph.get_operations():
    layer = layer_of_scope.get(os.path.dirname(graph_op.name))
    if layer is not None and graph_op.name.endswith('output'):
      extra[layer + '/' + os.path.basename(graph_op.name)] = (
          graph_op.outputs[0])
  return extra


@contextlib.contextmanager
def _scope_all(scope, default_scope=None):
  """A variable scope whose ops also go to its original name scope."""
  with tf.compat.v1.variable_scope(scope, default_name=default_scope) as s, \
      tf.compat.v1.name_scope(s.original_name_scope):
    yield s


@slim.add_arg_scope
def mobilenet_base(  # pylint: disable=invalid-name
    inputs,
    conv_defs,
    multiplier=1.0,
    final_endpoint=None,
    output_stride=None,
    use_explicit_padding=False,
    scope=None,
    is_training=False):
  """The MobileNet layers of `conv_defs`, without pooling or logits.

  Inference mode by default; `training_scope()` sets training up (batch
  norm, dropout, initializers, weight decay).

  Args:
    inputs: a tensor [batch, height, width, channels].
    conv_defs: the network, a dict with 'spec' (list of `op(...)`) and
      optional 'defaults' / 'overrides' arg scopes.
    multiplier: depth multiplier (> 0) of every layer's `num_outputs`.
    final_endpoint: None, or the last layer to build, 'layer_1' to
      'layer_<len(spec)>'.
    output_stride: None, or the largest ratio of input to output size: 1 or
      an even number. Once reached, later layers run at stride 1 and an
      atrous rate multiplied by each skipped stride (1x1 kernels excepted).
    use_explicit_padding: pad inputs explicitly and convolve VALID, so that
      sizes are those of SAME padding whatever the input size.
    scope: variable scope (name or `VariableScope`), default 'Mobilenet'.
    is_training: batch norm mode; None leaves it to the caller's arg scope.

  Returns:
    net: the last layer's output.
    end_points: dict 'layer_1' ... 'layer_N', then 'layer_N/<name>' for the
      layers' '*output' tensors (e.g. 'layer_3/expansion_output',
      'layer_3/depthwise_output', 'layer_3/output').

  Raises:
    TypeError / ValueError: a multiplier that is not a positive number, an
      output_stride that is not None, 1 or even, or an unknown
      final_endpoint (the message lists the valid ones).
  """
  _check_base_args(conv_defs, multiplier, final_endpoint, output_stride)
  _common.require_nhwc('mobilenet')
  inputs = _common.validate_inputs(inputs)
  if is_training is not None:
    _common.validate_is_training(is_training)
  defaults = conv_defs.get('defaults', {})
  overrides = conv_defs.get('overrides', {})
  if use_explicit_padding:
    overrides = _explicit_padding_overrides(overrides)
  with _scope_all(scope, default_scope='Mobilenet'), \
      safe_arg_scope([_layers.batch_norm], is_training=is_training), \
      _set_arg_scope_defaults(defaults), \
      _set_arg_scope_defaults(overrides):
    net = inputs
    end_points = {}
    layer_of_scope = {}
    # Stride of `net` so far, and the atrous rate that replaces the strides
    # skipped once output_stride is reached.
    current_stride, rate = 1, 1
    for name, opdef in zip(_layer_names(conv_defs), conv_defs['spec']):
      params = dict(opdef.params)
      opdef.multiplier_func(params, multiplier)
      stride = params.get('stride', 1)
      if output_stride is not None and current_stride == output_stride:
        params['stride'], layer_rate = 1, rate
        rate *= stride
      else:
        params['stride'], layer_rate = stride, 1
        current_stride *= stride
      # A 3x3 default kernel (no 'kernel_size') is atrous too; 1x1 is not.
      if layer_rate > 1 and not _is_1x1(params.get('kernel_size', 3)):
        params['rate'] = layer_rate
      if use_explicit_padding:
        if 'kernel_size' in params:
          net = _fixed_padding(net, params['kernel_size'], layer_rate)
        else:
          params['use_explicit_padding'] = True
      net = opdef.op(net, **params)
      end_points[name] = net
      layer_of_scope[os.path.dirname(net.name)] = name
      if name == final_endpoint:
        break
    end_points.update(_extra_end_points(net.graph, layer_of_scope))
    return net, end_points


@slim.add_arg_scope
def mobilenet(inputs,
              num_classes=1001,
              prediction_fn=slim.softmax,
              reuse=None,
              scope='Mobilenet',
              base_only=False,
              use_reduce_mean_for_pooling=False,
              **mobilenet_args):
  """A MobileNet classifier: `mobilenet_base`, global pool, dropout, logits.

  Inference mode by default; build under `training_scope()` to train.

  Args:
    inputs: a float tensor [batch, height, width, channels].
    num_classes: logits size; 0 or None returns the pooled features
      [batch, 1, 1, C] (before dropout) instead.
    prediction_fn: turns logits into 'Predictions' (softmax), or None.
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope, default 'Mobilenet'.
    base_only: return `mobilenet_base`'s output, without pooling or logits.
    use_reduce_mean_for_pooling: global pool with `tf.reduce_mean` (op
      'ReduceMean') instead of an average pool.
    **mobilenet_args: passed to `mobilenet_base` (`conv_defs`, `multiplier`,
      `final_endpoint`, `output_stride`, `use_explicit_padding`,
      `is_training`).

  Returns:
    logits: [batch, num_classes] (or the features, see above).
    end_points: `mobilenet_base`'s, then 'global_pool', 'Logits',
      'Predictions'.

  Raises:
    ValueError / TypeError: bad inputs, num_classes, is_training or
      `mobilenet_base` arguments.
  """
  _common.require_nhwc('mobilenet')
  inputs = _common.validate_inputs(inputs)
  _common.validate_num_classes(num_classes)
  is_training = mobilenet_args.get('is_training', False)
  with tf.compat.v1.variable_scope(scope, 'Mobilenet', reuse=reuse) as sc:
    inputs = tf.identity(inputs, 'input')
    net, end_points = mobilenet_base(inputs, scope=sc, **mobilenet_args)
    if base_only:
      return net, end_points
    net = tf.identity(net, name='embedding')
    with tf.compat.v1.variable_scope('Logits'):
      net = global_pool(net, use_reduce_mean_for_pooling)
      end_points['global_pool'] = net
      if not num_classes:
        return net, end_points
      net = _layers.dropout(net, scope='Dropout', is_training=is_training)
      # 'Conv2d_1c_1x1' is the checkpoints' (MobileNet V1's) name.
      logits = _layers.conv2d(
          net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
          biases_initializer=tf.compat.v1.zeros_initializer(),
          scope='Conv2d_1c_1x1')
      logits = tf.squeeze(logits, [1, 2])
      logits = tf.identity(logits, name='output')
    end_points['Logits'] = logits
    if prediction_fn:
      end_points['Predictions'] = prediction_fn(logits, 'Predictions')
  return logits, end_points


def global_pool(input_tensor,
                use_reduce_mean_for_pooling=False,
                pool_op=tf.nn.avg_pool2d):
  """Averages `input_tensor` [batch, h, w, c] to [batch, 1, 1, c].

  An average pool over the whole image (well supported by mobile
  accelerators), or `tf.reduce_mean` (op 'ReduceMean') when asked or when
  the spatial size is only known at run time.

  Args:
    input_tensor: the tensor to pool.
    use_reduce_mean_for_pooling: pool with `tf.reduce_mean`.
    pool_op: the pooling op, `pool_op(x, ksize, strides, padding)`.

  Returns:
    A tensor [batch, 1, 1, channels].
  """
  if use_reduce_mean_for_pooling:
    return tf.reduce_mean(input_tensor, [1, 2], keepdims=True,
                          name='ReduceMean')
  height, width = input_tensor.get_shape().as_list()[1:3]
  if height is None or width is None:
    # A pooling window must be static; the mean is the same average.
    output = tf.reduce_mean(input_tensor, [1, 2], keepdims=True)
  else:
    output = pool_op(input_tensor, ksize=[1, height, width, 1],
                     strides=[1, 1, 1, 1], padding='VALID')
  output.set_shape([None, 1, 1, None])
  return output


def training_scope(is_training=True,
                   weight_decay=0.00004,
                   stddev=0.09,
                   dropout_keep_prob=0.8,
                   bn_decay=0.997):
  """The arg scope MobileNets are trained under.

  Convolutions get batch norm and a truncated-normal initializer; the
  regular (not the depthwise) ones an L2 weight decay. `mobilenet_base`,
  `mobilenet`, batch norm and dropout get `is_training`. Inference-changing
  choices (biases, activations) belong to the op definitions, not here.

  Usage:
     with slim.arg_scope(mobilenet.training_scope()):
       logits, endpoints = mobilenet_v2.mobilenet(input_tensor)

  Args:
    is_training: training mode; None leaves batch norm's `is_training` out
      of the scope.
    weight_decay: L2 regularization of the convolution weights.
    stddev: initializer standard deviation; negative for Xavier.
    dropout_keep_prob: dropout keep probability (None: not set).
    bn_decay: batch norm moving-average decay (None: not set).

  Returns:
    An arg scope dict for `slim.arg_scope`.
  """
  if stddev < 0:
    weights_initializer = slim.initializers.xavier_initializer()
  else:
    weights_initializer = tf.compat.v1.truncated_normal_initializer(
        stddev=stddev)
  convolutions = [_layers.conv2d, _layers.fully_connected,
                  _layers.separable_conv2d]
  with slim.arg_scope(convolutions, weights_initializer=weights_initializer,
                      normalizer_fn=_layers.batch_norm), \
      slim.arg_scope([mobilenet_base, mobilenet], is_training=is_training), \
      safe_arg_scope([_layers.batch_norm], decay=bn_decay,
                     is_training=is_training), \
      safe_arg_scope([_layers.dropout], is_training=is_training,
                     keep_prob=dropout_keep_prob), \
      slim.arg_scope([_layers.conv2d],
                     weights_regularizer=slim.l2_regularizer(weight_decay)), \
      slim.arg_scope([_layers.separable_conv2d],
                     weights_regularizer=None) as scope:
    return scope
