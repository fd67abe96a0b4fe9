"""TF (slim) checkpoints: `<prefix>.index` + `<prefix>.data-*-of-*`.

Read through `tf.train.load_checkpoint` (one tensor at a time). Written
without building any model graph: tensors are buffered up to
`chunk_bytes`, each chunk saved as one shard with `tf.raw_ops.SaveV2`, and
the shards merged into one checkpoint with `tf.raw_ops.MergeV2Checkpoints`.
The result restores with `tf.compat.v1.train.Saver` and reads with
`tf.train.load_checkpoint` like any slim checkpoint.

Bookkeeping entries that are not model tensors (`global_step`,
`_CHECKPOINTABLE_OBJECT_GRAPH`) are listed in `Reader.skipped` and left out
of `keys()`.

Metadata (e.g. the converter's `{'model', 'preprocessing', ...}`) has no
place in a TF checkpoint: it goes to a JSON sidecar `<prefix>.slimnets.json`
(`SIDECAR_SUFFIX`), moved into place with the data files, before the index,
so a checkpoint never appears with a stale or missing sidecar. Readers
expose it as `Reader.metadata` ({} without a sidecar).
"""

import glob
import json
import os

import numpy as np

from checkpoints_tools import formats
from slimnets import output_files

BOOKKEEPING = ('global_step', '_CHECKPOINTABLE_OBJECT_GRAPH')
# slimnets/extract.py reads the same sidecar (default preprocessing).
SIDECAR_SUFFIX = '.slimnets.json'


def read_sidecar(prefix):
  """The metadata dict of `<prefix>.slimnets.json`, or {} without one.

  Raises:
    formats.FormatError: a sidecar that is not a JSON object.
  """
  path = prefix + SIDECAR_SUFFIX
  if not os.path.exists(path):
    return {}
  try:
    with open(path) as f:
      data = json.load(f)
  except (OSError, ValueError) as error:
    raise formats.FormatError('%s: unreadable sidecar (%s)' %
                              (path, _one_line(error))) from None
  if not isinstance(data, dict):
    raise formats.FormatError('%s: not a JSON object' % path)
  return data


def _tf():
  # The log level is the entry point's (or the user's) choice, never ours:
  # setting it here would leak into every subprocess the caller starts.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf


def _one_line(error):
  return ' '.join(str(getattr(error, 'message', error)).split())


def _prefix(path):
  """The checkpoint prefix of `path` (a prefix, or a directory)."""
  if os.path.isdir(path):
    tf = _tf()
    prefix = tf.train.latest_checkpoint(path)
    if prefix is None:
      raise formats.FormatError('%s: a directory without a checkpoint' % path)
    return prefix
  return path


class Reader(formats.Reader):
  """Reads a slim checkpoint one tensor at a time."""

  format = 'slim'

  def __init__(self, path):
    super().__init__(path)
    tf = _tf()
    self.prefix = _prefix(path)
    try:
      self._reader = tf.train.load_checkpoint(self.prefix)
      shapes = self._reader.get_variable_to_shape_map()
      dtypes = self._reader.get_variable_to_dtype_map()
    except Exception as error:  # pylint: disable=broad-except
      raise formats.FormatError('%s: not a readable TF checkpoint (%s)' %
                                (path, _one_line(error))) from None
    self.skipped = sorted(k for k in shapes if k in BOOKKEEPING)
    self._shapes = {k: tuple(v) for k, v in shapes.items()
                    if k not in BOOKKEEPING}
    self._dtypes = {k: np.dtype(dtypes[k].as_numpy_dtype)
                    for k in self._shapes}
    self.metadata = read_sidecar(self.prefix)

  def keys(self):
    return sorted(self._shapes)

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
    try:
      value = self._reader.get_tensor(key)
    except Exception as error:  # pylint: disable=broad-except
      raise formats.FormatError('%s: cannot read tensor %s (%s)' %
                                (self.path, key, _one_line(error))) from None
    return np.asarray(value)


class Writer(formats.Writer):
  """Writes a slim checkpoint in shards of about `chunk_bytes`."""

  format = 'slim'

  def __init__(self, path, force=False, chunk_bytes=16 << 20, metadata=None):
    super().__init__(path, force)
    self._chunk_bytes = chunk_bytes
    self._metadata = dict(metadata) if metadata else None
    # Fixed names in the writer's own folder: the shards apart from the
    # merged checkpoint, whatever the destination is called.
    self.tmp_path = self._temp.file('ckpt')
    self._shard_dir = self._temp.file('shards')
    self._open(lambda: os.mkdir(self._shard_dir))
    self._shards = []
    self._pending = []
    self._pending_bytes = 0

  def _existing(self, path):
    return os.path.exists(path + '.index')

  def _add(self, key, array):
    array = np.asarray(array)
    self._pending.append((key, array))
    self._pending_bytes += array.nbytes
    if self._pending_bytes >= self._chunk_bytes:
      self._flush()

  def _flush(self):
    if not self._pending:
      return
    tf = _tf()
    shard = os.path.join(self._shard_dir, 'shard%d' % len(self._shards))
    names, values = zip(*self._pending)
    try:
      with tf.device('/cpu:0'):
        tf.raw_ops.SaveV2(prefix=shard, tensor_names=list(names),
                          shape_and_slices=[''] * len(names),
                          tensors=[tf.constant(v) for v in values])
    except tf.errors.OpError as error:  # e.g. the disk is full
      raise output_files.write_error(self.path, error) from None
    self._shards.append(shard)
    self._pending = []
    self._pending_bytes = 0

  def _finish(self):
    self._flush()
    if not self._shards:
      raise ValueError('%s: no tensor to write' % self.path)
    tf = _tf()
    try:
      with tf.device('/cpu:0'):
        tf.raw_ops.MergeV2Checkpoints(checkpoint_prefixes=self._shards,
                                      destination_prefix=self.tmp_path,
                                      delete_old_dirs=False)
    except tf.errors.OpError as error:
      raise output_files.write_error(self.path, error) from None
    if self._metadata is not None:
      # Named like the data files, so _commit moves it with them.
      with open(self.tmp_path + SIDECAR_SUFFIX, 'w') as f:
        json.dump(self._metadata, f, indent=1, sort_keys=True)
        f.write('\n')

  def _tmp_files(self):
    return sorted(glob.glob(glob.escape(self.tmp_path) + '.*'))

  def _commit(self):
    """Publishes the data files, then the sidecar, then the index.

    The index last: it is what makes the prefix a checkpoint. Without force
    (`slimnets.output_files.TempDir.publish`) nothing is replaced: of two runs
    racing for a new prefix, the first to publish a name both write (the
    first data file when their shard counts agree, else the sidecar or the
    index) wins, and the other removes what it had published, names the
    winner's index does not use.
    """
    old_data = set(glob.glob(glob.escape(self.path) + '.data-*'))
    data, sidecar, index = [], [], []
    for tmp in self._tmp_files():
      suffix = tmp[len(self.tmp_path):]
      group = (index if suffix == '.index' else
               sidecar if suffix == SIDECAR_SUFFIX else data)
      group.append((tmp, self.path + suffix))
    stale_sidecar = self.path + SIDECAR_SUFFIX
    if self._metadata is None and os.path.lexists(stale_sidecar):
      # It would describe other weights; removed only with force.
      formats.check_destination(stale_sidecar, self.force, True)
      os.remove(stale_sidecar)
    published = self._temp.publish(data + sidecar + index, self.force)
    for stale in old_data - set(published):
      os.remove(stale)  # Data files of the checkpoint replaced (force).
    self._temp.remove()
