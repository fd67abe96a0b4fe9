"""Tests of nets.inception_v1, nets.inception_v2, nets.inception_v3.

Each network is compared with tf-slim 1.1.0's own `tf_slim.nets` copy
(variables copied by name; every end point within 1e-5 relative), its
parameter counts and multiply-adds with published figures (torchvision's
and Keras' model tables, which were ported from or equal slim's
architecture, and for Inception v2 the table of its paper), and its errors
on bad arguments. Upstream's own inception_v*_test.py run outside the
repository.
"""

import importlib

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import reference
from conftest import (assert_close, build_in_graph, global_variables,
                      new_session, perturb_batch_norm, read_values,
                      assign_values)
from nets import inception
from nets import inception_utils
from nets import inception_v1
from nets import inception_v2
from nets import inception_v3
from nets import nets_factory
from nets import registry
from nets import runtime
from slimnets.cli import multiply_adds

_KEYS = tf.compat.v1.GraphKeys

_V1_BASE = [
    'Conv2d_1a_7x7', 'MaxPool_2a_3x3', 'Conv2d_2b_1x1', 'Conv2d_2c_3x3',
    'MaxPool_3a_3x3', 'Mixed_3b', 'Mixed_3c', 'MaxPool_4a_3x3', 'Mixed_4b',
    'Mixed_4c', 'Mixed_4d', 'Mixed_4e', 'Mixed_4f', 'MaxPool_5a_2x2',
    'Mixed_5b', 'Mixed_5c'
]
_V2_BASE = [
    'Conv2d_1a_7x7', 'MaxPool_2a_3x3', 'Conv2d_2b_1x1', 'Conv2d_2c_3x3',
    'MaxPool_3a_3x3', 'Mixed_3b', 'Mixed_3c', 'Mixed_4a', 'Mixed_4b',
    'Mixed_4c', 'Mixed_4d', 'Mixed_4e', 'Mixed_5a', 'Mixed_5b', 'Mixed_5c'
]
_V3_BASE = [
    'Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'MaxPool_3a_3x3',
    'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'MaxPool_5a_3x3', 'Mixed_5b',
    'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d',
    'Mixed_6e', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c'
]


def _images(size, batch=2, seed=0):
  return np.random.RandomState(seed).uniform(
      -1, 1, [batch, size, size, 3]).astype(np.float32)


def _params(graph, collection=_KEYS.TRAINABLE_VARIABLES):
  return sum(int(np.prod(v.shape.as_list()))
             for v in graph.get_collection(collection))


def _names(graph, collection):
  return sorted(v.op.name for v in graph.get_collection(collection))


# name -> (size, is_training, end points newer upstream added to the
# tf-slim 1.1.0 copy). v3 runs in training mode (batch statistics, the
# moving-average updates, keep_prob 1 so that dropout keeps everything);
# v1 and v2 in inference mode on perturbed moving statistics.
_REFERENCE_CASES = {
    'inception_v1': (224, False, ('AvgPool_0a_7x7',)),
    'inception_v2': (64, False, ('AvgPool_1a', 'PreLogits')),
    'inception_v3': (107, True, ('AvgPool_1a',)),
}


def _tf_slim_module(name):
  reference.enable_tf_slim_layers()
  return importlib.import_module('tf_slim.nets.' + name)


def _logits_pool(graph, scope):
  """The reference's head pool: its one AvgPool op under <scope>/Logits."""
  (op,) = [op for op in graph.get_operations()
           if op.type == 'AvgPool' and op.name.startswith(scope + '/Logits/')]
  return op.outputs[0]


