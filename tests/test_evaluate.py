"""`slimnets eval`: slim's metrics over a split, checked against numpy.

A random-weight resnet_v2_50 checkpoint (10 classes, batch norm perturbed,
moving-average shadows, global step 123) is made in the test. Seven random
36x36 PNG images are preprocessed as eval does (the model's factory
preprocessing, 32x32), run through the network restored from the checkpoint
(`Live`), and labelled from its logits so that 3 are right at top-1 and 5
within the top 5: the TFRecords written with those labels must give
Accuracy 3/7 and Recall_5 5/7 over batches of 3 (the last one partial),
equal to the numpy computation from the logits, in stdout and in the event
file. Then --max_num_batches, --labels_offset, --moving_average_decay, and
bad input (one line, exit 2, nothing written).
"""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from _eval_helpers import Live
from conftest import command_env
from _eval_helpers import no_temp_left
from _eval_helpers import save_checkpoint
from slimnets import cli
from slimnets.datasets import dataset_utils
from slimnets.datasets import folder
from slimnets.preprocessing import preprocessing_factory

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MODEL = 'resnet_v2_50'
_CLASSES = 10
_SIZE = 32
_STEP = 123
_NAME = 'tiny'
_COUNT = 7
_BATCH = 3


def _write_dataset(dataset_dir, images, labels, num_classes, name=_NAME,
                   split='test', records=None):
  """A folder dataset of PNG images; `records` replaces the file's bytes."""
  os.makedirs(dataset_dir, exist_ok=True)
  file_name = folder.shard_name(name, split, 0, 1)
  path = os.path.join(dataset_dir, file_name)
  if records is None:
    with tf.io.TFRecordWriter(path) as writer:
      for image, label in zip(images, labels):
        encoded = tf.io.encode_png(image).numpy()
        writer.write(dataset_utils.image_to_tfexample(
            encoded, b'png', image.shape[0], image.shape[1],
            int(label)).SerializeToString())
  else:
    with open(path, 'wb') as f:
      f.write(records)
  folder.write_metadata(folder.metadata_path(dataset_dir), {
      'format': folder.FORMAT, 'version': folder.VERSION, 'name': name,
      'num_classes': num_classes,
      'splits': {split: {'num_samples': len(labels), 'files': [file_name]}}})
  return path


def _preprocess(images):
  """What eval feeds the network: the factory's eval preprocessing."""
  fn = preprocessing_factory.get_preprocessing(_MODEL, is_training=False)
  return np.stack([fn(tf.constant(image), _SIZE, _SIZE).numpy()
                   for image in images])


def _metrics(logits, labels):
  """slim's Accuracy and Recall_5 in numpy."""
  top5 = np.argsort(-logits, axis=1)[:, :5]
  return {'Accuracy': float(np.mean(logits.argmax(axis=1) == labels)),
          'Recall_5': float(np.mean([l in t for l, t in zip(labels, top5)]))}


class Setup:
  """The checkpoint, the images and their logits, the dataset folders."""


@pytest.fixture(scope='module')
def setup(module_tmp_factory):
  root = module_tmp_factory.mktemp('eval')
  s = Setup()
  s.checkpoint = save_checkpoint(str(root / 'train'), _MODEL, _CLASSES,
                                 _SIZE, global_step=_STEP,
                                 moving_average=True, seed=3)
  rng = np.random.RandomState(0)
  s.images = rng.randint(0, 256, (_COUNT, 36, 36, 3)).astype(np.uint8)
  inputs = _preprocess(s.images)
  live = Live(s.checkpoint, _MODEL, _CLASSES, _SIZE)
  s.logits = live.run(inputs)['logits']
  live.close()
  averaged = Live(s.checkpoint, _MODEL, _CLASSES, _SIZE, use_averages=True)
  s.averaged_logits = averaged.run(inputs)['logits']
  averaged.close()
  # Ranks 0, 0, 0 (right), 2, 2 (top 5 only), 7, 7 (neither).
  ranks = np.argsort(-s.logits, axis=1)
  s.labels = np.array([ranks[i, r] for i, r in
                       enumerate([0, 0, 0, 2, 2, 7, 7])])
  s.dataset_dir = str(root / 'data')
  _write_dataset(s.dataset_dir, s.images, s.labels, _CLASSES)
  # The same with a background class: labels + 1, 11 classes.
  s.offset_dir = str(root / 'offset')
  _write_dataset(s.offset_dir, s.images, s.labels + 1, _CLASSES + 1)
  return s


