"""Tests of nets.alexnet, nets.overfeat, nets.vgg, nets.cifarnet, nets.lenet.

AlexNet, OverFeat and VGG are checked against tf-slim 1.1.0's own
`tf_slim.nets` (variables copied by name, same images, logits and every end
point compared) and their structure (variable names and shapes, end points,
regularization losses) against tf-slim's for every variant. CifarNet and
LeNet, which tf-slim 1.1.0 does not ship, are checked against the same
computation written here with plain `tf.nn` ops. Parameter and multiply-add
counts are compared with published numbers.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import reference
from conftest import (assign_values, build_in_graph, copy_variables,
                      global_variables, new_session, session_config)
from nets import alexnet
from nets import cifarnet
from nets import lenet
from nets import nets_factory
from nets import overfeat
from nets import registry
from nets import runtime
from nets import vgg
from slimnets import cli

_RUN_CLASSES = 10


def _random_images(shape, seed=0):
  return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


def _param_count(graph, collection=tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES):
  return sum(v.shape.num_elements() for v in graph.get_collection(collection))


def _shapes(graph):
  return {v.op.name: v.shape.as_list() for v in global_variables(graph)}


def _max_relative_diff(actual, expected):
  """max|actual - expected| / max|expected| (and checks the shapes)."""
  actual, expected = np.asarray(actual), np.asarray(expected)
  assert actual.shape == expected.shape
  return float(np.abs(actual - expected).max() / np.abs(expected).max())


@pytest.fixture(scope='module')
def tf_slim_nets():
  """tf-slim 1.1.0's (model fn, arg scope fn) by model name."""
  reference.enable_tf_slim_layers()
  # pylint: disable=g-import-not-at-top
  from tf_slim.nets import alexnet as slim_alexnet
  from tf_slim.nets import overfeat as slim_overfeat
  from tf_slim.nets import vgg as slim_vgg
  # pylint: enable=g-import-not-at-top
  return {
      'alexnet_v2': (slim_alexnet.alexnet_v2,
                     slim_alexnet.alexnet_v2_arg_scope),
      'overfeat': (slim_overfeat.overfeat, slim_overfeat.overfeat_arg_scope),
      'vgg_a': (slim_vgg.vgg_a, slim_vgg.vgg_arg_scope),
      'vgg_16': (slim_vgg.vgg_16, slim_vgg.vgg_arg_scope),
      'vgg_19': (slim_vgg.vgg_19, slim_vgg.vgg_arg_scope),
  }


# Ours: (model fn, arg scope fn, default image size).
_OURS = {
    'alexnet_v2': (alexnet.alexnet_v2, alexnet.alexnet_v2_arg_scope, 224),
    'overfeat': (overfeat.overfeat, overfeat.overfeat_arg_scope, 231),
    'vgg_a': (vgg.vgg_a, vgg.vgg_arg_scope, 224),
    'vgg_16': (vgg.vgg_16, vgg.vgg_arg_scope, 224),
    'vgg_19': (vgg.vgg_19, vgg.vgg_arg_scope, 224),
}


def _build(fn, arg_scope, size, num_classes, **kwargs):
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(0)
    images = tf.constant(_random_images([1, size, size, 3]))
    with slim.arg_scope(arg_scope):
      # He-scaled weights keep a real signal through the random network
      # (AlexNet / OverFeat set their own fc initializers inside).
      with slim.arg_scope(
          [slim.conv2d],
          weights_initializer=tf.compat.v1.variance_scaling_initializer(2.0)):
        logits, end_points = fn(images, num_classes=num_classes,
                                is_training=False, **kwargs)
  return graph, logits, end_points


