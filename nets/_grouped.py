"""Grouped 2-D convolution (ResNeXt's cardinality) for `_layers.conv2d`.

A grouped convolution with `G` groups splits the input channels into `G`
equal slices and convolves slice `g` with its own filters into output slice
`g` [1]. TensorFlow runs it as ONE `tf.nn.conv2d` when the filter's input
depth is a divisor of the input depth: filter `[kh, kw, C / G, C_out]`,
output channel `o` reading input slice `o // (C_out / G)`. That native path
is one oneDNN (CPU) or cuDNN (GPU) kernel, forward and backward.

CPU TensorFlow without oneDNN (`TF_ENABLE_ONEDNN_OPTS=0`) computes the
native grouped forward pass (NHWC only, like every CPU convolution there) but
has no gradient kernels: `Conv2DBackpropInput` / `Conv2DBackpropFilter` fail
at run time with "Gradients for grouped convolutions are not supported on
CPU". There, and wherever a probe finds the same, `grouped_conv2d` builds
the split form instead: `tf.split` of the input channels, one convolution per
group with the matching output slice of the SAME filter tensor, `tf.concat`.
Both forms read the one `weights` variable, so checkpoints and numbers are
identical; only speed differs. (Without oneDNN the native forward pass is not
worth keeping for inference either: on an 8x56x56x128, 32-group 3x3 layer it
took 73 ms against 57 ms for the split form; with oneDNN, 7 ms against 17 ms.
See bench/bench_grouped.py.)

Which form is built, highest priority first:

1. `set_implementation('native' | 'split')` (or the `implementation_scope`
   context manager), for the whole process;
2. the environment variable `SLIMNETS_GROUPED_CONV=native|split`
   (`auto` or empty: detect);
3. detection, once per process (`nets._capabilities`): 'native' when a GPU
   is visible (cuDNN has grouped kernels) or when a tiny grouped convolution
   and its gradients run on this CPU in an isolated graph and session;
   'split' otherwise.

Dilated convolutions (atrous ResNeXt units under `output_stride`) have the
same gap on CPUs without oneDNN: `conv2d` below builds them through
space-to-batch there, in both forms.

[1] Saining Xie, Ross Girshick, Piotr Dollar, Zhuowen Tu, Kaiming He.
    Aggregated Residual Transformations for Deep Neural Networks. CVPR 2017,
    arXiv:1611.05431

Typical use (through `conv2d`; tests force either form):

   from nets import _grouped, _layers
   net = _layers.conv2d(net, 128, [3, 3], groups=32)
   with _grouped.implementation_scope('split'):
     ...
"""

import contextlib
import os

import tensorflow as tf

from nets import _capabilities

NATIVE = 'native'
SPLIT = 'split'
ENV_VAR = 'SLIMNETS_GROUPED_CONV'
_AUTO = ('', 'auto')

_forced = None


def _check_name(name, where):
  if name not in (NATIVE, SPLIT):
    raise ValueError("%s must be '%s' or '%s', got %r" %
                     (where, NATIVE, SPLIT, name))
  return name


def set_implementation(name):
  """Forces the grouped-convolution form for graphs built from now on.

  Args:
    name: 'native', 'split', or None to go back to the environment variable
      and detection.

  Raises:
    ValueError: for any other name.
  """
  global _forced
  _forced = None if name is None else _check_name(name,
                                                  'grouped conv implementation')


@contextlib.contextmanager
def implementation_scope(name):
  """Context manager: `set_implementation(name)`, restored on exit."""
  previous = _forced
  set_implementation(name)
  try:
    yield
  finally:
    set_implementation(previous)


def native_supported():
  """Whether the native grouped convolution trains here (probed once).

  Returns:
    True when a GPU is visible or this CPU build (oneDNN) has grouped
    forward and gradient kernels.
  """
  return _capabilities.grouped_conv_gradients_run()


def implementation():
  """The form `grouped_conv2d` builds now: 'native' or 'split'.

  Raises:
    ValueError: if SLIMNETS_GROUPED_CONV holds an unknown value.
  """
  if _forced is not None:
    return _forced
  env = os.environ.get(ENV_VAR, '').strip().lower()
  if env not in _AUTO:
    return _check_name(env, 'environment variable %s' % ENV_VAR)
  return NATIVE if native_supported() else SPLIT


def grouped_conv2d(inputs, weights, groups, strides, padding, data_format,
                   dilations):
  """Grouped convolution of `inputs` with `weights` in `groups` groups.

  Args:
    inputs: rank-4 tensor with C channels (known), C divisible by `groups`.
    weights: filter [kh, kw, C / groups, C_out], C_out divisible by `groups`;
      output slice g (channels g * C_out / groups onwards) reads input slice g.
    groups: number of groups, >= 1.
    strides: 4-element strides in `data_format` order.
    padding: 'SAME', 'VALID' or explicit paddings, as for `tf.nn.conv2d`.
    data_format: 'NHWC' or 'NCHW'.
    dilations: 4-element dilations in `data_format` order.

  Returns:
    The convolution output, as one native `tf.nn.conv2d` or as the split
    form (see the module docstring); the numbers are the same.

  Raises:
    ValueError: if the shapes do not fit `groups`.
  """
  channel_axis = 1 if data_format == 'NCHW' else 3
  in_channels = inputs.shape.dims[channel_axis].value
  kernel_depth, out_channels = weights.shape.as_list()[2:]
  if (groups < 1 or in_channels is None or in_channels != kernel_depth * groups
      or out_channels % groups):
    raise ValueError(
        'grouped_conv2d: groups=%d does not fit inputs %s (channels %s) and '
        'weights %s; need channels == weights depth * groups and groups '
        'dividing the output channels' %
        (groups, inputs.name, in_channels, weights.shape))
  if groups == 1 or implementation() == NATIVE:
    return conv2d(inputs, weights, strides, padding, data_format, dilations)
  with tf.compat.v1.name_scope('split_groups'):
    input_slices = tf.split(inputs, groups, axis=channel_axis)
    weight_slices = tf.split(weights, groups, axis=3)
    outputs = [
        conv2d(x, w, strides, padding, data_format, dilations)
        for x, w in zip(input_slices, weight_slices)
    ]
    return tf.concat(outputs, axis=channel_axis)


def conv2d(inputs, weights, strides, padding, data_format, dilations):
  """`tf.nn.conv2d`, with dilations through space-to-batch where needed.

  TensorFlow's CPU kernels without oneDNN compute a dilated `Conv2D` but
  have no gradient for it ("Current CPU implementations do not yet support
  dilation rates larger than 1"). There a dilated convolution is built as
  `tf.nn.convolution` builds it (SpaceToBatchND, plain Conv2D,
  BatchToSpaceND; the same numbers, and what tf-slim's Keras layers run
  everywhere); elsewhere as the one native kernel, which is faster.

  Args: as `grouped_conv2d`, for one group.

  Returns:
    The convolution output.
  """
  # Space-to-batch cannot stride; a strided dilated conv (conv2d_same with
  # stride and rate, which no slimnets net builds) stays native: its forward
  # pass runs everywhere.
  dilated = max(dilations) > 1 and max(strides) == 1
  if (dilated and isinstance(padding, str) and
      not _capabilities.dilated_conv_gradients_run()):
    return tf.nn.convolution(inputs, weights, padding=padding,
                             strides=strides, dilations=dilations,
                             data_format=data_format)
  return tf.nn.conv2d(inputs, weights, strides, padding,
                      data_format=data_format, dilations=dilations)