def _eval(capsys, *args):
  """cli.main(['eval', ...]) -> (status, stdout, stderr)."""
  status = cli.main(['eval', '--model_name=%s' % _MODEL,
                     '--dataset_name=%s' % _NAME,
                     '--eval_image_size=%d' % _SIZE,
                     '--batch_size=%d' % _BATCH] + list(args))
  out, err = capsys.readouterr()
  return status, out, err


def _printed(value):
  return np.format_float_positional(np.float32(value), trim='-')


def _events(eval_dir):
  files = [f for f in os.listdir(eval_dir) if 'tfevents' in f]
  assert len(files) == 1, files
  values, graphs = {}, 0
  for event in tf.compat.v1.train.summary_iterator(
      os.path.join(eval_dir, files[0])):
    graphs += bool(event.graph_def)
    for value in event.summary.value:
      values[value.tag] = (event.step, value.simple_value)
  return values, graphs


def test_metrics_equal_numpy_over_the_whole_split(capsys, tmp_path, setup):
  expected = _metrics(setup.logits, setup.labels)
  assert expected == {'Accuracy': 3 / 7, 'Recall_5': 5 / 7}
  eval_dir = str(tmp_path / 'eval')
  status, out, err = _eval(capsys, '--checkpoint_path=' + os.path.dirname(
      setup.checkpoint), '--dataset_dir=' + setup.dataset_dir,
                           '--eval_dir=' + eval_dir)
  assert status == 0, err
  assert 'Evaluating %s' % setup.checkpoint in out
  # As upstream's tf.Print shows them, then one summary line.
  assert 'eval/Accuracy[%s]' % _printed(3 / 7) in out.splitlines()
  assert 'eval/Recall_5[%s]' % _printed(5 / 7) in out.splitlines()
  summary = out.strip().splitlines()[-1]
  assert summary.startswith('resnet_v2_50 on tiny/test: Accuracy 0.4286, '
                            'Recall_5 0.7143 over 7 images (3 batches), '
                            'step 123, ')
  assert 'note:' not in err  # 7 images read, as the dataset says
  values, graphs = _events(eval_dir)
  assert values['eval/Accuracy'][0] == _STEP
  assert values['eval/Accuracy'][1] == pytest.approx(3 / 7, abs=1e-6)
  assert values['eval/Recall_5'] == (_STEP, pytest.approx(5 / 7, abs=1e-6))
  assert graphs == 1
  assert no_temp_left(eval_dir)


def test_max_num_batches_and_labels_offset(capsys, tmp_path, setup):
  # Two batches: the first 6 images, in file order.
  want = _metrics(setup.logits[:6], setup.labels[:6])
  status, out, err = _eval(capsys, '--checkpoint_path=' + setup.checkpoint,
                           '--dataset_dir=' + setup.offset_dir,
                           '--labels_offset=1', '--max_num_batches=2',
                           '--eval_dir=' + str(tmp_path / 'eval'))
  assert status == 0, err
  assert 'eval/Accuracy[%s]' % _printed(want['Accuracy']) in out
  assert 'eval/Recall_5[%s]' % _printed(want['Recall_5']) in out
  assert 'over 6 images (2 batches)' in out


def test_moving_averages(capsys, tmp_path, setup):
  want = _metrics(setup.averaged_logits, setup.labels)
  # The shadows differ from the weights enough to change the predictions.
  assert not np.allclose(setup.averaged_logits, setup.logits, atol=1e-3)
  status, out, err = _eval(capsys, '--checkpoint_path=' + setup.checkpoint,
                           '--dataset_dir=' + setup.dataset_dir,
                           '--moving_average_decay=0.9999',
                           '--batch_size=100',  # one partial batch
                           '--eval_dir=' + str(tmp_path / 'eval'))
  assert status == 0, err
  assert 'eval/Accuracy[%s]' % _printed(want['Accuracy']) in out
  assert 'eval/Recall_5[%s]' % _printed(want['Recall_5']) in out
  assert 'over 7 images (1 batch)' in out


