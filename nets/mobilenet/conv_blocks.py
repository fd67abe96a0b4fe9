"""The building blocks of MobileNet V1/V2/V3, as research/slim's `conv_blocks`.

[1] Andrew G. Howard, Menglong Zhu, Bo Chen, Dmitry Kalenichenko, Weijun
    Wang, Tobias Weyand, Marco Andreetto, Hartwig Adam. MobileNets: Efficient
    Convolutional Neural Networks for Mobile Vision Applications.
    arXiv:1704.04861
[2] Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, Liang-Chieh
    Chen. MobileNetV2: Inverted Residuals and Linear Bottlenecks.
    arXiv:1801.04381
[3] Andrew Howard, Mark Sandler, Grace Chu, Liang-Chieh Chen, Bo Chen,
    Mingxing Tan, Weijun Wang, Yukun Zhu, Ruoming Pang, Vijay Vasudevan,
    Quoc V. Le, Hartwig Adam. Searching for MobileNetV3. arXiv:1905.02244

`expanded_conv` is the inverted residual block of [2] (1x1 `expand`, k x k
`depthwise`, linear 1x1 `project`, identity shortcut), which [3] extends with
`squeeze_excite` (as its `expansion_transform`) and other activations. The
variable names are the checkpoints' (`<block>/expand/weights`,
`<block>/depthwise/depthwise_weights`, `<block>/squeeze_excite/Conv/...`,
`<block>/project/BatchNorm/...`). Every block is arg-scoped; the networks
set their defaults through `nets.mobilenet.mobilenet`'s op definitions.

Typical use:

   from nets import slim
   from nets.mobilenet import conv_blocks

   with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                       normalizer_fn=slim.batch_norm,
                       activation_fn=tf.nn.relu6):
     net = conv_blocks.expanded_conv(images, num_outputs=24, stride=2)
"""

import contextlib
import functools

import tensorflow as tf
import tf_slim as slim

from nets import _layers


def _kernel_pair(kernel_size):
  if isinstance(kernel_size, int):
    return kernel_size, kernel_size
  return tuple(kernel_size)


