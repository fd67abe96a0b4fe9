"""A user's own tf-slim network, moved to `from nets import slim`.

`_USER_NET` is a small network written the old way (conv2d + batch_norm,
max/avg pooling, separable_conv2d, flatten, fully_connected, dropout,
slim.repeat and slim.stack, arg scopes keyed by slim.* functions). It is
written to two files that differ in their import line only: `import tf_slim
as slim` (the reference: tf-slim 1.1.0 with tf_keras' legacy layers, see
reference.py) and `from nets import slim`. Both are built in training and
inference mode and compared: variable names, shapes and order, the
collections (UPDATE_OPS by the variable each update moves, moving averages,
regularization losses, end points) and the numbers (logits, loss, gradients,
moving averages after the updates; within 1e-5 relative). The `nets.slim`
version is also run in a fresh interpreter in which tf_keras cannot be
imported, on the reference's weights, and must give the same numbers and
leave tensorflow and tf_slim as they were.

Typical use:

   TF_CPP_MIN_LOG_LEVEL=2 pytest -q tests/test_user_slim.py
"""

import difflib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
import tf_slim

from conftest import assert_close
from conftest import assign_values
from conftest import new_session
from conftest import perturb_batch_norm
from conftest import read_values
from nets import _layers
from nets import slim as nets_slim

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_TESTS = os.path.join(_ROOT, 'tests')
_KEYS = tf.compat.v1.GraphKeys
_SHAPE = [4, 16, 16, 3]
_CLASSES = 5

_USER_NET = '''\
"""A user's tf-slim network, as written for TF 1."""
import tf_slim as slim


def user_net(images, num_classes, is_training, dropout_seed=7):
  collection = 'user_net_end_points'
  with slim.arg_scope([slim.conv2d, slim.fully_connected,
                       slim.separable_conv2d],
                      weights_regularizer=slim.l2_regularizer(0.01),
                      outputs_collections=collection):
    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm):
      with slim.arg_scope([slim.batch_norm], is_training=is_training,
                          decay=0.9, scale=True):
        with slim.arg_scope([slim.max_pool2d, slim.avg_pool2d],
                            padding='SAME', outputs_collections=collection):
          net = slim.repeat(images, 2, slim.conv2d, 4, [3, 3],
                            scope='conv1')
          net = slim.max_pool2d(net, [2, 2], scope='pool1')
          net = slim.stack(net, slim.conv2d, [(8, [3, 3]), (6, [1, 1])],
                           scope='conv2')
          net = slim.avg_pool2d(net, [2, 2], scope='pool2')
          net = slim.separable_conv2d(net, 8, [3, 3], depth_multiplier=1,
                                      scope='sep3')
          net = slim.flatten(net, scope='flatten')
          net = slim.fully_connected(net, 16, scope='fc4')
          net = slim.dropout(net, 0.5, is_training=is_training,
                             seed=dropout_seed, scope='dropout4')
          logits = slim.fully_connected(net, num_classes, activation_fn=None,
                                        scope='logits')
  return logits, slim.utils.convert_collection_to_dict(collection)
'''
_OLD_IMPORT = 'import tf_slim as slim\n'
_NEW_IMPORT = 'from nets import slim\n'


def _load(path, name):
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


@pytest.fixture(scope='module')
def user_modules(tmp_path_factory, slim_reference):
  """(tf-slim version, nets.slim version, path of the nets.slim file)."""
  del slim_reference  # Only for tf-slim's batch_norm in the reference.
  folder = tmp_path_factory.mktemp('user_net')
  old = folder / 'user_net_tf_slim.py'
  new = folder / 'user_net_nets.py'
  old.write_text(_USER_NET)
  new.write_text(_USER_NET.replace(_OLD_IMPORT, _NEW_IMPORT))
  return (_load(str(old), 'user_net_tf_slim'), _load(str(new),
                                                     'user_net_nets'),
          str(new))


def test_one_line_changed(user_modules):
  _, _, new_path = user_modules
  with open(new_path) as f:
    new_lines = f.read().splitlines(keepends=True)
  changed = [l for l in difflib.ndiff(_USER_NET.splitlines(keepends=True),
                                      new_lines) if l[:2] in ('- ', '+ ')]
  assert changed == ['- ' + _OLD_IMPORT, '+ ' + _NEW_IMPORT]


# ----------------------------------------------------- build and compare


