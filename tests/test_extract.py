"""`slimnets extract` / `slimnets.extract`: features on disk equal the network's.

A random-weight resnet_v2_50 checkpoint (batch norm statistics perturbed so
they matter) is saved to tmp_path; the files written by `extract` must equal
the end points of a directly built graph restored from it, fed with the
images preprocessed by hand (inception convention at 56: central crop
[4:60] of a 64x64 image, scaled to [-1, 1]). Lossless formats (PNG, BMP,
GIF) are read back with PIL for the reference pixels.
"""

import argparse
import glob
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import perturb_batch_norm
from slimnets import cli
from slimnets import extract
from nets import nets_factory
from slimnets import output_files
from nets import runtime

_MODEL = 'resnet_v2_50'
_SIZE = 56  # network input; images are 64x64 (0.875 crop = 56, no resize)


def _write_images(folder, count=4):
  os.makedirs(folder, exist_ok=True)
  rng = np.random.RandomState(7)
  paths = []
  for i in range(count):
    pixels = rng.randint(0, 256, (64, 64, 3)).astype(np.uint8)
    fmt = ('png', 'bmp', 'gif', 'png')[i % 4]
    path = os.path.join(folder, 'img_%d.%s' % (i, fmt))
    Image.fromarray(pixels).save(path)
    paths.append(path)
  return paths


def _reference_input(paths):
  pixels = np.stack([np.asarray(Image.open(p).convert('RGB'))
                     for p in paths]).astype(np.float64)
  return (pixels[:, 4:60, 4:60] / 255.0 * 2.0 - 1.0).astype(np.float32)


@pytest.fixture(scope='module')
def checkpoint(module_tmp_factory):
  """A random-weight resnet_v2_50 checkpoint and a function running it."""
  folder = module_tmp_factory.mktemp('ckpt')
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(3)
    images = tf.compat.v1.placeholder(tf.float32, [None, _SIZE, _SIZE, 3])
    _, end_points = nets_factory.get_network_fn(_MODEL, 0)(images)
    init = tf.compat.v1.global_variables_initializer()
    saver = tf.compat.v1.train.Saver()
  sess = tf.compat.v1.Session(graph=graph)
  sess.run(init)
  perturb_batch_norm(sess)
  with graph.as_default():
    prefix = saver.save(sess, str(folder / 'model.ckpt'))

  def run(inputs, keys):
    return sess.run({k: end_points[k] for k in keys}, {images: inputs})

  yield prefix, run
  sess.close()


@pytest.fixture(scope='module')
def images(module_tmp_factory):
  return _write_images(str(module_tmp_factory.mktemp('images')))


def _extract(paths, output, **kwargs):
  kwargs.setdefault('image_size', _SIZE)
  kwargs.setdefault('progress', False)
  return extract.extract(_MODEL, paths, str(output), **kwargs)


def _no_temp_left(folder):
  return not [f for f in os.listdir(folder)
              if f.startswith(output_files.PREFIX)]


def test_npz_equals_direct_graph(checkpoint, images, tmp_path):
  prefix, run = checkpoint
  out = tmp_path / 'feats.npz'
  summary = _extract([os.path.dirname(images[0])], out,
                     endpoints=['block4', 'block2', 'global_pool'],
                     checkpoint=prefix, batch_size=3)
  assert summary['images'] == 4 and summary['skipped'] == []
  keys = ['resnet_v2_50/block2', 'resnet_v2_50/block4', 'global_pool']
  expected = run(_reference_input(images), keys)
  with np.load(str(out)) as data:
    assert sorted(data.files) == sorted(keys + ['paths'])
    assert list(data['paths']) == images
    for key in keys:
      want = expected[key]
      if key == 'global_pool':
        want = want.reshape(len(images), -1)  # stored [N, C]
      assert data[key].shape == want.shape, key
      np.testing.assert_allclose(data[key], want, rtol=1e-4,
                                 atol=1e-4 * np.abs(want).max())
    assert data['resnet_v2_50/block4'].shape == (4, 2, 2, 2048)
  assert _no_temp_left(str(tmp_path))


