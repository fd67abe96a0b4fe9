"""The Oxford VGG networks, drop-in for TF-Slim's `nets.vgg`.

[1] Karen Simonyan, Andrew Zisserman. Very Deep Convolutional Networks for
    Large-Scale Image Recognition. arXiv:1409.1556

Configurations A (`vgg_a`, 11 layers), D (`vgg_16`) and E (`vgg_19`) of
Table 1 of [1], with slim's variable names, end points and numbers, so slim's
`vgg_16.ckpt` / `vgg_19.ckpt` (1000 classes, "vgg" preprocessing) restore as
they are. Each network is five blocks of 3x3 convolutions
(`conv<b>/conv<b>_<i>`, the block depths and repeats below) each followed by
a 2x2/2 max-pool (`pool<b>`), then the fully connected layers written as
convolutions: `fc6` (7x7, VALID by default), `fc7` (1x1), `fc8` (1x1
logits). `vgg_d` and `vgg_e` are aliases of `vgg_16` and `vgg_19`, as in
slim.

Typical use:

   import tf_slim as slim
   from nets import vgg

   with slim.arg_scope(vgg.vgg_arg_scope()):
     logits, end_points = vgg.vgg_16(images, num_classes=1000,
                                     is_training=False)

   # Dense predictions on larger images, one per 32x32 window:
   with slim.arg_scope(vgg.vgg_arg_scope()):
     net, _ = vgg.vgg_16(images, spatial_squeeze=False, is_training=False,
                         fc_conv_padding='SAME')
"""

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import registry

# Output depth of the convolutions of blocks conv1..conv5 (Table 1 of [1]).
_BLOCK_DEPTHS = (64, 128, 256, 512, 512)

# Convolutions per block of each configuration.
_REPEATS = {
    'vgg_a': (1, 1, 2, 2, 2),
    'vgg_16': (2, 2, 3, 3, 3),
    'vgg_19': (2, 2, 4, 4, 4),
}

_FC6_KERNEL = 7


def vgg_arg_scope(weight_decay=0.0005):
  """The VGG arg scope: ReLU, L2 weight decay, zero biases, SAME convs.

  Args:
    weight_decay: the L2 regularization coefficient of the weights.

  Returns:
    An arg_scope.
  """
  with slim.arg_scope([_layers.conv2d, _layers.fully_connected],
                      activation_fn=tf.nn.relu,
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      biases_initializer=tf.compat.v1.zeros_initializer()):
    with slim.arg_scope([_layers.conv2d], padding='SAME') as arg_sc:
      return arg_sc


def _check_image_size(inputs, repeats, fc_conv_padding, model_name):
  """Raises for an fc_conv_padding other than SAME/VALID or too small images.

  Under vgg_arg_scope pool5 is 1/32 of the image (rounded down); a VALID fc6
  needs 7x7 of it.
  """
  if fc_conv_padding not in ('SAME', 'VALID'):
    raise ValueError("fc_conv_padding must be 'SAME' or 'VALID', got %r" %
                     (fc_conv_padding,))
  layers = []
  for times in repeats:
    layers += [(3, 1, _layers.conv2d)] * times + [(2, 2, _layers.max_pool2d)]
  layers.append((_FC6_KERNEL, 1, fc_conv_padding))
  if fc_conv_padding == 'VALID':
    reason = ("fc6 is a %dx%d VALID convolution over pool5; "
              "fc_conv_padding='SAME' takes smaller images" %
              (_FC6_KERNEL, _FC6_KERNEL))
  else:
    reason = 'five 2x2/2 max-pools'
  _common.check_image_size(inputs, _common.min_image_size(layers),
                           model_name, reason)


