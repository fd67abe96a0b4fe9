"""TF-Slim's resnet_utils / resnet_v1 / resnet_v2 unit tests, written once.

tf-slim ships `resnet_v1_test.py` and `resnet_v2_test.py`, which differ only
in the bottleneck; here each test runs for both versions through the
`version` fixture. Tiny block specs (base_depth 1-8) keep the graphs small;
the full-size shape checks use one model per version with static shape
inference only.

[1] Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun.
    Deep Residual Learning for Image Recognition. arXiv:1512.03385
[2] Liang-Chieh Chen, George Papandreou, Iasonas Kokkinos, Kevin Murphy,
    Alan Yuille. DeepLab: Semantic Image Segmentation with Deep Convolutional
    Nets, Atrous Convolution, and Fully Connected CRFs. arXiv:1606.00915

Typical use:

   TF_CPP_MIN_LOG_LEVEL=2 pytest -q tests/test_resnet_utils.py -k atrous
"""

import collections

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import utils as slim_utils

from conftest import assert_close
from conftest import build_in_graph
from conftest import copy_variables
from conftest import create_test_input
from conftest import global_variables
from conftest import mesh_input_value
from conftest import new_session
from conftest import perturb_batch_norm
from conftest import read_values
from nets import _layers
from nets import resnet_utils
from nets import resnet_v1
from nets import resnet_v2

_GRAPH_KEYS = tf.compat.v1.GraphKeys

_Version = collections.namedtuple(
    '_Version', ['name', 'module', 'bottleneck', 'block', 'generator',
                 'unit_scope', 'model_50', 'ref_index'])

_VERSIONS = {
    'v1': _Version('v1', resnet_v1, resnet_v1.bottleneck,
                   resnet_v1.resnet_v1_block, resnet_v1.resnet_v1,
                   'bottleneck_v1', resnet_v1.resnet_v1_50, 0),
    'v2': _Version('v2', resnet_v2, resnet_v2.bottleneck,
                   resnet_v2.resnet_v2_block, resnet_v2.resnet_v2,
                   'bottleneck_v2', resnet_v2.resnet_v2_50, 1),
}


@pytest.fixture(params=sorted(_VERSIONS))
def version(request):
  """ResNet v1 or v2: its module, bottleneck, block builder and generator."""
  return _VERSIONS[request.param]


def _evaluate(graph, fetches, feed_dict=None, perturb=False):
  """Initializes `graph`'s variables and evaluates `fetches` once."""
  with new_session(graph) as sess:
    if perturb:
      perturb_batch_norm(sess)
    return sess.run(fetches, feed_dict)


def _small_blocks(version):
  """The shallow, thin blocks of slim's `_resnet_small`."""
  return [
      version.block('block1', base_depth=1, num_units=3, stride=2),
      version.block('block2', base_depth=2, num_units=3, stride=2),
      version.block('block3', base_depth=4, num_units=3, stride=2),
      version.block('block4', base_depth=8, num_units=2, stride=1),
  ]


def _resnet_small(version, inputs, scope=None, **kwargs):
  """slim's `_resnet_small`: a complete but tiny network (nominal stride 32)."""
  return version.generator(inputs, _small_blocks(version),
                           scope=scope or 'resnet_%s_small' % version.name,
                           **kwargs)


# ---------------------------------------------------------------- subsample


def test_subsample_factor_one_is_identity():
  with tf.Graph().as_default():
    inputs = create_test_input(1, 5, 5, 2)
    assert resnet_utils.subsample(inputs, 1) is inputs
    assert resnet_utils.subsample(inputs, 1, scope='shortcut') is inputs


@pytest.mark.parametrize('size,expected', [(3, [0, 2, 6, 8]),
                                           (4, [0, 2, 8, 10])])
def test_subsample(size, expected):
  graph = tf.Graph()
  with graph.as_default():
    inputs = tf.reshape(tf.range(size * size, dtype=tf.float32),
                        [1, size, size, 1])
    outputs = resnet_utils.subsample(inputs, 2)
  np.testing.assert_array_equal(
      _evaluate(graph, outputs), np.reshape(expected, [1, 2, 2, 1]))


