"""Tests of nets.mobilenet_v1.

Checked numerically against Keras' `MobileNet` application (Keras 3, weights
copied layer by layer), against the layer tables of upstream's
mobilenet_v1.py and the MACs / parameters table of its mobilenet_v1.md, and
for slim's checkpoint names, collections, explicit padding and bad input.

Keras pads its strided depthwise convolutions by (0, 1) on each spatial axis
before a VALID convolution, where slim uses SAME padding. The two agree
whenever the input of a strided layer has an even size (SAME then pads 0
before and 1 after), and differ on odd sizes (SAME pads 1 and 1 and rounds
the output size up, Keras rounds it down). slimnets keeps slim's SAME, which
the slim checkpoints were trained with; the Keras comparison runs on 64x64
images, where every strided layer sees an even size.
"""

import re

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import (assign_values, build_in_graph, global_variables,
                      new_session)
from nets import mobilenet_v1
from nets import nets_factory
from nets import registry
from nets import runtime
from slimnets import cli

_BN = ('gamma', 'beta', 'moving_mean', 'moving_variance')
_SCOPE = 'MobilenetV1'
_BASE_END_POINTS = ['Conv2d_0'] + [
    'Conv2d_%d_%s' % (i, kind) for i in range(1, 14)
    for kind in ('depthwise', 'pointwise')]
# 1 full and 13 depthwise-separable convolutions: 27 conv layers, each with
# batch norm under mobilenet_v1_arg_scope.
_CONV_LAYERS = 27


def _random_images(shape, seed=0):
  return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


def _count(graph, collection=tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES):
  return sum(v.shape.num_elements() for v in graph.get_collection(collection))


def _max_relative_diff(actual, expected):
  actual, expected = np.asarray(actual), np.asarray(expected)
  assert actual.shape == expected.shape
  return float(np.abs(actual - expected).max() / np.abs(expected).max())


# Keras MobileNet layer -> slim scope.
def _slim_scope(keras_name):
  if keras_name.startswith('conv1'):
    return 'Conv2d_0'
  match = re.match(r'conv_(dw|pw)_(\d+)', keras_name)
  kind = 'depthwise' if match.group(1) == 'dw' else 'pointwise'
  return 'Conv2d_%s_%s' % (match.group(2), kind)


def _randomize_keras(model, rng):
  """Random weights, He-scaled, and random batch norm statistics."""
  for layer in model.layers:
    weights = layer.get_weights()
    if not weights:
      continue
    if layer.name.endswith('_bn'):
      channels = weights[0].shape
      layer.set_weights([rng.uniform(0.5, 1.5, channels),
                         rng.normal(0, 0.2, channels),
                         rng.normal(0, 0.2, channels),
                         rng.uniform(0.5, 1.5, channels)])
    else:
      kernel = weights[0]
      fan_in = np.prod(kernel.shape[:2]) * (
          1 if layer.name.startswith('conv_dw') else kernel.shape[2])
      new = [rng.normal(0, np.sqrt(2.0 / fan_in), kernel.shape)]
      new += [rng.normal(0, 0.1, w.shape) for w in weights[1:]]
      layer.set_weights(new)


def _slim_values(model):
  """Our variable values from the Keras layers, by the table above."""
  values = {}
  for layer in model.layers:
    weights = layer.get_weights()
    if not weights:
      continue
    if layer.name == 'conv_preds':
      values[_SCOPE + '/Logits/Conv2d_1c_1x1/weights'] = weights[0]
      values[_SCOPE + '/Logits/Conv2d_1c_1x1/biases'] = weights[1]
      continue
    scope = '%s/%s' % (_SCOPE, _slim_scope(layer.name))
    if layer.name.endswith('_bn'):
      values.update(('%s/BatchNorm/%s' % (scope, p), w)
                    for p, w in zip(_BN, weights))
    elif layer.name.startswith('conv_dw'):
      (values[scope + '/depthwise_weights'],) = weights
    else:
      (values[scope + '/weights'],) = weights
  return {k: v.astype(np.float32) for k, v in values.items()}


@pytest.mark.parametrize('alpha, fn', [(1.0, mobilenet_v1.mobilenet_v1),
                                       (0.25, mobilenet_v1.mobilenet_v1_025)])
