"""What the Inception networks share: their arg scope and one block builder.

[1] Christian Szegedy, Wei Liu, Yangqing Jia, Pierre Sermanet, Scott Reed,
    Dragomir Anguelov, Dumitru Erhan, Vincent Vanhoucke, Andrew Rabinovich.
    Going Deeper with Convolutions. arXiv:1409.4842
[2] Sergey Ioffe, Christian Szegedy. Batch Normalization: Accelerating Deep
    Network Training by Reducing Internal Covariate Shift. arXiv:1502.03167
[3] Christian Szegedy, Vincent Vanhoucke, Sergey Ioffe, Jonathon Shlens,
    Zbigniew Wojna. Rethinking the Inception Architecture for Computer
    Vision. arXiv:1512.00567

`inception_arg_scope` is TF-Slim's (`nets.inception_utils`): the same
arguments, defaults and layer settings. The rest describes a network as data
that one builder walks: a `Section` (a default padding and its entries), each
entry a layer (`Conv`, `SeparableConv`, `Pool`) or a `Mixed` block whose
branches are lists of layers built under `Branch_<i>` and concatenated along
the channels. `Fork` runs layers side by side on one input (Inception v3's
split 1x3 / 3x1 convolutions). Entry scopes are the end-point names
(`Conv2d_1a_7x7`, `Mixed_3b`, ...), so variables are named as in slim's
checkpoints, e.g. `InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/weights`.

Typical use:

   import tf_slim as slim
   from nets import inception_utils, inception_v3

   with slim.arg_scope(inception_utils.inception_arg_scope()):
     logits, end_points = inception_v3.inception_v3(images, 1001,
                                                    is_training=False)
"""

import collections
import math
import numbers

import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import initializers as slim_initializers
from tf_slim.layers import regularizers as slim_regularizers

from nets import _common
from nets import _layers