@pytest.mark.parametrize('name', ['alexnet_v2', 'overfeat', 'vgg_16'])
def test_matches_tf_slim(name, tf_slim_nets):
  ours_fn, ours_scope, size = _OURS[name]
  ref_fn, ref_scope = tf_slim_nets[name]
  ref_graph, ref_logits, ref_points = _build(ref_fn, ref_scope(), size,
                                             _RUN_CLASSES)
  graph, logits, end_points = _build(ours_fn, ours_scope(), size,
                                     _RUN_CLASSES)
  assert list(end_points) == list(ref_points)
  rng = np.random.RandomState(1)
  with new_session(ref_graph) as ref_sess:
    # Biases start at constants; random ones check they are added too.
    assign_values(ref_sess, {
        v.op.name: rng.normal(0, 0.1, v.shape.as_list()).astype(np.float32)
        for v in global_variables(ref_graph) if v.op.name.endswith('biases')
    })
    expected = ref_sess.run([ref_logits, ref_points])
    with tf.compat.v1.Session(graph=graph, config=session_config()) as sess:
      copy_variables(ref_sess, sess)  # also asserts the same names
      actual = sess.run([logits, end_points])
  # A real signal: the logits vary over the classes as much as they are large.
  assert expected[0].std() > 0.1 * np.abs(expected[0]).max()
  assert _max_relative_diff(actual[0], expected[0]) < 1e-5
  for key in ref_points:
    assert _max_relative_diff(actual[1][key], expected[1][key]) < 1e-5, key


def _losses(graph):
  return sorted(loss.op.name for loss in graph.get_collection(
      tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES))


@pytest.mark.parametrize('name', sorted(_OURS))
def test_structure_matches_tf_slim(name, tf_slim_nets):
  """Variable names and shapes, collections and end points, built only."""
  ours_fn, ours_scope, size = _OURS[name]
  ref_fn, ref_scope = tf_slim_nets[name]
  ref = build_in_graph(ref_fn, [2, size, size, 3], arg_scope=ref_scope(),
                       num_classes=1000)
  ours = build_in_graph(ours_fn, [2, size, size, 3], arg_scope=ours_scope(),
                        num_classes=1000)
  assert _shapes(ours.graph) == _shapes(ref.graph)
  for collection in (tf.compat.v1.GraphKeys.MODEL_VARIABLES,
                     tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES):
    assert ([v.op.name for v in ours.graph.get_collection(collection)] ==
            [v.op.name for v in ref.graph.get_collection(collection)])
  assert _losses(ours.graph) == _losses(ref.graph)
  assert len(_losses(ours.graph)) == len(global_variables(ours.graph)) // 2
  assert {k: v.shape.as_list() for k, v in ours.end_points.items()} == {
      k: v.shape.as_list() for k, v in ref.end_points.items()}
  assert list(ours.end_points) == list(ref.end_points)
  assert ours.net.op.name == ref.net.op.name == name + '/fc8/squeezed'


def test_vgg_16_checkpoint_names_and_end_points():
  built = build_in_graph(vgg.vgg_16, [1, 224, 224, 3],
                         arg_scope=vgg.vgg_arg_scope(), num_classes=1000)
  shapes = _shapes(built.graph)
  assert len(shapes) == 32  # 16 weight layers, weights and biases
  assert shapes['vgg_16/conv1/conv1_1/weights'] == [3, 3, 3, 64]
  assert shapes['vgg_16/conv5/conv5_3/biases'] == [512]
  assert shapes['vgg_16/fc6/weights'] == [7, 7, 512, 4096]
  assert shapes['vgg_16/fc8/weights'] == [1, 1, 4096, 1000]
  keys = list(built.end_points)
  assert keys[:3] == ['vgg_16/conv1/conv1_1', 'vgg_16/conv1/conv1_2',
                      'vgg_16/pool1']
  assert keys[-4:] == ['vgg_16/pool5', 'vgg_16/fc6', 'vgg_16/fc7',
                       'vgg_16/fc8']
  assert built.end_points['vgg_16/pool5'].shape.as_list() == [1, 7, 7, 512]
  assert vgg.vgg_d is vgg.vgg_16 and vgg.vgg_e is vgg.vgg_19