@pytest.mark.parametrize('name', sorted(_REFERENCE_CASES))
def test_matches_tf_slim(name):
  size, training, newer = _REFERENCE_CASES[name]
  ref_module = _tf_slim_module(name)
  kwargs = dict(num_classes=7, is_training=training)
  if training:
    kwargs['dropout_keep_prob'] = 1.0
  ref = build_in_graph(getattr(ref_module, name), [2, size, size, 3],
                       arg_scope=getattr(ref_module, name + '_arg_scope')(),
                       **kwargs)
  ours_module = importlib.import_module('nets.' + name)
  ours = build_in_graph(getattr(ours_module, name), [2, size, size, 3],
                        arg_scope=getattr(ours_module, name + '_arg_scope')(),
                        **kwargs)
  scope = 'InceptionV' + name[-1]

  def shapes(graph):
    return {v.op.name: v.shape.as_list() for v in global_variables(graph)}

  assert shapes(ours.graph) == shapes(ref.graph)
  for collection in (_KEYS.TRAINABLE_VARIABLES, _KEYS.MODEL_VARIABLES):
    assert _names(ours.graph, collection) == _names(ref.graph, collection)
  for collection in (_KEYS.UPDATE_OPS, _KEYS.REGULARIZATION_LOSSES):
    assert len(ours.graph.get_collection(collection)) == len(
        ref.graph.get_collection(collection))
  assert bool(ours.graph.get_collection(_KEYS.UPDATE_OPS)) == training
  # Same keys in the same order, plus the pooling end points of newer slim.
  assert [k for k in ours.end_points if k not in newer] == list(ref.end_points)
  assert set(ours.end_points) - set(ref.end_points) == set(newer)
  # Same scopes (the last op name differs for max pools: MaxPool2d).
  assert {k: t.name.rsplit('/', 1)[0] for k, t in ref.end_points.items()} == {
      k: ours.end_points[k].name.rsplit('/', 1)[0] for k in ref.end_points}

  images = _images(size)
  ref_sess = new_session(ref.graph)
  perturb_batch_norm(ref_sess)
  ours_sess = new_session(ours.graph)
  assign_values(ours_sess, read_values(ref_sess))
  pool = _logits_pool(ref.graph, scope)
  expected = ref_sess.run(
      [ref.end_points, pool] + ref.graph.get_collection(_KEYS.UPDATE_OPS),
      {ref.inputs: images})[:2]
  actual = ours_sess.run(
      [ours.end_points] + ours.graph.get_collection(_KEYS.UPDATE_OPS),
      {ours.inputs: images})[0]
  expected = dict(expected[0], **{k: expected[1] for k in newer})
  logits = expected['Logits']
  # A real signal: the logits vary over classes and images.
  assert logits.std() > 0.05 * np.abs(logits).max() > 0
  for key, value in expected.items():
    assert_close(actual[key], value, rel=1e-5, what='%s %s' % (name, key))
  # The moving averages moved the same way (training) or not at all.
  ours_values = read_values(ours_sess)
  for key, value in read_values(ref_sess).items():
    assert_close(ours_values[key], value, rel=1e-5, what=key)
  ref_sess.close()
  ours_sess.close()


def _check_names(built, end_points, variables):
  assert list(built.end_points) == end_points + ['Logits', 'Predictions']
  # No end-point collection, as upstream's Inception nets.
  assert not [k for k in built.graph.get_all_collection_keys()
              if k.endswith('_end_points')]
  shapes = {v.op.name: v.shape.as_list()
            for v in global_variables(built.graph)}
  assert {k: shapes.get(k) for k in variables} == variables
  # Batch norm replaces the biases of every convolution but the logits
  # and Inception v2's separable first layer.
  assert {k.rsplit('/', 2)[-2] for k in shapes if k.endswith('/biases')} <= {
      'Conv2d_0c_1x1', 'Conv2d_1c_1x1', 'Conv2d_2b_1x1', 'Conv2d_1a_7x7'}


