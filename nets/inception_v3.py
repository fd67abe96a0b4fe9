"""Inception v3, drop-in for TF-Slim's `nets.inception_v3`.

[1] Christian Szegedy, Vincent Vanhoucke, Sergey Ioffe, Jonathon Shlens,
    Zbigniew Wojna. Rethinking the Inception Architecture for Computer
    Vision. arXiv:1512.00567

slim's Inception v3 with its variable names, end points and numbers, so
`inception_v3.ckpt` (1001 classes, "inception" preprocessing, 299x299)
restores as it is. The names are slim's, not the paper's (mixed_35x35x256a
is Mixed_5b, ..., mixed_8x8x2048b is Mixed_7c), including the few that do
not describe their layer (Mixed_5c's 'Conv_1_0c_5x5', Mixed_6a's 3x3
'Conv2d_1a_1x1'), which the checkpoints carry.

Typical use:

   import tf_slim as slim
   from nets import inception_v3

   with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
     logits, end_points = inception_v3.inception_v3(images, 1001,
                                                    is_training=False)
   aux_logits = end_points['AuxLogits']
"""

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import inception_utils
from nets import registry
from nets.inception_utils import Conv, Fork, Mixed, Pool, Section

inception_v3_arg_scope = inception_utils.inception_arg_scope
_reduced_kernel_size_for_small_input = (
    inception_utils.reduced_kernel_size_for_small_input)


def _mixed_35(scope, d3, branch1=('Conv2d_0a_1x1', 'Conv2d_0b_5x5')):
  """35x35 block: 1x1; 1x1 -> 5x5; 1x1 -> 3x3 -> 3x3; avg pool -> 1x1."""
  return Mixed(scope, [
      [Conv('Conv2d_0a_1x1', 64, [1, 1])],
      [Conv(branch1[0], 48, [1, 1]), Conv(branch1[1], 64, [5, 5])],
      [Conv('Conv2d_0a_1x1', 64, [1, 1]),
       Conv('Conv2d_0b_3x3', 96, [3, 3]),
       Conv('Conv2d_0c_3x3', 96, [3, 3])],
      [Pool('AvgPool_0a_3x3', 'avg', [3, 3]),
       Conv('Conv2d_0b_1x1', d3, [1, 1])],
  ])


def _mixed_17(scope, width):
  """17x17 block with 7x7 convolutions factorized into 1x7 and 7x1."""
  return Mixed(scope, [
      [Conv('Conv2d_0a_1x1', 192, [1, 1])],
      [Conv('Conv2d_0a_1x1', width, [1, 1]),
       Conv('Conv2d_0b_1x7', width, [1, 7]),
       Conv('Conv2d_0c_7x1', 192, [7, 1])],
      [Conv('Conv2d_0a_1x1', width, [1, 1]),
       Conv('Conv2d_0b_7x1', width, [7, 1]),
       Conv('Conv2d_0c_1x7', width, [1, 7]),
       Conv('Conv2d_0d_7x1', width, [7, 1]),
       Conv('Conv2d_0e_1x7', 192, [1, 7])],
      [Pool('AvgPool_0a_3x3', 'avg', [3, 3]),
       Conv('Conv2d_0b_1x1', 192, [1, 1])],
  ])


def _mixed_8(scope, branch1_3x1):
  """8x8 block whose 3x3 convolutions end in parallel 1x3 and 3x1 ones."""
  return Mixed(scope, [
      [Conv('Conv2d_0a_1x1', 320, [1, 1])],
      [Conv('Conv2d_0a_1x1', 384, [1, 1]),
       Fork([Conv('Conv2d_0b_1x3', 384, [1, 3]),
             Conv(branch1_3x1, 384, [3, 1])])],
      [Conv('Conv2d_0a_1x1', 448, [1, 1]),
       Conv('Conv2d_0b_3x3', 384, [3, 3]),
       Fork([Conv('Conv2d_0c_1x3', 384, [1, 3]),
             Conv('Conv2d_0d_3x1', 384, [3, 1])])],
      [Pool('AvgPool_0a_3x3', 'avg', [3, 3]),
       Conv('Conv2d_0b_1x1', 192, [1, 1])],
  ])


_ROOT = Section('VALID', [
    Conv('Conv2d_1a_3x3', 32, [3, 3], stride=2),
    Conv('Conv2d_2a_3x3', 32, [3, 3]),
    Conv('Conv2d_2b_3x3', 64, [3, 3], padding='SAME'),
    Pool('MaxPool_3a_3x3', 'max', [3, 3], stride=2),
    Conv('Conv2d_3b_1x1', 80, [1, 1]),
    Conv('Conv2d_4a_3x3', 192, [3, 3]),
    Pool('MaxPool_5a_3x3', 'max', [3, 3], stride=2),
])

