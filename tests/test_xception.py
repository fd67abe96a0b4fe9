"""Tests of nets.xception.

The aligned Xception is checked against DeepLab's naming and padding rules
(research/deeplab/core/xception.py and its tests) on tiny specs, against
timm's published parameter counts of the ported DeepLab checkpoints, and for
slim's atrous property (dense features subsampled equal nominal ones). The
original Xception is checked numerically against
`tf_keras.applications.Xception` with copied weights.
"""

import collections
import functools
import re

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import (assert_close, assign_values, build_in_graph,
                      global_variables, new_session, perturb_batch_norm)
from nets import registry
from nets import resnet_utils
from nets import xception

_BN = ('gamma', 'beta', 'moving_mean', 'moving_variance')


def _random_images(shape, seed=0):
  return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


def _param_count(graph, collection=tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES):
  return sum(int(np.prod(v.shape.as_list()))
             for v in graph.get_collection(collection))


# Tiny aligned Xception: (scope, depth_list, skip, num_units, stride,
# activation_fn_in_separable_conv). Nominal stride 2 (root) * 8 = 16.
_TINY_ALIGNED = (
    ('entry_flow/block1', [2, 2, 2], 'conv', 1, 2, False),
    ('entry_flow/block2', [4, 4, 4], 'conv', 1, 2, False),
    ('middle_flow/block1', [4, 4, 4], 'sum', 2, 1, False),
    ('exit_flow/block1', [4, 8, 8], 'conv', 1, 2, False),
    ('exit_flow/block2', [8, 8, 16], 'none', 1, 1, True),
)


def _tiny_aligned(inputs, regularize_depthwise=False, multi_grid=None,
                  **kwargs):
  blocks = [
      xception.xception_block(
          scope, depth_list, skip, activation_in, regularize_depthwise,
          num_units, stride,
          unit_rate_list=multi_grid if scope == 'exit_flow/block2' else None)
      for scope, depth_list, skip, num_units, stride, activation_in in
      _TINY_ALIGNED
  ]
  return xception.xception(inputs, blocks, **kwargs)


def _unit_scopes(net_scope, spec):
  """(unit scope, skip type, number of separable convs) per unit, in order."""
  for block_scope, depth_list, skip, num_units, _, _ in spec:
    for u in range(num_units):
      yield ('%s/%s/unit_%d/xception_module' % (net_scope, block_scope, u + 1),
             skip, len(depth_list))


def _block_ends(net_scope, spec):
  """Maps the scope of each block's last unit to the block's end point."""
  return {
      '%s/%s/unit_%d/xception_module' % (net_scope, block_scope, num_units):
          '%s/%s' % (net_scope, block_scope)
      for block_scope, _, _, num_units, _, _ in spec
  }


def _expected_aligned_end_points(net_scope, split):
  """DeepLab's end point keys, by its naming rules, in collection order."""
  names = [net_scope + '/entry_flow/conv1_1', net_scope + '/entry_flow/conv1_2']
  block_ends = _block_ends(net_scope, _TINY_ALIGNED)
  for unit, skip, num_convs in _unit_scopes(net_scope, _TINY_ALIGNED):
    for k in range(1, num_convs + 1):
      if split:
        names += ['%s/separable_conv%d_depthwise' % (unit, k),
                  '%s/separable_conv%d_pointwise' % (unit, k)]
      else:
        names.append('%s/separable_conv%d' % (unit, k))
    if skip == 'conv':
      names.append(unit + '/shortcut')
    names.append(unit)
    if unit in block_ends:
      names.append(block_ends[unit])
  return names + ['global_pool', net_scope + '/logits', 'predictions']


