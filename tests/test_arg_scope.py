"""User arg scopes reach slimnets' ResNets exactly as they reach tf-slim's.

slimnets' layers answer to the arg_scope keys of tf-slim's `conv2d`,
`batch_norm` and `max_pool2d`, so pipelines written for `tf_slim.nets` keep
their scopes. Each test builds our network and tf-slim 1.1.0's under the same
user scopes (each inside its own `resnet_arg_scope()` unless stated) and
compares collections and numbers.

Typical use:

   TF_CPP_MIN_LOG_LEVEL=2 pytest -q tests/test_arg_scope.py
"""

import collections
import contextlib
import inspect

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import utils as slim_utils
from tf_slim.ops import arg_scope as slim_arg_scope

from conftest import assert_close
from conftest import build_in_graph
from conftest import copy_variables
from conftest import global_variables
from conftest import new_session
from conftest import perturb_batch_norm
from conftest import session_config
from nets import _layers
from nets import resnet_utils
from nets import resnet_v1
from nets import resnet_v2

_GRAPH_KEYS = tf.compat.v1.GraphKeys
_SHAPE = [2, 33, 33, 3]
_EXTRA_END_POINTS = ('global_pool', 'resnet/spatial_squeeze')

_Impl = collections.namedtuple('_Impl', ['module', 'utils', 'block',
                                         'generator', 'bottleneck'])


@pytest.fixture(params=['v1', 'v2'])
def impls(request, slim_reference):
  """(ours, tf-slim's) modules of one ResNet version."""
  ref_v1, ref_v2, ref_utils = slim_reference
  if request.param == 'v1':
    return (_Impl(resnet_v1, resnet_utils, resnet_v1.resnet_v1_block,
                  resnet_v1.resnet_v1, resnet_v1.bottleneck),
            _Impl(ref_v1, ref_utils, ref_v1.resnet_v1_block, ref_v1.resnet_v1,
                  ref_v1.bottleneck))
  return (_Impl(resnet_v2, resnet_utils, resnet_v2.resnet_v2_block,
                resnet_v2.resnet_v2, resnet_v2.bottleneck),
          _Impl(ref_v2, ref_utils, ref_v2.resnet_v2_block, ref_v2.resnet_v2,
                ref_v2.bottleneck))


def _blocks(impl):
  return _blocks_of(impl.block)


def _blocks_of(block):
  return [block('block1', base_depth=1, num_units=2, stride=2),
          block('block2', base_depth=2, num_units=2, stride=1)]


@contextlib.contextmanager
def _scopes(base, user_scopes):
  """`base` (an arg scope dict or None), then the user's list-form scopes."""
  with contextlib.ExitStack() as stack:
    if base is not None:
      stack.enter_context(slim.arg_scope(base))
    for ops, kwargs in user_scopes:
      stack.enter_context(slim.arg_scope(ops, **kwargs))
    yield


def _build(model, base, user_scopes):
  """`model(inputs)` in a fresh graph under `base` then `user_scopes`."""

  def wrapped(inputs):
    with _scopes(base, user_scopes):
      return model(inputs)

  return build_in_graph(wrapped, _SHAPE, seed=1)


def _network(impl, **kwargs):
  return lambda x: impl.generator(x, _blocks(impl), num_classes=10,
                                  scope='resnet', **kwargs)


def _plain(impl):
  """The blocks alone, every layer collecting into 'end_points'."""

  def model(x):
    with slim.arg_scope([slim.conv2d, impl.bottleneck,
                         impl.utils.stack_blocks_dense],
                        outputs_collections='end_points'):
      net = impl.utils.stack_blocks_dense(x, _blocks(impl))
    return net, slim_utils.convert_collection_to_dict('end_points')

  return model


def _compare_numbers(ours, ref, fetch_ours=None, fetch_ref=None):
  """Copies our variables into tf-slim's graph; compares the fetches.

  Defaults to the end points the two share.
  """
  if fetch_ours is None:
    keys = [k for k in ref.end_points if k in ours.end_points]
    fetch_ours = {k: ours.end_points[k] for k in keys}
    fetch_ref = {k: ref.end_points[k] for k in keys}
  images = np.random.RandomState(0).normal(size=_SHAPE).astype(np.float32)
  with new_session(ours.graph) as ours_sess, tf.compat.v1.Session(
      graph=ref.graph, config=session_config()) as ref_sess:
    perturb_batch_norm(ours_sess)
    copy_variables(ours_sess, ref_sess)
    ours_values = ours_sess.run(fetch_ours, {ours.inputs: images})
    ref_values = ref_sess.run(fetch_ref, {ref.inputs: images})
  for key, expected in ref_values.items():
    actual = ours_values[key]
    if key == 'predictions':
      expected = expected.reshape(actual.shape)
    assert_close(actual, expected, what=str(key))
  return ours_values, ref_values