def test_safetensors_pooled_and_shards(checkpoint, images, tmp_path):
  safetensors_numpy = pytest.importorskip('safetensors.numpy')
  import safetensors  # pylint: disable=import-outside-toplevel
  prefix, run = checkpoint
  expected = run(_reference_input(images), ['resnet_v2_50/block3'])
  want = expected['resnet_v2_50/block3'].mean(axis=(1, 2))

  out = tmp_path / 'feats.safetensors'
  _extract(images, out, endpoints=['block3'], pool=True, checkpoint=prefix,
           batch_size=2)
  tensors = safetensors_numpy.load_file(str(out))
  np.testing.assert_allclose(tensors['resnet_v2_50/block3'], want,
                             rtol=1e-4, atol=1e-4 * np.abs(want).max())
  with safetensors.safe_open(str(out), 'np') as f:
    meta = f.metadata()
  assert json.loads(meta['paths']) == images
  assert meta['model'] == _MODEL

  shards = tmp_path / 'sharded.npz'
  summary = _extract(images[:3], shards, endpoints=['block3'], pool=True,
                     checkpoint=prefix, batch_size=2, shard_size=2)
  assert summary['outputs'] == [str(tmp_path / 'sharded_00000.npz'),
                                str(tmp_path / 'sharded_00001.npz')]
  parts = [np.load(p) for p in summary['outputs']]
  assert [list(p['paths']) for p in parts] == [images[:2], images[2:3]]
  got = np.concatenate([p['resnet_v2_50/block3'] for p in parts])
  np.testing.assert_allclose(got, want[:3], rtol=1e-4,
                             atol=1e-4 * np.abs(want).max())
  assert _no_temp_left(str(tmp_path))


