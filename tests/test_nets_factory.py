"""Tests of nets.nets_factory against the registry and tf-slim's own nets."""

import inspect

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import assert_close, build_in_graph, copy_variables
from conftest import new_session, perturb_batch_norm
from nets import nets_factory
from nets import registry

_SMALL = 64  # graph building dominates; shapes and names do not need 224


def _build_factory(name, input_shape, num_classes, **factory_kwargs):
  network_fn = nets_factory.get_network_fn(name, num_classes,
                                           **factory_kwargs)
  return build_in_graph(network_fn, input_shape)


def _variable_shapes(graph):
  return {v.op.name: v.shape.as_list()
          for v in graph.get_collection('variables')}


# tensorflow/models' ResNets (and ResNeXt and Keras-layout Xception, built
# the same way) squeeze their logits to [B, C] (spatial_squeeze=True);
# DeepLab's aligned Xception has no spatial_squeeze and keeps [B, 1, 1, C]
# when called directly. Through the factory, which hands networks to
# classification pipelines, every model's logits are [B, C] (README,
# "Compatibility").
_UNSQUEEZED_LOGITS = ('xception_41', 'xception_65', 'xception_71')


def _default_scope(fn):
  parameter = inspect.signature(fn).parameters.get('scope')
  return parameter.default if parameter else None


@pytest.mark.parametrize('name', registry.list_models())
def test_builds_every_model(name):
  info = registry.get_model(name)
  # Fixed-kernel heads (vgg, alexnet, ...) need their size; video models
  # take clips [batch, frames, height, width, 3].
  size = max(_SMALL, info.min_image_size or 0)
  built = _build_factory(name, registry.input_shape(name, 5, size),
                         num_classes=7)
  takes_squeeze = 'spatial_squeeze' in inspect.signature(
      info.fn).parameters
  if takes_squeeze or name in _UNSQUEEZED_LOGITS:
    assert takes_squeeze == (name not in _UNSQUEEZED_LOGITS)
  assert built.net.shape.as_list() == [5, 7]
  # The end points are the model's own, DeepLab's shapes included.
  expected = [5, 1, 1, 7] if name in _UNSQUEEZED_LOGITS else [5, 7]
  # Upstream's spelling ('Predictions' in inception, mobilenet, nasnet);
  # vgg, alexnet and overfeat have none.
  for key in ('predictions', 'Predictions'):
    if key in built.end_points:
      assert built.end_points[key].shape.as_list() == expected, key
  # The model's own scope (upstream's): its checkpoints restore into it.
  names = _variable_shapes(built.graph)
  scope = _default_scope(info.fn)
  assert names
  if scope:
    assert all(n.startswith(scope + '/') for n in names), scope


@pytest.mark.parametrize('name', _UNSQUEEZED_LOGITS[:1])
def test_deeplab_xception_feeds_a_classification_loss(name):
  # train_image_classifier.py: softmax_cross_entropy on [B, C] one-hot
  # labels, argmax over axis 1 for accuracy.
  built = _build_factory(name, [2, _SMALL, _SMALL, 3], num_classes=5)
  with built.graph.as_default():
    labels = tf.one_hot([1, 3], 5)
    loss = tf.compat.v1.losses.softmax_cross_entropy(labels, built.net)
    predicted = tf.argmax(built.net, 1)
    direct = tf.reshape(built.end_points[name + '/logits'], [2, 5])
  with new_session(built.graph) as sess:
    images = np.random.RandomState(0).uniform(-1, 1, [2, _SMALL, _SMALL, 3])
    logits, unsqueezed, loss_value, classes = sess.run(
        [built.net, direct, loss, predicted], {built.inputs: images})
  np.testing.assert_array_equal(logits, unsqueezed)
  assert np.isfinite(loss_value) and classes.shape == (2,)


def test_spatial_squeeze_false_keeps_4d_logits():
  network_fn = nets_factory.get_network_fn('resnet_v2_50', 7)
  built = build_in_graph(network_fn, [2, _SMALL, _SMALL, 3],
                         spatial_squeeze=False)
  assert built.net.shape.as_list() == [2, 1, 1, 7]


def test_default_size_against_tf_slim(slim_reference):
  # resnet_v2_50 at its default image size, against tf-slim's own graph.
  _, slim_v2, _ = slim_reference
  network_fn = nets_factory.get_network_fn('resnet_v2_50', 1001)
  size = network_fn.default_image_size
  assert size == 224
  ours = build_in_graph(network_fn, [5, size, size, 3])
  assert ours.net.shape.as_list() == [5, 1001]
  reference = build_in_graph(slim_v2.resnet_v2_50, [5, size, size, 3],
                             arg_scope=slim_v2.resnet_arg_scope(),
                             num_classes=1001, is_training=False)
  assert _variable_shapes(ours.graph) == _variable_shapes(reference.graph)


def test_outputs_equal_tf_slim(slim_reference):
  # The factory's arg scope is the one slim users put around the model:
  # same numbers as tf-slim's resnet_v1_50 under its resnet_arg_scope.
  slim_v1, _, _ = slim_reference
  shape = [2, _SMALL, _SMALL, 3]
  ours = _build_factory('resnet_v1_50', shape, num_classes=10)
  reference = build_in_graph(slim_v1.resnet_v1_50, shape,
                             arg_scope=slim_v1.resnet_arg_scope(),
                             num_classes=10, is_training=False)
  images = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
  with new_session(reference.graph) as ref_sess, \
      new_session(ours.graph) as our_sess:
    perturb_batch_norm(ref_sess)
    copy_variables(ref_sess, our_sess)
    expected = ref_sess.run(reference.net, {reference.inputs: images})
    actual = our_sess.run(ours.net, {ours.inputs: images})
  # tf-slim 1.1.0's resnet_v1 has no spatial_squeeze: logits [B, 1, 1, C].
  assert_close(actual, expected[:, 0, 0, :], rel=1e-4, what='logits')


