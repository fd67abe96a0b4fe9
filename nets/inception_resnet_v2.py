"""Inception-ResNet-v2, drop-in for TF-Slim's `nets.inception_resnet_v2`.

[1] Christian Szegedy, Sergey Ioffe, Vincent Vanhoucke, Alex Alemi.
    Inception-v4, Inception-ResNet and the Impact of Residual Connections on
    Learning. arXiv:1602.07261

Same variable names, end points and numbers as TF-Slim, so checkpoints such
as `inception_resnet_v2_2016_08_30.ckpt` (1001 classes, "inception"
preprocessing, 299x299) restore as they are.

Blocks are tables of branches (the spec types of `nets.inception_v4`); the
residual blocks 35x35, 17x17 and 8x8 add their scaled branches back to their
input (Fig. 16-19 of [1]). The network is a list of (end point, stage) walked
by one loop.

Typical use:

   import tf_slim as slim
   from nets import inception_resnet_v2

   with slim.arg_scope(inception_resnet_v2.inception_resnet_v2_arg_scope()):
     logits, end_points = inception_resnet_v2.inception_resnet_v2(
         images, num_classes=1001, is_training=False)

   # Aligned dense features at stride 8 (up to PreAuxLogits only):
   with slim.arg_scope(inception_resnet_v2.inception_resnet_v2_arg_scope()):
     net, end_points = inception_resnet_v2.inception_resnet_v2_base(
         images, final_endpoint='PreAuxLogits', output_stride=8,
         align_feature_maps=True)
"""

import collections
import contextlib

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import inception_v4
from nets import registry

_Conv = inception_v4.Conv
_Mixed = inception_v4.Mixed
_Pool = inception_v4.Pool

# The residual branches (Fig. 16, 17, 19 of [1]); Branch_0 first.
_BLOCK35 = (
    (_Conv('Conv2d_1x1', 32, 1),),
    (_Conv('Conv2d_0a_1x1', 32, 1), _Conv('Conv2d_0b_3x3', 32, 3)),
    (_Conv('Conv2d_0a_1x1', 32, 1), _Conv('Conv2d_0b_3x3', 48, 3),
     _Conv('Conv2d_0c_3x3', 64, 3)),
)

_BLOCK17 = (
    (_Conv('Conv2d_1x1', 192, 1),),
    (_Conv('Conv2d_0a_1x1', 128, 1), _Conv('Conv2d_0b_1x7', 160, [1, 7]),
     _Conv('Conv2d_0c_7x1', 192, [7, 1])),
)

_BLOCK8 = (
    (_Conv('Conv2d_1x1', 192, 1),),
    (_Conv('Conv2d_0a_1x1', 192, 1), _Conv('Conv2d_0b_1x3', 224, [1, 3]),
     _Conv('Conv2d_0c_3x1', 256, [3, 1])),
)

# The stem ends in this Inception-A-like block. slim's stem (and so its
# checkpoints, and Keras') is Inception-v3's followed by Mixed_5b, not the
# Inception-v4 stem of Fig. 3 that [1] gives for Inception-ResNet-v2.
_MIXED_5B = (
    (_Conv('Conv2d_1x1', 96, 1),),
    (_Conv('Conv2d_0a_1x1', 48, 1), _Conv('Conv2d_0b_5x5', 64, 5)),
    (_Conv('Conv2d_0a_1x1', 64, 1), _Conv('Conv2d_0b_3x3', 96, 3),
     _Conv('Conv2d_0c_3x3', 96, 3)),
    (_Pool('AvgPool_0a_3x3', 'avg', 3), _Conv('Conv2d_0b_1x1', 64, 1)),
)


def _mixed_6a(stride, padding):
  """Reduction-A of [1] (k, l, m, n = 256, 256, 384, 384)."""
  return (
      (_Conv('Conv2d_1a_3x3', 384, 3, stride, padding),),
      (_Conv('Conv2d_0a_1x1', 256, 1), _Conv('Conv2d_0b_3x3', 256, 3),
       _Conv('Conv2d_1a_3x3', 384, 3, stride, padding)),
      (_Pool('MaxPool_1a_3x3', 'max', 3, stride, padding),),
  )


