"""slimnets' ResNet v1/v2 against tf-slim 1.1.0's `tf_slim.nets` [1, 2].

For each of the eight models (resnet_v1_50/101/152/200, resnet_v2_50/101/152/
200), in training and in inference mode, both implementations are built once
under their own `resnet_arg_scope()` on a 2x64x64x3 input and compared:
variables (names, shapes, dtypes, order), collections, end points, the
numbers computed once the variable values are copied across by name (batch
norm parameters randomized so batch norm is not the identity), one step of
the batch norm updates, and checkpoints saved by one and restored by the
other.

[1] Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun.
    Deep Residual Learning for Image Recognition. arXiv:1512.03385
[2] Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun.
    Identity Mappings in Deep Residual Networks. arXiv:1603.05027

Typical use:

   TF_CPP_MIN_LOG_LEVEL=2 pytest -q tests/test_resnet_parity.py -k v2_50
"""

import collections
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import assert_close
from conftest import assign_values
from conftest import build_in_graph
from conftest import copy_variables
from conftest import global_variables
from conftest import new_session
from conftest import perturb_batch_norm
from conftest import read_values
from conftest import session_config
from nets import _layers
from nets import resnet_v1
from nets import resnet_v2

_GRAPH_KEYS = tf.compat.v1.GraphKeys
_INPUT_SHAPE = [2, 64, 64, 3]
_MODELS = ('resnet_v1_50', 'resnet_v1_101', 'resnet_v1_152', 'resnet_v1_200',
           'resnet_v2_50', 'resnet_v2_101', 'resnet_v2_152', 'resnet_v2_200')
# Written down from the ResNet papers (Table 1 of [1], [2]), not read from
# nets: units per block for each depth.
_UNITS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3),
          200: (3, 24, 36, 3)}
# The counts of the contract (slim-contract.md, "Names the checkpoints depend
# on"), keyed by (model, is_training): trainable, global (= model) variables,
# trainable parameters, UPDATE_OPS, REGULARIZATION_LOSSES, end points.
_CONTRACT = {
    ('resnet_v2_50', True): (174, 272, 25570409, 98, 54, 77),
    ('resnet_v2_50', False): (174, 272, 25570409, 0, 54, 77),
    ('resnet_v1_50', True): (161, 267, 25557032, 106, 54, 77),
    ('resnet_v1_50', False): (161, 267, 25557032, 0, 54, 77),
}
# The end points our models add to tf-slim 1.1.0's (upstream
# tensorflow/models has them too).
_EXTRA_END_POINTS = ('global_pool', '{scope}/spatial_squeeze')

_Pair = collections.namedtuple('_Pair', [
    'name', 'is_training', 'num_classes', 'ours', 'ref', 'ours_sess',
    'ref_sess', 'images'
])


def _version(name):
  return 1 if name.startswith('resnet_v1') else 2


def _depth(name):
  return int(name.rsplit('_', 1)[1])


def _mode_id(param):
  return '%s-%s' % (param[0], 'train' if param[1] else 'infer')


# Graph building dominates the run time (tf-slim takes 10-20 s for one
# ResNet-200 graph on 2 cores), so the two deepest depths run in one mode
# each: 152 in training, 200 in inference. 50 and 101 run in both.
_MODES = {50: (True, False), 101: (True, False), 152: (True,), 200: (False,)}


@pytest.fixture(scope='module',
                params=[(name, is_training) for name in _MODELS
                        for is_training in _MODES[_depth(name)]],
                ids=_mode_id)
def pair(request, slim_reference):
  """Both implementations of one model in one mode, with equal variables.

  Built once per (model, mode): tf-slim needs 10-20 s for a ResNet-200 graph.
  """
  name, is_training = request.param
  ref_v1, ref_v2, ref_utils = slim_reference
  ours_module, ref_module = ((resnet_v1, ref_v1) if _version(name) == 1 else
                             (resnet_v2, ref_v2))
  # slim's ImageNet checkpoints: 1000 classes for v1, 1001 for v2.
  num_classes = 1000 if _version(name) == 1 else 1001
  ours = build_in_graph(getattr(ours_module, name), _INPUT_SHAPE,
                        arg_scope=ours_module.resnet_arg_scope(),
                        seed=_MODELS.index(name),
                        num_classes=num_classes, is_training=is_training)
  ref = build_in_graph(getattr(ref_module, name), _INPUT_SHAPE,
                       arg_scope=ref_utils.resnet_arg_scope(),
                       num_classes=num_classes, is_training=is_training)
  ours_sess = new_session(ours.graph)
  # Gammas below 1 keep inference-mode ResNet-200 activations finite.
  perturb_batch_norm(ours_sess, seed=_MODELS.index(name),
                     gamma_range=(0.2, 0.6))
  # Assigning every variable initializes the reference session.
  ref_sess = tf.compat.v1.Session(graph=ref.graph, config=session_config())
  copy_variables(ours_sess, ref_sess)
  images = np.random.RandomState(7).normal(
      size=_INPUT_SHAPE).astype(np.float32)
  yield _Pair(name, is_training, num_classes, ours, ref, ours_sess, ref_sess,
              images)
  ours_sess.close()
  ref_sess.close()


