"""Tests of nets.inception_resnet_v2.

The reference is Keras' `InceptionResNetV2(weights=None)` (Keras 3, the
`tf.keras` of TF 2.21): its weights are mapped onto our variables and the
features and logits compared. Keras builds the same network as slim's
checkpoints (VALID stem and reductions, batch norm without scale, the
residual 1x1 convs with biases, a linear last Block8, Conv2d_7b_1x1 with
batch norm and no bias); it only lacks the auxiliary head and the dropout,
and has 1000 classes where slim's checkpoint has 1001. So the comparison
runs without auxiliary logits, in inference mode, with 1000 classes.

[1] Szegedy, Ioffe, Vanhoucke, Alemi. Inception-v4, Inception-ResNet and the
    Impact of Residual Connections on Learning. arXiv:1602.07261
"""

import re

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import (assert_close, assign_values, build_in_graph,
                      global_variables, new_session)
from nets import _layers
from nets import inception_resnet_v2
from nets import registry
from nets import runtime
from slimnets import cli

_KEYS = tf.compat.v1.GraphKeys
_S = 'InceptionResnetV2/'
_BASE_END_POINTS = ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
                    'MaxPool_3a_3x3', 'Conv2d_3b_1x1', 'Conv2d_4a_3x3',
                    'MaxPool_5a_3x3', 'Mixed_5b', 'Mixed_6a', 'PreAuxLogits',
                    'Mixed_7a', 'Conv2d_7b_1x1']
_BN = ('beta', 'moving_mean', 'moving_variance')
# Keras' smallest input is 75; 107 leaves 2x2 maps at the end.
_SIZE = 107


def _images(shape, seed=0):
  return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


def _param_count(graph, collection=_KEYS.TRAINABLE_VARIABLES):
  return sum(int(np.prod(v.shape.as_list()))
             for v in graph.get_collection(collection))


def _randomize_keras(model, keras):
  """Random batch norm statistics and biases, so that they matter."""
  rng = np.random.RandomState(0)
  for layer in model.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
      beta, mean, variance = layer.get_weights()
      layer.set_weights([rng.normal(0, 0.2, beta.shape),
                         rng.normal(0, 0.2, mean.shape),
                         rng.uniform(0.5, 1.5, variance.shape)])
    elif layer.name.endswith('_conv') or layer.name == 'predictions':
      kernel, bias = layer.get_weights()
      layer.set_weights([kernel, rng.normal(0, 0.1, bias.shape)])


def _unnamed(model, kind, prefix):
  """Keras' auto-named layers of `kind` in creation order ('conv2d',
  'conv2d_1', ...; the counter is global, so sort by its value)."""
  found = []
  for layer in model.layers:
    match = re.fullmatch(prefix + r'(?:_(\d+))?', layer.name)
    if isinstance(layer, kind) and match:
      found.append((int(match.group(1) or 0), layer))
  return [layer for _, layer in sorted(found)]


