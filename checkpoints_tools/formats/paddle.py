"""Paddle `.pdparams` files: a pickled dict of parameter name -> numpy array.

Read without paddle, through an unpickler that only constructs numpy arrays,
dtypes and plain containers (a pickle can otherwise run arbitrary code).
`paddle.save(state_dict)` adds a `StructuredToParameterName@@` entry (a dict
of names, no tensor): it is listed in `Reader.skipped`. The pickle format
cannot be streamed: the whole file is loaded (read) or held (write).
"""

import collections
import pickle

import numpy as np

from checkpoints_tools import formats

try:
  from numpy._core.multiarray import _reconstruct  # pylint: disable=g-import-not-at-top
except ImportError:  # numpy < 2
  from numpy.core.multiarray import _reconstruct  # pylint: disable=g-import-not-at-top

# Pickles of numpy arrays from numpy 1 and 2 name the same functions under
# numpy.core and numpy._core.
_ALLOWED = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('numpy', 'ndarray'): np.ndarray,
    ('numpy', 'dtype'): np.dtype,
    ('numpy.core.multiarray', '_reconstruct'): _reconstruct,
    ('numpy._core.multiarray', '_reconstruct'): _reconstruct,
}
_METADATA = ('StructuredToParameterName@@',)


class _Unpickler(pickle.Unpickler):

  def find_class(self, module, name):
    if (module, name) not in _ALLOWED:
      raise pickle.UnpicklingError('refusing to load %s.%s' % (module, name))
    return _ALLOWED[(module, name)]


class Reader(formats.Reader):
  """Reads a `.pdparams` file (all at once: pickles do not stream)."""

  format = 'paddle'

  def __init__(self, path):
    super().__init__(path)
    try:
      with open(path, 'rb') as f:
        data = _Unpickler(f).load()
    except Exception as error:  # pylint: disable=broad-except
      raise formats.FormatError('%s: not a readable .pdparams file (%s)' %
                                (path, ' '.join(str(error).split()))) from None
    if not isinstance(data, dict):
      raise formats.FormatError('%s: a pickle of %s, not a dict of arrays' %
                                (path, type(data).__name__))
    self.skipped = sorted(k for k in data if k in _METADATA)
    self._arrays = {}
    for key, value in data.items():
      if key in _METADATA:
        continue
      if not isinstance(value, np.ndarray):
        raise formats.FormatError('%s: entry %s is a %s, not an array' %
                                  (path, key, type(value).__name__))
      self._arrays[key] = value

  def keys(self):
    return list(self._arrays)

  def _array(self, key):
    if key not in self._arrays:
      raise self._missing(key)
    return self._arrays[key]

  def shape(self, key):
    return tuple(self._array(key).shape)

  def dtype(self, key):
    return self._array(key).dtype

  def get(self, key):
    return self._array(key)


class Writer(formats.Writer):
  """Writes a `.pdparams` pickle (what `paddle.load` reads)."""

  format = 'paddle'

  def __init__(self, path, force=False):
    super().__init__(path, force)
    self._arrays = collections.OrderedDict()

  def _add(self, key, array):
    self._arrays[key] = np.asarray(array)

  def _finish(self):
    with open(self.tmp_path, 'wb') as f:
      pickle.dump(dict(self._arrays), f, protocol=4)
