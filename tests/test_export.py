"""`slimnets export`: the three forms, each run against the live graph.

A random-weight resnet_v2_50 checkpoint (5 classes, batch norm perturbed) is
made in the test; each exported form is run on the same inputs as the
network built directly and restored from that checkpoint (`Live`), within
1e-5: the inference GraphDef imported and restored from the checkpoint (and
frozen by TensorFlow's own freeze_graph, the upstream workflow), the frozen
GraphDef imported, the SavedModel loaded by `tf.saved_model.load` in eager
mode. Then bad input (one line, exit 2, nothing written) and interruptions
(nothing partial).
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format

from _eval_helpers import Live
from _eval_helpers import no_temp_left
from _eval_helpers import random_images
from _eval_helpers import save_checkpoint
from conftest import assert_close
from conftest import command_env
from slimnets import cli
from slimnets import export
from slimnets import output_files

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_MODEL = 'resnet_v2_50'
_CLASSES = 5
_SIZE = 32
_BASE = ['export', '--model_name=%s' % _MODEL, '--num_classes=%d' % _CLASSES,
         '--image_size=%d' % _SIZE]


@pytest.fixture(scope='module')
def checkpoint(module_tmp_factory):
  return save_checkpoint(str(module_tmp_factory.mktemp('ckpt')), _MODEL,
                         _CLASSES, _SIZE, global_step=42)


@pytest.fixture(scope='module')
def live(checkpoint):
  reference = Live(checkpoint, _MODEL, _CLASSES, _SIZE)
  yield reference
  reference.close()


@pytest.fixture(scope='module')
def images():
  return random_images(3, _SIZE)


def _main(capsys, *args):
  """cli.main(args) -> (status, stdout, stderr)."""
  status = cli.main(list(_BASE) + list(args))
  out, err = capsys.readouterr()
  return status, out, err


def _read_graph_def(path, as_text=False):
  graph_def = tf.compat.v1.GraphDef()
  if as_text:
    with open(path) as f:
      text_format.Parse(f.read(), graph_def)
  else:
    with open(path, 'rb') as f:
      graph_def.ParseFromString(f.read())
  return graph_def


def _run_graph_def(graph_def, fetches, images, checkpoint=None):
  """Imports `graph_def`, restores its VariableV2s from `checkpoint`, runs."""
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.import_graph_def(graph_def, name='')
    with tf.compat.v1.Session(graph=graph) as sess:
      if checkpoint:
        variables = {n.name: graph.get_tensor_by_name(n.name + ':0')
                     for n in graph_def.node if n.op == 'VariableV2'}
        tf.compat.v1.train.Saver(variables).restore(sess, checkpoint)
      return sess.run(fetches, {'input:0': images})


def test_graphdef_is_export_inference_graphs(capsys, tmp_path, checkpoint,
                                             live, images):
  out = str(tmp_path / 'graph.pb')
  status, stdout, err = _main(capsys, '--output_file=' + out)
  assert status == 0, err
  assert 'resnet_v2_50/predictions/Reshape_1' in stdout  # freeze_graph hint
  graph_def = _read_graph_def(out)
  nodes = {n.name: n for n in graph_def.node}
  placeholder = nodes['input']
  assert placeholder.op == 'Placeholder'
  assert placeholder.attr['dtype'].type == tf.float32.as_datatype_enum
  assert [d.size for d in placeholder.attr['shape'].shape.dim] == [
      -1, _SIZE, _SIZE, 3]
  # No weights: reference variables as TF1 wrote them, nothing restored.
  kinds = [n.op for n in graph_def.node]
  assert kinds.count('VariableV2') == 272 and 'VarHandleOp' not in kinds
  assert 'RestoreV2' not in kinds and 'SaveV2' not in kinds
  assert os.path.getsize(out) < 2e6  # the weights are 94 MB

  expected = live.run(images)
  got = _run_graph_def(graph_def, ['resnet_v2_50/SpatialSqueeze:0',
                                   'resnet_v2_50/predictions/Reshape_1:0'],
                       images, checkpoint)
  assert_close(got[0], expected['logits'], 1e-5, 'logits')
  assert_close(got[1], expected['predictions'], 1e-5, 'predictions')

  # The upstream workflow: TensorFlow's freeze_graph on it + the checkpoint.
  from tensorflow.python.tools import freeze_graph  # pylint: disable=import-outside-toplevel
  frozen = str(tmp_path / 'freeze_graph.pb')
  with tf.Graph().as_default():
    freeze_graph.freeze_graph(
        input_graph=out, input_saver='', input_binary=True,
        input_checkpoint=checkpoint,
        output_node_names='resnet_v2_50/predictions/Reshape_1',
        restore_op_name='', filename_tensor_name='', output_graph=frozen,
        clear_devices=True, initializer_nodes='')
  got = _run_graph_def(_read_graph_def(frozen),
                       'resnet_v2_50/predictions/Reshape_1:0', images)
  assert_close(got, expected['predictions'], 1e-5, 'freeze_graph')
  assert no_temp_left(str(tmp_path))


def test_video_model_graphdef_takes_clips(capsys, tmp_path):
  # export_inference_graph.py's --is_video_model: a 5-D 'input'.
  output = tmp_path / 'i3d.pb'
  status, out, err = _main(capsys, '--model_name=i3d', '--is_video_model',
                           '--num_frames=8', '--image_size=64',
                           '--output_file=%s' % output)
  assert status == 0, err
  graph_def = _read_graph_def(str(output))
  with tf.Graph().as_default() as graph:
    tf.compat.v1.import_graph_def(graph_def, name='')
    placeholder = graph.get_tensor_by_name('input:0')
  assert placeholder.shape.as_list() == [None, 8, 64, 64, 3]
  assert 'InceptionV1/Logits/SpatialSqueeze' in out


def test_graphdef_text_fixed_batch_and_training_form(capsys, tmp_path):
  out = str(tmp_path / 'graph.pbtxt')
  status, _, err = _main(capsys, '--output_file=' + out, '--batch_size=2',
                         '--write_text_graphdef', '--is_training')
  assert status == 0, err
  graph_def = _read_graph_def(out, as_text=True)
  placeholder = [n for n in graph_def.node if n.name == 'input'][0]
  assert [d.size for d in placeholder.attr['shape'].shape.dim] == [
      2, _SIZE, _SIZE, 3]
  # Training form: batch norm on batch statistics.
  bn = [n for n in graph_def.node if n.op.startswith('FusedBatchNorm')]
  assert bn and all(n.attr['is_training'].b for n in bn)


def test_frozen_graph_equals_live_graph(capsys, tmp_path, checkpoint, live,
                                        images):
  out = str(tmp_path / 'frozen.pb')
  status, stdout, err = _main(capsys, '--format=frozen',
                              '--checkpoint_path=' + os.path.dirname(
                                  checkpoint),  # a folder: its latest
                              '--endpoint=global_pool,block4',
                              '--output_file=' + out)
  assert status == 0, err
  assert checkpoint in stdout
  graph_def = _read_graph_def(out)
  kinds = {n.op for n in graph_def.node}
  assert not kinds & {'VariableV2', 'VarHandleOp', 'ReadVariableOp'}
  names = ['logits', 'predictions', 'classes', 'global_pool', 'block4']
  got = _run_graph_def(graph_def, [n + ':0' for n in names], images)
  got = dict(zip(names, got))
  expected = live.run(images, ['global_pool', 'resnet_v2_50/block4'])
  assert_close(got['logits'], expected['logits'], 1e-5, 'logits')
  assert_close(got['predictions'], expected['predictions'], 1e-5,
               'predictions')
  np.testing.assert_array_equal(got['classes'],
                                expected['logits'].argmax(axis=1))
  assert_close(got['global_pool'], expected['global_pool'], 1e-5,
               'global_pool')
  assert_close(got['block4'], expected['resnet_v2_50/block4'], 1e-5,
               'block4')


def test_saved_model_runs_in_eager_tf2(capsys, tmp_path, checkpoint, live,
                                       images):
  out = str(tmp_path / 'saved')
  status, stdout, err = _main(capsys, '--format=saved_model',
                              '--checkpoint_path=' + checkpoint,
                              '--endpoint=global_pool', '--endpoint=block4',
                              '--output_file=' + out)
  assert status == 0, err
  assert "signature 'serving_default'" in stdout
  assert sorted(os.listdir(out)) == ['saved_model.pb', 'variables']
  assert tf.executing_eagerly()
  loaded = tf.saved_model.load(out)
  serve = loaded.signatures['serving_default']
  spec = serve.structured_input_signature[1]['images']
  assert spec.dtype == tf.float32 and spec.shape.as_list() == [
      None, _SIZE, _SIZE, 3]
  got = {k: v.numpy() for k, v in serve(images=tf.constant(images)).items()}
  assert sorted(got) == ['block4', 'classes', 'global_pool', 'logits',
                         'predictions']
  expected = live.run(images, ['global_pool', 'resnet_v2_50/block4'])
  assert_close(got['logits'], expected['logits'], 1e-5, 'logits')
  assert_close(got['predictions'], expected['predictions'], 1e-5,
               'predictions')
  assert_close(got['global_pool'], expected['global_pool'], 1e-5,
               'global_pool')
  assert_close(got['block4'], expected['resnet_v2_50/block4'], 1e-5,
               'block4')
  np.testing.assert_array_equal(got['classes'],
                                expected['logits'].argmax(axis=1))
  # Any batch size (--batch_size unset).
  one = serve(images=tf.constant(images[:1]))['logits'].numpy()
  assert_close(one, expected['logits'][:1], 1e-5, 'batch of one')

  # An existing SavedModel: refused, then replaced whole with --force.
  status, _, err = _main(capsys, '--format=saved_model',
                         '--checkpoint_path=' + checkpoint,
                         '--output_file=' + out)
  assert status == 2 and err.count('\n') == 1
  assert 'already exists' in err and '--force' in err
  status, _, err = _main(capsys, '--format=saved_model', '--force',
                         '--checkpoint_path=' + checkpoint,
                         '--output_file=' + out)
  assert status == 0, err
  outputs = tf.saved_model.load(out).signatures[
      'serving_default'].structured_outputs
  assert sorted(outputs) == ['classes', 'global_pool', 'logits',
                             'predictions']
  assert no_temp_left(str(tmp_path))


def test_moving_averages_are_exported(capsys, tmp_path, images):
  prefix = save_checkpoint(str(tmp_path / 'ckpt'), _MODEL, _CLASSES, _SIZE,
                           moving_average=True, seed=5)
  out = str(tmp_path / 'frozen.pb')
  status, _, err = _main(capsys, '--format=frozen', '--moving_average_decay',
                         '0.99', '--checkpoint_path=' + prefix,
                         '--output_file=' + out)
  assert status == 0, err
  got = _run_graph_def(_read_graph_def(out), 'logits:0', images)
  averaged = Live(prefix, _MODEL, _CLASSES, _SIZE, use_averages=True)
  raw = Live(prefix, _MODEL, _CLASSES, _SIZE)
  try:
    want = averaged.run(images)['logits']
    assert_close(got, want, 1e-5, 'averaged logits')
    assert not np.allclose(want, raw.run(images)['logits'], atol=1e-3)
  finally:
    averaged.close()
    raw.close()


def test_output_publishers(tmp_path):
  """publish_directory: never replaces without force, swaps with it."""
  final = str(tmp_path / 'model')
  for content in ('old', 'new'):
    temp = output_files.TempDir(str(tmp_path), 'test')
    os.makedirs(temp.file('dir'))
    with open(temp.file('dir/x'), 'w') as f:
      f.write(content)
    try:
      if content == 'old':
        output_files.publish_directory(temp.file('dir'), final, force=False)
      else:
        with pytest.raises(FileExistsError, match='--force'):
          output_files.publish_directory(temp.file('dir'), final, False)
        output_files.publish_directory(temp.file('dir'), final, force=True)
    finally:
      temp.remove()
  with open(os.path.join(final, 'x')) as f:
    assert f.read() == 'new'
  assert os.listdir(final) == ['x'] and no_temp_left(str(tmp_path))


# --- bad input ----------------------------------------------------------------


@pytest.mark.parametrize('args, message', [
    (['--model_name=resnet_v9'], 'resnet_v9'),
    (['--image_size=0'], '--image_size must be at least 1'),
    (['--batch_size=0'], '--batch_size must be at least 1'),
    (['--quantize'], 'tf.contrib.quantize'),
    (['--format=tflite'], '--format must be one of'),
    (['--format=frozen'], 'needs --checkpoint_path'),
    (['--checkpoint_path=x'], 'has no weights'),
    (['--num_classes=0'], 'no classes'),
    (['--endpoint=block4'], '--endpoint adds outputs to --format=frozen'),
    (['--moving_average_decay=0.9'], '--moving_average_decay needs'),
    (['--format=frozen', '--checkpoint_path=/nonexistent/model.ckpt'],
     'no such checkpoint: /nonexistent/model.ckpt'),
    (['--output_file=/nonexistent/graph.pb'], 'output folder does not exist'),
    (['--output_file='], 'You must supply the path'),
    (['--model_name=i3d'], 'i3d is a video model: pass --is_video_model'),
    (['--is_video_model'], 'resnet_v2_50 takes images, not clips'),
    (['--num_frames=8'], '--num_frames is only used with --is_video_model'),
    (['--model_name=s3dg', '--is_video_model', '--num_frames=0'],
     '--num_frames must be at least 1'),
])
def test_bad_input_is_one_line(capsys, tmp_path, args, message):
  default_out = '--output_file=' + str(tmp_path / 'graph.pb')
  status, out, err = _main(capsys, default_out, *args)
  assert status == 2, (out, err)
  assert message in err and err.count('\n') == 1, err
  assert err.startswith('slimnets export: error: ')
  assert os.listdir(str(tmp_path)) == []


def test_wrong_checkpoints_name_the_variable(capsys, tmp_path, checkpoint):
  out = str(tmp_path / 'frozen.pb')
  base = ['--format=frozen', '--checkpoint_path=' + checkpoint,
          '--output_file=' + out]
  status, _, err = _main(capsys, *(base + ['--model_name=resnet_v1_50']))
  assert status == 2 and err.count('\n') == 1, err
  assert 'has no variable resnet_v1_50/conv1/weights' in err
  assert 'another model' in err and 'resnet_v2_50/' in err
  status, _, err = _main(capsys, *(base + ['--num_classes=7']))
  assert status == 2 and err.count('\n') == 1, err
  assert ('variable resnet_v2_50/logits/weights has shape [1, 1, 2048, 5] '
          'in checkpoint' in err) and '--num_classes 7' in err
  status, _, err = _main(capsys, *(base + ['--moving_average_decay=0.9']))
  assert status == 2 and err.count('\n') == 1, err
  assert 'no moving average resnet_v2_50/conv1/weights/Exponential' in err
  status, _, err = _main(capsys, *(base + ['--endpoint=block9']))
  assert status == 2 and "'block9' matches no end point" in err
  assert os.listdir(str(tmp_path)) == []


def test_corrupt_checkpoint_leaves_nothing(capsys, tmp_path, checkpoint):
  broken = str(tmp_path / 'ckpt')
  os.makedirs(broken)
  prefix = os.path.join(broken, os.path.basename(checkpoint))
  for suffix in ('.index', '.data-00000-of-00001'):
    with open(checkpoint + suffix, 'rb') as src:
      data = src.read()
    with open(prefix + suffix, 'wb') as dst:
      # A truncated data file: the index still lists every variable.
      dst.write(data[:len(data) // 2] if suffix.startswith('.data') else
                data)
  out_dir = tmp_path / 'out'
  out_dir.mkdir()
  status, _, err = _main(capsys, '--format=saved_model',
                         '--checkpoint_path=' + prefix,
                         '--output_file=' + str(out_dir / 'saved'))
  assert status == 2 and err.count('\n') == 1, err
  assert 'cannot restore checkpoint %s: ' % prefix in err
  assert 'Graph execution error' not in err  # the reason, not the stack
  assert os.listdir(str(out_dir)) == []


def test_interrupted_while_writing_leaves_nothing(capsys, tmp_path,
                                                  checkpoint, monkeypatch):
  real_save = export._save_model  # pylint: disable=protected-access

  def save_then_signal(*args):
    real_save(*args)  # the SavedModel is complete in the temporary folder
    raise output_files.Interrupted(signal.SIGTERM)

  monkeypatch.setattr(export, '_save_model', save_then_signal)
  status, _, err = _main(capsys, '--format=saved_model',
                         '--checkpoint_path=' + checkpoint,
                         '--output_file=' + str(tmp_path / 'saved'))
  assert status == 128 + signal.SIGTERM
  assert 'terminated (SIGTERM)' in err
  assert os.listdir(str(tmp_path)) == []


def _subprocess(*args, **kwargs):
  env = command_env()
  return subprocess.Popen(
      [sys.executable, '-m', 'slimnets'] + list(_BASE) + list(args),
      cwd=_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True, **kwargs)


def test_subprocess_existing_file_and_sigterm(tmp_path, checkpoint):
  existing = tmp_path / 'graph.pb'
  existing.write_bytes(b'keep me')
  process = _subprocess('--output_file=' + str(existing))
  out, err = process.communicate(timeout=300)
  assert process.returncode == 2, (out, err)
  assert err == ('slimnets export: error: %s already exists; pass --force to '
                 'replace it\n' % existing)
  assert existing.read_bytes() == b'keep me'

  # SIGTERM once the export has its temporary folder: nothing is left.
  out_dir = tmp_path / 'out'
  out_dir.mkdir()
  process = _subprocess('--format=saved_model', '--checkpoint_path=' +
                        checkpoint, '--output_file=' + str(out_dir / 'saved'))
  deadline = time.time() + 300
  while (not [n for n in os.listdir(str(out_dir)) if '-export-' in n] and
         process.poll() is None):
    assert time.time() < deadline
    time.sleep(0.05)
  process.send_signal(signal.SIGTERM)
  out, err = process.communicate(timeout=300)
  assert process.returncode == 128 + signal.SIGTERM, (out, err)
  assert err.strip().splitlines()[-1] == (
      'slimnets export: terminated (SIGTERM)')
  assert os.listdir(str(out_dir)) == []