def _keras_values(model, keras, variable_names):
  """Our variable values from the Keras model.

  Keras names only the residual 1x1 convs (`block35_<i>_conv`, ...),
  `conv_7b` and the classifier; every other conv + batch norm pair is
  unnamed, created in the same order as slim's (Branch_0 first), so they
  map by order onto our convs with batch norm.
  """
  bn_convs = [name[:-len('/weights')] for name in variable_names
              if name.endswith('/weights') and
              name.replace('/weights', '/BatchNorm/beta') in variable_names
              and not name.startswith(_S + 'Conv2d_7b_1x1/')]
  convs = _unnamed(model, keras.layers.Conv2D, 'conv2d')
  norms = _unnamed(model, keras.layers.BatchNormalization,
                   'batch_normalization')
  assert len(bn_convs) == len(convs) == len(norms) == 203
  values = {}

  def conv_bn(scope, conv, norm):
    (values[scope + '/weights'],) = conv.get_weights()
    values.update(('%s/BatchNorm/%s' % (scope, p), w)
                  for p, w in zip(_BN, norm.get_weights()))

  for scope, conv, norm in zip(bn_convs, convs, norms):
    conv_bn(scope, conv, norm)
  conv_bn(_S + 'Conv2d_7b_1x1', model.get_layer('conv_7b'),
          model.get_layer('conv_7b_bn'))
  residuals = ([('Repeat/block35_%d' % i, 'block35_%d' % i)
                for i in range(1, 11)] +
               [('Repeat_1/block17_%d' % i, 'block17_%d' % i)
                for i in range(1, 21)] +
               [('Repeat_2/block8_%d' % i, 'block8_%d' % i)
                for i in range(1, 10)] + [('Block8', 'block8_10')])
  for ours, theirs in residuals:
    prefix = _S + ours + '/Conv2d_1x1/'
    values[prefix + 'weights'], values[prefix + 'biases'] = model.get_layer(
        theirs + '_conv').get_weights()
  values[_S + 'Logits/Logits/weights'], values[_S + 'Logits/Logits/biases'] = (
      model.get_layer('predictions').get_weights())
  return values


def test_matches_keras_inception_resnet_v2():
  keras = tf.keras
  keras.backend.clear_session()
  model = keras.applications.InceptionResNetV2(
      weights=None, input_shape=(_SIZE, _SIZE, 3), classifier_activation=None)
  _randomize_keras(model, keras)
  images = _images([2, _SIZE, _SIZE, 3], seed=1)
  compared = {'Mixed_5b': 'mixed_5b', 'Mixed_6a': 'mixed_6a',
              'Mixed_7a': 'mixed_7a', 'Conv2d_7b_1x1': 'conv_7b_ac',
              'Logits': 'predictions'}
  features = keras.Model(model.input, [model.get_layer(name).output
                                       for name in compared.values()])
  expected = dict(zip(compared, (out.numpy() for out in features(
      images, training=False))))
  # Random deep networks wash the image out: the two images' logits differ
  # by 1% of their size (batch norm offsets dominate), so their difference
  # is compared on its own as well.
  for name in compared:
    assert np.abs(expected[name][0] - expected[name][1]).max() > (
        0.005 * np.abs(expected[name]).max()), name

  built = build_in_graph(
      inception_resnet_v2.inception_resnet_v2, [2, _SIZE, _SIZE, 3],
      arg_scope=inception_resnet_v2.inception_resnet_v2_arg_scope(),
      num_classes=1000, is_training=False, create_aux_logits=False)
  names = [v.op.name for v in global_variables(built.graph)]
  values = _keras_values(model, keras, names)
  assert set(values) == set(names)
  # 55,873,736: Keras counts the moving statistics as (untrainable) weights.
  assert _param_count(built.graph, _KEYS.GLOBAL_VARIABLES) == (
      model.count_params())
  with new_session(built.graph) as sess:
    assign_values(sess, values)
    ours = sess.run({k: built.end_points[k] for k in compared},
                    {built.inputs: images})
  assert ours['Conv2d_7b_1x1'].shape == (2, 2, 2, 1536)
  for name in compared:
    assert_close(ours[name], expected[name], rel=1e-5, what=name)
  assert_close(ours['Logits'][0] - ours['Logits'][1],
               expected['Logits'][0] - expected['Logits'][1], rel=1e-5,
               what='logits difference between the images')


# Convs with batch norm in Fig. 15-19 of [1] (stem 5, Mixed_5b 7, 10 x
# Block35 6, Mixed_6a 4, 20 x Block17 4, Mixed_7a 7, 10 x Block8 4,
# Conv2d_7b_1x1, the auxiliary head 2) and the residual 1x1 convs with
# biases (10 + 20 + 10).
_BN_CONVS = 5 + 7 + 10 * 6 + 4 + 20 * 4 + 7 + 10 * 4 + 1 + 2
_BIASED_CONVS = 40


