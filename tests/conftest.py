"""Shared helpers for the slimnets tests.

Every network is built in its own `tf.Graph` (graph mode, as TF-Slim users
run it) and evaluated in a `tf.compat.v1.Session` on that graph. The reference
implementation is tf-slim 1.1.0's own `tf_slim.nets` (see `reference.py`).

Typical use:

   from conftest import build_in_graph, copy_variables, create_test_input

   ours = build_in_graph(resnet_v2.resnet_v2_50, [2, 64, 64, 3],
                         arg_scope=resnet_v2.resnet_arg_scope(),
                         num_classes=10)
"""

import collections
import os
import pathlib
import shutil
import sys
import tempfile

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
_ROOT_DIR = os.path.dirname(_TESTS_DIR)
for _path in (_ROOT_DIR, _TESTS_DIR):
  if _path not in sys.path:
    sys.path.insert(0, _path)

_BN_PARAMETERS = ('gamma', 'beta', 'moving_mean', 'moving_variance')


def command_env(**overrides):
  """The environment for running `python -m slimnets` in a subprocess.

  The repository goes first on PYTHONPATH. TF_CPP_MIN_LOG_LEVEL is dropped:
  the entry point decides TensorFlow's log level when the user has not, and
  the tests check that decision, not whatever this process inherited.
  `overrides` are set last (a value of None removes the variable).
  """
  env = dict(os.environ)
  env.pop('TF_CPP_MIN_LOG_LEVEL', None)
  env['PYTHONPATH'] = os.pathsep.join(
      [_ROOT_DIR] + [p for p in [env.get('PYTHONPATH')] if p])
  for name, value in overrides.items():
    if value is None:
      env.pop(name, None)
    else:
      env[name] = value
  return env


def create_test_input(batch_size, height, width, channels):
  """The input of slim's ResNet tests.

  Args:
    batch_size: images per batch, or None if unknown.
    height: image height, or None if unknown.
    width: image width, or None if unknown.
    channels: channels per image, or None if unknown.

  Returns:
    A float32 placeholder of that shape when any dimension is None, else a
    constant tensor whose value at (y, x) is y + x in every channel.
  """
  if None in (batch_size, height, width, channels):
    return tf.compat.v1.placeholder(tf.float32,
                                    (batch_size, height, width, channels))
  return tf.constant(mesh_input_value(batch_size, height, width, channels))


def mesh_input_value(batch_size, height, width, channels):
  """The numpy value of `create_test_input` for known dimensions."""
  grid = np.arange(height).reshape([height, 1]) + np.arange(width).reshape(
      [1, width])
  return np.tile(grid.reshape([1, height, width, 1]),
                 [batch_size, 1, 1, channels]).astype(np.float32)


Built = collections.namedtuple('Built',
                               ['graph', 'inputs', 'net', 'end_points'])


def build_in_graph(model_fn, input_shape, arg_scope=None, seed=None,
                   **kwargs):
  """Builds `model_fn` on a float32 placeholder in a fresh `tf.Graph`.

  Args:
    model_fn: called as `model_fn(inputs, **kwargs)`, returning
      `(net, end_points)`.
    input_shape: the placeholder's shape (None for unknown dimensions), or
      None for an unknown-rank placeholder.
    arg_scope: an arg scope (the dict a `*_arg_scope()` function returns)
      applied around the call, or None.
    seed: graph-level random seed, or None.
    **kwargs: passed to `model_fn`.

  Returns:
    A `Built(graph, inputs, net, end_points)`.
  """
  graph = tf.Graph()
  with graph.as_default():
    if seed is not None:
      tf.compat.v1.set_random_seed(seed)
    inputs = tf.compat.v1.placeholder(tf.float32, input_shape, name='inputs')
    with slim.arg_scope(arg_scope or {}):
      net, end_points = model_fn(inputs, **kwargs)
  return Built(graph, inputs, net, end_points)


def global_variables(graph):
  """GLOBAL_VARIABLES of `graph`, in creation order."""
  return graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)


def session_config():
  """A session config without graph rewriting.

  Grappler's passes cost seconds per new fetch set on a ResNet-200 graph and
  never change what the graph computes, so the tests skip them.
  """
  config = tf.compat.v1.ConfigProto()
  config.graph_options.optimizer_options.opt_level = (
      tf.compat.v1.OptimizerOptions.L0)
  config.graph_options.rewrite_options.disable_meta_optimizer = True
  return config


def new_session(graph):
  """A session on `graph` with its global variables initialized."""
  with graph.as_default():
    init = tf.compat.v1.global_variables_initializer()
  sess = tf.compat.v1.Session(graph=graph, config=session_config())
  sess.run(init)
  return sess


def assign_values(sess, values):
  """Sets variables of `sess.graph` from a dict name -> numpy value.

  Feeds each variable's initial value into its initializer, so no op is added
  to the graph.

  Raises:
    KeyError: if a name is not a global variable of the graph.
  """
  by_name = {v.op.name: v for v in global_variables(sess.graph)}
  feed = {}
  initializers = []
  for name, value in values.items():
    variable = by_name[name]
    initializers.append(variable.initializer)
    feed[variable.initializer.inputs[1]] = value
  sess.run(initializers, feed_dict=feed)