# -------------------------------------------------------------- conv2d_same

# slim's testConv2DSameEven / testConv2DSameOdd: the input is the mesh grid
# y + x, the kernel the 3x3 mesh grid; y1 = conv stride 1 (SAME), y2 =
# subsample(y1, 2), y3 = conv2d_same(stride 2) (= y2), y4 = conv stride 2
# (SAME), which differs from y2 for even sizes.
_CONV2D_SAME_CASES = {
    'even': (4, [[14, 28, 43, 26], [28, 48, 66, 37], [43, 66, 84, 46],
                 [26, 37, 46, 22]], [[14, 43], [43, 84]], [[48, 37],
                                                           [37, 22]]),
    'odd': (5, [[14, 28, 43, 58, 34], [28, 48, 66, 84, 46],
                [43, 66, 84, 102, 55], [58, 84, 102, 120, 64],
                [34, 46, 55, 64, 30]], [[14, 43, 34], [43, 84, 55],
                                        [34, 55, 30]], [[14, 43, 34],
                                                        [43, 84, 55],
                                                        [34, 55, 30]]),
}


@pytest.mark.parametrize('conv', ['nets', 'tf_slim'])
@pytest.mark.parametrize('case', sorted(_CONV2D_SAME_CASES))
def test_conv2d_same(case, conv, slim_reference):
  """conv2d_same(stride 2) == subsample(conv stride 1), odd and even sizes.

  The plain convolutions are nets' conv2d or tf-slim's own; both must share
  the variables `Conv/weights` and `Conv/biases` with conv2d_same.
  """
  del slim_reference  # Makes tf-slim's conv2d runnable.
  n, y1_expected, y2_expected, y4_expected = _CONV2D_SAME_CASES[case]
  conv2d = _layers.conv2d if conv == 'nets' else slim.conv2d
  graph = tf.Graph()
  with graph.as_default():
    x = create_test_input(1, n, n, 1)
    w = tf.reshape(create_test_input(1, 3, 3, 1), [3, 3, 1, 1])
    tf.compat.v1.get_variable('Conv/weights', initializer=w)
    tf.compat.v1.get_variable('Conv/biases', initializer=tf.zeros([1]))
    tf.compat.v1.get_variable_scope().reuse_variables()
    y1 = conv2d(x, 1, [3, 3], stride=1, scope='Conv')
    y2 = resnet_utils.subsample(y1, 2)
    y3 = resnet_utils.conv2d_same(x, 1, 3, stride=2, scope='Conv')
    y4 = conv2d(x, 1, [3, 3], stride=2, scope='Conv')
    assert len(global_variables(graph)) == 2
  values = _evaluate(graph, [y1, y2, y3, y4])
  n2 = len(y2_expected)
  for value, expected in zip(values, [y1_expected, y2_expected, y2_expected,
                                      y4_expected]):
    np.testing.assert_allclose(
        value, np.reshape(expected, [1, len(expected), len(expected), 1]))
  assert values[2].shape == (1, n2, n2, 1)


@pytest.mark.parametrize('size', [8, 9, 10, 11])
@pytest.mark.parametrize('rate', [1, 2])
def test_conv2d_same_equals_dense_then_subsample(size, rate):
  """The identity of the conv2d_same docstring, for random data and rates."""
  graph = tf.Graph()
  with graph.as_default():
    x = tf.constant(np.random.RandomState(size).normal(
        size=[2, size, size, 3]).astype(np.float32))
    dense = _layers.conv2d(x, 4, [3, 3], stride=1, rate=rate, scope='Conv')
    tf.compat.v1.get_variable_scope().reuse_variables()
    strided = resnet_utils.conv2d_same(x, 4, 3, stride=2, rate=rate,
                                       scope='Conv')
    subsampled = resnet_utils.subsample(dense, 2)
  strided, subsampled = _evaluate(graph, [strided, subsampled])
  assert_close(strided, subsampled, what='conv2d_same')


# -------------------------------------------------------------------- Block