def test_checkpoint_names_counts_and_end_points():
  built = build_in_graph(
      inception_resnet_v2.inception_resnet_v2, [1, 299, 299, 3],
      arg_scope=inception_resnet_v2.inception_resnet_v2_arg_scope(),
      num_classes=1001)
  graph = built.graph
  shapes = {v.op.name: v.shape.as_list() for v in global_variables(graph)}
  expected = {
      _S + 'Conv2d_1a_3x3/weights': [3, 3, 3, 32],
      _S + 'Conv2d_4a_3x3/BatchNorm/moving_mean': [192],
      _S + 'Mixed_5b/Branch_1/Conv2d_0b_5x5/weights': [5, 5, 48, 64],
      _S + 'Mixed_5b/Branch_3/Conv2d_0b_1x1/weights': [1, 1, 192, 64],
      _S + 'Repeat/block35_1/Branch_2/Conv2d_0c_3x3/weights': [3, 3, 48, 64],
      _S + 'Repeat/block35_10/Conv2d_1x1/weights': [1, 1, 128, 320],
      _S + 'Repeat/block35_10/Conv2d_1x1/biases': [320],
      _S + 'Mixed_6a/Branch_1/Conv2d_1a_3x3/weights': [3, 3, 256, 384],
      _S + 'Repeat_1/block17_20/Branch_1/Conv2d_0c_7x1/weights': [7, 1, 160,
                                                                 192],
      _S + 'Repeat_1/block17_20/Conv2d_1x1/weights': [1, 1, 384, 1088],
      _S + 'Mixed_7a/Branch_2/Conv2d_1a_3x3/weights': [3, 3, 288, 320],
      _S + 'Repeat_2/block8_9/Conv2d_1x1/weights': [1, 1, 448, 2080],
      _S + 'Block8/Branch_1/Conv2d_0b_1x3/weights': [1, 3, 192, 224],
      _S + 'Block8/Conv2d_1x1/biases': [2080],
      _S + 'Conv2d_7b_1x1/weights': [1, 1, 2080, 1536],
      _S + 'AuxLogits/Conv2d_1b_1x1/weights': [1, 1, 1088, 128],
      _S + 'AuxLogits/Conv2d_2a_5x5/weights': [5, 5, 128, 768],
      _S + 'AuxLogits/Logits/weights': [768, 1001],
      _S + 'Logits/Logits/weights': [1536, 1001],
      _S + 'Logits/Logits/biases': [1001],
  }
  assert {k: shapes.get(k) for k in expected} == expected
  assert not [name for name in shapes if name.endswith('gamma')]
  assert len(graph.get_collection(_KEYS.TRAINABLE_VARIABLES)) == (
      2 * _BN_CONVS + 2 * _BIASED_CONVS + 4)
  assert len(shapes) == 4 * _BN_CONVS + 2 * _BIASED_CONVS + 4
  assert graph.get_collection(_KEYS.MODEL_VARIABLES) == global_variables(
      graph)
  assert len(graph.get_collection(_KEYS.UPDATE_OPS)) == 2 * _BN_CONVS
  # Weights of every conv and fully connected layer, and the biases of the
  # residual convs and fully connected layers (biases_regularizer).
  assert len(graph.get_collection(_KEYS.REGULARIZATION_LOSSES)) == (
      _BN_CONVS + 2 * _BIASED_CONVS + 4)
  assert list(built.end_points) == _BASE_END_POINTS + [
      'AuxLogits', 'global_pool', 'PreLogitsFlatten', 'Logits', 'Predictions'
  ]
  end_shapes = {k: v.shape.as_list()[1:]
                for k, v in built.end_points.items()}
  assert [end_shapes[k] for k in _BASE_END_POINTS] == [
      [149, 149, 32], [147, 147, 32], [147, 147, 64], [73, 73, 64],
      [73, 73, 80], [71, 71, 192], [35, 35, 192], [35, 35, 320],
      [17, 17, 1088], [17, 17, 1088], [8, 8, 2080], [8, 8, 1536]]
  assert (end_shapes['AuxLogits'], end_shapes['global_pool'],
          end_shapes['PreLogitsFlatten'], end_shapes['Predictions']) == (
              [1001], [1, 1, 1536], [1536], [1001])