def read_values(sess):
  """The values of the global variables of `sess.graph`, by name."""
  variables = global_variables(sess.graph)
  return dict(zip([v.op.name for v in variables], sess.run(variables)))


def copy_variables(src_sess, dst_sess):
  """Copies every global variable of `src_sess` into `dst_sess` by name.

  Both graphs must hold exactly the same variable names.
  """
  values = read_values(src_sess)
  dst_names = {v.op.name for v in global_variables(dst_sess.graph)}
  assert dst_names == set(values), (
      'variable names differ: only in source %s, only in destination %s' %
      (sorted(set(values) - dst_names)[:5], sorted(dst_names - set(values))[:5]))
  assign_values(dst_sess, values)


def perturb_batch_norm(sess, seed=0, gamma_range=(0.5, 1.5)):
  """Gives every batch norm parameter of `sess.graph` random values.

  Fresh batch norm is the identity in inference (gamma 1, beta 0, mean 0,
  variance 1); random values make it matter, so comparisons test it.

  Args:
    sess: a session on the graph.
    seed: numpy random seed.
    gamma_range: (low, high) of the uniform gammas; below 1 keeps the
      activations of very deep inference-mode networks (ResNet-200) finite.
  """
  rng = np.random.RandomState(seed)
  values = {}
  for variable in global_variables(sess.graph):
    name = variable.op.name
    kind = name.rsplit('/', 1)[-1]
    if kind not in _BN_PARAMETERS:
      continue
    shape = variable.shape.as_list()
    if kind == 'gamma':
      values[name] = rng.uniform(gamma_range[0], gamma_range[1],
                                 shape).astype(np.float32)
    elif kind == 'moving_variance':
      values[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    else:
      values[name] = rng.normal(0.0, 0.2, shape).astype(np.float32)
  assign_values(sess, values)


def assert_nchw_refused():
  """Where this machine cannot run NCHW (no GPU, CPU without oneDNN), the
  layout scope refuses it in one line that says how to turn oneDNN on."""
  from nets import runtime  # pylint: disable=import-outside-toplevel
  assert not runtime.features()['nchw']
  with pytest.raises(ValueError, match='NCHW') as error:
    with runtime.data_format_scope('NCHW'):
      pass
  assert 'TF_ENABLE_ONEDNN_OPTS=1' in str(error.value)
  assert '\n' not in str(error.value)


def max_abs_diff_ok(actual, expected, rel=1e-5):
  """Whether max|actual - expected| <= rel * max(1, max|expected|)."""
  actual = np.asarray(actual)
  expected = np.asarray(expected)
  if actual.shape != expected.shape:
    return False
  if expected.size == 0:
    return True
  scale = max(1.0, float(np.max(np.abs(expected))))
  return float(np.max(np.abs(actual - expected))) <= rel * scale


def assert_close(actual, expected, rel=1e-5, what='value'):
  """Asserts max|actual - expected| <= rel * max(1, max|expected|)."""
  actual = np.asarray(actual)
  expected = np.asarray(expected)
  assert actual.shape == expected.shape, (
      '%s: shape %s != %s' % (what, actual.shape, expected.shape))
  if expected.size == 0:
    return
  scale = max(1.0, float(np.max(np.abs(expected))))
  diff = float(np.max(np.abs(actual - expected)))
  assert diff <= rel * scale, (
      '%s: max abs diff %g > %g (= %g * max(1, max|ref| = %g))' %
      (what, diff, rel * scale, rel, scale))


@pytest.fixture(scope='session')
def slim_reference():
  """tf-slim's (resnet_v1, resnet_v2, resnet_utils), runnable on TF 2.21."""
  import reference  # pylint: disable=import-outside-toplevel
  return reference.slim_nets()


class _ModuleTempFactory:
  """`tmp_path_factory.mktemp` under one folder that belongs to a test module."""

  def __init__(self, root):
    self._root = root

  def mktemp(self, name):
    """A new empty folder named after `name`; returns its pathlib.Path."""
    return pathlib.Path(tempfile.mkdtemp(prefix=name, dir=self._root))


@pytest.fixture(scope='module')
def module_tmp_factory(request, tmp_path_factory):
  """Like `tmp_path_factory`, but its folders are deleted when the module ends.

  Conversion fixtures write whole-model weights (100-300 MB per file), and
  pytest keeps `tmp_path_factory` folders until the session ends: over the
  whole suite that is tens of GB, more than a CI disk may have free.
  """
  root = tmp_path_factory.mktemp(request.module.__name__.rsplit('.', 1)[-1])
  yield _ModuleTempFactory(root)
  shutil.rmtree(root, ignore_errors=True)


def legacy_bilinear(image, out_h, out_w):
  """TF1 resize_bilinear, align_corners=False: source = dest * in / out."""
  in_h, in_w = image.shape[:2]
  image = image.astype(np.float64)

  def axis(n_in, n_out):
    pos = np.arange(n_out) * (n_in / n_out)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, pos - lo

  y0, y1, fy = axis(in_h, out_h)
  x0, x1, fx = axis(in_w, out_w)
  top = (image[y0][:, x0] * (1 - fx)[None, :, None] +
         image[y0][:, x1] * fx[None, :, None])
  bottom = (image[y1][:, x0] * (1 - fx)[None, :, None] +
            image[y1][:, x1] * fx[None, :, None])
  return top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]
