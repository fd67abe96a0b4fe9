"""Inception v2 (BN-Inception), drop-in for TF-Slim's `nets.inception_v2`.

[1] Sergey Ioffe, Christian Szegedy. Batch Normalization: Accelerating Deep
    Network Training by Reducing Internal Covariate Shift. arXiv:1502.03167

slim's version of the network of [1] (its "6a2" figure), with slim's
variable names, end points and numbers, so `inception_v2.ckpt` (1001
classes, "inception" preprocessing) restores as it is. Two details follow
slim rather than the paper's table: the first layer is a 7x7 depthwise-
separable convolution (with biases, no batch norm), and Mixed_4d / Mixed_4e
project their pooling branch to 96 channels, which keeps their outputs at
the 576 channels of the table's totals.

Typical use:

   import tf_slim as slim
   from nets import inception_v2

   with slim.arg_scope(inception_v2.inception_v2_arg_scope()):
     logits, end_points = inception_v2.inception_v2(images, 1001,
                                                    is_training=False)
"""

import contextlib

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import inception_utils
from nets import registry
from nets.inception_utils import Conv, Mixed, Pool, Section, SeparableConv

inception_v2_arg_scope = inception_utils.inception_arg_scope
_reduced_kernel_size_for_small_input = (
    inception_utils.reduced_kernel_size_for_small_input)


def _mixed(scope, d0, d1a, d1b, d2a, d2b, pool, d3):
  """1x1; 1x1 -> 3x3; 1x1 -> 3x3 -> 3x3; 3x3 `pool` ('avg'/'max') -> 1x1."""
  pool_scope = 'AvgPool_0a_3x3' if pool == 'avg' else 'MaxPool_0a_3x3'
  return Mixed(scope, [
      [Conv('Conv2d_0a_1x1', d0, [1, 1])],
      [Conv('Conv2d_0a_1x1', d1a, [1, 1], stddev=0.09),
       Conv('Conv2d_0b_3x3', d1b, [3, 3])],
      [Conv('Conv2d_0a_1x1', d2a, [1, 1], stddev=0.09),
       Conv('Conv2d_0b_3x3', d2b, [3, 3]),
       Conv('Conv2d_0c_3x3', d2b, [3, 3])],
      [Pool(pool_scope, pool, [3, 3]),
       Conv('Conv2d_0b_1x1', d3, [1, 1], stddev=0.1)],
  ])


def _reduction(scope, d0a, d0b, d1a, d1b):
  """Stride 2: 1x1 -> 3x3/2; 1x1 -> 3x3 -> 3x3/2; 3x3/2 max pool."""
  return Mixed(scope, [
      [Conv('Conv2d_0a_1x1', d0a, [1, 1], stddev=0.09),
       Conv('Conv2d_1a_3x3', d0b, [3, 3], stride=2)],
      [Conv('Conv2d_0a_1x1', d1a, [1, 1], stddev=0.09),
       Conv('Conv2d_0b_3x3', d1b, [3, 3]),
       Conv('Conv2d_1a_3x3', d1b, [3, 3], stride=2)],
      [Pool('MaxPool_1a_3x3', 'max', [3, 3], stride=2)],
  ])


def _root(use_separable_conv):
  if use_separable_conv:
    # A depthwise multiplier of 8 on RGB keeps the separable layer from
    # having more depthwise outputs (24) than pointwise ones (64).
    first = SeparableConv('Conv2d_1a_7x7', 64, [7, 7], stride=2, stddev=1.0,
                          max_multiplier=8)
  else:
    first = Conv('Conv2d_1a_7x7', 64, [7, 7], stride=2, stddev=1.0)
  return Section('SAME', [
      first,
      Pool('MaxPool_2a_3x3', 'max', [3, 3], stride=2),
      Conv('Conv2d_2b_1x1', 64, [1, 1], stddev=0.1),
      Conv('Conv2d_2c_3x3', 192, [3, 3]),
      Pool('MaxPool_3a_3x3', 'max', [3, 3], stride=2),
  ])