_TUPLE_UNITS = [(256, 64, 1)] * 2 + [(256, 64, 2)]
_DICT_UNITS = [{'depth': 256, 'depth_bottleneck': 64, 'stride': 1}] * 2 + [
    {'depth': 256, 'depth_bottleneck': 64, 'stride': 2}]


def test_block_tuple_and_dict_specs_build_identical_graphs(version):
  specs = {
      'tuples': [resnet_utils.Block('block1', version.bottleneck,
                                    _TUPLE_UNITS)],
      'dicts': [resnet_utils.Block('block1', version.bottleneck,
                                   _DICT_UNITS)],
      'block builder': [version.block('block1', base_depth=64, num_units=3,
                                      stride=2)],
  }
  graphs = {}
  for kind, blocks in specs.items():
    built = build_in_graph(
        lambda x, b=blocks: version.generator(x, b, num_classes=10,
                                              scope='resnet'),
        [1, 32, 32, 3], arg_scope=version.module.resnet_arg_scope())
    graphs[kind] = built
  defs = {k: b.graph.as_graph_def() for k, b in graphs.items()}
  assert defs['tuples'] == defs['dicts']
  assert defs['tuples'] == defs['block builder']
  assert list(graphs['tuples'].end_points) == list(graphs['dicts'].end_points)
  assert ([v.op.name for v in global_variables(graphs['tuples'].graph)] ==
          [v.op.name for v in global_variables(graphs['dicts'].graph)])


def test_block_tuple_spec_matches_tf_slim_dict_spec(version, slim_reference):
  """Our tuple spec builds tf-slim's graph of the same dict spec."""
  ref_module = slim_reference[version.ref_index]
  ref_utils = slim_reference[2]
  ours = build_in_graph(
      lambda x: version.generator(
          x, [resnet_utils.Block('block1', version.bottleneck,
                                 _TUPLE_UNITS)], num_classes=10,
          scope='resnet'),
      [1, 32, 32, 3], arg_scope=version.module.resnet_arg_scope())
  ref_generator = getattr(ref_module, 'resnet_' + version.name)
  ref = build_in_graph(
      lambda x: ref_generator(
          x, [ref_utils.Block('block1', ref_module.bottleneck, _DICT_UNITS)],
          num_classes=10, scope='resnet'),
      [1, 32, 32, 3], arg_scope=ref_utils.resnet_arg_scope())
  describe = lambda g: [(v.op.name, v.shape.as_list())
                        for v in global_variables(g)]
  assert describe(ours.graph) == describe(ref.graph)
  extra = {'global_pool', 'resnet/spatial_squeeze'}
  assert [k for k in ours.end_points if k not in extra] == list(ref.end_points)


# ------------------------------------------------------- stack_blocks_dense


def _resnet_plain(inputs, blocks, output_stride=None, scope=None):
  """slim's `_resnet_plain`: the blocks alone, conv outputs collected."""
  with tf.compat.v1.variable_scope(scope, values=[inputs]):
    with slim.arg_scope([slim.conv2d], outputs_collections='end_points'):
      net = resnet_utils.stack_blocks_dense(inputs, blocks, output_stride)
      return net, slim_utils.convert_collection_to_dict('end_points')


def test_stack_blocks_dense_end_points(version):
  """slim's testEndPointsV1 / testEndPointsV2."""
  blocks = [
      version.block('block1', base_depth=1, num_units=2, stride=2),
      version.block('block2', base_depth=2, num_units=2, stride=1),
  ]
  built = build_in_graph(
      lambda x: _resnet_plain(x, blocks, scope='tiny'), [2, 32, 16, 3],
      arg_scope=version.module.resnet_arg_scope())
  unit = version.unit_scope
  expected = []
  for block in ('block1', 'block2'):
    expected += ['tiny/%s/unit_1/%s/shortcut' % (block, unit)]
    for u in (1, 2):
      expected += ['tiny/%s/unit_%d/%s/conv%d' % (block, u, unit, c)
                   for c in (1, 2, 3)]
  assert sorted(built.end_points) == sorted(expected)