def _update_ops(built):
  return built.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)


# -------------------------------------------- slim.batch_norm is_training


def test_batch_norm_scope_reaches_the_blocks(impls):
  """[slim.batch_norm] is_training=False turns every unit's BN to inference."""
  ours_impl, ref_impl = impls
  user = [([slim.batch_norm], {'is_training': False})]
  ours = _build(_plain(ours_impl), ours_impl.module.resnet_arg_scope(), user)
  ref = _build(_plain(ref_impl), ref_impl.utils.resnet_arg_scope(), user)
  assert not _update_ops(ours) and not _update_ops(ref)
  assert list(ours.end_points) == list(ref.end_points)
  _compare_numbers(ours, ref)


def test_batch_norm_scope_under_the_model_is_training(impls):
  """The model's own is_training wins over the user's scope, as in tf-slim."""
  ours_impl, ref_impl = impls
  user = [([slim.batch_norm], {'is_training': False})]
  ours = _build(_network(ours_impl), ours_impl.module.resnet_arg_scope(),
                user)
  ref = _build(_network(ref_impl), ref_impl.utils.resnet_arg_scope(), user)
  assert len(_update_ops(ours)) == len(_update_ops(ref)) > 0
  _compare_numbers(ours, ref)


def test_v1_batch_norm_scope_with_is_training_none(slim_reference):
  """Our v1 with is_training=None takes the user's scope (tf-slim: False)."""
  ref_v1, _, ref_utils = slim_reference
  user = [([slim.batch_norm], {'is_training': False})]
  ours = _build(
      lambda x: resnet_v1.resnet_v1(
          x, _blocks_of(resnet_v1.resnet_v1_block), num_classes=10,
          is_training=None, scope='resnet'),
      resnet_v1.resnet_arg_scope(), user)
  ref = _build(
      lambda x: ref_v1.resnet_v1(
          x, _blocks_of(ref_v1.resnet_v1_block), num_classes=10,
          is_training=False, scope='resnet'),
      ref_utils.resnet_arg_scope(), user)
  assert not _update_ops(ours) and not _update_ops(ref)
  _compare_numbers(ours, ref)


# ------------------------------------------------ slim.conv2d user scopes


@pytest.mark.parametrize('base', ['resnet_arg_scope', 'no_base_scope'])
def test_conv2d_regularizer_and_outputs_collection(impls, base):
  ours_impl, ref_impl = impls
  user = [([slim.conv2d], {
      'weights_regularizer': slim.l2_regularizer(0.25),
      'outputs_collections': 'my_collection'
  })]

  def model(impl):

    def build(x):
      # A conv outside the network, where the user's collection applies.
      x = impl.utils.conv2d_same(x, 8, 3, stride=2, scope='stem')
      return _network(impl)(x)

    return build

  ours = _build(model(ours_impl), ours_impl.module.resnet_arg_scope()
                if base == 'resnet_arg_scope' else None, user)
  ref = _build(model(ref_impl), ref_impl.utils.resnet_arg_scope()
               if base == 'resnet_arg_scope' else None, user)

  def collected(built):
    return [(alias, tensor.shape.as_list()) for alias, tensor in
            slim_utils.convert_collection_to_dict('my_collection',
                                                  built.graph).items()]

  def collection(graph):
    return graph.get_collection('my_collection')

  assert collected(ours) == collected(ref)
  assert len(collection(ours.graph)) == len(collection(ref.graph)) > 0
  ours_losses = ours.graph.get_collection(_GRAPH_KEYS.REGULARIZATION_LOSSES)
  ref_losses = ref.graph.get_collection(_GRAPH_KEYS.REGULARIZATION_LOSSES)
  num_weights = sum(1 for v in global_variables(ours.graph)
                    if v.op.name.endswith('/weights'))
  assert len(ours_losses) == len(ref_losses) == num_weights
  fetch_ours = {'losses': ours_losses, 'collection': collection(ours.graph),
                'logits': ours.end_points['resnet/logits']}
  fetch_ref = {'losses': ref_losses, 'collection': collection(ref.graph),
               'logits': ref.end_points['resnet/logits']}
  ours_values, _ = _compare_numbers(ours, ref, fetch_ours, fetch_ref)
  # The user's 0.25 replaced the scope's weight decay on every conv.
  with new_session(ours.graph) as sess:
    weights = sess.run([v for v in global_variables(ours.graph)
                        if v.op.name.endswith('/weights')])
    losses = sess.run(ours_losses)
  assert_close(np.array(losses),
               np.array([0.25 * np.sum(w.astype(np.float64)**2) / 2
                         for w in weights]), what='l2 losses')
  assert len(ours_values['collection']) == len(collection(ours.graph))


