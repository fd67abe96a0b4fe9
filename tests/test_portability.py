"""Both kinds of x86 CPU: what runs with oneDNN off and on, and what is refused.

TensorFlow decides at import whether its CPU kernels go through oneDNN: on
by itself on CPUs with AVX-512, off on AVX2-only ones, forced either way by
TF_ENABLE_ONEDNN_OPTS. The subprocess tests run slimnets under both settings
on whatever CPU runs the suite, so each CI machine checks both kinds: with
oneDNN off every CPU behaves as an AVX2-only one does by default.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from nets import _layers
from nets import resnet_utils
from nets import resnet_v1
from nets import runtime

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cpu_flags():
  try:
    with open('/proc/cpuinfo') as cpuinfo:
      for line in cpuinfo:
        if line.startswith('flags'):
          return set(line.split(':', 1)[1].split())
  except OSError:
    pass
  return set()


_PROBE_SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    import tensorflow as tf
    import tf_slim as slim
    from nets import resnet_v2, runtime

    report = {'features': dict(runtime.features())}
    for what, attempt in (
        ('bfloat16', lambda: runtime.session_config('bfloat16')),
        ('nchw', lambda: runtime.data_format_scope('NCHW').__enter__())):
      try:
        attempt()
        report[what] = 'accepted'
      except ValueError as error:
        report[what] = 'refused: ' + str(error)
    # The oracle for bfloat16, independent of the probe: whether the rewrite
    # changes a convolution's numbers (bfloat16 keeps 8 significant bits).
    from tensorflow.core.protobuf import rewriter_config_pb2
    outputs = []
    for rewrite in (False, True):
      config = tf.compat.v1.ConfigProto()
      if rewrite:
        config.graph_options.rewrite_options.\
            auto_mixed_precision_onednn_bfloat16 = (
                rewriter_config_pb2.RewriterConfig.ON)
      with tf.Graph().as_default():
        rng = np.random.RandomState(0)
        images = tf.compat.v1.placeholder(tf.float32, [2, 16, 16, 32])
        filters = tf.compat.v1.placeholder(tf.float32, [3, 3, 32, 32])
        net = tf.nn.conv2d(images, filters, 1, 'SAME')
        with tf.compat.v1.Session(config=config) as sess:
          outputs.append(sess.run(net, {
              images: rng.uniform(-1, 1, [2, 16, 16, 32]),
              filters: rng.uniform(-1, 1, [3, 3, 32, 32])}))
    report['bfloat16_changes_numbers'] = bool(
        np.abs(outputs[1] - outputs[0]).max() > 1e-3)
    if report['nchw'] == 'accepted':
      # Accepted must mean it runs: a small v2 net, NCHW, one forward pass.
      with tf.Graph().as_default():
        images = tf.constant(np.ones([1, 32, 32, 3], np.float32))
        blocks = [resnet_v2.resnet_v2_block('block1', 2, 1, 2)]
        with slim.arg_scope(resnet_v2.resnet_arg_scope()), \\
            runtime.data_format_scope('NCHW'):
          logits, _ = resnet_v2.resnet_v2(images, blocks, 3,
                                          is_training=False)
        with tf.compat.v1.Session() as sess:
          sess.run(tf.compat.v1.global_variables_initializer())
          report['nchw_logits'] = sess.run(logits).shape
    print('REPORT ' + json.dumps(report))
""")


