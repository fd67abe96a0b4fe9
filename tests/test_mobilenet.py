"""Tests of nets.mobilenet (MobileNet V2, V3 and EdgeTPU).

Numbers: the networks against Keras' `MobileNetV2`, `MobileNetV3Small` and
`MobileNetV3Large` applications (Keras 3, weights mapped layer by layer), and
EdgeTPU's fused block against the same computation in plain `tf.nn` ops.
Sizes: parameter counts and multiply-adds against research/slim's
nets/mobilenet/README.md, and against OpenVINO's model zoo pages for the
converted slim checkpoints. Names: checkpoint variable names and shapes, end
points, the nets_factory keys.

Keras differs from slim in two places only, both checked here. Keras pads its
strided depthwise convolutions explicitly (`correct_pad`), which for odd
kernels is exactly TensorFlow's SAME padding at every input size (odd sizes
are compared too). Keras' squeeze-excite gate is relu6(x + 3) / 6 while the
slim checkpoints use relu6(x + 3) * 0.16667: with that one constant swapped
the networks agree to float32 precision; with slim's own constant the logits
move by about 6e-4 of their range.
"""

import copy
import functools
import re

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import (assert_close, assign_values, build_in_graph,
                      global_variables, new_session)
from nets import _layers
from nets import nets_factory
from nets import registry
from nets.mobilenet import conv_blocks
from nets.mobilenet import mobilenet as lib
from nets.mobilenet import mobilenet_v2
from nets.mobilenet import mobilenet_v3
from slimnets import cli

_BN = ('gamma', 'beta', 'moving_mean', 'moving_variance')


def _images(shape, seed):
  return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


# --------------------------------------------------------------- vs Keras


def _randomize_keras(model, seed, size):
  """Random batch norm and bias values, then moving statistics equal to the
  statistics of a random batch (a training call with momentum 0), so that
  inference carries a real signal through the random network."""
  rng = np.random.RandomState(seed)
  for layer in model.layers:
    weights = layer.get_weights()
    if isinstance(layer, tf.keras.layers.BatchNormalization):
      layer.set_weights([rng.uniform(0.5, 1.5, weights[0].shape),
                         rng.normal(0, 0.2, weights[1].shape)] + weights[2:])
      layer.momentum = 0.0
    elif len(weights) == 2:
      layer.set_weights([weights[0], rng.normal(0, 0.1, weights[1].shape)])
  model(_images([4, size, size, 3], seed + 100), training=True)


_KERAS_V2_BLOCK = re.compile(
    r'^(?:block_(\d+)|expanded_conv)_(expand|depthwise|project)(_BN)?$')
_KERAS_V2_FIXED = {'Conv1': 'Conv', 'bn_Conv1': 'Conv/BatchNorm',
                   'Conv_1': 'Conv_1', 'Conv_1_bn': 'Conv_1/BatchNorm'}
_KERAS_V3_BLOCK = re.compile(
    r'^(expanded_conv(?:_\d+)?)_(squeeze_excite_conv_1|squeeze_excite_conv|'
    r'expand|depthwise|project)(_bn)?$')
_KERAS_V3_FIXED = {'conv': 'Conv', 'conv_bn': 'Conv/BatchNorm',
                   'conv_1': 'Conv_1', 'conv_1_bn': 'Conv_1/BatchNorm',
                   'conv_2': 'Conv_2', 'logits': 'Logits/Conv2d_1c_1x1'}


def _keras_v2_scope(name):
  if name in _KERAS_V2_FIXED:
    return _KERAS_V2_FIXED[name]
  block, part, bn = _KERAS_V2_BLOCK.match(name).groups()
  unit = 'expanded_conv_' + block if block else 'expanded_conv'
  return '%s/%s%s' % (unit, part, '/BatchNorm' if bn else '')


def _keras_v3_scope(name):
  if name in _KERAS_V3_FIXED:
    return _KERAS_V3_FIXED[name]
  unit, part, bn = _KERAS_V3_BLOCK.match(name).groups()
  part = part.replace('squeeze_excite_conv', 'squeeze_excite/Conv')
  return '%s/%s%s' % (unit, part, '/BatchNorm' if bn else '')


