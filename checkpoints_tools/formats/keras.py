"""Keras HDF5 weights, read and written with h5py (Keras is not imported).

Read: tf_keras / Keras 2 whole-model `.h5` (weights under `model_weights`)
and weights-only `.h5` (`model.save_weights('w.h5')`). Keys are
`<layer name>/<weight name>`, e.g. `conv1_conv/kernel`,
`conv2_block1_preact_bn/moving_mean`.

Written: the weights-only layout, layers in the order of the first `add` of
each, weights in the order added, so the file loads with
`model.load_weights(path)` (matched by layer order, which the mapping tables
follow) or `model.load_weights(path, by_name=True)` in tf_keras, and with
`model.load_weights(path)` in Keras 3 (its legacy .h5 reader).

Keras 3 `.weights.h5` files (`layers/conv2d_44/vars/0`) are format
`keras3` (`formats/keras3.py`).
"""

import numpy as np

from checkpoints_tools import formats


def _h5py():
  import h5py  # pylint: disable=g-import-not-at-top
  return h5py


def _text(value):
  return value.decode('utf-8') if isinstance(value, bytes) else str(value)


class HDF5Reader(formats.Reader):
  """Reads weights from an HDF5 file one dataset at a time.

  Opens the file; a subclass fills `self._paths`, {key: dataset path} in
  the order `keys()` gives them.
  """

  def __init__(self, path):
    super().__init__(path)
    try:
      self._file = _h5py().File(path, 'r')
    except (OSError, ValueError) as error:
      raise formats.FormatError('%s: not a readable HDF5 file (%s)' %
                                (path, ' '.join(str(error).split()))) from None
    self._paths = {}

  def keys(self):
    return list(self._paths)

  def _dataset(self, key):
    if key not in self._paths:
      raise self._missing(key)
    try:
      return self._file[self._paths[key]]
    except KeyError:
      raise formats.FormatError('%s: weight %s is listed but missing' %
                                (self.path, key)) from None

  def shape(self, key):
    return tuple(self._dataset(key).shape)

  def dtype(self, key):
    return np.dtype(self._dataset(key).dtype)

  def get(self, key):
    try:
      return np.asarray(self._dataset(key)[()])
    except (OSError, ValueError) as error:
      raise formats.FormatError('%s: cannot read weight %s (%s)' %
                                (self.path, key, error)) from None

  def close(self):
    self._file.close()


class Reader(HDF5Reader):
  """Reads tf_keras `.h5` weights (whole model or weights only)."""

  format = 'keras'

  def __init__(self, path):
    super().__init__(path)
    root = self._file
    if 'model_weights' in root:
      root = root['model_weights']
    if 'layer_names' not in root.attrs:
      keras3 = 'layers' in root and 'vars' in root
      self._file.close()
      if keras3:
        raise formats.FormatError(
            '%s: a Keras 3 .weights.h5 file (layers named by class, e.g. '
            'conv2d_44): read it as format keras3' % path)
      raise formats.FormatError('%s: an HDF5 file without Keras weights (no '
                                'layer_names attribute)' % path)
    self.layer_order = []
    self._layer_of = {}
    try:
      for layer in (_text(n) for n in root.attrs['layer_names']):
        names = [_text(n) for n in root[layer].attrs.get('weight_names', [])]
        if names:
          self.layer_order.append(layer)
        for name in names:
          short = name.split('/')[-1].split(':')[0]
          key = layer + '/' + short
          if key in self._paths:
            raise formats.FormatError('%s: two weights named %s' %
                                      (path, key))
          self._paths[key] = root[layer].name + '/' + name
          self._layer_of[key] = layer
    except KeyError as error:
      self._file.close()
      raise formats.FormatError('%s: corrupt Keras weights (%s)' %
                                (path, error)) from None
    self.attrs = {k: _text(v) for k, v in root.attrs.items()
                  if k in ('backend', 'keras_version')}


class HDF5Writer(formats.Writer):
  """Writes an HDF5 file at the temporary path; removes it on abort."""

  def __init__(self, path, force=False):
    super().__init__(path, force)
    h5py = _h5py()
    self._file = self._open(lambda: h5py.File(self.tmp_path, 'w'))

  def _abort(self):
    self._quietly(self._file.close)
    super()._abort()


class Writer(HDF5Writer):
  """Writes a tf_keras weights-only `.h5` file."""

  format = 'keras'

  def __init__(self, path, force=False):
    super().__init__(path, force)
    self._layers = []
    self._weights = {}

  def _add(self, key, array):
    if '/' not in key:
      raise ValueError('%s: Keras key %r is not <layer>/<weight>' %
                       (self.path, key))
    layer, weight = key.rsplit('/', 1)
    if layer not in self._weights:
      self._layers.append(layer)
      self._weights[layer] = []
      self._file.create_group(layer)
    name = '%s/%s:0' % (layer, weight)
    self._weights[layer].append(name.encode('utf-8'))
    self._file[layer].create_dataset(name, data=np.asarray(array))

  def _finish(self):
    for layer in self._layers:
      self._file[layer].attrs['weight_names'] = self._weights[layer]
    self._file.attrs['layer_names'] = [l.encode('utf-8') for l in self._layers]
    self._file.attrs['backend'] = b'tensorflow'
    # Anything but '1' (which asks Keras to convert Keras 1 layouts).
    self._file.attrs['keras_version'] = b'2'
    self._file.close()
