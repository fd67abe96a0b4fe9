"""Gated separable 3-D Inception networks (S3D-G), drop-in for research/slim's
`nets.s3dg`.

[1] Saining Xie, Chen Sun, Jonathan Huang, Zhuowen Tu, Kevin Murphy.
    Rethinking Spatiotemporal Feature Learning: Speed-Accuracy Trade-offs in
    Video Classification. arXiv:1712.04851
[2] Joao Carreira, Andrew Zisserman. Quo Vadis, Action Recognition? A New
    Model and the Kinetics Dataset. arXiv:1705.07750

Inception v1 inflated to 3-D as in I3D [2] (`nets.i3d` is this network with
other settings), with the choices of [1]: separable spatial/temporal
convolutions, 3-D convolutions only from `temporal_conv_startat` on, feature
gating from `gating_startat` on, a smaller first temporal kernel. Same
variable names as upstream (Inception v1's, so image checkpoints inflate:
`InceptionV1/Conv2d_1a_7x7/weights` [3, 7, 7, 3, 64],
`InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/temporal/weights`, ...), end
points and numbers, so upstream's Kinetics checkpoints (400 classes, inputs
scaled to [-1, 1]) restore with a plain Saver.

Typical use:

   import tf_slim as slim
   from nets import s3dg

   # clips: [batch, frames, 224, 224, 3] in [-1, 1].
   with slim.arg_scope(s3dg.s3dg_arg_scope()):
     logits, end_points = s3dg.s3dg(clips, num_classes=400,
                                    is_training=False)

   # Features of the last block, [batch, frames / 8, 7, 7, 1024]:
   with slim.arg_scope(s3dg.s3dg_arg_scope()):
     net, end_points = s3dg.s3dg_base(clips)
"""

import collections
import contextlib
import functools
import numbers

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import _layers_3d
from nets import i3d_utils
from nets import registry

conv3d_spatiotemporal = i3d_utils.conv3d_spatiotemporal
inception_block_v1_3d = i3d_utils.inception_block_v1_3d
arg_scope = slim.arg_scope


def trunc_normal(stddev):
  """A truncated normal initializer of mean 0 and `stddev`."""
  return tf.compat.v1.truncated_normal_initializer(0.0, stddev)


# The layers of the network, in order, keyed by their end points: Inception
# v1's (Szegedy et al., arXiv:1409.4842, Table 1) inflated to 3-D.
_Stem = collections.namedtuple('_Stem', ['depth', 'spatial_kernel', 'stride'])
_Pointwise = collections.namedtuple('_Pointwise', ['depth'])
# A [t, k, k] convolution; t becomes 3 from `temporal_conv_startat` on.
_SpatioTemporal = collections.namedtuple('_SpatioTemporal',
                                         ['depth', 'spatial_kernel'])
_MaxPool = collections.namedtuple('_MaxPool', ['kernel_size', 'stride'])
# Output channels of Branch_0, Branch_1 (1x1 then 3x3), Branch_2 (1x1 then
# 3x3) and Branch_3 (after the max pool).
_Mixed = collections.namedtuple(
    '_Mixed', ['b0_1x1', 'b1_1x1', 'b1_3x3', 'b2_1x1', 'b2_3x3', 'b3_1x1'])

