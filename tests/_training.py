"""Shared helpers for the tests of `slimnets train` (and eval, export).

* `write_dataset(dataset_dir, ...)`: a small learnable image dataset in
  slim's TFRecord format (each class a colour, with noise and brightness
  jitter), described as `slimnets dataset` describes its folders
  (`slimnets_dataset.json` + labels.txt), so `get_dataset(name, split,
  dataset_dir)` reads it under any name and class count.
* `tiny_model()`: registers TINY_MODEL, a two-block ResNet v2 (scope
  'tiny_train_v2', inception preprocessing, default size 32) in
  `nets.registry` for the duration of a `with` block, so training tests take
  seconds; `tiny_model_fixture` is the same as a pytest fixture.
* `train(dataset_dir, train_dir, *flags)`: `slimnets train` in-process
  (`slimnets.cli.main`), with small defaults (TINY_MODEL, batch 4, sgd,
  fixed learning rate, no periodic saves) overridable by `flags`; returns
  the exit status.
* `trained_checkpoint(tmp_path)`: a dataset and a train_dir trained a few
  steps (what eval and export tests start from).
* `read_checkpoint(path)`: {variable name: numpy value}.
* `progress_losses(text)`: the losses of the progress lines in stdout.

Typical use:

   from _training import TINY_MODEL, tiny_model_fixture, train, write_dataset
   tiny = tiny_model_fixture  # in the test module: makes the fixture known

   def test_something(tiny, tmp_path):
     write_dataset(tmp_path / 'data', name='colours', num_classes=3)
     assert train(tmp_path / 'data', tmp_path / 'run', '--dataset_name',
                  'colours', '--max_number_of_steps', '5') == 0
"""

import contextlib
import io
import json
import os
import re

import numpy as np
import pytest

TINY_MODEL = 'tiny_train_v2'
TINY_SCOPE = TINY_MODEL
TINY_SIZE = 32
DATASET_NAME = 'colours'
METADATA_FILENAME = 'slimnets_dataset.json'  # slimnets.datasets.folder's

# Distinct hues, far apart, so the classes survive inception's colour
# distortion (hue shifts of at most 0.2 of the circle in fast mode).
_COLOURS = np.array([[220, 30, 30], [30, 200, 40], [40, 60, 230],
                     [230, 220, 40], [200, 40, 210], [40, 210, 220],
                     [250, 140, 20], [128, 128, 128]], np.float32)


def _tiny_resnet_v2(inputs, num_classes=None, is_training=True,
                    global_pool=True, output_stride=None,
                    spatial_squeeze=True, reuse=None, scope=TINY_SCOPE):
  from nets import resnet_v2  # pylint: disable=import-outside-toplevel
  blocks = [resnet_v2.resnet_v2_block('block1', base_depth=4, num_units=1,
                                      stride=2),
            resnet_v2.resnet_v2_block('block2', base_depth=8, num_units=1,
                                      stride=1)]
  return resnet_v2.resnet_v2(inputs, blocks, num_classes=num_classes,
                             is_training=is_training,
                             global_pool=global_pool,
                             output_stride=output_stride,
                             include_root_block=True,
                             spatial_squeeze=spatial_squeeze, reuse=reuse,
                             scope=scope)


_tiny_resnet_v2.__name__ = TINY_MODEL


@contextlib.contextmanager
def tiny_model(name=TINY_MODEL):
  """Registers the tiny ResNet v2 as `name` while the block runs."""
  from nets import registry  # pylint: disable=import-outside-toplevel
  from nets import resnet_v2  # pylint: disable=import-outside-toplevel
  saved = registry._MODELS.copy()  # pylint: disable=protected-access

  def model(inputs, num_classes=None, is_training=True, global_pool=True,
            output_stride=None, spatial_squeeze=True, reuse=None,
            scope=name):
    return _tiny_resnet_v2(inputs, num_classes=num_classes,
                           is_training=is_training, global_pool=global_pool,
                           output_stride=output_stride,
                           spatial_squeeze=spatial_squeeze, reuse=reuse,
                           scope=scope)

  model.__name__ = name
  registry.list_models()  # load the families before adding to them
  registry.register('resnet_v2', resnet_v2.resnet_arg_scope,
                    default_image_size=TINY_SIZE, num_classes=1001,
                    preprocessing='inception')(model)
  try:
    yield name
  finally:
    registry._MODELS.clear()  # pylint: disable=protected-access
    registry._MODELS.update(saved)  # pylint: disable=protected-access


@pytest.fixture
def tiny_model_fixture():
  """TINY_MODEL registered for one test; yields its name."""
  with tiny_model() as name:
    yield name


def _encode_png(image):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return tf.io.encode_png(image).numpy()


def _example(encoded, image_format, height, width, label):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  def feature_bytes(value):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

  def feature_int(value):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': feature_bytes(encoded),
      'image/format': feature_bytes(image_format),
      'image/class/label': feature_int(label),
      'image/height': feature_int(height),
      'image/width': feature_int(width),
  }))


def learnable_images(num_classes, per_class, size=TINY_SIZE, seed=0):
  """(images uint8 [N, size, size, 3], labels [N]): class k is colour k.

  Gaussian noise and a brightness jitter per image; classes interleaved.
  """
  if num_classes > len(_COLOURS):
    raise ValueError('at most %d classes' % len(_COLOURS))
  rng = np.random.RandomState(seed)
  labels = np.tile(np.arange(num_classes), per_class)
  images = _COLOURS[labels][:, None, None, :] * rng.uniform(
      0.7, 1.1, [len(labels), 1, 1, 1])
  images = images + rng.normal(0, 20, [len(labels), size, size, 3])
  return np.clip(images, 0, 255).astype(np.uint8), labels


