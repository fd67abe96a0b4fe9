"""Tests of nets.nasnet (NASNet-A and PNASNet-5).

References: Keras' NASNetMobile and NASNetLarge applications (NASNet-A, the
architecture of slim's checkpoints, which Keras' weights were converted
from) with copied weights; a PNASNet-5 network written here in plain tf.nn
ops from the paper's cell; parameter and multiply-add counts published by
the papers, upstream's README and Keras. Numbers are computed on NASNet
Mobile at 224, NASNet Large at 75 and small inputs and reduced depths
elsewhere; other full-size graphs are only built (for counts and names).
"""

import re

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import (assert_close, assign_values, build_in_graph,
                      global_variables, new_session, perturb_batch_norm,
                      read_values)
from checkpoints_tools import variants
from nets import nets_factory
from nets import registry
from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils
from nets.nasnet import pnasnet
from slimnets.cli import multiply_adds

_BN = ('gamma', 'beta', 'moving_mean', 'moving_variance')
_EPSILON = 1e-3  # batch_norm_epsilon of the mobile and large arg scopes


def _images(shape, seed=0):
  return np.random.RandomState(seed).uniform(-1, 1, shape).astype(np.float32)


def _count(graph, collection=tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES):
  return sum(int(np.prod(v.shape.as_list()))
             for v in graph.get_collection(collection))


def _tiny(config_fn, **overrides):
  """`config_fn()` reduced to 3 cells (reductions before cells 1 and 2) and
  8 filters: the same wiring in a graph ten times smaller."""
  config = config_fn()
  config.override_from_dict(dict(dict(num_cells=3, num_conv_filters=8),
                                 **overrides))
  if config_fn is not nasnet.cifar_config:
    config.set_hparam('stem_multiplier', 0.25)  # conv0 gets 8 filters
  return config


# ---------------------------------------------------------------------------
# The configuration object.


def test_hparams_behave_as_tf_contrib_hparams():
  config = nasnet.mobile_imagenet_config()
  assert config.num_conv_filters == 44 and config.data_format == 'NHWC'
  config.set_hparam('filter_scaling_rate', 3)  # a float takes an int
  assert config.filter_scaling_rate == 3.0
  assert isinstance(config.filter_scaling_rate, float)
  config.set_hparam('use_aux_head', False)  # an int takes a bool
  for name, value in (('num_cells', 2.5), ('use_bounded_activation', 1),
                      ('data_format', 3), ('drop_path_keep_prob', 'high')):
    with pytest.raises(ValueError, match=name):
      config.set_hparam(name, value)
  with pytest.raises(KeyError) as error:
    config.set_hparam('num_cell', 3)
  assert isinstance(error.value, ValueError)
  assert str(error.value).startswith("unknown hyperparameter 'num_cell'; "
                                     'known ones: data_format, ')
  assert config.override_from_dict({'num_cells': 6}) is config
  assert config.values()['num_cells'] == 6 and 'num_cells' in config
  with pytest.raises(ValueError, match='already used'):
    config.add_hparam('num_cells', 1)


def test_builders_copy_the_config():
  config = _tiny(nasnet.large_imagenet_config)
  build_in_graph(nasnet.build_nasnet_large, [1, 40, 40, 3],
                 arg_scope=nasnet.nasnet_large_arg_scope(), num_classes=3,
                 is_training=False, config=config)
  # Inference turned drop path off on a copy only.
  assert config.drop_path_keep_prob == 0.7


# ---------------------------------------------------------------------------
# NASNet-A against Keras' NASNetMobile and NASNetLarge (keras 3, which is
# also what tf.keras is on TF 2.21; tf_keras' copy has the same layers).

# Keras' separable blocks per cell kind: (kind, side, number) -> slim's
# (combination, side), from the two implementations' cell code.
_KERAS_BRANCHES = {
    ('normal', 'left', '1'): (0, 'left'),
    ('normal', 'right', '1'): (0, 'right'),
    ('normal', 'left', '2'): (1, 'left'),
    ('normal', 'right', '2'): (1, 'right'),
    ('normal', 'left', '5'): (4, 'left'),
    ('reduction', 'left', '1'): (0, 'left'),
    ('reduction', 'right', '1'): (0, 'right'),
    ('reduction', 'right', '2'): (1, 'right'),
    ('reduction', 'right', '3'): (2, 'right'),
    ('reduction', 'left', '4'): (4, 'left'),
}


def _keras_cells(model):
  """Keras cell block id -> (our cell scope, our end point or None).

  Keras numbers its cells 'stem_1', 'stem_2', '0'.., 'reduce_N', ...; ours
  are cell_stem_0, cell_stem_1 ('Stem'), cell_n, reduction_cell_k.
  """
  ids = [re.match(r'(?:normal|reduction)_conv_1_(.+)$', layer.name)
         for layer in model.layers]
  ids = [match.group(1) for match in ids if match]
  normal = sorted((i for i in ids if i.isdigit()), key=int)
  reduction = sorted((i for i in ids if i.startswith('reduce_')),
                     key=lambda i: int(i[len('reduce_'):]))
  cells = {'stem_1': ('cell_stem_0', None), 'stem_2': ('cell_stem_1', 'Stem')}
  cells.update((i, ('cell_%d' % n, 'Cell_%d' % n))
               for n, i in enumerate(normal))
  cells.update((i, ('reduction_cell_%d' % k, 'Reduction_Cell_%d' % k))
               for k, i in enumerate(reduction))
  assert len(cells) == len(ids)
  return cells


