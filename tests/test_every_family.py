"""train, eval and export run every kind of registered model.

One model of each (family, preprocessing) pair of `nets.registry` (the
registry the commands read; a new family is picked up here by itself):
`slimnets train` two steps on a tiny dataset (its preprocessing entry,
its logits' shape into the loss), `slimnets eval` on the checkpoint, and
`slimnets export --format=frozen`, whose logits must equal eval's network on
the same image; a video model is refused by train in one line (it reads
image datasets). Small images (a network's minimum where it has one); the
whole chain is tests/test_workflow.py's.
"""

import numpy as np
import pytest
import tensorflow as tf

from _training import read_checkpoint
from _training import run_captured
from _training import train_argv
from _training import write_dataset
from nets import nets_factory
from nets import registry

SIZE = 32


def _one_model_per_kind():
  kinds = {}
  for name in registry.list_models():
    info = registry.get_model(name)
    kinds.setdefault((info.family, info.preprocessing), name)
  return sorted(kinds.values())


@pytest.fixture(scope='module')
def data(tmp_path_factory):
  dataset_dir = str(tmp_path_factory.mktemp('colours'))
  write_dataset(dataset_dir, num_classes=3, per_class=2)
  return dataset_dir


def _ok(argv):
  status, out, err = run_captured([str(item) for item in argv])
  assert status == 0, (argv, err, out)
  return out


def _frozen_logits(path, image):
  graph_def = tf.compat.v1.GraphDef()
  with open(path, 'rb') as f:
    graph_def.ParseFromString(f.read())
  with tf.Graph().as_default():
    tf.compat.v1.import_graph_def(graph_def, name='')
    with tf.compat.v1.Session() as sess:
      return sess.run('logits:0', {'input:0': image})


def _live_logits(model, train_dir, image):
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(model, 3)
    inputs = tf.constant(image)
    logits, _ = network_fn(inputs)
    with tf.compat.v1.Session() as sess:
      tf.compat.v1.train.Saver().restore(
          sess, tf.train.latest_checkpoint(train_dir))
      return sess.run(logits)


def _size(model):
  return max(SIZE, registry.get_model(model).min_image_size or 0)


@pytest.mark.parametrize('model', _one_model_per_kind())
def test_train_eval_export(model, data, tmp_path):
  train_dir = str(tmp_path / 'train')
  size = _size(model)
  argv = train_argv(data, train_dir, '--model_name', model,
                    '--train_image_size', str(size), '--batch_size', '2',
                    '--max_number_of_steps', '2', '--learning_rate', '0.001')
  if registry.get_model(model).num_frames:
    status, out, err = run_captured([str(item) for item in argv])
    assert status == 2 and err.count('\n') == 1, (out, err)
    assert '--model_name=%s is a video model' % model in err
    return
  _ok(argv)
  assert read_checkpoint(train_dir)['global_step'] == 2

  out = _ok(['eval', '--checkpoint_path', train_dir, '--eval_dir',
             tmp_path / 'eval', '--dataset_name', 'colours',
             '--dataset_split_name', 'validation', '--dataset_dir', data,
             '--model_name', model, '--eval_image_size', size,
             '--batch_size', 3])
  assert 'eval/Accuracy[' in out and 'eval/Recall_5[' in out

  frozen = str(tmp_path / 'frozen.pb')
  _ok(['export', '--model_name', model, '--image_size', size,
       '--dataset_name', 'colours', '--dataset_dir', data, '--format',
       'frozen', '--checkpoint_path', train_dir, '--output_file', frozen])
  image = np.random.RandomState(0).uniform(-1, 1, [1, size, size, 3])
  image = image.astype(np.float32)
  np.testing.assert_allclose(_frozen_logits(frozen, image),
                             _live_logits(model, train_dir, image),
                             rtol=1e-4, atol=1e-4)
