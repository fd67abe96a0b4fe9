"""What this process's TensorFlow can run, probed once each (private).

TensorFlow 2.21's CPU kernels depend on the CPU and on oneDNN, which
TensorFlow turns on by itself only on some CPUs (those with AVX-512; on an
AVX2-only CPU it stays off unless `TF_ENABLE_ONEDNN_OPTS=1` is set before
TensorFlow is imported):

| feature                              | Eigen (oneDNN off) | oneDNN on           |
| ------------------------------------ | ------------------ | ------------------- |
| NCHW convolution and pooling         | no                 | yes                 |
| bfloat16 auto-mixed-precision        | no                 | some AVX-512 CPUs   |
| gradients of dilated `Conv2D`        | no                 | yes                 |
| gradients of grouped `Conv2D`        | no                 | yes                 |

Rather than guess from CPU flags, each feature is probed by running a tiny
graph in an isolated session on the CPU (no GPU is initialised: the user's
own session configures it later); a visible GPU (cuDNN) runs all but the
oneDNN rewrite. The answers are cached for the process, since TensorFlow's
choice cannot change after import.

Typical use:

   from nets import _capabilities
   if not _capabilities.nchw_runs():
     raise ValueError(_capabilities.why_not('NCHW'))
"""

import collections
import functools
import threading

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import rewriter_config_pb2  # pylint: disable=g-direct-tensorflow-import

_lock = threading.Lock()
_ONEDNN_HINT = ('set TF_ENABLE_ONEDNN_OPTS=1 in the environment before '
                'TensorFlow is imported')


def gpu_visible():
  """Whether TensorFlow sees a GPU."""
  return bool(tf.config.list_physical_devices('GPU'))


@functools.lru_cache(maxsize=None)
def onednn_enabled():
  """Whether TensorFlow runs its CPU kernels through oneDNN in this process."""
  try:
    from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-direct-tensorflow-import,import-outside-toplevel
    return bool(_pywrap_util_port.IsMklEnabled())
  except (ImportError, AttributeError):
    # Without the flag, NCHW pooling is the observable difference.
    return _runs_on_cpu(_nchw_graph)


def _cpu_session_config():
  # device_count GPU 0: a probe must not claim GPU memory before the user's
  # own session configures the GPU.
  return tf.compat.v1.ConfigProto(device_count={'GPU': 0})


def _run_partitions(build, config):
  """Runs the graph `build()` makes; returns its partition GraphDefs.

  `build()` returns (fetches, feed dict). Raises tf.errors.OpError when a
  kernel is missing.
  """
  graph = tf.Graph()
  with graph.as_default():
    fetches, feed = build()
  metadata = tf.compat.v1.RunMetadata()
  with tf.compat.v1.Session(graph=graph, config=config) as sess:
    sess.run(fetches, feed,
             options=tf.compat.v1.RunOptions(output_partition_graphs=True),
             run_metadata=metadata)
  return metadata.partition_graphs


def _runs_on_cpu(build):
  with _lock:
    try:
      _run_partitions(build, _cpu_session_config())
    except (tf.errors.OpError, ValueError):
      return False
    return True


def _placeholder(shape):
  """A float32 placeholder and its feed value (a feed, not a constant, so
  grappler cannot fold the probed op away)."""
  tensor = tf.compat.v1.placeholder(tf.float32, shape)
  return tensor, {tensor: np.ones(shape, np.float32)}


def _nchw_graph():
  images, feed = _placeholder([1, 2, 4, 4])
  filters, filters_feed = _placeholder([1, 1, 2, 2])
  feed.update(filters_feed)
  net = tf.nn.conv2d(images, filters, 1, 'SAME', data_format='NCHW')
  net = tf.nn.max_pool2d(net, 2, 2, 'SAME', data_format='NCHW')
  return net, feed


def _conv_gradients_graph(groups=1, rate=1):
  images, feed = _placeholder([1, 5, 5, 2])
  filters, filters_feed = _placeholder([3, 3, 2 // groups, 2])
  feed.update(filters_feed)
  outputs = tf.nn.conv2d(images, filters, 1, 'SAME', dilations=rate)
  return [outputs] + tf.gradients(outputs, [images, filters]), feed


@functools.lru_cache(maxsize=None)
def nchw_runs():
  """Whether NCHW convolutions and pooling run (GPU, or CPU with oneDNN)."""
  return gpu_visible() or _runs_on_cpu(_nchw_graph)


@functools.lru_cache(maxsize=None)
def grouped_conv_gradients_run():
  """Whether a native grouped Conv2D and its gradients run here."""
  return gpu_visible() or _runs_on_cpu(
      functools.partial(_conv_gradients_graph, groups=2))


@functools.lru_cache(maxsize=None)
def dilated_conv_gradients_run():
  """Whether a Conv2D with dilations > 1 has gradient kernels here."""
  return gpu_visible() or _runs_on_cpu(
      functools.partial(_conv_gradients_graph, rate=2))


@functools.lru_cache(maxsize=None)
def bfloat16_rewrite_runs():
  """Whether oneDNN's auto-mixed-precision rewrite turns convs to bfloat16.

  TensorFlow skips the rewrite silently where oneDNN is off or the CPU has
  no bfloat16 support, so the probe looks at the graph that really ran.
  """
  if not onednn_enabled():
    return False
  config = _cpu_session_config()
  config.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = (
      rewriter_config_pb2.RewriterConfig.ON)
  build = functools.partial(_conv_gradients_graph, rate=1)
  with _lock:
    try:
      partitions = _run_partitions(build, config)
    except tf.errors.OpError:
      return False
  dtypes = collections.Counter(
      tf.dtypes.as_dtype(node.attr['T'].type).name
      for graph_def in partitions for node in graph_def.node
      if 'Conv2D' in node.op and 'T' in node.attr)
  return dtypes['bfloat16'] > 0


def why_not(feature):
  """One sentence: why `feature` ('NCHW' or 'bfloat16') does not run here,
  and what would make it run."""
  if feature == 'NCHW':
    return ('data_format NCHW needs a GPU or TensorFlow with oneDNN on this '
            'CPU, and oneDNN is off (TensorFlow turns it on by itself only '
            'on CPUs with AVX-512): %s, or use NHWC' % _ONEDNN_HINT)
  if feature == 'bfloat16':
    if not onednn_enabled():
      return ("precision 'bfloat16' runs through TensorFlow's oneDNN "
              'rewrite, and oneDNN is off here: %s (the rewrite also needs '
              'a CPU with AVX-512), or use float32' % _ONEDNN_HINT)
    return ("precision 'bfloat16': TensorFlow's oneDNN rewrite leaves the "
            'convolutions in float32 on this CPU (it needs AVX-512, and '
            'TensorFlow does not enable it on every AVX-512 CPU), so it '
            'would run float32 anyway; use float32')
  raise ValueError('unknown feature %r' % (feature,))


def describe():
  """{feature: bool} of what this process runs, for reports and the CLI."""
  return collections.OrderedDict([
      ('onednn', onednn_enabled()),
      ('gpu', gpu_visible()),
      ('nchw', nchw_runs()),
      ('bfloat16', bfloat16_rewrite_runs()),
      ('grouped_conv_gradients', grouped_conv_gradients_run()),
      ('dilated_conv_gradients', dilated_conv_gradients_run()),
  ])
