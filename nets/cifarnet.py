"""CifarNet, drop-in for TF-Slim's `nets.cifarnet`.

A variant of the CIFAR-10 network of cuda-convnet (Alex Krizhevsky,
code.google.com/p/cuda-convnet, layers-18pct.cfg) as in TensorFlow's CIFAR-10
tutorial: two 5x5 convolutions with max-pools and local response
normalization, then two fully connected layers and the logits. slim's
variable names, end points and numbers; checkpoints have 10 classes and
"cifarnet" preprocessing (32x32 images).

Typical use:

   import tf_slim as slim
   from nets import cifarnet

   with slim.arg_scope(cifarnet.cifarnet_arg_scope()):
     logits, end_points = cifarnet.cifarnet(images, num_classes=10)
"""

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import registry

# (kind, scope, depth) from the images on. lrn and dropout are not end points.
_LAYERS = (
    ('conv', 'conv1', 64),
    ('pool', 'pool1', None),
    ('lrn', 'norm1', None),
    ('conv', 'conv2', 64),
    ('lrn', 'norm2', None),
    ('pool', 'pool2', None),
    ('flatten', 'Flatten', None),
    ('fc', 'fc3', 384),
    ('dropout', 'dropout3', None),
    ('fc', 'fc4', 192),
)
_NOT_END_POINTS = ('lrn', 'dropout')


def _trunc_normal(stddev):
  return tf.compat.v1.truncated_normal_initializer(stddev=stddev)


def _layer(net, kind, scope, depth, is_training, dropout_keep_prob):
  """Applies one row of `_LAYERS`."""
  if kind == 'conv':
    return _layers.conv2d(net, depth, [5, 5], scope=scope)
  if kind == 'pool':
    return _layers.max_pool2d(net, [2, 2], 2, scope=scope)
  if kind == 'lrn':
    return tf.nn.lrn(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75,
                     name=scope)
  if kind == 'flatten':
    return _layers.flatten(net)
  if kind == 'fc':
    return _layers.fully_connected(net, depth, scope=scope)
  return _layers.dropout(net, dropout_keep_prob, is_training=is_training,
                         scope=scope)


def cifarnet_arg_scope(weight_decay=0.004):
  """The CifarNet arg scope.

  Convolutions: ReLU, truncated normal weights (stddev 0.05); fully
  connected layers: ReLU, truncated normal weights (stddev 0.04), biases 0.1,
  L2 weight decay.

  Args:
    weight_decay: the L2 regularization coefficient of the fully connected
      weights.

  Returns:
    An arg_scope.
  """
  with slim.arg_scope(
      [_layers.conv2d], weights_initializer=_trunc_normal(5e-2),
      activation_fn=tf.nn.relu):
    with slim.arg_scope(
        [_layers.fully_connected],
        biases_initializer=tf.compat.v1.constant_initializer(0.1),
        weights_initializer=_trunc_normal(0.04),
        weights_regularizer=slim.l2_regularizer(weight_decay),
        activation_fn=tf.nn.relu) as sc:
      return sc


@registry.register('cifarnet', cifarnet_arg_scope, 32, 10, 'cifarnet')
def cifarnet(images,
             num_classes=10,
             is_training=False,
             dropout_keep_prob=0.5,
             prediction_fn=slim.softmax,
             scope='CifarNet'):
  """Builds CifarNet.

  Args:
    images: a tensor [batch, height, width, channels], 32x32 for the usual
      checkpoints (fc3's weights depend on the image size).
    num_classes: logits size; 0 or None returns the fc4 features instead.
    is_training: dropout mode (dropout3 after fc3), a Python bool or a
      scalar bool tensor.
    dropout_keep_prob: keep probability of dropout3.
    prediction_fn: turns the logits into 'Predictions', e.g. slim.softmax.
    scope: variable scope.

  Returns:
    net: the logits [batch, num_classes] (pre-softmax), or fc4 when
      num_classes is 0 or None.
    end_points: dict 'conv1', 'pool1', 'conv2', 'pool2', 'Flatten', 'fc3',
      'fc4', 'Logits', 'Predictions'.

  Raises:
    ValueError / TypeError: bad images, num_classes or is_training, or an
      NCHW arg scope (local response normalization is NHWC only).
  """
  _common.require_nhwc('cifarnet')
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  end_points = {}
  with tf.compat.v1.variable_scope(scope, 'CifarNet', [images]):
    net = _common.validate_inputs(images, name='images')
    for kind, layer_scope, depth in _LAYERS:
      net = _layer(net, kind, layer_scope, depth, is_training,
                   dropout_keep_prob)
      if kind not in _NOT_END_POINTS:
        end_points[layer_scope] = net
    if not num_classes:
      return net, end_points
    logits = _layers.fully_connected(
        net, num_classes, biases_initializer=tf.compat.v1.zeros_initializer(),
        weights_initializer=_trunc_normal(1 / 192.0), weights_regularizer=None,
        activation_fn=None, scope='logits')
    end_points['Logits'] = logits
    end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points