def _bad_files(folder, good):
  os.makedirs(folder, exist_ok=True)
  data = open(good[0], 'rb').read()
  bad = {}
  bad['truncated'] = os.path.join(folder, 'a_truncated.png')
  with open(bad['truncated'], 'wb') as f:
    f.write(data[:len(data) // 2])
  bad['text'] = os.path.join(folder, 'b_text.jpg')
  with open(bad['text'], 'w') as f:
    f.write('not an image')
  bad['empty'] = os.path.join(folder, 'c_empty.gif')
  open(bad['empty'], 'wb').close()
  bad['dangling'] = os.path.join(folder, 'd_dangling.png')
  os.symlink(os.path.join(folder, 'missing.png'), bad['dangling'])
  return bad


def test_corrupt_and_unreadable_are_reported_and_skipped(images, tmp_path,
                                                          capsys):
  bad = _bad_files(str(tmp_path / 'bad'), images)
  out = tmp_path / 'feats.npz'
  # Bad files before, between and after the good ones.
  inputs = [bad['truncated'], images[0], bad['text'], bad['empty'],
            images[1], bad['dangling']]
  summary = _extract(inputs, out, batch_size=2)
  assert summary['images'] == 2
  assert [p for p, _ in summary['skipped']] == [
      bad['truncated'], bad['text'], bad['empty'], bad['dangling']]
  reasons = dict(summary['skipped'])
  assert all(reasons.values())
  assert not [r for r in reasons.values() if 'Detected at node' in r]
  assert 'Unknown image file format' in reasons[bad['text']]
  assert 'No such file' in reasons[bad['dangling']]
  err = capsys.readouterr().err
  for path in bad.values():
    assert 'skipped %s: ' % path in err
  with np.load(str(out)) as data:
    assert list(data['paths']) == images[:2]
    assert data['global_pool'].shape == (2, 2048)


def test_strict_stops_and_leaves_nothing(images, tmp_path):
  bad = _bad_files(str(tmp_path / 'bad'), images)
  out = tmp_path / 'feats.npz'
  with pytest.raises(extract.ImageError, match='b_text.jpg'):
    _extract([images[0], bad['text'], images[1]], out, strict=True)
  assert not out.exists() and _no_temp_left(str(tmp_path))

  parser = argparse.ArgumentParser()
  extract.add_parser(parser.add_subparsers())
  args = parser.parse_args(['extract', _MODEL, images[0], bad['empty'], '-o',
                            str(out), '--strict', '--image-size', '32',
                            '--no-progress'])
  assert args.run(args) == 1
  assert not out.exists() and _no_temp_left(str(tmp_path))


def test_existing_output_refused_without_force(images, tmp_path):
  out = tmp_path / 'feats.npz'
  out.write_bytes(b'keep me')
  parser = argparse.ArgumentParser()
  extract.add_parser(parser.add_subparsers())
  argv = ['extract', _MODEL, images[0], '-o', str(out), '--image-size', '32',
          '--no-progress']
  args = parser.parse_args(argv)
  with pytest.raises(cli.CommandError, match='already exists.*--force'):
    args.run(args)
  assert out.read_bytes() == b'keep me'
  args = parser.parse_args(argv + ['--force'])
  assert args.run(args) == 0
  with np.load(str(out)) as data:
    assert list(data['paths']) == [images[0]]


def _error_line(capsys):
  """The one line on stderr of a failed `cli.main` (asserts there is one)."""
  err = capsys.readouterr().err
  lines = err.splitlines()
  assert len(lines) == 1, err
  return lines[0]


def test_options_after_the_images(checkpoint, images, tmp_path, capsys):
  # The documented synopsis puts --checkpoint before IMAGES and -o after.
  prefix, _ = checkpoint
  out = tmp_path / 'feats.npz'
  status = cli.main(['extract', _MODEL, '--checkpoint', prefix, images[0],
                     '-o', str(out), images[1], '--image-size', '32',
                     '--no-progress', images[2]])
  assert status == 0, capsys.readouterr().err
  with np.load(str(out)) as data:
    assert list(data['paths']) == images[:3]
  # An unknown option is still refused, wherever it stands.
  with pytest.raises(SystemExit) as exit_info:
    cli.main(['extract', _MODEL, images[0], '-o', str(tmp_path / 'x.npz'),
              '--bogus', images[1]])
  assert exit_info.value.code == 2
  assert 'unrecognized arguments: --bogus' in capsys.readouterr().err


def test_truncated_checkpoint_data_is_one_line(checkpoint, images, tmp_path,
                                               capsys):
  prefix, _ = checkpoint
  folder = tmp_path / 'ckpt'
  folder.mkdir()
  for path in glob.glob(prefix + '.*'):
    shutil.copy(path, str(folder))
  truncated = str(folder / os.path.basename(prefix))
  for data in glob.glob(truncated + '.data-*'):
    os.truncate(data, os.path.getsize(data) // 2)
  out = tmp_path / 'feats.npz'
  status = cli.main(['extract', _MODEL, images[0], '--checkpoint', truncated,
                     '-o', str(out), '--image-size', '32', '--no-progress'])
  assert status == 2
  assert _error_line(capsys).startswith(
      'slimnets extract: error: cannot restore checkpoint %s: ' % truncated)
  assert not out.exists() and _no_temp_left(str(tmp_path))


def test_unwritable_output_folder_is_one_line(images, capsys):
  # Found before the graph is built. (A read-only folder, a full disk,
  # signals: checkpoints_tools/test_ckpt_cli_faults.py.)
  status = cli.main(['extract', _MODEL, images[0], '-o', '/proc/feats.npz',
                     '--no-progress'])
  assert status == 2
  assert _error_line(capsys).startswith(
      'slimnets extract: error: cannot create a temporary folder in /proc: ')


def test_checkpoint_mismatch_names_the_variable(images, tmp_path):
  def save(shape):
    graph = tf.Graph()
    with graph.as_default():
      tf.compat.v1.get_variable('resnet_v2_50/conv1/weights', shape)
      saver = tf.compat.v1.train.Saver()
      with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        return saver.save(sess, str(tmp_path / ('c%d' % shape[0])))

  out = tmp_path / 'feats.npz'
  with pytest.raises(extract.ExtractError,
                     match=r'resnet_v2_50/conv1/weights has shape '
                     r'\[3, 3, 3, 64\] in checkpoint .* but \[7, 7, 3, 64\]'):
    _extract(images, out, checkpoint=save([3, 3, 3, 64]))
  with pytest.raises(extract.ExtractError,
                     match=r'has no variable resnet_v2_50/conv1/biases'):
    _extract(images, out, checkpoint=save([7, 7, 3, 64]))
  assert not out.exists() and _no_temp_left(str(tmp_path))


def test_bad_arguments_fail_before_work(images, tmp_path):
  out = tmp_path / 'feats.npz'
  with pytest.raises(extract.ExtractError, match="'block9'.*global_pool"):
    _extract(images, out, endpoints=['block9'])
  with pytest.raises(extract.ExtractError, match='no such file or folder'):
    _extract([str(tmp_path / 'nope.jpg')], out)
  with pytest.raises(extract.ExtractError, match='.npz or .safetensors'):
    _extract(images, tmp_path / 'feats.h5')
  with pytest.raises(extract.ExtractError, match='Name of network unknown'):
    extract.extract('resnet_v9', images, str(out))
  all_bad = _bad_files(str(tmp_path / 'bad'), images)
  with pytest.raises(extract.ExtractError, match='none of the 4 images'):
    _extract(list(all_bad.values()), out, progress=False)
  assert not out.exists() and _no_temp_left(str(tmp_path))


def test_demo_runs_on_built_in_defaults(tmp_path, capsys):
  parser = argparse.ArgumentParser()
  extract.add_demo_parser(parser.add_subparsers())
  out = tmp_path / 'demo.npz'
  args = parser.parse_args(['demo', '-o', str(out), '--num-images', '3',
                            '--no-progress'])
  assert args.run(args) == 0
  printed = capsys.readouterr().out
  assert 'random weights' in printed and 'images/s' in printed
  assert 'resnet_v2_50/block4' in printed
  with np.load(str(out)) as data:
    assert data['global_pool'].shape == (3, 2048)
    assert np.isfinite(data['global_pool']).all()


def _relative_error(got, want):
  return np.linalg.norm(got - want) / np.linalg.norm(want)


def test_precision_and_data_format_options(checkpoint, images, tmp_path):
  # The float32 NHWC reference is the directly built graph (see the module
  # docstring); NCHW runs the same arithmetic in another layout, bfloat16
  # rounds every convolution's inputs to 8 mantissa bits. Where this CPU
  # cannot run an option (no oneDNN, no AVX-512), extract must refuse it.
  prefix, run = checkpoint
  keys = ['resnet_v2_50/block2', 'global_pool']
  expected = run(_reference_input(images), keys)
  expected['global_pool'] = expected['global_pool'].reshape(len(images), -1)
  features = runtime.features()
  # (precision, data_format, relative L2 tolerance). bfloat16 rounds to
  # 2**-8 relative per op; over resnet_v2_50 (random weights) the error
  # measured 1.1% for block2 and global_pool: 3% leaves room for other
  # CPUs' kernels. NCHW is float32 summation order only.
  for precision, data_format, tolerance in (('float32', 'NCHW', 1e-5),
                                            ('bfloat16', 'NHWC', 0.03)):
    out = tmp_path / ('%s_%s.npz' % (precision, data_format))
    option = data_format if data_format == 'NCHW' else precision
    if not features[option.lower()]:
      with pytest.raises(extract.ExtractError,
                         match='%s.*TF_ENABLE_ONEDNN_OPTS|%s.*AVX-512' %
                         (option, option)) as error:
        _extract(images, out, endpoints=['global_pool'], checkpoint=prefix,
                 precision=precision, data_format=data_format)
      assert '\n' not in str(error.value)
      assert not out.exists() and _no_temp_left(str(tmp_path))
      continue
    summary = _extract(images, out, endpoints=['block2', 'global_pool'],
                       checkpoint=prefix, batch_size=4, precision=precision,
                       data_format=data_format)
    assert (summary['precision'], summary['data_format']) == (precision,
                                                              data_format)
    with np.load(str(out)) as data:
      for key in keys:
        # Stored NHWC float32 whatever the layout and precision.
        assert data[key].shape == expected[key].shape, key
        assert data[key].dtype == np.float32, key
        assert _relative_error(data[key], expected[key]) < tolerance, (
            option, key)


def test_float16_on_a_cpu_is_a_one_line_usage_error(images, tmp_path):
  if tf.config.list_physical_devices('GPU'):
    pytest.skip('float16 is valid with a GPU')
  parser = argparse.ArgumentParser()
  subparsers = parser.add_subparsers()
  extract.add_parser(subparsers)
  extract.add_demo_parser(subparsers)
  out = tmp_path / 'feats.npz'
  for argv in (['extract', _MODEL, images[0], '-o', str(out)],
               ['demo', '-o', str(out)]):
    args = parser.parse_args(argv + ['--precision', 'float16'])
    with pytest.raises(cli.CommandError, match=r'float16.*GPU') as error:
      args.run(args)
    assert '\n' not in str(error.value)
  assert not out.exists() and _no_temp_left(str(tmp_path))
