"""Tests of nets.resnext and the grouped convolution of nets._grouped.

References: a numpy grouped convolution (forward and both gradients),
keras-applications 1.0.8's ResNeXt50 with the same weights, and torchvision's
published parameter counts.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import assert_close, assign_values, build_in_graph
from conftest import assert_nchw_refused, new_session, perturb_batch_norm
from nets import _grouped
from nets import _layers
from nets import registry
from nets import resnet_utils
from nets import resnext
from nets import runtime

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------
# Grouped convolution.


def _np_grouped_conv(x, w, groups, stride, rate, padding, upstream):
  """Grouped conv of NHWC `x` with HWIO `w` in float64, and its gradients.

  Returns:
    (y, dL/dx, dL/dw) for L = sum(y * upstream).
  """
  x = x.astype(np.float64)
  w = w.astype(np.float64)
  n, h, wd, c = x.shape
  kh, kw, cg, co = w.shape
  cog = co // groups
  keh, kew = (kh - 1) * rate + 1, (kw - 1) * rate + 1
  if padding == 'SAME':
    oh, ow = -(-h // stride), -(-wd // stride)
    ph = max((oh - 1) * stride + keh - h, 0)
    pw = max((ow - 1) * stride + kew - wd, 0)
  else:
    oh, ow = (h - keh) // stride + 1, (wd - kew) // stride + 1
    ph = pw = 0
  pads = ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0))
  xp = np.pad(x, pads)
  r = upstream.astype(np.float64).reshape(n, oh, ow, groups, cog)
  y = np.zeros((n, oh, ow, groups, cog))
  dxp = np.zeros_like(xp)
  dw = np.zeros_like(w)
  for i in range(kh):
    for j in range(kw):
      window = (slice(None),
                slice(i * rate, i * rate + (oh - 1) * stride + 1, stride),
                slice(j * rate, j * rate + (ow - 1) * stride + 1, stride))
      patch = xp[window].reshape(n, oh, ow, groups, cg)
      # Output channel g * cog + b reads input channels g * cg + a.
      wg = w[i, j].reshape(cg, groups, cog)
      y += np.einsum('nhwga,agb->nhwgb', patch, wg)
      dw[i, j] = np.einsum('nhwga,nhwgb->agb', patch, r).reshape(cg, co)
      dxp[window] += np.einsum('nhwgb,agb->nhwga', r, wg).reshape(
          n, oh, ow, c)
  dx = dxp[:, pads[1][0]:pads[1][0] + h, pads[2][0]:pads[2][0] + wd]
  return y.reshape(n, oh, ow, co), dx, dw


def _run_grouped(implementation, x, w, groups, stride, rate, padding,
                 upstream, data_format='NHWC'):
  """(y, dL/dx, dL/dw, Conv2D op count) of `grouped_conv2d` in one form."""
  to_format = ((lambda t: t.transpose(0, 3, 1, 2))
               if data_format == 'NCHW' else (lambda t: t))
  from_format = ((lambda t: t.transpose(0, 2, 3, 1))
                 if data_format == 'NCHW' else (lambda t: t))
  if data_format == 'NCHW':
    strides, dilations = [1, 1, stride, stride], [1, 1, rate, rate]
  else:
    strides, dilations = [1, stride, stride, 1], [1, rate, rate, 1]
  graph = tf.Graph()
  with graph.as_default(), _grouped.implementation_scope(implementation):
    inputs = tf.constant(to_format(x))
    weights = tf.constant(w)
    outputs = _grouped.grouped_conv2d(inputs, weights, groups, strides,
                                      padding, data_format, dilations)
    loss = tf.reduce_sum(outputs * tf.constant(to_format(upstream)))
    grads = tf.gradients(loss, [inputs, weights])
    convs = sum(op.type == 'Conv2D' for op in graph.get_operations())
  with tf.compat.v1.Session(graph=graph) as sess:
    y, dx, dw = sess.run([outputs] + grads)
  return from_format(y), from_format(dx), dw, convs


_CONV_CASES = [
    # (stride, rate, padding, data_format)
    (1, 1, 'SAME', 'NHWC'),
    (2, 1, 'SAME', 'NHWC'),
    (1, 2, 'SAME', 'NHWC'),
    (2, 1, 'VALID', 'NHWC'),
    (2, 1, 'SAME', 'NCHW'),
]


def _conv_case(stride, rate, padding, seed=0):
  rng = np.random.RandomState(seed)
  groups = 4
  x = rng.randn(2, 9, 8, 8).astype(np.float32)
  # 12 outputs from 8 inputs: groups of 2 input and 3 output channels, so a
  # swapped input/output grouping could not pass.
  w = rng.randn(3, 3, 8 // groups, 12).astype(np.float32)
  if padding == 'SAME':
    out_h, out_w = -(-9 // stride), -(-8 // stride)
  else:
    k = 2 * rate + 1
    out_h, out_w = (9 - k) // stride + 1, (8 - k) // stride + 1
  upstream = rng.randn(2, out_h, out_w, 12).astype(np.float32)
  return x, w, groups, upstream


@pytest.mark.parametrize('stride,rate,padding,data_format', _CONV_CASES)
def test_grouped_conv_split_equals_numpy(stride, rate, padding, data_format):
  if data_format == 'NCHW' and not runtime.features()['nchw']:
    assert_nchw_refused()  # CPU kernels without oneDNN are NHWC only
    return
  x, w, groups, upstream = _conv_case(stride, rate, padding)
  y_ref, dx_ref, dw_ref = _np_grouped_conv(x, w, groups, stride, rate,
                                           padding, upstream)
  y, dx, dw, convs = _run_grouped('split', x, w, groups, stride, rate,
                                  padding, upstream, data_format)
  assert convs == groups
  assert_close(y, y_ref, 1e-5, 'split forward')
  assert_close(dx, dx_ref, 1e-5, 'split d/dinputs')
  assert_close(dw, dw_ref, 1e-5, 'split d/dweights')


@pytest.mark.parametrize('stride,rate,padding,data_format', _CONV_CASES)
def test_grouped_conv_native_equals_numpy_and_split(stride, rate, padding,
                                                    data_format):
  if data_format == 'NCHW' and not runtime.features()['nchw']:
    assert_nchw_refused()
    return
  x, w, groups, upstream = _conv_case(stride, rate, padding, seed=1)
  y_ref, dx_ref, dw_ref = _np_grouped_conv(x, w, groups, stride, rate,
                                           padding, upstream)
  if not _grouped.native_supported():
    # CPU without oneDNN: the native forward pass runs, its gradients do
    # not, so auto-selection must build the split form.
    assert _grouped.implementation() == _grouped.SPLIT
    with pytest.raises(tf.errors.OpError):
      _run_grouped('native', x, w, groups, stride, rate, padding, upstream)
    return
  native = _run_grouped('native', x, w, groups, stride, rate, padding,
                        upstream, data_format)
  split = _run_grouped('split', x, w, groups, stride, rate, padding, upstream,
                       data_format)
  assert native[3] == 1, 'native form must be ONE Conv2D op'
  for what, ours, ref in zip(('forward', 'd/dinputs', 'd/dweights'), native,
                             (y_ref, dx_ref, dw_ref)):
    assert_close(ours, ref, 1e-5, 'native %s vs numpy' % what)
  for what, ours, ref in zip(('forward', 'd/dinputs', 'd/dweights'), native,
                             split):
    assert_close(ours, ref, 1e-5, 'native vs split %s' % what)


def test_conv2d_groups_same_variables_either_way():
  """Both forms read the one `weights` variable [kh, kw, C/groups, C_out]."""
  names = {}
  for implementation in (_grouped.NATIVE, _grouped.SPLIT):
    graph = tf.Graph()
    with graph.as_default(), _grouped.implementation_scope(implementation):
      _layers.conv2d(tf.zeros([1, 5, 5, 8]), 12, 3, groups=4, scope='g')
      names[implementation] = [(v.op.name, v.shape.as_list())
                               for v in tf.compat.v1.global_variables()]
  assert names[_grouped.NATIVE] == names[_grouped.SPLIT] == [
      ('g/weights', [3, 3, 2, 12]), ('g/biases', [12])]


def test_implementation_selection(monkeypatch):
  monkeypatch.delenv(_grouped.ENV_VAR, raising=False)
  auto = _grouped.NATIVE if _grouped.native_supported() else _grouped.SPLIT
  assert _grouped.implementation() == auto
  monkeypatch.setenv(_grouped.ENV_VAR, 'split')
  assert _grouped.implementation() == _grouped.SPLIT
  monkeypatch.setenv(_grouped.ENV_VAR, 'Native')
  assert _grouped.implementation() == _grouped.NATIVE
  with _grouped.implementation_scope(_grouped.SPLIT):
    assert _grouped.implementation() == _grouped.SPLIT
  assert _grouped.implementation() == _grouped.NATIVE
  monkeypatch.setenv(_grouped.ENV_VAR, 'auto')
  assert _grouped.implementation() == auto
  monkeypatch.setenv(_grouped.ENV_VAR, 'fast')
  with pytest.raises(ValueError, match=_grouped.ENV_VAR):
    _grouped.implementation()
  with pytest.raises(ValueError, match='implementation'):
    _grouped.set_implementation('fast')


_FALLBACK_SCRIPT = textwrap.dedent("""
    import numpy as np
    import tensorflow as tf
    import tf_slim as slim
    from nets import _grouped, resnext

    def train_step(implementation=None):
      graph = tf.Graph()
      with graph.as_default(), _grouped.implementation_scope(implementation):
        tf.compat.v1.set_random_seed(0)
        blocks = [resnext.resnext_block('block1', 2, 1, 2, cardinality=2)]
        images = tf.constant(np.ones([1, 16, 16, 3], np.float32))
        with slim.arg_scope(resnext.resnext_arg_scope()):
          logits, _ = resnext.resnext(images, blocks, num_classes=3)
        loss = tf.reduce_sum(logits)
        step = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        init = tf.compat.v1.global_variables_initializer()
      with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(init)
        sess.run(step)
        return sess.run(loss)

    try:
      train_step(_grouped.NATIVE)
      native_trains = True
    except tf.errors.OpError:
      native_trains = False
    print('RESULT', _grouped.implementation(), native_trains,
          np.isfinite(train_step()))