def _update_target(update):
  """The name of the variable an UPDATE_OPS entry moves."""
  seen = set()
  frontier = [update.op if hasattr(update, 'op') else update]
  while frontier:
    op = frontier.pop(0)
    if op.type in ('VarHandleOp', 'VariableV2'):
      return op.name
    for nxt in [t.op for t in op.inputs] + list(op.control_inputs):
      if nxt.name not in seen:
        seen.add(nxt.name)
        frontier.append(nxt)
  raise AssertionError('no variable behind %s' % update.name)


def _structure(graph, end_points):
  """What the network put in the graph, by name (JSON-friendly)."""
  names = lambda key: [v.op.name for v in graph.get_collection(key)]
  return {
      'variables': [[v.op.name, v.shape.as_list()]
                    for v in graph.get_collection(_KEYS.GLOBAL_VARIABLES)],
      'trainable': names(_KEYS.TRAINABLE_VARIABLES),
      'model_variables': names(_KEYS.MODEL_VARIABLES),
      'moving_averages': names(_KEYS.MOVING_AVERAGE_VARIABLES),
      'local_variables': names(_KEYS.LOCAL_VARIABLES),
      'update_ops': sorted(_update_target(u)
                           for u in graph.get_collection(_KEYS.UPDATE_OPS)),
      'regularization_losses': names(_KEYS.REGULARIZATION_LOSSES),
      'end_points': [[k, v.shape.as_list()] for k, v in end_points.items()],
  }


def _inputs():
  rng = np.random.RandomState(0)
  images = rng.normal(size=_SHAPE).astype(np.float32)
  labels = np.eye(_CLASSES, dtype=np.float32)[rng.randint(0, _CLASSES,
                                                          _SHAPE[0])]
  return images, labels


def run_network(user_net, is_training, values=None):
  """Builds `user_net` in a new graph and runs one step.

  Args:
    user_net: the user's network function.
    is_training: the mode.
    values: variable values by name; None: the graph's initializers with
      perturbed batch norm parameters.

  Returns:
    (structure dict, numbers dict, the values used).
  """
  images, labels = _inputs()
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(1)
    logits, end_points = user_net(tf.constant(images), _CLASSES,
                                  is_training=is_training)
    regularization = tf.add_n(
        graph.get_collection(_KEYS.REGULARIZATION_LOSSES))
    loss = tf.compat.v1.losses.softmax_cross_entropy(labels, logits)
    total = loss + regularization
    trainable = graph.get_collection(_KEYS.TRAINABLE_VARIABLES)
    fetches = {
        'logits': logits,
        'loss': total,
        'regularization': regularization,
        'gradients': dict(zip([v.op.name for v in trainable],
                              tf.gradients(total, trainable))),
        'updates': graph.get_collection(_KEYS.UPDATE_OPS),
    }
    structure = _structure(graph, end_points)
  with new_session(graph) as sess:
    if values is None:
      perturb_batch_norm(sess)
      values = read_values(sess)
    else:
      assign_values(sess, values)
    numbers = sess.run(fetches)
    del numbers['updates']
    numbers['after_updates'] = read_values(sess)
  return structure, numbers, values


def _assert_numbers_close(ours, ref, mode):
  for key in ('logits', 'loss', 'regularization'):
    assert_close(ours[key], ref[key], what='%s %s' % (mode, key))
  for group in ('gradients', 'after_updates'):
    assert sorted(ours[group]) == sorted(ref[group])
    for name, expected in ref[group].items():
      assert_close(ours[group][name], expected,
                   what='%s %s %s' % (mode, group, name))


@pytest.fixture(scope='module')
def reference_runs(user_modules):
  """tf-slim's structure and numbers per mode, and the weights used."""
  ref_module = user_modules[0]
  _, _, values = run_network(ref_module.user_net, False)
  runs = {}
  for is_training in (False, True):
    runs[is_training] = run_network(ref_module.user_net, is_training,
                                    values)[:2]
  return runs, values


@pytest.mark.parametrize('is_training', [False, True],
                         ids=['inference', 'training'])
def test_same_graph_and_numbers_as_tf_slim(user_modules, reference_runs,
                                           is_training):
  runs, values = reference_runs
  ref_structure, ref_numbers = runs[is_training]
  structure, numbers, _ = run_network(user_modules[1].user_net, is_training,
                                      values)
  # Named one by one for readable failures.
  for key in ref_structure:
    assert structure[key] == ref_structure[key], key
  if is_training:
    assert len(structure['update_ops']) == 2 * 4  # 4 batch norms
    assert structure['moving_averages'] == []  # as tf-slim's batch_norm
  else:
    assert structure['update_ops'] == []
  assert len(structure['regularization_losses']) == 8  # 4 conv, 2 sep, 2 fc
  _assert_numbers_close(numbers, ref_numbers,
                        'training' if is_training else 'inference')
  if is_training:
    # The updates moved the moving averages (and identically).
    moved = [n for n in ref_numbers['after_updates']
             if n.endswith('moving_mean') and
             not np.allclose(ref_numbers['after_updates'][n], values[n])]
    assert len(moved) == 4


