"""LeNet, drop-in for TF-Slim's `nets.lenet`.

[1] Yann LeCun, Leon Bottou, Yoshua Bengio, Patrick Haffner. Gradient-Based
    Learning Applied to Document Recognition. Proceedings of the IEEE, 1998.

slim's variant of the network of [1] (with ReLUs, max-pools and dropout, as
in TensorFlow's MNIST tutorial): two 5x5 convolutions (32 and 64 filters)
each followed by a 2x2 max-pool, a fully connected layer of 1024 units and
the logits. slim's variable names, end points and numbers; checkpoints have
10 classes and "lenet" preprocessing (28x28 MNIST digits).

Typical use:

   import tf_slim as slim
   from nets import lenet

   with slim.arg_scope(lenet.lenet_arg_scope()):
     logits, end_points = lenet.lenet(images, num_classes=10)
"""

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import registry

# (kind, scope, depth) up to the features; each output is an end point.
_LAYERS = (
    ('conv', 'conv1', 32),
    ('pool', 'pool1', None),
    ('conv', 'conv2', 64),
    ('pool', 'pool2', None),
    ('flatten', 'Flatten', None),
    ('fc', 'fc3', 1024),
)


def _layer(net, kind, scope, depth):
  """Applies one row of `_LAYERS`."""
  if kind == 'conv':
    return _layers.conv2d(net, depth, [5, 5], scope=scope)
  if kind == 'pool':
    return _layers.max_pool2d(net, [2, 2], 2, scope=scope)
  if kind == 'flatten':
    return _layers.flatten(net)
  return _layers.fully_connected(net, depth, scope=scope)


def lenet_arg_scope(weight_decay=0.0):
  """The LeNet arg scope: ReLU, truncated normal weights (stddev 0.1), L2.

  Args:
    weight_decay: the L2 regularization coefficient of the weights.

  Returns:
    An arg_scope.
  """
  with slim.arg_scope(
      [_layers.conv2d, _layers.fully_connected],
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=tf.compat.v1.truncated_normal_initializer(
          stddev=0.1),
      activation_fn=tf.nn.relu) as sc:
    return sc


@registry.register('lenet', lenet_arg_scope, 28, 10, 'lenet')
def lenet(images,
          num_classes=10,
          is_training=False,
          dropout_keep_prob=0.5,
          prediction_fn=slim.softmax,
          scope='LeNet'):
  """Builds LeNet.

  Args:
    images: a tensor [batch, height, width, channels], 28x28 for the usual
      checkpoints (fc3's weights depend on the image size).
    num_classes: logits size; 0 or None returns the fc3 features instead
      (before dropout).
    is_training: dropout mode (dropout3 before the logits), a Python bool or
      a scalar bool tensor.
    dropout_keep_prob: keep probability of dropout3.
    prediction_fn: turns the logits into 'Predictions', e.g. slim.softmax
      (built outside `scope`, as in slim).
    scope: variable scope.

  Returns:
    net: the logits [batch, num_classes] (pre-softmax, scope fc4), or fc3
      when num_classes is 0 or None.
    end_points: dict 'conv1', 'pool1', 'conv2', 'pool2', 'Flatten', 'fc3',
      'dropout3', 'Logits', 'Predictions'.

  Raises:
    ValueError / TypeError: bad images, num_classes or is_training, or an
      NCHW arg scope (fc3's weights follow the NHWC flattening order).
  """
  _common.require_nhwc('lenet')
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  end_points = {}
  with tf.compat.v1.variable_scope(scope, 'LeNet', [images]):
    net = _common.validate_inputs(images, name='images')
    for kind, layer_scope, depth in _LAYERS:
      net = end_points[layer_scope] = _layer(net, kind, layer_scope, depth)
    if not num_classes:
      return net, end_points
    net = end_points['dropout3'] = _layers.dropout(
        net, dropout_keep_prob, is_training=is_training, scope='dropout3')
    logits = end_points['Logits'] = _layers.fully_connected(
        net, num_classes, activation_fn=None, scope='fc4')
  end_points['Predictions'] = prediction_fn(logits, scope='Predictions')
  return logits, end_points