def _describe_variables(graph, key=_GRAPH_KEYS.GLOBAL_VARIABLES):
  return [(v.op.name, v.shape.as_list(), v.dtype.base_dtype.name)
          for v in graph.get_collection(key)]


def _names(graph, key):
  return [v.op.name for v in graph.get_collection(key)]


def _num_parameters(graph):
  return sum(
      int(np.prod(v.shape.as_list()))
      for v in graph.get_collection(_GRAPH_KEYS.TRAINABLE_VARIABLES))


def _updated_variable(update):
  """The name of the variable a batch norm update op writes."""
  op = update if isinstance(update, tf.Operation) else update.op
  handle = op.inputs[0].op
  while handle.type != 'VarHandleOp':
    handle = handle.inputs[0].op
  return handle.name


def _expected_end_points(name):
  """The end point keys of `name`, written from the ResNet spec."""
  scope = name
  keys = [scope + '/conv1']
  for block, num_units in enumerate(_UNITS[_depth(name)]):
    for unit in range(1, num_units + 1):
      prefix = '%s/block%d/unit_%d/bottleneck_v%d' % (scope, block + 1, unit,
                                                       _version(name))
      # Only the first unit of a block changes the depth (projection).
      if unit == 1:
        keys.append(prefix + '/shortcut')
      keys += [prefix + '/conv1', prefix + '/conv2', prefix + '/conv3', prefix]
    keys.append('%s/block%d' % (scope, block + 1))
  return keys + ['global_pool', scope + '/logits', scope + '/spatial_squeeze',
                 'predictions']


def _extra_end_points(name):
  return [key.format(scope=name) for key in _EXTRA_END_POINTS]


def _run_end_points(pair_):
  """All end points and the output of both graphs on the same images.

  Returns:
    (ours, ref): dicts of numpy values; `ref` also holds tf-slim's global
    pool (op 'pool5', not an end point in tf-slim 1.1.0) as 'global_pool' and
    its network output as 'net'.
  """
  ref_fetches = dict(pair_.ref.end_points)
  ref_fetches['global_pool'] = pair_.ref.graph.get_tensor_by_name(
      pair_.name + '/pool5:0')
  ref_fetches['net'] = pair_.ref.net
  ours_fetches = dict(pair_.ours.end_points)
  ours_fetches['net'] = pair_.ours.net
  ours = pair_.ours_sess.run(ours_fetches, {pair_.ours.inputs: pair_.images})
  ref = pair_.ref_sess.run(ref_fetches, {pair_.ref.inputs: pair_.images})
  return ours, ref


def _assert_same_numbers(ours, ref, name):
  """Every end point of `ref` (squeezed as ours where ours squeezes)."""
  b = _INPUT_SHAPE[0]
  for key, expected in ref.items():
    actual = ours[key]
    if key in ('predictions', 'net'):
      assert expected.shape == (b, 1, 1, expected.shape[-1])
      expected = expected.reshape([b, -1])
    assert np.all(np.isfinite(expected)), 'tf-slim %s is not finite' % key
    assert_close(actual, expected, what='%s %s' % (name, key))
  assert_close(ours[name + '/spatial_squeeze'],
               ref[name + '/logits'].reshape([b, -1]),
               what='%s spatial_squeeze' % name)


def test_variables_match_in_order(pair):
  ours = _describe_variables(pair.ours.graph)
  ref = _describe_variables(pair.ref.graph)
  assert [v[0] for v in ours] == [v[0] for v in ref], 'names or order differ'
  assert ours == ref