def _report(onednn):
  env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn,
             TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='',
             PYTHONPATH=_ROOT)
  result = subprocess.run([sys.executable, '-c', _PROBE_SCRIPT], env=env,
                          cwd=_ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
  lines = [l for l in result.stdout.splitlines() if l.startswith('REPORT ')]
  assert lines, result.stderr[-3000:]
  return json.loads(lines[0][len('REPORT '):])


def test_onednn_off_refuses_nchw_and_bfloat16_and_still_trains_everything():
  # Any x86 CPU with oneDNN off is an AVX2-only CPU's default.
  report = _report('0')
  features = report['features']
  assert features == {
      'onednn': False, 'gpu': False, 'nchw': False, 'bfloat16': False,
      'grouped_conv_gradients': False, 'dilated_conv_gradients': False
  }
  for what in ('bfloat16', 'nchw'):
    assert report[what].startswith('refused: '), report[what]
    assert 'TF_ENABLE_ONEDNN_OPTS=1' in report[what]
    assert '\n' not in report[what]


def test_onednn_on_runs_nchw_and_bfloat16_where_tensorflow_rewrites():
  report = _report('1')
  features = report['features']
  # TensorFlow's Linux x86 wheels are built with oneDNN: =1 turns it on.
  assert features['onednn'] is True
  assert features['nchw'] and report['nchw'] == 'accepted'
  assert report['nchw_logits'] == [1, 3]
  assert features['grouped_conv_gradients']
  assert features['dilated_conv_gradients']
  # oneDNN's bfloat16 rewrite needs AVX-512, and not every AVX-512 CPU gets
  # it (TF 2.21 leaves an AMD Zen 4 in float32): the probe must say what
  # TensorFlow really does, judged by the numbers of a convolution.
  assert features['bfloat16'] == report['bfloat16_changes_numbers']
  if 'avx512f' not in _cpu_flags():
    assert not features['bfloat16']
  if features['bfloat16']:
    assert report['bfloat16'] == 'accepted'
  else:
    assert report['bfloat16'].startswith('refused: ')
    assert 'AVX-512' in report['bfloat16']


def test_features_of_this_process_agree_with_its_tensorflow():
  features = runtime.features()
  setting = os.environ.get('TF_ENABLE_ONEDNN_OPTS')
  if setting in ('0', '1'):
    assert features['onednn'] == (setting == '1')
  assert features['nchw'] == (features['gpu'] or features['onednn'])
  if not features['onednn']:
    assert not features['bfloat16']


def _dilate(kernel, rate):
  """The kernel of a dilated convolution written out with zeros between
  taps: an ordinary convolution with it computes the dilated one."""
  height, width = kernel.shape[:2]
  dilated = np.zeros(((height - 1) * rate + 1, (width - 1) * rate + 1) +
                     kernel.shape[2:], kernel.dtype)
  dilated[::rate, ::rate] = kernel
  return dilated


@pytest.mark.parametrize('padding', ['SAME', 'VALID'])
def test_dilated_conv2d_gradients_run_and_equal_a_zero_filled_kernel(padding):
  # Without oneDNN, TensorFlow's Conv2D has no gradient for dilations > 1;
  # conv2d must still train (atrous units under output_stride).
  rng = np.random.RandomState(0)
  images = rng.randn(2, 11, 10, 3).astype(np.float32)
  kernel = rng.randn(3, 3, 3, 4).astype(np.float32)
  with tf.Graph().as_default():
    inputs = tf.constant(images)
    ours = _layers.conv2d(inputs, 4, 3, rate=2, padding=padding,
                          activation_fn=None, biases_initializer=None,
                          weights_initializer=tf.constant_initializer(kernel))
    weights = tf.compat.v1.global_variables()[0]
    reference = tf.nn.conv2d(inputs, tf.constant(_dilate(kernel, 2)), 1,
                             padding)
    upstream = tf.constant(rng.randn(*ours.shape.as_list()), tf.float32)
    ours_grads = tf.gradients(tf.reduce_sum(ours * upstream),
                              [inputs, weights])
    reference_kernel_grad, reference_input_grad = tf.gradients(
        tf.reduce_sum(reference * upstream), [reference.op.inputs[1], inputs])
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      values = sess.run([ours, reference] + ours_grads +
                        [reference_input_grad, reference_kernel_grad])
  y, y_ref, dx, dw, dx_ref, dw_full = values
  np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-4)
  np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-4)
  np.testing.assert_allclose(dw, dw_full[::2, ::2], rtol=1e-5, atol=1e-4)


def test_training_with_output_stride_runs_on_this_cpu():
  # Atrous bottlenecks (rate 2) in a training step: the loss falls.
  rng = np.random.RandomState(1)
  images = rng.uniform(-1, 1, [2, 32, 32, 3]).astype(np.float32)
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(0)
    blocks = [resnet_v1.resnet_v1_block('block1', 2, 2, 2),
              resnet_v1.resnet_v1_block('block2', 2, 2, 2)]
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
      logits, _ = resnet_v1.resnet_v1(tf.constant(images), blocks, 3,
                                      output_stride=4, scope='tiny')
    loss = tf.compat.v1.losses.sparse_softmax_cross_entropy([0, 1], logits)
    convs = [op for op in tf.compat.v1.get_default_graph().get_operations()
             if op.type == 'Conv2D' and max(op.get_attr('dilations')) > 1]
    step = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      before = sess.run(loss)
      for _ in range(5):
        sess.run(step)
      after = sess.run(loss)
  # Native dilated kernels where they have gradients, space-to-batch else.
  assert bool(convs) == runtime.features()['dilated_conv_gradients']
  assert np.isfinite(after) and after < before