def test_stack_blocks_dense_collects_units_and_blocks(version,
                                                      slim_reference):
  """With every layer collecting, the same ordered end points as tf-slim."""
  ref_module, ref_utils = slim_reference[version.ref_index], slim_reference[2]
  results = []
  for module, utils in ((version.module, resnet_utils),
                        (ref_module, ref_utils)):
    blocks = [
        module.resnet_v1_block('block1', 1, 2, 2) if version.name == 'v1' else
        module.resnet_v2_block('block1', 1, 2, 2),
        module.resnet_v1_block('block2', 2, 2, 1) if version.name == 'v1' else
        module.resnet_v2_block('block2', 2, 2, 1),
    ]

    def plain(x, module=module, utils=utils, blocks=blocks):
      with tf.compat.v1.variable_scope('tiny'):
        with slim.arg_scope([slim.conv2d, module.bottleneck,
                             utils.stack_blocks_dense],
                            outputs_collections='end_points'):
          net = utils.stack_blocks_dense(x, blocks)
          return net, slim_utils.convert_collection_to_dict('end_points')

    arg_scope = (version.module.resnet_arg_scope() if utils is resnet_utils
                 else ref_utils.resnet_arg_scope())
    built = build_in_graph(plain, [2, 32, 16, 3], arg_scope=arg_scope)
    results.append([(k, v.shape.as_list())
                    for k, v in built.end_points.items()])
  assert results[0] == results[1]
  keys = [k for k, _ in results[0]]
  assert 'tiny/block1' in keys and 'tiny/block2' in keys
  assert 'tiny/block1/unit_2/%s' % version.unit_scope in keys


def _stack_blocks_nondense(net, blocks):
  """slim's simplified stacker without output_stride control."""
  for block in blocks:
    with tf.compat.v1.variable_scope(block.scope, 'block', [net]):
      for i, unit in enumerate(block.args):
        with tf.compat.v1.variable_scope('unit_%d' % (i + 1), values=[net]):
          net = block.unit_fn(net, rate=1, **unit)
  return net