def _expected_aligned_variables(net_scope, split):
  """DeepLab's checkpoint variable names, by its naming rules."""
  names = set()

  def conv(scope, weights):
    names.add('%s/%s' % (scope, weights))
    names.update('%s/BatchNorm/%s' % (scope, p) for p in _BN)

  conv(net_scope + '/entry_flow/conv1_1', 'weights')
  conv(net_scope + '/entry_flow/conv1_2', 'weights')
  for unit, skip, num_convs in _unit_scopes(net_scope, _TINY_ALIGNED):
    for k in range(1, num_convs + 1):
      if split:
        conv('%s/separable_conv%d_depthwise' % (unit, k), 'depthwise_weights')
        conv('%s/separable_conv%d_pointwise' % (unit, k), 'weights')
      else:
        conv('%s/separable_conv%d' % (unit, k), 'depthwise_weights')
        names.add('%s/separable_conv%d/pointwise_weights' % (unit, k))
    if skip == 'conv':
      conv(unit + '/shortcut', 'weights')
  names.add(net_scope + '/logits/weights')
  names.add(net_scope + '/logits/biases')
  return names


@pytest.mark.parametrize('regularize_depthwise', [False, True])
def test_aligned_end_points_variables_and_shapes(regularize_depthwise):
  built = build_in_graph(_tiny_aligned, [2, 65, 65, 3],
                         arg_scope=xception.xception_arg_scope(),
                         regularize_depthwise=regularize_depthwise,
                         num_classes=10, scope='xception')
  split = not regularize_depthwise
  assert list(built.end_points) == _expected_aligned_end_points('xception',
                                                                split)
  assert {v.op.name for v in global_variables(built.graph)} == (
      _expected_aligned_variables('xception', split))
  shapes = {
      'xception/entry_flow/conv1_1': [2, 33, 33, 32],
      'xception/entry_flow/conv1_2': [2, 33, 33, 64],
      'xception/entry_flow/block1': [2, 17, 17, 2],
      'xception/entry_flow/block2': [2, 9, 9, 4],
      'xception/middle_flow/block1': [2, 9, 9, 4],
      'xception/exit_flow/block1': [2, 5, 5, 8],
      'xception/exit_flow/block2': [2, 5, 5, 16],
      'global_pool': [2, 1, 1, 16],
      'xception/logits': [2, 1, 1, 10],
      'predictions': [2, 1, 1, 10],
  }
  assert {k: built.end_points[k].shape.as_list() for k in shapes} == shapes
  assert built.net.shape.as_list() == [2, 1, 1, 10]
  assert built.net.op.name.startswith('xception/logits')


def test_aligned_atrous_shapes_and_unknown_size():
  built = build_in_graph(_tiny_aligned, [2, None, None, 3],
                         arg_scope=xception.xception_arg_scope(),
                         global_pool=False, output_stride=8,
                         is_training=False)
  assert built.net.shape.as_list() == [2, None, None, 16]
  with new_session(built.graph) as sess:
    out = sess.run(built.net,
                   {built.inputs: _random_images([2, 65, 65, 3])})
  assert out.shape == (2, 9, 9, 16)


