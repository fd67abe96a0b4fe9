"""Tests of nets.inception_v4.

No framework ships Inception-v4 as a reference here (neither tf-slim 1.1.0
nor Keras), so each block type, and then the whole network with both heads,
is written out again below in plain `tf.nn` ops from Fig. 3-9 of [1] and
run on the variable values of our graph. Names, counts and shapes follow
slim's checkpoint `inception_v4_2016_09_09.ckpt`; parameter count and
multiply-adds are timm's for the same network (its port of that
checkpoint).

[1] Szegedy, Ioffe, Vanhoucke, Alemi. Inception-v4, Inception-ResNet and the
    Impact of Residual Connections on Learning. arXiv:1602.07261
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import (assert_close, build_in_graph, global_variables,
                      new_session, perturb_batch_norm, read_values)
from nets import _layers
from nets import inception_utils
from nets import inception_v4
from nets import registry
from slimnets import cli

_KEYS = tf.compat.v1.GraphKeys
_EPSILON = 0.001  # inception_arg_scope's batch norm epsilon.
_STEM = ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'Mixed_3a',
         'Mixed_4a', 'Mixed_5a']
_BLOCKS = (_STEM + ['Mixed_5' + c for c in 'bcde'] + ['Mixed_6a'] +
           ['Mixed_6' + c for c in 'bcdefgh'] + ['Mixed_7a'] +
           ['Mixed_7' + c for c in 'bcd'])


def _images(shape, seed=0):
  return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


def _param_count(graph, collection=_KEYS.TRAINABLE_VARIABLES):
  return sum(int(np.prod(v.shape.as_list()))
             for v in graph.get_collection(collection))


class _Reference:
  """Conv + batch norm (inference) + ReLU and the pools, in plain tf.nn."""

  def __init__(self, values):
    self._values = values

  def conv(self, x, name, stride=1, padding='SAME'):
    weights = self._values[name + '/weights']
    y = tf.nn.conv2d(x, weights, stride, padding)
    mean = self._values[name + '/BatchNorm/moving_mean']
    variance = self._values[name + '/BatchNorm/moving_variance']
    beta = self._values[name + '/BatchNorm/beta']
    return tf.nn.relu((y - mean) / np.sqrt(variance + _EPSILON) + beta)

  def chain(self, x, prefix, names):
    """Convs one after the other; a name may be (name, stride, padding)."""
    for name in names:
      name, stride, padding = (name, 1, 'SAME') if isinstance(
          name, str) else name
      x = self.conv(x, prefix + name, stride, padding)
    return x

  def fc(self, x, name):
    return tf.matmul(x, self._values[name + '/weights']) + self._values[
        name + '/biases']


def _avg3(x):
  # slim's SAME average pool, like TensorFlow's, leaves the padding out.
  return tf.nn.avg_pool2d(x, 3, 1, 'SAME')


def _max3s2(x):
  return tf.nn.max_pool2d(x, 3, 2, 'VALID')


_V2 = ('Conv2d_1a_3x3', 2, 'VALID')  # The reductions' strided 3x3 convs.


def _stem(r, x, s):
  x = r.conv(x, s + 'Conv2d_1a_3x3', 2, 'VALID')
  x = r.conv(x, s + 'Conv2d_2a_3x3', 1, 'VALID')
  x = r.conv(x, s + 'Conv2d_2b_3x3')
  out = {'Conv2d_2b_3x3': x}
  m = s + 'Mixed_3a/'
  x = tf.concat([_max3s2(x),
                 r.conv(x, m + 'Branch_1/Conv2d_0a_3x3', 2, 'VALID')], 3)
  out['Mixed_3a'] = x
  m = s + 'Mixed_4a/'
  valid3 = ('Conv2d_1a_3x3', 1, 'VALID')
  x = tf.concat([
      r.chain(x, m + 'Branch_0/', ['Conv2d_0a_1x1', valid3]),
      r.chain(x, m + 'Branch_1/',
              ['Conv2d_0a_1x1', 'Conv2d_0b_1x7', 'Conv2d_0c_7x1', valid3])
  ], 3)
  out['Mixed_4a'] = x
  m = s + 'Mixed_5a/'
  out['Mixed_5a'] = tf.concat(
      [r.chain(x, m + 'Branch_0/', [_V2]), _max3s2(x)], 3)
  return out


def _inception_a(r, x, s):
  return tf.concat([
      r.conv(x, s + 'Branch_0/Conv2d_0a_1x1'),
      r.chain(x, s + 'Branch_1/', ['Conv2d_0a_1x1', 'Conv2d_0b_3x3']),
      r.chain(x, s + 'Branch_2/',
              ['Conv2d_0a_1x1', 'Conv2d_0b_3x3', 'Conv2d_0c_3x3']),
      r.conv(_avg3(x), s + 'Branch_3/Conv2d_0b_1x1'),
  ], 3)


def _reduction_a(r, x, s):
  return tf.concat([
      r.chain(x, s + 'Branch_0/', [_V2]),
      r.chain(x, s + 'Branch_1/', ['Conv2d_0a_1x1', 'Conv2d_0b_3x3', _V2]),
      _max3s2(x),
  ], 3)


def _inception_b(r, x, s):
  return tf.concat([
      r.conv(x, s + 'Branch_0/Conv2d_0a_1x1'),
      r.chain(x, s + 'Branch_1/',
              ['Conv2d_0a_1x1', 'Conv2d_0b_1x7', 'Conv2d_0c_7x1']),
      r.chain(x, s + 'Branch_2/',
              ['Conv2d_0a_1x1', 'Conv2d_0b_7x1', 'Conv2d_0c_1x7',
               'Conv2d_0d_7x1', 'Conv2d_0e_1x7']),
      r.conv(_avg3(x), s + 'Branch_3/Conv2d_0b_1x1'),
  ], 3)


def _reduction_b(r, x, s):
  return tf.concat([
      r.chain(x, s + 'Branch_0/', ['Conv2d_0a_1x1', _V2]),
      r.chain(x, s + 'Branch_1/',
              ['Conv2d_0a_1x1', 'Conv2d_0b_1x7', 'Conv2d_0c_7x1', _V2]),
      _max3s2(x),
  ], 3)


def _inception_c(r, x, s):
  b1 = r.conv(x, s + 'Branch_1/Conv2d_0a_1x1')
  b2 = r.chain(x, s + 'Branch_2/',
               ['Conv2d_0a_1x1', 'Conv2d_0b_3x1', 'Conv2d_0c_1x3'])
  return tf.concat([
      r.conv(x, s + 'Branch_0/Conv2d_0a_1x1'),
      r.conv(b1, s + 'Branch_1/Conv2d_0b_1x3'),
      r.conv(b1, s + 'Branch_1/Conv2d_0c_3x1'),
      r.conv(b2, s + 'Branch_2/Conv2d_0d_1x3'),
      r.conv(b2, s + 'Branch_2/Conv2d_0e_3x1'),
      r.conv(_avg3(x), s + 'Branch_3/Conv2d_0b_1x1'),
  ], 3)


_REFERENCE_BLOCKS = (
    [('Mixed_5' + c, _inception_a) for c in 'bcde'] +
    [('Mixed_6a', _reduction_a)] +
    [('Mixed_6' + c, _inception_b) for c in 'bcdefgh'] +
    [('Mixed_7a', _reduction_b)] +
    [('Mixed_7' + c, _inception_c) for c in 'bcd'])


def _reference_network(values, images, s='InceptionV4/'):
  """Fig. 9 of [1] with slim's heads: the end points we compare."""
  r = _Reference(values)
  out = _stem(r, tf.constant(images), s)
  x = out['Mixed_5a']
  for name, block in _REFERENCE_BLOCKS:
    x = out[name] = block(r, x, s + name + '/')
  aux = tf.nn.avg_pool2d(out['Mixed_6h'], 5, 3, 'VALID')
  aux = r.chain(aux, s + 'AuxLogits/',
                ['Conv2d_1b_1x1', ('Conv2d_2a', 1, 'VALID')])
  out['AuxLogits'] = r.fc(tf.reshape(aux, [aux.shape[0], -1]),
                          s + 'AuxLogits/Aux_logits')
  pooled = tf.reduce_mean(x, [1, 2])
  out['Logits'] = r.fc(pooled, s + 'Logits/Logits')
  return {k: v.numpy() for k, v in out.items()}