def test_inception_v1_names_and_counts():
  """torchvision's GoogLeNet has slim's architecture, including the 3x3
  convolutions where the paper (arXiv:1409.4842, Table 1) has 5x5; its
  batch norms have gamma, hence batch_norm_scale=True. Its model table
  (pytorch.org/vision/stable/models, GoogLeNet_Weights.IMAGENET1K_V1):
  6,624,904 parameters, 1.498 GFLOPS (multiply-adds) with 1000 classes."""
  built = build_in_graph(
      inception_v1.inception_v1, [1, 224, 224, 3],
      arg_scope=inception_utils.inception_arg_scope(batch_norm_scale=True),
      num_classes=1000)
  _check_names(built, _V1_BASE + ['AvgPool_0a_7x7'], {
      'InceptionV1/Conv2d_1a_7x7/weights': [7, 7, 3, 64],
      # slim's checkpoint name of the second 3x3 (5x5 in the paper).
      'InceptionV1/Mixed_5b/Branch_2/Conv2d_0a_3x3/weights': [3, 3, 32, 128],
      'InceptionV1/Mixed_3b/Branch_3/Conv2d_0b_1x1/BatchNorm/'
      'moving_variance': [32],
      'InceptionV1/Mixed_3b/Branch_3/Conv2d_0b_1x1/BatchNorm/gamma': [32],
      'InceptionV1/Logits/Conv2d_0c_1x1/weights': [1, 1, 1024, 1000],
      'InceptionV1/Logits/Conv2d_0c_1x1/biases': [1000],
  })
  assert built.end_points['Mixed_5c'].shape.as_list() == [1, 7, 7, 1024]
  assert _params(built.graph) == 6624904
  assert round(multiply_adds(built.graph) / 1e9, 3) == 1.498


def test_inception_v3_names_and_counts():
  """torchvision's Inception v3 was ported from slim's checkpoint: the same
  layers and AuxLogits, batch norms with gamma. Its model table
  (Inception_V3_Weights.IMAGENET1K_V1) gives 27,161,264 parameters and
  5.713 GFLOPS (multiply-adds of inference, without the auxiliary head)
  with 1000 classes. Keras' InceptionV3 (23.9M in the Keras applications
  table; 23,851,784 by `count_params()`, moving statistics included) is
  slim's network without gamma and without AuxLogits."""
  built = build_in_graph(
      inception_v3.inception_v3, [1, 299, 299, 3],
      arg_scope=inception_utils.inception_arg_scope(batch_norm_scale=True),
      num_classes=1000)
  _check_names(built, _V3_BASE + ['AuxLogits', 'AvgPool_1a', 'PreLogits'], {
      'InceptionV3/Mixed_5c/Branch_1/Conv_1_0c_5x5/weights': [5, 5, 48, 64],
      'InceptionV3/Mixed_6a/Branch_0/Conv2d_1a_1x1/weights':
          [3, 3, 288, 384],
      'InceptionV3/Mixed_7b/Branch_1/Conv2d_0b_3x1/weights':
          [3, 1, 384, 384],
      'InceptionV3/Mixed_7c/Branch_1/Conv2d_0c_3x1/BatchNorm/beta': [384],
      'InceptionV3/AuxLogits/Conv2d_2a_5x5/weights': [5, 5, 128, 768],
      'InceptionV3/AuxLogits/Conv2d_2b_1x1/biases': [1000],
      'InceptionV3/Logits/Conv2d_1c_1x1/weights': [1, 1, 2048, 1000],
  })
  shapes = {k: v.shape.as_list() for k, v in built.end_points.items()}
  assert shapes['Mixed_6e'] == [1, 17, 17, 768]
  assert shapes['Mixed_7c'] == [1, 8, 8, 2048]
  assert shapes['AuxLogits'] == shapes['Logits'] == [1, 1000]
  assert _params(built.graph) == 27161264

  built = build_in_graph(inception_v3.inception_v3, [1, 299, 299, 3],
                         arg_scope=inception_utils.inception_arg_scope(),
                         num_classes=1000, create_aux_logits=False)
  assert 'AuxLogits' not in built.end_points
  assert _params(built.graph, _KEYS.GLOBAL_VARIABLES) == 23851784
  assert round(multiply_adds(built.graph) / 1e9, 3) == 5.713


