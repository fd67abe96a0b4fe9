"""Tests of nets._layers_3d (conv3d, max_pool3d, avg_pool3d) and of
nets._layers.batch_norm on video tensors.

Each layer is checked against the same computation written with TensorFlow's
own ops (`tf.nn.conv3d`, `tf.nn.max_pool3d`, `tf.nn.avg_pool3d`,
`tf.nn.moments`) on the layer's own variables, and against tf-slim 1.1.0's
layers (run through tests/reference.py) for the variable names, collections
and regularization-loss names that checkpoints and training code rely on.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import assert_close, new_session
from nets import _layers
from nets import _layers_3d

_CLIP = (2, 4, 6, 6, 3)  # [batch, time, height, width, channels]


def _clip(shape=_CLIP, seed=0):
  return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


def _variables(graph, collection=tf.compat.v1.GraphKeys.GLOBAL_VARIABLES):
  return {v.op.name: v.shape.as_list()
          for v in graph.get_collection(collection)}


def _var(graph, name):
  """The global variable of `graph` named `name` (its value when read)."""
  by_name = {v.op.name: v for v in graph.get_collection(
      tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
  return by_name[name]


def _run(graph, fetches, feed=None):
  with new_session(graph) as sess:
    return sess.run(fetches, feed)


@pytest.mark.parametrize('stride, padding', [(1, 'SAME'), ([1, 2, 2], 'SAME'),
                                             (2, 'VALID')])
def test_conv3d_is_tf_nn_conv3d_plus_biases_and_relu(stride, padding):
  graph = tf.Graph()
  with graph.as_default():
    x = tf.constant(_clip())
    net = _layers_3d.conv3d(
        x, 5, [3, 3, 3], stride=stride, padding=padding,
        biases_initializer=tf.compat.v1.random_normal_initializer(),
        scope='Conv')
    weights = _var(graph, 'Conv/weights')
    biases = _var(graph, 'Conv/biases')
    strides = [1] + (list(stride) if isinstance(stride, list) else
                     [stride] * 3) + [1]
    expected = tf.nn.relu(
        tf.nn.conv3d(x, weights, strides, padding) + biases)
  ours, ref = _run(graph, [net, expected])
  assert_close(ours, ref, what='conv3d')
  assert _variables(graph) == {'Conv/weights': [3, 3, 3, 3, 5],
                               'Conv/biases': [5]}


def test_conv3d_dilated_equals_a_conv_with_a_spread_kernel():
  graph = tf.Graph()
  with graph.as_default():
    x = tf.constant(_clip((1, 6, 7, 7, 2)))
    net = _layers_3d.conv3d(x, 3, [2, 3, 3], rate=[1, 2, 2],
                            activation_fn=None, scope='Atrous')
    weights = _var(graph, 'Atrous/weights')
  with new_session(graph) as sess:
    ours, kernel = sess.run([net, weights])
  # The dilated kernel written out with zeros between the taps.
  spread = np.zeros([2, 5, 5, 2, 3], np.float32)
  spread[:, ::2, ::2] = kernel
  with tf.Graph().as_default():
    ref = tf.compat.v1.Session().run(
        tf.nn.conv3d(_clip((1, 6, 7, 7, 2)), spread, [1] * 5, 'SAME'))
  assert_close(ours, ref, what='dilated conv3d')


def test_conv3d_with_batch_norm_normalizes_with_batch_moments():
  graph = tf.Graph()
  with graph.as_default():
    x = tf.constant(_clip() * 3 + 1)
    net = _layers_3d.conv3d(
        x, 4, [1, 3, 3], normalizer_fn=slim.batch_norm,  # tf-slim's key
        normalizer_params={'scale': True, 'epsilon': 1e-3}, scope='Conv')
    weights = _var(graph, 'Conv/weights')
    conv = tf.nn.conv3d(x, weights, [1] * 5, 'SAME')
    mean, variance = tf.nn.moments(conv, [0, 1, 2, 3])
    expected = tf.nn.relu((conv - mean) / tf.sqrt(variance + 1e-3))
  ours, ref = _run(graph, [net, expected])
  assert_close(ours, ref, what='conv3d + batch_norm')
  # No biases with a normalizer; batch norm's variables inside the conv.
  assert sorted(_variables(graph)) == [
      'Conv/BatchNorm/beta', 'Conv/BatchNorm/gamma',
      'Conv/BatchNorm/moving_mean', 'Conv/BatchNorm/moving_variance',
      'Conv/weights']
  assert len(graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)) == 2


def test_batch_norm_on_clips_training_and_inference():
  value = _clip((2, 3, 4, 5, 6)) * 2 + 0.5
  graph = tf.Graph()
  with graph.as_default():
    x = tf.constant(value)
    train = _layers.batch_norm(x, scale=True, decay=0.5, is_training=True,
                               updates_collections=None, scope='BN')
    infer = _layers.batch_norm(x, scale=True, is_training=False, scope='BN',
                               reuse=True)
    mean, variance = tf.nn.moments(x, [0, 1, 2, 3])
    expected_train = (x - mean) / tf.sqrt(variance + 0.001)
    moving_mean = _var(graph, 'BN/moving_mean')
    moving_variance = _var(graph, 'BN/moving_variance')
  with new_session(graph) as sess:
    ours, ref = sess.run([train, expected_train])
    assert_close(ours, ref, what='batch_norm training')
    # Updated in place (updates_collections=None): halfway to the batch
    # statistics (decay 0.5), the variance with Bessel's correction as the
    # fused kernel gives it.
    n = value.size // 6
    assert_close(sess.run(moving_mean), 0.5 * value.reshape(-1, 6).mean(0),
                 what='moving_mean')
    assert_close(sess.run(moving_variance),
                 0.5 + 0.5 * value.reshape(-1, 6).var(0) * n / (n - 1),
                 what='moving_variance')
    stats = sess.run([moving_mean, moving_variance])
    assert_close(sess.run(infer),
                 (value - stats[0]) / np.sqrt(stats[1] + 0.001),
                 what='batch_norm inference')


def test_batch_norm_ncdhw_normalizes_axis_1():
  value = _clip((2, 3, 4, 5, 6))
  graph = tf.Graph()
  with graph.as_default():
    nhwc = _layers.batch_norm(tf.constant(value), scope='A')
    nchw = _layers.batch_norm(tf.constant(value.transpose(0, 4, 1, 2, 3)),
                              data_format='NCHW', scope='B')
  ours_nhwc, ours_nchw = _run(graph, [nhwc, nchw])
  assert_close(ours_nchw.transpose(0, 2, 3, 4, 1), ours_nhwc,
               what='NCDHW batch_norm')
  assert _variables(graph)['B/beta'] == [6]


@pytest.mark.parametrize('layer, reference, default_scope', [
    (_layers_3d.max_pool3d, tf.nn.max_pool3d, 'MaxPool3D'),
    (_layers_3d.avg_pool3d, tf.nn.avg_pool3d, 'AvgPool3D'),
])
@pytest.mark.parametrize('kernel, stride, padding', [
    ([1, 3, 3], [1, 2, 2], 'SAME'), ([3, 3, 3], 1, 'SAME'), (2, 2, 'VALID')])
def test_pools_are_tf_nn_pools(layer, reference, default_scope, kernel, stride,
                               padding):
  value = _clip((2, 5, 7, 7, 3))
  full = lambda v: [1] + (list(v) if isinstance(v, list) else [v] * 3) + [1]
  graph = tf.Graph()
  with graph.as_default():
    net = layer(tf.constant(value), kernel, stride=stride, padding=padding,
                outputs_collections='pools')
    expected = reference(value, full(kernel), full(stride), padding)
    ncdhw = layer(tf.constant(value.transpose(0, 4, 1, 2, 3)), kernel,
                  stride=stride, padding=padding, data_format='NCDHW')
  ours, ref, ours_ncdhw = _run(graph, [net, expected, ncdhw])
  assert_close(ours, ref, what=default_scope)
  assert_close(ours_ncdhw.transpose(0, 2, 3, 4, 1), ref,
               what=default_scope + ' NCDHW')
  # Collected under its name scope, as tf-slim's pools.
  assert [t.aliases for t in graph.get_collection('pools')] == [
      [default_scope]]


def test_pools_default_to_stride_2_valid():
  with tf.Graph().as_default():
    x = tf.zeros([1, 5, 9, 9, 2])
    assert _layers_3d.max_pool3d(x, 2).shape.as_list() == [1, 2, 4, 4, 2]
    assert _layers_3d.avg_pool3d(x, [1, 3, 3]).shape.as_list() == [
        1, 3, 4, 4, 2]


def test_arg_scopes_keyed_on_tf_slim_layers_reach_ours():
  graph = tf.Graph()
  with graph.as_default():
    with slim.arg_scope([slim.conv3d],
                        weights_regularizer=slim.l2_regularizer(0.1),
                        activation_fn=None, biases_initializer=None):
      with slim.arg_scope([slim.max_pool3d], padding='SAME', stride=1):
        net = _layers_3d.max_pool3d(tf.zeros([1, 3, 5, 5, 2]), 3)
        net = _layers_3d.conv3d(net, 4, [1, 1, 1], scope='Conv')
    assert net.op.type == 'Conv3D'  # linear, no biases
    assert net.shape.as_list() == [1, 3, 5, 5, 4]
  assert list(_variables(graph)) == ['Conv/weights']
  losses = graph.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
  assert len(losses) == 1


def test_same_variables_collections_and_losses_as_tf_slim_conv3d():
  import reference  # pylint: disable=import-outside-toplevel
  reference.enable_tf_slim_layers()
  value = _clip()
  built = {}
  for name, conv in (('ours', _layers_3d.conv3d), ('tf_slim', slim.conv3d)):
    graph = tf.Graph()
    with graph.as_default():
      net = conv(tf.constant(value), 4, [3, 1, 1], stride=[2, 1, 1],
                 weights_regularizer=slim.l2_regularizer(0.5),
                 biases_regularizer=slim.l2_regularizer(0.25),
                 variables_collections={'weights': ['w'], 'biases': ['b']},
                 outputs_collections='out', scope='Block/Conv')
      keys = tf.compat.v1.GraphKeys
      built[name] = dict(
          graph=graph, net=net,
          collections={c: [v.op.name for v in graph.get_collection(c)]
                       for c in (keys.GLOBAL_VARIABLES, keys.MODEL_VARIABLES,
                                 keys.TRAINABLE_VARIABLES, 'w', 'b')},
          losses=sorted(l.op.name for l in graph.get_collection(
              keys.REGULARIZATION_LOSSES)),
          aliases=[t.aliases for t in graph.get_collection('out')])
  ours, theirs = built['ours'], built['tf_slim']
  assert ours['collections'] == theirs['collections']
  assert ours['losses'] == theirs['losses']
  assert ours['aliases'] == theirs['aliases'] == [['Block/Conv']]
  # Same numbers with tf-slim's variables copied over.
  global_variables = tf.compat.v1.GraphKeys.GLOBAL_VARIABLES
  with new_session(theirs['graph']) as sess:
    values = {v.op.name: sess.run(v) for v in
              theirs['graph'].get_collection(global_variables)}
    expected = sess.run(theirs['net'])
  with new_session(ours['graph']) as sess:
    for v in ours['graph'].get_collection(global_variables):
      v.load(values[v.op.name], sess)
    assert_close(sess.run(ours['net']), expected, what='vs tf-slim conv3d')


@pytest.mark.parametrize('call, message', [
    (lambda: _layers_3d.conv3d(tf.zeros([1, 8, 8, 3]), 4, 3),
     r'conv3d Conv: inputs must be a rank-5 tensor \[batch, time, height, '
     r'width, channels\].*got rank 4'),
    (lambda: _layers_3d.max_pool3d(tf.zeros([1, 8, 8, 3]), 2),
     r'max_pool3d: inputs must be a rank-5 tensor.*got rank 4'),
    (lambda: _layers_3d.conv3d(tf.zeros([1, 4, 8, 8, 3]), 4, [3, 3]),
     r'conv3d kernel_size must be an int or a list of 3 ints'),
    (lambda: _layers_3d.conv3d(tf.zeros([1, 4, 8, 8, 3]), 4, 3, stride=2,
                               rate=2),
     r'stride 2 > 1 cannot be combined with rate 2'),
    (lambda: _layers_3d.avg_pool3d(tf.zeros([1, 4, 8, 8, 3]), 2,
                                   data_format='NHWC'),
     r"avg_pool3d: data_format must be 'NDHWC' or 'NCDHW', got 'NHWC'"),
    (lambda: _layers_3d.conv3d(tf.zeros([1, 4, 8, 8, 3]), -3, 3),
     r'num_outputs must be a positive int, got -3'),
])
def test_bad_arguments_raise_one_clear_line(call, message):
  with tf.Graph().as_default():
    with pytest.raises((ValueError, TypeError), match=message) as info:
      call()
  assert '\n' not in str(info.value)