def test_matches_keras_mobilenet(alpha, fn):
  keras_model = tf.keras.applications.MobileNet(
      weights=None, input_shape=(64, 64, 3), alpha=alpha,
      classifier_activation=None)
  _randomize_keras(keras_model, np.random.RandomState(0))
  features = tf.keras.Model(keras_model.input,
                            keras_model.get_layer('conv_pw_13_relu').output)
  images = _random_images([2, 64, 64, 3], seed=1)
  expected = keras_model(images, training=False).numpy()
  expected_features = features(images, training=False).numpy()
  assert expected.std() > 0.1 * np.abs(expected).max()

  built = build_in_graph(
      fn, [2, 64, 64, 3],
      arg_scope=mobilenet_v1.mobilenet_v1_arg_scope(is_training=False),
      num_classes=1000, is_training=False)
  values = _slim_values(keras_model)
  assert set(values) == {v.op.name for v in global_variables(built.graph)}
  assert _count(built.graph, tf.compat.v1.GraphKeys.GLOBAL_VARIABLES) == (
      keras_model.count_params())
  with new_session(built.graph) as sess:
    assign_values(sess, values)
    logits, pre_pool = sess.run(
        [built.net, built.end_points['Conv2d_13_pointwise']],
        {built.inputs: images})
  assert _max_relative_diff(logits, expected) < 1e-5
  assert _max_relative_diff(pre_pool, expected_features) < 1e-5


@pytest.mark.parametrize('size', [64, 65])
def test_keras_strided_padding_equals_same_only_on_even_sizes(size):
  """Why the Keras comparison runs on even sizes (see the module doc)."""
  rng = np.random.RandomState(0)
  images = tf.constant(_random_images([1, size, size, 4]))
  kernel = tf.constant(rng.normal(size=[3, 3, 4, 1]).astype(np.float32))
  same = tf.nn.depthwise_conv2d(images, kernel, [1, 2, 2, 1], 'SAME')
  keras_like = tf.nn.depthwise_conv2d(
      tf.pad(images, [[0, 0], [0, 1], [0, 1], [0, 0]]), kernel, [1, 2, 2, 1],
      'VALID')
  if size % 2 == 0:
    np.testing.assert_allclose(keras_like.numpy(), same.numpy(), atol=1e-6)
  else:
    assert same.shape[1] == (size + 1) // 2
    assert keras_like.shape[1] == (size - 1) // 2


def _base_with_batch_norm(size, depth_multiplier=1.0):
  return build_in_graph(mobilenet_v1.mobilenet_v1_base, [1, size, size, 3],
                        arg_scope=mobilenet_v1.mobilenet_v1_arg_scope(),
                        depth_multiplier=depth_multiplier)


@pytest.mark.parametrize('size, depth_multiplier, weights, macs', [
    # The layer tables in the docstring of upstream's mobilenet_v1.py
    # (research/slim/nets): "100% Mobilenet V1 (base) with input size
    # 224x224" and "75% ... 128x128", totals of the params and macs columns.
    (224, 1.0, 3185088, 567716352),
    (128, 0.75, 1800144, 106002432),
])
def test_base_counts_match_upstream_tables(size, depth_multiplier, weights,
                                           macs):
  built = _base_with_batch_norm(size, depth_multiplier)
  assert sum(v.shape.num_elements() for v in global_variables(built.graph)
             if v.op.name.endswith('weights')) == weights
  assert cli.multiply_adds(built.graph) == macs


@pytest.mark.parametrize('fn, paper_macs, readme_macs, readme_params', [
    # [1] (Howard et al., arXiv:1704.04861) Table 6: million mult-adds of
    # {1.0, 0.75, 0.5, 0.25} MobileNet-224. research/slim/nets/
    # mobilenet_v1.md, "Pre-trained Models": million MACs and parameters of
    # the MobileNet_v1_{1.0,0.75,0.50,0.25}_224 rows (1001 classes).
    (mobilenet_v1.mobilenet_v1, 569, 569, 4.24),
    (mobilenet_v1.mobilenet_v1_075, 325, 317, 2.59),
    (mobilenet_v1.mobilenet_v1_050, 149, 150, 1.34),
    (mobilenet_v1.mobilenet_v1_025, 41, 41, 0.47),
])
def test_counts_match_paper_and_readme(fn, paper_macs, readme_macs,
                                       readme_params):
  # The README's parameters are the model variables of the network with
  # slim's default batch norm (no gamma): weights, logits biases, beta and
  # the moving mean and variance, as upstream's own
  # testModelHasExpectedNumberOfParameters counts them.
  with slim.arg_scope([slim.conv2d, slim.separable_conv2d],
                      normalizer_fn=slim.batch_norm) as scope:
    built = build_in_graph(fn, [1, 224, 224, 3], arg_scope=scope,
                           num_classes=1001)
  macs = cli.multiply_adds(built.graph)
  assert round(macs / 1e6) == paper_macs
  # The README's 0.75 and 0.50 rows (317, 150) are 2.6% and 0.3% off the
  # paper's counts of the same layers; the other two rows are exact.
  assert abs(macs / 1e6 - readme_macs) / readme_macs < 0.03
  assert round(_count(built.graph, tf.compat.v1.GraphKeys.MODEL_VARIABLES) /
               1e6, 2) == readme_params


