"""nets.runtime: precision rewrite configs, data layout and XLA switches."""

import collections

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim
from tensorflow.core.protobuf import rewriter_config_pb2

from conftest import assert_nchw_refused
from nets import registry
from nets import resnet_utils
from nets import resnet_v1
from nets import resnet_v2
from nets import runtime

_ON = rewriter_config_pb2.RewriterConfig.ON
_OFF = rewriter_config_pb2.RewriterConfig.OFF


def test_session_config_keeps_the_users_settings():
  user = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=3,
                                  allow_soft_placement=True)
  user.graph_options.rewrite_options.constant_folding = _OFF
  user.gpu_options.allow_growth = True
  before = user.SerializeToString()
  # device='cpu': a config for some CPU session, built without checking
  # this machine's bfloat16 support.
  merged = runtime.session_config('bfloat16', xla=True, config=user,
                                  device='cpu')
  assert user.SerializeToString() == before, 'the user config was modified'
  assert merged.intra_op_parallelism_threads == 3
  assert merged.allow_soft_placement
  assert merged.gpu_options.allow_growth
  assert merged.graph_options.rewrite_options.constant_folding == _OFF
  rewrite = merged.graph_options.rewrite_options
  assert rewrite.auto_mixed_precision_onednn_bfloat16 == _ON
  assert (merged.graph_options.optimizer_options.global_jit_level ==
          tf.compat.v1.OptimizerOptions.ON_1)


def test_float32_changes_nothing():
  assert runtime.session_config('float32') == tf.compat.v1.ConfigProto()


def test_float16_config_for_a_gpu():
  config = runtime.session_config('float16', device='gpu')
  assert config.graph_options.rewrite_options.auto_mixed_precision == _ON


@pytest.mark.parametrize('kwargs, match', [
    (dict(precision='int8'), 'precision must be one of'),
    (dict(precision='float16', device='cpu'), 'float16.*GPU'),
    (dict(device='tpu'), 'device'),
])
def test_session_config_bad_input(kwargs, match):
  with pytest.raises(ValueError, match=match):
    runtime.session_config(**kwargs)


def test_data_format_scope_rejects_unknown_layouts():
  with pytest.raises(ValueError, match='data_format'):
    with runtime.data_format_scope('NWHC'):
      pass


def _tiny_resnet_v2(images):
  blocks = [
      resnet_v2.resnet_v2_block('block1', base_depth=4, num_units=2, stride=2),
      resnet_v2.resnet_v2_block('block2', base_depth=8, num_units=2, stride=1),
  ]
  return resnet_v2.resnet_v2(images, blocks, num_classes=10,
                             is_training=False, scope='tiny')


def _conv_dtypes_of_a_run(fetches, config):
  """Runs `fetches` once; returns (values, Counter of (op type, dtype)).

  The partition graphs are the graphs the session really ran, after
  grappler's rewrites (so the auto-mixed-precision casts are in them).
  """
  with tf.compat.v1.Session(config=config) as sess:
    sess.run(tf.compat.v1.global_variables_initializer())
    metadata = tf.compat.v1.RunMetadata()
    value = sess.run(fetches, options=tf.compat.v1.RunOptions(
        output_partition_graphs=True), run_metadata=metadata)
  dtypes = collections.Counter()
  for graph_def in metadata.partition_graphs:
    for node in graph_def.node:
      if 'Conv2D' in node.op and 'T' in node.attr:
        dtypes[node.op, tf.dtypes.as_dtype(node.attr['T'].type).name] += 1
  return value, dtypes


def _assert_bfloat16_refused():
  """Where the rewrite would not run, session_config says so and how."""
  with pytest.raises(ValueError, match=r"bfloat16.*(AVX-512|oneDNN)") as error:
    runtime.session_config('bfloat16')
  assert '\n' not in str(error.value)
  if not runtime.features()['onednn']:
    assert 'TF_ENABLE_ONEDNN_OPTS=1' in str(error.value)