def test_collections_match(pair):
  for key in (_GRAPH_KEYS.GLOBAL_VARIABLES, _GRAPH_KEYS.MODEL_VARIABLES,
              _GRAPH_KEYS.TRAINABLE_VARIABLES):
    assert _names(pair.ours.graph, key) == _names(pair.ref.graph, key), key
  assert (_names(pair.ours.graph, _GRAPH_KEYS.GLOBAL_VARIABLES) ==
          _names(pair.ours.graph, _GRAPH_KEYS.MODEL_VARIABLES))
  ours_updates = pair.ours.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)
  ref_updates = pair.ref.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)
  assert len(ours_updates) == len(ref_updates)
  assert ([_updated_variable(u) for u in ours_updates] ==
          [_updated_variable(u) for u in ref_updates])
  if not pair.is_training:
    assert not ours_updates
  loss_names = lambda graph: [loss.name for loss in graph.get_collection(
      _GRAPH_KEYS.REGULARIZATION_LOSSES)]
  assert loss_names(pair.ours.graph) == loss_names(pair.ref.graph)
  assert _num_parameters(pair.ours.graph) == _num_parameters(pair.ref.graph)


def test_no_ops_outside_the_model_scope(pair):
  # get_variable probes a regularizer by calling it outside any scope; that
  # probe must not leave orphan loss ops (tf-slim's layers leave none either).
  for built in (pair.ours, pair.ref):
    strays = [op.name for op in built.graph.get_operations()
              if op.name not in ('inputs', 'init') and
              not op.name.startswith(pair.name + '/')]
    assert not strays


def test_contract_counts(pair):
  graph = pair.ours.graph
  counts = (len(graph.get_collection(_GRAPH_KEYS.TRAINABLE_VARIABLES)),
            len(graph.get_collection(_GRAPH_KEYS.GLOBAL_VARIABLES)),
            _num_parameters(graph),
            len(graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)),
            len(graph.get_collection(_GRAPH_KEYS.REGULARIZATION_LOSSES)),
            len(pair.ours.end_points))
  if (pair.name, pair.is_training) in _CONTRACT:
    assert counts == _CONTRACT[(pair.name, pair.is_training)]
  # Every conv has regularized weights: one loss per `weights` variable.
  num_weights = sum(1 for v in global_variables(graph)
                    if v.op.name.endswith('/weights'))
  assert counts[4] == num_weights
  # Two moving-average updates per batch norm in training, none otherwise.
  num_batch_norms = sum(1 for v in global_variables(graph)
                        if v.op.name.endswith('/moving_mean'))
  assert counts[3] == (2 * num_batch_norms if pair.is_training else 0)


def test_regularization_loss_values(pair):
  ours = pair.ours_sess.run(
      pair.ours.graph.get_collection(_GRAPH_KEYS.REGULARIZATION_LOSSES))
  ref = pair.ref_sess.run(
      pair.ref.graph.get_collection(_GRAPH_KEYS.REGULARIZATION_LOSSES))
  assert_close(np.array(ours), np.array(ref), what='regularization losses')
  assert_close(np.sum(ours), np.sum(ref), what='total regularization loss')


def test_end_points_match(pair):
  name = pair.name
  ours_keys = list(pair.ours.end_points)
  ref_keys = list(pair.ref.end_points)
  extra = _extra_end_points(name)
  # tf-slim 1.1.0 lacks exactly 'global_pool' and '<scope>/spatial_squeeze'.
  assert sorted(set(ours_keys) - set(ref_keys)) == sorted(extra)
  assert not set(ref_keys) - set(ours_keys)
  assert [k for k in ours_keys if k not in extra] == ref_keys
  assert ours_keys == _expected_end_points(name)
  batch = _INPUT_SHAPE[0]
  for key in ref_keys:
    ours_shape = pair.ours.end_points[key].shape.as_list()
    ref_shape = pair.ref.end_points[key].shape.as_list()
    if key == 'predictions':
      # tf-slim 1.1.0 never squeezes; ours squeeze like tensorflow/models.
      assert ref_shape == [batch, 1, 1, pair.num_classes]
      assert ours_shape == [batch, pair.num_classes]
    else:
      assert ours_shape == ref_shape, key
  assert pair.ours.end_points[name + '/logits'].shape.as_list() == [
      batch, 1, 1, pair.num_classes]
  assert pair.ours.end_points[name + '/spatial_squeeze'].shape.as_list() == [
      batch, pair.num_classes]
  assert pair.ours.end_points['global_pool'].shape.as_list() == [
      batch, 1, 1, 2048]
  assert pair.ours.net.shape.as_list() == [batch, pair.num_classes]
  assert pair.ref.net.shape.as_list() == [batch, 1, 1, pair.num_classes]


