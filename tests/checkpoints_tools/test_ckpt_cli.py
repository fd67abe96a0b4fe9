"""`slimnets inspect/diff/convert/verify` and bad input: one-line errors,
non-zero exit, nothing written."""

import glob
import os

import numpy as np
import pytest

import ckpt_helpers
from checkpoints_tools import cli as ckpt_cli
from checkpoints_tools import convert


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


_CONV2 = 'resnet_v1_50/block3/unit_2/bottleneck_v1/conv2/weights'


@pytest.mark.parametrize('change,fragment', [
    ('shape', '1 with another shape: %s [3, 3, 256, 128] (resnet_v1_50: '
              '[3, 3, 256, 256])' % _CONV2),
    ('missing', '1 missing: %s' % _CONV2),
    ('extra', '1 unexpected: resnet_v1_50/extra/weights'),
])
def test_without_model_names_the_closest(v1_npz, tmp_path, capsys, change,
                                         fragment):
  """One tensor off: the error names the closest model and that tensor."""
  _, values = v1_npz
  bad = dict(values)
  if change == 'shape':
    bad[_CONV2] = np.zeros((3, 3, 256, 128), np.float32)
  elif change == 'missing':
    del bad[_CONV2]
  else:
    bad['resnet_v1_50/extra/weights'] = np.zeros((1, 1, 8, 8), np.float32)
  src = str(tmp_path / 'bad.npz')
  np.savez(src, **bad)
  dst = str(tmp_path / 'out' / 'x.ckpt')
  os.makedirs(os.path.dirname(dst))
  _assert_refused(['convert', src, dst], capsys, dst,
                  'the closest, resnet_v1_50, differs in 1 tensor(s): ',
                  fragment, 'pass --model')


def test_closest_model_counts_and_shortens():
  """Many differences: a few names, with the count; torchvision's ResNet-50
  and ResNeXt-50 share names, the shapes tell the closer one."""
  from checkpoints_tools import mappings  # pylint: disable=g-import-not-at-top
  from checkpoints_tools import transforms  # pylint: disable=g-import-not-at-top
  model = 'tv_resnet50'
  table = mappings.get_table(model, 'torch')
  slim_shapes = dict(mappings.slim_variables(model, 1000))
  shapes = {row.source: transforms.get(row.transform).shape_to_source(
      slim_shapes[row.slim]) for row in table.rows}
  missing = [row.source for row in table.rows if 'layer4.2' in row.source]
  for key in missing:
    del shapes[key]
  shapes['layer1.0.conv1.weight'] = (64, 64, 3, 3)
  with pytest.raises(convert.ConversionError) as error:
    convert.detect_model(list(shapes), 'torch', shapes.get)
  message = str(error.value)
  assert 'the closest, tv_resnet50, differs in %d tensor(s)' % (
      len(missing) + 1) in message
  assert '%d missing: %s, %s, %s, ... (%d more)' % (
      len(missing), missing[0], missing[1], missing[2],
      len(missing) - 3) in message
  assert ('1 with another shape: layer1.0.conv1.weight [64, 64, 3, 3] '
          '(tv_resnet50: [64, 64, 1, 1])') in message


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


def test_bad_exclude_regex_is_one_line(v1_npz, tmp_path, capsys):
  path, _ = v1_npz
  dst = str(tmp_path / 'out' / 'x.npz')
  os.makedirs(os.path.dirname(dst))
  _assert_refused(['convert', path, dst, '--exclude', '(', '--quiet'], capsys,
                  dst, "--exclude '(': bad regex")


def _weights_files(folder):
  return sorted(os.listdir(folder))


@pytest.mark.parametrize('suffix', ['.npz', '.safetensors', '.h5',
                                    '.pdparams', '.ckpt'])
def test_writer_never_replaces_what_another_run_published(tmp_path, suffix):
  # The race of two conversions to one new DST: both pass the check for an
  # existing DST at the start, the other run publishes first. Ours must not
  # replace it, and must leave nothing of its own behind.
  from checkpoints_tools import formats  # pylint: disable=g-import-not-at-top
  dst = str(tmp_path / ('x' + suffix))
  ours, theirs = np.ones((64, 64, 16), np.float32), np.zeros((16,), np.float32)
  # Slim: two shards here, one there, so our data files have other names
  # than the winner's and must be withdrawn by name; both have a sidecar.
  kwargs = ({'chunk_bytes': 1, 'metadata': {'preprocessing': 'vgg'}}
            if suffix == '.ckpt' else {})
  with pytest.raises(FileExistsError, match='already exists.*--force'):
    with formats.open_writer(dst, **kwargs) as writer:
      writer.add('layer/kernel', ours)
      writer.add('layer/bias', ours[0, 0])
      other_kwargs = (dict(kwargs, chunk_bytes=1 << 20) if kwargs else {})
      with formats.open_writer(dst, **other_kwargs) as other:
        other.add('layer/bias', theirs)
  with formats.open_reader(dst) as reader:
    assert reader.keys() == ['layer/bias']
    np.testing.assert_array_equal(reader.get('layer/bias'), theirs)
  expected = (['x.ckpt.data-00000-of-00001', 'x.ckpt.index',
               'x.ckpt.slimnets.json'] if suffix == '.ckpt' else
              ['x' + suffix])
  assert _weights_files(str(tmp_path)) == expected
  # With force, ours replaces it (and the replaced checkpoint's data files
  # go).
  with formats.open_writer(dst, force=True, **kwargs) as writer:
    writer.add('layer/kernel', ours)
    writer.add('layer/bias', ours[0, 0])
  with formats.open_reader(dst) as reader:
    assert sorted(reader.keys()) == ['layer/bias', 'layer/kernel']
  if suffix == '.ckpt':
    assert _weights_files(str(tmp_path)) == [
        'x.ckpt.data-00000-of-00002', 'x.ckpt.data-00001-of-00002',
        'x.ckpt.index', 'x.ckpt.slimnets.json']


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