def _atrous_and_nominal(build, arg_scope_fn, images, output_stride,
                        nominal_stride):
  """Inference outputs at `output_stride` (subsampled) and at the nominal one.

  Random weights leave inference batch norm with a vanishing signal, which
  would make any comparison pass; so a training pass with decay 0 first sets
  every moving statistic to its batch statistic (after randomizing gamma and
  beta).
  """
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(0)
    inputs = tf.constant(images)
    with slim.arg_scope(arg_scope_fn(batch_norm_decay=0.0)):
      build(inputs, is_training=True, global_pool=False, scope='x')
      updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
      dense, _ = build(inputs, is_training=False, global_pool=False,
                       output_stride=output_stride, reuse=True, scope='x')
      dense = resnet_utils.subsample(
          dense, nominal_stride // (output_stride or nominal_stride))
      nominal, _ = build(inputs, is_training=False, global_pool=False,
                         reuse=True, scope='x')
  with new_session(graph) as sess:
    perturb_batch_norm(sess)
    sess.run(updates)
    dense, nominal = sess.run([dense, nominal])
  # A real signal: values vary over positions as much as they are large.
  assert nominal.std(axis=(1, 2)).mean() > 0.1 * np.abs(nominal).max()
  return dense, nominal


def test_aligned_atrous_values_equal_subsampled_nominal():
  # Odd height, even width: the aligned padding fits both.
  images = _random_images([2, 33, 32, 3])
  build = functools.partial(_tiny_aligned, multi_grid=[1, 2, 4])
  for output_stride in (4, 8, None):
    dense, nominal = _atrous_and_nominal(build, xception.xception_arg_scope,
                                         images, output_stride, 16)
    assert nominal.shape == (2, 3, 2, 16)
    assert_close(dense, nominal, rel=1e-4,
                 what='output_stride %s' % output_stride)


def _depthwise_rates(graph, unit_scope):
  """The atrous rate of separable_conv1..3's depthwise convs in `unit_scope`.

  TensorFlow runs a dilated depthwise conv as SpaceToBatchND with the rate
  as block shape.
  """
  rates = []
  for k in (1, 2, 3):
    prefix = '%s/separable_conv%d_depthwise/' % (unit_scope, k)
    ops = [op for op in graph.get_operations()
           if op.name.startswith(prefix) and op.type == 'SpaceToBatchND']
    rates.append(int(tf.get_static_value(ops[0].inputs[1])[0]) if ops else 1)
  return rates


@pytest.mark.parametrize('output_stride, rates', [(None, [1, 2, 4]),
                                                  (8, [2, 4, 8])])
def test_multi_grid_scales_the_last_block_rates(output_stride, rates):
  built = build_in_graph(_tiny_aligned, [1, 33, 33, 3],
                         arg_scope=xception.xception_arg_scope(),
                         multi_grid=[1, 2, 4], global_pool=False,
                         output_stride=output_stride, scope='x')
  assert _depthwise_rates(
      built.graph, 'x/exit_flow/block2/unit_1/xception_module') == rates
  # The unit whose stride atrous mode removes still runs at rate 1.
  assert _depthwise_rates(
      built.graph, 'x/exit_flow/block1/unit_1/xception_module') == [1, 1, 1]


@pytest.mark.parametrize('size', [5, 6])
@pytest.mark.parametrize('regularize_depthwise', [False, True])
def test_separable_conv2d_same_equals_subsampled_stride_1(
    size, regularize_depthwise):
  images = _random_images([1, size, size, 3])
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(0)
    inputs = tf.constant(images)
    strided = xception.separable_conv2d_same(
        inputs, 4, 3, depth_multiplier=1, stride=2,
        regularize_depthwise=regularize_depthwise, scope='Conv')
    with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(),
                                     reuse=True):
      dense = xception.separable_conv2d_same(
          inputs, 4, 3, depth_multiplier=1, stride=1,
          regularize_depthwise=regularize_depthwise, scope='Conv')
      native = xception.separable_conv2d_same(
          inputs, 4, 3, depth_multiplier=1, stride=2,
          use_explicit_padding=False,
          regularize_depthwise=regularize_depthwise, scope='Conv')
    subsampled = resnet_utils.subsample(dense, 2)
  with new_session(graph) as sess:
    # Biases (no normalizer here) matter too.
    assign_values(sess, {
        v.op.name: np.random.RandomState(1).normal(
            size=v.shape.as_list()).astype(np.float32)
        for v in global_variables(graph)
    })
    strided, subsampled, native = sess.run([strided, subsampled, native])
  assert strided.shape == (1, (size + 1) // 2, (size + 1) // 2, 4)
  assert_close(strided, subsampled, rel=1e-5)
  # TensorFlow's own strided SAME is only aligned on odd sizes.
  assert np.allclose(native, subsampled, atol=1e-5) == (size % 2 == 1)


def test_aligned_variable_names_and_regularizers():
  def count(regularize_depthwise):
    built = build_in_graph(
        _tiny_aligned, [1, 33, 33, 3],
        arg_scope=xception.xception_arg_scope(
            regularize_depthwise=regularize_depthwise),
        num_classes=3)
    losses = built.graph.get_collection(
        tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
    weights = [v for v in global_variables(built.graph)
               if v.op.name.endswith('weights')]
    return len(losses), weights

  losses, weights = count(False)
  assert losses == len([w for w in weights
                        if not w.op.name.endswith('depthwise_weights')])
  losses, weights = count(True)
  assert losses == len(weights)


def test_bounded_activation_arg_scope():
  built = build_in_graph(
      _tiny_aligned, [1, 33, 33, 3],
      arg_scope=xception.xception_arg_scope(use_bounded_activation=True),
      global_pool=False)
  op_types = collections.Counter(op.type for op in
                                 built.graph.get_operations())
  assert op_types['Relu6'] > 0 and op_types['Relu'] == 0
  # DeepLab drops the explicit padding with bounded activations: only the
  # root's conv2d_same pads.
  assert op_types['Pad'] == 1


def test_aligned_arg_scope_initializer():
  built = build_in_graph(
      _tiny_aligned, [1, 33, 33, 3],
      arg_scope=xception.xception_arg_scope(weights_initializer_stddev=0.5),
      seed=0)
  (weights,) = [v for v in global_variables(built.graph)
                if v.op.name == 'xception/entry_flow/conv1_2/weights']
  with new_session(built.graph) as sess:
    value = sess.run(weights)
  # Truncated normal: nothing beyond two standard deviations.
  assert np.abs(value).max() <= 1.0
  assert 0.3 < value.std() < 0.5


@pytest.mark.parametrize('model_fn, timm_millions', [
    (xception.xception_41, 27.0),
    (xception.xception_65, 39.9),
])
def test_aligned_parameter_counts_match_timm(model_fn, timm_millions):
  """timm's xception41/65.tf_in1k are DeepLab's checkpoints ported to torch.

  Their model cards (huggingface.co/timm/xception{41,65}.tf_in1k) give
  27.0M and 39.9M parameters with 1000 classes; moving statistics are not
  parameters there.
  """
  built = build_in_graph(model_fn, [1, 299, 299, 3],
                         arg_scope=xception.xception_arg_scope(),
                         num_classes=1000)
  assert round(_param_count(built.graph) / 1e6, 1) == timm_millions
  assert built.end_points['%s/exit_flow/block2' % model_fn.__name__].shape[
      1:3] == [10, 10]


def test_bad_arguments_raise():
  graph = tf.Graph()
  with graph.as_default():
    inputs = tf.zeros([1, 33, 33, 3])
    with pytest.raises(ValueError, match='multi_grid'):
      xception.xception_65(inputs, multi_grid=[1, 2])
    with pytest.raises(ValueError, match='output_stride'):
      _tiny_aligned(inputs, output_stride=5)
    with pytest.raises(ValueError, match='output_stride cannot be reached'):
      _tiny_aligned(inputs, output_stride=64, scope='unreachable')
    with pytest.raises(ValueError, match="skip_connection_type.*'bogus'"):
      xception.xception_module(inputs, [2, 2, 2], 'bogus', 1)
    with pytest.raises(ValueError, match="skip_connection_type.*'bogus'"):
      xception.xception_keras_module(inputs, [2, 2], 'bogus', 1)
    with pytest.raises(ValueError, match='depth_list'):
      xception.xception_module(inputs, [2, 2], 'sum', 1)
    with pytest.raises(ValueError, match='unit_rate_list'):
      xception.xception_module(inputs, [2, 2, 2], 'none', 1,
                               unit_rate_list=[1, 2])
    with pytest.raises(ValueError, match='scope is required'):
      xception.separable_conv2d_same(inputs, 2, 3, 1, 2)
    with pytest.raises(ValueError, match='sync_batch_norm_method'):
      xception.xception_arg_scope(sync_batch_norm_method='tpu')
    with pytest.raises(ValueError, match="stride 2 needs skip_connection_type"):
      xception.xception_keras_module(inputs, [3, 3, 3], 'sum', 2)


def test_registry():
  for name in ('xception_41', 'xception_65', 'xception_71'):
    info = registry.get_model(name)
    assert (info.fn, info.family, info.arg_scope_fn, info.default_image_size,
            info.num_classes, info.preprocessing) == (
                getattr(xception, name), 'xception',
                xception.xception_arg_scope, 299, 1001, 'inception')
  info = registry.get_model('xception_keras')
  assert (info.fn, info.family, info.arg_scope_fn, info.default_image_size,
          info.num_classes, info.preprocessing) == (
              xception.xception_keras, 'xception',
              xception.xception_keras_arg_scope, 299, 1000, 'tf')
  assert xception.xception_65.default_image_size == 299


# Tiny original Xception. Nominal stride 16. From 71x71 inputs every
# max-pool sees an odd size (33, 17, 9), where Keras' strided 'SAME' pools
# are aligned with their stride-1 versions.
_TINY_KERAS = (
    ('entry_flow/block1', [4, 4], 'conv', 1, 2, False),
    ('entry_flow/block2', [8, 8], 'conv', 1, 2, False),
    ('middle_flow/block1', [8, 8, 8], 'sum', 2, 1, False),
    ('exit_flow/block1', [8, 16], 'conv', 1, 2, False),
    ('exit_flow/block2', [16, 16], 'none', 1, 1, True),
)


def _tiny_keras(inputs, **kwargs):
  blocks = [xception.xception_keras_block(*spec) for spec in _TINY_KERAS]
  return xception.xception_keras_generator(inputs, blocks, **kwargs)


def test_keras_end_points_and_shapes():
  built = build_in_graph(_tiny_keras, [2, 71, 71, 3],
                         arg_scope=xception.xception_keras_arg_scope(),
                         num_classes=10, scope='xk')
  expected = ['xk/entry_flow/conv1_1', 'xk/entry_flow/conv1_2']
  block_ends = _block_ends('xk', _TINY_KERAS)
  for unit, skip, num_convs in _unit_scopes('xk', _TINY_KERAS):
    expected += ['%s/separable_conv%d' % (unit, k)
                 for k in range(1, num_convs + 1)]
    if skip == 'conv':
      expected += [unit + '/pool', unit + '/shortcut']
    expected.append(unit)
    if unit in block_ends:
      expected.append(block_ends[unit])
  expected += ['global_pool', 'xk/logits', 'xk/spatial_squeeze',
               'predictions']
  assert list(built.end_points) == expected
  shapes = {
      'xk/entry_flow/conv1_1': [2, 35, 35, 32],
      'xk/entry_flow/conv1_2': [2, 33, 33, 64],
      'xk/entry_flow/block1': [2, 17, 17, 4],
      'xk/entry_flow/block2': [2, 9, 9, 8],
      'xk/middle_flow/block1': [2, 9, 9, 8],
      'xk/exit_flow/block1': [2, 5, 5, 16],
      'xk/exit_flow/block2': [2, 5, 5, 16],
      'xk/logits': [2, 1, 1, 10],
      'predictions': [2, 10],
  }
  assert {k: built.end_points[k].shape.as_list() for k in shapes} == shapes
  # Same keys when built again with reuse (the pools are aliased by scope).
  with built.graph.as_default():
    with slim.arg_scope(xception.xception_keras_arg_scope()):
      _, again = _tiny_keras(built.inputs, num_classes=10, scope='xk',
                             reuse=True)
  assert list(again) == expected


def test_keras_atrous_values_equal_subsampled_nominal():
  images = _random_images([1, 71, 71, 3])
  # output_stride 4 runs exit_flow/block1's pool dilated (rate 2).
  for output_stride in (4, 8):
    dense, nominal = _atrous_and_nominal(
        _tiny_keras, xception.xception_keras_arg_scope, images,
        output_stride, 16)
    assert nominal.shape == (1, 5, 5, 16)
    assert_close(dense, nominal, rel=1e-4,
                 what='output_stride %d' % output_stride)


def _keras_values(keras_model, tf_keras, scope):
  """Our variable values from Keras' layers, by the generator's table."""
  unit_of_block = {2: 'entry_flow/block1/unit_1',
                   3: 'entry_flow/block2/unit_1',
                   4: 'entry_flow/block3/unit_1',
                   13: 'exit_flow/block1/unit_1',
                   14: 'exit_flow/block2/unit_1'}
  unit_of_block.update(
      {b: 'middle_flow/block1/unit_%d' % (b - 4) for b in range(5, 13)})

  def unit(block):
    return '%s/%s/xception_module' % (scope, unit_of_block[block])

  # Keras leaves the residual convs and their batch norms unnamed.
  shortcuts = [unit(b) + '/shortcut' for b in (2, 3, 4, 13)]
  unnamed = {tf_keras.layers.Conv2D: 0, tf_keras.layers.BatchNormalization: 0}
  values = {}
  for layer in keras_model.layers:
    weights = layer.get_weights()
    if not weights:
      continue
    root = re.match(r'block1_conv(\d)(_bn)?$', layer.name)
    sepconv = re.match(r'block(\d+)_sepconv(\d)(_bn)?$', layer.name)
    if root:
      target = '%s/entry_flow/conv1_%s' % (scope, root.group(1))
      is_bn = bool(root.group(2))
    elif sepconv:
      target = '%s/separable_conv%s' % (unit(int(sepconv.group(1))),
                                        sepconv.group(2))
      is_bn = bool(sepconv.group(3))
    elif layer.name == 'predictions':
      kernel, bias = weights
      values[scope + '/logits/weights'] = kernel.reshape((1, 1) + kernel.shape)
      values[scope + '/logits/biases'] = bias
      continue
    else:
      kind = type(layer)
      target = shortcuts[unnamed[kind]]
      unnamed[kind] += 1
      is_bn = kind is tf_keras.layers.BatchNormalization
    if is_bn:
      values.update(('%s/BatchNorm/%s' % (target, p), w)
                    for p, w in zip(_BN, weights))
    elif sepconv:
      values[target + '/depthwise_weights'] = weights[0]
      values[target + '/pointwise_weights'] = weights[1]
    else:
      (values[target + '/weights'],) = weights
  assert list(unnamed.values()) == [4, 4]
  return values


def test_keras_matches_tf_keras_xception():
  tf_keras = pytest.importorskip('tf_keras')
  tf_keras.utils.set_random_seed(0)
  keras_model = tf_keras.applications.Xception(
      weights=None, input_shape=(71, 71, 3), classifier_activation=None)
  rng = np.random.RandomState(0)
  batch_norms = [layer for layer in keras_model.layers
                 if isinstance(layer, tf_keras.layers.BatchNormalization)]
  for layer in batch_norms:
    gamma, beta, mean, variance = layer.get_weights()
    layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape),
                       rng.normal(0, 0.2, beta.shape), mean, variance])
    # One training call then sets the moving statistics to batch ones, so
    # that inference keeps a real signal through the random network.
    layer.momentum = 0.0
  keras_model(_random_images([4, 71, 71, 3], seed=2), training=True)
  predictions = keras_model.get_layer('predictions')
  kernel, bias = predictions.get_weights()
  predictions.set_weights([kernel, rng.normal(0, 0.1, bias.shape)])
  images = _random_images([2, 71, 71, 3], seed=1)
  expected = keras_model(images, training=False).numpy()
  # The two images' logits differ as much as the logits are large.
  assert np.abs(expected[0] - expected[1]).max() > 0.1 * np.abs(
      expected).max()

  built = build_in_graph(xception.xception_keras, [2, 71, 71, 3],
                         arg_scope=xception.xception_keras_arg_scope(),
                         num_classes=1000, is_training=False)
  values = _keras_values(keras_model, tf_keras, 'xception_keras')
  assert set(values) == {v.op.name for v in global_variables(built.graph)}
  assert _param_count(
      built.graph, tf.compat.v1.GraphKeys.GLOBAL_VARIABLES) == (
          keras_model.count_params()) == 22910480
  assert _param_count(built.graph) == sum(
      int(np.prod(w.shape)) for w in keras_model.trainable_weights)
  with new_session(built.graph) as sess:
    assign_values(sess, values)
    logits = sess.run(built.net, {built.inputs: images})
  assert_close(logits, expected, rel=1e-4, what='logits vs Keras')