# --------------------------------------------- whole arg scopes, either kind


def test_tf_slim_resnet_arg_scope_works_with_our_nets(impls):
  """tf-slim's resnet_arg_scope (normalizer_fn=tf-slim's batch_norm) builds
  the same graph of ours as our resnet_arg_scope; tf-slim computes the same.
  """
  ours_impl, ref_impl = impls
  for is_training in (True, False):
    ours = _build(_network(ours_impl, is_training=is_training),
                  ours_impl.module.resnet_arg_scope(), [])
    ours_under_slim = _build(_network(ours_impl, is_training=is_training),
                             ref_impl.utils.resnet_arg_scope(), [])
    ref = _build(_network(ref_impl, is_training=is_training),
                 ref_impl.utils.resnet_arg_scope(), [])
    assert ours.graph.as_graph_def() == ours_under_slim.graph.as_graph_def()
    # No tf-slim (Keras-backed) batch norm crept in.
    assert not any('keras' in op.type.lower() or op.type == 'Merge'
                   for op in ours_under_slim.graph.get_operations())
    assert len(_update_ops(ours_under_slim)) == len(_update_ops(ref))
    _compare_numbers(ours_under_slim, ref)


@pytest.mark.parametrize('weight_decay', [0.0, 0.01])
def test_resnet_arg_scope_arguments_as_tf_slim(impls, weight_decay):
  ours_impl, ref_impl = impls
  kwargs = dict(weight_decay=weight_decay, batch_norm_decay=0.9,
                batch_norm_epsilon=1e-3, batch_norm_scale=False)
  ours = _build(_network(ours_impl),
                ours_impl.module.resnet_arg_scope(**kwargs), [])
  ref = _build(_network(ref_impl), ref_impl.utils.resnet_arg_scope(**kwargs),
               [])
  describe = lambda b: [(v.op.name, v.shape.as_list())
                        for v in global_variables(b.graph)]
  assert describe(ours) == describe(ref)
  assert not any(v.op.name.endswith('/gamma')
                 for v in global_variables(ours.graph))
  ours_losses = ours.graph.get_collection(_GRAPH_KEYS.REGULARIZATION_LOSSES)
  ref_losses = ref.graph.get_collection(_GRAPH_KEYS.REGULARIZATION_LOSSES)
  assert len(ours_losses) == len(ref_losses)
  values = _compare_numbers(
      ours, ref, {'losses': ours_losses,
                  'logits': ours.end_points['resnet/logits']},
      {'losses': ref_losses, 'logits': ref.end_points['resnet/logits']})[0]
  if weight_decay == 0.0:
    assert not np.any(values['losses'])


# ------------------------------------------------------ keys and signatures


@pytest.mark.parametrize('ours,theirs', [
    (_layers.conv2d, slim.conv2d),
    (_layers.batch_norm, slim.batch_norm),
    (_layers.max_pool2d, slim.max_pool2d),
    (_layers.avg_pool2d, slim.avg_pool2d),
    (_layers.separable_conv2d, slim.separable_conv2d),
], ids=lambda f: getattr(f, '__name__', str(f)))
def test_layers_share_tf_slim_arg_scope_keys(ours, theirs):
  key = slim_arg_scope.arg_scope_func_key(theirs)
  assert slim_arg_scope.arg_scope_func_key(ours) == key
  with slim.arg_scope([ours], outputs_collections='x') as scope:
    pass
  assert list(scope) == [key]
  # Every argument tf-slim's layer takes, ours takes; ours-only arguments
  # (conv2d's `groups`) have defaults, so tf-slim-style scopes never need
  # them.
  theirs_params = inspect.signature(theirs).parameters
  ours_params = inspect.signature(ours).parameters
  assert set(theirs_params) <= set(ours_params)
  for name, param in ours_params.items():
    if name not in theirs_params:
      assert param.default is not param.empty, name
    elif theirs_params[name].default is not param.empty:
      assert param.default is not param.empty, name


def test_groups_defaults_to_one():
  assert inspect.signature(_layers.conv2d).parameters['groups'].default == 1