_LAYERS = (
    ('Conv2d_1a_7x7', _Stem(64, 7, 2)),
    ('MaxPool_2a_3x3', _MaxPool([1, 3, 3], [1, 2, 2])),
    ('Conv2d_2b_1x1', _Pointwise(64)),
    ('Conv2d_2c_3x3', _SpatioTemporal(192, 3)),
    ('MaxPool_3a_3x3', _MaxPool([1, 3, 3], [1, 2, 2])),
    ('Mixed_3b', _Mixed(64, 96, 128, 16, 32, 32)),
    ('Mixed_3c', _Mixed(128, 128, 192, 32, 96, 64)),
    ('MaxPool_4a_3x3', _MaxPool([3, 3, 3], [2, 2, 2])),
    ('Mixed_4b', _Mixed(192, 96, 208, 16, 48, 64)),
    ('Mixed_4c', _Mixed(160, 112, 224, 24, 64, 64)),
    ('Mixed_4d', _Mixed(128, 128, 256, 24, 64, 64)),
    ('Mixed_4e', _Mixed(112, 144, 288, 32, 64, 64)),
    ('Mixed_4f', _Mixed(256, 160, 320, 32, 128, 128)),
    ('MaxPool_5a_2x2', _MaxPool([2, 2, 2], [2, 2, 2])),
    ('Mixed_5b', _Mixed(256, 160, 320, 32, 128, 128)),
    ('Mixed_5c', _Mixed(384, 192, 384, 48, 128, 128)),
)
_END_POINTS = tuple(name for name, _ in _LAYERS)
# Where temporal convolutions and gating can start: the 3x3 layers.
_START_POINTS = tuple(name for name, layer in _LAYERS
                      if isinstance(layer, (_SpatioTemporal, _Mixed)))
_FIRST_TEMPORAL_KERNEL_SIZES = (1, 3, 5, 7)


def _batch_norm_params(batch_norm_decay, batch_norm_epsilon, **extra):
  """Upstream's batch-norm parameters of the video arg scopes."""
  params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      # Upstream asks for tf-slim's unfused path. slimnets' batch_norm always
      # runs the fused kernel: the same outputs, but its moving variance
      # takes the unbiased batch variance (tf-slim's unfused path the biased
      # one, a factor (n - 1) / n with n values per channel).
      'fused': False,
      # The moving statistics also go to 'moving_vars', as upstream.
      'variables_collections': {
          'beta': None,
          'gamma': None,
          'moving_mean': ['moving_vars'],
          'moving_variance': ['moving_vars'],
      },
  }
  params.update(extra)
  return params


def s3dg_arg_scope(weight_decay=1e-7,
                   batch_norm_decay=0.999,
                   batch_norm_epsilon=0.001):
  """The arg scope of S3D-G: conv + batch norm + ReLU, separable 3-D convs.

  Args:
    weight_decay: L2 weight decay of the convolution weights.
    batch_norm_decay: moving-average decay of batch norm.
    batch_norm_epsilon: added to the variance in batch norm.

  Returns:
    An arg_scope (a dict) for `slim.arg_scope(...)`, keyed like tf-slim's
    `conv3d` and `i3d_utils.conv3d_spatiotemporal`.
  """
  with arg_scope([_layers_3d.conv3d, conv3d_spatiotemporal],
                 weights_regularizer=slim.l2_regularizer(weight_decay),
                 activation_fn=tf.nn.relu,
                 normalizer_fn=_layers.batch_norm,
                 normalizer_params=_batch_norm_params(batch_norm_decay,
                                                      batch_norm_epsilon)):
    with arg_scope([conv3d_spatiotemporal], separable=True) as sc:
      return sc


def self_gating(input_tensor, scope, data_format='NDHWC'):
  """The feature gating of S3D-G ([1]).

  Each channel is multiplied by a sigmoid gate computed from the average of
  all channels over time, height and width (`<scope>/self_gating/avg_pool3d`)
  through a 1x1x1 convolution without biases
  (`<scope>/self_gating/transformer_W/weights` [1, 1, 1, C, C]).

  Args:
    input_tensor: a 5-D tensor in `data_format`.
    scope: scope prefix of the gating layers.
    data_format: 'NDHWC' or 'NCDHW'.

  Returns:
    A tensor shaped like `input_tensor`.
  """
  input_tensor = _common.validate_video_inputs(input_tensor, data_format,
                                               name='self_gating input_tensor')
  shape = input_tensor.shape.as_list()
  extent = [shape[data_format.index(axis)] for axis in 'DHW']
  if None in extent:
    # Time, height or width known only at run time: the same mean.
    with tf.compat.v1.name_scope(scope + '/self_gating/avg_pool3d'):
      average = tf.reduce_mean(
          input_tensor, [data_format.index(axis) for axis in 'DHW'],
          keepdims=True)
  else:
    # The whole clip in one window ([t, h, w]; upstream writes [t, w, h],
    # the same on the square inputs it supports).
    average = _layers_3d.avg_pool3d(
        input_tensor, extent, stride=1, padding='VALID',
        data_format=data_format, scope=scope + '/self_gating/avg_pool3d')
  weights = _layers_3d.conv3d(
      average, shape[data_format.index('C')], [1, 1, 1], activation_fn=None,
      normalizer_fn=None, biases_initializer=None, data_format=data_format,
      weights_initializer=trunc_normal(0.01),
      scope=scope + '/self_gating/transformer_W')
  # Broadcasting the gates equals upstream's tiling them to the input's shape.
  return tf.multiply(tf.nn.sigmoid(weights), input_tensor)