def _run_with_random_values(built, feed):
  """Our outputs and variable values, batch norm made non-trivial."""
  with new_session(built.graph) as sess:
    perturb_batch_norm(sess, seed=1)
    values = read_values(sess)
    outputs = sess.run(built.end_points, feed)
  return outputs, values


def test_network_matches_plain_tf_nn_reference():
  # 107 is the smallest size with the auxiliary head (see below).
  images = _images([2, 107, 107, 3])
  built = build_in_graph(inception_v4.inception_v4, [2, 107, 107, 3],
                         arg_scope=inception_v4.inception_v4_arg_scope(),
                         num_classes=10, is_training=False, seed=0)
  ours, values = _run_with_random_values(built, {built.inputs: images})
  expected = _reference_network(values, images)
  assert ours['Mixed_7d'].shape == (2, 2, 2, 1536)
  # The random batch norm offsets dominate the logits, yet the two images'
  # differ measurably (and every block's output is compared too).
  assert np.abs(expected['Logits'][0] - expected['Logits'][1]).max() > 0.01 * (
      np.abs(expected['Logits']).max())
  for name in ['Conv2d_2b_3x3'] + _BLOCKS[3:] + ['AuxLogits', 'Logits']:
    assert_close(ours[name], expected[name], rel=1e-5, what=name)
  assert_close(ours['Logits'][0] - ours['Logits'][1],
               expected['Logits'][0] - expected['Logits'][1], rel=1e-5,
               what='logits difference between the images')


