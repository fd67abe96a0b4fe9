"""The closed set of tensor transforms used by the mapping tables.

Every transform is a pair of exact (bit-preserving) array functions between
the slim layout and a source framework's layout, plus the matching shape
functions, so one table row serves both directions and shapes are checked
before any data is read.

  identity        same array.
  hwio_oihw       slim conv kernel [kh, kw, in, out] <-> torch/paddle
                  [out, in, kh, kw].
  conv1x1_dense   slim 1x1 conv [1, 1, in, out] <-> Keras Dense [in, out].
  conv1x1_linear  slim 1x1 conv [1, 1, in, out] <-> torch Linear [out, in].
  dense           slim fully_connected weights [in, out] <-> Keras Dense
                  [in, out]: the same array (named for the layer it reads,
                  which Keras 3 names by class).
  linear          slim fully_connected weights [in, out] <-> torch Linear
                  [out, in].
  depthwise_oihw  slim depthwise kernel [kh, kw, C, 1] <-> torch depthwise
                  conv (groups=C) weight [C, 1, kh, kw].
  depthwise_grouped(groups)
                  slim grouped conv filter F [kh, kw, c, groups*c] <->
                  keras-applications ResNeXt depthwise kernel K
                  [kh, kw, groups*c, c] (see `depthwise_grouped`).
  flatten_dense_<kh>x<kw>
                  slim conv [kh, kw, C, out] (VGG's fc6, a VALID conv over
                  the whole map) <-> Keras Dense after Flatten
                  [kh*kw*C, out] (channels-last flatten: row-major HWC).
  flatten_linear_<kh>x<kw>
                  the same slim conv <-> torch Linear after flatten
                  [out, C*kh*kw] (torch flattens NCHW: row-major CHW).

Class-count handling (slim's background class 0) is not a transform of a row
but a separate, explicit step of the converter: see `add_background` and
`drop_background`.

Typical use:

   from checkpoints_tools import transforms
   t = transforms.get('hwio_oihw')
   oihw = t.to_source(hwio)
   assert (t.to_slim(oihw) == hwio).all()
"""

import collections
import re

import numpy as np

Transform = collections.namedtuple(
    'Transform',
    ['name', 'to_source', 'to_slim', 'shape_to_source', 'shape_to_slim'])


def _identity_shape(shape):
  return tuple(shape)


def _perm_shape(shape, perm):
  if len(shape) != len(perm):
    raise ValueError('expected a rank-%d tensor, got shape %s' %
                     (len(perm), list(shape)))
  return tuple(shape[i] for i in perm)


def _conv1x1_shape_to_2d(shape, transpose):
  if len(shape) != 4 or tuple(shape[:2]) != (1, 1):
    raise ValueError('expected a 1x1 conv kernel [1, 1, in, out], got shape '
                     '%s' % list(shape))
  return (shape[3], shape[2]) if transpose else (shape[2], shape[3])


def _2d_shape_to_conv1x1(shape, transpose):
  if len(shape) != 2:
    raise ValueError('expected a rank-2 kernel, got shape %s' % list(shape))
  return (1, 1, shape[1], shape[0]) if transpose else (1, 1) + tuple(shape)


def _contiguous(array):
  return np.ascontiguousarray(array)


IDENTITY = Transform('identity', lambda a: a, lambda a: a, _identity_shape,
                     _identity_shape)
HWIO_OIHW = Transform(
    'hwio_oihw',
    lambda a: _contiguous(np.transpose(a, (3, 2, 0, 1))),
    lambda a: _contiguous(np.transpose(a, (2, 3, 1, 0))),
    lambda s: _perm_shape(s, (3, 2, 0, 1)),
    lambda s: _perm_shape(s, (2, 3, 1, 0)))
CONV1X1_DENSE = Transform(
    'conv1x1_dense',
    lambda a: _contiguous(a.reshape(a.shape[2:])),
    lambda a: _contiguous(a.reshape((1, 1) + a.shape)),
    lambda s: _conv1x1_shape_to_2d(s, False),
    lambda s: _2d_shape_to_conv1x1(s, False))