def _vgg(inputs, repeats, num_classes, is_training, dropout_keep_prob,
         spatial_squeeze, reuse, scope, default_scope, fc_conv_padding,
         global_pool):
  """Builds the VGG configuration whose block repeats are `repeats`."""
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(
      scope, default_scope, [inputs], reuse=reuse) as sc:
    net = _common.validate_inputs(inputs)
    _check_image_size(net, repeats, fc_conv_padding, sc.name)
    end_points_collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope([_layers.conv2d, _layers.max_pool2d],
                        outputs_collections=end_points_collection):
      for block, (times, depth) in enumerate(zip(repeats, _BLOCK_DEPTHS), 1):
        net = slim.repeat(net, times, _layers.conv2d, depth, [3, 3],
                          scope='conv%d' % block)
        net = _layers.max_pool2d(net, [2, 2], scope='pool%d' % block)
      return _common.fc_conv_head(
          net, end_points_collection, sc.name, 4096, _FC6_KERNEL,
          fc_conv_padding, num_classes, is_training, dropout_keep_prob,
          spatial_squeeze, global_pool)


def _register(fn):
  # 224: pool5 is 1/32 of the image and fc6 a 7x7 VALID convolution.
  return registry.register('vgg', vgg_arg_scope, 224, 1000, 'vgg',
                           min_image_size=224)(fn)


@_register
def vgg_a(inputs,
          num_classes=1000,
          is_training=True,
          dropout_keep_prob=0.5,
          spatial_squeeze=True,
          reuse=None,
          scope='vgg_a',
          fc_conv_padding='VALID',
          global_pool=False):
  """VGG configuration A (11 weight layers) of [1].

  Args:
    inputs: a tensor [batch, height, width, channels]; at least 224x224 with
      fc_conv_padding 'VALID' (32x32 with 'SAME').
    num_classes: logits size; 0 or None returns the fc7 features instead
      (before dropout7).
    is_training: dropout mode, a Python bool or a scalar bool tensor.
    dropout_keep_prob: keep probability of dropout6 and dropout7.
    spatial_squeeze: squeeze the logits [B, 1, 1, C] to [B, C] (op
      'fc8/squeezed').
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope.
    fc_conv_padding: padding of fc6: 'VALID' (a 224x224 image gives 1x1
      logits, larger ones (size/32 - 6)^2), or 'SAME' (size/32 outputs).
    global_pool: average fc7 over height and width before the logits, for
      any input size (not part of [1]).

  Returns:
    net: the logits, or the fc7 features when num_classes is 0 or None.
    end_points: ordered dict `<scope>/conv<b>/conv<b>_<i>`, `<scope>/pool<b>`,
      `<scope>/fc6`, `<scope>/fc7`, 'global_pool', `<scope>/fc8`.

  Raises:
    ValueError / TypeError: bad inputs, too small an image, bad num_classes.
  """
  return _vgg(inputs, _REPEATS['vgg_a'], num_classes, is_training,
              dropout_keep_prob, spatial_squeeze, reuse, scope, 'vgg_a',
              fc_conv_padding, global_pool)


@_register
def vgg_16(inputs,
           num_classes=1000,
           is_training=True,
           dropout_keep_prob=0.5,
           spatial_squeeze=True,
           reuse=None,
           scope='vgg_16',
           fc_conv_padding='VALID',
           global_pool=False):
  """VGG configuration D (16 weight layers) of [1]. See vgg_a() for args."""
  return _vgg(inputs, _REPEATS['vgg_16'], num_classes, is_training,
              dropout_keep_prob, spatial_squeeze, reuse, scope, 'vgg_16',
              fc_conv_padding, global_pool)


@_register
def vgg_19(inputs,
           num_classes=1000,
           is_training=True,
           dropout_keep_prob=0.5,
           spatial_squeeze=True,
           reuse=None,
           scope='vgg_19',
           fc_conv_padding='VALID',
           global_pool=False):
  """VGG configuration E (19 weight layers) of [1]. See vgg_a() for args."""
  return _vgg(inputs, _REPEATS['vgg_19'], num_classes, is_training,
              dropout_keep_prob, spatial_squeeze, reuse, scope, 'vgg_19',
              fc_conv_padding, global_pool)


# slim's names after the configurations of [1].
vgg_d = vgg_16
vgg_e = vgg_19