def _keras_values(model, cells):
  """Our variable values from the Keras layers, by our names."""
  layer_names = {layer.name for layer in model.layers}
  kernels = {layer.name: layer.get_weights()[0] for layer in model.layers
             if layer.name.startswith('separable_conv_') and
             layer.get_weights()}
  values = {}

  def put(target, weights, parameters):
    assert len(weights) == len(parameters), target
    values.update(('%s/%s' % (target, p), w)
                  for p, w in zip(parameters, weights))

  for layer in model.layers:
    weights = layer.get_weights()
    name = layer.name
    if not weights:
      continue
    cell = re.match(r'(normal|reduction)_(conv|bn)_1_(.+)$', name)
    adjust = re.match(r'adjust_(conv_1|conv_2|conv_projection|bn)_(.+)$', name)
    sep = re.match(r'separable_conv_(\d)_(bn_)?(normal|reduction)_'
                   r'(left|right)(\d)_(.+)$', name)
    if name == 'stem_conv1':
      put('conv0', weights, ['weights'])
    elif name == 'stem_bn1':
      put('conv0_bn', weights, _BN)
    elif name == 'predictions':
      put('final_layer/FC', weights, ['weights', 'biases'])
    elif cell:
      scope = cells[cell.group(3)][0]
      if cell.group(2) == 'conv':
        put(scope + '/1x1', weights, ['weights'])
      else:
        put(scope + '/beginning_bn', weights, _BN)
    elif adjust:
      scope = cells[adjust.group(2)][0]
      projection = 'adjust_conv_projection_' + adjust.group(2) in layer_names
      target = {'conv_1': 'path1_conv', 'conv_2': 'path2_conv',
                'conv_projection': 'prev_1x1',
                'bn': 'prev_bn' if projection else 'final_path_bn'}
      put('%s/%s' % (scope, target[adjust.group(1)]), weights,
          _BN if adjust.group(1) == 'bn' else ['weights'])
    elif sep:
      number, is_bn, kind, side, branch, block = sep.groups()
      combination, our_side = _KERAS_BRANCHES[(kind, side, branch)]
      size = kernels['separable_conv_%s_%s_%s%s_%s' % (
          number, kind, side, branch, block)].shape[0]
      target = '%s/comb_iter_%d/%s/%s_%dx%d_%s' % (
          cells[block][0], combination, our_side,
          'bn_sep' if is_bn else 'separable', size, size, number)
      put(target, weights,
          _BN if is_bn else ['depthwise_weights', 'pointwise_weights'])
    else:
      raise AssertionError('unmapped Keras layer %s' % name)
  return values


@pytest.fixture(scope='module')
def keras():
  return pytest.importorskip('keras')


def _keras_nasnet(keras, variant, size):
  """Keras' `variant` (1000 classes, logits) with random weights and batch
  norm statistics that keep a signal through the random network."""
  keras.utils.set_random_seed(0)
  model = getattr(keras.applications, variant)(
      input_shape=(size, size, 3), weights=None, classes=1000,
      classifier_activation=None)
  rng = np.random.RandomState(0)
  for layer in model.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
      gamma, beta, mean, variance = layer.get_weights()
      layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape),
                         rng.normal(0, 0.2, beta.shape), mean, variance])
      # One training call sets the moving statistics to batch ones.
      layer.momentum = 0.0
  model(_images([2, size, size, 3], seed=2), training=True)
  dense = model.get_layer('predictions')
  kernel, bias = dense.get_weights()
  dense.set_weights([kernel, rng.normal(0, 0.1, bias.shape)])
  return model


def _keras_end_points(keras, model, cells, images):
  """(cell_stem_0's output, {our end point: Keras value}) on `images`."""
  names = {'cell_stem_0': 'reduction_concat_stem_1', 'Logits': None}
  for block, (_, end_point) in cells.items():
    if end_point:
      names[end_point] = '%s_concat_%s' % (
          'normal' if block.isdigit() else 'reduction', block)
  keys = sorted(names)
  probe = keras.Model(model.inputs, [
      model.output if names[k] is None else model.get_layer(names[k]).output
      for k in keys])
  values = probe(images, training=False)
  values = dict(zip(keys, (keras.ops.convert_to_numpy(v) for v in values)))
  return values.pop('cell_stem_0'), values


def _ours(values, images, fn, arg_scope_fn, end_points):
  """Our (cell_stem_0 output, logits, {end point: value}) with `values`."""
  built = build_in_graph(fn, images.shape, arg_scope=arg_scope_fn(),
                         num_classes=1000, is_training=False)
  assert set(values) == {v.op.name for v in global_variables(built.graph)}
  stem_0 = built.graph.get_tensor_by_name('cell_stem_0/cell_output/concat:0')
  with new_session(built.graph) as sess:
    assign_values(sess, values)
    return sess.run((stem_0, built.net, {k: built.end_points[k]
                                         for k in end_points}),
                    {built.inputs: images})