_BLOCKS = Section('SAME', [
    _mixed('Mixed_3b', 64, 64, 64, 64, 96, 'avg', 32),
    _mixed('Mixed_3c', 64, 64, 96, 64, 96, 'avg', 64),
    _reduction('Mixed_4a', 128, 160, 64, 96),
    _mixed('Mixed_4b', 224, 64, 96, 96, 128, 'avg', 128),
    _mixed('Mixed_4c', 192, 96, 128, 96, 128, 'avg', 128),
    _mixed('Mixed_4d', 160, 128, 160, 128, 160, 'avg', 96),
    _mixed('Mixed_4e', 96, 128, 192, 160, 192, 'avg', 96),
    _reduction('Mixed_5a', 128, 192, 192, 256),
    _mixed('Mixed_5b', 352, 192, 320, 160, 224, 'avg', 128),
    _mixed('Mixed_5c', 352, 192, 320, 192, 224, 'max', 128),
])

_HEAD = inception_utils.Head(
    kernel=[7, 7], reduce_kernel=True, pool_stride=None, pool_padding='VALID',
    pool_scope='AvgPool_1a_{}x{}', pool_end_point='AvgPool_1a',
    global_pool_name='global_pool', dropout_scope='Dropout_1b',
    prelogits=True, logits_scope='Conv2d_1c_1x1',
    predictions_in_logits_scope=False)


def _sections(include_root_block, use_separable_conv=True):
  blocks = [_BLOCKS]
  if include_root_block:
    blocks.insert(0, _root(use_separable_conv))
  return blocks


def _nchw_inputs(inputs):
  """`inputs` given in NCHW by the caller: checked, not transposed."""
  inputs = tf.convert_to_tensor(inputs)
  if inputs.shape.rank != 4 or inputs.shape.dims[1].value is None:
    raise ValueError(
        "inputs must be a rank-4 tensor [batch, channels, height, width] "
        "with known channels for data_format 'NCHW', got '%s' with shape %s"
        % (inputs.name, inputs.shape))
  return inputs


def inception_v2_base(inputs,
                      final_endpoint='Mixed_5c',
                      min_depth=16,
                      depth_multiplier=1.0,
                      use_separable_conv=True,
                      data_format='NHWC',
                      include_root_block=True,
                      scope=None):
  """Inception v2 from `inputs` up to `final_endpoint`.

  Every layer pads SAME, so any input size works: Mixed_5c is
  ceil(size / 32) on each side.

  Args:
    inputs: a tensor [batch, height, width, channels] ([batch, channels,
      height, width] with data_format 'NCHW').
    final_endpoint: the last end point built, one of 'Conv2d_1a_7x7',
      'MaxPool_2a_3x3', 'Conv2d_2b_1x1', 'Conv2d_2c_3x3', 'MaxPool_3a_3x3'
      (these five only with include_root_block), 'Mixed_3b', 'Mixed_3c',
      'Mixed_4a', 'Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e',
      'Mixed_5a', 'Mixed_5b', 'Mixed_5c'.
    min_depth: the fewest channels a convolution gets when
      depth_multiplier shrinks it.
    depth_multiplier: scales every convolution's channels; greater than 0.
    use_separable_conv: Conv2d_1a_7x7 is depthwise-separable (slim's
      checkpoints); False makes it a plain convolution.
    data_format: 'NHWC', or 'NCHW' for inputs and activations laid out
      channels first (needs use_separable_conv=False, as in slim). With
      'NHWC' the network follows the arg scope's data_format instead (see
      `nets.runtime.data_format_scope`).
    include_root_block: build the layers before Mixed_3b; without them
      `inputs` stand for MaxPool_3a_3x3 (192 channels).
    scope: variable scope, default 'InceptionV2'.

  Returns:
    net: the output of `final_endpoint`.
    end_points: dict of the end points built, in order.

  Raises:
    ValueError: for depth_multiplier <= 0, an unknown data_format or
      final_endpoint (the message lists the valid ones), NCHW with a
      separable first layer, or bad inputs.
  """
  depth = inception_utils.depth_fn(depth_multiplier, min_depth)
  if data_format not in ('NHWC', 'NCHW'):
    raise ValueError('data_format must be either NHWC or NCHW, got %r.' %
                     (data_format,))
  if data_format == 'NCHW' and use_separable_conv:
    raise ValueError(
        'separable convolution only supports NHWC layout. NCHW data format '
        'can only be used when use_separable_conv is False.')
  sections = _sections(include_root_block, use_separable_conv)
  inception_utils.check_final_endpoint(final_endpoint, sections, 'InceptionV2')
  end_points = {}
  with tf.compat.v1.variable_scope(scope, 'InceptionV2', [inputs]):
    if data_format == 'NCHW':
      inputs = _nchw_inputs(inputs)
      layout = slim.arg_scope(
          [_layers.conv2d, _layers.max_pool2d, _layers.avg_pool2d,
           _layers.batch_norm], data_format='NCHW')
    else:
      inputs = _common.validate_inputs(inputs)
      data_format = _common.scoped_data_format()
      layout = contextlib.nullcontext()
    with layout:
      net = inception_utils.build_sections(inputs, sections, final_endpoint,
                                           depth, end_points, data_format)
  return net, end_points