@pytest.mark.parametrize('output_stride', [1, 2, 4, 8, None])
def test_atrous_values_bottleneck(version, output_stride):
  """slim's testAtrousValuesBottleneck: dense + subsample == nominal."""
  blocks = [
      version.block('block1', base_depth=1, num_units=2, stride=2),
      version.block('block2', base_depth=2, num_units=2, stride=2),
      version.block('block3', base_depth=4, num_units=2, stride=2),
      version.block('block4', base_depth=8, num_units=2, stride=1),
  ]
  nominal_stride = 8
  graph = tf.Graph()
  # Odd and even input dimensions.
  height, width = 30, 31
  with graph.as_default():
    tf.compat.v1.set_random_seed(0)
    with slim.arg_scope(version.module.resnet_arg_scope()):
      with slim.arg_scope([slim.batch_norm], is_training=False):
        inputs = create_test_input(1, height, width, 3)
        output = resnet_utils.stack_blocks_dense(inputs, blocks,
                                                 output_stride)
        factor = 1 if output_stride is None else (nominal_stride //
                                                  output_stride)
        output = resnet_utils.subsample(output, factor)
        tf.compat.v1.get_variable_scope().reuse_variables()
        expected = _stack_blocks_nondense(inputs, blocks)
  # Random batch norm statistics make the check stricter than slim's.
  output, expected = _evaluate(graph, [output, expected], perturb=True)
  np.testing.assert_allclose(output, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize('output_stride', [4, 8, 16, 32, None])
def test_atrous_fully_convolutional_values(version, output_stride):
  """slim's testAtrousFullyConvolutionalValues on the small network."""
  nominal_stride = 32
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(0)
    with slim.arg_scope(version.module.resnet_arg_scope()):
      inputs = create_test_input(2, 81, 81, 3)
      output, _ = _resnet_small(version, inputs, num_classes=None,
                                is_training=False, global_pool=False,
                                output_stride=output_stride)
      factor = 1 if output_stride is None else (nominal_stride //
                                                output_stride)
      output = resnet_utils.subsample(output, factor)
      tf.compat.v1.get_variable_scope().reuse_variables()
      expected, _ = _resnet_small(version, inputs, num_classes=None,
                                  is_training=False, global_pool=False)
  output, expected = _evaluate(graph, [output, expected], perturb=True)
  np.testing.assert_allclose(output, expected, atol=2e-4, rtol=1e-4)


def test_output_stride_unreachable_in_stack_blocks_dense(version):
  blocks = _small_blocks(version)
  with tf.Graph().as_default():
    inputs = create_test_input(1, 32, 32, 3)
    with pytest.raises(ValueError, match='output_stride cannot be reached'):
      resnet_utils.stack_blocks_dense(inputs, blocks, output_stride=3)


# ----------------------------------------- store_non_strided_activations (v1)


def test_store_non_strided_activations_shapes():
  blocks = _small_blocks(_VERSIONS['v1'])
  shapes = {}
  for store in (False, True):
    built = build_in_graph(
        lambda x, s=store: resnet_v1.resnet_v1(
            x, blocks, num_classes=None, global_pool=False,
            store_non_strided_activations=s, scope='resnet'),
        [2, 224, 224, 3], arg_scope=resnet_v1.resnet_arg_scope())
    shapes[store] = {k: v.shape.as_list()[1] for k, v in
                     built.end_points.items() if k.count('/') == 1}
    assert built.net.shape.as_list() == [2, 7, 7, 32]
  assert shapes[False] == {'resnet/conv1': 112, 'resnet/block1': 28,
                           'resnet/block2': 14, 'resnet/block3': 7,
                           'resnet/block4': 7}
  # Each block's end point is taken before the block's last stride.
  assert shapes[True] == {'resnet/conv1': 112, 'resnet/block1': 56,
                          'resnet/block2': 28, 'resnet/block3': 14,
                          'resnet/block4': 7}


def test_store_non_strided_activations_values():
  """The undecimated block ends subsample to the strided ones; same output."""
  version = _VERSIONS['v1']
  graph = tf.Graph()
  with graph.as_default():
    inputs = create_test_input(2, 65, 65, 3)
    with slim.arg_scope(resnet_v1.resnet_arg_scope()):
      strided, strided_points = _resnet_small(
          version, inputs, num_classes=None, is_training=False,
          global_pool=False, scope='resnet')
      stored, stored_points = _resnet_small(
          version, inputs, num_classes=None, is_training=False,
          global_pool=False, store_non_strided_activations=True,
          scope='resnet', reuse=True)
  fetches = {'strided': strided, 'stored': stored}
  for block in ('block1', 'block2', 'block3', 'block4'):
    fetches['strided/' + block] = strided_points['resnet/' + block]
    fetches['stored/' + block] = stored_points['resnet/' + block]
  values = _evaluate(graph, fetches, perturb=True)
  assert_close(values['stored'], values['strided'], what='output')
  for block, stride in (('block1', 2), ('block2', 2), ('block3', 2),
                        ('block4', 1)):
    stored = values['stored/' + block]
    assert_close(stored[:, ::stride, ::stride], values['strided/' + block],
                 what=block)
    if stride > 1:
      assert stored.shape[1] > values['strided/' + block].shape[1]


# ------------------------------------------------ full-size end-point shapes


def _full_size_shapes(version, size, output_stride=None):
  built = build_in_graph(
      lambda x: version.model_50(x, num_classes=None, is_training=False,
                                 global_pool=False,
                                 output_stride=output_stride),
      [2, size, size, 3], arg_scope=version.module.resnet_arg_scope())
  assert not built.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)
  return {k: v.shape.as_list() for k, v in built.end_points.items()}