def test_global_pool_and_no_classes():
  built = build_in_graph(vgg.vgg_a, [1, 256, 320, 3], num_classes=None,
                         global_pool=True)
  assert built.net.shape.as_list() == [1, 1, 1, 4096]
  assert list(built.end_points)[-3:] == ['vgg_a/fc6', 'vgg_a/fc7',
                                         'global_pool']
  assert built.end_points['vgg_a/fc7'].shape.as_list() == [1, 2, 4, 4096]
  # fc_conv_padding='SAME': a prediction per 32x32 window.
  built = build_in_graph(vgg.vgg_16, [1, 64, 96, 3], num_classes=5,
                         spatial_squeeze=False, fc_conv_padding='SAME')
  assert built.net.shape.as_list() == [1, 2, 3, 5]


@pytest.mark.parametrize('fn, kwargs, size, minimum', [
    (vgg.vgg_16, {}, 223, 224),
    (vgg.vgg_19, {'global_pool': True}, 223, 224),
    (vgg.vgg_a, {'fc_conv_padding': 'SAME'}, 31, 32),
    (alexnet.alexnet_v2, {}, 194, 195),
    (alexnet.alexnet_v2, {'global_pool': True}, 194, 195),
    (overfeat.overfeat, {}, 230, 231),
])
def test_too_small_images_raise_one_line(fn, kwargs, size, minimum):
  graph = tf.Graph()
  with graph.as_default():
    fn(tf.zeros([1, minimum, minimum + 5, 3]), num_classes=3, **kwargs)
    with pytest.raises(ValueError) as error:
      fn(tf.zeros([1, minimum + 7, size, 3]), num_classes=3, **kwargs)
  message = str(error.value)
  assert '\n' not in message
  assert 'at least %dx%d' % (minimum, minimum) in message
  assert 'width %d' % size in message
  assert 'zeros' in message  # names the input tensor


def _same_max_pools():
  with slim.arg_scope([slim.max_pool2d], padding='SAME') as scope:
    return scope


def test_image_size_check_follows_the_arg_scope():
  # SAME max-pools round up: pool5 of a 193x193 image is 7x7.
  with pytest.raises(ValueError, match='at least 224x224'):
    build_in_graph(vgg.vgg_16, [1, 193, 193, 3])
  built = build_in_graph(vgg.vgg_16, [1, 193, 193, 3], num_classes=3,
                         arg_scope=_same_max_pools())
  assert built.end_points['vgg_16/pool5'].shape.as_list() == [1, 7, 7, 512]
  with pytest.raises(ValueError, match='at least 193x193'):
    build_in_graph(vgg.vgg_16, [1, 192, 192, 3], arg_scope=_same_max_pools())
  # Unknown sizes are left to run time.
  built = build_in_graph(alexnet.alexnet_v2, [1, None, None, 3],
                         spatial_squeeze=False)
  assert built.net.shape.as_list() == [1, None, None, 1000]


def test_bad_arguments_raise():
  with tf.Graph().as_default():
    images = tf.zeros([1, 224, 224, 3])
    with pytest.raises(ValueError, match="fc_conv_padding.*'FULL'"):
      vgg.vgg_16(images, fc_conv_padding='FULL')
    with pytest.raises(ValueError, match='num_classes'):
      alexnet.alexnet_v2(images, num_classes=-1)
    with pytest.raises(ValueError, match='rank-4'):
      overfeat.overfeat(tf.zeros([231, 231, 3]))
    with pytest.raises(ValueError, match='is_training'):
      vgg.vgg_a(images, is_training=tf.constant([True, False]))


def _multiply_adds(fn, size, num_classes=1000):
  return cli.multiply_adds(build_in_graph(fn, [1, size, size, 3],
                                          num_classes=num_classes).graph)