def _check_base_args(first_temporal_kernel_size, temporal_conv_startat,
                     gating_startat, final_endpoint, depth_multiplier):
  """Raises a one-line ValueError/TypeError naming a bad argument."""
  if first_temporal_kernel_size not in _FIRST_TEMPORAL_KERNEL_SIZES:
    raise ValueError('first_temporal_kernel_size can only be 1, 3, 5 or 7, got '
                     '%r' % (first_temporal_kernel_size,))
  for name, value in (('temporal_conv_startat', temporal_conv_startat),
                      ('gating_startat', gating_startat)):
    if value is not None and value not in _START_POINTS:
      raise ValueError('Unknown %s %r; it is None (never) or one of: %s' %
                       (name, value, ', '.join(_START_POINTS)))
  if final_endpoint not in _END_POINTS:
    raise ValueError('Unknown final endpoint %r; valid end points, in order: %s'
                     % (final_endpoint, ', '.join(_END_POINTS)))
  if (isinstance(depth_multiplier, bool) or
      not isinstance(depth_multiplier, numbers.Real)):
    raise TypeError('depth_multiplier must be a number, got %r' %
                    (depth_multiplier,))
  if depth_multiplier <= 0:
    raise ValueError('depth_multiplier is not greater than zero. Got %r' %
                     (depth_multiplier,))


def _build_layer(net, end_point, layer, depth, temporal_kernel_size,
                 gating_fn, first_temporal_kernel_size, data_format):
  """Adds one layer of `_LAYERS`; `gating_fn` is None before gating starts."""
  if isinstance(layer, _Stem):
    # Never separable: a separable first conv is slow ([1]).
    return conv3d_spatiotemporal(
        net, depth(layer.depth),
        [first_temporal_kernel_size, layer.spatial_kernel,
         layer.spatial_kernel], stride=layer.stride, separable=False,
        scope=end_point)
  if isinstance(layer, _MaxPool):
    return _layers_3d.max_pool3d(net, layer.kernel_size, stride=layer.stride,
                                 scope=end_point)
  if isinstance(layer, _Pointwise):
    return _layers_3d.conv3d(net, depth(layer.depth), [1, 1, 1],
                             scope=end_point)
  if isinstance(layer, _SpatioTemporal):
    net = conv3d_spatiotemporal(
        net, depth(layer.depth),
        [temporal_kernel_size, layer.spatial_kernel, layer.spatial_kernel],
        scope=end_point)
    return net if gating_fn is None else gating_fn(net, scope=end_point)
  return inception_block_v1_3d(
      net, *[depth(d) for d in layer],
      temporal_kernel_size=temporal_kernel_size, self_gating_fn=gating_fn,
      data_format=data_format, scope=end_point)


def _batch_norm_layout(data_format):
  """Batch norm on NCDHW activations normalizes axis 1 (upstream leaves it
  at its NHWC default, which would normalize the width axis)."""
  if data_format == 'NCDHW':
    return arg_scope([_layers.batch_norm], data_format='NCHW')
  return contextlib.nullcontext()