def _slim_values(model, scope, scope_of_layer):
  """Our variable values from the Keras layers (Keras' Dense `predictions`
  is our 1x1 logits conv)."""
  values = {}
  for layer in model.layers:
    weights = layer.get_weights()
    if not weights:
      continue
    if layer.name == 'predictions':
      kernel, bias = weights
      target = scope + '/Logits/Conv2d_1c_1x1'
      values[target + '/weights'] = kernel.reshape((1, 1) + kernel.shape)
      values[target + '/biases'] = bias
      continue
    target = scope + '/' + scope_of_layer(layer.name)
    if isinstance(layer, tf.keras.layers.BatchNormalization):
      values.update(('%s/%s' % (target, p), w) for p, w in zip(_BN, weights))
    elif isinstance(layer, tf.keras.layers.DepthwiseConv2D):
      (values[target + '/depthwise_weights'],) = weights
    else:
      values[target + '/weights'] = weights[0]
      if len(weights) == 2:
        values[target + '/biases'] = weights[1]
  return values


def _run_slim(model_fn, values, images, end_points=()):
  built = build_in_graph(model_fn, list(images.shape), is_training=False)
  assert set(values) == {v.op.name for v in global_variables(built.graph)}
  with new_session(built.graph) as sess:
    assign_values(sess, values)
    return sess.run([built.net] + [built.end_points[e] for e in end_points],
                    {built.inputs: images})


def _keras_outputs(model, images, layer_names):
  """Keras' logits, then the outputs of `layer_names`."""
  probe = tf.keras.Model(model.input, [model.output] + [
      model.get_layer(name).output for name in layer_names])
  outputs = probe(images, training=False)
  if not layer_names:
    outputs = [outputs]
  return [out.numpy() for out in outputs]


def _relative_error(actual, expected):
  return float(np.abs(actual - expected).max() /
               max(1.0, np.abs(expected).max()))


def test_v2_equals_keras_mobilenet_v2():
  size = 224
  tf.keras.utils.set_random_seed(size)
  model = tf.keras.applications.MobileNetV2(
      weights=None, input_shape=(size, size, 3), classes=1001,
      classifier_activation=None)
  _randomize_keras(model, size, size)
  values = _slim_values(model, 'MobilenetV2', _keras_v2_scope)
  images = _images([2, size, size, 3], size)
  pairs = (('layer_4', 'block_2_add'), ('layer_10', 'block_8_add'),
           ('layer_19', 'out_relu'))
  expected = _keras_outputs(model, images, [k for _, k in pairs])
  actual = _run_slim(mobilenet_v2.mobilenet, values, images,
                     [s for s, _ in pairs])
  # A real signal: the two images' logits differ.
  assert np.abs(expected[0][0] - expected[0][1]).max() > 0.1
  # Same parameters as Keras counts (its moving statistics included).
  assert sum(int(np.prod(v.shape)) for v in values.values()) == (
      model.count_params()) == 3540265
  # Measured: logits 5.5e-6, layer_4 8e-7, layer_10 3e-6, layer_19 2.6e-5:
  # float32 rounding, growing steadily with depth through the random
  # network, averaged down again by the global pool.
  assert_close(actual[0], expected[0], rel=1e-5, what='logits')
  assert_close(actual[1], expected[1], rel=1e-5, what='layer_4')
  assert_close(actual[2], expected[2], rel=1e-5, what='layer_10')
  assert_close(actual[3], expected[3], rel=1e-4, what='layer_19')


def _with_keras_gate(conv_defs):
  """`conv_defs` whose squeeze-excite gate is Keras' relu6(x + 3) / 6."""
  conv_defs = copy.deepcopy(conv_defs)
  gate = functools.partial(conv_blocks.squeeze_excite, squeeze_factor=4,
                           inner_activation_fn=tf.nn.relu,
                           gating_fn=lambda x: tf.nn.relu6(x + 3) / 6)
  for opdef in conv_defs['spec']:
    if opdef.params.get('expansion_transform') is not None:
      opdef.params['expansion_transform'] = (
          lambda expansion_tensor, input_tensor: gate(expansion_tensor))
  return conv_defs