def test_outputs_match(pair):
  ours, ref = _run_end_points(pair)
  _assert_same_numbers(ours, ref, pair.name)


def test_batch_norm_update_step(pair):
  moving = [v.op.name for v in global_variables(pair.ours.graph)
            if v.op.name.endswith(('/moving_mean', '/moving_variance'))]
  before = {k: v for k, v in read_values(pair.ours_sess).items()
            if k in moving}
  ours_updates = pair.ours.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)
  ref_updates = pair.ref.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)
  if pair.is_training:
    pair.ours_sess.run(ours_updates, {pair.ours.inputs: pair.images})
    pair.ref_sess.run(ref_updates, {pair.ref.inputs: pair.images})
  else:
    assert not ours_updates and not ref_updates
    # Inference must leave the moving statistics alone.
    pair.ours_sess.run(pair.ours.net, {pair.ours.inputs: pair.images})
    pair.ref_sess.run(pair.ref.net, {pair.ref.inputs: pair.images})
  ours = read_values(pair.ours_sess)
  ref = read_values(pair.ref_sess)
  changed = 0
  for key in moving:
    assert_close(ours[key], ref[key], what=key)
    changed += int(not np.array_equal(ours[key], before[key]))
  assert changed == (len(moving) if pair.is_training else 0)


def _save(sess, directory):
  # Saver decides between graph and eager mode when called: stay in graph.
  with sess.graph.as_default():
    saver = tf.compat.v1.train.Saver()
    return saver.save(sess, os.path.join(directory, 'model.ckpt'))


def _restore(sess, path):
  with sess.graph.as_default():
    saver = tf.compat.v1.train.Saver()
    init = tf.compat.v1.global_variables_initializer()
    # Fresh random values first, so only the restore can make them equal.
    sess.run(init)
    saver.restore(sess, path)


def test_checkpoint_restores_across(pair, tmp_path):
  ours_path = _save(pair.ours_sess, str(tmp_path / 'ours'))
  _restore(pair.ref_sess, ours_path)
  ours_values = read_values(pair.ours_sess)
  ref_values = read_values(pair.ref_sess)
  assert set(ours_values) == set(ref_values)
  for key, value in ours_values.items():
    np.testing.assert_array_equal(ref_values[key], value, err_msg=key)
  ours, ref = _run_end_points(pair)
  _assert_same_numbers(ours, ref, pair.name)

  # And back: tf-slim's checkpoint into our graph.
  assign_values(pair.ref_sess, {
      k: v * np.float32(1.5) if k.endswith('/gamma') else v
      for k, v in ref_values.items()
  })
  ref_path = _save(pair.ref_sess, str(tmp_path / 'ref'))
  _restore(pair.ours_sess, ref_path)
  ours_values = read_values(pair.ours_sess)
  ref_values = read_values(pair.ref_sess)
  for key, value in ref_values.items():
    np.testing.assert_array_equal(ours_values[key], value, err_msg=key)
  ours, ref = _run_end_points(pair)
  _assert_same_numbers(ours, ref, pair.name)


def test_batch_norm_epsilon_as_tf_slim(slim_reference):
  """batch_norm(epsilon=1e-5), resnet_arg_scope's value, as tf-slim runs it.

  On TensorFlow 2.21 tf-slim's batch norm (the Keras layer it uses with the
  default UPDATE_OPS collection) hands epsilon to FusedBatchNormV3 unchanged;
  the kernel accepts 1e-5 on CPU.
  """
  del slim_reference  # Only needed to make slim.batch_norm runnable.
  shape = [2, 4, 4, 8]
  # Small variances make a change of epsilon visible.
  images = np.random.RandomState(3).normal(
      scale=0.01, size=shape).astype(np.float32)
  results = []
  for layer in (_layers.batch_norm, slim.batch_norm):
    built = build_in_graph(
        lambda x, fn=layer: (fn(x, epsilon=1e-5, is_training=True), {}),
        shape)
    epsilons = [op.get_attr('epsilon') for op in built.graph.get_operations()
                if op.type.startswith('FusedBatchNorm')]
    with new_session(built.graph) as sess:
      results.append((epsilons, sess.run(built.net,
                                         {built.inputs: images})))
  (ours_eps, ours), (ref_eps, ref) = results
  assert ours_eps == ref_eps, (
      'nets._layers.batch_norm passes epsilon %s to FusedBatchNormV3, '
      'tf-slim passes %s' % (ours_eps, ref_eps))
  assert_close(ours, ref, what='batch_norm(epsilon=1e-5) output')