def test_checkpoint_of_another_class_count(capsys, tmp_path, setup):
  """flowers' own file names (no description: upstream's 5 classes)."""
  dataset_dir = str(tmp_path / 'flowers')
  os.makedirs(dataset_dir)
  with open(os.path.join(setup.dataset_dir, folder.shard_name(
      _NAME, 'test', 0, 1)), 'rb') as f:
    records = f.read()
  with open(os.path.join(dataset_dir,
                         'flowers_validation_00000-of-00001.tfrecord'),
            'wb') as f:
    f.write(records)
  status = cli.main([
      'eval', '--model_name=%s' % _MODEL, '--dataset_name=flowers',
      '--dataset_split_name=validation', '--dataset_dir=' + dataset_dir,
      '--checkpoint_path=' + setup.checkpoint, '--eval_image_size=32',
      '--eval_dir=' + str(tmp_path / 'eval')])
  out, err = capsys.readouterr()
  assert status == 2 and err.count('\n') == 1, (out, err)
  assert ('variable resnet_v2_50/logits/weights has shape [1, 1, 2048, 10] '
          'in checkpoint %s but [1, 1, 2048, 5] in resnet_v2_50 (5 classes: '
          'dataset flowers has 5, --labels_offset 0)' % setup.checkpoint
          in err)
  assert not os.path.exists(str(tmp_path / 'eval'))


def test_after_slimnets_train(tmp_path):
  """A train_dir of `slimnets train` (tiny model, learnable colours), with
  and without its moving averages: above chance, two event files."""
  import _training  # pylint: disable=import-outside-toplevel
  data, train_dir = str(tmp_path / 'data'), str(tmp_path / 'train')
  eval_dir = str(tmp_path / 'eval')
  with _training.tiny_model() as model:
    sizes = _training.write_dataset(data, num_classes=3)
    status, out, err = _training.run_captured(_training.train_argv(
        data, train_dir, '--max_number_of_steps', '30',
        '--moving_average_decay', '0.9'))
    assert status == 0, err
    for extra in ([], ['--moving_average_decay=0.9']):
      status, out, err = _training.run_captured([
          'eval', '--model_name', model, '--dataset_name',
          _training.DATASET_NAME, '--dataset_split_name', 'validation',
          '--dataset_dir', data, '--checkpoint_path', train_dir,
          '--eval_dir', eval_dir, '--batch_size', '5'] + extra)
      assert status == 0, err
      assert 'over %d images (5 batches), step 30' % sizes['validation'] in out
      accuracy = float(out.split('eval/Accuracy[')[1].split(']')[0])
      assert accuracy > 1 / 3 + 0.1, out  # chance is 1/3
  assert len([f for f in os.listdir(eval_dir) if 'tfevents' in f]) == 2


# --- bad input ----------------------------------------------------------------


def _bad(capsys, tmp_path, setup, *args, **kwargs):
  eval_dir = str(tmp_path / 'eval')
  argv = ['--eval_dir=' + eval_dir]
  if 'checkpoint' not in kwargs:
    argv.append('--checkpoint_path=' + setup.checkpoint)
  if 'dataset_dir' not in kwargs:
    argv.append('--dataset_dir=' + setup.dataset_dir)
  status, out, err = _eval(capsys, *(argv + list(args)))
  assert status == 2, (out, err)
  assert err.startswith('slimnets eval: error: ') and err.count('\n') == 1, err
  assert not os.path.exists(eval_dir) or not os.listdir(eval_dir)
  return err


@pytest.mark.parametrize('args, message', [
    (['--dataset_name=pets'], "unknown dataset_name 'pets'"),
    (['--dataset_split_name=train'],
     "unknown dataset_split_name 'train' for dataset tiny; valid splits: "
     'test'),
    (['--model_name=resnet_v9'], 'resnet_v9'),
    (['--model_name=s3dg'], '--model_name=s3dg is a video model'),
    (['--preprocessing_name=nope'], 'nope'),
    (['--eval_image_size=0'], '--eval_image_size must be at least 1'),
    (['--batch_size=0'], '--batch_size must be at least 1'),
    (['--quantize'], 'tf.contrib.quantize'),
    (['--labels_offset=10'], '--labels_offset 10 leaves none'),
])
def test_bad_flags(capsys, tmp_path, setup, args, message):
  assert message in _bad(capsys, tmp_path, setup, *args)


