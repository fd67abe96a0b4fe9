"""`slimnets train`: research/slim's train_image_classifier.py on TF 2.21.

Runs the command in-process (`slimnets.cli.main`) on small learnable
datasets (`_training.write_dataset`: each class a colour) with a two-block
ResNet v2 registered for the tests (`_training.TINY_MODEL`), except the
check that resnet_v2_50's loss falls over 100 steps at 32x32. Checks:
the progress line and the TensorBoard summaries, checkpoints and resuming,
fine-tuning on another class count (exclude and train only the logits),
moving averages in the checkpoint, two clones on the CPU, every optimizer
and learning-rate decay, and that bad input is one line with exit status 2
(one of them in a subprocess).

Typical use:

   pytest -q tests/test_train.py
"""

import argparse
import glob
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from _training import DATASET_NAME
from _training import TINY_MODEL
from _training import progress_lines
from _training import progress_losses
from _training import read_checkpoint
from _training import run_captured
from conftest import command_env
from _training import tiny_model
from _training import tiny_model_fixture
from _training import train_argv
from _training import trained_checkpoint
from _training import write_dataset
from slimnets import cli
from slimnets import train as train_lib

tiny = tiny_model_fixture
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  """A 3-class dataset folder (24 train, 24 validation images)."""
  dataset_dir = str(tmp_path_factory.mktemp('colours'))
  write_dataset(dataset_dir, num_classes=3, per_class=8)
  return dataset_dir


def _train(data_dir, train_dir, *flags):
  status, out, err = run_captured(train_argv(data_dir, train_dir, *flags))
  return status, out, err


def _ok(data_dir, train_dir, *flags):
  status, out, err = _train(data_dir, train_dir, *flags)
  assert status == 0, err + out
  assert not err.strip(), err
  return out


def _fails(data_dir, train_dir, *flags):
  """Runs train expecting bad input; returns its one stderr line."""
  status, out, err = _train(data_dir, train_dir, *flags)
  assert status == 2, (status, out, err)
  lines = err.strip().splitlines()
  assert len(lines) == 1, err
  assert lines[0].startswith('slimnets train: error: '), err
  return lines[0]


# The "Done when" run (resnet_v2_50, 100 steps on `slimnets dataset`'s output,
# loss falling) is tests/test_workflow.py's first step.


# --- loop, progress line, summaries ------------------------------------------