@pytest.mark.parametrize('fn, params, paper_millions, gmacs', [
    # torchvision's VGG11/16/19 (same layers, 1000 classes): num_params and
    # GFLOPS (multiply-adds) at 224 of VGG{11,16,19}_Weights.IMAGENET1K_V1,
    # pytorch.org/vision/stable/models; [1] Table 2: 133, 138, 144 million.
    (vgg.vgg_a, 132863336, 133, 7.61),
    (vgg.vgg_16, 138357544, 138, 15.47),
    (vgg.vgg_19, 143667240, 144, 19.63),
])
def test_vgg_counts_match_published(fn, params, paper_millions, gmacs):
  built = build_in_graph(fn, [1, 224, 224, 3], num_classes=1000)
  assert _param_count(built.graph) == params
  assert round(params / 1e6) == paper_millions
  assert round(cli.multiply_adds(built.graph) / 1e9, 2) == gmacs


def _conv_params(kernel, depth_in, depth):
  return kernel * kernel * depth_in * depth + depth


def test_alexnet_and_overfeat_counts():
  # AlexNet v2 (cuda-convnet2 layers-imagenet-1gpu.cfg, as in slim): conv
  # 64-192-384-384-256, fc 4096-4096 (fc6 5x5 over 256 channels).
  alexnet_params = (
      _conv_params(11, 3, 64) + _conv_params(5, 64, 192) +
      _conv_params(3, 192, 384) + _conv_params(3, 384, 384) +
      _conv_params(3, 384, 256) + _conv_params(5, 256, 4096) +
      _conv_params(1, 4096, 4096) + _conv_params(1, 4096, 1000))
  built = build_in_graph(alexnet.alexnet_v2, [1, 224, 224, 3])
  assert _param_count(built.graph) == alexnet_params == 50303912
  # google-research/receptive_field RECEPTIVE_FIELD_TABLE.md (slim's
  # alexnet_v2): 1.380 and 3.036 billion FLOPs up to conv5 at 224 and 321,
  # 2 FLOPs per multiply-add (plus bias adds, under 0.1%).
  for size, gflops in ((224, 1.380), (321, 3.036)):
    built = build_in_graph(alexnet.alexnet_v2, [1, size, size, 3],
                           num_classes=1000, spatial_squeeze=False)
    fc_macs = (_conv_params(5, 256, 4096) - 4096 + 4096 * 4096 +
               4096 * 1000) * built.end_points['alexnet_v2/fc7'].shape[
                   1:3].num_elements()
    conv_macs = cli.multiply_adds(built.graph) - fc_macs
    assert abs(2 * conv_macs / 1e9 - gflops) / gflops < 0.002
  # OverFeat "fast" ([1] of nets.overfeat, Table 1) with slim's 64 conv1
  # filters: conv 64-256-512-1024-1024, fc 3072-4096 (fc6 6x6 over 1024).
  overfeat_params = (
      _conv_params(11, 3, 64) + _conv_params(5, 64, 256) +
      _conv_params(3, 256, 512) + _conv_params(3, 512, 1024) +
      _conv_params(3, 1024, 1024) + _conv_params(6, 1024, 3072) +
      _conv_params(1, 3072, 4096) + _conv_params(1, 4096, 1000))
  built = build_in_graph(overfeat.overfeat, [1, 231, 231, 3])
  assert _param_count(built.graph) == overfeat_params == 145704424


def _build_nchw(fn, shape, **kwargs):
  """Builds `fn` for a GPU under an NCHW scope (not run: this CPU can't)."""
  with tf.Graph().as_default():
    with runtime.data_format_scope('NCHW', device='gpu'):
      return fn(tf.zeros(shape), **kwargs)


def test_nchw_builds_with_nchw_end_points():
  net, end_points = _build_nchw(vgg.vgg_a, [2, 224, 224, 3], num_classes=7)
  assert net.shape.as_list() == [2, 7]
  assert end_points['vgg_a/pool5'].shape.as_list() == [2, 512, 7, 7]
  net, _ = _build_nchw(alexnet.alexnet_v2, [1, 300, 400, 3], num_classes=7,
                       spatial_squeeze=False)
  assert net.shape.as_list() == [1, 7, 4, 7]
  net, _ = _build_nchw(overfeat.overfeat, [1, 281, 281, 3], num_classes=7,
                       global_pool=True)
  assert net.shape.as_list() == [1, 7]
  with pytest.raises(ValueError, match='at least 224x224'):
    _build_nchw(vgg.vgg_16, [1, 224, 200, 3])
  for fn, size in ((cifarnet.cifarnet, 32), (lenet.lenet, 28)):
    with pytest.raises(ValueError, match="NHWC' only") as error:
      _build_nchw(fn, [1, size, size, 3])
    assert '\n' not in str(error.value)