# BN-Inception, Figure 5 of Ioffe & Szegedy (arXiv:1502.03167): 1x1,
# 3x3 reduce, 3x3, double 3x3 reduce, double 3x3, pool projection (None:
# stride 2 with pass-through), at input size. slim's Mixed_4d / Mixed_4e
# ('4c' / '4d' there) project to 96 where the table says 128, which its
# 576-channel totals need.
_BN_INCEPTION = (
    (28, 64, 64, 64, 64, 96, 32),
    (28, 64, 64, 96, 64, 96, 64),
    (28, 0, 128, 160, 64, 96, None),
    (14, 224, 64, 96, 96, 128, 128),
    (14, 192, 96, 128, 96, 128, 128),
    (14, 160, 128, 160, 128, 160, 96),
    (14, 96, 128, 192, 160, 192, 96),
    (14, 0, 128, 192, 192, 256, None),
    (7, 352, 192, 320, 160, 224, 128),
    (7, 352, 192, 320, 192, 224, 128),
)


def _bn_inception_counts(num_classes):
  """(parameters, multiply-adds) of the table, with slim's layers: batch
  norm (beta, moving mean and variance) after every conv, and the 7x7/2
  first layer depthwise-separable (multiplier 8, biases, no batch norm)."""
  totals = [49 * 3 * 8 + 24 * 64 + 64, 112 * 112 * (49 * 3 * 8 + 24 * 64)]

  def conv(size, kernel, depth_in, depth_out):
    totals[0] += kernel * kernel * depth_in * depth_out + 3 * depth_out
    totals[1] += size * size * kernel * kernel * depth_in * depth_out

  conv(56, 1, 64, 64)
  conv(56, 3, 64, 192)
  depth = 192
  for size, d1, r3, d3, rd, dd, proj in _BN_INCEPTION:
    out = size // 2 if proj is None else size
    if d1:
      conv(size, 1, depth, d1)
    conv(size, 1, depth, r3)
    conv(out, 3, r3, d3)
    conv(size, 1, depth, rd)
    conv(size, 3, rd, dd)
    conv(out, 3, dd, dd)
    if proj is None:
      depth = d3 + dd + depth
    else:
      conv(size, 1, depth, proj)
      depth = d1 + d3 + dd + proj
  totals[0] += depth * num_classes + num_classes
  totals[1] += depth * num_classes
  return tuple(totals)


def test_inception_v2_names_and_counts():
  """Counts computed from the BN-Inception table above (the paper gives
  none), which equal upstream's 10,173,112 for the base."""
  built = build_in_graph(inception_v2.inception_v2, [1, 224, 224, 3],
                         arg_scope=inception_utils.inception_arg_scope(),
                         num_classes=1000)
  _check_names(built, _V2_BASE + ['AvgPool_1a', 'PreLogits'], {
      'InceptionV2/Conv2d_1a_7x7/depthwise_weights': [7, 7, 3, 8],
      'InceptionV2/Conv2d_1a_7x7/pointwise_weights': [1, 1, 24, 64],
      'InceptionV2/Conv2d_1a_7x7/biases': [64],
      'InceptionV2/Mixed_4a/Branch_1/Conv2d_1a_3x3/weights': [3, 3, 96, 96],
      'InceptionV2/Mixed_5c/Branch_3/Conv2d_0b_1x1/weights':
          [1, 1, 1024, 128],
      'InceptionV2/Logits/Conv2d_1c_1x1/weights': [1, 1, 1024, 1000],
  })
  assert built.end_points['Mixed_5c'].shape.as_list() == [1, 7, 7, 1024]
  params, macs = _bn_inception_counts(1000)
  # The base's 10,173,112 of upstream's inception_v2_test, plus the logits.
  assert params == 10173112 + 1024 * 1000 + 1000
  assert _params(built.graph, _KEYS.MODEL_VARIABLES) == params
  assert multiply_adds(built.graph) == macs