def inception_arg_scope(
    weight_decay=0.00004,
    use_batch_norm=True,
    batch_norm_decay=0.9997,
    batch_norm_epsilon=0.001,
    activation_fn=tf.nn.relu,
    batch_norm_updates_collections=tf.compat.v1.GraphKeys.UPDATE_OPS,
    batch_norm_scale=False):
  """The arg scope of the Inception networks, as TF-Slim's.

  Convolutions get an L2 regularizer, a variance-scaling (He) initializer,
  `activation_fn` and, with `use_batch_norm`, batch norm; fully connected
  layers get the regularizer only. Separable convolutions are left alone,
  as in slim (Inception v2's first layer keeps its biases).

  Args:
    weight_decay: L2 weight decay of conv and fully connected weights.
    use_batch_norm: put batch norm after each convolution.
    batch_norm_decay: moving-average decay of batch norm.
    batch_norm_epsilon: added to the variance in batch norm.
    activation_fn: activation after each convolution.
    batch_norm_updates_collections: collection for the batch norm updates.
    batch_norm_scale: give batch norm a `gamma` (slim's checkpoints have
      none).

  Returns:
    An arg_scope (a dict) for `slim.arg_scope(...)`, keyed like tf-slim's
    own `conv2d` and `fully_connected`.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'updates_collections': batch_norm_updates_collections,
      'fused': None,
      'scale': batch_norm_scale,
  }
  if use_batch_norm:
    normalizer_fn, normalizer_params = _layers.batch_norm, batch_norm_params
  else:
    normalizer_fn, normalizer_params = None, {}
  with slim.arg_scope(
      [_layers.conv2d, _layers.fully_connected],
      weights_regularizer=slim_regularizers.l2_regularizer(weight_decay)):
    with slim.arg_scope(
        [_layers.conv2d],
        weights_initializer=slim_initializers.variance_scaling_initializer(),
        activation_fn=activation_fn,
        normalizer_fn=normalizer_fn,
        normalizer_params=normalizer_params) as sc:
      return sc


# The architecture as data. `kernel` is [height, width]; `padding` None takes
# the section's; `stddev` None takes the arg scope's initializer, else a
# truncated normal of that deviation (slim's per-layer `trunc_normal`).
Conv = collections.namedtuple(
    'Conv', ['scope', 'depth', 'kernel', 'stride', 'padding', 'stddev'],
    defaults=(1, None, None))
# A depthwise-separable convolution whose depthwise multiplier is
# min(int(depth / 3), max_multiplier), slim's rule for 3-channel images.
SeparableConv = collections.namedtuple(
    'SeparableConv',
    ['scope', 'depth', 'kernel', 'stride', 'stddev', 'max_multiplier'])
Pool = collections.namedtuple(
    'Pool', ['scope', 'kind', 'kernel', 'stride', 'padding'],
    defaults=(1, None))
Fork = collections.namedtuple('Fork', ['layers'])
Mixed = collections.namedtuple('Mixed', ['scope', 'branches'])
Section = collections.namedtuple('Section', ['padding', 'entries'])

def _avg_pool_counting_padding(net, kernel, stride=1, padding='SAME',
                               scope=None, data_format=None):
  """An average over windows that count SAME's zero padding.

  torch's `avg_pool2d(padding=k // 2)` (count_include_pad) divides by the
  whole window at the borders, where TensorFlow's SAME pool divides by the
  pixels inside the image; the torch ports of Inception (torchvision's,
  timm's inception_v3) are built this way. Only stride 1 SAME pools, the
  Inception blocks' 3x3 ones, are used this way.
  """
  if padding != 'SAME' or stride != 1:
    raise ValueError("a pool counting its padding is stride 1 'SAME' only, "
                     'got stride %s and %r' % (stride, padding))
  pads = [[(k - 1) // 2, k // 2] for k in kernel]
  channels_first = (data_format or _common.scoped_data_format()) == 'NCHW'
  paddings = [[0, 0], [0, 0]] + pads if channels_first else (
      [[0, 0]] + pads + [[0, 0]])
  with tf.compat.v1.name_scope(scope, 'AvgPoolCountingPadding', [net]):
    net = tf.pad(net, paddings)
    return _layers.avg_pool2d(net, kernel, stride=1, padding='VALID')


# 'avg_counting_padding': see `_avg_pool_counting_padding`; no slim network
# uses it, the variants of checkpoints_tools do.
_POOLS = {'max': _layers.max_pool2d, 'avg': _layers.avg_pool2d,
          'avg_counting_padding': _avg_pool_counting_padding}


def trunc_normal(stddev):
  """slim's `trunc_normal`: a truncated normal initializer around zero."""
  return tf.compat.v1.truncated_normal_initializer(0.0, stddev)


def depth_fn(depth_multiplier, min_depth):
  """`depth(d) = max(int(d * depth_multiplier), min_depth)`, checked.

  Raises:
    TypeError / ValueError: naming depth_multiplier unless it is a number
      greater than zero.
  """
  if (isinstance(depth_multiplier, bool) or
      not isinstance(depth_multiplier, numbers.Real)):
    raise TypeError('depth_multiplier must be a number, got %r' %
                    (depth_multiplier,))
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier is not greater than zero. Got %r.' %
                     (depth_multiplier,))
  return lambda d: max(int(d * depth_multiplier), min_depth)


def end_point_names(sections):
  """The end points `sections` build, in order."""
  return [entry.scope for section in sections for entry in section.entries]


def check_final_endpoint(final_endpoint, sections, model_name):
  """Raises naming the valid end points unless `final_endpoint` is one."""
  names = end_point_names(sections)
  if final_endpoint not in names:
    raise ValueError('Unknown final endpoint %s; the end points of %s are, in '
                     'order: %s' % (final_endpoint, model_name,
                                    ', '.join(names)))


def build_sections(net, sections, final_endpoint, depth, end_points,
                   data_format='NHWC'):
  """Builds `sections` on `net` up to `final_endpoint`.

  Each section's layers run at stride 1 and its padding unless an entry says
  otherwise, as slim's per-stage arg scopes set them.

  Args:
    net: the input, rank 4 in `data_format`.
    sections: a list of `Section`s.
    final_endpoint: the last entry to build (an entry scope).
    depth: maps a spec depth to the built one (see `depth_fn`).
    end_points: dict the entries' outputs are added to, by scope.
    data_format: 'NHWC' or 'NCHW', the channel axis of the concatenations.

  Returns:
    The output of `final_endpoint`.
  """
  axis = 1 if data_format == 'NCHW' else 3
  for section in sections:
    with slim.arg_scope([_layers.conv2d, _layers.max_pool2d,
                         _layers.avg_pool2d],
                        stride=1, padding=section.padding):
      for entry in section.entries:
        net = _build(net, entry, depth, axis)
        end_points[entry.scope] = net
        if entry.scope == final_endpoint:
          return net
  return net