def _mixed_7a(padding):
  """Reduction-B of [1] (Fig. 18)."""
  return (
      (_Conv('Conv2d_0a_1x1', 256, 1),
       _Conv('Conv2d_1a_3x3', 384, 3, 2, padding)),
      (_Conv('Conv2d_0a_1x1', 256, 1),
       _Conv('Conv2d_1a_3x3', 288, 3, 2, padding)),
      (_Conv('Conv2d_0a_1x1', 256, 1), _Conv('Conv2d_0b_3x3', 288, 3),
       _Conv('Conv2d_1a_3x3', 320, 3, 2, padding)),
      (_Pool('MaxPool_1a_3x3', 'max', 3, 2, padding),),
  )


def _residual(net, branches, scale, activation_fn, scope, default_scope,
              reuse):
  """`activation_fn(net + scale * up)`, up = 1x1 conv of the branches."""
  with tf.compat.v1.variable_scope(scope, default_scope, [net], reuse=reuse):
    mixed = inception_v4.build_branches(net, branches)
    # The "1x1 Conv (Linear)" of Fig. 16-19 of [1]: back to the input depth,
    # no batch norm or activation (so it has biases).
    up = _layers.conv2d(mixed, net.shape.dims[3].value, 1, stride=1,
                        padding='SAME', normalizer_fn=None,
                        activation_fn=None, scope='Conv2d_1x1')
    scaled_up = up * scale
    if activation_fn == tf.nn.relu6:
      # Bounded activations: clip the residual to the same band, so the sum
      # stays in a known range (for quantized inference).
      scaled_up = tf.clip_by_value(scaled_up, -6.0, 6.0)
    net += scaled_up
    if activation_fn:
      net = activation_fn(net)
  return net