def test_nchw_equals_nhwc():
  if not runtime.features()['nchw']:
    pytest.skip('this machine runs no NCHW convolutions')
  images = _images(107, batch=1)
  outputs = {}
  for data_format in ('NHWC', 'NCHW'):
    graph = tf.Graph()
    with graph.as_default():
      with slim.arg_scope(inception_v3.inception_v3_arg_scope()):
        with runtime.data_format_scope(data_format):
          _, end_points = inception_v3.inception_v3(
              tf.constant(images), num_classes=5, is_training=False,
              spatial_squeeze=False)
    with new_session(graph) as sess:
      if data_format == 'NHWC':
        perturb_batch_norm(sess)
        values = read_values(sess)
      else:
        assign_values(sess, values)
      outputs[data_format] = sess.run(end_points)
  nchw = {k: v.transpose(0, 2, 3, 1) for k, v in outputs['NCHW'].items()}
  assert list(nchw) == list(outputs['NHWC'])
  for key, value in outputs['NHWC'].items():
    assert_close(nchw[key], value, rel=1e-5, what=key)


def test_inception_v2_nchw_argument():
  """data_format='NCHW' takes channels-first inputs as they are."""
  graph = tf.Graph()
  with graph.as_default():
    with slim.arg_scope(inception_v2.inception_v2_arg_scope()):
      net, end_points = inception_v2.inception_v2_base(
          tf.zeros([1, 3, 64, 64]), use_separable_conv=False,
          data_format='NCHW', final_endpoint='Mixed_4a')
  assert net.shape.as_list() == [1, 576, 4, 4]
  assert end_points['Conv2d_1a_7x7'].shape.as_list() == [1, 64, 32, 32]
  # Batch norm follows the layout (channels, not widths).
  shapes = {v.op.name: v.shape.as_list() for v in global_variables(graph)}
  assert shapes['InceptionV2/Conv2d_1a_7x7/BatchNorm/beta'] == [64]
  assert shapes['InceptionV2/Conv2d_1a_7x7/weights'] == [7, 7, 3, 64]
  with graph.as_default():
    with pytest.raises(ValueError, match='NHWC or NCHW'):
      inception_v2.inception_v2_base(tf.zeros([1, 3, 64, 64]),
                                     data_format='NCWH')


def test_bad_arguments_raise_one_line():
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32, [1, 299, 299, 3],
                                      name='images')
    for fn in (inception_v2.inception_v2, inception_v2.inception_v2_base,
               inception_v3.inception_v3, inception_v3.inception_v3_base):
      for value in (0, -0.5):
        with pytest.raises(ValueError) as error:
          fn(images, depth_multiplier=value)
        assert str(error.value) == (
            'depth_multiplier is not greater than zero. Got %r.' % value)
    with pytest.raises(TypeError, match='depth_multiplier'):
      inception_v3.inception_v3(images, depth_multiplier='2')

    with pytest.raises(ValueError) as error:
      inception_v3.inception_v3_base(images, final_endpoint='Mixed_8a')
    assert str(error.value) == (
        'Unknown final endpoint Mixed_8a; the end points of InceptionV3 are, '
        'in order: ' + ', '.join(_V3_BASE))
    with pytest.raises(ValueError) as error:
      inception_v1.inception_v1_base(images, final_endpoint='Conv2d_1a_7x7',
                                     include_root_block=False)
    assert str(error.value).endswith(
        'in order: ' + ', '.join(_V1_BASE[_V1_BASE.index('Mixed_3b'):]))
    with pytest.raises(ValueError, match='Unknown final endpoint Logits'):
      inception_v2.inception_v2_base(images, final_endpoint='Logits')
    assert not graph.get_operations()[1:]  # refused before building

    def small(size):
      return tf.compat.v1.placeholder(tf.float32, [1, size, size, 3],
                                      name='small%d' % size)

    cases = [
        (lambda: inception_v1.inception_v1(small(192)),
         "InceptionV1 needs images of at least 193x193 (the 7x7 VALID "
         "'AvgPool_0a_7x7' on Mixed_5c; global_pool=True takes any size), "
         "got inputs 'small192:0' of 192x192"),
        (lambda: inception_v3.inception_v3(small(106)),
         "InceptionV3 needs images of at least 107x107 (AuxLogits' 5x5 VALID "
         'pool on Mixed_6e; create_aux_logits=False takes 75x75), got '
         "inputs 'small106:0' of 106x106"),
        (lambda: inception_v3.inception_v3_base(small(74)),
         'InceptionV3 needs images of at least 75x75 (its VALID convolutions '
         "and pools), got inputs 'small74:0' of 74x74"),
    ]
    for build, message in cases:
      with pytest.raises(ValueError) as error:
        build()
      assert str(error.value) == message
  # The smallest sizes build.
  for fn, size, kwargs in ((inception_v1.inception_v1, 193, {}),
                           (inception_v3.inception_v3, 106,
                            {'create_aux_logits': False})):
    built = build_in_graph(fn, [1, size, size, 3], num_classes=3, **kwargs)
    assert built.net.shape.as_list() == [1, 3]
  assert 'AuxLogits' not in built.end_points
  built = build_in_graph(inception_v1.inception_v1, [1, 32, 32, 3],
                         num_classes=3, global_pool=True)
  assert built.net.shape.as_list() == [1, 3]
  assert list(built.end_points)[-3:] == ['global_pool', 'Logits',
                                         'Predictions']