DENSE = Transform('dense', lambda a: a, lambda a: a, _identity_shape,
                  _identity_shape)
LINEAR = Transform('linear', lambda a: _contiguous(a.T),
                   lambda a: _contiguous(a.T), lambda s: tuple(s)[::-1],
                   lambda s: tuple(s)[::-1])
CONV1X1_LINEAR = Transform(
    'conv1x1_linear',
    lambda a: _contiguous(a.reshape(a.shape[2:]).T),
    lambda a: _contiguous(a.T.reshape((1, 1) + a.T.shape)),
    lambda s: _conv1x1_shape_to_2d(s, True),
    lambda s: _2d_shape_to_conv1x1(s, True))


def _depthwise_shape(shape, unit_axis, what):
  """`shape` moved between [kh, kw, C, 1] and [C, 1, kh, kw].

  Args:
    shape: the shape to convert.
    unit_axis: the axis of `shape` that must be 1 (the depth multiplier:
      3 in slim's layout, 1 in torch's).
    what: the layout `shape` should have, for the error message.

  Returns:
    The shape in the other layout (the same permutation both ways).

  Raises:
    ValueError: `shape` is not a depth-multiplier-1 depthwise kernel.
  """
  if len(shape) != 4 or shape[unit_axis] != 1:
    raise ValueError('expected a depthwise kernel %s, got shape %s' %
                     (what, list(shape)))
  return _perm_shape(shape, (2, 3, 0, 1))


# Depth multiplier 1 only (Xception's): torch's [C*m, 1, kh, kw] does not
# tell C from m.
DEPTHWISE_OIHW = Transform(
    'depthwise_oihw',
    lambda a: _contiguous(np.transpose(a, (2, 3, 0, 1))),
    lambda a: _contiguous(np.transpose(a, (2, 3, 0, 1))),
    lambda s: _depthwise_shape(s, 3, '[kh, kw, C, 1]'),
    lambda s: _depthwise_shape(s, 1, '[C, 1, kh, kw]'))


def depthwise_grouped(groups):
  """keras-applications ResNeXt depthwise kernel <-> slim grouped filter.

  keras-applications 1.0.8 builds the grouped 3x3 conv of ResNeXt as a
  DepthwiseConv2D with depth_multiplier c = C/groups and kernel
  K [kh, kw, C, c] (output channel k*c + b of input channel k), followed by a
  sum inside each group. The equivalent native grouped filter
  F [kh, kw, c, C] is F[kh, kw, a, g*c + b] = K[kh, kw, g*c + a, b].

  Args:
    groups: the number of groups (cardinality).

  Returns:
    A `Transform` (slim F <-> source K).
  """

  def to_slim(k):
    kh, kw, channels, c = k.shape
    if channels != groups * c:
      raise ValueError('depthwise kernel %s does not split into %d groups' %
                       (list(k.shape), groups))
    # K[kh, kw, g, a, b] -> F[kh, kw, a, g, b]
    f = k.reshape(kh, kw, groups, c, c).transpose(0, 1, 3, 2, 4)
    return _contiguous(f.reshape(kh, kw, c, groups * c))

  def to_source(f):
    kh, kw, c, channels = f.shape
    k = f.reshape(kh, kw, c, groups, c).transpose(0, 1, 3, 2, 4)
    return _contiguous(k.reshape(kh, kw, groups * c, c))

  def shape_to_slim(s):
    if len(s) != 4 or s[2] != groups * s[3]:
      raise ValueError('expected a depthwise kernel [kh, kw, %d*c, c], got '
                       'shape %s' % (groups, list(s)))
    return (s[0], s[1], s[3], s[2])

  def shape_to_source(s):
    if len(s) != 4 or s[3] != groups * s[2]:
      raise ValueError('expected a grouped filter [kh, kw, c, %d*c], got '
                       'shape %s' % (groups, list(s)))
    return (s[0], s[1], s[3], s[2])

  return Transform('depthwise_grouped_%d' % groups, to_source, to_slim,
                   shape_to_source, shape_to_slim)


