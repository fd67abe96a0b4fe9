"""`slimnets inspect/diff/convert/verify` and bad input: one-line errors,
non-zero exit, nothing written."""

import glob
import os

import numpy as np
import pytest

import ckpt_helpers
from checkpoints_tools import cli as ckpt_cli


def _run(argv, capsys):
  status = ckpt_cli.main(argv)
  out, err = capsys.readouterr()
  return status, out, err


@pytest.fixture(scope='module')
def v1_npz(module_tmp_factory):
  """A resnet_v1_50 (1000 classes) random-weight .npz, slim names."""
  path = str(module_tmp_factory.mktemp('npz') / 'v1.npz')
  values = ckpt_helpers.random_values('resnet_v1_50', 1000)
  np.savez(path, **values)
  return path, values


def _error_line(err):
  lines = [l for l in err.splitlines() if l.startswith('slimnets')]
  assert len(lines) == 1, err
  return lines[0]


def test_inspect_names_the_model(v1_npz, capsys):
  path, values = v1_npz
  status, out, _ = _run(['inspect', path, '--no-tensors'], capsys)
  assert status == 0
  assert 'model:      resnet_v1_50 (1000 classes)' in out
  total = sum(v.size for v in values.values())
  assert 'parameters: %s' % format(total, ',') in out
  assert 'tensors:    %d' % len(values) in out


def test_convert_then_diff_identical(v1_npz, tmp_path, capsys):
  path, _ = v1_npz
  ckpt = str(tmp_path / 'v1.ckpt')
  status, out, _ = _run(['convert', path, ckpt, '--quiet'], capsys)
  assert status == 0, out
  status, out, _ = _run(['diff', path, ckpt], capsys)
  assert status == 0
  assert out.strip().endswith('identical')


def test_diff_reports_differences(v1_npz, tmp_path, capsys):
  path, values = v1_npz
  other = dict(values)
  name = 'resnet_v1_50/conv1/weights'
  other[name] = other[name] + 0.5
  del other['resnet_v1_50/logits/biases']
  other['extra'] = np.zeros(3, np.float32)
  other['resnet_v1_50/conv1/BatchNorm/beta'] = np.zeros(7, np.float32)
  b = str(tmp_path / 'b.npz')
  np.savez(b, **other)
  status, out, _ = _run(['diff', path, b], capsys)
  assert status == 1
  assert 'only in A: resnet_v1_50/logits/biases' in out
  assert 'only in B: extra' in out
  assert 'shape mismatch: resnet_v1_50/conv1/BatchNorm/beta: [64] vs [7]' in out
  assert 'max abs difference: 0.5 (%s)' % name in out


def _assert_refused(argv, capsys, dst, *fragments):
  status, _, err = _run(argv, capsys)
  assert status == 2
  line = _error_line(err)
  for fragment in fragments:
    assert fragment in line, line
  assert not os.path.exists(dst) and not os.path.exists(dst + '.index')
  assert not [n for n in os.listdir(os.path.dirname(dst))
              if n.startswith('.')]


def test_shape_mismatch_names_tensor_and_shapes(v1_npz, tmp_path, capsys):
  _, values = v1_npz
  bad = dict(values)
  name = 'resnet_v1_50/block2/unit_1/bottleneck_v1/conv2/weights'
  bad[name] = np.zeros((3, 3, 128, 64), np.float32)
  src = str(tmp_path / 'bad.npz')
  np.savez(src, **bad)
  dst = str(tmp_path / 'out' / 'x.safetensors')
  os.makedirs(os.path.dirname(dst))
  _assert_refused(['convert', src, dst, '--model', 'resnet_v1_50'], capsys,
                  dst, name, '[3, 3, 128, 64]', '[3, 3, 128, 128]')


def test_missing_and_unexpected_tensors(v1_npz, tmp_path, capsys):
  _, values = v1_npz
  bad = dict(values)
  del bad['resnet_v1_50/conv1/weights']
  bad['resnet_v1_50/conv1/weights/Momentum'] = np.zeros(1, np.float32)
  src = str(tmp_path / 'bad.npz')
  np.savez(src, **bad)
  dst = str(tmp_path / 'out' / 'x.ckpt')
  os.makedirs(os.path.dirname(dst))
  _assert_refused(['convert', src, dst, '--model', 'resnet_v1_50'], capsys,
                  dst, 'unexpected', 'conv1/weights/Momentum', 'missing',
                  'resnet_v1_50/conv1/weights')
  # --exclude / --rename fix such files.
  bad['resnet_v1_50/conv1/kernel'] = values['resnet_v1_50/conv1/weights']
  np.savez(src, **bad)
  status, _, err = _run(['convert', src, dst, '--quiet', '--exclude',
                         '/Momentum$', '--rename', '/kernel$=/weights'],
                        capsys)
  assert status == 0, err