def test_nets_conv2d_scope_reaches_slim_conv2d(slim_reference):
  """slim.arg_scope([nets conv2d], ...) configures tf-slim's conv2d too."""
  del slim_reference  # Makes tf-slim's conv2d runnable.
  results = {}
  for name, layer in (('ours', _layers.conv2d), ('slim', slim.conv2d)):
    graph = tf.Graph()
    with graph.as_default():
      inputs = tf.compat.v1.placeholder(tf.float32, [1, 8, 8, 3])
      scoped = [_layers.conv2d] if name == 'slim' else [slim.conv2d]
      with slim.arg_scope(scoped, activation_fn=None, biases_initializer=None,
                          weights_regularizer=slim.l2_regularizer(1.0),
                          outputs_collections='scoped'):
        layer(inputs, 4, [3, 3], scope='Conv')
    results[name] = (
        [v.op.name for v in global_variables(graph)],
        len(graph.get_collection(_GRAPH_KEYS.REGULARIZATION_LOSSES)),
        len(graph.get_collection('scoped')),
        any(op.type == 'Relu' for op in graph.get_operations()))
  # No biases, no ReLU, a regularizer and the collection, in both.
  assert results['ours'] == results['slim'] == (['Conv/weights'], 1, 1, False)


def _regularized_conv(scope, **scope_kwargs):
  """Builds a regularized conv twice under `scope`; (graph, losses, weights)."""
  graph = tf.Graph()
  with graph.as_default():
    inputs = tf.constant(np.ones([1, 8, 8, 3], np.float32))
    for reuse in (None, True):
      with tf.compat.v1.variable_scope(scope, reuse=reuse, **scope_kwargs):
        _layers.conv2d(inputs, 4, [3, 3], biases_initializer=None,
                       weights_regularizer=slim.l2_regularizer(0.5),
                       scope='Conv')
  return (graph, graph.get_collection(_GRAPH_KEYS.REGULARIZATION_LOSSES),
          global_variables(graph))


def _expected_l2(sess, weights):
  return 0.5 * np.sum(np.square(sess.run(weights))) / 2


def test_regularization_loss_built_once_on_creation_only():
  graph, losses, variables = _regularized_conv('net')
  assert [v.op.name for v in variables] == ['net/Conv/weights']
  # One loss although the conv was built twice (the second time reusing).
  assert [loss.name for loss in losses] == [
      'net/Conv/kernel/Regularizer/l2_regularizer:0']
  assert not [op.name for op in graph.get_operations()
              if op.name.startswith('l2_regularizer')]
  with new_session(graph) as sess:
    sess.run(tf.compat.v1.global_variables_initializer())
    np.testing.assert_allclose(sess.run(losses[0]),
                               _expected_l2(sess, variables[0]), rtol=1e-6)


def test_regularization_loss_under_a_renaming_custom_getter():
  def renaming_getter(getter, name, *args, **kwargs):
    return getter(name + '_renamed', *args, **kwargs)

  graph, losses, variables = _regularized_conv(
      'net', custom_getter=renaming_getter)
  assert [v.op.name for v in variables] == ['net/Conv/weights_renamed']
  # TensorFlow's own naming for the renamed variable's loss.
  assert [loss.name for loss in losses] == [
      'net/Conv/weights_renamed/Regularizer/l2_regularizer:0']
  with new_session(graph) as sess:
    sess.run(tf.compat.v1.global_variables_initializer())
    np.testing.assert_allclose(sess.run(losses[0]),
                               _expected_l2(sess, variables[0]), rtol=1e-6)


def test_regularization_loss_names_as_tf_slim(slim_reference):
  """Every layer names its losses as tf-slim's, and leaves no orphan ops."""
  del slim_reference  # Makes tf-slim's layers runnable.
  results = {}
  for name, layers in (('ours', _layers), ('slim', slim)):
    graph = tf.Graph()
    with graph.as_default():
      inputs = tf.compat.v1.placeholder(tf.float32, [1, 8, 8, 3])
      regularizer = slim.l2_regularizer(0.1)
      regularized = dict(weights_regularizer=regularizer,
                         biases_regularizer=regularizer)
      layers.conv2d(inputs, 4, [3, 3], scope='conv', **regularized)
      layers.separable_conv2d(inputs, 4, [3, 3], 1, scope='separable',
                              **regularized)
      layers.separable_conv2d(inputs, None, [3, 3], 1, scope='depthwise',
                              **regularized)
      layers.batch_norm(inputs, scale=True, scope='bn', param_regularizers={
          'beta': regularizer, 'gamma': regularizer})
      with tf.compat.v1.variable_scope('outer'):
        layers.conv2d(inputs, 4, [1, 1], scope='conv', **regularized)
    results[name] = (
        [loss.name for loss in graph.get_collection(
            _GRAPH_KEYS.REGULARIZATION_LOSSES)],
        [op.name for op in graph.get_operations()
         if op.name.startswith('l2_regularizer')])
  assert results['ours'][0] == results['slim'][0]
  assert len(results['ours'][0]) == 11
  # tf-slim's depthwise-only path leaves get_variable's regularizer probes.
  assert results['slim'][1] and not results['ours'][1]
