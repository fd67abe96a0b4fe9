"""The input convention converted weights expect, and `slimnets convert` /
`slimnets inspect` run through the `slimnets` command (`slimnets.cli.main`).

The conventions the converter records for Keras sources are checked against
Keras' own `preprocess_input` (tf_keras), and torch's against torchvision's
documented ImageNet normalisation constants, through slimnets.preprocessing's
implementation of each convention.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import ckpt_helpers
from checkpoints_tools import convert
from checkpoints_tools import formats
from checkpoints_tools import mappings
from checkpoints_tools.formats import slim as slim_format
from slimnets import cli
from slimnets import preprocessing


def _sidecar(prefix):
  with open(prefix + slim_format.SIDECAR_SUFFIX) as f:
    return json.load(f)


@pytest.fixture(scope='module')
def v2_npz(module_tmp_factory):
  path = str(module_tmp_factory.mktemp('npz') / 'v2.npz')
  np.savez(path, **ckpt_helpers.random_values('resnet_v2_50', 1001))
  return path


@pytest.fixture(scope='module')
def tv_npz(module_tmp_factory):
  path = str(module_tmp_factory.mktemp('npz') / 'tv.npz')
  np.savez(path, **ckpt_helpers.random_values('tv_resnet50', 1000))
  return path


def test_slim_checkpoint_gets_sidecar(v2_npz, tmp_path):
  prefix = str(tmp_path / 'v2.ckpt')
  summary = convert.convert(v2_npz, prefix)
  assert summary['preprocessing'] == 'inception'
  assert 'preprocessing: inception' in ' '.join(summary['messages'])
  meta = _sidecar(prefix)
  assert meta['preprocessing'] == 'inception'
  assert meta['model'] == 'resnet_v2_50' and meta['classes'] == '1001'
  with formats.open_reader(prefix) as reader:
    assert reader.metadata == meta


def test_paddle_and_torch_conventions(tv_npz, tmp_path):
  """Paddle and torchvision weights expect 'torch'; recorded through slim
  and in safetensors metadata."""
  pdparams = str(tmp_path / 'tv.pdparams')
  convert.convert(tv_npz, pdparams)
  prefix = str(tmp_path / 'from_paddle.ckpt')
  assert convert.convert(pdparams, prefix)['preprocessing'] == 'torch'
  assert _sidecar(prefix)['preprocessing'] == 'torch'
  st = str(tmp_path / 'tv.safetensors')
  convert.convert(prefix, st)
  with formats.open_reader(st) as reader:
    assert reader.metadata['preprocessing'] == 'torch'
    assert reader.metadata['model'] == 'tv_resnet50'


def test_recorded_convention_is_carried(v2_npz, tmp_path):
  """A slim checkpoint's sidecar wins over the model's default."""
  prefix = str(tmp_path / 'a.ckpt')
  convert.convert(v2_npz, prefix)
  path = prefix + slim_format.SIDECAR_SUFFIX
  meta = _sidecar(prefix)
  meta['preprocessing'] = 'tf'
  with open(path, 'w') as f:
    json.dump(meta, f)
  second = str(tmp_path / 'b.ckpt')
  summary = convert.convert(prefix, second)
  assert summary['preprocessing'] == 'tf'
  assert 'recorded in the source' in ' '.join(summary['messages'])
  assert _sidecar(second)['preprocessing'] == 'tf'


def test_replaced_checkpoint_loses_stale_sidecar(v2_npz, tmp_path):
  prefix = str(tmp_path / 'c.ckpt')
  convert.convert(v2_npz, prefix)
  assert os.path.exists(prefix + slim_format.SIDECAR_SUFFIX)
  with formats.open_writer(prefix, 'slim', force=True) as writer:
    writer.add('x', np.zeros(2, np.float32))
  assert not os.path.exists(prefix + slim_format.SIDECAR_SUFFIX)
  assert not [n for n in os.listdir(tmp_path) if n.startswith('.')]


def _normalize(images, convention):
  with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
    return sess.run(preprocessing.normalize(tf.constant(images), convention))


@pytest.mark.parametrize('model,module', [
    ('resnet_v2_50', 'resnet_v2'),
    ('xception_keras', 'xception'),
])
def test_keras_conventions_match_keras_preprocess_input(model, module):
  tf_keras = pytest.importorskip('tf_keras')
  table = mappings.get_table(model, 'keras')
  convention = mappings.preprocessing(table)
  images = np.random.RandomState(0).uniform(0, 255, (2, 5, 5, 3)).astype(
      np.float32)
  keras_fn = getattr(tf_keras.applications, module).preprocess_input
  np.testing.assert_allclose(_normalize(images, convention),
                             keras_fn(images.copy()), atol=1e-5)


def test_torch_convention_is_imagenet_mean_std():
  """torchvision's (and paddle.vision's) ImageNet normalisation."""
  table = mappings.get_table('tv_resnet50', 'paddle')
  assert mappings.preprocessing(table) == 'torch'
  assert mappings.preprocessing(mappings.get_table('tv_resnet50',
                                                   'torch')) == 'torch'
  images = np.full((1, 1, 1, 3), 255.0, np.float32)
  expected = (1.0 - np.array([0.485, 0.456, 0.406])) / np.array(
      [0.229, 0.224, 0.225])
  np.testing.assert_allclose(_normalize(images, 'torch')[0, 0, 0], expected,
                             rtol=1e-6)


def test_slimnets_command_runs_convert_and_inspect(v2_npz, tmp_path, capsys):
  """`slimnets convert` / `slimnets inspect` through slimnets.cli.main."""
  prefix = str(tmp_path / 'cli.ckpt')
  status = cli.main(['convert', v2_npz, prefix, '--quiet'])
  out, err = capsys.readouterr()
  assert status == 0, err
  assert 'preprocessing: inception' in out
  assert "resnet_v2_50, 272 tensors" in out
  assert _sidecar(prefix)['preprocessing'] == 'inception'
  status = cli.main(['inspect', prefix, '--no-tensors'])
  out, err = capsys.readouterr()
  assert status == 0, err
  assert 'model:      resnet_v2_50 (1001 classes)' in out
  assert 'preprocessing: inception (recorded in the source)' in out
  # Bad input through the same command: one line, exit status 2.
  status = cli.main(['convert', v2_npz, prefix, '--quiet'])
  _, err = capsys.readouterr()
  assert status == 2
  assert err.strip().startswith('slimnets convert: error: ')
  assert len(err.strip().splitlines()) == 1