def _fixed_padding(inputs, kernel_size, rate=1):
  """Zero-pads height and width so that a VALID conv equals a SAME one.

  The padding does not depend on the input size: `k_eff - 1` in total per
  dimension, `k_eff = k + (k - 1) * (rate - 1)`, the smaller half before.

  Args:
    inputs: a tensor [batch, height, width, channels].
    kernel_size: int or [kernel_height, kernel_width].
    rate: atrous rate.

  Returns:
    The padded tensor (unchanged values for a 1x1 kernel).
  """
  paddings = [[0, 0]]
  for k in _kernel_pair(kernel_size):
    total = k + (k - 1) * (rate - 1) - 1
    paddings.append([total // 2, total - total // 2])
  paddings.append([0, 0])
  return tf.pad(inputs, paddings)


def _make_divisible(v, divisor, min_value=None):
  """`v` rounded to the nearest multiple of `divisor`.

  At least `min_value` (default `divisor`), and bumped up by one `divisor`
  when rounding would lose more than 10% of `v`.
  """
  lowest = divisor if min_value is None else min_value
  rounded = max(lowest, int(v + divisor / 2) // divisor * divisor)
  if rounded < 0.9 * v:
    rounded += divisor
  return int(rounded)


def _split_divisible(num, num_ways, divisible_by=8):
  """Splits `num` into `num_ways` multiples of `divisible_by`, as evenly as
  possible (the later parts take the remainder)."""
  assert num % divisible_by == 0
  assert num / num_ways >= divisible_by
  base = num // num_ways // divisible_by * divisible_by
  parts = []
  total = 0
  for i in range(num_ways):
    part = base
    # Grow this part until the running total reaches its even share.
    while total + part < num * (i + 1) / num_ways:
      part += divisible_by
    parts.append(part)
    total += part
  assert total == num
  return parts


@contextlib.contextmanager
def _v1_compatible_scope_naming(scope):
  """Yields the prefix of the depthwise / pointwise scopes.

  Without a scope, a fresh 'separable', 'separable_1', ... scope holds them;
  with one, they are named `<scope>_depthwise` and `<scope>_pointwise`, the
  names of MobileNet V1 checkpoints.
  """
  if scope is not None:
    yield scope + '_'
    return
  with tf.compat.v1.variable_scope(None, default_name='separable') as s, \
      tf.compat.v1.name_scope(s.original_name_scope):
    yield ''


@slim.add_arg_scope
def split_separable_conv2d(input_tensor,
                           num_outputs,
                           scope=None,
                           normalizer_fn=None,
                           stride=1,
                           rate=1,
                           endpoints=None,
                           use_explicit_padding=False):
  """MobileNet V1's separable convolution [1]: 3x3 depthwise, then 1x1.

  Unlike `slim.separable_conv2d`, the depthwise convolution has its own
  normalizer and activation.

  Args:
    input_tensor: the input tensor.
    num_outputs: channels of the pointwise convolution.
    scope: None for fresh 'separable' scopes, else the prefix of
      `<scope>_depthwise` and `<scope>_pointwise`.
    normalizer_fn: normalizer of both convolutions.
    stride: stride of the depthwise convolution.
    rate: atrous rate of the depthwise convolution.
    endpoints: optional dict that receives both outputs by scope name.
    use_explicit_padding: pad explicitly and convolve VALID (same sizes as
      SAME).

  Returns:
    The pointwise output.
  """
  with _v1_compatible_scope_naming(scope) as prefix:
    endpoints = {} if endpoints is None else endpoints
    kernel_size = [3, 3]
    padding = 'SAME'
    if use_explicit_padding:
      input_tensor = _fixed_padding(input_tensor, kernel_size, rate)
      padding = 'VALID'
    net = _layers.separable_conv2d(
        input_tensor, None, kernel_size, depth_multiplier=1, stride=stride,
        rate=rate, normalizer_fn=normalizer_fn, padding=padding,
        scope=prefix + 'depthwise')
    endpoints[prefix + 'depthwise'] = net
    net = _layers.conv2d(net, num_outputs, [1, 1], stride=1,
                         normalizer_fn=normalizer_fn,
                         scope=prefix + 'pointwise')
    endpoints[prefix + 'pointwise'] = net
  return net


class _ExpandByFactor:
  """`num_inputs * factor` channels, made divisible by `divisible_by`."""

  def __init__(self, factor, divisible_by):
    self.factor = factor
    self.divisible_by = divisible_by

  def __call__(self, num_inputs, **unused_kwargs):
    return _make_divisible(num_inputs * self.factor, self.divisible_by)

  def __repr__(self):
    return 'expand_input_by_factor(%r, divisible_by=%r)' % (self.factor,
                                                            self.divisible_by)


def expand_input_by_factor(n, divisible_by=8):
  """An `expansion_size` for `expanded_conv`: `n` times the input channels.

  Args:
    n: the expansion factor.
    divisible_by: the expansion is rounded to a multiple of this.

  Returns:
    A callable `(num_inputs, **kwargs) -> channels`.
  """
  return _ExpandByFactor(n, divisible_by)


def split_conv(input_tensor,
               num_outputs,
               num_ways,
               scope,
               divisible_by=8,
               **kwargs):
  """A 1x1 convolution split into `num_ways` independent groups.

  Input and output channels are split alike (`_split_divisible`), part i of
  the input feeding only part i of the output (`<scope>_part_<i>`). With
  `num_ways` 1, or parts thinner than `divisible_by`, it is one plain 1x1
  convolution named `scope`.

  Args:
    input_tensor: the input tensor [batch, height, width, channels].
    num_outputs: output channels.
    num_ways: number of groups.
    scope: the convolution's scope (prefix of the parts' scopes).
    divisible_by: every part's width is a multiple of this.
    **kwargs: passed to every `conv2d`.

  Returns:
    The output tensor.
  """
  in_channels = input_tensor.get_shape().as_list()[3]
  if num_ways == 1 or min(in_channels // num_ways,
                          num_outputs // num_ways) < divisible_by:
    return _layers.conv2d(input_tensor, num_outputs, [1, 1], scope=scope,
                          **kwargs)
  input_parts = tf.split(
      input_tensor, _split_divisible(in_channels, num_ways, divisible_by),
      axis=3, name='split_' + scope)
  output_sizes = _split_divisible(num_outputs, num_ways, divisible_by)
  outputs = []
  part_scope = scope
  for i, (part, size) in enumerate(zip(input_parts, output_sizes)):
    part_scope = '%s_part_%d' % (scope, i)
    out = _layers.conv2d(part, size, [1, 1], scope=part_scope, **kwargs)
    outputs.append(tf.identity(out, part_scope + '_output'))
  return tf.concat(outputs, 3, name=part_scope + '_concat')


_DEPTHWISE_LOCATIONS = (None, 'input', 'output', 'expansion')


def _record(endpoints, key, net):
  """Names `net` '<key>' in the graph and in `endpoints` (when given)."""
  net = tf.identity(net, name=key)
  if endpoints is not None:
    endpoints[key] = net
  return net


@slim.add_arg_scope
def expanded_conv(input_tensor,
                  num_outputs,
                  expansion_size=expand_input_by_factor(6),
                  stride=1,
                  rate=1,
                  kernel_size=(3, 3),
                  residual=True,
                  normalizer_fn=None,
                  split_projection=1,
                  split_expansion=1,
                  split_divisible_by=8,
                  expansion_transform=None,
                  depthwise_location='expansion',
                  depthwise_channel_multiplier=1,
                  endpoints=None,
                  use_explicit_padding=False,
                  padding='SAME',
                  inner_activation_fn=None,
                  depthwise_activation_fn=None,
                  project_activation_fn=tf.identity,
                  depthwise_fn=_layers.separable_conv2d,
                  expansion_fn=split_conv,
                  projection_fn=split_conv,
                  scope=None):
  """The inverted residual block of [2]: expand, depthwise, project.

  `expand` (1x1, only when the expansion is wider than the input), the k x k
  `depthwise` convolution (where `depthwise_location` says), the optional
  `expansion_transform` (V3's squeeze-excite), the linear 1x1 `project`, then
  the input added back when `residual`, the stride is 1 and the depth is
  unchanged. Graph tensors `<scope>/expansion_output`,
  `<scope>/depthwise_output` and `<scope>/output` are the blocks' extra end
  points.

  Args:
    input_tensor: the input tensor [batch, height, width, channels].
    num_outputs: output channels.
    expansion_size: channels of the expansion, an int or a callable given
      `num_inputs=` (see `expand_input_by_factor`).
    stride: stride of the depthwise convolution.
    rate: atrous rate of the depthwise convolution.
    kernel_size: kernel of the depthwise convolution.
    residual: add the input to the output when shapes allow; or a callable
      `(input_tensor=, output_tensor=) -> output`.
    normalizer_fn: normalizer of all convolutions (e.g. batch_norm).
    split_projection: groups of the projection (`split_conv`).
    split_expansion: groups of the expansion (`split_conv`).
    split_divisible_by: every group's width is a multiple of this.
    expansion_transform: optional `(expansion_tensor=, input_tensor=) ->
      tensor` applied after the depthwise convolution.
    depthwise_location: 'expansion' (default), 'input', 'output' or None.
    depthwise_channel_multiplier: depthwise outputs per input channel.
    endpoints: optional dict that receives 'expansion_output',
      'depthwise_output' and 'projection_output'.
    use_explicit_padding: pad explicitly and run the depthwise convolution
      VALID (needs `padding` 'SAME').
    padding: padding of the depthwise convolution.
    inner_activation_fn: activation of the expansion and depthwise
      convolutions; None keeps the arg scope's.
    depthwise_activation_fn: activation of the depthwise convolution alone
      (takes precedence over `inner_activation_fn`).
    project_activation_fn: activation of the projection (linear by default).
    depthwise_fn: the depthwise convolution function.
    expansion_fn: the expansion function; a custom one ignores
      `split_expansion` and `split_divisible_by`.
    projection_fn: the projection function; a custom one ignores
      `split_projection` and `split_divisible_by`.
    scope: variable scope, default 'expanded_conv'.

  Returns:
    The block's output, `num_outputs` channels.

  Raises:
    TypeError: for an unknown `depthwise_location`, or explicit padding with
      a padding other than 'SAME'.
  """
  conv_args, depthwise_args = {}, {}
  if inner_activation_fn is not None:
    conv_args['activation_fn'] = inner_activation_fn
    depthwise_args['activation_fn'] = inner_activation_fn
  if depthwise_activation_fn is not None:
    depthwise_args['activation_fn'] = depthwise_activation_fn
  if depthwise_location not in _DEPTHWISE_LOCATIONS:
    raise TypeError('%r is unknown value for depthwise_location' %
                    (depthwise_location,))
  if use_explicit_padding:
    if padding != 'SAME':
      raise TypeError('`use_explicit_padding` should only be used with '
                      '"SAME" padding.')
    padding = 'VALID'
  with tf.compat.v1.variable_scope(
      scope, default_name='expanded_conv') as s, \
      tf.compat.v1.name_scope(s.original_name_scope), \
      slim.arg_scope([_layers.conv2d], **conv_args), \
      slim.arg_scope([_layers.separable_conv2d], **depthwise_args):
    in_channels = input_tensor.get_shape().as_list()[3]

    def depthwise(net, **kwargs):
      if use_explicit_padding:
        net = _fixed_padding(net, kernel_size, rate)
      net = depthwise_fn(
          net, num_outputs=None, kernel_size=kernel_size,
          depth_multiplier=depthwise_channel_multiplier, stride=stride,
          rate=rate, normalizer_fn=normalizer_fn, padding=padding,
          scope='depthwise', **kwargs)
      return _record(endpoints, 'depthwise_output', net)

    def one_by_one(fn, num_ways):
      if fn is split_conv:
        return functools.partial(split_conv, num_ways=num_ways,
                                 divisible_by=split_divisible_by, stride=1)
      return fn

    input_tensor = tf.identity(input_tensor, 'input')
    net = input_tensor
    if depthwise_location == 'input':
      net = depthwise(net, activation_fn=None)
    inner_size = (expansion_size(num_inputs=in_channels)
                  if callable(expansion_size) else expansion_size)
    if inner_size > net.shape[3]:
      net = one_by_one(expansion_fn, split_expansion)(
          net, inner_size, scope='expand', normalizer_fn=normalizer_fn)
      net = _record(endpoints, 'expansion_output', net)
    if depthwise_location == 'expansion':
      net = depthwise(net)
    if expansion_transform:
      net = expansion_transform(expansion_tensor=net, input_tensor=input_tensor)
    # The projection always runs: it sets the block's output depth.
    net = one_by_one(projection_fn, split_projection)(
        net, num_outputs, scope='project', normalizer_fn=normalizer_fn,
        activation_fn=project_activation_fn)
    if endpoints is not None:
      endpoints['projection_output'] = net
    if depthwise_location == 'output':
      net = depthwise(net, activation_fn=None)
    if callable(residual):
      net = residual(input_tensor=input_tensor, output_tensor=net)
    elif (residual and stride == 1 and
          net.get_shape().as_list()[3] == in_channels):
      # Stride 1 also keeps the sum away from unknown spatial sizes.
      net += input_tensor
    return tf.identity(net, name='output')


@slim.add_arg_scope
def squeeze_excite(input_tensor,
                   divisible_by=8,
                   squeeze_factor=3,
                   inner_activation_fn=tf.nn.relu,
                   gating_fn=tf.sigmoid,
                   squeeze_input_tensor=None,
                   pool=None):
  """Squeeze-and-excite gating of [3]: `input * gate(pool(input))`.

  The (squeeze) input is averaged over height and width (or average-pooled
  with a `pool` x `pool` window, its gate then resized back bilinearly), fed
  through a 1x1 conv `Conv` to `channels / squeeze_factor` (made divisible)
  channels and a 1x1 conv `Conv_1` back to the input's channels, both with
  biases; the result gates the input channel-wise. Scope 'squeeze_excite'.

  Args:
    input_tensor: the tensor to gate.
    divisible_by: the squeezed width is a multiple of this.
    squeeze_factor: the ratio of input to squeezed channels.
    inner_activation_fn: activation of the squeeze convolution.
    gating_fn: activation of the excite convolution (the gate).
    squeeze_input_tensor: optional tensor the gate is computed from instead
      of `input_tensor`.
    pool: optional pooling window (and stride) for a spatial gate.

  Returns:
    The gated `input_tensor`.
  """
  with tf.compat.v1.variable_scope('squeeze_excite'):
    source = input_tensor if squeeze_input_tensor is None else (
        squeeze_input_tensor)
    source_shape = source.shape.as_list()
    squeeze_channels = _make_divisible(source_shape[3] / squeeze_factor,
                                       divisor=divisible_by)
    if pool is None:
      pooled = tf.reduce_mean(source, axis=[1, 2], keepdims=True)
    else:
      window, stride = source_shape[1:3], 1
      if window[0] >= pool:
        window, stride = [pool, pool], pool
      pooled = tf.nn.avg_pool2d(source, [1] + window + [1],
                                strides=[1, stride, stride, 1],
                                padding='VALID')
    squeeze = _layers.conv2d(pooled, squeeze_channels, [1, 1],
                             normalizer_fn=None,
                             activation_fn=inner_activation_fn)
    gate = _layers.conv2d(squeeze, input_tensor.shape.as_list()[3], [1, 1],
                          normalizer_fn=None, activation_fn=gating_fn)
    if pool is not None:
      # Bilinear with align_corners, the resize TPUs have gradients for.
      gate = tf.compat.v1.image.resize_images(
          gate, input_tensor.shape.as_list()[1:3], align_corners=True)
    return input_tensor * gate