""")


def test_fallback_without_onednn():
  """With oneDNN off, auto-selection still trains (through the split form)."""
  env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS='0', TF_CPP_MIN_LOG_LEVEL='2',
             PYTHONPATH=_ROOT, CUDA_VISIBLE_DEVICES='')
  env.pop(_grouped.ENV_VAR, None)
  result = subprocess.run([sys.executable, '-c', _FALLBACK_SCRIPT], env=env,
                          cwd=_ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
  lines = [l for l in result.stdout.splitlines() if l.startswith('RESULT')]
  assert lines, result.stderr[-2000:]
  _, chosen, native_trains, trained = lines[0].split()
  # Auto-selection must pick native exactly when native gradients run.
  assert chosen == ('native' if native_trains == 'True' else 'split')
  assert trained == 'True'


# ---------------------------------------------------------------------------
# Networks on tiny specs.


def _tiny_blocks(cardinality=2):
  # Widths base_depth * cardinality, depths 4 * base_depth.
  return [
      resnext.resnext_block('block%d' % (i + 1), base_depth, 2, stride,
                            cardinality=cardinality)
      for i, (base_depth, stride) in enumerate(
          zip((1, 2, 4, 8), (1, 2, 2, 2)))
  ]


def _tiny(inputs, **kwargs):
  return resnext.resnext(inputs, _tiny_blocks(), scope='resnext', **kwargs)


def test_end_points_names_and_shapes():
  built = build_in_graph(_tiny, [2, 64, 64, 3],
                         arg_scope=resnext.resnext_arg_scope(),
                         num_classes=10)
  expected = {'resnext/conv1': [2, 32, 32, 64]}
  size_in = 16  # after pool1
  for b, (base_depth, stride) in enumerate(zip((1, 2, 4, 8), (1, 2, 2, 2)),
                                           1):
    width, depth = 2 * base_depth, 4 * base_depth
    size_out = size_in // stride
    for u in (1, 2):
      unit = 'resnext/block%d/unit_%d/bottleneck' % (b, u)
      if u == 1:
        expected[unit + '/shortcut'] = [2, size_out, size_out, depth]
      # The stride sits on conv2 of the first unit: its conv1 still runs at
      # the block's input resolution.
      size = size_in if u == 1 else size_out
      expected[unit + '/conv1'] = [2, size, size, width]
      expected[unit + '/conv2'] = [2, size_out, size_out, width]
      expected[unit + '/conv3'] = [2, size_out, size_out, depth]
      expected[unit] = [2, size_out, size_out, depth]
    expected['resnext/block%d' % b] = [2, size_out, size_out, depth]
    size_in = size_out
  expected.update({
      'global_pool': [2, 1, 1, 32],
      'resnext/logits': [2, 1, 1, 10],
      'resnext/spatial_squeeze': [2, 10],
      'predictions': [2, 10],
  })
  assert list(built.end_points) == list(expected)
  assert {k: v.shape.as_list() for k, v in built.end_points.items()
         } == expected
  assert built.net.shape.as_list() == [2, 10]


def test_variables_of_a_projection_unit():
  built = build_in_graph(_tiny, [1, 64, 64, 3],
                         arg_scope=resnext.resnext_arg_scope(),
                         num_classes=10)
  variables = {
      v.op.name: v.shape.as_list()
      for v in built.graph.get_collection(
          tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
  }
  prefix = 'resnext/block2/unit_1/bottleneck/'
  expected = {}
  for conv, shape in (('shortcut', [1, 1, 4, 8]), ('conv1', [1, 1, 4, 4]),
                      ('conv2', [3, 3, 2, 4]), ('conv3', [1, 1, 4, 8])):
    expected[prefix + conv + '/weights'] = shape
    for param in ('gamma', 'beta', 'moving_mean', 'moving_variance'):
      expected[prefix + conv + '/BatchNorm/' + param] = [shape[-1]]
  assert {k: v for k, v in variables.items() if k.startswith(prefix)
         } == expected
  assert [k for k in variables if k.endswith('biases')] == [
      'resnext/logits/biases']
  assert not any(k.startswith('resnext/block1/unit_2/bottleneck/shortcut')
                 for k in variables)


@pytest.mark.parametrize('height,width', [(64, 64), (57, 49)])
def test_atrous_values_equal_subsampled_dense(height, width):
  """output_stride 8 / 16, subsampled, equals the nominal stride-32 net."""
  nominal = 32
  rng = np.random.RandomState(0)
  images = rng.randn(2, height, width, 3).astype(np.float32)
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(0)
    inputs = tf.compat.v1.placeholder(tf.float32, images.shape)
    outputs = {}
    with slim.arg_scope(resnext.resnext_arg_scope()):
      for i, output_stride in enumerate((None, 8, 16)):
        net, _ = resnext.resnext(inputs, _tiny_blocks(), is_training=False,
                                 global_pool=False,
                                 output_stride=output_stride, reuse=i > 0,
                                 scope='resnext')
        factor = nominal // (output_stride or nominal)
        outputs[output_stride] = resnet_utils.subsample(net, factor)
  with new_session(graph) as sess:
    perturb_batch_norm(sess)
    values = sess.run(outputs, {inputs: images})
  dense = values[None]
  assert dense.shape[1:3] == (-(-height // 32), -(-width // 32))
  for output_stride in (8, 16):
    assert_close(values[output_stride], dense, 1e-4,
                 'output_stride %d' % output_stride)


def test_is_training_none_leaves_batch_norm_to_arg_scope():
  def update_ops(**kwargs):
    built = build_in_graph(_tiny, [1, 32, 32, 3],
                           arg_scope=resnext.resnext_arg_scope(), **kwargs)
    return built.graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)

  assert update_ops()  # is_training=True by default
  assert not update_ops(is_training=False)

  def under_inference_scope(inputs, **kwargs):
    with slim.arg_scope([slim.batch_norm], is_training=False):
      return _tiny(inputs, **kwargs)

  built = build_in_graph(under_inference_scope, [1, 32, 32, 3],
                         arg_scope=resnext.resnext_arg_scope(),
                         is_training=None)
  assert not built.graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)


def test_cardinality_must_divide_width():
  blocks = [
      resnet_utils.Block('block1', resnext.bottleneck, [{
          'depth': 16,
          'depth_bottleneck': 6,
          'stride': 1,
          'cardinality': 4
      }])
  ]
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match=r'cardinality 4 .*width.* 6'):
      resnext.resnext(tf.zeros([1, 32, 32, 3]), blocks)
  with pytest.raises(ValueError, match='cardinality'):
    resnext.resnext_block('block1', 4, 2, 1, cardinality=0)


def test_tuple_units_bind_cardinality():
  """Slim's tuple form: (depth, depth_bottleneck, stride, cardinality)."""
  blocks = [resnet_utils.Block('block1', resnext.bottleneck, [(16, 8, 2, 4)])]
  built = build_in_graph(
      lambda x: resnext.resnext(x, blocks, include_root_block=False,
                                scope='r'), [1, 8, 8, 3],
      arg_scope=resnext.resnext_arg_scope())
  shapes = {
      v.op.name: v.shape.as_list()
      for v in built.graph.get_collection(
          tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
  }
  assert shapes['r/block1/unit_1/bottleneck/conv2/weights'] == [3, 3, 2, 8]
  assert built.net.shape.as_list() == [1, 1, 1, 16]


def test_registry():
  names = registry.list_models('resnext*') + registry.list_models('tv_*')
  assert names == [
      'resnext50_32x4d', 'resnext101_32x4d', 'resnext101_32x8d',
      'resnext101_64x4d', 'tv_resnet50', 'tv_resnet101', 'tv_resnet152'
  ]
  for name in names:
    info = registry.get_model(name)
    assert info.fn is getattr(resnext, name)
    assert (info.family, info.num_classes, info.preprocessing,
            info.default_image_size, info.fn.default_image_size) == (
                'resnext', 1000, 'torch', 224, 224)
    assert info.arg_scope_fn is resnext.resnext_arg_scope


# ---------------------------------------------------------------------------
# Full-size models.

# torchvision's published `num_params` (its model docs / weight metadata):
# external references, not outputs of this code.
_TORCHVISION_NUM_PARAMS = {
    'resnext50_32x4d': 25028904,
    'resnext101_32x8d': 88791336,
    'resnext101_64x4d': 83455272,
    'tv_resnet50': 25557032,
    'tv_resnet101': 44549160,
    'tv_resnet152': 60192808,
}

# (units per stage, cardinality, channels per group) of [1] / torchvision.
_ARCHITECTURES = {
    'resnext50_32x4d': ((3, 4, 6, 3), 32, 4),
    'resnext101_32x4d': ((3, 4, 23, 3), 32, 4),
    'resnext101_32x8d': ((3, 4, 23, 3), 32, 8),
    'resnext101_64x4d': ((3, 4, 23, 3), 64, 4),
    'tv_resnet50': ((3, 4, 6, 3), 1, 64),
    'tv_resnet101': ((3, 4, 23, 3), 1, 64),
    'tv_resnet152': ((3, 8, 36, 3), 1, 64),
}


def _table_num_params(units, groups, base_width, classes=1000):
  """Parameter count from the architecture table, written independently."""

  def conv_bn(c_in, c_out, k, g=1):
    return k * k * c_in // g * c_out + 2 * c_out

  total = conv_bn(3, 64, 7)
  c_in = 64
  for stage, n in enumerate(units):
    planes = 64 * 2**stage
    width = planes * base_width // 64 * groups
    for unit in range(n):
      total += conv_bn(c_in, width, 1) + conv_bn(width, width, 3, groups)
      total += conv_bn(width, 4 * planes, 1)
      if unit == 0:
        total += conv_bn(c_in, 4 * planes, 1)
      c_in = 4 * planes
  return total + c_in * classes + classes


def test_table_formula_reproduces_torchvision():
  for name, count in _TORCHVISION_NUM_PARAMS.items():
    assert _table_num_params(*_ARCHITECTURES[name]) == count, name


@pytest.mark.parametrize('name', sorted(_ARCHITECTURES))
def test_num_params(name):
  size = 224 if name == 'resnext50_32x4d' else 32
  built = build_in_graph(getattr(resnext, name), [1, size, size, 3],
                         arg_scope=resnext.resnext_arg_scope(),
                         num_classes=1000, is_training=False)
  trainable = built.graph.get_collection(
      tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
  count = sum(int(np.prod(v.shape.as_list())) for v in trainable)
  assert count == _table_num_params(*_ARCHITECTURES[name])
  if name in _TORCHVISION_NUM_PARAMS:
    assert count == _TORCHVISION_NUM_PARAMS[name]
  if size == 224:
    shapes = {k: v.shape.as_list()[1:3] for k, v in built.end_points.items()}
    assert [shapes['%s/block%d' % (name, b)] for b in (1, 2, 3, 4)] == [
        [56, 56], [28, 28], [14, 14], [7, 7]]
    assert shapes[name + '/conv1'] == [112, 112]


def _keras_resnext50(size):
  import tf_keras  # pylint: disable=import-outside-toplevel
  from keras_applications import resnext as keras_resnext  # pylint: disable=import-outside-toplevel
  tf_keras.backend.clear_session()
  model = keras_resnext.ResNeXt50(
      weights=None, input_shape=(size, size, 3), backend=tf_keras.backend,
      layers=tf_keras.layers, models=tf_keras.models, utils=tf_keras.utils)
  return tf_keras, model


def _keras_to_ours(layer_name, weight_name, value, scope):
  """Our variable name and value for one keras-applications ResNeXt weight."""
  if layer_name == 'probs':
    if weight_name == 'kernel':
      return scope + '/logits/weights', value[np.newaxis, np.newaxis]
    return scope + '/logits/biases', value
  if layer_name.startswith('conv1_'):
    prefix = scope + '/conv1'
  else:
    stage, block, index = layer_name.split('_')[:3]
    conv = ('shortcut', 'conv1', 'conv2', 'conv3')[int(index)]
    prefix = '%s/block%d/unit_%d/bottleneck/%s' % (
        scope, int(stage[4:]) - 1, int(block[5:]), conv)
  if weight_name == 'depthwise_kernel':
    # F[kh, kw, a, g*c + b] = K[kh, kw, g*c + a, b], c = width / groups.
    kh, kw, width, c = value.shape
    groups = width // c
    grouped = value.reshape(kh, kw, groups, c, c).transpose(0, 1, 3, 2, 4)
    return prefix + '/weights', grouped.reshape(kh, kw, c, width)
  if weight_name == 'kernel':
    return prefix + '/weights', value
  return prefix + '/BatchNorm/' + weight_name, value


def test_resnext50_matches_keras_applications():
  """Same weights, same logits: architecture, strides and pool1 padding."""
  size = 96
  rng = np.random.RandomState(0)
  tf_keras, model = _keras_resnext50(size)
  for layer in model.layers:
    if isinstance(layer, tf_keras.layers.BatchNormalization):
      channels = layer.get_weights()[0].shape
      layer.set_weights([
          rng.uniform(0.5, 1.5, channels), rng.normal(0, 0.2, channels),
          rng.normal(0, 0.2, channels), rng.uniform(0.5, 1.5, channels)
      ])
  images = rng.randn(2, size, size, 3).astype(np.float32)
  stage_outputs = ['conv2_block3_out', 'conv3_block4_out', 'conv4_block6_out',
                   'conv5_block3_out']
  features = tf_keras.Model(
      model.input, [model.get_layer(n).output for n in stage_outputs] +
      [model.get_layer('avg_pool').output])
  keras_values = [v.numpy() for v in features(images, training=False)]
  kernel, bias = model.get_layer('probs').get_weights()
  keras_logits = keras_values[-1].astype(np.float64) @ kernel + bias

  scope = 'resnext50_32x4d'
  values = {}
  for layer in model.layers:
    for weight in layer.weights:
      weight_name = weight.name.split('/')[-1].split(':')[0]
      name, value = _keras_to_ours(layer.name, weight_name, weight.numpy(),
                                   scope)
      assert name not in values, name
      values[name] = value

  built = build_in_graph(
      resnext.resnext50_32x4d, [2, size, size, 3],
      arg_scope=resnext.resnext_arg_scope(batch_norm_epsilon=1.001e-5),
      num_classes=1000, is_training=False)
  ours = {
      v.op.name: v.shape.as_list()
      for v in built.graph.get_collection(
          tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
  }
  assert set(ours) == set(values)
  assert all(ours[k] == list(values[k].shape) for k in ours)
  fetches = [built.end_points['%s/block%d' % (scope, b)] for b in (1, 2, 3, 4)]
  fetches.append(built.net)
  with new_session(built.graph) as sess:
    assign_values(sess, values)
    our_values = sess.run(fetches, {built.inputs: images})
  for b, (ours_b, keras_b) in enumerate(zip(our_values[:4], keras_values[:4]),
                                        1):
    assert_close(ours_b, keras_b, 1e-4, 'block%d vs %s' %
                 (b, stage_outputs[b - 1]))
  logits = our_values[-1]
  rel = np.abs(logits - keras_logits).max() / np.abs(keras_logits).max()
  assert rel <= 1e-4, 'relative max logit difference %g' % rel