# NASNetMobile at its 224 (conv0 111, then 56, 28, 14, 7) and NASNetLarge
# at 75 instead of 331 to keep the test short (conv0 37, then 19, 10, 5,
# 3): reduction cells on odd and even inputs (Keras pads odd inputs on both
# sides, even ones after), Mobile without and Large with
# skip_reduction_layer_input.
@pytest.mark.parametrize('variant, fn, keras_fn, arg_scope_fn, size', [
    ('NASNetMobile', nasnet.build_nasnet_mobile, variants.keras_nasnet_mobile,
     nasnet.nasnet_mobile_arg_scope, 224),
    ('NASNetLarge', nasnet.build_nasnet_large, variants.keras_nasnet_large,
     nasnet.nasnet_large_arg_scope, 75),
])
def test_nasnet_matches_keras(keras, variant, fn, keras_fn, arg_scope_fn,
                              size):
  model = _keras_nasnet(keras, variant, size)
  cells = _keras_cells(model)
  images = _images([2, size, size, 3], seed=1)
  keras_stem_0, expected = _keras_end_points(keras, model, cells, images)
  values = _keras_values(model, cells)
  # The same parameters (_ours checks the names): Keras counts the batch
  # norm moving statistics too, as our global variables do.
  assert sum(v.size for v in values.values()) == model.count_params()
  assert np.abs(expected['Logits'][0] - expected['Logits'][1]).max() > (
      0.1 * np.abs(expected['Logits']).max())

  # Where the architectures differ: the stride-2 average and max poolings of
  # the reduction cells. Keras zero-pads, then pools VALID (padding counts
  # in the average and takes part in the max); slim pools SAME, ignoring
  # the padding. Only the border pixels of the first cell differ...
  stem_0, logits, _ = _ours(values, images, fn, arg_scope_fn, ())
  assert_close(stem_0[:, 1:-1, 1:-1], keras_stem_0[:, 1:-1, 1:-1],
               what='cell_stem_0 interior')
  assert np.abs(stem_0 - keras_stem_0).max() > 1e-2
  # ...but from there on every value (measured: the logits by 8% of their
  # largest magnitude for Mobile at 224, 17% for Large at 75).
  assert np.abs(logits - expected['Logits']).max() > (
      1e-2 * np.abs(expected['Logits']).max())

  # Everything else agrees: with Keras' pooling (the variant's
  # nasnet_utils.cell_pool(padding='ZEROS')), every end point matches.
  end_points = sorted(set(expected) - {'Logits'})
  _, logits, ours = _ours(values, images, keras_fn, arg_scope_fn,
                          end_points)
  assert_close(logits, expected['Logits'], rel=1e-5, what='logits')
  # Float32 rounding (other batch norm and convolution kernels) grows with
  # depth through the random network: measured from 6e-7 (Stem) to 2.6e-5
  # (Mobile's Cell_11) of each end point's largest magnitude, while any
  # wrong weight or wire changes it by more than 1e-2.
  for name in end_points:
    assert_close(ours[name], expected[name], rel=5e-5, what=name)


# ---------------------------------------------------------------------------
# PNASNet-5 against plain tf.nn ops.


class _PlainPnasnet(object):
  """PNASNet-5 Mobile's first layers in tf.nn ops, reading our variables.

  The cell ([2] figure 1, PNASNet-5): with h0 the ReLU-1x1-BN of the input
  and h1 the previous output (matched in size and depth):
    c0 = sep5x5(h1) + maxpool3x3(h1)    c1 = sep7x7(h0) + maxpool3x3(h0)
    c2 = sep5x5(h0) + sep3x3(h0)        c3 = sep3x3(c2) + maxpool3x3(h0)
    c4 = sep3x3(h1) + identity(h0)      output = concat(c0, ..., c4)
  Operations on h0 and h1 carry the cell's stride; 'sepKxK' is twice
  ReLU-separable conv-BN; a pooling whose depth differs is followed by a
  1x1 conv + BN; a strided or deeper identity is ReLU-1x1 conv-BN.
  """

  def __init__(self, values):
    self._values = values
    self.used = set()

  def _get(self, name):
    self.used.add(name)
    return tf.constant(self._values[name])

  def _bn(self, x, scope):
    gamma, beta, mean, variance = (self._get(scope + '/' + p) for p in _BN)
    return tf.nn.batch_normalization(x, mean, variance, beta, gamma, _EPSILON)

  def _conv(self, x, scope, stride=1, padding='SAME'):
    return tf.nn.conv2d(x, self._get(scope + '/weights'), stride, padding)

  def _sep(self, x, scope, kernel, stride):
    for n in (1, 2):
      name = '%dx%d_%d' % (kernel, kernel, n)
      x = tf.nn.separable_conv2d(
          tf.nn.relu(x), self._get(scope + '/separable_%s/depthwise_weights'
                                   % name),
          self._get(scope + '/separable_%s/pointwise_weights' % name),
          [1, stride, stride, 1] if n == 1 else [1, 1, 1, 1], 'SAME')
      x = self._bn(x, scope + '/bn_sep_' + name)
    return x

  def _pool(self, x, scope, stride, filters):
    x = tf.nn.max_pool2d(x, 3, stride, 'SAME')
    if x.shape[-1] != filters:
      x = self._bn(self._conv(x, scope + '/1x1'), scope + '/bn_1')
    return x

  def _identity(self, x, scope, stride, filters):
    if stride == 1 and x.shape[-1] == filters:
      return x
    return self._bn(self._conv(tf.nn.relu(x), scope + '/1x1', stride),
                    scope + '/bn_1')

  def _factorized_reduction(self, x, scope):
    path1 = self._conv(x[:, ::2, ::2], scope + '/path1_conv')
    shifted = tf.pad(x[:, 1:, 1:], [[0, 0], [0, 1], [0, 1], [0, 0]])
    path2 = self._conv(shifted[:, ::2, ::2], scope + '/path2_conv')
    return self._bn(tf.concat([path1, path2], 3), scope + '/final_path_bn')

  def cell(self, x, prev, filters, stride, scope):
    if prev is None:
      prev = x
    elif prev.shape[1] != x.shape[1]:
      prev = self._factorized_reduction(tf.nn.relu(prev), scope)
    elif prev.shape[-1] != filters:
      prev = self._bn(self._conv(tf.nn.relu(prev), scope + '/prev_1x1'),
                      scope + '/prev_bn')
    h0 = self._bn(self._conv(tf.nn.relu(x), scope + '/1x1'),
                  scope + '/beginning_bn')

    def side(k, name):
      return '%s/comb_iter_%d/%s' % (scope, k, name)

    c0 = (self._sep(prev, side(0, 'left'), 5, stride) +
          self._pool(prev, side(0, 'right'), stride, filters))
    c1 = (self._sep(h0, side(1, 'left'), 7, stride) +
          self._pool(h0, side(1, 'right'), stride, filters))
    c2 = (self._sep(h0, side(2, 'left'), 5, stride) +
          self._sep(h0, side(2, 'right'), 3, stride))
    c3 = (self._sep(c2, side(3, 'left'), 3, 1) +
          self._pool(h0, side(3, 'right'), stride, filters))
    c4 = (self._sep(prev, side(4, 'left'), 3, stride) +
          self._identity(h0, side(4, 'right'), stride, filters))
    return tf.concat([c0, c1, c2, c3, c4], 3)

  def network(self, images):
    """Stem and cells 0 and 1 of PNASNet-5 Mobile (54 filters)."""
    conv0 = self._bn(self._conv(images, 'conv0', 2, 'VALID'), 'conv0_bn')
    stem_0 = self.cell(conv0, None, 13, 2, 'cell_stem_0')
    stem_1 = self.cell(stem_0, conv0, 27, 2, 'cell_stem_1')
    cell_0 = self.cell(stem_1, stem_0, 54, 1, 'cell_0')
    cell_1 = self.cell(cell_0, stem_1, 54, 1, 'cell_1')
    return {'Stem': stem_1, 'Cell_0': cell_0, 'Cell_1': cell_1}


