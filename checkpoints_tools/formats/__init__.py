"""Tensor-file formats: detection, streaming readers and atomic writers.

Formats (name: files):
  slim:        TF checkpoints (`<prefix>.index` + `<prefix>.data-*`), also a
               directory with a `checkpoint` state file.
  npz:         numpy `.npz`, one array per tensor, keys as they are.
  keras:       Keras HDF5 weights: tf_keras whole-model or weights-only `.h5`,
               read with h5py.
  keras3:      Keras 3 `.weights.h5` (`layers/conv2d_3/vars/0`), read and
               written with h5py.
  safetensors: `.safetensors`, read and written without torch.
  torch:       `.pt` / `.pth` / `.bin` pickles, only when torch is importable.
  paddle:      Paddle `.pdparams` (a pickle of numpy arrays), read through a
               restricted unpickler, without paddle.

Readers expose `keys()`, `shape(key)`, `dtype(key)`, `get(key)` and read one
tensor at a time where the format allows it (slim, npz, keras, keras3,
safetensors). Writers are context managers with `add(key, array)`: they
write into a private temporary folder next to the destination
(`slimnets.output_files.TempDir`) and publish the result only when the `with`
block completes, never replacing an existing file without `force`, even one
another run published meanwhile; an error or a signal removes the folder
and leaves the destination untouched, and a write error (disk full) is an
`OutputError` naming the destination.

Typical use:

   from checkpoints_tools import formats
   with formats.open_reader('model.ckpt') as reader:
     with formats.open_writer('model.npz') as writer:
       for key in reader.keys():
         writer.add(key, reader.get(key))
"""

import os

from slimnets import output_files

FORMATS = ('slim', 'npz', 'keras', 'keras3', 'safetensors', 'torch',
           'paddle')

_EXTENSIONS = (
    ('.weights.h5', 'keras3'),
    ('.h5', 'keras'),
    ('.hdf5', 'keras'),
    ('.npz', 'npz'),
    ('.safetensors', 'safetensors'),
    ('.pt', 'torch'),
    ('.pth', 'torch'),
    ('.bin', 'torch'),
    ('.pdparams', 'paddle'),
    ('.ckpt', 'slim'),
)


class FormatError(ValueError):
  """A file that is missing, corrupt or not of the expected format."""


def _module(name):
  # Imported lazily: only the formats in use pay for their imports.
  import importlib  # pylint: disable=g-import-not-at-top
  if name not in FORMATS:
    raise FormatError('unknown format %r; known formats: %s' %
                      (name, ', '.join(FORMATS)))
  return importlib.import_module('checkpoints_tools.formats.' + name)


def format_from_extension(path):
  """The format a destination `path` names by its extension (default slim)."""
  lower = path.lower()
  for extension, name in _EXTENSIONS:
    if lower.endswith(extension):
      return name
  return 'slim'


def detect(path):
  """The format of the existing file (or slim prefix) `path`, by content.

  Raises:
    FormatError: when `path` does not exist or its content is not one of the
      known formats.
  """
  if os.path.isdir(path) or os.path.exists(path + '.index'):
    return 'slim'
  if not os.path.exists(path):
    raise FormatError('%s: no such file (nor a slim checkpoint prefix with '
                      '%s.index)' % (path, path))
  with open(path, 'rb') as f:
    head = f.read(16)
  if head.startswith(b'\x89HDF\r\n\x1a\n'):
    return _hdf5_format(path)
  if head.startswith(b'PK\x03\x04'):
    import zipfile  # pylint: disable=g-import-not-at-top
    try:
      with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    except zipfile.BadZipFile as error:
      raise FormatError('%s: corrupt zip archive (%s)' % (path, error)) from None
    if any(n.endswith('data.pkl') for n in names):
      return 'torch'
    if names and all(n.endswith('.npy') for n in names):
      return 'npz'
    raise FormatError('%s: a zip archive that is neither a .npz nor a torch '
                      'file' % path)
  # Before the pickle test: a safetensors file starts with its header's
  # length, whose first byte is 0x80 (pickle's first byte) one time in 32.
  if _is_safetensors_head(head, os.path.getsize(path)):
    return 'safetensors'
  if head[:1] == b'\x80':
    # A pickle: paddle, or a legacy (non-zip) torch file.
    return 'torch' if format_from_extension(path) == 'torch' else 'paddle'
  if path.endswith('.index'):
    return 'slim'
  raise FormatError('%s: unknown file format (first bytes %r)' %
                    (path, head[:8]))


def _is_safetensors_head(head, size):
  """Whether `head` opens a safetensors file of `size` bytes.

  The format is an 8-byte little-endian header length, then that many bytes
  of JSON starting with '{', then the tensors.
  """
  if len(head) < 9 or head[8:9] != b'{':
    return False
  return 8 + int.from_bytes(head[:8], 'little') <= size


