"""Inception v1 (GoogLeNet), drop-in for TF-Slim's `nets.inception_v1`.

[1] Christian Szegedy, Wei Liu, Yangqing Jia, Pierre Sermanet, Scott Reed,
    Dragomir Anguelov, Dumitru Erhan, Vincent Vanhoucke, Andrew Rabinovich.
    Going Deeper with Convolutions. arXiv:1409.4842

slim's variant of [1], with its variable names, end points and numbers, so
`inception_v1.ckpt` (1001 classes, "inception" preprocessing) restores as it
is. Unlike Table 1 of [1], slim's blocks use a 3x3 convolution where the
paper has 5x5 (kept, as the checkpoints have it), batch norm comes from the
arg scope, and there are no auxiliary classifiers.

Typical use:

   import tf_slim as slim
   from nets import inception_v1

   with slim.arg_scope(inception_v1.inception_v1_arg_scope()):
     logits, end_points = inception_v1.inception_v1(images, 1001,
                                                    is_training=False)
"""

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import inception_utils
from nets import registry
from nets.inception_utils import Conv, Mixed, Pool, Section

inception_v1_arg_scope = inception_utils.inception_arg_scope


def _mixed(scope, d0, d1a, d1b, d2a, d2b, d3, branch2_scope='Conv2d_0b_3x3'):
  """A block of [1]: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 (5x5 in [1]); pool -> 1x1."""
  return Mixed(scope, [
      [Conv('Conv2d_0a_1x1', d0, [1, 1])],
      [Conv('Conv2d_0a_1x1', d1a, [1, 1]),
       Conv('Conv2d_0b_3x3', d1b, [3, 3])],
      [Conv('Conv2d_0a_1x1', d2a, [1, 1]),
       Conv(branch2_scope, d2b, [3, 3])],
      [Pool('MaxPool_0a_3x3', 'max', [3, 3]),
       Conv('Conv2d_0b_1x1', d3, [1, 1])],
  ])


_ROOT = Section('SAME', [
    Conv('Conv2d_1a_7x7', 64, [7, 7], stride=2),
    Pool('MaxPool_2a_3x3', 'max', [3, 3], stride=2),
    Conv('Conv2d_2b_1x1', 64, [1, 1]),
    Conv('Conv2d_2c_3x3', 192, [3, 3]),
    Pool('MaxPool_3a_3x3', 'max', [3, 3], stride=2),
])

_BLOCKS = Section('SAME', [
    _mixed('Mixed_3b', 64, 96, 128, 16, 32, 32),
    _mixed('Mixed_3c', 128, 128, 192, 32, 96, 64),
    Pool('MaxPool_4a_3x3', 'max', [3, 3], stride=2),
    _mixed('Mixed_4b', 192, 96, 208, 16, 48, 64),
    _mixed('Mixed_4c', 160, 112, 224, 24, 64, 64),
    _mixed('Mixed_4d', 128, 128, 256, 24, 64, 64),
    _mixed('Mixed_4e', 112, 144, 288, 32, 64, 64),
    _mixed('Mixed_4f', 256, 160, 320, 32, 128, 128),
    Pool('MaxPool_5a_2x2', 'max', [2, 2], stride=2),
    # slim's checkpoints name this one layer 0a.
    _mixed('Mixed_5b', 256, 160, 320, 32, 128, 128,
           branch2_scope='Conv2d_0a_3x3'),
    _mixed('Mixed_5c', 384, 192, 384, 48, 128, 128),
])

_HEAD = inception_utils.Head(
    kernel=[7, 7], reduce_kernel=False, pool_stride=1, pool_padding=None,
    pool_scope='AvgPool_0a_7x7', pool_end_point='AvgPool_0a_7x7',
    global_pool_name='global_pool', dropout_scope='Dropout_0b',
    prelogits=False, logits_scope='Conv2d_0c_1x1',
    predictions_in_logits_scope=True)

# The fixed 7x7 VALID pool needs a 7x7 Mixed_5c (inputs of 193 and more).
_HEAD_NEEDS = (('Mixed_5c', 7, "the 7x7 VALID 'AvgPool_0a_7x7' on Mixed_5c; "
                 'global_pool=True takes any size'),)