def test_no_dataset_dir_and_missing_checkpoints(capsys, tmp_path, setup):
  err = _bad(capsys, tmp_path, setup, '--dataset_dir=', dataset_dir=None)
  assert 'You must supply the dataset directory with --dataset_dir' in err
  empty = tmp_path / 'empty'
  empty.mkdir()
  err = _bad(capsys, tmp_path, setup, '--checkpoint_path=' + str(empty),
             checkpoint=None)
  assert 'no checkpoint in folder %s' % empty in err
  err = _bad(capsys, tmp_path, setup, '--checkpoint_path=/nonexistent/ck',
             checkpoint=None)
  assert 'no such checkpoint: /nonexistent/ck' in err


def test_checkpoint_of_another_model(capsys, tmp_path, setup):
  err = _bad(capsys, tmp_path, setup, '--model_name=resnet_v1_50')
  assert 'has no variable resnet_v1_50/conv1/weights' in err
  assert 'another model' in err and 'resnet_v2_50/' in err


def test_empty_and_corrupt_tfrecords(capsys, tmp_path, setup):
  with open(os.path.join(setup.dataset_dir, folder.shard_name(
      _NAME, 'test', 0, 1)), 'rb') as f:
    records = f.read()
  cases = [
      (b'', 'is empty'),
      (b'not a tfrecord file at all, just text' * 3,
       'is not a readable TFRecord file'),
  ]
  for data, message in cases:
    bad_dir = str(tmp_path / ('bad%d' % len(data)))
    path = _write_dataset(bad_dir, None, setup.labels, _CLASSES,
                          records=data)
    err = _bad(capsys, tmp_path, setup, '--dataset_dir=' + bad_dir,
               dataset_dir=None)
    assert message in err and path in err
  # Truncated after the first records: the check passes (it reads the
  # first record only), the evaluation stops in one line, no event file.
  bad_dir = str(tmp_path / 'truncated')
  _write_dataset(bad_dir, None, setup.labels, _CLASSES,
                 records=records[:len(records) * 2 // 3])
  err = _bad(capsys, tmp_path, setup, '--dataset_dir=' + bad_dir,
             dataset_dir=None)
  assert 'cannot evaluate tiny/test (%s): ' % bad_dir in err
  assert 'truncated record' in err  # the reason, not the stack


def test_unreachable_master(capsys, tmp_path, setup):
  import socket  # pylint: disable=import-outside-toplevel
  with socket.socket() as sock:  # a port nothing listens on
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
  err = _bad(capsys, tmp_path, setup, '--master=grpc://127.0.0.1:%d' % port)
  assert 'master grpc://127.0.0.1:%d is unreachable' % port in err


def test_subprocess_exit_status_and_one_line(tmp_path, setup):
  bad_dir = str(tmp_path / 'empty_records')
  path = _write_dataset(bad_dir, None, setup.labels, _CLASSES, records=b'')
  env = command_env()
  result = subprocess.run(
      [sys.executable, '-m', 'slimnets', 'eval', '--model_name', _MODEL,
       '--dataset_name', _NAME, '--dataset_dir', bad_dir,
       '--checkpoint_path', setup.checkpoint,
       '--eval_dir', str(tmp_path / 'eval')],
      cwd=_ROOT, env=env, capture_output=True, text=True, timeout=300,
      check=False)
  assert result.returncode == 2, result
  assert result.stderr == ('slimnets eval: error: dataset file %s is empty '
                           '(0 bytes, no records)\n' % path)
  assert result.stdout == ''
  assert not os.path.exists(str(tmp_path / 'eval'))


def test_help_names_upstream_flags():
  parser = cli.build_parser()
  args = parser.parse_args(['eval'])
  # Upstream's defaults.
  assert (args.batch_size, args.max_num_batches, args.master,
          args.dataset_split_name, args.num_preprocessing_threads,
          args.labels_offset, args.moving_average_decay,
          args.eval_image_size, args.quantize, args.use_grayscale) == (
              100, None, '', 'test', 4, 0, None, None, False, False)
  assert args.checkpoint_path == args.eval_dir == '/tmp/tfmodel/'
  assert math.isclose(parser.parse_args(
      ['eval', '--moving_average_decay=0.999']).moving_average_decay, 0.999)