def test_bfloat16_rewrites_convolutions_and_stays_close():
  if not runtime.features()['bfloat16']:
    _assert_bfloat16_refused()
    return
  images = np.random.RandomState(0).uniform(-1, 1, [4, 32, 32, 3])
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(1)
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
      logits, _ = _tiny_resnet_v2(tf.constant(images, tf.float32))
    # Same graph and variable values in both sessions: the initializers are
    # seeded, so only the rewrite differs.
    reference, reference_types = _conv_dtypes_of_a_run(
        logits, runtime.session_config('float32'))
    bf16, bf16_types = _conv_dtypes_of_a_run(
        logits, runtime.session_config('bfloat16'))
  assert {dtype for _, dtype in reference_types} == {'float32'}
  assert any(dtype == 'bfloat16' for _, dtype in bf16_types), bf16_types
  # bfloat16 keeps 8 bits of mantissa (relative precision 2**-8 per op);
  # a few percent over a dozen layers is its expected error.
  scale = np.abs(reference).max()
  assert np.abs(bf16 - reference).max() <= 0.05 * scale


def test_bfloat16_training_rewrites_gradients_and_stays_close():
  # A training step's gradients: the backward convolutions must run in
  # bfloat16 too.
  if not runtime.features()['bfloat16']:
    _assert_bfloat16_refused()
    return
  images = np.random.RandomState(0).uniform(-1, 1, [4, 32, 32, 3])
  labels = np.arange(4) % 10
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(1)
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
      blocks = [resnet_v2.resnet_v2_block('block1', base_depth=4,
                                          num_units=2, stride=2)]
      logits, _ = resnet_v2.resnet_v2(tf.constant(images, tf.float32),
                                      blocks, num_classes=10,
                                      is_training=True, scope='tiny')
    loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(
        labels, tf.reshape(logits, [4, 10]))
    variables = tf.compat.v1.trainable_variables()
    gradients = tf.gradients(loss, variables)
    (reference_loss, reference), reference_types = _conv_dtypes_of_a_run(
        (loss, gradients), runtime.session_config('float32'))
    (bf16_loss, bf16), bf16_types = _conv_dtypes_of_a_run(
        (loss, gradients), runtime.session_config('bfloat16'))
  assert {dtype for _, dtype in reference_types} == {'float32'}
  # oneDNN renames the ops (_MklNativeConv2DBackpropInput...). TF 2.21
  # keeps the filter gradients in float32 (they feed float32 variables);
  # the forward and input-gradient convolutions run in bfloat16.
  in_bf16 = {op for op, dtype in bf16_types if dtype == 'bfloat16'}
  assert any('BackpropInput' in op for op in in_bf16), bf16_types
  assert any('Conv2D' in op and 'Backprop' not in op for op in in_bf16), (
      bf16_types)
  # Variables and gradients stay float32 (the rewrite casts inside).
  assert all(g.dtype == np.float32 for g in bf16)
  # bfloat16 rounds to 2**-8 relative per op. The loss stays within 1%.
  # Batch-norm gradients in training mode are differences of nearly equal
  # terms, which that rounding hits hard: the whole gradient's relative L2
  # error measured 14%, but its direction, what an optimizer step follows,
  # stays: cosine similarity measured 0.99, asserted >= 0.97.
  assert abs(bf16_loss - reference_loss) <= 0.01 * abs(reference_loss)
  flat_reference = np.concatenate([g.ravel() for g in reference])
  flat_bf16 = np.concatenate([g.ravel() for g in bf16])
  cosine = flat_bf16.dot(flat_reference) / (
      np.linalg.norm(flat_bf16) * np.linalg.norm(flat_reference))
  assert cosine >= 0.97