@registry.register('inception_v2', inception_v2_arg_scope, 224, 1001,
                   'inception')
def inception_v2(inputs,
                 num_classes=1000,
                 is_training=True,
                 dropout_keep_prob=0.8,
                 min_depth=16,
                 depth_multiplier=1.0,
                 prediction_fn=slim.softmax,
                 spatial_squeeze=True,
                 reuse=None,
                 scope='InceptionV2',
                 global_pool=False):
  """Inception v2 classifier of [1], as slim builds it.

  The base, then under 'Logits': a 7x7 VALID average pool (smaller for
  smaller maps, so any input pools to 1x1 up to 224; larger ones give
  larger maps) or, with global_pool, the mean over height and width;
  dropout 'Dropout_1b' ('PreLogits'); the 1x1 'Conv2d_1c_1x1' logits.

  Args:
    inputs: a tensor [batch, height, width, 3].
    num_classes: logits size; 0 or None returns the pooled features
      [batch, 1, 1, 1024] (before dropout).
    is_training: batch norm and dropout mode.
    dropout_keep_prob: probability of keeping an activation in dropout.
    min_depth: the fewest channels a convolution gets when
      depth_multiplier shrinks it.
    depth_multiplier: scales every convolution's channels; greater than 0.
    prediction_fn: maps the logits to 'Predictions' (softmax).
    spatial_squeeze: squeeze logits [B, 1, 1, C] to [B, C].
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope.
    global_pool: average over the whole map instead of the 7x7 window.

  Returns:
    net: the logits, or the pooled features when num_classes is falsy.
    end_points: the base's end points, then 'AvgPool_1a' (or
      'global_pool'), 'PreLogits', 'Logits', 'Predictions'.

  Raises:
    ValueError: for depth_multiplier <= 0 or bad inputs.
  """
  inception_utils.depth_fn(depth_multiplier, min_depth)
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  with tf.compat.v1.variable_scope(scope, 'InceptionV2', [inputs],
                                   reuse=reuse) as scope:
    with slim.arg_scope([_layers.batch_norm, _layers.dropout],
                        is_training=is_training):
      net, end_points = inception_v2_base(
          inputs, scope=scope, min_depth=min_depth,
          depth_multiplier=depth_multiplier)
      net = inception_utils.logits_head(
          net, end_points, _HEAD, num_classes, global_pool,
          dropout_keep_prob, spatial_squeeze, prediction_fn)
  return net, end_points
