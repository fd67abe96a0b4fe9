"""PyTorch `.pt` / `.pth` / `.bin` state dicts, only when torch is installed.

A torch file is a pickle that can run code on load; it is read with
`torch.load(..., weights_only=True, mmap=True)` so tensors are mapped, not
copied. For torch-free pipelines use `.safetensors` (formats.safetensors),
which holds the same tensors under the same names.

Batch norm's `num_batches_tracked` counters are not weights
(`is_bookkeeping`): readers of torch state dicts (this one and
formats.safetensors) list them in `Reader.skipped`. bfloat16 tensors are
given as numpy arrays of `ml_dtypes.bfloat16` (TensorFlow's numpy
bfloat16), which numpy alone cannot hold.
"""

import numpy as np

from checkpoints_tools import formats

# What `torch.nn.BatchNorm*` adds to a state dict besides its statistics.
_BOOKKEEPING_SUFFIX = 'num_batches_tracked'


def is_bookkeeping(key):
  """Whether the state-dict entry `key` is a counter, not a model tensor."""
  return key == _BOOKKEEPING_SUFFIX or key.endswith('.' + _BOOKKEEPING_SUFFIX)


def bfloat16():
  """numpy's bfloat16 dtype (from ml_dtypes, a TensorFlow dependency)."""
  import ml_dtypes  # pylint: disable=g-import-not-at-top
  return np.dtype(ml_dtypes.bfloat16)


def _torch():
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise formats.FormatError(
        'reading or writing .pt/.pth files needs torch, which is not '
        'installed; use .safetensors instead') from None
  return torch


class Reader(formats.Reader):
  """Reads a torch state dict (memory-mapped)."""

  format = 'torch'

  def __init__(self, path):
    super().__init__(path)
    torch = _torch()
    try:
      data = torch.load(path, map_location='cpu', weights_only=True,
                        mmap=True)
    except Exception as error:  # pylint: disable=broad-except
      raise formats.FormatError('%s: not a readable torch file (%s)' %
                                (path, ' '.join(str(error).split()))) from None
    if isinstance(data, dict) and 'state_dict' in data:
      data = data['state_dict']
    if not isinstance(data, dict):
      raise formats.FormatError('%s: holds a %s, not a state dict' %
                                (path, type(data).__name__))
    self.skipped = sorted(k for k in data if is_bookkeeping(k))
    self._tensors = {k: v for k, v in data.items() if k not in self.skipped}
    self._torch = torch

  def keys(self):
    return list(self._tensors)

  def _tensor(self, key):
    if key not in self._tensors:
      raise self._missing(key)
    return self._tensors[key]

  def shape(self, key):
    return tuple(self._tensor(key).shape)

  def dtype(self, key):
    dtype = self._tensor(key).dtype
    if dtype == self._torch.bfloat16:
      return bfloat16()
    name = str(dtype).replace('torch.', '')
    try:
      return np.dtype(name)
    except TypeError:
      raise formats.FormatError('%s: tensor %s has dtype %s, which numpy '
                                'cannot hold' % (self.path, key, name)) from None

  def get(self, key):
    tensor = self._tensor(key).detach().cpu()
    if tensor.dtype == self._torch.bfloat16:
      # torch has no numpy bfloat16: hand over the same 16-bit patterns.
      return tensor.view(self._torch.int16).numpy().view(bfloat16())
    self.dtype(key)  # a one-line error for dtypes numpy lacks
    return tensor.numpy()


class Writer(formats.Writer):
  """Writes a torch state dict with `torch.save`."""

  format = 'torch'

  def __init__(self, path, force=False):
    self._torch = _torch()
    super().__init__(path, force)
    self._tensors = {}

  def _add(self, key, array):
    self._tensors[key] = self._torch.from_numpy(np.ascontiguousarray(array))

  def _finish(self):
    self._torch.save(self._tensors, self.tmp_path)