def test_pnasnet_matches_plain_tf_nn():
  # 40 -> conv0 19 -> 10 -> 5: odd and even strided cells. cell_stem_0
  # reads conv0 directly, cell_stem_1 and cell_0 reduce their previous
  # input (13 filters: odd paths), cell_1 projects it with prev_1x1.
  images = _images([2, 40, 40, 3], seed=3)
  built = build_in_graph(pnasnet.build_pnasnet_mobile, images.shape,
                         arg_scope=pnasnet.pnasnet_mobile_arg_scope(),
                         num_classes=10, is_training=False,
                         final_endpoint='Cell_1', seed=0)
  assert list(built.end_points) == ['Stem', 'Cell_0', 'Cell_1']
  with new_session(built.graph) as sess:
    perturb_batch_norm(sess)
    values = read_values(sess)
    ours = sess.run(built.end_points, {built.inputs: images})
  plain = _PlainPnasnet(values)
  with tf.Graph().as_default():
    expected = plain.network(tf.constant(images))
    with tf.compat.v1.Session() as sess:
      expected = sess.run(expected)
  assert plain.used == set(values)
  for name in ('Stem', 'Cell_0', 'Cell_1'):
    assert np.abs(expected[name]).std() > 0.1
    assert_close(ours[name], expected[name], rel=1e-5, what=name)
  assert ours['Cell_1'].shape == (2, 5, 5, 270)


# ---------------------------------------------------------------------------
# Counts against the published tables.

_MOBILE_END_POINTS = (
    ['Stem'] + ['Cell_%d' % i for i in range(4)] + ['Reduction_Cell_0'] +
    ['Cell_%d' % i for i in range(4, 8)] + ['Reduction_Cell_1'] +
    ['Cell_%d' % i for i in range(8, 12)] +
    ['global_pool', 'Logits', 'Predictions'])


def _full_graph(fn, arg_scope_fn, size):
  """The 1000-class inference graph at `size` (cheap initializers and no
  weight decay: counts only)."""
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32, [1, size, size, 3])
    with slim.arg_scope(arg_scope_fn(weight_decay=0.0)):
      with slim.arg_scope([slim.conv2d, slim.separable_conv2d,
                           slim.fully_connected],
                          weights_initializer=tf.compat.v1.zeros_initializer()):
        _, end_points = fn(images, 1000, is_training=False)
  return graph, end_points


def test_nasnet_mobile_counts_names_and_end_points():
  graph, end_points = _full_graph(nasnet.build_nasnet_mobile,
                                  nasnet.nasnet_mobile_arg_scope, 224)
  assert list(end_points) == _MOBILE_END_POINTS
  variables = global_variables(graph)
  # tf_keras' NASNetMobile (the same NASNet-A Mobile, 1000 classes):
  # count_params() 5,326,716 in 1126 weight tensors, 742 trainable.
  assert _count(graph, tf.compat.v1.GraphKeys.GLOBAL_VARIABLES) == 5326716
  assert len(variables) == 1126
  assert len(graph.get_collection(
      tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)) == 742
  assert graph.get_collection(tf.compat.v1.GraphKeys.MODEL_VARIABLES) == (
      variables)
  # The NASNet paper's ImageNet mobile table and upstream's
  # nets/nasnet/README.md: NASNet-A (4 @ 1056) 5.3M parameters, 564M
  # multiply-adds (both rounded).
  assert round(_count(graph) / 1e6, 1) == 5.3
  assert round(multiply_adds(graph) / 1e6) == 564
  shapes = {v.op.name: v.shape.as_list() for v in variables}
  for name, shape in (
      ('conv0/weights', [3, 3, 3, 32]),
      ('cell_stem_0/comb_iter_0/right/separable_7x7_1/depthwise_weights',
       [7, 7, 32, 1]),
      ('cell_stem_0/comb_iter_0/right/separable_7x7_1/pointwise_weights',
       [1, 1, 32, 11]),
      ('cell_stem_1/path2_conv/weights', [1, 1, 32, 11]),
      ('cell_0/prev_1x1/weights', None),
      ('reduction_cell_0/prev_1x1/weights', [1, 1, 264, 88]),
      ('cell_4/path1_conv/weights', [1, 1, 264, 44]),
      ('cell_11/comb_iter_4/left/bn_sep_3x3_2/moving_variance', [176]),
      ('final_layer/FC/weights', [1056, 1000]),
      ('final_layer/FC/biases', [1000])):
    assert shapes.get(name) == shape, name