@pytest.mark.parametrize('keras_fn,conv_defs,minimalistic,size,count', [
    # An odd size: Keras' explicit padding of the strided 3x3 and 5x5
    # depthwise convolutions equals SAME there too.
    (tf.keras.applications.MobileNetV3Small, mobilenet_v3.V3_SMALL, False, 97,
     2555993),
    (tf.keras.applications.MobileNetV3Large, mobilenet_v3.V3_LARGE, False, 96,
     5508713),
    (tf.keras.applications.MobileNetV3Small,
     mobilenet_v3.V3_SMALL_MINIMALISTIC, True, 96, 2057873),
])
def test_v3_equals_keras_mobilenet_v3(keras_fn, conv_defs, minimalistic, size,
                                      count):
  tf.keras.utils.set_random_seed(size)
  model = keras_fn(weights=None, input_shape=(size, size, 3), classes=1001,
                   classifier_activation=None, include_preprocessing=False,
                   minimalistic=minimalistic)
  _randomize_keras(model, size, size)
  values = _slim_values(model, 'MobilenetV3', _keras_v3_scope)
  assert sum(int(np.prod(v.shape)) for v in values.values()) == (
      model.count_params()) == count
  images = _images([2, size, size, 3], size + 1)
  (expected,) = _keras_outputs(model, images, [])
  assert np.abs(expected[0] - expected[1]).max() > 0.1
  if minimalistic:
    # No squeeze-excite: the networks are the same. Measured 2.4e-6.
    (ours,) = _run_slim(functools.partial(mobilenet_v3.mobilenet,
                                          conv_defs=conv_defs), values, images)
    assert_close(ours, expected, rel=1e-5, what='logits')
    return
  keras_gate = functools.partial(mobilenet_v3.mobilenet,
                                 conv_defs=_with_keras_gate(conv_defs))
  (same_gate,) = _run_slim(keras_gate, values, images)
  # Measured 4.2e-6 (Small), 3.3e-6 (Large).
  assert_close(same_gate, expected, rel=1e-5, what='logits, Keras gate')
  if keras_fn is tf.keras.applications.MobileNetV3Small:
    (ours,) = _run_slim(functools.partial(mobilenet_v3.mobilenet,
                                          conv_defs=conv_defs), values, images)
    # relu6(x + 3) * 0.16667 against / 6: measured 6.4e-4.
    assert 1e-5 < _relative_error(ours, expected) < 1e-2


# ------------------------------------------------------ vs plain tf.nn ops


def _bn_values(rng, channels):
  return [rng.uniform(0.5, 1.5, channels), rng.normal(0, 0.2, channels),
          rng.normal(0, 0.2, channels), rng.uniform(0.5, 1.5, channels)]


def _plain_bn(x, gamma, beta, mean, variance):
  return (x - mean) / np.sqrt(variance + 0.001) * gamma + beta


def test_edgetpu_fused_block_equals_plain_ops():
  # Layer 3 of V3_EDGETPU: a 3x3/2 regular conv expands 16 -> 128 (factor
  # 8), ReLU, 1x1 linear projection to 32; no residual (stride 2).
  rng = np.random.RandomState(0)
  images = _images([2, 9, 9, 16], 3)
  w_expand = rng.normal(0, 0.3, [3, 3, 16, 128]).astype(np.float32)
  w_project = rng.normal(0, 0.1, [1, 1, 128, 32]).astype(np.float32)
  bn_expand, bn_project = _bn_values(rng, 128), _bn_values(rng, 32)
  opdef = mobilenet_v3.V3_EDGETPU['spec'][2]

  one_block = dict(defaults=mobilenet_v3.V3_EDGETPU['defaults'],
                   spec=[opdef])
  built = build_in_graph(lib.mobilenet_base, [2, 9, 9, 16],
                         arg_scope=lib.training_scope(is_training=False),
                         conv_defs=one_block, scope='E')
  values = {'E/expanded_conv/expand/weights': w_expand,
            'E/expanded_conv/project/weights': w_project}
  values.update(('E/expanded_conv/expand/BatchNorm/' + p, v.astype(np.float32))
                for p, v in zip(_BN, bn_expand))
  values.update(('E/expanded_conv/project/BatchNorm/' + p,
                 v.astype(np.float32)) for p, v in zip(_BN, bn_project))
  assert set(values) == {v.op.name for v in global_variables(built.graph)}
  with new_session(built.graph) as sess:
    assign_values(sess, values)
    actual = sess.run(built.net, {built.inputs: images})
  expanded = tf.nn.conv2d(images, w_expand, 2, 'SAME').numpy()
  expanded = np.maximum(_plain_bn(expanded, *bn_expand), 0)
  projected = tf.nn.conv2d(expanded.astype(np.float32), w_project, 1,
                           'SAME').numpy()
  assert_close(actual, _plain_bn(projected, *bn_project), rel=1e-5)