def test_registry_and_aggregator():
  arg_scope = inception_utils.inception_arg_scope
  for module, size, minimum in ((inception_v1, 224, 193),
                                (inception_v2, 224, None),
                                (inception_v3, 299, 107)):
    name = module.__name__.rsplit('.', 1)[-1]
    info = registry.get_model(name)
    assert (info.fn, info.family, info.arg_scope_fn, info.default_image_size,
            info.num_classes, info.preprocessing, info.min_image_size) == (
                getattr(module, name), name, arg_scope, size, 1001,
                'inception', minimum)
    # slim's nets_factory gives v1, v2 and v3 inception_v3_arg_scope.
    assert getattr(module, name + '_arg_scope') is (
        inception_v3.inception_v3_arg_scope)
    assert nets_factory.get_network_fn(name, 10).default_image_size == size
    for suffix in ('', '_base', '_arg_scope'):
      assert getattr(inception, name + suffix) is getattr(module,
                                                          name + suffix)
  for name in ('inception_v4', 'inception_resnet_v2'):
    module = importlib.import_module('nets.' + name)
    for suffix in ('', '_base', '_arg_scope'):
      assert getattr(inception, name + suffix) is getattr(module,
                                                          name + suffix)


def test_average_pool_counting_padding():
  """The torch ports' 3x3 stride-1 average pool divides by the whole window
  at the borders too (the padding counts as zeros); other pools are refused
  by name."""
  values = np.random.RandomState(0).uniform(-1, 1, [1, 5, 6, 2]).astype(
      np.float32)
  padded = np.pad(values, [[0, 0], [1, 1], [1, 1], [0, 0]])
  expected = np.zeros_like(values)
  for i in range(5):
    for j in range(6):
      expected[0, i, j] = padded[0, i:i + 3, j:j + 3].sum(axis=(0, 1)) / 9
  pool = inception_utils._POOLS['avg_counting_padding']  # pylint: disable=protected-access
  with tf.Graph().as_default():
    out = pool(tf.constant(values), [3, 3], stride=1, padding='SAME')
    with pytest.raises(ValueError, match="stride 1 'SAME' only, got stride 2"):
      pool(tf.constant(values), [3, 3], stride=2, padding='SAME')
    with tf.compat.v1.Session() as sess:
      np.testing.assert_allclose(sess.run(out), expected, rtol=1e-6,
                                 atol=1e-7)