@pytest.mark.parametrize('block_fn, reference, default_scope, shape', [
    (inception_v4.block_inception_a, _inception_a, 'BlockInceptionA',
     [2, 5, 5, 384]),
    (inception_v4.block_reduction_a, _reduction_a, 'BlockReductionA',
     [2, 7, 7, 384]),
    (inception_v4.block_inception_b, _inception_b, 'BlockInceptionB',
     [1, 5, 5, 1024]),
    (inception_v4.block_reduction_b, _reduction_b, 'BlockReductionB',
     [1, 9, 9, 1024]),
    (inception_v4.block_inception_c, _inception_c, 'BlockInceptionC',
     [1, 3, 3, 1536]),
])
def test_block_functions_match_plain_tf_nn(block_fn, reference, default_scope,
                                           shape):
  images = _images(shape, seed=3)

  def two_blocks(inputs):
    with slim.arg_scope([_layers.batch_norm], is_training=False):
      first = block_fn(inputs)
      second = block_fn(inputs)
      again = block_fn(inputs, scope=default_scope, reuse=True)
    return first, {'first': first, 'second': second, 'again': again}

  built = build_in_graph(two_blocks, shape,
                         arg_scope=inception_v4.inception_v4_arg_scope(),
                         seed=0)
  scopes = sorted({v.op.name.split('/')[0]
                   for v in global_variables(built.graph)})
  # Default scopes made unique as slim's; reuse adds no variables.
  assert scopes == [default_scope, default_scope + '_1']
  ours, values = _run_with_random_values(built, {built.inputs: images})
  x = tf.constant(images)
  r = _Reference(values)
  assert_close(ours['first'], reference(r, x, default_scope + '/').numpy())
  assert_close(ours['second'],
               reference(r, x, default_scope + '_1/').numpy())
  assert_close(ours['again'], ours['first'], rel=0)