@pytest.mark.parametrize('fn, arg_scope_fn, size, params, madds, count', [
    # The NASNet paper's ImageNet table and upstream's README: NASNet-A
    # (6 @ 4032) 88.9M parameters, 23.8B multiply-adds (rounded). The 88.9M
    # count the batch norm moving statistics too, as tf_keras' NASNetLarge
    # count_params() 88,949,818 does (the trainable ones are 88.76M).
    (nasnet.build_nasnet_large, nasnet.nasnet_large_arg_scope, 331, 88.9,
     23.8e9, tf.compat.v1.GraphKeys.GLOBAL_VARIABLES),
    # The PNASNet paper's ImageNet mobile and large tables: PNASNet-5
    # 5.1M parameters and 588M multiply-adds, 86.1M and 25.0B: trainable
    # parameters. The paper does not say how it counted multiply-adds; the
    # convolutions and the classifier come to 587.3M and 24.94B, 0.12% and
    # 0.25% below its figures.
    (pnasnet.build_pnasnet_mobile, pnasnet.pnasnet_mobile_arg_scope, 224,
     5.1, 588e6, tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES),
    (pnasnet.build_pnasnet_large, pnasnet.pnasnet_large_arg_scope, 331,
     86.1, 25.0e9, tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES),
])
def test_published_counts(fn, arg_scope_fn, size, params, madds, count):
  graph, _ = _full_graph(fn, arg_scope_fn, size)
  assert round(_count(graph, count) / 1e6, 1) == params
  if fn is nasnet.build_nasnet_large:
    assert _count(graph, count) == 88949818
    assert round(multiply_adds(graph) / 1e8) / 10 == 23.8
  else:
    assert multiply_adds(graph) == pytest.approx(madds, rel=0.005)


# ---------------------------------------------------------------------------
# Structure on reduced configurations.


def test_tiny_end_points_shapes_and_aux_head():
  config = _tiny(nasnet.mobile_imagenet_config)
  built = build_in_graph(nasnet.build_nasnet_mobile, [2, 128, 128, 3],
                         arg_scope=nasnet.nasnet_mobile_arg_scope(),
                         num_classes=7, config=config)
  shapes = {k: v.shape.as_list() for k, v in built.end_points.items()}
  # 128 -> conv0 63 -> 32 -> 16 -> 8 -> 4; filters 8 * 2**k, normal cells
  # output 6 and reduction cells 4 times theirs; the aux head follows
  # cell_1, the cell before the second reduction.
  assert shapes == {
      'Stem': [2, 16, 16, 16], 'Cell_0': [2, 16, 16, 48],
      'Reduction_Cell_0': [2, 8, 8, 64], 'Cell_1': [2, 8, 8, 96],
      'AuxLogits': [2, 7], 'Reduction_Cell_1': [2, 4, 4, 128],
      'Cell_2': [2, 4, 4, 192], 'global_pool': [2, 192], 'Logits': [2, 7],
      'Predictions': [2, 7]}
  assert list(shapes)[:5] == ['Stem', 'Cell_0', 'Reduction_Cell_0', 'Cell_1',
                              'AuxLogits']
  variables = {v.op.name: v.shape.as_list()
               for v in global_variables(built.graph)}
  # 8 -> pool 5x5/3 -> 2x2, the kernel of the aux head's conv.
  assert variables['aux_1/aux_logits/Conv/weights'] == [2, 2, 128, 768]
  assert variables['aux_1/aux_logits/FC/weights'] == [768, 7]
  assert variables['aux_1/aux_logits/aux_bn1/moving_mean'] == [768]
  graph = built.graph
  bn_layers = {name.rsplit('/', 1)[0] for name in variables
               if name.endswith('/moving_mean')}
  assert len(graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)) == (
      2 * len(bn_layers))
  weights = [name for name in variables if name.endswith('weights')]
  assert len(graph.get_collection(
      tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)) == len(weights)
  assert built.net.op.name.startswith('final_layer/FC')
  assert built.end_points['Predictions'].op.name == 'final_layer/predictions'


def test_pnasnet_and_cifar_layouts():
  built = build_in_graph(pnasnet.build_pnasnet_mobile, [1, 72, 72, 3],
                         arg_scope=pnasnet.pnasnet_mobile_arg_scope(),
                         num_classes=3, config=_tiny(
                             pnasnet.mobile_imagenet_config))
  # No reduction cells: cells 1 and 2 reduce themselves.
  assert {k: v.shape.as_list() for k, v in built.end_points.items()} == {
      'Stem': [1, 9, 9, 20], 'Cell_0': [1, 9, 9, 40], 'Cell_1': [1, 5, 5, 80],
      'Cell_2': [1, 3, 3, 160], 'AuxLogits': [1, 3], 'global_pool': [1, 160],
      'Logits': [1, 3], 'Predictions': [1, 3]}
  assert not [v for v in global_variables(built.graph)
              if v.op.name.startswith('reduction_cell')]
  built = build_in_graph(nasnet.build_nasnet_cifar, [1, 12, 12, 3],
                         arg_scope=nasnet.nasnet_cifar_arg_scope(),
                         num_classes=3, is_training=False,
                         config=_tiny(nasnet.cifar_config))
  assert {k: v.shape.as_list() for k, v in built.end_points.items()} == {
      'Stem': [1, 12, 12, 24], 'Cell_0': [1, 12, 12, 48],
      'Reduction_Cell_0': [1, 6, 6, 64], 'Cell_1': [1, 6, 6, 96],
      'Reduction_Cell_1': [1, 3, 3, 128], 'Cell_2': [1, 3, 3, 192],
      'global_pool': [1, 192], 'Logits': [1, 3], 'Predictions': [1, 3]}
  names = {v.op.name for v in global_variables(built.graph)}
  # The first CIFAR cell has no previous cell: it reads the stem (24 deep)
  # as its second input, projected where an operation needs 8 filters and
  # reduced for the output.
  assert 'cell_0/comb_iter_2/right/1x1/weights' in names
  assert 'cell_0/cell_output/reduction_1/path_conv/weights' in names
  assert 'l1_stem_3x3/weights' in names