def block35(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
  """The 35x35 residual block (Inception-ResNet-A), default scope Block35."""
  return _residual(net, _BLOCK35, scale, activation_fn, scope, 'Block35',
                   reuse)


def block17(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
  """The 17x17 residual block (Inception-ResNet-B), default scope Block17."""
  return _residual(net, _BLOCK17, scale, activation_fn, scope, 'Block17',
                   reuse)


def block8(net, scale=1.0, activation_fn=tf.nn.relu, scope=None, reuse=None):
  """The 8x8 residual block (Inception-ResNet-C), default scope Block8."""
  return _residual(net, _BLOCK8, scale, activation_fn, scope, 'Block8', reuse)


class _Residuals(
    collections.namedtuple('_Residuals',
                           ['times', 'block', 'scale', 'activation_fn',
                            'rate'], defaults=(None,))):
  """A stack of residual blocks, in the checkpoints' scopes.

  `times` blocks go through slim.repeat, which names them Repeat/block35_1,
  Repeat/block35_2, .. (Repeat_1, Repeat_2 for the later stacks); `times`
  None is one block called directly (scope Block8 for the last one). `rate`,
  when set, is the atrous rate of the blocks' convs. Residual blocks keep
  the spatial shape.
  """

  def build(self, net):
    if self.times is None:
      return self.block(net, scale=self.scale,
                        activation_fn=self.activation_fn)
    rate_scope = (slim.arg_scope([_layers.conv2d], rate=self.rate)
                  if self.rate else contextlib.nullcontext())
    with rate_scope:
      return slim.repeat(net, self.times, self.block, scale=self.scale,
                         activation_fn=self.activation_fn)

  def out_shape(self, shape):
    return shape


def _layout(output_stride, align_feature_maps, activation_fn):
  """(end point, stage) of Fig. 15 of [1]; None for unnamed stages.

  Without align_feature_maps the reductions are VALID as in [1]; with it
  SAME, so that every map is the input size divided by its stride. At
  output_stride 8 Mixed_6a keeps the 35x35 resolution (stride 1) and the
  17x17 blocks run at rate 2.
  """
  padding = 'SAME' if align_feature_maps else 'VALID'
  atrous = output_stride == 8
  return [
      ('Conv2d_1a_3x3', _Conv('Conv2d_1a_3x3', 32, 3, 2, padding)),
      ('Conv2d_2a_3x3', _Conv('Conv2d_2a_3x3', 32, 3, 1, padding)),
      ('Conv2d_2b_3x3', _Conv('Conv2d_2b_3x3', 64, 3)),
      ('MaxPool_3a_3x3', _Pool('MaxPool_3a_3x3', 'max', 3, 2, padding)),
      ('Conv2d_3b_1x1', _Conv('Conv2d_3b_1x1', 80, 1, 1, padding)),
      ('Conv2d_4a_3x3', _Conv('Conv2d_4a_3x3', 192, 3, 1, padding)),
      ('MaxPool_5a_3x3', _Pool('MaxPool_5a_3x3', 'max', 3, 2, padding)),
      ('Mixed_5b', _Mixed('Mixed_5b', None, _MIXED_5B)),
      (None, _Residuals(10, block35, 0.17, activation_fn)),
      ('Mixed_6a', _Mixed('Mixed_6a', None,
                         _mixed_6a(1 if atrous else 2, padding))),
      ('PreAuxLogits', _Residuals(20, block17, 0.10, activation_fn,
                                  2 if atrous else 1)),
      ('Mixed_7a', _Mixed('Mixed_7a', None, _mixed_7a(padding))),
      (None, _Residuals(9, block8, 0.20, activation_fn)),
      # The last block is linear, its sum feeds Conv2d_7b_1x1.
      (None, _Residuals(None, block8, 1.0, None)),
      ('Conv2d_7b_1x1', _Conv('Conv2d_7b_1x1', 1536, 1)),
  ]


def _check_output_stride(output_stride, final_endpoint, names):
  if output_stride not in (8, 16):
    raise ValueError('output_stride must be 8 or 16, got %r.' %
                     (output_stride,))
  if (output_stride == 8 and
      names.index(final_endpoint) > names.index('PreAuxLogits')):
    raise ValueError('output_stride==8 is only supported up to the '
                     'PreAuxlogits end_point for now (final_endpoint %r).' %
                     final_endpoint)


def inception_resnet_v2_base(inputs,
                             final_endpoint='Conv2d_7b_1x1',
                             output_stride=16,
                             align_feature_maps=False,
                             scope=None,
                             activation_fn=tf.nn.relu):
  """Inception-ResNet-v2 up to `final_endpoint` (Fig. 15 of [1]).

  Args:
    inputs: a tensor [batch, height, width, channels].
    final_endpoint: the last end point to build, one of 'Conv2d_1a_3x3',
      'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'MaxPool_3a_3x3', 'Conv2d_3b_1x1',
      'Conv2d_4a_3x3', 'MaxPool_5a_3x3', 'Mixed_5b', 'Mixed_6a',
      'PreAuxLogits', 'Mixed_7a', 'Conv2d_7b_1x1'.
    output_stride: 16, or 8 for atrous 17x17 blocks at the 35x35
      resolution (only up to 'PreAuxLogits').
    align_feature_maps: SAME instead of VALID padding on the reductions.
    scope: variable scope, default 'InceptionResnetV2'.
    activation_fn: activation of the residual blocks' sums.

  Returns:
    net: the output of `final_endpoint`.
    end_points: dict of the end points built, in order.

  Raises:
    ValueError: for an unknown final_endpoint (listing the valid ones), an
      output_stride other than 8 or 16 (or 8 past 'PreAuxLogits'), or an
      image too small to reach final_endpoint.
  """
  _common.require_nhwc('inception_resnet_v2')
  inputs = _common.validate_inputs(inputs)
  layout = _layout(output_stride, align_feature_maps, activation_fn)
  stages = inception_v4.stages_up_to(layout, final_endpoint,
                                     'InceptionResnetV2')
  _check_output_stride(output_stride, final_endpoint,
                       [name for name, _ in layout if name])
  inception_v4.check_image_size(inputs, 'InceptionResnetV2',
                                [spec for _, spec in stages])
  end_points = {}
  with tf.compat.v1.variable_scope(scope, 'InceptionResnetV2', [inputs]):
    net = inception_v4.build_stages(inputs, stages, end_points)
  return net, end_points


def inception_resnet_v2_arg_scope(
    weight_decay=0.00004,
    batch_norm_decay=0.9997,
    batch_norm_epsilon=0.001,
    activation_fn=tf.nn.relu,
    batch_norm_updates_collections=tf.compat.v1.GraphKeys.UPDATE_OPS,
    batch_norm_scale=False):
  """The arg scope of Inception-ResNet-v2's checkpoints.

  conv2d and fully_connected weights and biases get an L2 regularizer;
  conv2d gets `activation_fn` and batch norm (no gamma unless
  batch_norm_scale) as normalizer. Weights keep the default Glorot-uniform
  initializer.

  Args:
    weight_decay: L2 regularization weight.
    batch_norm_decay: decay of the moving averages.
    batch_norm_epsilon: added to the variance.
    activation_fn: activation of conv2d.
    batch_norm_updates_collections: collection of the moving-average updates.
    batch_norm_scale: add batch norm's `gamma`.

  Returns:
    An arg scope (dict) for `slim.arg_scope`.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'updates_collections': batch_norm_updates_collections,
      'fused': None,
      'scale': batch_norm_scale,
  }
  regularizer = slim.l2_regularizer(weight_decay)
  with slim.arg_scope([_layers.conv2d, _layers.fully_connected],
                      weights_regularizer=regularizer,
                      biases_regularizer=regularizer):
    with slim.arg_scope([_layers.conv2d], activation_fn=activation_fn,
                        normalizer_fn=_layers.batch_norm,
                        normalizer_params=batch_norm_params) as scope:
      return scope


# The auxiliary head's pooling on PreAuxLogits (5x5, stride 3; slim's scope
# name says 3x3).
_AUX_POOL = _Pool('Conv2d_1a_3x3', 'avg', 5, 3, 'VALID')


# The aux head's 5x5 VALID pool needs 107x107 images in training (75x75
# without it).
@registry.register('inception_resnet_v2', inception_resnet_v2_arg_scope, 299,
                   1001, 'inception', min_image_size=107)
def inception_resnet_v2(inputs, num_classes=1001, is_training=True,
                        dropout_keep_prob=0.8,
                        reuse=None,
                        scope='InceptionResnetV2',
                        create_aux_logits=True,
                        activation_fn=tf.nn.relu):
  """Inception-ResNet-v2 classifier of [1].

  Args:
    inputs: a tensor [batch, height, width, 3]; height and width may be
      unknown when create_aux_logits is False.
    num_classes: logits size; 0 or None returns the pooled features
      [batch, 1, 1, 1536] instead.
    is_training: batch norm and dropout mode.
    dropout_keep_prob: fraction kept by the dropout before the logits.
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope.
    create_aux_logits: add the auxiliary head on PreAuxLogits.
    activation_fn: activation of the residual blocks' sums.

  Returns:
    net: logits [batch, num_classes], or the pooled features.
    end_points: dict of the base's end points, then 'AuxLogits',
      'global_pool', 'PreLogitsFlatten' (after dropout), 'Logits',
      'Predictions'.

  Raises:
    ValueError / TypeError: bad inputs, num_classes or is_training, or an
      image too small (or of unknown size with the auxiliary head).
  """
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  _common.require_nhwc('inception_resnet_v2')
  inputs = _common.validate_inputs(inputs)
  with_aux = bool(create_aux_logits and num_classes)
  inception_v4.check_classifier_inputs(
      inputs, 'InceptionResnetV2', _layout(16, False, activation_fn),
      'PreAuxLogits' if with_aux else None, _AUX_POOL)
  with tf.compat.v1.variable_scope(
      scope, 'InceptionResnetV2', [inputs], reuse=reuse) as var_scope:
    with slim.arg_scope([_layers.batch_norm, _layers.dropout],
                        is_training=is_training):
      net, end_points = inception_resnet_v2_base(
          inputs, scope=var_scope, activation_fn=activation_fn)
      if with_aux:
        with tf.compat.v1.variable_scope('AuxLogits'):
          end_points['AuxLogits'] = inception_v4.aux_logits(
              end_points['PreAuxLogits'], num_classes, _AUX_POOL,
              ('Conv2d_1b_1x1', 'Conv2d_2a_5x5'), 'Logits')
      net = _logits(net, end_points, num_classes, dropout_keep_prob)
  return net, end_points


def _logits(net, end_points, num_classes, dropout_keep_prob):
  """Scope 'Logits': pool, then (with classes) flatten, dropout, logits.

  Unlike Inception-v4, 'PreLogitsFlatten' is after the dropout, as in slim.
  """
  with tf.compat.v1.variable_scope('Logits'):
    net = inception_v4.global_pool(net, 'AvgPool_1a_8x8')
    end_points['global_pool'] = net
    if not num_classes:
      return net
    net = _layers.flatten(net)
    net = _layers.dropout(net, dropout_keep_prob, scope='Dropout')
    end_points['PreLogitsFlatten'] = net
    logits = _layers.fully_connected(net, num_classes, activation_fn=None,
                                     scope='Logits')
    end_points['Logits'] = logits
    end_points['Predictions'] = tf.nn.softmax(logits, name='Predictions')
    return logits