def test_squeeze_excite_and_hard_swish_equal_plain_ops():
  rng = np.random.RandomState(1)
  images = _images([2, 5, 5, 24], 4)
  w1 = rng.normal(0, 0.3, [1, 1, 24, 8]).astype(np.float32)
  b1 = rng.normal(0, 0.1, [8]).astype(np.float32)
  w2 = rng.normal(0, 0.3, [1, 1, 8, 24]).astype(np.float32)
  b2 = rng.normal(0, 0.1, [24]).astype(np.float32)
  built = build_in_graph(
      lambda x: (mobilenet_v3.hard_swish(mobilenet_v3.squeeze_excite(x)), {}),
      [2, 5, 5, 24])
  with new_session(built.graph) as sess:
    assign_values(sess, {'squeeze_excite/Conv/weights': w1,
                         'squeeze_excite/Conv/biases': b1,
                         'squeeze_excite/Conv_1/weights': w2,
                         'squeeze_excite/Conv_1/biases': b2})
    actual = sess.run(built.net, {built.inputs: images})
  squeezed = np.maximum(images.mean(axis=(1, 2)) @ w1[0, 0] + b1, 0)
  gate = np.clip(squeezed @ w2[0, 0] + b2 + 3, 0, 6) * 0.16667
  gated = images * gate[:, None, None, :]
  assert_close(actual, gated * np.clip(gated + 3, 0, 6) / 6, rel=1e-5)


def test_group_norm_equals_tf_slims():
  # tf-slim's group_norm is plain ops (no Keras): the reference.
  images = _images([2, 4, 6, 16], 5)
  gamma = np.random.RandomState(2).uniform(0.5, 1.5, 16).astype(np.float32)
  results = []
  for layer in (_layers.group_norm, slim.group_norm):
    built = build_in_graph(lambda x, fn=layer: (fn(x, groups=4), {}),
                           [2, 4, 6, 16])
    names = [v.op.name for v in global_variables(built.graph)]
    assert names == ['GroupNorm/beta', 'GroupNorm/gamma']
    with new_session(built.graph) as sess:
      assign_values(sess, {'GroupNorm/gamma': gamma})
      results.append(sess.run(built.net, {built.inputs: images}))
  assert_close(results[0], results[1], rel=1e-5)
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='groups=5 must divide the 16'):
      _layers.group_norm(tf.zeros([1, 2, 2, 16]), groups=5)


# ------------------------------------------- sizes vs the published tables