def _hdf5_format(path):
  """'keras3' for Keras 3's `layers/*/vars/*` layout, else 'keras'."""
  import h5py  # pylint: disable=g-import-not-at-top
  from checkpoints_tools.formats import keras3  # pylint: disable=g-import-not-at-top
  try:
    with h5py.File(path, 'r') as h5file:
      return 'keras3' if keras3.is_keras3(h5file) else 'keras'
  except (OSError, ValueError):
    return 'keras'  # Its reader reports the corruption.


def open_reader(path, fmt=None):
  """A reader of `path` in format `fmt` (default: detected).

  Raises:
    FormatError: missing, corrupt or unreadable file.
  """
  if fmt is None:
    fmt = detect(path)
  elif not (os.path.exists(path) or os.path.exists(path + '.index')):
    raise FormatError('%s: no such file' % path)
  if fmt == 'slim' and path.endswith('.index'):
    path = path[:-len('.index')]
  return _module(fmt).Reader(path)


def open_writer(path, fmt=None, force=False, **kwargs):
  """An atomic writer to `path` in format `fmt` (default: by extension).

  Args:
    path: the destination (a prefix for slim).
    fmt: a format name, or None to choose it from the extension.
    force: replace an existing destination.
    **kwargs: passed to the format's writer.

  Raises:
    FileExistsError: when the destination exists and `force` is false.
  """
  fmt = fmt or format_from_extension(path)
  return _module(fmt).Writer(path, force=force, **kwargs)


class Reader(object):
  """Base class of the readers: a read-only mapping of key -> array."""

  format = None

  def __init__(self, path):
    self.path = path

  def keys(self):
    raise NotImplementedError

  def shape(self, key):
    raise NotImplementedError

  def dtype(self, key):
    raise NotImplementedError

  def get(self, key):
    raise NotImplementedError

  def close(self):
    pass

  def __contains__(self, key):
    return key in set(self.keys())

  def __enter__(self):
    return self

  def __exit__(self, *unused):
    self.close()

  def _missing(self, key):
    return KeyError('%s: no tensor %r' % (self.path, key))


class Writer(object):
  """Base class of the writers: subclasses write `self.tmp_path`.

  `self.tmp_path` is a file in the writer's own temporary folder; the base
  class publishes it as `self.path` (`_commit`) or removes the folder
  (`_abort`). Subclasses open their files through `_open`, close them
  quietly in `_abort`, and may publish more files in `_commit`.
  """

  format = None
  suffix = ''

  def __init__(self, path, force=False):
    self.path = path
    self.force = force
    self.keys = []
    self._key_set = set()
    check_destination(path, force, self._existing(path))
    directory = os.path.dirname(os.path.abspath(path)) or '.'
    with output_files.writing(path):
      os.makedirs(directory, exist_ok=True)
    self._temp = output_files.TempDir(directory, os.path.basename(path))
    self.tmp_path = self._temp.file(os.path.basename(path))

  def _open(self, open_fn):
    """Returns `open_fn()`, a file of the temporary folder being opened.

    Raises:
      OutputError: naming the destination, when it fails (the folder is
        removed: a writer that failed to construct is never aborted).
    """
    try:
      with output_files.writing(self.path):
        return open_fn()
    except BaseException:
      self._temp.remove()
      raise

  def _existing(self, path):
    return os.path.exists(path)

  def add(self, key, array):
    """Writes tensor `key` (streamed where the format allows)."""
    if key in self._key_set:
      raise ValueError('%s: tensor %r written twice' % (self.path, key))
    self._key_set.add(key)
    self.keys.append(key)
    with output_files.writing(self.path):
      self._add(key, array)

  def _add(self, key, array):
    raise NotImplementedError

  def _finish(self):
    """Completes the temporary file(s); called on success."""

  def _commit(self):
    self._temp.publish([(self.tmp_path, self.path)], self.force)
    self._temp.remove()

  def _abort(self):
    """Removes the temporary folder; subclasses close their files first."""
    self._temp.remove()

  @staticmethod
  def _quietly(close):
    """Calls `close()`, ignoring its errors.

    For aborts: on a full disk closing fails too, and the temporary folder
    must go anyway.
    """
    try:
      close()
    except Exception:  # pylint: disable=broad-except
      pass

  def __enter__(self):
    return self

  def __exit__(self, exc_type, unused_value, unused_tb):
    if exc_type is None:
      try:
        with output_files.writing(self.path):
          self._finish()
          self._commit()
      except BaseException:
        self._abort()
        raise
    else:
      self._abort()
    return False


def check_destination(path, force, exists):
  """Raises FileExistsError when `exists` and not `force`."""
  if exists and not force:
    raise FileExistsError('%s exists; pass --force (force=True) to replace '
                          'it' % path)
