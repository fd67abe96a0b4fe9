"""PyTorch `.pt` / `.pth` / `.bin` state dicts, only when torch is installed.

A torch file is a pickle that can run code on load; it is read with
`torch.load(..., weights_only=True, mmap=True)` so tensors are mapped, not
copied. For torch-free pipelines use `.safetensors` (formats.safetensors),
which holds the same tensors under the same names.
"""

import numpy as np

from checkpoints_tools import formats


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
    self.skipped = sorted(k for k, v in data.items()
                          if k.endswith('num_batches_tracked'))
    self._tensors = {k: v for k, v in data.items() if k not in self.skipped}

  def keys(self):
    return list(self._tensors)

  def _tensor(self, key):
    if key not in self._tensors:
      raise self._missing(key)
    return self._tensors[key]

  def shape(self, key):
    return tuple(self._tensor(key).shape)

  def dtype(self, key):
    return np.dtype(str(self._tensor(key).dtype).replace('torch.', ''))

  def get(self, key):
    return self._tensor(key).detach().cpu().numpy()


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