# CifarNet and LeNet against plain tf.nn ops on the same variables.


def _conv_relu(net, variables, scope):
  net = tf.nn.conv2d(net, variables[scope + '/weights'], 1, 'SAME')
  return tf.nn.relu(tf.nn.bias_add(net, variables[scope + '/biases']))


def _dense(net, variables, scope, relu=True):
  net = tf.matmul(net, variables[scope + '/weights'])
  net = tf.nn.bias_add(net, variables[scope + '/biases'])
  return tf.nn.relu(net) if relu else net


def _pool(net):
  return tf.nn.max_pool2d(net, 2, 2, 'VALID')


def _lrn(net):
  return tf.nn.lrn(net, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)


def _cifarnet_reference(images, v):
  net = _lrn(_pool(_conv_relu(images, v, 'CifarNet/conv1')))
  net = _pool(_lrn(_conv_relu(net, v, 'CifarNet/conv2')))
  net = tf.reshape(net, [images.shape[0], -1])
  net = _dense(_dense(net, v, 'CifarNet/fc3'), v, 'CifarNet/fc4')
  return _dense(net, v, 'CifarNet/logits', relu=False)


def _lenet_reference(images, v):
  net = _pool(_conv_relu(_pool(_conv_relu(images, v, 'LeNet/conv1')), v,
                         'LeNet/conv2'))
  net = _dense(tf.reshape(net, [images.shape[0], -1]), v, 'LeNet/fc3')
  return _dense(net, v, 'LeNet/fc4', relu=False)


_SMALL_NETS = {
    # name: (fn, arg scope fn, image shape, reference, end points, variables)
    'cifarnet': (cifarnet.cifarnet, cifarnet.cifarnet_arg_scope,
                 [2, 32, 32, 3], _cifarnet_reference,
                 ['conv1', 'pool1', 'conv2', 'pool2', 'Flatten', 'fc3', 'fc4',
                  'Logits', 'Predictions'],
                 {'CifarNet/conv1/weights': [5, 5, 3, 64],
                  'CifarNet/conv2/weights': [5, 5, 64, 64],
                  'CifarNet/fc3/weights': [4096, 384],
                  'CifarNet/fc4/weights': [384, 192],
                  'CifarNet/logits/weights': [192, 10]}),
    'lenet': (lenet.lenet, lenet.lenet_arg_scope, [2, 28, 28, 1],
              _lenet_reference,
              ['conv1', 'pool1', 'conv2', 'pool2', 'Flatten', 'fc3',
               'dropout3', 'Logits', 'Predictions'],
              {'LeNet/conv1/weights': [5, 5, 1, 32],
               'LeNet/conv2/weights': [5, 5, 32, 64],
               'LeNet/fc3/weights': [3136, 1024],
               'LeNet/fc4/weights': [1024, 10]}),
}


@pytest.mark.parametrize('name', sorted(_SMALL_NETS))
def test_small_nets_match_tf_nn(name):
  fn, arg_scope_fn, shape, reference_fn, keys, weights = _SMALL_NETS[name]
  built = build_in_graph(fn, shape, arg_scope=arg_scope_fn(), seed=0)
  variables = {v.op.name: v for v in global_variables(built.graph)}
  expected_shapes = dict(weights)
  expected_shapes.update({k.replace('weights', 'biases'): [s[-1]]
                          for k, s in weights.items()})
  assert _shapes(built.graph) == expected_shapes
  assert list(built.end_points) == keys
  with built.graph.as_default():
    expected = reference_fn(built.inputs, variables)
    expected_predictions = tf.nn.softmax(expected)
  images = _random_images(shape, seed=3)
  with new_session(built.graph) as sess:
    assign_values(sess, {  # biases start at constants
        k: np.random.RandomState(4).normal(
            0, 0.1, v.shape.as_list()).astype(np.float32)
        for k, v in variables.items() if k.endswith('biases')})
    actual, expected, predictions, expected_predictions = sess.run(
        [built.net, expected, built.end_points['Predictions'],
         expected_predictions], {built.inputs: images})
  assert expected.std() > 0.1 * np.abs(expected).max()
  assert _max_relative_diff(actual, expected) < 1e-5
  assert _max_relative_diff(predictions, expected_predictions) < 1e-5