@functools.lru_cache(maxsize=None)
def _sizes(name, image_size=224, **kwargs):
  """(README parameters: weights and biases, batch norm excluded;
  OpenVINO parameters: batch norm folded into one bias per channel;
  multiply-adds of one image) of registered model `name` with 1001 classes.
  """
  model_fn = functools.partial(registry.get_model(name).fn, num_classes=1001,
                               **kwargs)
  built = build_in_graph(model_fn, [1, image_size, image_size, 3])
  variables = built.graph.get_collection(
      tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
  sizes = {v.op.name: int(np.prod(v.shape.as_list())) for v in variables}
  bn = {k: n for k, n in sizes.items() if '/BatchNorm/' in k}
  weights = sum(sizes.values()) - sum(bn.values())
  folded = weights + sum(n for k, n in bn.items() if k.endswith('/beta'))
  return weights, folded, cli.multiply_adds(built.graph)


# research/slim/nets/mobilenet/README.md: (MACs (M), parameters (M)). The
# README's parameters leave batch norm out: 3.47M for V2 1.0 is 3,472,041
# weights and biases; with batch norm it would be 3.51M. The 0.75 V3
# checkpoints keep their last layer's width (finegrain_classification_mode).
_README = [
    ('mobilenet_v2', {}, 224, 300, 3.47),
    ('mobilenet_v2_140', {}, 224, 582, 6.06),
    ('mobilenet_v2_035', {}, 224, 59, 1.66),
    ('mobilenet_v3_large', {}, 224, 217, 5.4),
    ('mobilenet_v3_large', {'depth_multiplier': 0.75,
                            'finegrain_classification_mode': True}, 224, 155,
     4.0),
    ('mobilenet_v3_large_minimalistic', {}, 224, 209, 3.9),
]


@pytest.mark.parametrize('name,kwargs,image_size,macs,params', _README)
def test_sizes_equal_upstream_readme(name, kwargs, image_size, macs, params):
  weights, _, measured_macs = _sizes(name, image_size, **kwargs)
  # MACs are rounded to 1M, parameters to the last digit given.
  assert abs(measured_macs / 1e6 - macs) < 1.0
  digits = 0.1 if params == round(params, 1) else 0.01
  assert abs(weights / 1e6 - params) < digits


def test_small_sizes_against_readme_and_paper():
  # README: Small 66M MACs / 2.9M, Small minimalistic 65M / 2.0M; Keras'
  # MobileNetV3Small docstring copies that table. The architecture itself,
  # Keras' included (test_v3_equals_keras_mobilenet_v3: the same 2,555,993
  # numbers), has 56.5M / 2.53M, the MobileNetV3 paper's Table 3 figures
  # (56M, 2.5M); so does the converted slim checkpoint
  # (test_folded_parameters_equal_openvino).
  weights, _, macs = _sizes('mobilenet_v3_small', 224)
  assert abs(macs / 1e6 - 56) < 1.0 and abs(weights / 1e6 - 2.5) < 0.05
  weights, _, macs = _sizes('mobilenet_v3_small_minimalistic', 224)
  assert abs(weights / 1e6 - 2.0) < 0.05
  assert abs(macs / 1e6 - 52) < 1.0  # README: 65M


def _truncated(value, decimals):
  return int(value * 10**decimals + 1e-6)


@pytest.mark.parametrize('name,mparams,decimals', [
    # docs.openvino.ai, omz model pages of the converted slim checkpoints
    # (1001 classes): mobilenet-v2-1.0-224 3.489 MParams,
    # mobilenet-v3-large-1.0-224-tf 5.4721 (2021.3),
    # mobilenet-v3-small-1.0-224-tf 2.537 (2021.4); their figures are
    # truncated, not rounded.
    ('mobilenet_v2', 3.489, 3),
    ('mobilenet_v3_large', 5.4721, 4),
    ('mobilenet_v3_small', 2.537, 3),
])
def test_folded_parameters_equal_openvino(name, mparams, decimals):
  _, folded, _ = _sizes(name, 224)
  assert _truncated(folded / 1e6, decimals) == _truncated(mparams, decimals)


# ------------------------------------------------ names and end points


def _v2_blocks():
  """(expansion?, stride) of the 17 V2 blocks, Table 2 of the paper."""
  blocks = []
  for t, _, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2),
                     (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                     (6, 320, 1, 1)):
    blocks += [(t != 1, s if i == 0 else 1) for i in range(n)]
  return blocks