def _build(net, layer, depth, axis):
  """One spec entry on `net`; blocks recurse into their branches."""
  if isinstance(layer, Mixed):
    with tf.compat.v1.variable_scope(layer.scope):
      outputs = []
      for i, branch in enumerate(layer.branches):
        with tf.compat.v1.variable_scope('Branch_%d' % i):
          out = net
          for sub in branch:
            out = _build(out, sub, depth, axis)
        outputs.append(out)
      return tf.concat(axis=axis, values=outputs)
  if isinstance(layer, Fork):
    return tf.concat(axis=axis,
                     values=[_build(net, sub, depth, axis)
                             for sub in layer.layers])
  kwargs = {}
  if getattr(layer, 'padding', None):
    kwargs['padding'] = layer.padding
  if isinstance(layer, Pool):
    return _POOLS[layer.kind](net, layer.kernel, stride=layer.stride,
                              scope=layer.scope, **kwargs)
  if layer.stddev is not None:
    kwargs['weights_initializer'] = trunc_normal(layer.stddev)
  if isinstance(layer, SeparableConv):
    depth_out = depth(layer.depth)
    return _layers.separable_conv2d(
        net, depth_out, layer.kernel,
        depth_multiplier=min(int(depth_out / 3), layer.max_multiplier),
        stride=layer.stride, padding='SAME', scope=layer.scope, **kwargs)
  return _layers.conv2d(net, depth(layer.depth), layer.kernel,
                        stride=layer.stride, scope=layer.scope, **kwargs)


def _out_size(size, layer, padding, dim):
  """Output height (dim 0) or width (dim 1) of `layer` on `size`."""
  if isinstance(layer, Mixed):
    # Every branch ends at the same size.
    for sub in layer.branches[0]:
      size = _out_size(size, sub, padding, dim)
    return size
  if isinstance(layer, Fork):
    return _out_size(size, layer.layers[0], padding, dim)
  padding = getattr(layer, 'padding', None) or padding
  if isinstance(layer, SeparableConv):
    padding = 'SAME'
  if padding == 'SAME':
    return int(math.ceil(size / layer.stride))
  return (size - layer.kernel[dim]) // layer.stride + 1


def spatial_sizes(sections, size, dim, final_endpoint):
  """End point -> its height (dim 0) or width (dim 1) for inputs of `size`."""
  sizes = collections.OrderedDict()
  for section in sections:
    for entry in section.entries:
      size = _out_size(size, entry, section.padding, dim)
      sizes[entry.scope] = size
      if entry.scope == final_endpoint:
        return sizes
  return sizes


def _fits(sections, height, width, final_endpoint, needs):
  for dim, size in ((0, height), (1, width)):
    sizes = spatial_sizes(sections, size, dim, final_endpoint)
    if min(sizes.values()) < 1:
      return False
    if any(sizes.get(end_point, minimum) < minimum
           for end_point, minimum, _ in needs):
      return False
  return True


def min_input_size(sections, final_endpoint, needs=()):
  """The smallest square input size `sections` (and `needs`) take."""
  size = 1
  while not _fits(sections, size, size, final_endpoint, needs):
    size += 1
  return size


def check_input_size(inputs, sections, final_endpoint, model_name,
                     needs=(), data_format='NHWC'):
  """Raises in one line when `inputs` are too small for the network.

  Args:
    inputs: the network input, rank 4 in `data_format`.
    sections: the `Section`s to be built.
    final_endpoint: the last entry to be built.
    model_name: the network's name, for the message.
    needs: (end point, minimum size, what needs it) for heads with fixed
      windows, e.g. ('Mixed_6e', 5, "AuxLogits' 5x5 pool"); '{plain}' in
      the text becomes the smallest size without the needs.
    data_format: the layout of `inputs`.

  Returns:
    `inputs` as a tensor.

  Raises:
    ValueError: naming the inputs, their size and the smallest size that
      works, when a VALID layer or a head's window would not fit.
  """
  inputs = tf.convert_to_tensor(inputs)
  if inputs.shape.rank != 4:
    return inputs  # validate_inputs says what is wrong.
  axes = [2, 3] if data_format == 'NCHW' else [1, 2]
  height, width = (inputs.shape.dims[a].value for a in axes)
  if (height is None or width is None or
      _fits(sections, height, width, final_endpoint, needs)):
    return inputs
  needs = [need for need in needs
           if need[0] in spatial_sizes(sections, 1, 0, final_endpoint)]
  minimum = min_input_size(sections, final_endpoint, needs)
  plain = min_input_size(sections, final_endpoint)
  if minimum == plain:
    reason = 'its VALID convolutions and pools'
  else:
    reason = '; '.join(need[2].format(plain=plain) for need in needs)
  raise ValueError("%s needs images of at least %dx%d (%s), got inputs '%s' "
                   'of %dx%d' % (model_name, minimum, minimum, reason,
                                 inputs.name, height, width))


