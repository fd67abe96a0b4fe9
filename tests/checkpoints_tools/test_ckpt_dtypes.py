"""Source dtypes: floating weights become the nets' float32, integers are
refused by name, and `extract --checkpoint` checks dtypes before restoring.

float16 and bfloat16 hold only float32 values, so the converted checkpoint
must hold exactly the source's values (compared with numpy's / ml_dtypes'
casts, and for `.pt` with torch's own), and it must restore into the net.
"""

import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import save_file

import ckpt_helpers
from checkpoints_tools import cli as ckpt_cli
from checkpoints_tools import convert
from checkpoints_tools import formats
from slimnets import extract
from nets import registry

_MODEL = 'tv_resnet50'
_DTYPES = {'float16': np.float16, 'bfloat16': ml_dtypes.bfloat16}


@pytest.fixture(scope='module')
def torch_named(module_tmp_factory):
  """{torchvision name: float32 array} of a random tv_resnet50."""
  folder = module_tmp_factory.mktemp('tv')
  npz = str(folder / 'tv.npz')
  np.savez(npz, **ckpt_helpers.random_values(_MODEL, 1000))
  path = str(folder / 'tv.safetensors')
  convert.convert(npz, path)
  return ckpt_helpers.read_all(path)


def _restores(prefix):
  """Logits of tv_resnet50 restored from `prefix` (a Saver restore)."""
  info = registry.get_model(_MODEL)
  return ckpt_helpers.run_slim(info.fn, prefix, ckpt_helpers.random_images(
      32), info.arg_scope_fn(), 1000)


def _assert_holds(prefix, tmp_path, expected):
  """The slim checkpoint `prefix` holds `expected` ({torch name: float32})
  bit for bit: written back in torch names, every tensor is equal."""
  back = str(tmp_path / 'back.safetensors')
  convert.convert(prefix, back)
  tensors = ckpt_helpers.read_all(back)
  assert sorted(tensors) == sorted(expected)
  for key, value in expected.items():
    assert tensors[key].dtype == np.float32, key
    np.testing.assert_array_equal(tensors[key], value, err_msg=key)


@pytest.mark.parametrize('dtype', sorted(_DTYPES))
def test_half_precision_safetensors_become_float32(torch_named, tmp_path,
                                                   capsys, dtype):
  low = {k: v.astype(_DTYPES[dtype]) for k, v in torch_named.items()}
  # As safetensors.torch.save_file(model.half().state_dict()) writes it.
  low['bn1.num_batches_tracked'] = np.array(0, np.int64)
  src = str(tmp_path / ('tv_%s.safetensors' % dtype))
  save_file(low, src)
  prefix = str(tmp_path / 'tv.ckpt')
  assert ckpt_cli.main(['convert', src, prefix, '--quiet']) == 0
  out = capsys.readouterr().out
  assert ("dtype: 267 %s -> float32, the nets' dtype (values preserved "
          'exactly)' % dtype) in out.splitlines()
  assert np.isfinite(_restores(prefix)).all()
  del low['bn1.num_batches_tracked']
  _assert_holds(prefix, tmp_path,
                {k: v.astype(np.float32) for k, v in low.items()})


# Writes a bfloat16 state dict as .pt, and torch's own float32 values of it.
_BFLOAT16_PT = r'''
import sys
import numpy as np
import torch
from safetensors.numpy import load_file
src, pt, reference = sys.argv[1:]
state = {k: torch.from_numpy(v).to(torch.bfloat16)
         for k, v in load_file(src).items()}
state['bn1.num_batches_tracked'] = torch.tensor(0)
torch.save(state, pt)
np.savez(reference, **{k: v.float().numpy() for k, v in state.items()
                       if v.is_floating_point()})
'''


def test_bfloat16_pt_becomes_float32(torch_named, tmp_path):
  ckpt_helpers.require_modules('torch')
  src = str(tmp_path / 'tv.safetensors')
  save_file(torch_named, src)
  pt = str(tmp_path / 'tv_bf16.pt')
  reference = str(tmp_path / 'reference.npz')
  subprocess.run([sys.executable, '-c', _BFLOAT16_PT, src, pt, reference],
                 check=True, capture_output=True)
  prefix = str(tmp_path / 'tv.ckpt')
  # Reading .pt imports torch: not into this TensorFlow process.
  stdout = ckpt_helpers.convert_in_child(pt, prefix)
  assert ("dtype: 267 bfloat16 -> float32, the nets' dtype (values "
          'preserved exactly)') in stdout.splitlines()
  with np.load(reference) as data:
    expected = {k: data[k] for k in data.files}
  _assert_holds(prefix, tmp_path, expected)


def test_integer_weights_refused_by_name(torch_named, tmp_path, capsys):
  bad = dict(torch_named)
  bad['layer1.0.bn1.running_var'] = np.ones(64, np.int32)
  src = str(tmp_path / 'int.safetensors')
  save_file(bad, src)
  dst = str(tmp_path / 'out' / 'x.ckpt')
  os.makedirs(os.path.dirname(dst))
  assert ckpt_cli.main(['convert', src, dst, '--quiet']) == 2
  lines = [l for l in capsys.readouterr().err.splitlines()
           if l.startswith('slimnets')]
  assert len(lines) == 1, lines
  assert 'tensor layer1.0.bn1.running_var' in lines[0]
  assert 'has dtype int32: weights must be floating point' in lines[0]
  assert not os.listdir(os.path.dirname(dst))


class _Float64Reader(formats.Reader):
  """The tensor names and shapes of `arrays`, all float64 (no data)."""

  format = 'safetensors'

  def __init__(self, arrays):
    super().__init__('float64.safetensors')
    self._arrays = arrays

  def keys(self):
    return list(self._arrays)

  def shape(self, key):
    return self._arrays[key].shape

  def dtype(self, key):
    return np.dtype(np.float64)


def test_float64_is_rounded_and_says_so(torch_named):
  plan = convert.plan(_Float64Reader(torch_named))
  assert plan['model'] == _MODEL
  assert ("dtype: 267 float64 -> float32, the nets' dtype (float64 rounded "
          'to the nearest float32)') in plan['messages']


def test_extract_checks_dtypes_before_restoring(tmp_path):
  model = 'resnet_v2_50'
  prefix = str(tmp_path / 'half.ckpt')
  with formats.open_writer(prefix, 'slim') as writer:
    for name, value in ckpt_helpers.random_values(model, 0).items():
      writer.add(name, value.astype(np.float16))
  image = str(tmp_path / 'image.png')
  Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(image)
  out = str(tmp_path / 'features.npz')
  with pytest.raises(extract.ExtractError,
                     match=r'variable resnet_v2_50/\S+ has dtype float16 in '
                     r'checkpoint .*half.ckpt but float32 in the model; '
                     r'`slimnets convert'):
    extract.extract(model, [image], out, checkpoint=prefix, image_size=32,
                    progress=False)
  assert not os.path.exists(out)
  # The fix the message names.
  fixed = str(tmp_path / 'fixed.ckpt')
  convert.convert(prefix, fixed)
  extract.extract(model, [image], out, checkpoint=fixed, image_size=32,
                  progress=False)
  assert os.path.exists(out)