def test_v2_checkpoint_names_and_end_points():
  built = build_in_graph(mobilenet_v2.mobilenet, [2, 224, 224, 3],
                         arg_scope=mobilenet_v2.training_scope())
  shapes = {v.op.name: v.shape.as_list()
            for v in global_variables(built.graph)}
  expected = {
      'MobilenetV2/Conv/weights': [3, 3, 3, 32],
      'MobilenetV2/Conv/BatchNorm/gamma': [32],
      'MobilenetV2/expanded_conv/depthwise/depthwise_weights': [3, 3, 32, 1],
      'MobilenetV2/expanded_conv/project/weights': [1, 1, 32, 16],
      'MobilenetV2/expanded_conv_1/expand/weights': [1, 1, 16, 96],
      'MobilenetV2/expanded_conv_1/expand/BatchNorm/moving_variance': [96],
      'MobilenetV2/expanded_conv_16/project/weights': [1, 1, 960, 320],
      'MobilenetV2/Conv_1/weights': [1, 1, 320, 1280],
      'MobilenetV2/Logits/Conv2d_1c_1x1/weights': [1, 1, 1280, 1001],
      'MobilenetV2/Logits/Conv2d_1c_1x1/biases': [1001],
  }
  assert {k: shapes.get(k) for k in expected} == expected
  # 5 variables per conv + batch norm: stem, 2 convs of the first block, 3
  # of the other 16, the 1x1 conv; plus the logits' 2.
  assert len(shapes) == 5 * (1 + 2 + 3 * 16 + 1) + 2 == 262
  trainable = built.graph.get_collection(
      tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
  assert len(trainable) == 3 * (1 + 2 + 3 * 16 + 1) + 2
  # Weight decay on the regular convs (not the depthwise ones), batch norm
  # updates in training.
  assert len(built.graph.get_collection(
      tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)) == 1 + 1 + 2 * 16 + 1 + 1
  assert len(built.graph.get_collection(
      tf.compat.v1.GraphKeys.UPDATE_OPS)) == 2 * (1 + 2 + 3 * 16 + 1)
  assert [v.op.name for v in built.graph.get_collection(
      tf.compat.v1.GraphKeys.MODEL_VARIABLES)] == list(shapes)
  names = ['layer_%d' % i for i in range(1, 20)]
  for i, (expands, _) in enumerate(_v2_blocks()):
    layer = 'layer_%d' % (i + 2)
    names += ([layer + '/expansion_output'] if expands else []) + [
        layer + '/depthwise_output', layer + '/output']
  names += ['global_pool', 'Logits', 'Predictions']
  assert list(built.end_points) == names
  size, strides = 112, iter(s for _, s in _v2_blocks())
  for i in range(2, 19):
    size //= next(strides)
    assert built.end_points['layer_%d' % i].shape.as_list()[1:3] == [size] * 2
  assert built.end_points['layer_19'].shape.as_list() == [2, 7, 7, 1280]
  assert built.end_points['global_pool'].shape.as_list() == [2, 1, 1, 1280]
  assert built.net.shape.as_list() == [2, 1001]
  assert built.net.op.name == 'MobilenetV2/Logits/output'


def test_v3_checkpoint_names_and_end_points():
  built = build_in_graph(mobilenet_v3.small, [1, 224, 224, 3])
  shapes = {v.op.name: v.shape.as_list()
            for v in global_variables(built.graph)}
  expected = {
      'MobilenetV3/Conv/weights': [3, 3, 3, 16],
      'MobilenetV3/expanded_conv/depthwise/depthwise_weights': [3, 3, 16, 1],
      'MobilenetV3/expanded_conv/squeeze_excite/Conv/weights': [1, 1, 16, 8],
      'MobilenetV3/expanded_conv/squeeze_excite/Conv_1/biases': [16],
      'MobilenetV3/expanded_conv_1/expand/weights': [1, 1, 16, 72],
      'MobilenetV3/expanded_conv_3/depthwise/depthwise_weights':
          [5, 5, 96, 1],
      'MobilenetV3/expanded_conv_10/squeeze_excite/Conv/weights':
          [1, 1, 576, 144],
      'MobilenetV3/Conv_1/BatchNorm/beta': [576],
      'MobilenetV3/Conv_2/weights': [1, 1, 576, 1024],
      'MobilenetV3/Conv_2/biases': [1024],
      'MobilenetV3/Logits/Conv2d_1c_1x1/weights': [1, 1, 1024, 1001],
  }
  assert {k: shapes.get(k) for k in expected} == expected
  assert 'MobilenetV3/Conv_2/BatchNorm/gamma' not in shapes
  assert list(built.end_points)[:15] == ['layer_%d' % i for i in range(1, 16)]
  assert list(built.end_points)[-3:] == ['global_pool', 'Logits',
                                         'Predictions']
  assert 'layer_2/expansion_output' not in built.end_points  # expansion 1
  assert built.end_points['layer_3/expansion_output'].shape.as_list() == [
      1, 56, 56, 72]
  assert built.end_points['layer_14'].shape.as_list() == [1, 1, 1, 576]
  assert built.end_points['layer_15'].shape.as_list() == [1, 1, 1, 1024]


def test_factory_keys_and_edgetpu_scopes():
  # upstream nets_factory: its keys, 224 pixels, the training_scope of the
  # model's module; the V2 and V3 keys are built above through the registry.
  families = {'mobilenet_v2': ['mobilenet_v2', 'mobilenet_v2_140',
                               'mobilenet_v2_035'],
              'mobilenet_v3': ['mobilenet_v3_small', 'mobilenet_v3_large',
                               'mobilenet_v3_small_minimalistic',
                               'mobilenet_v3_large_minimalistic',
                               'mobilenet_edgetpu', 'mobilenet_edgetpu_075']}
  for family, names in families.items():
    module = mobilenet_v2 if family == 'mobilenet_v2' else mobilenet_v3
    for name in names:
      info = registry.get_model(name)
      assert (info.family, info.default_image_size, info.num_classes,
              info.preprocessing) == (family, 224, 1001, 'inception'), name
      assert info.arg_scope_fn is module.training_scope, name
      assert nets_factory.get_network_fn(name, 10).default_image_size == 224
  # EdgeTPU: its own scope; 0.75 thins the stem (32 -> 24) but, fine-grained,
  # not the last layer.
  for name, stem_depth in (('mobilenet_edgetpu', 32),
                           ('mobilenet_edgetpu_075', 24)):
    with tf.Graph().as_default() as graph:
      logits, end_points = nets_factory.get_network_fn(name, 10)(
          tf.zeros([1, 32, 32, 3]))
      shapes = {v.op.name: v.shape.as_list() for v in global_variables(graph)}
    assert logits.shape.as_list() == [1, 10]
    assert shapes['MobilenetEdgeTPU/Conv/weights'] == [3, 3, 3, stem_depth]
    assert end_points['layer_24'].name.startswith('MobilenetEdgeTPU/')
    assert end_points['global_pool'].shape.as_list() == [1, 1, 1, 1280]


def test_unknown_spatial_size_runs():
  built = build_in_graph(mobilenet_v2.mobilenet_v2_035, [None, None, None, 3],
                         num_classes=5)
  assert built.end_points['global_pool'].shape.as_list() == [None, 1, 1, 1280]
  with new_session(built.graph) as sess:
    for size in (33, 64):
      out = sess.run(built.net, {built.inputs: _images([1, size, size, 3], 0)})
      assert out.shape == (1, 5) and np.all(np.isfinite(out))


# ------------------------------------------------------------- bad input


def _message(exception, fn, **kwargs):
  with tf.Graph().as_default():
    with pytest.raises(exception) as info:
      fn(tf.compat.v1.placeholder(tf.float32, [1, 64, 64, 3]), **kwargs)
  message = str(info.value)
  assert '\n' not in message
  return message


@pytest.mark.parametrize('fn', [mobilenet_v2.mobilenet, mobilenet_v3.large,
                                mobilenet_v3.edge_tpu])
@pytest.mark.parametrize('depth_multiplier', [0, -0.5])
def test_depth_multiplier_must_be_positive(fn, depth_multiplier):
  message = _message(ValueError, fn, depth_multiplier=depth_multiplier)
  assert message.startswith('depth_multiplier is not greater than zero.')
  assert repr(depth_multiplier) in message


def test_builder_multiplier_and_output_stride_checked():
  base = functools.partial(lib.mobilenet_base,
                           conv_defs=mobilenet_v2.V2_DEF)
  assert 'multiplier is not greater than zero' in _message(
      ValueError, base, multiplier=0.0)
  assert 'Output stride must be None, 1 or a multiple of 2' in _message(
      ValueError, base, output_stride=3)
  assert 'must be a number' in _message(TypeError, mobilenet_v2.mobilenet,
                                        depth_multiplier='1.0')


def test_unknown_final_endpoint_lists_the_valid_ones():
  message = _message(ValueError, mobilenet_v2.mobilenet_base,
                     final_endpoint='layer_20')
  assert "Unknown final endpoint 'layer_20'" in message
  assert message.endswith(', '.join('layer_%d' % i for i in range(1, 20)))
  message = _message(ValueError, mobilenet_v3.small, final_endpoint='Conv_1')
  assert message.endswith('layer_14, layer_15')


def test_nchw_arg_scope_is_refused_in_one_line():
  with tf.Graph().as_default():
    with slim.arg_scope([_layers.conv2d], data_format='NCHW'):
      with pytest.raises(ValueError, match="runs in data_format 'NHWC' only"):
        mobilenet_v3.small(tf.zeros([1, 32, 32, 3]))