def test_final_endpoint_stops_early():
  config = _tiny(nasnet.mobile_imagenet_config)
  for final_endpoint in ('Stem', 'Reduction_Cell_0', 'global_pool', 'Logits',
                         'Predictions'):
    built = build_in_graph(nasnet.build_nasnet_mobile, [1, 72, 72, 3],
                           arg_scope=nasnet.nasnet_mobile_arg_scope(),
                           num_classes=3, is_training=False, config=config,
                           final_endpoint=final_endpoint)
    assert list(built.end_points)[-1] == final_endpoint
    assert built.net is built.end_points[final_endpoint]


def test_nchw_config_builds_channels_first():
  config = _tiny(nasnet.mobile_imagenet_config, data_format='NCHW')
  built = build_in_graph(nasnet.build_nasnet_mobile, [1, 72, 72, 3],
                         arg_scope=nasnet.nasnet_mobile_arg_scope(),
                         num_classes=3, config=config)
  assert built.end_points['Reduction_Cell_1'].shape.as_list() == [1, 128, 3,
                                                                    3]
  assert built.end_points['AuxLogits'].shape.as_list() == [1, 3]
  nhwc = build_in_graph(nasnet.build_nasnet_mobile, [1, 72, 72, 3],
                        arg_scope=nasnet.nasnet_mobile_arg_scope(),
                        num_classes=3, config=_tiny(
                            nasnet.mobile_imagenet_config))
  # Channels-first keeps the checkpoint's variables.
  assert ({(v.op.name, tuple(v.shape.as_list()))
           for v in global_variables(built.graph)} ==
          {(v.op.name, tuple(v.shape.as_list()))
           for v in global_variables(nhwc.graph)})


def test_bounded_activations():
  # use_bounded_activation: ReLU6 instead of every ReLU (what upstream's
  # test checks by op type), and each branch of a combination clipped to
  # [-6, 6]. TF 2's clip_by_value is Minimum/Maximum ops, so the clipping is
  # checked by value, on inputs large enough to exceed 6 unbounded.
  images = 50 * _images([1, 12, 12, 3])
  found = {}
  for bounded in (False, True):
    config = _tiny(nasnet.cifar_config, use_bounded_activation=bounded)
    built = build_in_graph(nasnet.build_nasnet_cifar, [1, 12, 12, 3],
                           arg_scope=nasnet.nasnet_cifar_arg_scope(),
                           num_classes=3, is_training=False, config=config)
    operations = built.graph.get_operations()
    branches = [t for op in operations
                if re.search(r'/comb_iter_\d/combine/add$', op.name)
                for t in op.inputs]
    assert len(branches) == 2 * 5 * (3 + 2)  # 3 normal, 2 reduction cells
    with new_session(built.graph) as sess:
      values = sess.run(branches, {built.inputs: images})
    found[bounded] = ({op.type for op in operations
                       if op.type.startswith('Relu')},
                      max(np.abs(v).max() for v in values))
  assert found[False][0] == {'Relu'} and found[False][1] > 6
  assert found[True][0] == {'Relu6'} and found[True][1] <= 6


# ---------------------------------------------------------------------------
# Drop path.


def _drop_path_keep_prob(cell_num, step, version=None):
  """The keep probability drop path applies, read off its 1/keep scaling."""
  cell = nasnet_utils.NasNetANormalCell(
      num_conv_filters=8, drop_path_keep_prob=0.6, total_num_cells=10,
      total_training_steps=100)
  setattr(cell, '_cell_num', cell_num)  # as a network's __call__ sets it
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(0)
    ones = tf.ones([4096, 1, 1, 1])
    kwargs = {'drop_connect_version': version} if version else {}
    # The schedule's knob is an arg scope on the (private) method, as
    # upstream's.
    apply_drop_path = getattr(nasnet_utils.NasNetABaseCell,
                              '_apply_drop_path')
    with slim.arg_scope([apply_drop_path], **kwargs):
      dropped = apply_drop_path(cell, ones,
                                current_step=tf.constant(step, tf.int64))
    with tf.compat.v1.Session() as sess:
      dropped = sess.run(dropped)
  kept = dropped[dropped > 0]
  assert np.allclose(kept, kept.max())
  return 1.0 / kept.max(), kept.size / dropped.size


def test_drop_path_schedule():
  # Keep 0.6 at the end: v3 scales the drop rate 0.4 by depth
  # (cell 4 of 10: 0.5) and by training progress (step 50 of 100: 0.5).
  keep, kept_fraction = _drop_path_keep_prob(4, 50)
  assert keep == pytest.approx(0.9, rel=1e-6)
  assert kept_fraction == pytest.approx(0.9, abs=0.03)
  assert _drop_path_keep_prob(4, 50, 'v1')[0] == pytest.approx(0.8, rel=1e-6)
  assert _drop_path_keep_prob(4, 500, 'v2')[0] == pytest.approx(0.8, rel=1e-6)
  # Past total_training_steps the progress factor stays 1.
  assert _drop_path_keep_prob(9, 500)[0] == pytest.approx(0.6, rel=1e-6)


