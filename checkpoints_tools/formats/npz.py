"""numpy `.npz` archives: one `.npy` member per tensor, read and written one
tensor at a time (the zip members are streamed, never the whole archive).
"""

import zipfile

import numpy as np

from checkpoints_tools import formats


class Reader(formats.Reader):
  """Reads an `.npz` lazily."""

  format = 'npz'

  def __init__(self, path):
    super().__init__(path)
    try:
      self._zip = zipfile.ZipFile(path)
      names = self._zip.namelist()
    except (zipfile.BadZipFile, OSError) as error:
      raise formats.FormatError('%s: not a readable .npz (%s)' %
                                (path, error)) from None
    bad = [n for n in names if not n.endswith('.npy')]
    if bad:
      raise formats.FormatError('%s: not an .npz (member %s)' % (path, bad[0]))
    self._members = {n[:-len('.npy')]: n for n in names}
    self._headers = {}

  def keys(self):
    return sorted(self._members)

  def _header(self, key):
    if key not in self._members:
      raise self._missing(key)
    if key not in self._headers:
      try:
        with self._zip.open(self._members[key]) as f:
          version = np.lib.format.read_magic(f)
          read_header = (np.lib.format.read_array_header_1_0
                         if version == (1, 0) else
                         np.lib.format.read_array_header_2_0)
          shape, _, dtype = read_header(f)
      except Exception as error:  # pylint: disable=broad-except
        raise formats.FormatError('%s: corrupt tensor %s (%s)' %
                                  (self.path, key, error)) from None
      self._headers[key] = (tuple(shape), np.dtype(dtype))
    return self._headers[key]

  def shape(self, key):
    return self._header(key)[0]

  def dtype(self, key):
    return self._header(key)[1]

  def get(self, key):
    self._header(key)
    try:
      with self._zip.open(self._members[key]) as f:
        return np.lib.format.read_array(f, allow_pickle=False)
    except Exception as error:  # pylint: disable=broad-except
      raise formats.FormatError('%s: corrupt tensor %s (%s)' %
                                (self.path, key, error)) from None

  def close(self):
    self._zip.close()


class Writer(formats.Writer):
  """Writes an `.npz` one member at a time (uncompressed, like np.savez)."""

  format = 'npz'

  def __init__(self, path, force=False):
    super().__init__(path, force)
    self._zip = self._open(lambda: zipfile.ZipFile(self.tmp_path, 'w',
                                                   allowZip64=True))

  def _add(self, key, array):
    array = np.asarray(array)
    with self._zip.open(key + '.npy', 'w', force_zip64=True) as f:
      np.lib.format.write_array(f, array, allow_pickle=False)

  def _finish(self):
    self._zip.close()

  def _abort(self):
    # Closing writes the zip's directory, which fails again on a full disk.
    self._quietly(self._zip.close)
    super()._abort()
