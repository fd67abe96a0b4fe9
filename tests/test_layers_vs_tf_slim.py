"""`nets._layers.fully_connected`, `flatten`, `group_norm` and unfused
batch_norm against tf-slim's own.

The zoo's classifier heads (cifarnet, lenet, NASNet) and users' networks
(`from nets import slim`) build them; they must create tf-slim's variables
and regularization losses and compute its numbers (within 1e-5 relative),
and refuse bad inputs in one line naming the layer. `batch_norm(...,
fused=False)` (the I3D / S3D-G arg scopes) must move its statistics as
tf-slim's layer path does.
"""

import numpy as np
import pytest
import tensorflow as tf

import reference
from conftest import assert_close
from conftest import new_session
from nets import _layers


def _tf_slim():
  reference.enable_tf_slim_layers()
  import tf_slim  # pylint: disable=import-outside-toplevel
  return tf_slim


@pytest.mark.parametrize('shape', [(3, 2, 5), (4, 6)])
def test_fully_connected_matches_tf_slim(shape):
  slim = _tf_slim()
  values = np.random.RandomState(0).randn(*shape).astype(np.float32)
  graph = tf.Graph()
  with graph.as_default():
    regularizer = slim.l2_regularizer(0.25)
    theirs = slim.fully_connected(values, 7, weights_regularizer=regularizer,
                                  biases_initializer=tf.compat.v1.
                                  random_normal_initializer(), scope='fc')
    losses_before = len(tf.compat.v1.losses.get_regularization_losses())
    ours = _layers.fully_connected(values, 7, weights_regularizer=regularizer,
                                   scope='fc', reuse=True)
    names = [v.op.name for v in tf.compat.v1.global_variables()]
    model_names = [v.op.name for v in tf.compat.v1.model_variables()]
    losses = tf.compat.v1.losses.get_regularization_losses()
  assert names == ['fc/weights', 'fc/biases'] == model_names
  assert len(losses) == losses_before == 1
  assert ours.shape.as_list() == list(shape[:-1]) + [7]
  with new_session(graph) as sess:
    sess.run(tf.compat.v1.global_variables_initializer())
    ours_value, theirs_value = sess.run([ours, theirs])
  assert_close(ours_value, theirs_value, what='fully_connected')


def test_fully_connected_names_loss_and_output_as_tf_slim():
  # tf-slim's batch_norm dies on rank 2 under TF 2.21: both take ours.
  slim = _tf_slim()
  graphs = []
  for layer in (slim.fully_connected, _layers.fully_connected):
    graph = tf.Graph()
    with graph.as_default():
      collection = 'outputs'
      with tf.compat.v1.variable_scope('net'):
        net = layer(tf.zeros([2, 3]), 4, outputs_collections=collection,
                    normalizer_fn=_layers.batch_norm,
                    weights_regularizer=slim.l2_regularizer(1.0))
      aliases = [t.aliases for t in tf.compat.v1.get_collection(collection)]
      graphs.append(([v.op.name for v in tf.compat.v1.global_variables()],
                     [l.op.name for l in
                      tf.compat.v1.losses.get_regularization_losses()],
                     aliases, net.shape.as_list()))
  assert graphs[0] == graphs[1]
  assert graphs[1][0][0] == 'net/fully_connected/weights'


def test_flatten_keeps_the_batch_axis():
  graph = tf.Graph()
  with graph.as_default():
    known = _layers.flatten(tf.zeros([2, 3, 4, 5]))
    images = tf.compat.v1.placeholder(tf.float32, [None, None, 4])
    unknown = _layers.flatten(images)
  assert known.shape.as_list() == [2, 60]
  assert unknown.shape.as_list() == [None, None]
  with new_session(graph) as sess:
    value = sess.run(unknown, {images: np.ones([3, 2, 4], np.float32)})
  assert value.shape == (3, 8)


@pytest.mark.parametrize('layer, shape, num_outputs, message', [
    (_layers.fully_connected, [3], 4, 'rank 2 or more'),
    (_layers.fully_connected, [2, 3], 0, 'num_outputs must be a positive int'),
    (_layers.flatten, [3], None, 'rank 2 or more'),
])
def test_bad_input_is_one_line(layer, shape, num_outputs, message):
  with tf.Graph().as_default():
    args = (tf.zeros(shape),) + (() if num_outputs is None else
                                 (num_outputs,))
    with pytest.raises(ValueError, match=message) as error:
      layer(*args)
  assert '\n' not in str(error.value)


def test_unknown_features_are_refused_by_name():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='fully_connected fc: .*unknown last'):
      _layers.fully_connected(
          tf.compat.v1.placeholder(tf.float32, [None, None]), 4, scope='fc')


def test_unfused_batch_norm_moves_as_tf_slim():
  # tf-slim's fused=False path updates the moving variance with the biased
  # batch variance, its fused kernel with the unbiased one.
  slim = _tf_slim()
  values = np.random.RandomState(1).randn(2, 3, 3, 4).astype(np.float32) * 3
  moving = {}
  for fused in (False, None):
    for name, layer in (('tf_slim', slim.batch_norm),
                        ('ours', _layers.batch_norm)):
      graph = tf.Graph()
      with graph.as_default():
        output = layer(values, decay=0.5, fused=fused, is_training=True,
                       scope='bn')
        updates = tf.compat.v1.get_collection(
            tf.compat.v1.GraphKeys.UPDATE_OPS)
        variance, = [v for v in tf.compat.v1.global_variables()
                     if v.op.name == 'bn/moving_variance']
      with new_session(graph) as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        sess.run([output, updates])
        moving[(fused, name)] = sess.run(variance)
  for fused in (False, None):
    assert_close(moving[(fused, 'ours')], moving[(fused, 'tf_slim')],
                 what='moving_variance, fused=%s' % fused)
  biased = 0.5 + 0.5 * values.reshape(-1, 4).var(axis=0)
  assert_close(moving[(False, 'ours')], biased, what='biased variance')
  assert not np.allclose(moving[(None, 'ours')], biased)


@pytest.mark.parametrize('shape, groups, kwargs', [
    ((2, 5, 4, 16), 8, {}),
    ((2, 5, 4, 12), 3, {'mean_close_to_zero': True, 'epsilon': 1e-3}),
    ((2, 8, 5, 3), 4, {'channels_axis': 1, 'reduction_axes': (2, 3)}),
])
def test_group_norm_matches_tf_slim(shape, groups, kwargs):
  # MobileNet's group-norm variants build it (mobilenet_base_group_norm).
  slim = _tf_slim()
  values = np.random.RandomState(2).randn(*shape).astype(np.float32) * 2 + 1
  graph = tf.Graph()
  with graph.as_default():
    gamma = tf.compat.v1.random_uniform_initializer(0.5, 1.5)
    beta = tf.compat.v1.random_normal_initializer()
    theirs = slim.group_norm(
        values, groups, param_initializers={'gamma': gamma, 'beta': beta},
        scope='gn', **kwargs)
    ours = _layers.group_norm(values, groups, scope='gn', reuse=True,
                              **kwargs)
    names = sorted(v.op.name for v in tf.compat.v1.global_variables())
  assert names == ['gn/beta', 'gn/gamma']
  with new_session(graph) as sess:
    sess.run(tf.compat.v1.global_variables_initializer())
    ours_value, theirs_value = sess.run([ours, theirs])
  assert_close(ours_value, theirs_value, what='group_norm')


def test_group_norm_refuses_groups_that_do_not_divide_the_channels():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='groups') as raised:
      _layers.group_norm(tf.zeros([1, 4, 4, 10]), groups=4)
  assert '\n' not in str(raised.value)
