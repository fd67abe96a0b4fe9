"""Tests of `slimnets dataset` (slimnets/make_dataset.py).

In-process calls of `make_dataset` for the splitting, skipping, replacing and
cleanup rules; a few `python -m slimnets dataset` runs for the command line
(exit status 2 and one line on stderr for bad input).
"""

import io
import os
import signal
import subprocess
import sys

import pytest
import tensorflow as tf

from _images import write_image_folder
from conftest import command_env
from _images import write_tfrecord_dataset
from slimnets import make_dataset
from slimnets import output_files
from slimnets.datasets import dataset_factory
from slimnets.datasets import folder

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_cli(*args):
  env = command_env()
  return subprocess.run([sys.executable, '-m', 'slimnets', 'dataset'] +
                        [str(a) for a in args], cwd=_ROOT, env=env,
                        capture_output=True, text=True, timeout=300,
                        check=False)


def _temp_dirs(directory):
  return [n for n in os.listdir(directory)
          if n.startswith(output_files.PREFIX)]


def _make(images_dir, out, **kwargs):
  log = io.StringIO()
  summary = make_dataset.make_dataset(str(images_dir), str(out), log=log,
                                      **kwargs)
  return summary, log.getvalue()


def _records(path):
  return [tf.train.Example.FromString(r.numpy())
          for r in tf.data.TFRecordDataset(str(path))]


def _split_paths(out, name, split_name, originals):
  """The source paths of the images of a split (matched by their bytes)."""
  by_bytes = {}
  for path, _ in originals:
    with open(path, 'rb') as f:
      by_bytes[f.read()] = path
  dataset = dataset_factory.get_dataset(name, split_name, str(out))
  paths = []
  for source in dataset.data_sources:
    for example in _records(source):
      paths.append(by_bytes[example.features.feature[
          'image/encoded'].bytes_list.value[0]])
  return paths


@pytest.fixture
def photos(tmp_path):
  return write_image_folder(tmp_path / 'photos', num_classes=3,
                            images_per_class=4, size=16)


# --- splits and shards --------------------------------------------------------


def test_default_split_and_name(photos, tmp_path):
  out = tmp_path / 'out'
  summary, log = _make(photos.root, out)
  assert log == ''
  # Default name: the folder's; 10% of 12 rounds to 1 validation image.
  assert summary['name'] == 'photos'
  assert summary['splits'] == {'train': 11, 'validation': 1}
  assert summary['shards'] == {'train': 5, 'validation': 1}
  assert summary['num_classes'] == 3 and summary['skipped'] == 0
  assert (out / 'labels.txt').read_text() == '0:class0\n1:class1\n2:class2\n'
  assert sorted(os.listdir(out)) == sorted(
      ['photos_train_%05d-of-00005.tfrecord' % i for i in range(5)] +
      ['photos_validation_00000-of-00001.tfrecord', 'labels.txt',
       folder.METADATA_FILENAME])
  sizes = [len(_records(out / ('photos_train_%05d-of-00005.tfrecord' % i)))
           for i in range(5)]
  assert sorted(sizes) == [2, 2, 2, 2, 3]
  assert _temp_dirs(out) == []


@pytest.mark.parametrize('kwargs,splits', [
    ({'num_validation': 3}, {'train': 9, 'validation': 3}),
    ({'validation_fraction': 0.5}, {'train': 6, 'validation': 6}),
    ({'validation_fraction': 0.01}, {'train': 11, 'validation': 1}),
    ({'num_validation': 0}, {'train': 12}),
    ({'validation_fraction': 0}, {'train': 12}),
])
def test_split_sizes(photos, tmp_path, kwargs, splits):
  summary, _ = _make(photos.root, tmp_path / 'out', num_shards=2, **kwargs)
  assert summary['splits'] == splits
  metadata = folder.read_metadata(str(tmp_path / 'out'))
  assert sorted(metadata['splits']) == sorted(splits)
  if 'validation' not in splits:
    with pytest.raises(ValueError, match='valid splits: train$'):
      dataset_factory.get_dataset('photos', 'validation',
                                  str(tmp_path / 'out'))