def _summary_tags(train_dir):
  tags = set()
  for path in glob.glob(os.path.join(str(train_dir), 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      tags.update(value.tag for value in event.summary.value)
  return tags


def test_progress_line_and_summaries(tiny, data, tmp_path):
  out = _ok(data, tmp_path / 'run', '--max_number_of_steps', '4',
            '--log_every_n_steps', '2', '--save_summaries_secs', '1')
  lines = progress_lines(out)
  assert [line[0] for line in lines] == [2, 4]
  for _, loss, steps_per_sec, images_per_sec, learning_rate in lines:
    assert loss > 0 and steps_per_sec > 0
    assert images_per_sec == pytest.approx(4 * steps_per_sec, rel=0.05)
    assert learning_rate == pytest.approx(0.05)
  assert 'step 2/4: loss ' in out
  assert out.splitlines()[0].startswith(
      'Training %s (3 classes) on %s/train (24 images) at 32x32, batch 4 x '
      '1 clone' % (TINY_MODEL, DATASET_NAME))
  assert out.splitlines()[-1].startswith('Done: 4 steps (global step 0 to 4)')

  tags = _summary_tags(tmp_path / 'run')
  scope = TINY_MODEL
  expected = {
      'total_loss', 'learning_rate', 'clone_loss', 'regularization_loss',
      'losses/softmax_cross_entropy_loss/value', 'images/image/0',
      'activations/%s/block1' % scope, 'sparsity/%s/block1' % scope,
      'activations/%s/logits' % scope, '%s/logits/weights' % scope,
      '%s/block1/unit_1/bottleneck_v2/conv1/BatchNorm/moving_mean' % scope,
      'global_step/sec'
  }
  assert expected <= tags, expected - tags
  assert os.path.exists(tmp_path / 'run' / 'graph.pbtxt')


def test_checkpoint_written_and_resumed(tiny, data, tmp_path):
  run = tmp_path / 'run'
  _ok(data, run, '--max_number_of_steps', '3')
  assert tf.train.latest_checkpoint(str(run)).endswith('model.ckpt-3')
  out = _ok(data, run, '--max_number_of_steps', '5')
  assert 'Resuming from %s (global step 3)' % (run / 'model.ckpt-3') in out
  assert [line[0] for line in progress_lines(out)] == [4, 5]
  assert read_checkpoint(run)['global_step'] == 5
  out = _ok(data, run, '--max_number_of_steps', '5')
  assert 'is already at step 5' in out and not progress_lines(out)


def _is_trainable_name(name):
  return name.rsplit('/', 1)[-1] in ('weights', 'biases', 'gamma', 'beta')


def test_fine_tune_another_class_count(tiny, tmp_path):
  _, source_dir = trained_checkpoint(tmp_path, steps=4, num_classes=3)
  five = str(tmp_path / 'five')
  write_dataset(five, name='five', num_classes=5, per_class=4, seed=7)
  run = tmp_path / 'fine'
  logits = TINY_MODEL + '/logits'
  flags = ('--dataset_name', 'five', '--checkpoint_path', source_dir,
           '--checkpoint_exclude_scopes', logits, '--trainable_scopes',
           logits)
  out = _ok(five, run, '--max_number_of_steps', '3', *flags)
  source = read_checkpoint(source_dir)
  assert 'Fine-tuning from %s' % tf.train.latest_checkpoint(source_dir) in out
  start = read_checkpoint(run / 'model.ckpt-0')  # after the restore
  final = read_checkpoint(run)
  assert final['%s/weights' % logits].shape[-1] == 5
  assert source['%s/weights' % logits].shape[-1] == 3
  frozen = [name for name in final
            if _is_trainable_name(name) and not name.startswith(logits)]
  assert len(frozen) > 10
  for name in frozen:
    np.testing.assert_array_equal(final[name], source[name], err_msg=name)
  for name in ('%s/weights' % logits, '%s/biases' % logits):
    assert not np.allclose(final[name], start[name]), name
  # A train_dir with a checkpoint resumes and ignores --checkpoint_path.
  out = _ok(five, run, '--max_number_of_steps', '4', *flags)
  assert 'Ignoring --checkpoint_path because a checkpoint already exists' in out


def test_moving_averages_in_checkpoint(tiny, data, tmp_path):
  import tf_slim as slim  # pylint: disable=import-outside-toplevel
  from nets import nets_factory  # pylint: disable=import-outside-toplevel
  run = tmp_path / 'run'
  _ok(data, run, '--max_number_of_steps', '3', '--moving_average_decay',
      '0.9')
  values = read_checkpoint(run)
  # What an evaluation with moving averages restores (slim's names).
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(TINY_MODEL, num_classes=3)
    network_fn(tf.zeros([1, 32, 32, 3]))
    averages = tf.compat.v1.train.ExponentialMovingAverage(0.9)
    to_restore = averages.variables_to_restore(slim.get_model_variables())
  shadows = [name for name in to_restore if name.endswith(
      '/ExponentialMovingAverage')]
  assert len(shadows) == len(slim_model_variable_names(values))
  for name in shadows:
    assert name in values, name
  weights = TINY_MODEL + '/logits/weights'
  assert not np.allclose(values[weights + '/ExponentialMovingAverage'],
                         values[weights])


def slim_model_variable_names(values):
  return [name for name in values if name.startswith(TINY_MODEL + '/') and
          'ExponentialMovingAverage' not in name]


def test_two_clones_on_cpu(tiny, data, tmp_path):
  out = _ok(data, tmp_path / 'two', '--num_clones', '2', '--clone_on_cpu',
            '--max_number_of_steps', '3')
  assert 'batch 4 x 2 clones on CPU' in out
  for _, _, steps_per_sec, images_per_sec, _ in progress_lines(out):
    assert images_per_sec == pytest.approx(8 * steps_per_sec, rel=0.05)
  _ok(data, tmp_path / 'one', '--max_number_of_steps', '1')
  two = read_checkpoint(tmp_path / 'two')
  one = read_checkpoint(tmp_path / 'one')
  # One set of variables, shared by the clones, named as with one clone.
  assert set(two) == set(one)
  assert two['global_step'] == 3


def test_sync_replicas_in_one_process(tiny, data, tmp_path):
  # SyncReplicasOptimizer with one replica; it applies the moving averages.
  run = tmp_path / 'run'
  _ok(data, run, '--sync_replicas', '--moving_average_decay', '0.9',
      '--max_number_of_steps', '3')
  values = read_checkpoint(run)
  assert values['global_step'] == 3
  assert TINY_MODEL + '/logits/weights/ExponentialMovingAverage' in values


def test_batch_norm_decay(tiny, data, tmp_path):
  # 0 makes the moving statistics the last batch's; the arg scope's 0.997
  # moves them 0.3% per step.
  moving_mean = TINY_MODEL + '/postnorm/moving_mean'
  means = {}
  for decay in ('0', None):
    run = tmp_path / str(decay)
    _ok(data, run, '--max_number_of_steps', '2',
        *(('--batch_norm_decay', decay) if decay else ()))
    means[decay] = np.abs(read_checkpoint(run)[moving_mean]).mean()
  assert means['0'] > 50 * means[None] > 0


def test_rmsprop_exponential_defaults_train(tiny, data, tmp_path):
  # Upstream's default optimizer and decay, through the command.
  run = tmp_path / 'run'
  _ok(data, run, '--optimizer', 'rmsprop', '--learning_rate_decay_type',
      'exponential', '--learning_rate', '0.001', '--max_number_of_steps',
      '2', '--num_epochs_per_decay', '0.5')
  values = read_checkpoint(run)
  assert TINY_MODEL + '/logits/weights/RMSProp' in values
  assert TINY_MODEL + '/logits/weights/RMSProp_1' in values


# --- optimizers and learning rates ---------------------------------------------


def _flags(**overrides):
  parser = argparse.ArgumentParser()
  train_lib.add_flags(parser)
  args = parser.parse_args(['--dataset_dir', 'unused'])
  for name, value in overrides.items():
    setattr(args, name, value)
  return args


@pytest.mark.parametrize('optimizer', train_lib.OPTIMIZERS)
def test_every_optimizer_builds_and_steps(optimizer):
  args = _flags(optimizer=optimizer)
  with tf.Graph().as_default():
    global_step = tf.compat.v1.train.get_or_create_global_step()
    weights = tf.compat.v1.get_variable('w', initializer=[1.0, -2.0])
    loss = tf.reduce_sum(tf.square(weights - [3.0, 1.0]))
    learning_rate = train_lib._configure_learning_rate(  # pylint: disable=protected-access
        tf, args, 320, global_step)
    opt = train_lib._configure_optimizer(tf, args, learning_rate)  # pylint: disable=protected-access
    step = opt.minimize(loss, global_step=global_step)
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      before = session.run(loss)
      for _ in range(3):
        session.run(step)
      after, steps = session.run([loss, global_step])
  assert steps == 3
  assert np.isfinite(after) and after < before, (before, after)


@pytest.mark.parametrize('decay, sync, expected', [
    # 100 images x 2 epochs / batch 10: 20 steps per decay.
    ('exponential', False, {0: 0.1, 19: 0.1, 20: 0.1 * 0.5, 45: 0.1 * 0.25}),
    ('polynomial', False, {0: 0.1, 10: 0.1 - (0.1 - 0.02) * 0.5, 20: 0.02,
                           30: 0.02}),
    ('fixed', False, {0: 0.1, 1000: 0.1}),
    # --sync_replicas divides the decay steps by --replicas_to_aggregate.
    ('exponential', True, {9: 0.1, 10: 0.05}),
])
def test_learning_rate_decays(decay, sync, expected):
  args = _flags(learning_rate_decay_type=decay, learning_rate=0.1,
                learning_rate_decay_factor=0.5, end_learning_rate=0.02,
                num_epochs_per_decay=2.0, batch_size=10, sync_replicas=sync,
                replicas_to_aggregate=2)
  with tf.Graph().as_default():
    step = tf.compat.v1.placeholder(tf.int64, [])
    learning_rate = train_lib._configure_learning_rate(tf, args, 100, step)  # pylint: disable=protected-access
    with tf.compat.v1.Session() as session:
      for at, value in expected.items():
        assert session.run(learning_rate, {step: at}) == pytest.approx(
            value, rel=1e-6), at


# --- flags ---------------------------------------------------------------------


def test_help_and_absl_spellings(capsys):
  with pytest.raises(SystemExit) as exit_info:
    cli.main(['train', '--help'])
  assert exit_info.value.code == 0
  text = capsys.readouterr().out
  for flag in ('--num_epochs_per_decay', '--moving_average_decay',
               '--checkpoint_exclude_scopes', '--noclone_on_cpu',
               '--replicas_to_aggregate', '--quantize_delay', '--job_name',
               'fine-tuning:', 'learning rate:'):
    assert flag in text, flag
  assert 'resnet_v2_50' in text and 'inception_v3' in text
  parser = cli.build_parser()
  args = parser.parse_args(['train', '--clone_on_cpu=false',
                            '--model-name=resnet_v1_50', '--batch_size=8',
                            '--sync_replicas'])
  assert (args.clone_on_cpu, args.model_name, args.batch_size,
          args.sync_replicas) == (False, 'resnet_v1_50', 8, True)
  args = parser.parse_args(['train', '--clone_on_cpu', '--noclone_on_cpu'])
  assert args.clone_on_cpu is False
  defaults = parser.parse_args(['train'])
  # Upstream's defaults.
  assert (defaults.optimizer, defaults.learning_rate, defaults.weight_decay,
          defaults.batch_size, defaults.train_dir,
          defaults.learning_rate_decay_type, defaults.save_interval_secs,
          defaults.moving_average_decay, defaults.quantize_delay) == (
              'rmsprop', 0.01, 0.00004, 32, '/tmp/tfmodel/', 'exponential',
              600, None, -1)


# --- bad input -----------------------------------------------------------------


@pytest.mark.parametrize('flags, expected', [
    (('--batch_size', '-4'), '--batch_size must be at least 1, got -4'),
    (('--num_clones', '0'), '--num_clones must be at least 1'),
    (('--optimizer', 'lion'), 'Optimizer [lion] was not recognized'),
    (('--learning_rate_decay_type', 'cosine'),
     'learning_rate_decay_type [cosine] was not recognized'),
    (('--quantize_delay', '0'), 'tf.contrib.quantize'),
    (('--label_smoothing', '2'), '--label_smoothing must be in [0, 1]'),
    (('--moving_average_decay', '1.5'), '--moving_average_decay'),
    (('--batch_norm_decay', '1'), '--batch_norm_decay must be in [0, 1)'),
    (('--max_number_of_steps', '0'), '--max_number_of_steps must be at least'),
    (('--dataset_dir', ''), 'You must supply the dataset directory'),
    (('--job_name', 'ps'), '--job_name=ps needs the cluster'),
    (('--master', 'grpc://127.0.0.1:1'), 'is unreachable'),
    (('--num_clones', '2'), 'pass --clone_on_cpu'),
    (('--task', '1'), '--task=1, but there is no cluster'),
])
def test_bad_flags(data, tmp_path, flags, expected):
  assert expected in _fails(data, tmp_path / 'run', *flags)


@pytest.mark.parametrize('flags, expected', [
    (('--model_name', 'resnet_v9'), 'Name of network unknown resnet_v9'),
    (('--model_name', 'i3d'), '--model_name=i3d is a video model'),
    (('--dataset_name', 'nope'), 'nope'),
    (('--dataset_split_name', 'test'), "unknown dataset_split_name 'test'"),
    (('--preprocessing_name', 'nope'), 'Preprocessing name [nope]'),
    (('--labels_offset', '3'), '--labels_offset=3 leaves no class'),
    (('--trainable_scopes', 'nope/'), "no trainable variable under 'nope/'"),
    (('--checkpoint_path', '/nonexistent/model.ckpt'), 'no such checkpoint'),
])
def test_bad_names(tiny, data, tmp_path, flags, expected):
  assert expected in _fails(data, tmp_path / 'run', *flags)


def test_missing_dataset_dir(tiny, tmp_path):
  assert str(tmp_path / 'nowhere') in _fails(tmp_path / 'nowhere',
                                             tmp_path / 'run')


def test_train_dir_not_writable(tiny, data, tmp_path):
  blocker = tmp_path / 'a_file'
  blocker.write_text('x')
  line = _fails(data, blocker / 'run')
  assert '--train_dir %s is not writable' % (blocker / 'run') in line


def _copy_dataset(data, tmp_path):
  copy = str(tmp_path / 'copy')
  write_dataset(copy, num_classes=3, per_class=8)
  return copy, sorted(glob.glob(os.path.join(copy, '*_train_*.tfrecord')))


def test_empty_tfrecord(tiny, data, tmp_path):
  copy, shards = _copy_dataset(data, tmp_path)
  open(shards[1], 'wb').close()
  line = _fails(copy, tmp_path / 'run')
  assert shards[1] in line and 'empty' in line


def test_corrupt_tfrecord_in_a_subprocess(data, tmp_path):
  # Also the exit status of the real command: no model needed, the files
  # are checked first.
  copy, shards = _copy_dataset(data, tmp_path)
  with open(shards[0], 'wb') as f:
    f.write(b'this is not a TFRecord file' * 10)
  env = command_env()
  process = subprocess.run(
      [sys.executable, '-m', 'slimnets'] + train_argv(
          copy, tmp_path / 'run', '--model_name', 'resnet_v2_50'),
      capture_output=True, text=True, env=env, timeout=300, check=False)
  assert process.returncode == 2, process.stderr
  lines = process.stderr.strip().splitlines()
  assert len(lines) == 1, process.stderr
  assert shards[0] in lines[0] and 'TFRecord' in lines[0]


def test_corrupt_record_met_while_training(tiny, data, tmp_path):
  # The first record is fine (so check() passes); a later one is damaged.
  copy, shards = _copy_dataset(data, tmp_path)
  with open(shards[0], 'rb') as f:
    content = bytearray(f.read())
  content[len(content) // 2] ^= 0xFF
  with open(shards[0], 'wb') as f:
    f.write(bytes(content))
  line = _fails(copy, tmp_path / 'run')
  assert 'training stopped ' in line
  assert 'DataLossError: corrupted record at ' in line


def test_checkpoint_of_another_model(tmp_path, data):
  with tiny_model('tiny_other'):
    other_dir = str(tmp_path / 'other')
    status, out, err = _train(data, other_dir, '--model_name', 'tiny_other',
                              '--max_number_of_steps', '1')
    assert status == 0, err
  with tiny_model():
    line = _fails(data, tmp_path / 'run', '--checkpoint_path', other_dir)
    assert ('has no variable %s/' % TINY_MODEL) in line
    assert '--checkpoint_exclude_scopes' in line
    assert '--ignore_missing_vars' in line
    # A train_dir holding another model's checkpoint cannot be resumed.
    line = _fails(data, other_dir)
    assert 'holds a checkpoint of another training setup' in line


def test_checkpoint_with_another_class_count(tiny, tmp_path):
  _, source_dir = trained_checkpoint(tmp_path, steps=1, num_classes=3)
  five = str(tmp_path / 'five')
  write_dataset(five, name='five', num_classes=5, per_class=2)
  line = _fails(five, tmp_path / 'run', '--dataset_name', 'five',
                '--checkpoint_path', source_dir)
  assert 'variable %s/logits/' % TINY_MODEL in line
  assert '--checkpoint_exclude_scopes=%s/logits' % TINY_MODEL in line
  # --ignore_missing_vars does not hide a shape mismatch.
  line = _fails(five, tmp_path / 'run', '--dataset_name', 'five',
                '--checkpoint_path', source_dir, '--ignore_missing_vars')
  assert 'shape' in line


def test_nan_loss_exits_1(tiny, data, tmp_path):
  status, out, err = _train(data, tmp_path / 'run', '--learning_rate',
                            '1e30', '--max_number_of_steps', '20')
  assert status == 1, (status, out, err)
  lines = err.strip().splitlines()
  assert len(lines) == 1 and 'the loss is NaN' in lines[0], err