def s3dg_base(inputs,
              first_temporal_kernel_size=3,
              temporal_conv_startat='Conv2d_2c_3x3',
              gating_startat='Conv2d_2c_3x3',
              final_endpoint='Mixed_5c',
              min_depth=16,
              depth_multiplier=1.0,
              data_format='NDHWC',
              scope='InceptionV1'):
  """The I3D / S3D-G network up to `final_endpoint`.

  Layers (and end points) Conv2d_1a_7x7 (stride 2), MaxPool_2a_3x3 (spatial
  stride 2), Conv2d_2b_1x1, Conv2d_2c_3x3, MaxPool_3a_3x3 (spatial stride 2),
  Mixed_3b, Mixed_3c, MaxPool_4a_3x3 (stride 2), Mixed_4b..Mixed_4f,
  MaxPool_5a_2x2 (stride 2), Mixed_5b, Mixed_5c: at 64x224x224 the last is
  [batch, 8, 7, 7, 1024]. Convolutions and pools are SAME with stride 1
  unless said; conv weights start truncated-normal (stddev 0.01).

  Args:
    inputs: a 5-D float tensor [batch, frames, height, width, channels]
      ([batch, channels, frames, height, width] with NCDHW).
    first_temporal_kernel_size: temporal size of Conv2d_1a_7x7, 1, 3, 5 or 7
      (I3D: 7; 3 is as accurate and cheaper ([1])).
    temporal_conv_startat: first layer (Conv2d_2c_3x3 or a Mixed block)
      whose 3x3 convolutions are 3-D, [3, 3, 3] (separable under
      `s3dg_arg_scope`); before it they are [1, 3, 3]. None: never (an
      image network applied frame by frame, except Conv2d_1a_7x7).
    gating_startat: first layer (as above) with `self_gating` on its 3x3
      outputs (Conv2d_2c_3x3) or on each branch (Mixed blocks); None: never.
    final_endpoint: the end point to build up to.
    min_depth: lower bound on the channels of every convolution.
    depth_multiplier: factor (> 0) on the channels of every convolution:
      max(int(channels * depth_multiplier), min_depth).
    data_format: 'NDHWC' or 'NCDHW'.
    scope: variable scope, default 'InceptionV1'.

  Returns:
    (net, end_points): the output of `final_endpoint` and an ordered dict of
    end point name -> tensor, from Conv2d_1a_7x7 to `final_endpoint`.

  Raises:
    ValueError: for inputs that are not 5-D float clips, an unknown
      final_endpoint (the message lists the valid ones), an unknown
      temporal_conv_startat or gating_startat, a first_temporal_kernel_size
      not in 1, 3, 5, 7, or depth_multiplier <= 0.
  """
  inputs = _common.validate_video_inputs(inputs, data_format)
  _check_base_args(first_temporal_kernel_size, temporal_conv_startat,
                   gating_startat, final_endpoint, depth_multiplier)
  depth = lambda d: max(int(d * depth_multiplier), min_depth)
  gate = functools.partial(self_gating, data_format=data_format)
  temporal_kernel_size, gating_fn = 1, None
  end_points = collections.OrderedDict()
  with tf.compat.v1.variable_scope(scope, 'InceptionV1', [inputs]):
    with arg_scope([_layers_3d.conv3d], weights_initializer=trunc_normal(0.01)):
      with arg_scope([_layers_3d.conv3d, _layers_3d.max_pool3d,
                      conv3d_spatiotemporal], stride=1,
                     data_format=data_format, padding='SAME'):
        with _batch_norm_layout(data_format):
          net = inputs
          for end_point, layer in _LAYERS:
            if end_point == temporal_conv_startat:
              temporal_kernel_size = 3
            if end_point == gating_startat:
              gating_fn = gate
            net = _build_layer(net, end_point, layer, depth,
                               temporal_kernel_size, gating_fn,
                               first_temporal_kernel_size, data_format)
            end_points[end_point] = net
            if end_point == final_endpoint:
              return net, end_points
  raise AssertionError('unreachable: final_endpoint was checked')