def test_parameters_and_multiply_adds_match_published():
  """Keras' applications table (keras.io/api/applications): 55.9M
  parameters (moving statistics included, 1000 classes, no auxiliary head);
  timm's inception_resnet_v2.tf_in1k model card (slim's checkpoint in
  torch, whose batch norm has a scale): 55.8M and 13.2 GMACs at 299x299."""
  built = build_in_graph(
      inception_resnet_v2.inception_resnet_v2, [1, 299, 299, 3],
      arg_scope=inception_resnet_v2.inception_resnet_v2_arg_scope(
          batch_norm_scale=True),
      num_classes=1000, create_aux_logits=False)
  graph = built.graph
  gammas = sum(int(np.prod(v.shape.as_list()))
               for v in global_variables(graph)
               if v.op.name.endswith('/gamma'))
  assert round((_param_count(graph, _KEYS.GLOBAL_VARIABLES) - gammas) / 1e6,
               1) == 55.9
  assert round(_param_count(graph) / 1e6, 1) == 55.8
  assert round(cli.multiply_adds(graph) / 1e9, 1) == 13.2


def _ops_of(graph, prefix, op_type):
  return [op for op in graph.get_operations()
          if op.name.startswith(prefix) and op.type == op_type]


def test_output_stride_8_runs_the_17x17_blocks_atrous():
  built = build_in_graph(
      inception_resnet_v2.inception_resnet_v2_base, [1, 75, 75, 3],
      final_endpoint='PreAuxLogits', output_stride=8)
  graph = built.graph
  # Mixed_6a keeps the resolution (stride 1, VALID): 7x7 -> 5x5.
  assert built.end_points['Mixed_5b'].shape.as_list() == [1, 7, 7, 320]
  assert built.end_points['Mixed_6a'].shape.as_list() == [1, 5, 5, 1088]
  atrous, plain = (_S + 'Repeat_1/block17_7/Branch_1/',
                   _S + 'Repeat/block35_1/Branch_2/')
  if runtime.features()['dilated_conv_gradients']:
    convs = _ops_of(graph, atrous, 'Conv2D')
    assert [op.get_attr('dilations') for op in convs] == [[1, 2, 2, 1]] * 3
  else:
    # Without native dilated gradients (oneDNN off) the layers build the
    # space-to-batch form: rate 2 becomes a 2x2 block.
    assert _ops_of(graph, atrous, 'SpaceToBatchND')
  assert not _ops_of(graph, plain, 'SpaceToBatchND')
  convs = _ops_of(graph, plain, 'Conv2D')
  assert [op.get_attr('dilations') for op in convs] == [[1, 1, 1, 1]] * 3


def test_block_functions_scopes_scale_and_relu6():
  graph = tf.Graph()
  with graph.as_default():
    net = tf.zeros([1, 3, 3, 64])
    inception_resnet_v2.block35(net)
    inception_resnet_v2.block35(net)
    inception_resnet_v2.block35(net, scope='Block35', reuse=True)
    inception_resnet_v2.block17(net, scale=0.1, activation_fn=tf.nn.relu6)
    inception_resnet_v2.block8(net, activation_fn=None)
  scopes = sorted({v.op.name.split('/')[0] for v in global_variables(graph)})
  assert scopes == ['Block17', 'Block35', 'Block35_1', 'Block8']
  ops = graph.get_operations()
  # relu6 clips the scaled residual to [-6, 6] before the sum.
  assert [op.name for op in ops if op.name.endswith('/clip_by_value')] == [
      'Block17/clip_by_value']
  assert [op.type for op in ops if op.name.startswith('Block8/') and
          op.type in ('Relu', 'Relu6')] == ['Relu'] * 4