def test_end_point_shapes_224(version):
  shapes = _full_size_shapes(version, 224)
  scope = 'resnet_%s_50' % version.name
  assert shapes[scope + '/conv1'] == [2, 112, 112, 64]
  for block, (size, depth) in enumerate([(28, 256), (14, 512), (7, 1024),
                                         (7, 2048)]):
    assert shapes['%s/block%d' % (scope, block + 1)] == [2, size, size, depth]
  # The stride sits on the last unit of a block.
  unit = '%s/block1/unit_%%d/%s' % (scope, version.unit_scope)
  assert shapes[unit % 1] == [2, 56, 56, 256]
  assert shapes[unit % 2] == [2, 56, 56, 256]
  assert shapes[unit % 3] == [2, 28, 28, 256]
  assert shapes[(unit % 3) + '/conv1'] == [2, 56, 56, 64]
  assert shapes[(unit % 3) + '/conv2'] == [2, 28, 28, 64]


def test_end_point_shapes_321(version):
  shapes = _full_size_shapes(version, 321)
  scope = 'resnet_%s_50' % version.name
  assert shapes[scope + '/conv1'] == [2, 161, 161, 64]
  for block, (size, depth) in enumerate([(41, 256), (21, 512), (11, 1024),
                                         (11, 2048)]):
    assert shapes['%s/block%d' % (scope, block + 1)] == [2, size, size, depth]


def test_end_point_shapes_321_output_stride_8(version):
  shapes = _full_size_shapes(version, 321, output_stride=8)
  scope = 'resnet_%s_50' % version.name
  assert shapes[scope + '/conv1'] == [2, 161, 161, 64]
  for block, depth in enumerate([256, 512, 1024, 2048]):
    assert shapes['%s/block%d' % (scope, block + 1)] == [2, 41, 41, depth]
  for key, shape in shapes.items():
    # Only block1's units run above stride 8, before its (last) stride.
    if key.startswith(scope + '/block') and not key.startswith(
        scope + '/block1/'):
      assert shape[1:3] == [41, 41], key


def test_small_network_shapes(version):
  """slim's testClassificationEndPoints / Shapes and the rootless case."""
  built = build_in_graph(
      lambda x: _resnet_small(version, x, num_classes=10, scope='resnet'),
      [2, 224, 224, 3], arg_scope=version.module.resnet_arg_scope())
  assert built.net.op.name.startswith('resnet/')
  assert built.net.shape.as_list() == [2, 10]
  assert built.end_points['resnet/logits'].shape.as_list() == [2, 1, 1, 10]
  assert built.end_points['predictions'].shape.as_list() == [2, 10]
  for block, (size, depth) in enumerate([(28, 4), (14, 8), (7, 16),
                                         (7, 32)]):
    assert built.end_points['resnet/block%d' % (block + 1)].shape.as_list(
    ) == [2, size, size, depth]
  rootless = build_in_graph(
      lambda x: _resnet_small(version, x, num_classes=None, global_pool=False,
                              include_root_block=False, scope='resnet'),
      [2, 128, 128, 3], arg_scope=version.module.resnet_arg_scope())
  for block, (size, depth) in enumerate([(64, 4), (32, 8), (16, 16),
                                         (16, 32)]):
    assert rootless.end_points['resnet/block%d' % (block + 1)].shape.as_list(
    ) == [2, size, size, depth]


# ------------------------------------------------------------ unknown shapes


def test_unknown_batch_size(version):
  built = build_in_graph(
      lambda x: _resnet_small(version, x, num_classes=10, scope='resnet'),
      [None, 65, 65, 3], arg_scope=version.module.resnet_arg_scope())
  assert built.net.shape.as_list() == [None, 10]
  assert built.end_points['resnet/logits'].shape.as_list() == [None, 1, 1, 10]
  output = _evaluate(built.graph, built.net,
                     {built.inputs: mesh_input_value(2, 65, 65, 3)})
  assert output.shape == (2, 10)


@pytest.mark.parametrize('output_stride,size', [(None, 3), (8, 9)])
def test_unknown_height_width(version, output_stride, size):
  built = build_in_graph(
      lambda x: _resnet_small(version, x, num_classes=None, global_pool=False,
                              output_stride=output_stride),
      [2, None, None, 3], arg_scope=version.module.resnet_arg_scope())
  assert built.net.shape.as_list() == [2, None, None, 32]
  output = _evaluate(built.graph, built.net,
                     {built.inputs: mesh_input_value(2, 65, 65, 3)})
  assert output.shape == (2, size, size, 32)