def _logits(net, end_points, num_classes, dropout_keep_prob,
                 prediction_fn, spatial_squeeze, data_format):
  """The I3D / S3D-G head, in the current variable scope ('Logits').

  `AvgPool_0a_7x7` ([2, 7, 7], reduced for small inputs, VALID, stride 1),
  `Dropout_0b`, the 1x1x1 `Conv2d_0c_1x1` with biases, then the mean over
  time. Falsy `num_classes`: the features after the pool, averaged over
  time, [batch, 1, 1, channels].

  Returns:
    (logits, end_points) with 'Logits' and 'Predictions' added.
  """
  if data_format == 'NCDHW':
    net = tf.transpose(net, [0, 2, 3, 4, 1])
  kernel_size = i3d_utils.reduced_kernel_size_3d(net, [2, 7, 7])
  net = _layers_3d.avg_pool3d(net, kernel_size, stride=1,
                              data_format='NDHWC', scope='AvgPool_0a_7x7')
  if not num_classes:
    end_points['AvgPool_0a_7x7'] = net
    return tf.reduce_mean(net, axis=1), end_points
  net = _layers.dropout(net, dropout_keep_prob, scope='Dropout_0b')
  logits = _layers_3d.conv3d(net, num_classes, [1, 1, 1], activation_fn=None,
                             normalizer_fn=None, data_format='NDHWC',
                             scope='Conv2d_0c_1x1')
  logits = tf.reduce_mean(logits, axis=1)
  if spatial_squeeze:
    logits = tf.squeeze(logits, [1, 2], name='SpatialSqueeze')
  end_points['Logits'] = logits
  end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points


# Kinetics-400 clips of 64 frames, as trained in [1] (upstream's tests too).
@registry.register('s3dg', s3dg_arg_scope, default_image_size=224,
                   num_classes=400, preprocessing='inception', num_frames=64)
def s3dg(inputs,
         num_classes=1000,
         first_temporal_kernel_size=3,
         temporal_conv_startat='Conv2d_2c_3x3',
         gating_startat='Conv2d_2c_3x3',
         final_endpoint='Mixed_5c',
         min_depth=16,
         depth_multiplier=1.0,
         dropout_keep_prob=0.8,
         is_training=True,
         prediction_fn=slim.softmax,
         spatial_squeeze=True,
         reuse=None,
         data_format='NDHWC',
         scope='InceptionV1'):
  """S3D-G ([1]) for video classification; the default clip is 224x224.

  `s3dg_base` followed by the head: average pool (`Logits/AvgPool_0a_7x7`),
  dropout, a 1x1x1 convolution to `num_classes`
  (`Logits/Conv2d_0c_1x1/{weights,biases}`) and the mean over time.

  Args:
    inputs: a 5-D float tensor [batch, frames, height, width, channels].
    num_classes: number of classes (400 for Kinetics checkpoints); 0 or None
      returns the pooled features [batch, 1, 1, 1024] instead.
    first_temporal_kernel_size, temporal_conv_startat, gating_startat,
      final_endpoint, min_depth, depth_multiplier, data_format: as in
      `s3dg_base`.
    dropout_keep_prob: keep probability of the dropout before the logits.
    is_training: Python bool or scalar bool tensor (batch norm, dropout).
    prediction_fn: turns the logits into 'Predictions'.
    spatial_squeeze: logits [batch, num_classes] if True, else
      [batch, 1, 1, num_classes].
    reuse: reuse the variables of `scope`.
    scope: variable scope, default 'InceptionV1'.

  Returns:
    (logits, end_points): end_points holds `s3dg_base`'s, then 'Logits' and
    'Predictions'.
  """
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(
      scope, 'InceptionV1', [inputs, num_classes], reuse=reuse) as sc:
    with arg_scope([_layers.batch_norm, _layers.dropout],
                   is_training=is_training):
      net, end_points = s3dg_base(
          inputs, first_temporal_kernel_size=first_temporal_kernel_size,
          temporal_conv_startat=temporal_conv_startat,
          gating_startat=gating_startat, final_endpoint=final_endpoint,
          min_depth=min_depth, depth_multiplier=depth_multiplier,
          data_format=data_format, scope=sc)
      with tf.compat.v1.variable_scope('Logits'):
        return _logits(net, end_points, num_classes, dropout_keep_prob,
                            prediction_fn, spatial_squeeze, data_format)