def test_arg_scope_batch_norm_scale_and_regularizers():
  def gammas(**kwargs):
    built = build_in_graph(
        inception_resnet_v2.inception_resnet_v2_base, [1, 75, 75, 3],
        arg_scope=inception_resnet_v2.inception_resnet_v2_arg_scope(**kwargs),
        final_endpoint='Mixed_5b')
    return [v.op.name for v in global_variables(built.graph)
            if v.op.name.endswith('/BatchNorm/gamma')]

  assert not gammas()
  assert len(gammas(batch_norm_scale=True)) == 5 + 7
  scope = inception_resnet_v2.inception_resnet_v2_arg_scope(
      weight_decay=0.5, activation_fn=tf.nn.relu6)
  with slim.arg_scope(scope):
    current = slim.current_arg_scope()
  conv = current[slim.arg_scope_func_key(_layers.conv2d)]
  assert conv['activation_fn'] is tf.nn.relu6
  assert conv['normalizer_fn'] is _layers.batch_norm
  assert conv['normalizer_params']['decay'] == 0.9997
  fully_connected = current[slim.arg_scope_func_key(_layers.fully_connected)]
  assert set(fully_connected) == {'weights_regularizer', 'biases_regularizer'}


def _error(fn, *args, **kwargs):
  """The one-line message of the ValueError `fn` raises."""
  with pytest.raises(ValueError) as error:
    fn(*args, **kwargs)
  message = str(error.value)
  assert '\n' not in message
  return message


def test_bad_inputs_raise_one_clear_line():
  base = inception_resnet_v2.inception_resnet_v2_base
  model = inception_resnet_v2.inception_resnet_v2
  graph = tf.Graph()
  with graph.as_default():
    images = tf.zeros([1, 299, 299, 3])
    message = _error(base, images, final_endpoint='Mixed_8a')
    assert message == ('Unknown final endpoint Mixed_8a; the end points of '
                       'InceptionResnetV2 are, in order: ' +
                       ', '.join(_BASE_END_POINTS))
    for output_stride in (4, 32, None):
      assert 'output_stride must be 8 or 16, got %r' % output_stride in (
          _error(base, images, output_stride=output_stride))
    assert 'PreAuxlogits' in _error(base, images, output_stride=8)
    # Keras documents 75 as the smallest input; the auxiliary head's 5x5
    # pool on PreAuxLogits needs 107 (5x5 there, 11 at Mixed_5b, 23 at
    # Conv2d_4a's input, 51 at MaxPool_3a's, 53 after Conv2d_1a).
    message = _error(model, tf.zeros([1, 74, 300, 3], name='small'),
                     create_aux_logits=False)
    assert message == ("InceptionResnetV2: inputs 'small:0' are 74x300, too "
                       'small; the smallest height and width it takes are '
                       '75x75')
    message = _error(model, tf.zeros([1, 106, 106, 3]))
    assert message.endswith(
        "takes are 107x107 (for AuxLogits' 5x5 pool; 75x75 without it)")
    unknown = tf.compat.v1.placeholder(tf.float32, [1, None, None, 3])
    assert 'create_aux_logits=False' in _error(model, unknown)
    with slim.arg_scope([_layers.conv2d], data_format='NCHW'):
      assert "'NHWC' only" in _error(model, images)
  assert not global_variables(graph)


def test_registry():
  info = registry.get_model('inception_resnet_v2')
  assert (info.fn, info.family, info.arg_scope_fn, info.default_image_size,
          info.num_classes, info.preprocessing) == (
              inception_resnet_v2.inception_resnet_v2, 'inception_resnet_v2',
              inception_resnet_v2.inception_resnet_v2_arg_scope, 299, 1001,
              'inception')
  assert inception_resnet_v2.inception_resnet_v2.default_image_size == 299
