"""Keras 3 `.weights.h5` weights, read and written with h5py (no Keras).

Keras 3 `model.save_weights('m.weights.h5')` writes one HDF5 group per
layer, named by class and count rather than by layer name, with the layer's
weights as datasets numbered in its weight order:

  layers/conv2d/vars/0                 first Conv2D kernel
  layers/conv2d/vars/1                 its bias
  layers/batch_normalization_10/vars/3 11th BatchNormalization's variance
  layers/dense/vars/0                  the Dense kernel

plus empty groups for the layers without weights and a top-level `vars`
group (the model's own variables, none for keras.applications models). No
attributes. Keys are the dataset paths as stored; the `keras3` mapping
tables (`checkpoints_tools/mappings/keras3.py`) give their meaning by
position.

Written: the same layout for the layers with weights (Keras 3's loader
treats a missing group as a layer without weights), so the file loads with
Keras 3 `model.load_weights('m.weights.h5')`; the destination must end in
`.weights.h5` for Keras to read it as this format.

Typical use:

   from checkpoints_tools import formats
   with formats.open_reader('resnet50v2.weights.h5') as reader:
     reader.get('layers/conv2d/vars/0').shape  # (7, 7, 3, 64)
"""

import re

import numpy as np

from checkpoints_tools import formats
from checkpoints_tools.formats import keras

_KEY = re.compile(r'^layers/[A-Za-z0-9_]+/vars/\d+$')


def _h5py():
  import h5py  # pylint: disable=g-import-not-at-top
  return h5py


def is_keras3(h5file):
  """Whether the open h5py File `h5file` has the Keras 3 weights layout.

  True for a top-level `layers` group without Keras 2's `layer_names`
  attribute (at the root or under `model_weights`).
  """
  if 'layer_names' in h5file.attrs:
    return False
  if 'model_weights' in h5file:
    return False
  layers = h5file.get('layers')
  return layers is not None and hasattr(layers, 'keys')


def _natural(key):
  # conv2d_2 before conv2d_10, vars/2 before vars/10: the model's order
  # within each class (h5py lists names alphabetically).
  return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', key)]


class Reader(keras.HDF5Reader):
  """Reads a Keras 3 `.weights.h5` file one tensor at a time."""

  format = 'keras3'

  def __init__(self, path):
    super().__init__(path)
    h5py = _h5py()
    if not is_keras3(self._file):
      self._file.close()
      raise formats.FormatError(
          '%s: not a Keras 3 .weights.h5 file (no top-level layers group, or '
          'a Keras 2 layer_names attribute: read it as format keras)' % path)
    keys = []
    try:
      self._file.visititems(
          lambda name, obj: keys.append(name)
          if isinstance(obj, h5py.Dataset) else None)
    except (OSError, RuntimeError, KeyError) as error:
      self._file.close()
      raise formats.FormatError('%s: corrupt Keras 3 weights (%s)' %
                                (path, error)) from None
    # Keys are the dataset paths themselves.
    self._paths = {key: key for key in sorted(keys, key=_natural)}


class Writer(keras.HDF5Writer):
  """Writes a Keras 3 `.weights.h5` file (keys `layers/<layer>/vars/<i>`)."""

  format = 'keras3'

  def __init__(self, path, force=False):
    super().__init__(path, force)
    self._file.create_group('layers')
    # The model's own variables: none for the supported models.
    self._file.create_group('vars')

  def _add(self, key, array):
    if not _KEY.match(key):
      raise ValueError('%s: Keras 3 key %r is not layers/<layer>/vars/<i>' %
                       (self.path, key))
    self._file.create_dataset(key, data=np.asarray(array))

  def _finish(self):
    self._file.close()
