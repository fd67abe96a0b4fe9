"""AlexNet v2 ("One weird trick"), drop-in for TF-Slim's `nets.alexnet`.

[1] Alex Krizhevsky, Ilya Sutskever, Geoffrey E. Hinton. ImageNet
    Classification with Deep Convolutional Neural Networks. NIPS 2012.
[2] Alex Krizhevsky. One weird trick for parallelizing convolutional neural
    networks. arXiv:1404.5997

The single-tower network of [2] (depths of cuda-convnet2's
layers-imagenet-1gpu.cfg), without [1]'s local response normalization, with
slim's variable names, end points and numbers. The fully connected layers
are convolutions (`fc6` 5x5 VALID over pool5, `fc7` and the logits `fc8`
1x1), so larger images give a map of predictions. ImageNet checkpoints of
this layout have 1000 classes and "vgg" preprocessing.

Typical use:

   import tf_slim as slim
   from nets import alexnet

   with slim.arg_scope(alexnet.alexnet_v2_arg_scope()):
     logits, end_points = alexnet.alexnet_v2(images, num_classes=1000,
                                             is_training=False)
"""

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import registry

# The convolutional tower: (scope, depth or None for a max-pool, kernel,
# stride, padding or None for the arg-scoped one).
_TOWER = (
    ('conv1', 64, 11, 4, 'VALID'),
    ('pool1', None, 3, 2, None),
    ('conv2', 192, 5, 1, None),
    ('pool2', None, 3, 2, None),
    ('conv3', 384, 3, 1, None),
    ('conv4', 384, 3, 1, None),
    ('conv5', 256, 3, 1, None),
    ('pool5', None, 3, 2, None),
)
_FC6 = (4096, 5)  # depth, kernel (VALID)


def _trunc_normal(stddev):
  return tf.compat.v1.truncated_normal_initializer(0.0, stddev)


def alexnet_v2_arg_scope(weight_decay=0.0005):
  """The AlexNet v2 arg scope: ReLU, biases 0.1, L2 decay, SAME convs.

  Args:
    weight_decay: the L2 regularization coefficient of the weights.

  Returns:
    An arg_scope (max-pools VALID).
  """
  with slim.arg_scope([_layers.conv2d, _layers.fully_connected],
                      activation_fn=tf.nn.relu,
                      biases_initializer=tf.compat.v1.constant_initializer(0.1),
                      weights_regularizer=slim.l2_regularizer(weight_decay)):
    with slim.arg_scope([_layers.conv2d], padding='SAME'):
      with slim.arg_scope([_layers.max_pool2d], padding='VALID') as arg_sc:
        return arg_sc


def _conv_tower(net, tower):
  """Builds `tower`, a table of (scope, depth, kernel, stride, padding).

  Rows with depth None are max-pools; padding None leaves the layer to its
  arg scope.
  """
  for scope, depth, kernel, stride, padding in tower:
    kwargs = {'scope': scope}
    if padding is not None:
      kwargs['padding'] = padding
    if depth is None:
      net = _layers.max_pool2d(net, [kernel, kernel], stride, **kwargs)
    else:
      net = _layers.conv2d(net, depth, [kernel, kernel], stride, **kwargs)
  return net


def _check_image_size(inputs, tower, fc6_kernel, model_name):
  """Raises when `inputs` are too small for `tower` and a VALID fc6."""
  layers = [(kernel, stride, padding or
             (_layers.conv2d if depth else _layers.max_pool2d))
            for _, depth, kernel, stride, padding in tower]
  layers.append((fc6_kernel, 1, 'VALID'))
  reason = ('fc6 is a %dx%d VALID convolution over %s, also with '
            'global_pool' % (fc6_kernel, fc6_kernel, tower[-1][0]))
  _common.check_image_size(inputs, _common.min_image_size(layers),
                           model_name, reason)


def fc_conv_net(inputs, tower, fc6, num_classes, is_training,
                dropout_keep_prob, spatial_squeeze, scope, default_scope,
                global_pool):
  """The AlexNet / OverFeat generator: `tower`, then fc6-fc8 as convolutions.

  `nets.overfeat` builds its network with it too. fc6 (`fc6` = (depth,
  kernel), VALID), fc7 and fc8 start from truncated normal weights (stddev
  0.005), fc6 and fc7 from biases 0.1, fc8 from zero biases.

  Args:
    inputs, num_classes, is_training, dropout_keep_prob, spatial_squeeze,
      scope, global_pool: see alexnet_v2().
    tower: the convolutional tower, rows (scope, depth or None for a
      max-pool, kernel, stride, padding or None for the arg-scoped one).
    fc6: (depth, kernel) of fc6.
    default_scope: the variable scope when `scope` is None.

  Returns:
    (net, end_points), see alexnet_v2().
  """
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(scope, default_scope, [inputs]) as sc:
    net = _common.validate_inputs(inputs)
    _check_image_size(net, tower, fc6[1], sc.name)
    end_points_collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope([_layers.conv2d, _layers.fully_connected,
                         _layers.max_pool2d],
                        outputs_collections=[end_points_collection]):
      net = _conv_tower(net, tower)
      with slim.arg_scope(
          [_layers.conv2d], weights_initializer=_trunc_normal(0.005),
          biases_initializer=tf.compat.v1.constant_initializer(0.1)):
        return _common.fc_conv_head(
            net, end_points_collection, sc.name, fc6[0], fc6[1], 'VALID',
            num_classes, is_training, dropout_keep_prob, spatial_squeeze,
            global_pool,
            biases_initializer=tf.compat.v1.zeros_initializer())


@registry.register('alexnet', alexnet_v2_arg_scope, 224, 1000, 'vgg',
                   min_image_size=195)
def alexnet_v2(inputs,
               num_classes=1000,
               is_training=True,
               dropout_keep_prob=0.5,
               spatial_squeeze=True,
               scope='alexnet_v2',
               global_pool=False):
  """AlexNet version 2 of [2].

  Args:
    inputs: a tensor [batch, height, width, channels], at least 195x195
      (224x224 gives 1x1 logits; larger images a map of them).
    num_classes: logits size; 0 or None returns the fc7 features instead
      (before dropout7).
    is_training: dropout mode, a Python bool or a scalar bool tensor.
    dropout_keep_prob: keep probability of dropout6 and dropout7.
    spatial_squeeze: squeeze the logits [B, 1, 1, C] to [B, C] (op
      'fc8/squeezed').
    scope: variable scope.
    global_pool: average fc7 over height and width before the logits, for
      any input size from the minimum on (not part of [2]).

  Returns:
    net: the logits, or the fc7 features when num_classes is 0 or None.
    end_points: ordered dict `<scope>/conv1`, `<scope>/pool1`, ...,
      `<scope>/pool5`, `<scope>/fc6`, `<scope>/fc7`, 'global_pool',
      `<scope>/fc8`.

  Raises:
    ValueError / TypeError: bad inputs, too small an image, bad num_classes.
  """
  return fc_conv_net(inputs, _TOWER, _FC6, num_classes, is_training,
                     dropout_keep_prob, spatial_squeeze, scope, 'alexnet_v2',
                     global_pool)
