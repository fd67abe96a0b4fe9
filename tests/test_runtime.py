"""nets.runtime: precision rewrite configs, data layout and XLA switches."""

import collections

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim
from tensorflow.core.protobuf import rewriter_config_pb2

from nets import registry
from nets import resnet_utils
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
  merged = runtime.session_config('bfloat16', xla=True, config=user)
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


def _run_with_partition_graphs(logits, config):
  with tf.compat.v1.Session(config=config) as sess:
    sess.run(tf.compat.v1.global_variables_initializer())
    metadata = tf.compat.v1.RunMetadata()
    value = sess.run(logits, options=tf.compat.v1.RunOptions(
        output_partition_graphs=True), run_metadata=metadata)
  dtypes = collections.Counter()
  for graph_def in metadata.partition_graphs:
    for node in graph_def.node:
      if 'Conv2D' in node.op and 'T' in node.attr:
        dtypes[tf.dtypes.as_dtype(node.attr['T'].type).name] += 1
  return value, dtypes


def test_bfloat16_rewrites_convolutions_and_stays_close():
  images = np.random.RandomState(0).uniform(-1, 1, [4, 32, 32, 3])
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(1)
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
      logits, _ = _tiny_resnet_v2(tf.constant(images, tf.float32))
    # Same graph and variable values in both sessions: the initializers are
    # seeded, so only the rewrite differs.
    reference, reference_types = _run_with_partition_graphs(
        logits, runtime.session_config('float32'))
    bf16, bf16_types = _run_with_partition_graphs(
        logits, runtime.session_config('bfloat16'))
  assert set(reference_types) == {'float32'}
  assert bf16_types['bfloat16'] > 0, bf16_types
  # bfloat16 keeps 8 bits of mantissa (relative precision 2**-8 per op);
  # a few percent over a dozen layers is its expected error.
  scale = np.abs(reference).max()
  assert np.abs(bf16 - reference).max() <= 0.05 * scale


def _values_in_both_layouts(name, size=32):
  info = registry.get_model(name)
  images = np.random.RandomState(0).uniform(-1, 1, [2, size, size, 3])
  outputs, shapes, values = {}, {}, None
  for data_format in ('NHWC', 'NCHW'):
    with tf.Graph().as_default():
      with slim.arg_scope(info.arg_scope_fn()), \
          runtime.data_format_scope(data_format):
        logits, end_points = info.fn(tf.constant(images, tf.float32), 7,
                                     is_training=False)
      variables = tf.compat.v1.global_variables()
      shapes[data_format] = [(v.name, v.shape.as_list()) for v in variables]
      with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        if values is None:
          values = {v.name: sess.run(v) for v in variables}
        for variable in variables:
          variable.load(values[variable.name], sess)
        outputs[data_format] = sess.run(logits)
  return outputs, shapes


@pytest.mark.parametrize('name', ['resnet_v1_50', 'resnet_v2_50'])
def test_nchw_equals_nhwc(name):
  outputs, shapes = _values_in_both_layouts(name)
  assert shapes['NHWC'] == shapes['NCHW']
  scale = max(1.0, np.abs(outputs['NHWC']).max())
  np.testing.assert_allclose(outputs['NCHW'], outputs['NHWC'],
                             atol=1e-5 * scale, rtol=0)