def test_default_image_size_and_name_are_copied():
  for name in registry.list_models():
    info = registry.get_model(name)
    network_fn = nets_factory.get_network_fn(name, info.num_classes)
    assert network_fn.default_image_size == info.default_image_size
    # functools.wraps, as upstream: 'mobilenet_v3_small' is `small`.
    assert network_fn.__name__ == info.fn.__name__


def test_unknown_name_lists_known_names():
  with pytest.raises(ValueError) as error:
    nets_factory.get_network_fn('resnet_v3_50', 10)
  message = str(error.value)
  assert 'Name of network unknown resnet_v3_50' in message
  assert '\n' not in message
  for name in registry.list_models():
    assert name in message


@pytest.mark.parametrize('name', ['resnet_v1_50', 'resnet_v2_50'])
@pytest.mark.parametrize('weight_decay,is_training', [(0.0, False),
                                                      (1e-3, True)])
def test_collections_match_tf_slim(slim_reference, name, weight_decay,
                                   is_training):
  slim_v1, slim_v2, _ = slim_reference
  slim_module = slim_v1 if name.startswith('resnet_v1') else slim_v2
  shape = [2, _SMALL, _SMALL, 3]
  ours = _build_factory(name, shape, num_classes=10,
                        weight_decay=weight_decay, is_training=is_training)
  reference = build_in_graph(
      getattr(slim_module, name), shape,
      arg_scope=slim_module.resnet_arg_scope(weight_decay=weight_decay),
      num_classes=10, is_training=is_training)
  for key in (tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES,
              tf.compat.v1.GraphKeys.UPDATE_OPS):
    assert (len(ours.graph.get_collection(key)) ==
            len(reference.graph.get_collection(key))), key
  losses = ours.graph.get_collection(
      tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
  updates = ours.graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
  assert bool(losses) == (weight_decay > 0)
  assert bool(updates) == is_training


def test_weight_decay_value():
  # L2 on every conv kernel: weight_decay * sum(w ** 2) / 2.
  weight_decay = 1e-3
  built = _build_factory('resnet_v2_50', [1, 32, 32, 3], num_classes=10,
                         weight_decay=weight_decay)
  with built.graph.as_default():
    total_loss = tf.add_n(built.graph.get_collection(
        tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES))
  kernels = [v for v in built.graph.get_collection('variables')
             if v.op.name.endswith('/weights')]
  with new_session(built.graph) as sess:
    loss, values = sess.run([total_loss, kernels])
  expected = weight_decay * sum(float(np.sum(np.square(v.astype(np.float64))))
                                for v in values) / 2
  assert_close(loss, expected, rel=1e-5, what='regularization loss')


def test_kwargs_reach_the_model():
  built = _build_factory('resnet_v2_50', [2, _SMALL, _SMALL, 3],
                         num_classes=None)
  assert built.net.shape.as_list() == [2, 1, 1, 2048]
  network_fn = nets_factory.get_network_fn('resnet_v2_50', None)
  dense = build_in_graph(network_fn, [2, _SMALL, _SMALL, 3],
                         global_pool=False, output_stride=16,
                         scope='backbone')
  assert dense.net.shape.as_list() == [2, 4, 4, 2048]
  assert all(v.op.name.startswith('backbone/')
             for v in dense.graph.get_collection('variables'))


def test_maps_behave_like_dicts():
  names = registry.list_models()
  for mapping, field in ((nets_factory.networks_map, 'fn'),
                         (nets_factory.arg_scopes_map, 'arg_scope_fn')):
    assert list(mapping) == names
    assert len(mapping) == len(names)
    assert sorted(mapping.keys()) == sorted(names)
    assert dict(mapping.items()) == {
        n: getattr(registry.get_model(n), field) for n in names}
    assert 'resnet_v2_50' in mapping
    assert 'no_such_net' not in mapping
    assert mapping.get('no_such_net') is None
    with pytest.raises(KeyError):
      mapping['no_such_net']  # pylint: disable=pointless-statement
  # An arg scope function gives a scope slim.arg_scope accepts.
  scope = nets_factory.arg_scopes_map['resnet_v2_50'](weight_decay=1e-4)
  with slim.arg_scope(scope):
    pass


def test_new_registrations_appear(monkeypatch):
  # Families registered later (ResNeXt, Xception...) show up by themselves.
  monkeypatch.setattr(registry, '_MODELS', registry._MODELS.copy())  # pylint: disable=protected-access
  base = registry.get_model('resnet_v2_50')

  @registry.register('test_family', base.arg_scope_fn, default_image_size=96,
                     num_classes=3)
  def tiny_net(inputs, num_classes=None, is_training=True, scope='tiny_net'):
    return base.fn(inputs, num_classes=num_classes, is_training=is_training,
                   scope=scope)

  assert nets_factory.networks_map['tiny_net'] is tiny_net
  assert 'tiny_net' in list(nets_factory.arg_scopes_map)
  network_fn = nets_factory.get_network_fn('tiny_net', 3)
  assert network_fn.default_image_size == 96