def test_drop_path_per_example_and_is_training():
  with tf.Graph().as_default():
    net = tf.ones([64, 2, 2, 3])
    is_training = tf.compat.v1.placeholder(tf.bool, [])
    dropped = nasnet_utils.drop_path(net, 0.5, is_training)
    assert nasnet_utils.drop_path(net, 0.5, is_training=False) is net
    with tf.compat.v1.Session() as sess:
      out = sess.run(dropped, {is_training: True})
      assert np.all(sess.run(dropped, {is_training: False}) == 1)
  assert set(np.unique(out)) == {0.0, 2.0}
  # Whole examples are dropped or kept.
  assert np.all(out.reshape(64, -1).min(1) == out.reshape(64, -1).max(1))


# ---------------------------------------------------------------------------
# Registry and factory.


def test_registry_entries():
  expected = {
      'nasnet_cifar': (nasnet.build_nasnet_cifar, nasnet.nasnet_cifar_arg_scope,
                       32, 10, 'cifarnet', None),
      'nasnet_mobile': (nasnet.build_nasnet_mobile,
                        nasnet.nasnet_mobile_arg_scope, 224, 1001,
                        'inception', 67),
      'nasnet_large': (nasnet.build_nasnet_large,
                       nasnet.nasnet_large_arg_scope, 331, 1001, 'inception',
                       67),
      'pnasnet_mobile': (pnasnet.build_pnasnet_mobile,
                         pnasnet.pnasnet_mobile_arg_scope, 224, 1001,
                         'inception', 67),
      'pnasnet_large': (pnasnet.build_pnasnet_large,
                        pnasnet.pnasnet_large_arg_scope, 331, 1001,
                        'inception', 67),
  }
  for name, (fn, arg_scope_fn, size, classes, preprocessing,
             minimum) in expected.items():
    info = registry.get_model(name)
    assert (info.fn, info.arg_scope_fn, info.default_image_size,
            info.num_classes, info.preprocessing, info.min_image_size) == (
                fn, arg_scope_fn, size, classes, preprocessing, minimum)
    assert fn.default_image_size == size
  assert registry.list_models('*nasnet*') == list(expected)


def test_nets_factory_applies_the_arg_scope():
  network_fn = nets_factory.get_network_fn('pnasnet_mobile', 4,
                                           weight_decay=0.01,
                                           is_training=True)
  with tf.Graph().as_default() as graph:
    logits, end_points = network_fn(
        tf.zeros([1, 72, 72, 3]), config=_tiny(pnasnet.mobile_imagenet_config))
    assert logits.shape.as_list() == [1, 4] and 'AuxLogits' in end_points
    losses = graph.get_collection(
        tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
    weights = [v for v in global_variables(graph)
               if v.op.name.endswith('weights')]
    assert len(losses) == len(weights)
    (loss,) = [l for l in losses if l.name.startswith('final_layer/FC/')]
    # Fetch the variable itself: 'final_layer/FC/weights:0' is a resource
    # variable's handle, not its value.
    (fc,) = [v for v in weights if v.op.name == 'final_layer/FC/weights']
    with new_session(graph) as sess:
      fc, loss = sess.run([fc, loss])
  assert fc.shape == (160, 4) and np.abs(fc).max() > 0
  # slim.l2_regularizer(0.01): 0.01 * sum(w**2) / 2.
  assert loss == pytest.approx(0.01 * np.sum(fc.astype(np.float64)**2) / 2,
                               rel=1e-5)


# ---------------------------------------------------------------------------
# Bad input.


def _build_mobile(shape=(1, 72, 72, 3), **kwargs):
  kwargs.setdefault('config', _tiny(nasnet.mobile_imagenet_config))
  return build_in_graph(nasnet.build_nasnet_mobile, list(shape),
                        arg_scope=nasnet.nasnet_mobile_arg_scope(),
                        num_classes=kwargs.pop('num_classes', 3), **kwargs)


def test_unknown_final_endpoint_lists_the_valid_ones():
  with pytest.raises(ValueError) as error:
    build_in_graph(nasnet.build_nasnet_mobile, [1, 224, 224, 3],
                   num_classes=3, final_endpoint='Cell_12')
  assert str(error.value) == (
      "build_nasnet_mobile: unknown final_endpoint 'Cell_12'; valid ones, in "
      'order: ' + ', '.join(_MOBILE_END_POINTS))
  with pytest.raises(ValueError, match="final_endpoint 'Logits' needs "
                     'num_classes, got None'):
    _build_mobile(num_classes=None, final_endpoint='Logits')


@pytest.mark.parametrize('name, value, message', [
    ('use_aux_head', 2, 'config.use_aux_head must be 0, 1, False or True, '
     'got 2'),
    ('data_format', 'NWHC', "config.data_format must be 'NHWC' or 'NCHW', "
     "got 'NWHC'"),
    ('drop_path_keep_prob', 0.0, r'config.drop_path_keep_prob must be in '
     r'\(0, 1\], got 0.0'),
    ('num_cells', 0, 'config.num_cells must be a positive int, got 0'),
    ('use_bounded_activation', 'yes', 'config.use_bounded_activation must be '
     "False or True, got 'yes'"),
])
def test_bad_config_values(name, value, message):
  config = _tiny(nasnet.mobile_imagenet_config)
  setattr(config, name, value)  # past set_hparam's type check
  with pytest.raises(ValueError, match='^build_nasnet_mobile: ' + message):
    _build_mobile(config=config)


def test_missing_hyperparameters():
  config = nasnet.HParams(**_tiny(pnasnet.mobile_imagenet_config).values())
  del config.use_bounded_activation
  with pytest.raises(ValueError, match='^build_pnasnet_mobile: config lacks '
                     'the hyperparameters use_bounded_activation$'):
    build_in_graph(pnasnet.build_pnasnet_mobile, [1, 72, 72, 3],
                   num_classes=3, config=config)


def test_too_small_images():
  with pytest.raises(ValueError, match=r"inputs 'inputs:0' of 66x66 leave "
                     r'the auxiliary head a 4x4 map, smaller than its 5x5 '
                     r'VALID pooling; the minimum input is 67x67 in training'):
    _build_mobile([1, 66, 66, 3])
  _build_mobile([1, 67, 67, 3])  # the minimum
  _build_mobile([1, 66, 66, 3], is_training=False)  # no aux head
  with pytest.raises(ValueError, match=r"inputs 'inputs:0' are 2x2, smaller "
                     r"than the stem's 3x3 VALID convolution \(minimum 3x3\)"):
    _build_mobile([1, 2, 2, 3], is_training=False)
  with pytest.raises(ValueError, match='needs inputs of static height and '
                     'width'):
    _build_mobile([1, None, None, 3])


# The arguments are made inside the test's graph (a tensor made at
# collection time would be an eager one).
@pytest.mark.parametrize('make_kwargs, message', [
    (lambda: {'num_classes': -1}, 'num_classes'),
    (lambda: {'is_training': tf.constant(1.0)},
     "is_training must be a Python bool or a scalar bool tensor, got "
     "float32 "),
])
def test_bad_arguments(make_kwargs, message):
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match=message):
      _build_mobile(**make_kwargs())


