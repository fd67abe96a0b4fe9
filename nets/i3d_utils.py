"""Building blocks of the I3D and S3D-G video networks.

[1] Joao Carreira, Andrew Zisserman. Quo Vadis, Action Recognition? A New
    Model and the Kinetics Dataset. arXiv:1705.07750
[2] Saining Xie, Chen Sun, Jonathan Huang, Zhuowen Tu, Kevin Murphy.
    Rethinking Spatiotemporal Feature Learning: Speed-Accuracy Trade-offs in
    Video Classification. arXiv:1712.04851

Drop-in for research/slim's `nets.i3d_utils`: the 3-D Inception v1 block of
[1] (inflated GoogLeNet block) with the spatial/temporal separable
convolutions and optional feature gating of [2], built from
`nets._layers_3d`, with upstream's scopes (`Branch_1/Conv2d_0b_3x3/weights`,
`.../Conv2d_0b_3x3/temporal/weights`, ...), so upstream checkpoints restore.

Typical use:

   from nets import i3d_utils

   net = i3d_utils.inception_block_v1_3d(
       net, 64, 96, 128, 16, 32, 32, temporal_kernel_size=3,
       scope='Mixed_3b')
"""

import numpy as np
import tensorflow as tf
import tf_slim as slim

from nets import _layers_3d


