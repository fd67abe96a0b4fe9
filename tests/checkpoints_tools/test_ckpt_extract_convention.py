"""`slimnets extract --checkpoint` defaults to the preprocessing the
converter recorded next to the checkpoint (`<prefix>.slimnets.json`); an
explicit `--preprocessing` wins.

The features are compared with extractions whose convention is given
explicitly (the same pipeline, so bit-equal when the sidecar is honoured)
and with the model's own convention (different inputs, different features).
"""

import json
import os

import numpy as np
import pytest
from PIL import Image

import ckpt_helpers
from checkpoints_tools import convert
from checkpoints_tools import formats
from checkpoints_tools.formats import slim as slim_format
from slimnets import cli
from slimnets import extract

_MODEL = 'resnet_v2_50'  # its own convention: 'inception'
_SIZE = 56


@pytest.fixture(scope='module')
def images(module_tmp_factory):
  folder = module_tmp_factory.mktemp('images')
  rng = np.random.RandomState(5)
  paths = []
  for i in range(3):
    path = str(folder / ('img_%d.png' % i))
    Image.fromarray(rng.randint(0, 256, (64, 64, 3)).astype(np.uint8)).save(
        path)
    paths.append(path)
  return paths


@pytest.fixture(scope='module')
def torch_ckpt(module_tmp_factory):
  """A converted resnet_v2_50 checkpoint whose sidecar says 'torch'."""
  folder = module_tmp_factory.mktemp('ckpt')
  npz = str(folder / 'v2.npz')
  np.savez(npz, **ckpt_helpers.random_values(_MODEL, 0, seed=2))
  prefix = str(folder / 'v2.ckpt')
  convert.convert(npz, prefix)
  sidecar = prefix + slim_format.SIDECAR_SUFFIX
  with open(sidecar) as f:
    meta = json.load(f)
  assert meta['preprocessing'] == 'inception'
  meta['preprocessing'] = 'torch'
  with open(sidecar, 'w') as f:
    json.dump(meta, f)
  return prefix


def _features(images, out, **kwargs):
  summary = extract.extract(_MODEL, images, str(out), image_size=_SIZE,
                            progress=False, **kwargs)
  with np.load(str(out)) as data:
    return summary, data['global_pool']


def test_sidecar_convention_is_the_default(images, torch_ckpt, tmp_path):
  assert extract.checkpoint_convention(torch_ckpt) == 'torch'
  summary, default = _features(images, tmp_path / 'a.npz',
                               checkpoint=torch_ckpt)
  assert summary['preprocessing'] == 'torch'
  _, explicit = _features(images, tmp_path / 'b.npz', checkpoint=torch_ckpt,
                          preprocessing='torch')
  np.testing.assert_array_equal(default, explicit)
  summary, own = _features(images, tmp_path / 'c.npz', checkpoint=torch_ckpt,
                           preprocessing='inception')
  assert summary['preprocessing'] == 'inception'
  assert np.max(np.abs(own - default)) > 1e-3 * np.max(np.abs(own))


def test_without_sidecar_the_model_convention(images, torch_ckpt, tmp_path):
  folder = tmp_path / 'plain'
  folder.mkdir()
  prefix = str(folder / 'v2.ckpt')
  with formats.open_reader(torch_ckpt) as reader, formats.open_writer(
      prefix, 'slim') as writer:
    for key in reader.keys():
      writer.add(key, reader.get(key))
  assert not os.path.exists(prefix + slim_format.SIDECAR_SUFFIX)
  assert extract.checkpoint_convention(prefix) is None
  summary, _ = _features(images, tmp_path / 'd.npz', checkpoint=prefix)
  assert summary['preprocessing'] == 'inception'


def test_command_line(images, torch_ckpt, tmp_path, capsys):
  out = str(tmp_path / 'f.safetensors')
  status = cli.main(['extract', _MODEL] + images + [
      '--checkpoint', torch_ckpt, '--image-size', str(_SIZE),
      '--no-progress', '-o', out])
  _, err = capsys.readouterr()
  assert status == 0, err
  with formats.open_reader(out) as reader:
    assert reader.metadata['preprocessing'] == 'torch'
  status = cli.main(['extract', _MODEL] + images + [
      '--checkpoint', torch_ckpt, '--preprocessing', 'bgr', '-o',
      str(tmp_path / 'g.npz')])
  _, err = capsys.readouterr()
  assert status == 2
  assert 'preprocessing must be one of' in err
  assert len(err.strip().splitlines()) == 1