def test_small_nets_collections_and_heads():
  # CifarNet: only fc3 and fc4 are regularized (its logits explicitly not).
  built = build_in_graph(cifarnet.cifarnet, [1, 32, 32, 3],
                         arg_scope=cifarnet.cifarnet_arg_scope())
  assert _losses(built.graph) == [
      'CifarNet/fc3/kernel/Regularizer/l2_regularizer',
      'CifarNet/fc4/kernel/Regularizer/l2_regularizer']
  assert built.end_points['Predictions'].op.name.startswith(
      'CifarNet/Predictions')
  # LeNet's default weight decay is 0 (no losses); its predictions live
  # outside its scope, as in slim.
  built = build_in_graph(lenet.lenet, [1, 28, 28, 1],
                         arg_scope=lenet.lenet_arg_scope())
  assert _losses(built.graph) == []
  assert built.end_points['Predictions'].op.name.startswith('Predictions')
  built = build_in_graph(lenet.lenet, [1, 28, 28, 1],
                         arg_scope=lenet.lenet_arg_scope(0.01))
  assert len(_losses(built.graph)) == 4
  # No classes: the features, before dropout.
  for fn, size, channels, last, depth in (
      (cifarnet.cifarnet, 32, 3, 'fc4', 192), (lenet.lenet, 28, 1, 'fc3',
                                                1024)):
    built = build_in_graph(fn, [2, size, size, channels], num_classes=0)
    assert built.net.shape.as_list() == [2, depth]
    assert list(built.end_points)[-1] == last
  # Training mode drops out.
  built = build_in_graph(lenet.lenet, [2, 28, 28, 1], is_training=True)
  assert any(op.type == 'RandomUniform' for op in built.graph.get_operations())
  # 1.76M and 3.27M parameters: the sums of the shapes above.
  assert _param_count(build_in_graph(
      cifarnet.cifarnet, [1, 32, 32, 3]).graph) == (
          5 * 5 * 3 * 64 + 64 + 5 * 5 * 64 * 64 + 64 + 4096 * 384 + 384 +
          384 * 192 + 192 + 192 * 10 + 10) == 1756426


def test_registry_and_factory():
  # The minimum sizes are those test_too_small_images_raise_one_line finds.
  expected = {
      'alexnet_v2': ('alexnet', 224, 1000, 'vgg', 195),
      'overfeat': ('overfeat', 231, 1000, 'vgg', 231),
      'vgg_a': ('vgg', 224, 1000, 'vgg', 224),
      'vgg_16': ('vgg', 224, 1000, 'vgg', 224),
      'vgg_19': ('vgg', 224, 1000, 'vgg', 224),
      'cifarnet': ('cifarnet', 32, 10, 'cifarnet', None),
      'lenet': ('lenet', 28, 10, 'lenet', None),
  }
  for name, fields in expected.items():
    info = registry.get_model(name)
    assert (info.family, info.default_image_size, info.num_classes,
            info.preprocessing, info.min_image_size) == fields
    assert info.fn.default_image_size == fields[1]
  network_fn = nets_factory.get_network_fn('cifarnet', num_classes=10,
                                           weight_decay=0.01)
  assert network_fn.default_image_size == 32
  with tf.Graph().as_default() as graph:
    logits, _ = network_fn(tf.zeros([2, 32, 32, 3]))
    assert logits.shape.as_list() == [2, 10]
    assert len(graph.get_collection(
        tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)) == 2