def test_checkpoint_names_and_collections():
  built = build_in_graph(
      mobilenet_v1.mobilenet_v1, [1, 224, 224, 3],
      arg_scope=mobilenet_v1.mobilenet_v1_arg_scope(), num_classes=1001)
  graph = built.graph
  shapes = {v.op.name: v.shape.as_list() for v in global_variables(graph)}
  assert shapes['MobilenetV1/Conv2d_0/weights'] == [3, 3, 3, 32]
  assert shapes['MobilenetV1/Conv2d_0/BatchNorm/gamma'] == [32]
  assert shapes['MobilenetV1/Conv2d_1_depthwise/depthwise_weights'] == [
      3, 3, 32, 1]
  assert shapes['MobilenetV1/Conv2d_1_depthwise/BatchNorm/moving_variance'] == [
      32]
  assert shapes['MobilenetV1/Conv2d_13_pointwise/weights'] == [
      1, 1, 1024, 1024]
  assert shapes['MobilenetV1/Logits/Conv2d_1c_1x1/weights'] == [
      1, 1, 1024, 1001]
  assert shapes['MobilenetV1/Logits/Conv2d_1c_1x1/biases'] == [1001]
  # Per conv layer: weights + 4 batch norm variables; then the logits'.
  assert len(shapes) == _CONV_LAYERS * 5 + 2
  assert len(graph.get_collection(
      tf.compat.v1.GraphKeys.MODEL_VARIABLES)) == len(shapes)
  assert len(graph.get_collection(
      tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)) == _CONV_LAYERS * 3 + 2
  assert len(graph.get_collection(
      tf.compat.v1.GraphKeys.UPDATE_OPS)) == _CONV_LAYERS * 2
  # conv2d weights only (14 layers and the logits), depthwise not.
  assert len(graph.get_collection(
      tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)) == 15
  assert list(built.end_points) == _BASE_END_POINTS + [
      'AvgPool_1a', 'Logits', 'Predictions']
  assert built.net.op.name == 'MobilenetV1/Logits/SpatialSqueeze'
  assert built.end_points['Predictions'].op.name.startswith(
      'MobilenetV1/Predictions')

  built = build_in_graph(
      mobilenet_v1.mobilenet_v1, [1, 224, 224, 3],
      arg_scope=mobilenet_v1.mobilenet_v1_arg_scope(
          is_training=None, regularize_depthwise=True),
      is_training=False, global_pool=True, prediction_fn=None)
  assert not built.graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
  assert len(built.graph.get_collection(
      tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)) == 28
  assert list(built.end_points)[-2:] == ['global_pool', 'Logits']


def test_explicit_padding_equals_same_when_strided_inputs_are_odd():
  # 33 -> 17 -> 9 -> 5 -> 3 -> 2: every strided layer sees an odd size,
  # where SAME pads 1 before and 1 after, as the explicit padding does.
  graph = tf.Graph()
  with graph.as_default():
    images = tf.constant(_random_images([1, 33, 33, 3]))
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope(
        is_training=False)):
      same, _ = mobilenet_v1.mobilenet_v1_base(images, scope='m')
      with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(),
                                       reuse=True):
        explicit, _ = mobilenet_v1.mobilenet_v1_base(
            images, scope='m', use_explicit_padding=True)
    assert sum(op.type == 'Pad' for op in graph.get_operations()) == 14
  with new_session(graph) as sess:
    same, explicit = sess.run([same, explicit])
  assert same.shape == (1, 2, 2, 1024)
  assert _max_relative_diff(explicit, same) < 1e-5