def test_bad_cells():
  operations, used, indices = nasnet_utils.CellSpec(
      combinations=((0, 'separable_3x3_2', 1, 'none'),) * 5,
      concatenated=(2, 3, 4, 5, 6)).base_cell_arguments()
  with pytest.raises(ValueError, match="operation 'conv_3x3' is unknown"):
    nasnet_utils.NasNetABaseCell(8, operations[:-1] + ['conv_3x3'], used,
                                 indices, 1.0, 5, 10)
  with pytest.raises(ValueError, match='only square kernels'):
    nasnet_utils.NasNetABaseCell(8, ['separable_3x5_2'] + operations[1:],
                                 used, indices, 1.0, 5, 10)
  with pytest.raises(ValueError, match=r'hiddenstate_indices\[1\] = 2: '
                     'combination 0 can only read hidden states 0..1'):
    nasnet_utils.NasNetABaseCell(8, operations, used, [0, 2] + indices[2:],
                                 1.0, 5, 10)
  with pytest.raises(ValueError, match='needs 10 operations'):
    nasnet_utils.NasNetABaseCell(8, operations[:4], used, indices, 1.0, 5, 10)
  with tf.Graph().as_default():
    cell = nasnet_utils.NasNetANormalCell(8, 1.0, 5, 10)
    with pytest.raises(ValueError, match='arg scope that sets data_format'):
      cell(tf.zeros([1, 8, 8, 8]), scope='cell')
    with pytest.raises(ValueError, match='data_format is not set'):
      nasnet_utils.global_avg_pool(tf.zeros([1, 8, 8, 8]))


@pytest.mark.parametrize('size', [7, 8])
@pytest.mark.parametrize('kind', ['avg_pool', 'max_pool'])
def test_cell_pool_zeros_pads_as_keras(size, kind):
  # Keras' correct_pad: k // 2 zeros after, one less before for even sizes;
  # the zeros count in the average and take part in the max.
  values = _images([1, size, size, 2], seed=3) - 2.0  # all below 0
  operation = nasnet_utils._parse_operation(kind + '_3x3')  # pylint: disable=protected-access
  with tf.Graph().as_default():
    with slim.arg_scope([nasnet_utils.get_channel_index],
                        data_format='NHWC'):
      with slim.arg_scope([nasnet_utils.cell_pool], padding='ZEROS'):
        pooled = nasnet_utils.cell_pool(tf.constant(values), 2, operation,
                                        False)
      same = nasnet_utils.cell_pool(tf.constant(values), 2, operation, False)
    with tf.compat.v1.Session() as sess:
      pooled, same = sess.run((pooled, same))
  before = 1 - (1 - size % 2)
  padded = np.pad(values, [(0, 0), (before, 1), (before, 1), (0, 0)])
  windows = np.stack([padded[:, i:i + 3, j:j + 3]
                      for i in range(0, padded.shape[1] - 2, 2)
                      for j in range(0, padded.shape[2] - 2, 2)], axis=1)
  reduce = np.mean if kind == 'avg_pool' else np.max
  expected = reduce(windows, axis=(2, 3)).reshape(pooled.shape)
  np.testing.assert_allclose(pooled, expected, rtol=1e-6, atol=1e-6)
  # slim's SAME pooling leaves the zeros out: the border differs.
  assert np.abs(same - pooled).max() > 0.1


def test_cell_pool_refuses_an_unknown_padding():
  operation = nasnet_utils._parse_operation('max_pool_3x3')  # pylint: disable=protected-access
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match="cell_pool: padding must be one of "
                                         "SAME, ZEROS, got 'VALID'"):
      nasnet_utils.cell_pool(tf.zeros([1, 8, 8, 2]), 2, operation, False,
                             padding='VALID')