def test_unknown_model_without_model_flag(tmp_path, capsys):
  src = str(tmp_path / 'odd.npz')
  np.savez(src, a=np.zeros(3))
  dst = str(tmp_path / 'out' / 'x.npz')
  os.makedirs(os.path.dirname(dst))
  _assert_refused(['convert', src, dst], capsys, dst, 'pass --model')


@pytest.mark.parametrize('suffix', ['.npz', '.safetensors', '.h5',
                                    '.pdparams'])
def test_corrupt_and_truncated_files(tmp_path, capsys, suffix):
  from checkpoints_tools import formats  # pylint: disable=g-import-not-at-top
  good = str(tmp_path / ('good' + suffix))
  with formats.open_writer(good) as writer:
    writer.add('layer/kernel', np.ones((64, 64, 16), np.float32))
    writer.add('layer/bias', np.ones((16,), np.float32))
  with formats.open_reader(good) as reader:
    assert sorted(reader.keys()) == ['layer/bias', 'layer/kernel']
  with open(good, 'rb') as f:
    data = f.read()
  dst = str(tmp_path / 'out' / 'x.npz')
  os.makedirs(os.path.dirname(dst))
  truncated = str(tmp_path / ('truncated' + suffix))
  with open(truncated, 'wb') as f:
    f.write(data[:len(data) // 2])
  _assert_refused(['convert', truncated, dst, '--model', 'resnet_v1_50'],
                  capsys, dst, 'truncated' + suffix)
  garbage = str(tmp_path / ('garbage' + suffix))
  with open(garbage, 'wb') as f:
    f.write(b'\x89HDF\r\n\x1a\nnot really' if suffix == '.h5' else
            b'this is not a weights file at all')
  _assert_refused(['convert', garbage, dst], capsys, dst, 'garbage' + suffix)


def test_truncated_slim_data_leaves_nothing(v1_npz, tmp_path, capsys):
  path, _ = v1_npz
  ckpt = str(tmp_path / 'v1.ckpt')
  assert ckpt_cli.main(['convert', path, ckpt, '--quiet']) == 0
  # One data file per ~16 MB shard: truncate the last.
  data = sorted(glob.glob(ckpt + '.data-*'))[-1]
  size = os.path.getsize(data)
  with open(data, 'r+b') as f:
    f.truncate(size // 2)
  capsys.readouterr()
  dst = str(tmp_path / 'out' / 'x.npz')
  os.makedirs(os.path.dirname(dst))
  _assert_refused(['convert', ckpt, dst], capsys, dst, 'v1.ckpt')


def test_existing_output_needs_force(v1_npz, tmp_path, capsys):
  path, _ = v1_npz
  dst = str(tmp_path / 'x.safetensors')
  with open(dst, 'w') as f:
    f.write('keep me')
  status, _, err = _run(['convert', path, dst, '--quiet'], capsys)
  assert status == 2 and '--force' in _error_line(err)
  with open(dst) as f:
    assert f.read() == 'keep me'
  status, _, _ = _run(['convert', path, dst, '--quiet', '--force'], capsys)
  assert status == 0
  assert os.path.getsize(dst) > 1000


def test_verify_keras(tmp_path, capsys):
  tf_keras = pytest.importorskip('tf_keras')
  tf_keras.backend.clear_session()
  model = tf_keras.applications.ResNet50V2(
      weights=None, input_shape=(64, 64, 3), classifier_activation=None)
  h5 = str(tmp_path / 'k.h5')
  model.save_weights(h5)
  ckpt = str(tmp_path / 'k.ckpt')
  assert ckpt_cli.main(['convert', h5, ckpt, '--quiet']) == 0
  status, out, _ = _run(['verify', h5, ckpt, '--model', 'resnet_v2_50',
                         '--image-size', '64', '--batch-size', '2'], capsys)
  assert status == 0, out
  assert 'top-1 agreement:               2/2' in out
  # Another model's weights: verify fails with status 1.
  other = str(tmp_path / 'other.h5')
  tf_keras.backend.clear_session()
  tf_keras.applications.ResNet50V2(
      weights=None, input_shape=(64, 64, 3),
      classifier_activation=None).save_weights(other)
  status, out, _ = _run(['verify', other, ckpt, '--model', 'resnet_v2_50',
                         '--image-size', '64', '--batch-size', '2'], capsys)
  assert status == 1 and 'FAILED' in out