# Convs per block in Fig. 3-8 of [1]: each has weights and batch norm
# (beta, moving mean and variance; no gamma in slim's arg scope).
_CONVS = (3 + 1 + 6 + 1) + 4 * 7 + 4 + 7 * 10 + 6 + 3 * 10
_AUX_CONVS = 2


def test_checkpoint_names_counts_and_end_points():
  built = build_in_graph(inception_v4.inception_v4, [1, 299, 299, 3],
                         arg_scope=inception_v4.inception_v4_arg_scope(),
                         num_classes=1001)
  graph = built.graph
  shapes = {v.op.name: v.shape.as_list() for v in global_variables(graph)}
  expected = {
      'InceptionV4/Conv2d_1a_3x3/weights': [3, 3, 3, 32],
      'InceptionV4/Conv2d_1a_3x3/BatchNorm/beta': [32],
      'InceptionV4/Mixed_3a/Branch_1/Conv2d_0a_3x3/weights': [3, 3, 64, 96],
      'InceptionV4/Mixed_5e/Branch_3/Conv2d_0b_1x1/weights': [1, 1, 384, 96],
      'InceptionV4/Mixed_6a/Branch_1/Conv2d_1a_3x3/weights': [3, 3, 224,
                                                              256],
      'InceptionV4/Mixed_6h/Branch_2/Conv2d_0e_1x7/weights': [1, 7, 224,
                                                              256],
      'InceptionV4/Mixed_7d/Branch_2/Conv2d_0e_3x1/BatchNorm/'
      'moving_variance': [256],
      'InceptionV4/AuxLogits/Conv2d_1b_1x1/weights': [1, 1, 1024, 128],
      'InceptionV4/AuxLogits/Conv2d_2a/weights': [5, 5, 128, 768],
      'InceptionV4/AuxLogits/Aux_logits/weights': [768, 1001],
      'InceptionV4/AuxLogits/Aux_logits/biases': [1001],
      'InceptionV4/Logits/Logits/weights': [1536, 1001],
      'InceptionV4/Logits/Logits/biases': [1001],
  }
  assert {k: shapes.get(k) for k in expected} == expected
  assert not [name for name in shapes if name.endswith('gamma')]
  convs = _CONVS + _AUX_CONVS
  assert len(graph.get_collection(_KEYS.TRAINABLE_VARIABLES)) == (
      2 * convs + 4)
  assert len(shapes) == 4 * convs + 4
  assert graph.get_collection(_KEYS.MODEL_VARIABLES) == global_variables(
      graph)
  assert len(graph.get_collection(_KEYS.UPDATE_OPS)) == 2 * convs
  # Conv and fully connected weights; biases are not regularized here.
  assert len(graph.get_collection(_KEYS.REGULARIZATION_LOSSES)) == convs + 2
  assert list(built.end_points) == _BLOCKS + [
      'AuxLogits', 'global_pool', 'PreLogitsFlatten', 'Logits', 'Predictions'
  ]
  end_shapes = {k: v.shape.as_list() for k, v in built.end_points.items()}
  assert [end_shapes[k] for k in _STEM] == [
      [1, 149, 149, 32], [1, 147, 147, 32], [1, 147, 147, 64],
      [1, 73, 73, 160], [1, 71, 71, 192], [1, 35, 35, 384]]
  assert (end_shapes['Mixed_5e'], end_shapes['Mixed_6h'],
          end_shapes['Mixed_7d'], end_shapes['global_pool']) == (
              [1, 35, 35, 384], [1, 17, 17, 1024], [1, 8, 8, 1536],
              [1, 1, 1, 1536])
  assert built.end_points['Predictions'].op.name == (
      'InceptionV4/Logits/Predictions')