def _flatten_shape_to_slim(shape, kh, kw, torch_layout):
  if len(shape) != 2 or shape[1 if torch_layout else 0] % (kh * kw):
    raise ValueError('expected a rank-2 kernel whose input size is a '
                     'multiple of %dx%d, got shape %s' % (kh, kw,
                                                          list(shape)))
  inputs, outputs = (shape[1], shape[0]) if torch_layout else shape
  return (kh, kw, inputs // (kh * kw), outputs)


def _flatten_shape_to_source(shape, kh, kw, torch_layout):
  if len(shape) != 4 or tuple(shape[:2]) != (kh, kw):
    raise ValueError('expected a %dx%d conv kernel [%d, %d, in, out], got '
                     'shape %s' % (kh, kw, kh, kw, list(shape)))
  inputs = kh * kw * shape[2]
  return (shape[3], inputs) if torch_layout else (inputs, shape[3])


def flattened(kh, kw, torch_layout):
  """A fully connected layer on a flattened kh x kw map <-> slim's conv.

  Slim writes VGG's fc6 as a VALID kh x kw convolution over the last
  feature map; Keras and torch flatten that map and apply a dense layer.
  Keras flattens channels-last (index (h*kw + w)*C + c), so its kernel is
  the slim kernel reshaped; torch flattens channels-first (index
  (c*kh + h)*kw + w) and stores [out, in], so its weight is the slim
  kernel transposed to [out, C, kh, kw] and reshaped.

  Args:
    kh, kw: the spatial size of the flattened map (the conv's kernel).
    torch_layout: False for Keras' Dense, True for torch's Linear.

  Returns:
    A `Transform` (slim [kh, kw, C, out] <-> the dense kernel).
  """

  def to_source(kernel):
    if torch_layout:
      return _contiguous(np.transpose(kernel, (3, 2, 0, 1)).reshape(
          kernel.shape[3], -1))
    return _contiguous(kernel.reshape(-1, kernel.shape[3]))

  def to_slim(kernel):
    shape = _flatten_shape_to_slim(kernel.shape, kh, kw, torch_layout)
    if torch_layout:
      return _contiguous(np.transpose(
          kernel.reshape(shape[3], shape[2], kh, kw), (2, 3, 1, 0)))
    return _contiguous(kernel.reshape(shape))

  name = 'flatten_%s_%dx%d' % ('linear' if torch_layout else 'dense', kh, kw)
  return Transform(
      name, to_source, to_slim,
      lambda s: _flatten_shape_to_source(s, kh, kw, torch_layout),
      lambda s: _flatten_shape_to_slim(s, kh, kw, torch_layout))


_BY_NAME = {t.name: t for t in (IDENTITY, HWIO_OIHW, CONV1X1_DENSE, DENSE,
                                LINEAR, CONV1X1_LINEAR, DEPTHWISE_OIHW)}


def get(name):
  """The transform called `name` (see the module docstring).

  Raises:
    ValueError: for an unknown name.
  """
  if name in _BY_NAME:
    return _BY_NAME[name]
  if name.startswith('depthwise_grouped_'):
    return depthwise_grouped(int(name.rsplit('_', 1)[1]))
  match = re.match(r'^flatten_(dense|linear)_(\d+)x(\d+)$', name)
  if match:
    return flattened(int(match.group(2)), int(match.group(3)),
                     match.group(1) == 'linear')
  raise ValueError('unknown transform %r; known: %s' %
                   (name, ', '.join(sorted(_BY_NAME))))


# Slim ImageNet checkpoints have 1001 classes, class 0 being "background";
# Keras, torchvision and Paddle have the 1000 others in the same order.
# The added background class gets zero weights and this bias, so its softmax
# probability underflows to 0 in float32 and the 1000 others keep exactly
# the source's probabilities.
BACKGROUND_BIAS = -1e4


def add_background(array, is_bias):
  """1000 -> 1001 classes: inserts class 0 on the last (class) axis."""
  pad = np.full(array.shape[:-1] + (1,), BACKGROUND_BIAS if is_bias else 0,
                dtype=array.dtype)
  return np.concatenate([pad, array], axis=-1)


def drop_background(array):
  """1001 -> 1000 classes: removes class 0 of the last (class) axis."""
  return _contiguous(array[..., 1:])