def center_initializer():
  """Initializer of the temporal convolutions of a separable 3-D conv.

  Gives the identity in time: each output channel copies its input channel
  at the centre frame of the kernel, so at initialization the temporal
  convolution passes the spatial one through unchanged (which [2] needs for
  separable I3D models to converge).

  Returns:
    An initializer `fn(shape, dtype=tf.float32, partition_info=None)` for
    weights of shape [kT, 1, 1, C, C] with an odd kT.

  Raises (when called):
    ValueError: the dtype is not float32 or bfloat16, the shape is not 5-D,
      the input and output channels differ, the spatial kernel is not 1x1 or
      kT is even.
  """

  def _initializer(shape, dtype=tf.float32, partition_info=None):
    del partition_info  # The constant is built whole.
    dtype = tf.as_dtype(dtype)
    if dtype not in (tf.float32, tf.bfloat16):
      raise ValueError('center_initializer: the dtype must be float32 or '
                       'bfloat16, got %s' % dtype.name)
    shape = [int(d) for d in shape]
    if len(shape) != 5:
      raise ValueError('center_initializer: the weights must be 5-D '
                       '[kT, kH, kW, in, out], got shape %s' % shape)
    if shape[3] != shape[4]:
      raise ValueError('center_initializer: input and output channels must '
                       'be equal, got shape %s' % shape)
    if shape[1] != 1 or shape[2] != 1:
      raise ValueError('center_initializer: the spatial kernel must be 1x1 '
                       '(a pointwise temporal conv), got shape %s' % shape)
    if shape[0] % 2 == 0:
      raise ValueError('center_initializer: the temporal kernel size must be '
                       'odd, got shape %s' % shape)
    value = np.zeros(shape, np.float32)
    value[shape[0] // 2, 0, 0] = np.eye(shape[3], dtype=np.float32)
    return tf.constant(value, dtype=dtype)

  return _initializer


@slim.add_arg_scope
def conv3d_spatiotemporal(inputs,
                          num_outputs,
                          kernel_size,
                          stride=1,
                          padding='SAME',
                          activation_fn=None,
                          normalizer_fn=None,
                          normalizer_params=None,
                          weights_regularizer=None,
                          separable=False,
                          data_format='NDHWC',
                          scope=''):
  """A 3-D convolution, or its spatial/temporal separable form of [2].

  Separable (when `separable` and the temporal kernel is not 1): a
  [1, kH, kW] convolution in `scope` (with the normalizer) followed by a
  [kT, 1, 1] convolution in `scope + '/temporal'` (no normalizer, so with
  biases; weights from `center_initializer`). Otherwise one `conv3d` in
  `scope`. Both take `activation_fn`; its default here is None (linear), not
  conv3d's ReLU, as upstream.

  Args:
    inputs: a 5-D tensor [batch, time, height, width, channels] (NDHWC).
    num_outputs: number of output channels.
    kernel_size: [kT, kH, kW].
    stride: int or [sT, sH, sW]; the spatial conv takes [1, sH, sW], the
      temporal one [sT, 1, 1].
    padding: 'SAME' or 'VALID'.
    activation_fn: activation of each convolution.
    normalizer_fn, normalizer_params: normalizer of the (spatial) conv.
    weights_regularizer: regularizer of the (spatial) conv's weights; the
      temporal conv takes the one of conv3d's arg scope.
    separable: factor the convolution into spatial and temporal ones.
    data_format: 'NDHWC' or 'NCDHW'.
    scope: variable scope of the (spatial) convolution.

  Returns:
    The output tensor.
  """
  kernel_size = list(kernel_size)
  if len(kernel_size) != 3:
    raise ValueError('conv3d_spatiotemporal %s: kernel_size must be [time, '
                     'height, width], got %r' % (scope, kernel_size))
  common = dict(padding=padding, activation_fn=activation_fn,
                data_format=data_format)
  if not separable or kernel_size[0] == 1:
    return _layers_3d.conv3d(
        inputs, num_outputs, kernel_size, stride=stride,
        normalizer_fn=normalizer_fn, normalizer_params=normalizer_params,
        weights_regularizer=weights_regularizer, scope=scope, **common)
  if isinstance(stride, int):
    stride = [stride] * 3
  net = _layers_3d.conv3d(
      inputs, num_outputs, [1] + kernel_size[1:],
      stride=[1] + list(stride[1:]), normalizer_fn=normalizer_fn,
      normalizer_params=normalizer_params,
      weights_regularizer=weights_regularizer, scope=scope, **common)
  return _layers_3d.conv3d(
      net, num_outputs, [kernel_size[0], 1, 1], stride=[stride[0], 1, 1],
      normalizer_fn=None, weights_initializer=center_initializer(),
      scope=scope + '/temporal', **common)


@slim.add_arg_scope
def inception_block_v1_3d(inputs,
                          num_outputs_0_0a,
                          num_outputs_1_0a,
                          num_outputs_1_0b,
                          num_outputs_2_0a,
                          num_outputs_2_0b,
                          num_outputs_3_0b,
                          temporal_kernel_size=3,
                          self_gating_fn=None,
                          data_format='NDHWC',
                          scope=''):
  """The 3-D Inception v1 block of [1], with [2]'s separable convs and gating.

  Four branches concatenated on the channels: `Branch_0` a 1x1x1 conv;
  `Branch_1` and `Branch_2` a 1x1x1 conv then a [temporal_kernel_size, 3, 3]
  `conv3d_spatiotemporal` (separable under S3D-G's arg scope); `Branch_3` a
  3x3x3 max pool then a 1x1x1 conv. With `self_gating_fn`, each branch's
  output is gated (S3D-G).

  Args:
    inputs: a 5-D tensor [batch, time, height, width, channels].
    num_outputs_0_0a: channels of Branch_0/Conv2d_0a_1x1.
    num_outputs_1_0a: channels of Branch_1/Conv2d_0a_1x1.
    num_outputs_1_0b: channels of Branch_1/Conv2d_0b_3x3.
    num_outputs_2_0a: channels of Branch_2/Conv2d_0a_1x1.
    num_outputs_2_0b: channels of Branch_2/Conv2d_0b_3x3.
    num_outputs_3_0b: channels of Branch_3/Conv2d_0b_1x1.
    temporal_kernel_size: temporal size of the 3x3 branches' kernels (1 gives
      2-D convolutions applied frame by frame).
    self_gating_fn: None, or `fn(inputs, scope)` returning a tensor shaped
      like `inputs` (e.g. `s3dg.self_gating`).
    data_format: 'NDHWC' or 'NCDHW' (the axis of the concatenation; the
      layers take theirs from the arg scope).
    scope: variable scope of the block.

  Returns:
    A 5-D tensor with num_outputs_0_0a + num_outputs_1_0b + num_outputs_2_0b
    + num_outputs_3_0b channels.
  """

  concat_axis = _channel_axis(data_format)

  def gated(net, conv_scope):
    return net if self_gating_fn is None else self_gating_fn(
        net, scope=conv_scope)

  def reduce_then_conv(reduced, outputs):
    net = _layers_3d.conv3d(inputs, reduced, [1, 1, 1], scope='Conv2d_0a_1x1')
    net = conv3d_spatiotemporal(net, outputs, [temporal_kernel_size, 3, 3],
                                scope='Conv2d_0b_3x3')
    return gated(net, 'Conv2d_0b_3x3')

  with tf.compat.v1.variable_scope(scope):
    with tf.compat.v1.variable_scope('Branch_0'):
      branch_0 = gated(
          _layers_3d.conv3d(inputs, num_outputs_0_0a, [1, 1, 1],
                            scope='Conv2d_0a_1x1'), 'Conv2d_0a_1x1')
    with tf.compat.v1.variable_scope('Branch_1'):
      branch_1 = reduce_then_conv(num_outputs_1_0a, num_outputs_1_0b)
    with tf.compat.v1.variable_scope('Branch_2'):
      branch_2 = reduce_then_conv(num_outputs_2_0a, num_outputs_2_0b)
    with tf.compat.v1.variable_scope('Branch_3'):
      # Stride and padding come from the arg scope (s3dg_base: 1, SAME).
      net = _layers_3d.max_pool3d(inputs, [3, 3, 3], scope='MaxPool_0a_3x3')
      branch_3 = gated(
          _layers_3d.conv3d(net, num_outputs_3_0b, [1, 1, 1],
                            scope='Conv2d_0b_1x1'), 'Conv2d_0b_1x1')
    return tf.concat([branch_0, branch_1, branch_2, branch_3], concat_axis)


def _channel_axis(data_format):
  if data_format not in ('NDHWC', 'NCDHW'):
    raise ValueError("data_format must be 'NDHWC' or 'NCDHW', got %r" %
                     (data_format,))
  return data_format.index('C')


def reduced_kernel_size_3d(input_tensor, kernel_size):
  """`kernel_size` shrunk to fit the time, height and width of small inputs.

  When any of those is unknown when building the graph, the input is assumed
  large enough and `kernel_size` is returned as it is.

  Args:
    input_tensor: a 5-D tensor [batch, time, height, width, channels].
    kernel_size: the wanted [time, height, width] kernel.

  Returns:
    A list of three ints.
  """
  kernel_size = list(kernel_size)
  if len(kernel_size) != 3:
    raise ValueError('reduced_kernel_size_3d: kernel_size must be [time, '
                     'height, width], got %r' % (kernel_size,))
  shape = input_tensor.shape.as_list()
  if len(shape) != 5:
    raise ValueError('reduced_kernel_size_3d: input_tensor must be 5-D, got '
                     'shape %s' % (shape,))
  if None in shape[1:4]:
    return kernel_size
  return [min(size, k) for size, k in zip(shape[1:4], kernel_size)]