_BLOCKS = Section('SAME', [
    _mixed_35('Mixed_5b', 32),
    _mixed_35('Mixed_5c', 64, branch1=('Conv2d_0b_1x1', 'Conv_1_0c_5x5')),
    _mixed_35('Mixed_5d', 64),
    Mixed('Mixed_6a', [
        [Conv('Conv2d_1a_1x1', 384, [3, 3], stride=2, padding='VALID')],
        [Conv('Conv2d_0a_1x1', 64, [1, 1]),
         Conv('Conv2d_0b_3x3', 96, [3, 3]),
         Conv('Conv2d_1a_1x1', 96, [3, 3], stride=2, padding='VALID')],
        [Pool('MaxPool_1a_3x3', 'max', [3, 3], stride=2, padding='VALID')],
    ]),
    _mixed_17('Mixed_6b', 128),
    _mixed_17('Mixed_6c', 160),
    _mixed_17('Mixed_6d', 160),
    _mixed_17('Mixed_6e', 192),
    Mixed('Mixed_7a', [
        [Conv('Conv2d_0a_1x1', 192, [1, 1]),
         Conv('Conv2d_1a_3x3', 320, [3, 3], stride=2, padding='VALID')],
        [Conv('Conv2d_0a_1x1', 192, [1, 1]),
         Conv('Conv2d_0b_1x7', 192, [1, 7]),
         Conv('Conv2d_0c_7x1', 192, [7, 1]),
         Conv('Conv2d_1a_3x3', 192, [3, 3], stride=2, padding='VALID')],
        [Pool('MaxPool_1a_3x3', 'max', [3, 3], stride=2, padding='VALID')],
    ]),
    _mixed_8('Mixed_7b', 'Conv2d_0b_3x1'),
    _mixed_8('Mixed_7c', 'Conv2d_0c_3x1'),
])

_SECTIONS = [_ROOT, _BLOCKS]

_HEAD = inception_utils.Head(
    kernel=[8, 8], reduce_kernel=True, pool_stride=None, pool_padding='VALID',
    pool_scope='AvgPool_1a_{}x{}', pool_end_point='AvgPool_1a',
    global_pool_name='GlobalPool', dropout_scope='Dropout_1b',
    prelogits=True, logits_scope='Conv2d_1c_1x1',
    predictions_in_logits_scope=False)

# AuxLogits starts with a 5x5 VALID pool on Mixed_6e.
_AUX_NEEDS = (('Mixed_6e', 5, "AuxLogits' 5x5 VALID pool on Mixed_6e; "
                'create_aux_logits=False takes {plain}x{plain}'),)


def inception_v3_base(inputs,
                      final_endpoint='Mixed_7c',
                      min_depth=16,
                      depth_multiplier=1.0,
                      scope=None):
  """Inception v3 from `inputs` up to `final_endpoint`.

  The layers before Mixed_5b pad VALID (except Conv2d_2b_3x3), as do the
  stride-2 layers of Mixed_6a and Mixed_7a: 299x299 inputs give 35x35,
  17x17 and 8x8 maps, and the network takes 75x75 inputs at least.

  Args:
    inputs: a tensor [batch, height, width, channels].
    final_endpoint: the last end point built, one of 'Conv2d_1a_3x3',
      'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'MaxPool_3a_3x3', 'Conv2d_3b_1x1',
      'Conv2d_4a_3x3', 'MaxPool_5a_3x3', 'Mixed_5b', 'Mixed_5c', 'Mixed_5d',
      'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e',
      'Mixed_7a', 'Mixed_7b', 'Mixed_7c'.
    min_depth: the fewest channels a convolution gets when
      depth_multiplier shrinks it.
    depth_multiplier: scales every convolution's channels; greater than 0.
    scope: variable scope, default 'InceptionV3'.

  Returns:
    net: the output of `final_endpoint`.
    end_points: dict of the end points built, in order.

  Raises:
    ValueError: for depth_multiplier <= 0, an unknown final_endpoint (the
      message lists the valid ones), inputs too small or otherwise bad.
  """
  return _base(inputs, _SECTIONS, final_endpoint, min_depth,
               depth_multiplier, scope)


def _base(inputs, sections, final_endpoint='Mixed_7c', min_depth=16,
          depth_multiplier=1.0, scope=None):
  """`inception_v3_base` built from `sections` (a variant's, or _SECTIONS)."""
  depth = inception_utils.depth_fn(depth_multiplier, min_depth)
  inception_utils.check_final_endpoint(final_endpoint, sections,
                                       'InceptionV3')
  end_points = {}
  with tf.compat.v1.variable_scope(scope, 'InceptionV3', [inputs]):
    inputs = _common.validate_inputs(inputs)
    data_format = _common.scoped_data_format()
    inputs = inception_utils.check_input_size(
        inputs, sections, final_endpoint, 'InceptionV3',
        data_format=data_format)
    net = inception_utils.build_sections(inputs, sections, final_endpoint,
                                         depth, end_points, data_format)
  return net, end_points