def test_split_is_stratified_and_seeded(photos, tmp_path):
  first = _split_paths(*_made(photos, tmp_path / 'a', num_validation=3,
                              seed=0))
  again = _split_paths(*_made(photos, tmp_path / 'b', num_validation=3,
                              seed=0))
  other = _split_paths(*_made(photos, tmp_path / 'c', num_validation=3,
                              seed=1))
  assert first == again
  assert sorted(first) != sorted(other)
  labels = dict(photos.images)
  assert sorted(labels[p] for p in first) == [0, 1, 2]
  # Same seed, same bytes.
  for name in os.listdir(tmp_path / 'a'):
    if name.endswith('.tfrecord'):
      assert ((tmp_path / 'a' / name).read_bytes() ==
              (tmp_path / 'b' / name).read_bytes())


def _made(photos, out, **kwargs):
  _make(photos.root, out, num_shards=1, **kwargs)
  return out, 'photos', 'validation', photos.images


def test_formats_kept_and_pixels_equal(tmp_path):
  images = write_image_folder(tmp_path / 'mixed', num_classes=2,
                              images_per_class=3, size=12,
                              image_format='mixed', grayscale=True)
  out = tmp_path / 'out'
  _make(images.root, out, num_validation=0, num_shards=1)
  by_path = dict(images.images)
  for example in _records(out / 'mixed_train_00000-of-00001.tfrecord'):
    feature = example.features.feature
    data = feature['image/encoded'].bytes_list.value[0]
    fmt = feature['image/format'].bytes_list.value[0]
    assert fmt == (b'png' if data.startswith(b'\x89PNG') else b'jpeg')
    matches = [p for p in by_path if open(p, 'rb').read() == data]
    assert len(matches) == 1
    assert fmt == (b'png' if matches[0].endswith('.png') else b'jpeg')
    assert (feature['image/class/label'].int64_list.value[0] ==
            by_path[matches[0]])
  dataset = dataset_factory.get_dataset('mixed', 'train', str(out))
  assert dataset.num_samples == 6


# --- skipped images and classes -----------------------------------------------