def test_output_stride_and_conv_defs():
  built = _base_with_batch_norm(64)
  assert built.net.shape.as_list() == [1, 2, 2, 1024]
  conv_defs = [
      mobilenet_v1.Conv(kernel=[3, 3], stride=2, depth=16),
      mobilenet_v1.DepthSepConv(kernel=[3, 3], stride=2, depth=32),
      mobilenet_v1.DepthSepConv(kernel=[3, 3], stride=2, depth=32),
      # Past output_stride 8: stride 1, and a full Conv honours it too.
      mobilenet_v1.Conv(kernel=[3, 3], stride=2, depth=8),
      mobilenet_v1.DepthSepConv(kernel=[3, 3], stride=1, depth=8),
  ]
  built = build_in_graph(mobilenet_v1.mobilenet_v1_base, [1, 64, 64, 3],
                         conv_defs=conv_defs, output_stride=8,
                         final_endpoint='Conv2d_4_pointwise')
  assert [v.shape.as_list()[1:] for v in built.end_points.values()] == [
      [32, 32, 16], [16, 16, 16], [16, 16, 32], [8, 8, 32], [8, 8, 32],
      [8, 8, 8], [8, 8, 8], [8, 8, 8]]
  # The depthwise conv after the skipped stride is atrous (rate 2).
  assert any(op.type == 'SpaceToBatchND' and
             op.name.startswith('MobilenetV1/Conv2d_4_depthwise')
             for op in built.graph.get_operations())


def test_bad_arguments_raise_one_line():
  graph = tf.Graph()
  with graph.as_default():
    images = tf.zeros([1, 224, 224, 3])
    errors = []
    for depth_multiplier in (0.0, -0.5):
      with pytest.raises(ValueError, match='depth_multiplier is not greater '
                         'than zero') as error:
        mobilenet_v1.mobilenet_v1(images, depth_multiplier=depth_multiplier)
      assert repr(depth_multiplier) in str(error.value)
      errors.append(error)
    with pytest.raises(ValueError) as error:
      mobilenet_v1.mobilenet_v1_base(images, final_endpoint='Conv2d_14')
    assert "'Conv2d_14'" in str(error.value)
    assert ', '.join(_BASE_END_POINTS) in str(error.value)
    errors.append(error)
    with pytest.raises(ValueError, match='Conv2d_1_pointwise$') as error:
      mobilenet_v1.mobilenet_v1_base(
          images, final_endpoint='Conv2d_2_pointwise',
          conv_defs=mobilenet_v1.MOBILENETV1_CONV_DEFS[:2])
    errors.append(error)
    with pytest.raises(ValueError, match='output_stride.*4') as error:
      mobilenet_v1.mobilenet_v1_base(images, output_stride=4)
    errors.append(error)
    with pytest.raises(ValueError, match='Unknown convolution type tuple for '
                       'layer 1') as error:
      mobilenet_v1.mobilenet_v1_base(
          images, conv_defs=[mobilenet_v1.MOBILENETV1_CONV_DEFS[0],
                             ([3, 3], 1, 64)])
    errors.append(error)
    with pytest.raises(ValueError, match='rank-4') as error:
      mobilenet_v1.mobilenet_v1(tf.zeros([224, 224, 3]))
    errors.append(error)
    # Checked before anything is built.
    assert not global_variables(graph)
  assert all('\n' not in str(error.value) for error in errors)
  with tf.Graph().as_default():
    with runtime.data_format_scope('NCHW', device='gpu'):
      with pytest.raises(ValueError, match="NHWC' only"):
        mobilenet_v1.mobilenet_v1(tf.zeros([1, 224, 224, 3]))


def test_variants_registry_and_factory():
  for name, multiplier in (('mobilenet_v1', None), ('mobilenet_v1_075', 0.75),
                           ('mobilenet_v1_050', 0.5),
                           ('mobilenet_v1_025', 0.25)):
    info = registry.get_model(name)
    assert (info.family, info.default_image_size, info.num_classes,
            info.preprocessing) == ('mobilenet_v1', 224, 1001, 'inception')
    assert info.fn.default_image_size == 224
    assert info.fn is getattr(mobilenet_v1, name)
    if multiplier:
      # wrapped_partial keeps the wrapped function's name, as upstream.
      assert info.fn.func is mobilenet_v1.mobilenet_v1
      assert info.fn.keywords == {'depth_multiplier': multiplier}
      assert info.fn.__name__ == 'mobilenet_v1'
  network_fn = nets_factory.get_network_fn('mobilenet_v1_025', 1001)
  with tf.Graph().as_default():
    logits, end_points = network_fn(tf.zeros([2, 128, 128, 3]))
  assert logits.shape.as_list() == [2, 1001]
  assert end_points['Conv2d_13_pointwise'].shape.as_list() == [2, 4, 4, 256]