def _aux_logits(net, num_classes, depth, spatial_squeeze):
  """The auxiliary classifier on Mixed_6e (section 4 of [1])."""
  with slim.arg_scope([_layers.conv2d, _layers.max_pool2d, _layers.avg_pool2d],
                      stride=1, padding='SAME'):
    with tf.compat.v1.variable_scope('AuxLogits'):
      net = _layers.avg_pool2d(net, [5, 5], stride=3, padding='VALID',
                               scope='AvgPool_1a_5x5')
      net = _layers.conv2d(net, depth(128), [1, 1], scope='Conv2d_1b_1x1')
      # 5x5 at 299x299: the whole map.
      kernel = _reduced_kernel_size_for_small_input(net, [5, 5])
      net = _layers.conv2d(
          net, depth(768), kernel,
          weights_initializer=inception_utils.trunc_normal(0.01),
          padding='VALID', scope='Conv2d_2a_{}x{}'.format(*kernel))
      net = _layers.conv2d(
          net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
          weights_initializer=inception_utils.trunc_normal(0.001),
          scope='Conv2d_2b_1x1')
      if spatial_squeeze:
        net = tf.squeeze(net, _common.spatial_axes(), name='SpatialSqueeze')
      return net


@registry.register('inception_v3', inception_v3_arg_scope, 299, 1001,
                   'inception', min_image_size=107)
def inception_v3(inputs,
                 num_classes=1000,
                 is_training=True,
                 dropout_keep_prob=0.8,
                 min_depth=16,
                 depth_multiplier=1.0,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 create_aux_logits=True,
                 scope='InceptionV3',
                 global_pool=False):
  """Inception v3 classifier of [1], as slim builds it.

  The base, the auxiliary classifier 'AuxLogits' on Mixed_6e, then under
  'Logits': an 8x8 VALID average pool (smaller for smaller maps, so inputs
  up to 299 pool to 1x1) or, with global_pool, the mean over height and
  width; dropout 'Dropout_1b' ('PreLogits'); the 1x1 'Conv2d_1c_1x1' logits.

  Args:
    inputs: a tensor [batch, height, width, 3], at least 75x75 (107x107
      with the auxiliary logits).
    num_classes: logits size; 0 or None returns the pooled features
      [batch, 1, 1, 2048] (before dropout), without AuxLogits.
    is_training: batch norm and dropout mode.
    dropout_keep_prob: probability of keeping an activation in dropout.
    min_depth: the fewest channels a convolution gets when
      depth_multiplier shrinks it.
    depth_multiplier: scales every convolution's channels; greater than 0.
    prediction_fn: maps the logits to 'Predictions' (softmax).
    spatial_squeeze: squeeze logits [B, 1, 1, C] to [B, C].
    reuse: reuse the network's variables (needs `scope`).
    create_aux_logits: add the auxiliary classifier.
    scope: variable scope.
    global_pool: average over the whole map instead of the 8x8 window.

  Returns:
    net: the logits, or the pooled features when num_classes is falsy.
    end_points: the base's end points, then 'AuxLogits', 'AvgPool_1a' (or
      'global_pool'), 'PreLogits', 'Logits', 'Predictions'.

  Raises:
    ValueError: for depth_multiplier <= 0, inputs too small or otherwise
      bad.
  """
  return _inception_v3(_SECTIONS, inputs, num_classes, is_training,
                       dropout_keep_prob, min_depth, depth_multiplier,
                       prediction_fn, spatial_squeeze, reuse,
                       create_aux_logits, scope, global_pool)


def _inception_v3(sections, inputs, num_classes=1000, is_training=True,
                  dropout_keep_prob=0.8, min_depth=16, depth_multiplier=1.0,
                  prediction_fn=slim.softmax, spatial_squeeze=True,
                  reuse=None, create_aux_logits=True, scope='InceptionV3',
                  global_pool=False):
  """`inception_v3` with the base built from `sections` instead of slim's.

  For variants that change a weight-free detail of the blocks (the torch
  ports' average pools: `checkpoints_tools.variants`); the other arguments
  and the returns are `inception_v3`'s.
  """
  depth = inception_utils.depth_fn(depth_multiplier, min_depth)
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with_aux = bool(create_aux_logits and num_classes)
  with tf.compat.v1.variable_scope(scope, 'InceptionV3', [inputs],
                                   reuse=reuse) as scope:
    # Images are NHWC here; the base lays them out for the arg scope.
    inputs = inception_utils.check_input_size(
        inputs, sections, 'Mixed_7c', 'InceptionV3',
        needs=_AUX_NEEDS if with_aux else ())
    with slim.arg_scope([_layers.batch_norm, _layers.dropout],
                        is_training=is_training):
      net, end_points = _base(
          inputs, sections, scope=scope, min_depth=min_depth,
          depth_multiplier=depth_multiplier)
      if with_aux:
        end_points['AuxLogits'] = _aux_logits(
            end_points['Mixed_6e'], num_classes, depth, spatial_squeeze)
      net = inception_utils.logits_head(
          net, end_points, _HEAD, num_classes, global_pool,
          dropout_keep_prob, spatial_squeeze, prediction_fn)
  return net, end_points
