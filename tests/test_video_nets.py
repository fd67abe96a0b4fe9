"""Tests of the video networks nets.i3d, nets.s3dg and nets.i3d_utils.

The Inception block (separable, gated) and `self_gating` are checked against
the same computation written with `tf.nn` ops on the block's own variables;
the networks against the checkpoint names of research/slim (i3d.py, s3dg.py),
against the parameter and multiply-add counts that follow from the published
architecture (GoogLeNet's Table 1 channels, arXiv:1409.4842, inflated as in
Carreira & Zisserman, arXiv:1705.07750, and made separable and gated as in
Xie et al., arXiv:1712.04851), and against the I3D paper's parameter count.
Small clips (8 frames of 64x64) wherever something runs.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import assert_close, new_session
from nets import _layers
from nets import _layers_3d
from nets import i3d
from nets import i3d_utils
from nets import nets_factory
from nets import registry
from nets import s3dg
from slimnets import cli

_END_POINTS = [
    'Conv2d_1a_7x7', 'MaxPool_2a_3x3', 'Conv2d_2b_1x1', 'Conv2d_2c_3x3',
    'MaxPool_3a_3x3', 'Mixed_3b', 'Mixed_3c', 'MaxPool_4a_3x3', 'Mixed_4b',
    'Mixed_4c', 'Mixed_4d', 'Mixed_4e', 'Mixed_4f', 'MaxPool_5a_2x2',
    'Mixed_5b', 'Mixed_5c'
]
# GoogLeNet's Table 1 (arXiv:1409.4842): #1x1, #3x3 reduce, #3x3, #5x5 reduce,
# #5x5 (a 3x3 in slim's Inception v1, Branch_2), pool proj; and the spatial
# size and frame count of each stage at 64x224x224 (strides of I3D's Fig. 3).
_MIXED = (
    ('Mixed_3b', (64, 96, 128, 16, 32, 32), 32, 28),
    ('Mixed_3c', (128, 128, 192, 32, 96, 64), 32, 28),
    ('Mixed_4b', (192, 96, 208, 16, 48, 64), 16, 14),
    ('Mixed_4c', (160, 112, 224, 24, 64, 64), 16, 14),
    ('Mixed_4d', (128, 128, 256, 24, 64, 64), 16, 14),
    ('Mixed_4e', (112, 144, 288, 32, 64, 64), 16, 14),
    ('Mixed_4f', (256, 160, 320, 32, 128, 128), 16, 14),
    ('Mixed_5b', (256, 160, 320, 32, 128, 128), 8, 7),
    ('Mixed_5c', (384, 192, 384, 48, 128, 128), 8, 7),
)
_SMALL_CLIP = [1, 8, 64, 64, 3]
_FULL_CLIP = [1, 64, 224, 224, 3]
_KEYS = tf.compat.v1.GraphKeys


def _build(model_fn, shape, arg_scope, **kwargs):
  graph = tf.Graph()
  with graph.as_default():
    clips = tf.compat.v1.placeholder(tf.float32, shape, name='clips')
    with slim.arg_scope(arg_scope):
      net, end_points = model_fn(clips, **kwargs)
  return graph, clips, net, end_points


@pytest.fixture(scope='module')
def full_i3d():
  return _build(i3d.i3d, _FULL_CLIP, i3d.i3d_arg_scope(), num_classes=400,
                is_training=True)


@pytest.fixture(scope='module')
def full_s3dg():
  return _build(s3dg.s3dg, _FULL_CLIP, s3dg.s3dg_arg_scope(), num_classes=400,
                is_training=True)


def _shapes(graph, collection=_KEYS.GLOBAL_VARIABLES):
  return {v.op.name: v.shape.as_list()
          for v in graph.get_collection(collection)}


def _count(graph, collection=_KEYS.TRAINABLE_VARIABLES):
  return sum(int(np.prod(s)) for s in _shapes(graph, collection).values())


def _randomize(sess, seed=0):
  """Random values for every variable (fresh ones hide mistakes: identity
  temporal kernels, zero biases, unit batch norm)."""
  rng = np.random.RandomState(seed)
  for variable in sess.graph.get_collection(_KEYS.GLOBAL_VARIABLES):
    shape = variable.shape.as_list()
    if variable.op.name.endswith('moving_variance'):
      value = rng.uniform(0.5, 1.5, shape)
    else:
      value = rng.normal(0, 0.3, shape)
    variable.load(value.astype(np.float32), sess)


# ------------------------------------------------------- block vs plain ops


def _plain_block(x, var, depths):
  """inception_block_v1_3d under s3dg's arg scope (inference), separable
  3x3x3 convs and gating, written with tf.nn ops on the variables `var`."""

  def conv(net, scope):  # conv + batch norm (beta only) + relu
    net = tf.nn.conv3d(net, var(scope + '/weights'), [1] * 5, 'SAME')
    mean, variance = var(scope + '/BatchNorm/moving_mean'), var(
        scope + '/BatchNorm/moving_variance')
    net = (net - mean) * tf.math.rsqrt(variance + 0.001) + var(
        scope + '/BatchNorm/beta')
    return tf.nn.relu(net)

  def separable(net, scope):
    net = conv(net, scope)
    net = tf.nn.conv3d(net, var(scope + '/temporal/weights'), [1] * 5, 'SAME')
    return tf.nn.relu(net + var(scope + '/temporal/biases'))

  def gate(net, scope):
    average = tf.reduce_mean(net, [1, 2, 3], keepdims=True)
    weights = tf.nn.conv3d(
        average, var(scope + '/self_gating/transformer_W/weights'), [1] * 5,
        'VALID')
    return net * tf.sigmoid(weights)

  del depths  # The variables carry them.
  b0 = gate(conv(x, 'Block/Branch_0/Conv2d_0a_1x1'),
            'Block/Branch_0/Conv2d_0a_1x1')
  b1 = conv(x, 'Block/Branch_1/Conv2d_0a_1x1')
  b1 = gate(separable(b1, 'Block/Branch_1/Conv2d_0b_3x3'),
            'Block/Branch_1/Conv2d_0b_3x3')
  b2 = conv(x, 'Block/Branch_2/Conv2d_0a_1x1')
  b2 = gate(separable(b2, 'Block/Branch_2/Conv2d_0b_3x3'),
            'Block/Branch_2/Conv2d_0b_3x3')
  b3 = tf.nn.max_pool3d(x, [1, 3, 3, 3, 1], [1] * 5, 'SAME')
  b3 = gate(conv(b3, 'Block/Branch_3/Conv2d_0b_1x1'),
            'Block/Branch_3/Conv2d_0b_1x1')
  return tf.concat([b0, b1, b2, b3], 4)


def test_gated_separable_inception_block_equals_plain_ops():
  depths = (4, 3, 5, 2, 6, 3)
  value = np.random.RandomState(1).uniform(-1, 1, [2, 4, 6, 6, 5])
  graph = tf.Graph()
  with graph.as_default():
    x = tf.constant(value.astype(np.float32))
    with slim.arg_scope(s3dg.s3dg_arg_scope()), slim.arg_scope(
        [_layers_3d.conv3d, _layers_3d.max_pool3d,
         i3d_utils.conv3d_spatiotemporal], stride=1, padding='SAME'), \
        slim.arg_scope([_layers.batch_norm], is_training=False):
      ours = i3d_utils.inception_block_v1_3d(
          x, *depths, temporal_kernel_size=3, self_gating_fn=s3dg.self_gating,
          scope='Block')
    by_name = {v.op.name: v for v in graph.get_collection(
        _KEYS.GLOBAL_VARIABLES)}
    expected = _plain_block(x, by_name.__getitem__, depths)
  with new_session(graph) as sess:
    _randomize(sess)
    ours_value, expected_value = sess.run([ours, expected])
  assert ours_value.shape == (2, 4, 6, 6, 4 + 5 + 6 + 3)
  assert_close(ours_value, expected_value, what='inception_block_v1_3d')
  # 6 convs (+ BN), 2 temporal convs, 4 gates.
  assert len(by_name) == 6 * 4 + 2 * 2 + 4


def test_self_gating_equals_plain_ops_and_keeps_dynamic_shapes():
  value = np.random.RandomState(2).uniform(-1, 1, [2, 3, 4, 5, 6])
  graph = tf.Graph()
  with graph.as_default():
    static = s3dg.self_gating(tf.constant(value, tf.float32), 'Gate')
    unknown = tf.compat.v1.placeholder(tf.float32, [None, None, None, None, 6])
    with tf.compat.v1.variable_scope('', reuse=True):
      dynamic = s3dg.self_gating(unknown, 'Gate')
    weights = graph.get_collection(_KEYS.GLOBAL_VARIABLES)[0]
    gates = tf.sigmoid(tf.nn.conv3d(
        tf.reduce_mean(value.astype(np.float32), [1, 2, 3], keepdims=True),
        weights, [1] * 5, 'VALID'))
    expected = value.astype(np.float32) * gates
  with new_session(graph) as sess:
    _randomize(sess)
    got = sess.run([static, dynamic, expected], {unknown: value})
  assert weights.op.name == 'Gate/self_gating/transformer_W/weights'
  assert weights.shape.as_list() == [1, 1, 1, 6, 6]
  assert_close(got[0], got[2], what='self_gating')
  assert_close(got[1], got[2], what='self_gating, unknown shape')


def test_center_initializer_is_the_identity_in_time():
  with tf.Graph().as_default():
    value = tf.compat.v1.Session().run(
        i3d_utils.center_initializer()([5, 1, 1, 4, 4]))
  expected = np.zeros([5, 1, 1, 4, 4], np.float32)
  expected[2, 0, 0] = np.eye(4)
  np.testing.assert_array_equal(value, expected)
  for shape in ([4, 1, 1, 4, 4], [3, 3, 1, 4, 4], [3, 1, 1, 4, 5],
                [3, 1, 4, 4]):
    with pytest.raises(ValueError, match='center_initializer'):
      i3d_utils.center_initializer()(shape)


def test_reduced_kernel_size_3d():
  with tf.Graph().as_default():
    small = tf.zeros([1, 1, 2, 2, 8])
    unknown = tf.compat.v1.placeholder(tf.float32, [1, None, 9, 9, 8])
    assert i3d_utils.reduced_kernel_size_3d(small, [2, 7, 7]) == [1, 2, 2]
    assert i3d_utils.reduced_kernel_size_3d(unknown, [2, 7, 7]) == [2, 7, 7]


# ------------------------------------------------------------ checkpoints


def test_i3d_variable_names_and_counts(full_i3d):
  graph, _, logits, end_points = full_i3d
  shapes = _shapes(graph)
  for name, shape in (
      ('InceptionV1/Conv2d_1a_7x7/weights', [7, 7, 7, 3, 64]),
      ('InceptionV1/Conv2d_1a_7x7/BatchNorm/beta', [64]),
      ('InceptionV1/Conv2d_1a_7x7/BatchNorm/moving_variance', [64]),
      ('InceptionV1/Conv2d_2c_3x3/weights', [3, 3, 3, 64, 192]),
      ('InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/weights',
       [3, 3, 3, 96, 128]),
      ('InceptionV1/Mixed_3b/Branch_3/Conv2d_0b_1x1/weights',
       [1, 1, 1, 192, 32]),
      ('InceptionV1/Mixed_5c/Branch_2/Conv2d_0b_3x3/weights',
       [3, 3, 3, 48, 128]),
      ('InceptionV1/Logits/Conv2d_0c_1x1/weights', [1, 1, 1, 1024, 400]),
      ('InceptionV1/Logits/Conv2d_0c_1x1/biases', [400])):
    assert shapes[name] == shape, name
  # 57 convolutions (3 in the stem, 6 per Mixed block) with weights and a
  # batch norm beta (no gamma: tf-slim's batch_norm has scale=False), plus
  # the logits' weights and biases; 2 moving statistics per batch norm.
  convs = 3 + 6 * len(_MIXED)
  assert len(graph.get_collection(_KEYS.TRAINABLE_VARIABLES)) == 2 * convs + 2
  assert len(shapes) == len(graph.get_collection(_KEYS.MODEL_VARIABLES)) == (
      4 * convs + 2)
  assert len(graph.get_collection('moving_vars')) == 2 * convs
  assert len(graph.get_collection(_KEYS.UPDATE_OPS)) == 2 * convs
  assert len(graph.get_collection(_KEYS.REGULARIZATION_LOSSES)) == convs + 1
  assert list(end_points) == _END_POINTS + ['Logits', 'Predictions']
  assert logits.shape.as_list() == [1, 400]
  assert end_points['Mixed_5c'].shape.as_list() == [1, 8, 7, 7, 1024]


def test_s3dg_variable_names_and_counts(full_s3dg):
  graph, _, _, end_points = full_s3dg
  shapes = _shapes(graph)
  for name, shape in (
      ('InceptionV1/Conv2d_1a_7x7/weights', [3, 7, 7, 3, 64]),
      ('InceptionV1/Conv2d_2c_3x3/weights', [1, 3, 3, 64, 192]),
      ('InceptionV1/Conv2d_2c_3x3/temporal/weights', [3, 1, 1, 192, 192]),
      ('InceptionV1/Conv2d_2c_3x3/temporal/biases', [192]),
      ('InceptionV1/Conv2d_2c_3x3/self_gating/transformer_W/weights',
       [1, 1, 1, 192, 192]),
      ('InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/weights',
       [1, 3, 3, 96, 128]),
      ('InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/BatchNorm/beta', [128]),
      ('InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/temporal/weights',
       [3, 1, 1, 128, 128]),
      ('InceptionV1/Mixed_4b/Branch_0/Conv2d_0a_1x1/self_gating/'
       'transformer_W/weights', [1, 1, 1, 192, 192]),
      ('InceptionV1/Mixed_5c/Branch_3/Conv2d_0b_1x1/self_gating/'
       'transformer_W/weights', [1, 1, 1, 128, 128]),
      ('InceptionV1/Logits/Conv2d_0c_1x1/weights', [1, 1, 1, 1024, 400])):
    assert shapes[name] == shape, name
  assert 'InceptionV1/Conv2d_1a_7x7/temporal/weights' not in shapes
  # On top of I3D's: a temporal conv (weights, biases) after each of the 19
  # 3x3 convs, a gate (weights) after Conv2d_2c_3x3 and each of the 36
  # branches; all regularized.
  convs, temporal, gates = 3 + 6 * len(_MIXED), 1 + 2 * len(_MIXED), 1 + 36
  trainable = 2 * convs + 2 * temporal + gates + 2
  assert len(graph.get_collection(_KEYS.TRAINABLE_VARIABLES)) == trainable
  assert len(shapes) == trainable + 2 * convs
  assert len(graph.get_collection(_KEYS.REGULARIZATION_LOSSES)) == (
      convs + temporal + gates + 1)
  assert len(graph.get_collection(_KEYS.UPDATE_OPS)) == 2 * convs
  assert list(end_points) == _END_POINTS + ['Logits', 'Predictions']


# ------------------------------------------- counts vs the published model


def _conv(taps, cin, cout):
  """Parameters of a conv with batch norm: weights and beta."""
  return taps * cin * cout + cout


def _expected_parameters(separable_gated, first_taps, num_classes=400):
  """Trainable parameters following from the architecture (module doc)."""

  def conv3x3(cin, cout):
    if not separable_gated:
      return _conv(27, cin, cout)
    # [1, 3, 3] + batch norm, [3, 1, 1] + biases, then a cout x cout gate.
    return _conv(9, cin, cout) + 3 * cout * cout + cout + cout * cout

  gate = lambda c: c * c if separable_gated else 0
  total = _conv(first_taps * 49, 3, 64) + _conv(1, 64, 64) + conv3x3(64, 192)
  cin = 192
  for _, (a, b_reduce, b, c_reduce, c, d), _, _ in _MIXED:
    total += (_conv(1, cin, a) + gate(a) + _conv(1, cin, b_reduce) +
              conv3x3(b_reduce, b) + _conv(1, cin, c_reduce) +
              conv3x3(c_reduce, c) + _conv(1, cin, d) + gate(d))
    cin = a + b + c + d
  return total + cin * num_classes + num_classes


def _expected_multiply_adds(separable_gated, first_taps, num_classes=400):
  """Multiply-adds at 64x224x224 following from the architecture."""
  t3 = 3  # temporal taps of the 3x3 layers

  def conv3x3(positions, cin, cout):
    if not separable_gated:
      return positions * t3 * 9 * cin * cout
    return positions * (9 * cin * cout + t3 * cout * cout) + cout * cout

  gate = lambda c: c * c if separable_gated else 0
  total = (32 * 112 * 112 * first_taps * 49 * 3 * 64 +
           32 * 56 * 56 * 64 * 64 + conv3x3(32 * 56 * 56, 64, 192))
  cin = 192
  for _, (a, b_reduce, b, c_reduce, c, d), frames, size in _MIXED:
    positions = frames * size * size
    total += (positions * cin * (a + b_reduce + c_reduce + d) + gate(a) +
              gate(d) + conv3x3(positions, b_reduce, b) +
              conv3x3(positions, c_reduce, c))
    cin = a + b + c + d
  # The logits conv runs on the 7 windows of the [2, 7, 7] average pool.
  return total + 7 * cin * num_classes


def test_i3d_counts_follow_the_architecture_and_the_paper(full_i3d):
  graph = full_i3d[0]
  # 12,689,984 and 111,153,143,808 (111.2 G) multiply-adds per 64-frame clip.
  assert _count(graph) == _expected_parameters(False, 7) == 12689984
  assert cli.multiply_adds(graph) == _expected_multiply_adds(False, 7)
  # Carreira & Zisserman (arXiv:1705.07750) Table 1: "Two-Stream I3D, 25M"
  # parameters, an RGB stream plus a flow stream (2 input channels).
  flow = _build(i3d.i3d, [1, 8, 32, 32, 2], i3d.i3d_arg_scope(),
                num_classes=400)[0]
  assert round((_count(graph) + _count(flow)) / 1e6) == 25


def test_s3dg_counts_follow_the_architecture(full_s3dg):
  # Computed from the architecture only: the S3D-G paper's table could not
  # be consulted offline. 9,518,848 parameters, 64.2 G multiply-adds.
  graph = full_s3dg[0]
  assert _count(graph) == _expected_parameters(True, 3) == 9518848
  assert cli.multiply_adds(graph) == _expected_multiply_adds(True, 3)


# --------------------------------------------------------------- behaviour


def test_s3dg_trains_and_i3d_evaluates_on_small_clips():
  clip = np.random.RandomState(3).uniform(-1, 1, _SMALL_CLIP)
  graph, clips, logits, end_points = _build(
      s3dg.s3dg, _SMALL_CLIP, s3dg.s3dg_arg_scope(), num_classes=5)
  with graph.as_default():
    updates = graph.get_collection(_KEYS.UPDATE_OPS)
  with new_session(graph) as sess:
    value, _ = sess.run([end_points['Predictions'], updates], {clips: clip})
  np.testing.assert_allclose(value.sum(axis=1), 1.0, rtol=1e-5)
  assert logits.shape.as_list() == [1, 5]
  graph, clips, logits, end_points = _build(
      i3d.i3d, _SMALL_CLIP, i3d.i3d_arg_scope(), num_classes=5,
      is_training=False)
  assert not graph.get_collection(_KEYS.UPDATE_OPS)
  with new_session(graph) as sess:
    assert np.isfinite(sess.run(logits, {clips: clip})).all()
  assert end_points['Mixed_5c'].shape.as_list() == [1, 1, 2, 2, 1024]


def test_i3d_is_s3dg_with_i3d_settings(full_i3d):
  theirs = _build(s3dg.s3dg, _SMALL_CLIP, i3d.i3d_arg_scope(), num_classes=400,
                  first_temporal_kernel_size=7, gating_startat=None)
  assert _shapes(full_i3d[0]) == _shapes(theirs[0])
  assert list(full_i3d[3]) == list(theirs[3])


def test_depth_multiplier_and_min_depth():
  graph = _build(s3dg.s3dg_base, _SMALL_CLIP, s3dg.s3dg_arg_scope(),
                 depth_multiplier=0.5, final_endpoint='Mixed_3b')[0]
  shapes = _shapes(graph)
  assert shapes['InceptionV1/Conv2d_1a_7x7/weights'] == [3, 7, 7, 3, 32]
  # 16 * 0.5 = 8 is below min_depth 16.
  assert shapes['InceptionV1/Mixed_3b/Branch_2/Conv2d_0a_1x1/weights'] == [
      1, 1, 1, 96, 16]


def test_temporal_conv_and_gating_start_where_asked():
  graph = _build(s3dg.s3dg_base, _SMALL_CLIP, s3dg.s3dg_arg_scope(),
                 temporal_conv_startat='Mixed_4b', gating_startat='Mixed_5b')[0]
  names = set(_shapes(graph))
  temporal = {n.split('/')[1] for n in names if '/temporal/' in n}
  gated = {n.split('/')[1] for n in names if '/self_gating/' in n}
  assert temporal == {'Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e',
                      'Mixed_4f', 'Mixed_5b', 'Mixed_5c'}
  assert gated == {'Mixed_5b', 'Mixed_5c'}


def test_ncdhw_builds_the_same_variables(full_s3dg):
  # Graph only: TensorFlow's CPU kernels run Conv3D in NDHWC only.
  ncdhw = _build(s3dg.s3dg, [1, 3, 8, 64, 64], s3dg.s3dg_arg_scope(),
                 num_classes=400, data_format='NCDHW')
  # Batch norm normalizes the channels (its variables have their size).
  assert _shapes(ncdhw[0]) == _shapes(full_s3dg[0])
  assert ncdhw[3]['Mixed_5c'].shape.as_list() == [1, 1024, 1, 2, 2]
  assert ncdhw[2].shape.as_list() == [1, 400]


def test_features_without_logits():
  graph, _, net, end_points = _build(i3d.i3d, _SMALL_CLIP,
                                     i3d.i3d_arg_scope(), num_classes=0)
  assert net.shape.as_list() == [1, 1, 1, 1024]
  assert 'Logits' not in end_points
  assert not [n for n in _shapes(graph) if '/Logits/' in n]


def test_registry_and_factory():
  for name, module, arg_scope in (('i3d', i3d, i3d.i3d_arg_scope),
                                  ('s3dg', s3dg, s3dg.s3dg_arg_scope)):
    info = registry.get_model(name)
    assert info.fn is getattr(module, name)
    assert (info.family, info.arg_scope_fn, info.default_image_size,
            info.num_classes, info.preprocessing, info.num_frames) == (
                name, arg_scope, 224, 400, 'inception', 64)
    assert nets_factory.networks_map[name] is info.fn
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn('i3d', 7, weight_decay=1e-4)
    logits, _ = network_fn(tf.zeros(registry.input_shape('i3d', 2, 32, 4)))
    assert logits.shape.as_list() == [2, 7]
    assert len(tf.compat.v1.get_collection(_KEYS.REGULARIZATION_LOSSES)) == 58


# --------------------------------------------------------------- bad input


def _one_line_error(call, error, pattern):
  with tf.Graph().as_default():
    with pytest.raises(error, match=pattern) as info:
      call()
  assert '\n' not in str(info.value), str(info.value)
  return str(info.value)


def test_image_input_is_refused_in_one_line():
  _one_line_error(lambda: i3d.i3d(tf.zeros([1, 64, 64, 3])), ValueError,
                  r'^inputs must be a rank-5 tensor \[batch, time, height, '
                  r'width, channels\] \(video clips\), got rank 4')
  _one_line_error(lambda: s3dg.s3dg(tf.zeros([1, 4, 64, 64, 3], tf.uint8)),
                  ValueError, 'has dtype uint8')


def test_unknown_final_endpoint_lists_the_valid_ones():
  message = _one_line_error(
      lambda: i3d.i3d_base(tf.zeros(_SMALL_CLIP), final_endpoint='Mixed_6a'),
      ValueError, r"Unknown final endpoint 'Mixed_6a'")
  assert message.endswith(', '.join(_END_POINTS))


@pytest.mark.parametrize('depth_multiplier', [0, -0.5])
def test_depth_multiplier_must_be_positive(depth_multiplier):
  _one_line_error(
      lambda: s3dg.s3dg(tf.zeros(_SMALL_CLIP),
                        depth_multiplier=depth_multiplier), ValueError,
      r'^depth_multiplier is not greater than zero. Got %r' %
      depth_multiplier)


@pytest.mark.parametrize('kwargs, pattern', [
    (dict(first_temporal_kernel_size=4),
     r'first_temporal_kernel_size can only be 1, 3, 5 or 7, got 4'),
    (dict(gating_startat='Mixed_6b'),
     r"Unknown gating_startat 'Mixed_6b'; it is None \(never\) or one of: "
     r'Conv2d_2c_3x3, Mixed_3b,'),
    (dict(temporal_conv_startat='MaxPool_4a_3x3'),
     r"Unknown temporal_conv_startat 'MaxPool_4a_3x3'"),
    (dict(data_format='NHWC'),
     r"data_format must be 'NDHWC' or 'NCDHW', got 'NHWC'"),
])
def test_bad_s3dg_arguments(kwargs, pattern):
  _one_line_error(lambda: s3dg.s3dg_base(tf.zeros(_SMALL_CLIP), **kwargs),
                  ValueError, pattern)