def write_dataset(dataset_dir, name=DATASET_NAME, num_classes=3,
                  per_class=8, size=TINY_SIZE, splits=('train',
                                                       'validation'),
                  num_shards=2, seed=0):
  """Writes a learnable dataset folder; returns {split: num_samples}.

  Each split gets `per_class` PNG images per class, in `num_shards` files
  named as `slimnets dataset` names them, plus labels.txt and the folder
  description `slimnets.datasets.folder` reads.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  dataset_dir = str(dataset_dir)
  os.makedirs(dataset_dir, exist_ok=True)
  description = {'format': 'slimnets-dataset', 'version': 1, 'name': name,
                 'num_classes': num_classes, 'splits': {}}
  sizes = {}
  for index, split in enumerate(splits):
    images, labels = learnable_images(num_classes, per_class, size,
                                      seed=seed + index)
    files = []
    for shard in range(num_shards):
      file_name = '%s_%s_%05d-of-%05d.tfrecord' % (name, split, shard,
                                                   num_shards)
      files.append(file_name)
      with tf.io.TFRecordWriter(os.path.join(dataset_dir,
                                             file_name)) as writer:
        for image, label in zip(images[shard::num_shards],
                                labels[shard::num_shards]):
          writer.write(_example(_encode_png(image), b'png', size, size,
                                int(label)).SerializeToString())
    description['splits'][split] = {'num_samples': len(labels),
                                    'files': files}
    sizes[split] = len(labels)
  with open(os.path.join(dataset_dir, METADATA_FILENAME), 'w') as f:
    json.dump(description, f, indent=1)
  with open(os.path.join(dataset_dir, 'labels.txt'), 'w') as f:
    for label in range(num_classes):
      f.write('%d:class_%d\n' % (label, label))
  return sizes


_DEFAULT_FLAGS = {
    '--model_name': TINY_MODEL,
    '--dataset_name': DATASET_NAME,
    '--batch_size': '4',
    '--optimizer': 'sgd',
    '--learning_rate': '0.05',
    '--learning_rate_decay_type': 'fixed',
    '--max_number_of_steps': '4',
    '--save_interval_secs': '0',
    '--save_summaries_secs': '0',
    '--log_every_n_steps': '1',
    '--num_readers': '2',
    '--num_preprocessing_threads': '2',
    '--seed': '1',
}


def train_argv(dataset_dir, train_dir, *flags):
  """The argv of `slimnets train` with the small defaults and `flags`.

  `flags` are '--name', 'value' pairs or '--name=value' / '--boolflag'
  items; a name given there replaces its default.
  """
  given = {item.split('=', 1)[0] for item in flags if item.startswith('--')}
  argv = ['train', '--dataset_dir', str(dataset_dir), '--train_dir',
          str(train_dir)]
  for name, value in _DEFAULT_FLAGS.items():
    if name not in given:
      argv += [name, value]
  return argv + [str(item) for item in flags]


def train(dataset_dir, train_dir, *flags):
  """Runs `slimnets train` in-process; returns the exit status."""
  from slimnets import cli  # pylint: disable=import-outside-toplevel
  return cli.main(train_argv(dataset_dir, train_dir, *flags))


def run_captured(argv):
  """`slimnets.cli.main(argv)` -> (status, stdout, stderr)."""
  from slimnets import cli  # pylint: disable=import-outside-toplevel
  out, err = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    status = cli.main(argv)
  return status, out.getvalue(), err.getvalue()


def trained_checkpoint(tmp_path, steps=6, num_classes=3, name=DATASET_NAME):
  """Writes a dataset and trains TINY_MODEL on it (register it first).

  Returns:
    (dataset_dir, train_dir) as strings.
  """
  dataset_dir = os.path.join(str(tmp_path), 'data-%s' % name)
  train_dir = os.path.join(str(tmp_path), 'train-%s' % name)
  write_dataset(dataset_dir, name=name, num_classes=num_classes)
  status, out, err = run_captured(train_argv(
      dataset_dir, train_dir, '--dataset_name', name,
      '--max_number_of_steps', str(steps)))
  assert status == 0, err + out
  return dataset_dir, train_dir


def read_checkpoint(path):
  """{variable name: value} of a checkpoint file or its folder's newest."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  path = str(path)
  if os.path.isdir(path):
    path = tf.train.latest_checkpoint(path)
  reader = tf.train.load_checkpoint(path)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


_PROGRESS = re.compile(
    r'^step (\d+)(?:/\d+)?: loss ([0-9.naninf]+), ([0-9.]+) steps/s, '
    r'([0-9.]+) images/s, learning rate ([0-9.e+-]+)$', re.M)


def progress_lines(text):
  """[(step, loss, steps/s, images/s, learning rate)] of the output."""
  return [(int(m.group(1)), float(m.group(2)), float(m.group(3)),
           float(m.group(4)), float(m.group(5)))
          for m in _PROGRESS.finditer(text)]


def progress_losses(text):
  """The losses of the progress lines of `text`, in order."""
  return [line[1] for line in progress_lines(text)]
