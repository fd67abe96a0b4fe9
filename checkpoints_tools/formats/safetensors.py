"""safetensors files, read and written with numpy only (no torch).

Reading goes through `safetensors.safe_open(..., framework='numpy')`, one
tensor at a time. Writing streams each tensor's bytes to a temporary data
file and then writes the header followed by those bytes, so no more than
one tensor is held in memory.

The files hold torch state dicts (`safetensors.torch.save_file(
model.state_dict())`): batch norm's `num_batches_tracked` counters are
listed in `Reader.skipped`, as by the `.pt` reader. BF16 tensors are read
as `ml_dtypes.bfloat16` arrays (safetensors' numpy loader needs that dtype
registered, which importing ml_dtypes does).
"""

import json
import os
import shutil
import struct

import numpy as np

from checkpoints_tools import formats
from checkpoints_tools.formats import torch as torch_format

_DTYPES = {
    'F64': np.float64, 'F32': np.float32, 'F16': np.float16,
    'I64': np.int64, 'I32': np.int32, 'I16': np.int16, 'I8': np.int8,
    'U64': np.uint64, 'U32': np.uint32, 'U16': np.uint16, 'U8': np.uint8,
    'BOOL': np.bool_,
}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}


def _numpy_dtype(code):
  """The numpy dtype of the safetensors dtype `code`, or None."""
  if code == 'BF16':
    return torch_format.bfloat16()
  return np.dtype(_DTYPES[code]) if code in _DTYPES else None


class Reader(formats.Reader):
  """Reads a `.safetensors` file lazily."""

  format = 'safetensors'

  def __init__(self, path):
    super().__init__(path)
    import safetensors  # pylint: disable=g-import-not-at-top
    try:
      self._file = safetensors.safe_open(path, framework='numpy')
      keys = sorted(self._file.keys())
      self.skipped = [k for k in keys if torch_format.is_bookkeeping(k)]
      self._keys = [k for k in keys if not torch_format.is_bookkeeping(k)]
      self.metadata = self._file.metadata() or {}
      self._shapes = {}
      self._dtypes = {}
      for key in self._keys:
        tensor_slice = self._file.get_slice(key)
        self._shapes[key] = tuple(tensor_slice.get_shape())
        code = tensor_slice.get_dtype()
        dtype = _numpy_dtype(code)
        if dtype is None:
          raise ValueError('tensor %s has dtype %s, which numpy cannot hold'
                           % (key, code))
        self._dtypes[key] = dtype
    except Exception as error:  # pylint: disable=broad-except
      raise formats.FormatError('%s: not a readable safetensors file (%s)' %
                                (path, ' '.join(str(error).split()))) from None

  def keys(self):
    return list(self._keys)

  def shape(self, key):
    if key not in self._shapes:
      raise self._missing(key)
    return self._shapes[key]

  def dtype(self, key):
    if key not in self._dtypes:
      raise self._missing(key)
    return self._dtypes[key]

  def get(self, key):
    if key not in self._shapes:
      raise self._missing(key)
    return self._file.get_tensor(key)


class Writer(formats.Writer):
  """Writes a `.safetensors` file, streaming tensor data."""

  format = 'safetensors'

  def __init__(self, path, force=False, metadata=None):
    super().__init__(path, force)
    # 'format' tells safetensors' loaders which framework wrote the file.
    self._metadata = dict({'format': 'np'}, **(metadata or {}))
    self._header = {}
    self._offset = 0
    self._data_path = self.tmp_path + '.data'
    self._data = self._open(lambda: open(self._data_path, 'wb'))

  def _add(self, key, array):
    array = np.ascontiguousarray(array)
    if array.dtype not in _CODES:
      raise ValueError('%s: tensor %s has dtype %s, not storable in '
                       'safetensors' % (self.path, key, array.dtype))
    data = array.astype(array.dtype.newbyteorder('<'), copy=False).tobytes()
    self._header[key] = {
        'dtype': _CODES[array.dtype],
        'shape': list(array.shape),
        'data_offsets': [self._offset, self._offset + len(data)],
    }
    self._data.write(data)
    self._offset += len(data)

  def _finish(self):
    self._data.close()
    header = dict(self._header)
    header['__metadata__'] = {str(k): str(v)
                              for k, v in self._metadata.items()}
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    # The data must start 8-byte aligned.
    text += b' ' * (-len(text) % 8)
    with open(self.tmp_path, 'wb') as out, open(self._data_path, 'rb') as data:
      out.write(struct.pack('<Q', len(text)))
      out.write(text)
      shutil.copyfileobj(data, out, 16 << 20)
    os.remove(self._data_path)

  def _abort(self):
    # Closing flushes the buffer, which fails again on a full disk; the
    # data file goes with the temporary folder.
    self._quietly(self._data.close)
    super()._abort()