def test_unreadable_images_are_skipped(photos, tmp_path):
  root = photos.root
  (tmp_path / 'photos' / 'class0' / 'broken.jpg').write_bytes(b'not a jpeg')
  good = open(photos.images[0][0], 'rb').read()
  (tmp_path / 'photos' / 'class1' / 'cut.jpg').write_bytes(
      good[:len(good) // 3] if good[:2] == b'\xff\xd8' else b'\xff\xd8\xff')
  gif = io.BytesIO()
  from PIL import Image  # pylint: disable=import-outside-toplevel
  Image.new('RGB', (4, 4)).save(gif, format='GIF')
  (tmp_path / 'photos' / 'class2' / 'really_a_gif.png').write_bytes(
      gif.getvalue())
  (tmp_path / 'photos' / 'class2' / 'notes.txt').write_text('ignored')
  (tmp_path / 'photos' / 'class2' / '.hidden.png').write_bytes(b'x')
  (tmp_path / 'photos' / 'loose.jpg').write_bytes(good)
  (tmp_path / 'photos' / 'empty_class').mkdir()
  summary, log = _make(root, tmp_path / 'out', num_shards=1)
  assert summary['skipped'] == 3
  assert summary['num_classes'] == 3
  assert sum(summary['splits'].values()) == 12
  lines = log.splitlines()
  assert all(l.startswith('slimnets dataset: warning: ') for l in lines)
  text = '\n'.join(lines)
  assert 'broken.jpg: ' in text and 'cut.jpg: ' in text
  assert 'really_a_gif.png: not a JPEG or PNG image' in text
  assert 'empty_class has no images' in text
  assert '1 image directly in' in text
  assert 'notes.txt' not in text and '.hidden' not in text
  assert (tmp_path / 'out' / 'labels.txt').read_text() == (
      '0:class0\n1:class1\n2:class2\n')


def test_class_without_readable_images_is_dropped(photos, tmp_path):
  bad = tmp_path / 'photos' / 'class9_broken'
  bad.mkdir()
  (bad / 'a.png').write_bytes(b'\x89PNG\r\n\x1a\n garbage')
  summary, log = _make(photos.root, tmp_path / 'out', num_shards=1)
  assert summary['class_names'] == ['class0', 'class1', 'class2']
  assert 'class class9_broken has no readable image' in log
  assert folder.read_metadata(str(tmp_path / 'out'))['num_classes'] == 3


def test_nested_images_and_output_inside_input(photos, tmp_path):
  nested = tmp_path / 'photos' / 'class0' / 'more'
  nested.mkdir()
  with open(photos.images[0][0], 'rb') as f:
    (nested / 'x.jpg').write_bytes(f.read())
  out = tmp_path / 'photos' / 'tfrecords'
  summary, _ = _make(photos.root, out, num_shards=1)
  assert sum(summary['splits'].values()) == 13
  # A second run over the same folder leaves its own output out.
  summary, _ = _make(photos.root, out, num_shards=1, force=True)
  assert summary['num_classes'] == 3


# --- bad input ----------------------------------------------------------------


def test_bad_folders(tmp_path):
  (tmp_path / 'empty').mkdir()
  with pytest.raises(make_dataset.DatasetError, match='no images'):
    _make(tmp_path / 'empty', tmp_path / 'out')
  one = write_image_folder(tmp_path / 'one', num_classes=1,
                           images_per_class=2, size=8)
  with pytest.raises(make_dataset.DatasetError,
                     match=r'images of 1 class only \(class0\)'):
    _make(one.root, tmp_path / 'out')
  with pytest.raises(make_dataset.DatasetError, match='does not exist'):
    _make(tmp_path / 'missing', tmp_path / 'out')
  # Nothing was created for them.
  assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('kwargs,message', [
    ({'num_validation': 12}, 'leaves none for train'),
    ({'validation_fraction': 1.0}, r'must be in \[0, 1\)'),
    ({'validation_fraction': 0.2, 'num_validation': 2}, 'not both'),
    ({'num_validation': -1}, 'must be >= 0'),
    ({'num_shards': 0}, '--num_shards must be >= 1'),
    ({'dataset_name': '../x'}, '--dataset_name'),
])
def test_bad_arguments(photos, tmp_path, kwargs, message):
  with pytest.raises(make_dataset.DatasetError, match=message):
    _make(photos.root, tmp_path / 'out', **kwargs)
  assert not (tmp_path / 'out').exists()


def test_existing_output_needs_force(photos, tmp_path):
  out = tmp_path / 'out'
  _make(photos.root, out, num_shards=3)
  before = sorted(os.listdir(out))
  with pytest.raises(make_dataset.DatasetError,
                     match='already has dataset files .*pass --force'):
    _make(photos.root, out, num_shards=3)
  assert sorted(os.listdir(out)) == before
  # --force replaces, and the old shards of another count go.
  summary, _ = _make(photos.root, out, num_shards=2, num_validation=2,
                     force=True)
  names = sorted(os.listdir(out))
  assert names == sorted(['photos_train_00000-of-00002.tfrecord',
                          'photos_train_00001-of-00002.tfrecord',
                          'photos_validation_00000-of-00002.tfrecord',
                          'photos_validation_00001-of-00002.tfrecord',
                          'labels.txt', folder.METADATA_FILENAME])
  assert dataset_factory.get_dataset('photos', 'train',
                                     str(out)).num_samples == 10
  assert summary['splits'] == {'train': 10, 'validation': 2}
  # Files of another dataset name are not this one's: only labels.txt and
  # the description are shared.
  (out / 'other_train_00000-of-00001.tfrecord').write_bytes(b'')
  assert 'other_train_00000-of-00001.tfrecord' not in [
      os.path.basename(p) for p in
      make_dataset.existing_outputs(str(out), 'photos')]


def test_failure_leaves_nothing(photos, tmp_path, monkeypatch):
  out = tmp_path / 'out'
  calls = []
  real = make_dataset._write_split  # pylint: disable=protected-access

  def fail_on_second_split(*args):
    calls.append(args[2])
    if len(calls) == 2:
      raise OSError(28, 'No space left on device')
    return real(*args)

  monkeypatch.setattr(make_dataset, '_write_split', fail_on_second_split)
  with pytest.raises(output_files.OutputError,
                     match=r'cannot write .*out: No space left on device'):
    _make(photos.root, out, num_validation=2)
  assert calls == ['train', 'validation']
  # The output folder it created is gone again, temp folder and all.
  assert not out.exists()
  # In an existing folder: nothing of the run left, the folder kept.
  out.mkdir()
  calls.clear()
  with pytest.raises(output_files.OutputError):
    _make(photos.root, out, num_validation=2)
  assert os.listdir(out) == []


def test_signal_leaves_nothing(photos, tmp_path, monkeypatch):
  """SIGTERM's exception (output_files.handle_signals) unwinds the same way."""

  def terminated(*unused_args):
    raise output_files.Interrupted(signal.SIGTERM)

  monkeypatch.setattr(make_dataset, '_write_split', terminated)
  with pytest.raises(output_files.Interrupted):
    _make(photos.root, tmp_path / 'out')
  assert not (tmp_path / 'out').exists()
  assert _temp_dirs(tmp_path) == []


def test_taken_meanwhile_is_not_replaced(photos, tmp_path, monkeypatch):
  out = tmp_path / 'out'
  out.mkdir()
  real = make_dataset._write_split  # pylint: disable=protected-access

  def another_run_publishes(*args):
    (out / 'labels.txt').write_text('0:theirs\n')
    return real(*args)

  monkeypatch.setattr(make_dataset, '_write_split', another_run_publishes)
  with pytest.raises(FileExistsError, match='labels.txt already exists'):
    _make(photos.root, out, num_shards=1)
  assert sorted(os.listdir(out)) == ['labels.txt']
  assert (out / 'labels.txt').read_text() == '0:theirs\n'


# --- the command line ---------------------------------------------------------


def test_cli_writes_a_dataset(photos, tmp_path):
  out = tmp_path / 'cli'
  result = _run_cli(photos.root, '--dataset_dir=%s' % out,
                    '--dataset_name', 'flowers', '--num-validation', '3',
                    '--num_shards=2', '--seed=4')
  assert result.returncode == 0, result.stderr
  assert result.stdout.splitlines() == [
      'wrote dataset flowers to %s: 3 classes, train 9 images (2 shards), '
      'validation 3 images (2 shards)' % out,
      'read it with: --dataset_name=flowers --dataset_dir=%s' % out]
  # stderr is not a terminal here: no progress bar.
  assert result.stderr == ''
  dataset = dataset_factory.get_dataset('flowers', 'validation', str(out))
  assert (dataset.num_samples, dataset.num_classes) == (3, 3)
  assert os.path.basename(dataset.data_sources[0]) == (
      'flowers_validation_00000-of-00002.tfrecord')

  # The same again: refused in one line, exit 2, nothing changed.
  before = {n: (out / n).read_bytes() for n in os.listdir(out)}
  result = _run_cli(photos.root, '--dataset_dir', out, '--dataset_name',
                    'flowers')
  assert result.returncode == 2
  assert result.stderr.count('\n') == 1, result.stderr
  assert result.stderr.startswith('slimnets dataset: error: --dataset_dir ')
  assert 'pass --force' in result.stderr
  assert {n: (out / n).read_bytes() for n in os.listdir(out)} == before


def test_cli_bad_folder_is_one_line(tmp_path):
  one = write_image_folder(tmp_path / 'one', num_classes=1,
                           images_per_class=2, size=8)
  result = _run_cli(one.root, '--dataset_dir', tmp_path / 'out')
  assert result.returncode == 2
  assert result.stderr == ('slimnets dataset: error: %s has images of 1 '
                           'class only (class0); a classification dataset '
                           'needs at least 2 class sub-folders\n' % one.root)
  assert not (tmp_path / 'out').exists()
  assert result.stdout == ''


def test_shared_helper(tmp_path):
  """tests/_images.write_tfrecord_dataset, which other tests build on."""
  dataset_dir, images = write_tfrecord_dataset(tmp_path, num_classes=2,
                                               images_per_class=3, size=16)
  assert len(images.images) == 6
  validation = dataset_factory.get_dataset('shapes', 'validation',
                                           dataset_dir)
  assert (validation.num_samples, validation.num_classes) == (2, 2)
  assert dataset_factory.get_dataset('shapes', 'train',
                                     dataset_dir).num_samples == 4