def _sections(include_root_block):
  return [_ROOT, _BLOCKS] if include_root_block else [_BLOCKS]


def inception_v1_base(inputs,
                      final_endpoint='Mixed_5c',
                      include_root_block=True,
                      scope='InceptionV1'):
  """Inception v1 from `inputs` up to `final_endpoint`.

  Every layer pads SAME, so any input size works: Mixed_5c is
  ceil(size / 32) on each side.

  Args:
    inputs: a tensor [batch, height, width, channels].
    final_endpoint: the last end point built, one of 'Conv2d_1a_7x7',
      'MaxPool_2a_3x3', 'Conv2d_2b_1x1', 'Conv2d_2c_3x3', 'MaxPool_3a_3x3'
      (these five only with include_root_block), 'Mixed_3b', 'Mixed_3c',
      'MaxPool_4a_3x3', 'Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e',
      'Mixed_4f', 'MaxPool_5a_2x2', 'Mixed_5b', 'Mixed_5c'.
    include_root_block: build the convolutions and pools before Mixed_3b;
      without them `inputs` stand for MaxPool_3a_3x3 (192 channels).
    scope: variable scope.

  Returns:
    net: the output of `final_endpoint`.
    end_points: dict of the end points built, in order.

  Raises:
    ValueError: for an unknown final_endpoint (the message lists the valid
      ones) or bad inputs.
  """
  sections = _sections(include_root_block)
  inception_utils.check_final_endpoint(final_endpoint, sections, 'InceptionV1')
  end_points = {}
  with tf.compat.v1.variable_scope(scope, 'InceptionV1', [inputs]):
    inputs = _common.validate_inputs(inputs)
    with slim.arg_scope([_layers.conv2d, _layers.fully_connected],
                        weights_initializer=inception_utils.trunc_normal(0.01)):
      net = inception_utils.build_sections(
          inputs, sections, final_endpoint, lambda d: d, end_points,
          _common.scoped_data_format())
  return net, end_points


@registry.register('inception_v1', inception_v1_arg_scope, 224, 1001,
                   'inception', min_image_size=193)
def inception_v1(inputs,
                 num_classes=1000,
                 is_training=True,
                 dropout_keep_prob=0.8,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='InceptionV1',
                 global_pool=False):
  """Inception v1 classifier of [1], as slim builds it.

  The base, then under 'Logits': a 7x7 average pool (stride 1, so inputs
  above 224 give a map larger than 1x1) or, with global_pool, the mean over
  height and width; dropout 'Dropout_0b'; the 1x1 'Conv2d_0c_1x1' logits.

  Args:
    inputs: a tensor [batch, height, width, 3]; at least 193x193 unless
      global_pool.
    num_classes: logits size; 0 or None returns the pooled features
      [batch, 1, 1, 1024] (before dropout).
    is_training: batch norm and dropout mode.
    dropout_keep_prob: probability of keeping an activation in dropout.
    prediction_fn: maps the logits to 'Predictions' (softmax).
    spatial_squeeze: squeeze logits [B, 1, 1, C] to [B, C].
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope.
    global_pool: average over the whole map instead of the 7x7 window.

  Returns:
    net: the logits, or the pooled features when num_classes is falsy.
    end_points: the base's end points, then 'AvgPool_0a_7x7' (or
      'global_pool'), 'Logits', 'Predictions'.

  Raises:
    ValueError: for inputs too small for the 7x7 pool, or other bad inputs.
  """
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(scope, 'InceptionV1', [inputs],
                                   reuse=reuse) as scope:
    # Images are NHWC here; the base lays them out for the arg scope.
    inputs = inception_utils.check_input_size(
        inputs, _sections(True), 'Mixed_5c', 'InceptionV1',
        needs=() if global_pool else _HEAD_NEEDS)
    with slim.arg_scope([_layers.batch_norm, _layers.dropout],
                        is_training=is_training):
      net, end_points = inception_v1_base(inputs, scope=scope)
      net = inception_utils.logits_head(
          net, end_points, _HEAD, num_classes, global_pool,
          dropout_keep_prob, spatial_squeeze, prediction_fn)
  return net, end_points