# ------------------------------------------------------------ the keys


def _scoped_batch_norm_vars(scope_fn, is_training_key):
  graph = tf.Graph()
  with graph.as_default():
    with scope_fn([is_training_key], is_training=False, scale=True):
      nets_slim.conv2d(tf.zeros([1, 4, 4, 3]), 2, [1, 1],
                       normalizer_fn=nets_slim.batch_norm, scope='c')
    return (graph.get_collection(_KEYS.UPDATE_OPS),
            [v.op.name for v in graph.get_collection(_KEYS.GLOBAL_VARIABLES)])


@pytest.mark.parametrize('key', ['nets_slim', 'tf_slim'])
@pytest.mark.parametrize('scope_fn', ['nets_slim', 'tf_slim'])
def test_batch_norm_arg_scope_keys(key, scope_fn):
  # Either module's arg_scope, keyed by either module's batch_norm.
  keyed = {'nets_slim': nets_slim.batch_norm, 'tf_slim': tf_slim.batch_norm}
  scopes = {'nets_slim': nets_slim.arg_scope, 'tf_slim': tf_slim.arg_scope}
  updates, names = _scoped_batch_norm_vars(scopes[scope_fn], keyed[key])
  assert updates == []  # is_training=False reached it
  assert 'c/BatchNorm/gamma' in names  # scale=True reached it


def test_replacements_answer_to_tf_slim_keys():
  for name in nets_slim.OURS + nets_slim.WRAPPED:
    ours = getattr(nets_slim, name)
    theirs = getattr(tf_slim, name)
    key_fn = tf_slim.arg_scope_func_key
    if name in ('linear', 'relu', 'relu6', 'elu'):
      ours, theirs = ours.func, theirs.func
    assert key_fn(ours) == key_fn(theirs), name
    assert tf_slim.has_arg_scope(ours), name
    assert getattr(nets_slim.layers, name, ours) is getattr(nets_slim, name)
  assert nets_slim.batch_norm is _layers.batch_norm
  assert nets_slim.layers.batch_norm is _layers.batch_norm
  # tf_slim itself is left alone.
  assert tf_slim.batch_norm is not _layers.batch_norm
  assert tf_slim.layers.batch_norm is tf_slim.batch_norm


def test_reexports_tf_slims_namespace():
  public = [n for n in dir(tf_slim) if not n.startswith('_') and
            n not in ('absolute_import', 'division', 'print_function')]
  replaced = set(nets_slim.OURS + nets_slim.WRAPPED + ('layers',))
  for name in public:
    assert hasattr(nets_slim, name), name
    if name not in replaced:
      assert getattr(nets_slim, name) is getattr(tf_slim, name), name
  for name in ('arg_scope', 'add_arg_scope', 'losses', 'regularizers',
               'initializers', 'utils', 'repeat', 'stack',
               'l2_regularizer', 'metrics', 'model_variable'):
    assert getattr(nets_slim, name) is getattr(tf_slim, name), name


# -------------------------------------------------- without tf_keras