def _values_in_both_layouts(build, size=32, batch=2):
  """Logits, 4-D end points and moving statistics in NHWC and NCHW.

  Args:
    build: images -> (logits, end_points), under the caller's arg scopes.
    size: input height and width.
    batch: images per batch.

  Returns:
    ({layout: {key: value}} with NCHW values transposed to NHWC, after one
     run of the UPDATE_OPS; {layout: [(variable name, shape)]}).
  """
  images = np.random.RandomState(0).uniform(-1, 1, [batch, size, size, 3])
  outputs, shapes, values = {}, {}, None
  for data_format in ('NHWC', 'NCHW'):
    with tf.Graph().as_default():
      with runtime.data_format_scope(data_format):
        logits, end_points = build(tf.constant(images, tf.float32))
      fetches = {key: tensor for key, tensor in end_points.items()
                 if tensor.shape.rank == 4}
      fetches['logits'] = logits
      if data_format == 'NCHW':
        fetches = {key: tf.transpose(tensor, [0, 2, 3, 1])
                   if tensor.shape.rank == 4 else tensor
                   for key, tensor in fetches.items()}
      variables = tf.compat.v1.global_variables()
      shapes[data_format] = [(v.name, v.shape.as_list()) for v in variables]
      updates = tf.compat.v1.get_collection(
          tf.compat.v1.GraphKeys.UPDATE_OPS)
      with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        if values is None:
          values = {v.name: sess.run(v) for v in variables}
        for variable in variables:
          variable.load(values[variable.name], sess)
        outputs[data_format], _ = sess.run((fetches, updates))
        outputs[data_format].update(
            {v.name: sess.run(v) for v in variables if 'moving' in v.name})
  return outputs, shapes


def _assert_equal_layouts(outputs, shapes, tolerance):
  assert shapes['NHWC'] == shapes['NCHW']
  assert sorted(outputs['NCHW']) == sorted(outputs['NHWC'])
  for key, nhwc in outputs['NHWC'].items():
    scale = max(1.0, np.abs(nhwc).max())
    np.testing.assert_allclose(outputs['NCHW'][key], nhwc,
                               atol=tolerance * scale, rtol=0, err_msg=key)


# One network of every family: ResNeXt in both its grouped and its
# torchvision cardinality-1 layout, and both Xceptions.
@pytest.mark.parametrize('name', [
    'resnet_v1_50',
    'resnet_v2_50',
    'resnext50_32x4d',
    'tv_resnet50',
    # DeepLab Xception keeps [B, 1, 1, C] logits: [B, C, 1, 1] in NCHW, whose
    # predictions must softmax axis 1.
    'xception_41',
    'xception_keras',
])
def test_nchw_equals_nhwc(name):
  if name not in registry.list_models():
    pytest.fail('%s is no longer registered; update this test' % name)
  if not runtime.features()['nchw']:
    assert_nchw_refused()
    return
  info = registry.get_model(name)

  def build(images):
    with slim.arg_scope(info.arg_scope_fn()):
      return info.fn(images, 7, is_training=False)

  # Same arithmetic in another memory order: float32 summation order only,
  # 1e-5 of the largest value.
  _assert_equal_layouts(*_values_in_both_layouts(build), tolerance=1e-5)


def test_nchw_equals_nhwc_in_training_mode():
  # Batch statistics (fused batch norm's NCHW training kernel) and the
  # moving-average updates. A small resnet_v1 with wide maps: with few
  # values per channel (a deep net's last block at this size) batch norm
  # divides by the deviation of a handful of numbers and amplifies the
  # round-off of the summation order, so these are 4 x 16x16 and 4 x 8x8.
  if not runtime.features()['nchw']:
    assert_nchw_refused()
    return

  def build(images):
    blocks = [
        resnet_v1.resnet_v1_block('block1', base_depth=8, num_units=2,
                                  stride=2),
        resnet_v1.resnet_v1_block('block2', base_depth=16, num_units=2,
                                  stride=1),
    ]
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
      return resnet_v1.resnet_v1(images, blocks, num_classes=7,
                                 is_training=True, scope='tiny')

  _assert_equal_layouts(*_values_in_both_layouts(build, size=64, batch=4),
                        tolerance=1e-4)