def reduced_kernel_size_for_small_input(input_tensor, kernel_size):
  """`kernel_size` capped by the input's height and width, when known.

  slim's Inception v2 and v3 heads pool with a fixed window that covers the
  whole map at the default image size; smaller images get a smaller window
  so that they still pool to 1x1. Unknown sizes leave `kernel_size` as it is.

  Args:
    input_tensor: a rank-4 tensor in the scoped data format.
    kernel_size: [kernel_height, kernel_width].

  Returns:
    [min(height, kernel_height), min(width, kernel_width)], or `kernel_size`.
  """
  shape = input_tensor.shape.as_list()
  height, width = (shape[a] for a in _common.spatial_axes())
  if height is None or width is None:
    return kernel_size
  return [min(height, kernel_size[0]), min(width, kernel_size[1])]


# How a network ends (names differ between the Inception versions).
# `pool_stride` / `pool_padding` None leave them to the avg_pool2d defaults
# and arg scope, as slim does; `pool_scope` is formatted with the kernel.
Head = collections.namedtuple('Head', [
    'kernel', 'reduce_kernel', 'pool_stride', 'pool_padding', 'pool_scope',
    'pool_end_point', 'global_pool_name', 'dropout_scope', 'prelogits',
    'logits_scope', 'predictions_in_logits_scope'
])


def logits_head(net, end_points, head, num_classes, global_pool,
                dropout_keep_prob, spatial_squeeze, prediction_fn):
  """Pools, then adds dropout, the 1x1 logits and the predictions.

  Args:
    net: the last feature map.
    end_points: the dict to extend ('global_pool' or the pool's end point,
      'PreLogits' where the version has it, 'Logits', 'Predictions').
    head: a `Head`.
    num_classes: logits size; 0 or None returns the pooled features.
    global_pool: average over the whole map instead of the fixed window.
    dropout_keep_prob: keep probability of the dropout before the logits.
    spatial_squeeze: squeeze [B, 1, 1, C] logits to [B, C].
    prediction_fn: `prediction_fn(logits, scope=...)` gives 'Predictions'.

  Returns:
    The logits, or the pooled features when num_classes is falsy.
  """
  axes = _common.spatial_axes()
  with tf.compat.v1.variable_scope('Logits'):
    if global_pool:
      net = tf.reduce_mean(net, axes, keepdims=True,
                           name=head.global_pool_name)
      end_points['global_pool'] = net
    else:
      kernel = head.kernel
      if head.reduce_kernel:
        kernel = reduced_kernel_size_for_small_input(net, kernel)
      kwargs = {}
      if head.pool_stride is not None:
        kwargs['stride'] = head.pool_stride
      if head.pool_padding is not None:
        kwargs['padding'] = head.pool_padding
      net = _layers.avg_pool2d(net, kernel,
                               scope=head.pool_scope.format(*kernel), **kwargs)
      end_points[head.pool_end_point] = net
    if not num_classes:
      return net
    net = _layers.dropout(net, keep_prob=dropout_keep_prob,
                          scope=head.dropout_scope)
    if head.prelogits:
      end_points['PreLogits'] = net
    logits = _layers.conv2d(net, num_classes, [1, 1], activation_fn=None,
                            normalizer_fn=None, scope=head.logits_scope)
    if spatial_squeeze:
      logits = tf.squeeze(logits, axes, name='SpatialSqueeze')
    if head.predictions_in_logits_scope:
      end_points['Logits'] = logits
      end_points['Predictions'] = _predict(prediction_fn, logits)
      return logits
  end_points['Logits'] = logits
  end_points['Predictions'] = _predict(prediction_fn, logits)
  return logits


def _predict(prediction_fn, logits):
  # slim.softmax takes the last axis; unsqueezed NCHW logits keep their
  # classes on axis 1.
  if (prediction_fn is slim.softmax and logits.shape.rank == 4 and
      _common.scoped_data_format() == 'NCHW'):
    with tf.compat.v1.name_scope('Predictions'):
      return tf.nn.softmax(logits, axis=1)
  return prediction_fn(logits, scope='Predictions')