_SCRIPT = textwrap.dedent(r'''
    import importlib
    import importlib.abc
    import importlib.util
    import json
    import sys

    class _NoTfKeras(importlib.abc.MetaPathFinder):
      def find_spec(self, fullname, path=None, target=None):
        if fullname == 'tf_keras' or fullname.startswith('tf_keras.'):
          raise ImportError('tf_keras is blocked in this test')
        return None

    sys.meta_path.insert(0, _NoTfKeras())
    sys.modules['tf_keras'] = None

    import numpy as np
    import tensorflow as tf
    import tf_slim

    def identities():
      found = {}
      for prefix, module in (('tf_slim.', tf_slim),
                             ('tf_slim.layers.', tf_slim.layers),
                             ('tf.nn.', tf.nn), ('tf.compat.v1.', tf.compat.v1)):
        for name in dir(module):
          if not name.startswith('_'):
            found[prefix + name] = id(getattr(module, name))
      return found

    before = identities()
    tests_dir, net_path, values_path, out_path = sys.argv[1:5]
    sys.path.insert(0, tests_dir)
    from test_user_slim import run_network, _structure  # the same runner
    spec = importlib.util.spec_from_file_location('user_net_nets', net_path)
    user = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(user)
    values = dict(np.load(values_path))
    report = {'structure': {}, 'changed': []}
    arrays = {}
    for is_training in (False, True):
      structure, numbers, _ = run_network(user.user_net, is_training, values)
      mode = 'training' if is_training else 'inference'
      report['structure'][mode] = structure
      for key in ('logits', 'loss', 'regularization'):
        arrays['%s/%s' % (mode, key)] = numbers[key]
      for group in ('gradients', 'after_updates'):
        for name, value in numbers[group].items():
          arrays['%s/%s/%s' % (mode, group, name)] = value

    # tf-slim's own batch_norm cannot run here: the net used ours.
    try:
      with tf.Graph().as_default():
        tf_slim.batch_norm(tf.zeros([1, 2, 2, 3]))
      report['tf_slim_batch_norm'] = 'ran'
    except ImportError as error:
      report['tf_slim_batch_norm'] = 'ImportError'

    # normalizer_fn given as tf-slim's batch_norm, in ours and in a wrapped
    # tf-slim layer (rank 2: tf-slim's would fail even with tf_keras).
    from nets import slim
    with tf.Graph().as_default() as graph:
      x = slim.conv2d(tf.zeros([2, 4, 4, 3]), 4, [3, 3],
                      normalizer_fn=tf_slim.batch_norm, scope='conv')
      with slim.arg_scope([slim.fully_connected],
                          normalizer_fn=tf_slim.batch_norm):
        y = slim.fully_connected(slim.flatten(x), 3, scope='fc')
      z = slim.conv2d_transpose(x, 2, [3, 3], stride=2,
                                normalizer_fn=tf_slim.batch_norm,
                                scope='deconv')
      report['normalizer_vars'] = sorted(
          v.op.name for v in graph.get_collection('variables')
          if 'BatchNorm' in v.op.name)
      report['normalizer_shapes'] = [y.shape.as_list(), z.shape.as_list()]

    after = identities()
    report['changed'] = sorted(k for k in before if after.get(k) != before[k])
    report['tf_keras_modules'] = sorted(
        m for m in sys.modules if (m == 'tf_keras' or
                                   m.startswith('tf_keras.')) and
        sys.modules[m] is not None)
    np.savez(out_path, **arrays)
    print('@@RESULT@@' + json.dumps(report))
''')


def test_runs_without_tf_keras(user_modules, reference_runs, tmp_path):
  runs, values = reference_runs
  values_path = str(tmp_path / 'values.npz')
  out_path = str(tmp_path / 'numbers.npz')
  np.savez(values_path, **values)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONPATH=_ROOT)
  completed = subprocess.run(
      [sys.executable, '-c', _SCRIPT, _TESTS, user_modules[2], values_path,
       out_path], cwd=_ROOT, env=env, capture_output=True, text=True,
      timeout=600, check=False)
  assert completed.returncode == 0, completed.stderr[-4000:]
  line = [l for l in completed.stdout.splitlines()
          if l.startswith('@@RESULT@@')]
  assert line, completed.stdout[-2000:] + completed.stderr[-2000:]
  report = json.loads(line[-1][len('@@RESULT@@'):])

  assert report['tf_keras_modules'] == []
  assert report['tf_slim_batch_norm'] == 'ImportError'
  assert report['changed'] == []  # nothing patched
  arrays = np.load(out_path)
  for is_training in (False, True):
    mode = 'training' if is_training else 'inference'
    ref_structure, ref_numbers = runs[is_training]
    structure = report['structure'][mode]
    for key in ref_structure:
      # JSON turns tuples into lists, as _structure already has them.
      assert structure[key] == ref_structure[key], (mode, key)
    numbers = {key: arrays['%s/%s' % (mode, key)]
               for key in ('logits', 'loss', 'regularization')}
    for group in ('gradients', 'after_updates'):
      numbers[group] = {name: arrays['%s/%s/%s' % (mode, group, name)]
                        for name in ref_numbers[group]}
    _assert_numbers_close(numbers, ref_numbers, mode)
  assert report['normalizer_vars'] == [
      'conv/BatchNorm/beta', 'conv/BatchNorm/moving_mean',
      'conv/BatchNorm/moving_variance', 'deconv/BatchNorm/beta',
      'deconv/BatchNorm/moving_mean', 'deconv/BatchNorm/moving_variance',
      'fc/BatchNorm/beta', 'fc/BatchNorm/moving_mean',
      'fc/BatchNorm/moving_variance']
  assert report['normalizer_shapes'] == [[2, 3], [2, 8, 8, 2]]
