"""Run-time choices that leave the graph's variables alone: precision,
XLA and data layout.

* `features()` says which of these this process's TensorFlow can run: NCHW
  and bfloat16 need oneDNN on a CPU (TensorFlow turns it on by itself only
  with AVX-512), and are refused with a one-line reason where they would not
  run.
* `session_config(precision=..., xla=...)` returns a `tf.compat.v1.ConfigProto`
  that turns on TensorFlow's automatic mixed-precision graph rewrite
  (bfloat16 through oneDNN on CPUs with AMX / AVX-512-BF16, float16 on
  NVIDIA GPUs) and, optionally, XLA auto-clustering. The variables stay
  float32, so checkpoints are unchanged; the rewrite casts at run time.
* `data_format_scope('NCHW')` builds any slimnets network channels-first,
  the fast layout on NVIDIA GPUs. Variable names and shapes are those of
  NHWC, so checkpoints interchange; inputs stay [batch, height, width, 3]
  images and are transposed once at the network's entry; end points are
  NCHW.

Typical use:

   from nets import resnet_v2, runtime

   with slim.arg_scope(resnet_v2.resnet_arg_scope()):
     logits, _ = resnet_v2.resnet_v2_50(images, 1001, is_training=False)
   config = runtime.session_config(precision='bfloat16')
   with tf.compat.v1.Session(config=config) as sess:
     ...
"""

import contextlib

import tensorflow as tf
import tf_slim as slim
from tensorflow.core.protobuf import rewriter_config_pb2  # pylint: disable=g-direct-tensorflow-import

from nets import _capabilities
from nets import _layers

PRECISIONS = ('float32', 'bfloat16', 'float16')
DATA_FORMATS = ('NHWC', 'NCHW')

_ON = rewriter_config_pb2.RewriterConfig.ON


def _has_gpu():
  return _capabilities.gpu_visible()


def features():
  """What this process's TensorFlow runs: {feature: bool}.

  Keys: 'onednn' (TensorFlow's CPU kernels run through oneDNN: on by
  itself on CPUs with AVX-512, on an AVX2-only CPU only with
  TF_ENABLE_ONEDNN_OPTS=1 set before TensorFlow is imported), 'gpu',
  'nchw' (channels-first convolutions and pooling: a GPU or oneDNN),
  'bfloat16' (the oneDNN bfloat16 rewrite really turns convolutions to
  bfloat16: oneDNN on a CPU with AVX-512), 'grouped_conv_gradients' and
  'dilated_conv_gradients' (native kernels; without them the nets build
  the equivalent split / space-to-batch forms). Each is probed once per
  process with a tiny graph (see docs/performance.md for the CPU table).
  """
  return _capabilities.describe()


def why_not(feature):
  """One line: why 'NCHW' or 'bfloat16' does not run here, and the remedy."""
  return _capabilities.why_not(feature)


def session_config(precision='float32', xla=False, config=None, device=None):
  """A session ConfigProto for `precision` and XLA, merged into `config`.

  Args:
    precision: 'float32' (no rewrite), 'bfloat16' (oneDNN auto mixed
      precision, for CPUs; fastest with AMX or AVX-512-BF16) or 'float16'
      (CUDA auto mixed precision; GPU only).
    xla: turn on XLA auto-clustering (global_jit_level ON_1). On a CPU,
      TensorFlow clusters only with TF_XLA_FLAGS=--tf_xla_cpu_global_jit set
      before it starts. Measured trade-off: docs/performance.md.
    config: an existing `tf.compat.v1.ConfigProto` to start from; it is not
      modified, every field it sets is kept.
    device: the device the session will run on, 'cpu' or 'gpu'; default:
      'gpu' when one is visible. Passing a device builds the config without
      checking this machine (for a remote or later session).

  Returns:
    A new `tf.compat.v1.ConfigProto`.

  Raises:
    ValueError: for an unknown precision or device, float16 without GPU, or
      bfloat16 (on this machine's CPU) where TensorFlow's oneDNN rewrite
      would leave everything float32 (oneDNN off, or no AVX-512); the
      message says why and how to turn oneDNN on.
  """
  if precision not in PRECISIONS:
    raise ValueError('precision must be one of %s, got %r' %
                     (', '.join(PRECISIONS), precision))
  if device not in (None, 'cpu', 'gpu'):
    raise ValueError("device must be 'cpu', 'gpu' or None, got %r" % (device,))
  merged = tf.compat.v1.ConfigProto()
  if config is not None:
    merged.CopyFrom(config)
  rewrite_options = merged.graph_options.rewrite_options
  if precision == 'bfloat16':
    if device is None and not _capabilities.bfloat16_rewrite_runs():
      raise ValueError(_capabilities.why_not('bfloat16'))
    rewrite_options.auto_mixed_precision_onednn_bfloat16 = _ON
  elif precision == 'float16':
    on_gpu = _has_gpu() if device is None else device == 'gpu'
    if not on_gpu:
      # TF 2.21's CPU float16 emulation pass (auto_mixed_precision_cpu)
      # segfaults on these networks' graphs: measured, not assumed.
      raise ValueError(
          "precision='float16' needs an NVIDIA GPU (TensorFlow's CPU float16 "
          "emulation crashes on these graphs); on a CPU use 'bfloat16'")
    rewrite_options.auto_mixed_precision = _ON
  if xla:
    merged.graph_options.optimizer_options.global_jit_level = (
        tf.compat.v1.OptimizerOptions.ON_1)
  return merged


_DATA_FORMAT_LAYERS = (_layers.conv2d, _layers.separable_conv2d,
                       _layers.batch_norm, _layers.max_pool2d,
                       _layers.avg_pool2d)


@contextlib.contextmanager
def data_format_scope(data_format='NHWC', device=None):
  """An arg scope that builds the networks in `data_format`.

  Args:
    data_format: 'NHWC' (the default everywhere) or 'NCHW'.
    device: None (the graph will run on this machine: NCHW is checked
      against it), or 'cpu' / 'gpu' to build for another machine without
      checking this one.

  Yields:
    The arg scope.

  Raises:
    ValueError: for another data_format or device, or NCHW where this
      machine cannot run it (no GPU and a CPU without oneDNN; the message
      says how to turn oneDNN on).
  """
  if data_format not in DATA_FORMATS:
    raise ValueError("data_format must be 'NHWC' or 'NCHW', got %r" %
                     (data_format,))
  if device not in (None, 'cpu', 'gpu'):
    raise ValueError("device must be 'cpu', 'gpu' or None, got %r" % (device,))
  if (data_format == 'NCHW' and device is None and
      not _capabilities.nchw_runs()):
    raise ValueError(_capabilities.why_not('NCHW'))
  with slim.arg_scope(list(_DATA_FORMAT_LAYERS),
                      data_format=data_format) as scope:
    yield scope
