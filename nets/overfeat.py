"""OverFeat, drop-in for TF-Slim's `nets.overfeat`.

[1] Pierre Sermanet, David Eigen, Xiang Zhang, Michael Mathieu, Rob Fergus,
    Yann LeCun. OverFeat: Integrated Recognition, Localization and Detection
    using Convolutional Networks. arXiv:1312.6229

The "fast" model of [1] (Table 1) as slim has it (64 filters in conv1), with
slim's variable names, end points and numbers. Built by
`alexnet.fc_conv_net`, the generator of both networks: a convolutional
tower, then the fully connected layers as convolutions (`fc6` 6x6 VALID over
pool5, `fc7` and the logits `fc8` 1x1), so images larger than 231x231 give a
map of predictions. Checkpoints of this layout have 1000 classes and "vgg"
preprocessing.

Typical use:

   import tf_slim as slim
   from nets import overfeat

   with slim.arg_scope(overfeat.overfeat_arg_scope()):
     logits, end_points = overfeat.overfeat(images, num_classes=1000,
                                            is_training=False)
"""

import tensorflow as tf
import tf_slim as slim

from nets import _layers
from nets import alexnet
from nets import registry

# (scope, depth or None for a max-pool, kernel, stride, padding or None for
# the arg-scoped one).
_TOWER = (
    ('conv1', 64, 11, 4, 'VALID'),
    ('pool1', None, 2, 2, None),
    ('conv2', 256, 5, 1, 'VALID'),
    ('pool2', None, 2, 2, None),
    ('conv3', 512, 3, 1, None),
    ('conv4', 1024, 3, 1, None),
    ('conv5', 1024, 3, 1, None),
    ('pool5', None, 2, 2, None),
)
_FC6 = (3072, 6)  # depth, kernel (VALID)


def overfeat_arg_scope(weight_decay=0.0005):
  """The OverFeat arg scope: ReLU, L2 decay, zero biases, SAME convs.

  Args:
    weight_decay: the L2 regularization coefficient of the weights.

  Returns:
    An arg_scope (max-pools VALID).
  """
  with slim.arg_scope([_layers.conv2d, _layers.fully_connected],
                      activation_fn=tf.nn.relu,
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      biases_initializer=tf.compat.v1.zeros_initializer()):
    with slim.arg_scope([_layers.conv2d], padding='SAME'):
      with slim.arg_scope([_layers.max_pool2d], padding='VALID') as arg_sc:
        return arg_sc


@registry.register('overfeat', overfeat_arg_scope, 231, 1000, 'vgg',
                   min_image_size=231)
def overfeat(inputs,
             num_classes=1000,
             is_training=True,
             dropout_keep_prob=0.5,
             spatial_squeeze=True,
             scope='overfeat',
             global_pool=False):
  """The OverFeat fast model of [1].

  Args:
    inputs: a tensor [batch, height, width, channels], at least 231x231
      (which gives 1x1 logits; larger images a map of them).
    num_classes: logits size; 0 or None returns the fc7 features instead
      (before dropout7).
    is_training: dropout mode, a Python bool or a scalar bool tensor.
    dropout_keep_prob: keep probability of dropout6 and dropout7.
    spatial_squeeze: squeeze the logits [B, 1, 1, C] to [B, C] (op
      'fc8/squeezed').
    scope: variable scope.
    global_pool: average fc7 over height and width before the logits (not
      part of [1]).

  Returns:
    net: the logits, or the fc7 features when num_classes is 0 or None.
    end_points: ordered dict `<scope>/conv1`, `<scope>/pool1`, ...,
      `<scope>/pool5`, `<scope>/fc6`, `<scope>/fc7`, 'global_pool',
      `<scope>/fc8`.

  Raises:
    ValueError / TypeError: bad inputs, too small an image, bad num_classes.
  """
  return alexnet.fc_conv_net(inputs, _TOWER, _FC6, num_classes, is_training,
                             dropout_keep_prob, spatial_squeeze, scope,
                             'overfeat', global_pool)