def test_parameters_and_multiply_adds_match_timm():
  """timm's inception_v4.tf_in1k is slim's checkpoint ported to torch.

  Its model card (huggingface.co/timm/inception_v4.tf_in1k) gives 42.7M
  parameters and 12.3 GMACs at 299x299 with 1000 classes and no auxiliary
  head; torch's batch norm carries a scale, hence batch_norm_scale=True.
  """
  built = build_in_graph(
      inception_v4.inception_v4, [1, 299, 299, 3],
      arg_scope=inception_v4.inception_v4_arg_scope(batch_norm_scale=True),
      num_classes=1000, create_aux_logits=False)
  assert round(_param_count(built.graph) / 1e6, 1) == 42.7
  assert round(cli.multiply_adds(built.graph) / 1e9, 1) == 12.3


def _error(fn, *args, **kwargs):
  """The one-line message of the ValueError `fn` raises."""
  with pytest.raises(ValueError) as error:
    fn(*args, **kwargs)
  message = str(error.value)
  assert '\n' not in message
  return message


def test_bad_inputs_raise_one_clear_line():
  graph = tf.Graph()
  with graph.as_default():
    images = tf.zeros([1, 299, 299, 3])
    message = _error(inception_v4.inception_v4_base, images,
                     final_endpoint='Mixed_8a')
    assert message == ('Unknown final endpoint Mixed_8a; the end points of '
                       'InceptionV4 are, in order: ' + ', '.join(_BLOCKS))
    # Without the auxiliary head the VALID reductions need 75x75: Mixed_7a
    # needs 3x3 from Mixed_6h, hence 7x7 at Mixed_5e, 15 at Mixed_4a, 17 at
    # Mixed_3a, 35 at Conv2d_2b, 37 at Conv2d_1a, 75 at the input. The
    # head's 5x5 pool on Mixed_6h needs 107x107 the same way.
    message = _error(inception_v4.inception_v4,
                     tf.zeros([1, 74, 80, 3], name='small'),
                     create_aux_logits=False)
    assert message == ("InceptionV4: inputs 'small:0' are 74x80, too small; "
                       'the smallest height and width it takes are 75x75')
    message = _error(inception_v4.inception_v4, tf.zeros([1, 106, 106, 3]))
    assert message.endswith(
        "takes are 107x107 (for AuxLogits' 5x5 pool; 75x75 without it)")
    message = _error(inception_v4.inception_v4_base, tf.zeros([1, 18, 18, 3]),
                     final_endpoint='Mixed_4a')
    assert message.endswith('takes are 19x19')
    unknown = tf.compat.v1.placeholder(tf.float32, [1, None, None, 3])
    assert 'create_aux_logits=False' in _error(inception_v4.inception_v4,
                                               unknown)
    with slim.arg_scope([_layers.conv2d], data_format='NCHW'):
      assert "'NHWC' only" in _error(inception_v4.inception_v4, images)
    assert 'num_classes' in _error(inception_v4.inception_v4, images,
                                   num_classes=-1)
  # The failing calls built nothing.
  assert not global_variables(graph)


def test_smallest_size_builds():
  # 75x75 without the auxiliary head (107x107 with it: the reference test).
  built = build_in_graph(inception_v4.inception_v4, [1, 75, 75, 3],
                         num_classes=5, create_aux_logits=False)
  assert built.end_points['Mixed_7d'].shape.as_list() == [1, 1, 1, 1536]


def test_registry_and_arg_scope():
  info = registry.get_model('inception_v4')
  assert (info.fn, info.family, info.arg_scope_fn, info.default_image_size,
          info.num_classes, info.preprocessing) == (
              inception_v4.inception_v4, 'inception_v4',
              inception_utils.inception_arg_scope, 299, 1001, 'inception')
  assert inception_v4.inception_v4.default_image_size == 299
  assert inception_v4.inception_v4_arg_scope is (
      inception_utils.inception_arg_scope)