def test_unknown_batch_height_width(version):
  built = build_in_graph(
      lambda x: _resnet_small(version, x, num_classes=10, scope='resnet'),
      [None, None, None, 3], arg_scope=version.module.resnet_arg_scope())
  assert built.net.shape.as_list() == [None, 10]
  for batch, size in ((1, 33), (3, 65)):
    output, block4 = _evaluate(
        built.graph, [built.net, built.end_points['resnet/block4']],
        {built.inputs: mesh_input_value(batch, size, size, 3)})
    assert output.shape == (batch, 10)
    assert block4.shape == (batch, (size + 31) // 32, (size + 31) // 32, 32)


# -------------------------------------------------------------------- reuse


def test_reuse_builds_a_second_tower(version):
  graph = tf.Graph()
  with graph.as_default():
    first_inputs = tf.compat.v1.placeholder(tf.float32, [2, 33, 33, 3])
    second_inputs = tf.compat.v1.placeholder(tf.float32, [1, 33, 33, 3])
    with slim.arg_scope(version.module.resnet_arg_scope()):
      first, _ = _resnet_small(version, first_inputs, num_classes=10,
                               is_training=False, scope='resnet')
      num_variables = len(global_variables(graph))
      num_trainable = len(graph.get_collection(
          _GRAPH_KEYS.TRAINABLE_VARIABLES))
      second, second_points = _resnet_small(version, second_inputs,
                                            num_classes=10, is_training=False,
                                            reuse=True, scope='resnet')
  assert len(global_variables(graph)) == num_variables
  assert len(graph.get_collection(
      _GRAPH_KEYS.TRAINABLE_VARIABLES)) == num_trainable
  assert second.shape.as_list() == [1, 10]
  # The second tower's end points are its own tensors.
  assert second_points['resnet/logits'].graph is graph
  images = mesh_input_value(2, 33, 33, 3) / 64.0
  first_value, second_value = _evaluate(
      graph, [first, second], {first_inputs: images,
                               second_inputs: images[1:]}, perturb=True)
  assert_close(second_value, first_value[1:], what='second tower')


# ----------------------------------------------- depth_multiplier (v1 only)


@pytest.mark.parametrize('depth_multiplier,min_base_depth', [(0.25, 8),
                                                             (0.25, 32),
                                                             (0.5, 8),
                                                             (0, 5)])
def test_v1_depth_multiplier(depth_multiplier, min_base_depth):
  built = build_in_graph(
      lambda x: resnet_v1.resnet_v1_50(
          x, num_classes=None, global_pool=False,
          depth_multiplier=depth_multiplier, min_base_depth=min_base_depth),
      [1, 64, 64, 3], arg_scope=resnet_v1.resnet_arg_scope())
  shapes = {v.op.name: v.shape.as_list() for v in global_variables(built.graph)}
  # The root block is not scaled.
  assert shapes['resnet_v1_50/conv1/weights'] == [7, 7, 3, 64]
  for block, base_depth in enumerate((64, 128, 256, 512)):
    depth = max(int(base_depth * depth_multiplier), min_base_depth)
    scope = 'resnet_v1_50/block%d' % (block + 1)
    assert built.end_points[scope].shape.as_list()[-1] == 4 * depth
    assert shapes[scope + '/unit_1/bottleneck_v1/conv2/weights'] == [
        3, 3, depth, depth]
    assert shapes[scope + '/unit_1/bottleneck_v1/conv3/weights'] == [
        1, 1, depth, 4 * depth]


def test_v1_depth_multiplier_one_is_the_default():
  default = build_in_graph(
      lambda x: resnet_v1.resnet_v1_50(x, num_classes=10), [1, 64, 64, 3],
      arg_scope=resnet_v1.resnet_arg_scope())
  explicit = build_in_graph(
      lambda x: resnet_v1.resnet_v1_50(x, num_classes=10, depth_multiplier=1,
                                       min_base_depth=8), [1, 64, 64, 3],
      arg_scope=resnet_v1.resnet_arg_scope())
  assert default.graph.as_graph_def() == explicit.graph.as_graph_def()


# ------------------------------------------------------------- is_training


def _small_in_mode(version, is_training, outer_is_training=None):
  """The small network in a fresh graph, given `is_training` (any kind)."""

  def model(x):
    if is_training == 'tensor':
      mode = tf.compat.v1.placeholder_with_default(True, [], name='mode')
    else:
      mode = is_training
    with slim.arg_scope([slim.batch_norm] if outer_is_training is not None
                        else [], **({} if outer_is_training is None else
                                    {'is_training': outer_is_training})):
      return _resnet_small(version, x, num_classes=10, is_training=mode,
                           scope='resnet')

  return build_in_graph(model, [2, 33, 33, 3],
                        arg_scope=version.module.resnet_arg_scope())


def _moving_statistics(sess):
  return {k: v for k, v in read_values(sess).items()
          if k.endswith(('/moving_mean', '/moving_variance'))}


def test_is_training_tensor_switches_batch_norm(version):
  tensor = _small_in_mode(version, 'tensor')
  training = _small_in_mode(version, True)
  inference = _small_in_mode(version, False)
  mode = tensor.graph.get_tensor_by_name('mode:0')
  images = mesh_input_value(2, 33, 33, 3) / 64.0
  updates = tensor.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)
  assert len(updates) == len(training.graph.get_collection(
      _GRAPH_KEYS.UPDATE_OPS))
  assert not inference.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)
  with new_session(tensor.graph) as sess, \
      new_session(training.graph) as training_sess, \
      new_session(inference.graph) as inference_sess:
    perturb_batch_norm(sess)
    copy_variables(sess, training_sess)
    copy_variables(sess, inference_sess)
    for value, built, other_sess in ((True, training, training_sess),
                                     (False, inference, inference_sess)):
      expected = other_sess.run(built.end_points, {built.inputs: images})
      actual = sess.run(tensor.end_points, {tensor.inputs: images,
                                            mode: value})
      for key in expected:
        assert_close(actual[key], expected[key], what='%s %s' % (value, key))
    # Updates run as no-ops when the tensor says inference...
    before = _moving_statistics(sess)
    sess.run(updates, {tensor.inputs: images, mode: False})
    after = _moving_statistics(sess)
    for key, value in before.items():
      np.testing.assert_array_equal(after[key], value, err_msg=key)
    # ... and as the python-bool graph's updates in training.
    sess.run(updates, {tensor.inputs: images})
    training_sess.run(training.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS),
                      {training.inputs: images})
    after = _moving_statistics(sess)
    expected = _moving_statistics(training_sess)
    changed = 0
    for key, value in expected.items():
      assert_close(after[key], value, what=key)
      changed += int(not np.array_equal(after[key], before[key]))
    assert changed == len(expected)


@pytest.mark.parametrize('outer', [False, True])
def test_v1_is_training_none_leaves_batch_norm_to_arg_scope(outer):
  version = _VERSIONS['v1']
  left = _small_in_mode(version, None, outer_is_training=outer)
  explicit = _small_in_mode(version, outer)
  assert (len(left.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)) ==
          len(explicit.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)))
  assert bool(left.graph.get_collection(_GRAPH_KEYS.UPDATE_OPS)) == outer
  assert left.graph.as_graph_def() == explicit.graph.as_graph_def()
  images = mesh_input_value(2, 33, 33, 3) / 64.0
  with new_session(left.graph) as sess, \
      new_session(explicit.graph) as explicit_sess:
    perturb_batch_norm(sess)
    copy_variables(sess, explicit_sess)
    assert_close(sess.run(left.net, {left.inputs: images}),
                 explicit_sess.run(explicit.net, {explicit.inputs: images}),
                 what='logits')


def test_v1_is_training_none_without_scope_is_batch_norm_default():
  """batch_norm's own default (is_training=True) applies."""
  version = _VERSIONS['v1']
  left = _small_in_mode(version, None)
  training = _small_in_mode(version, True)
  assert left.graph.as_graph_def() == training.graph.as_graph_def()
