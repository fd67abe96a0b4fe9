"""Folder datasets: TFRecords written by `slimnets dataset`, any name.

`slimnets dataset` converts a folder of class sub-folders of images into a
dataset folder holding

  <name>_<split>_<shard>-of-<count>.tfrecord   slim's image Examples
  labels.txt                                   '<label>:<class name>' lines
  slimnets_dataset.json                        what this module reads

The JSON file describes the dataset, as the constants of upstream's
flowers.py do for Flowers:

  {"format": "slimnets-dataset", "version": 1, "name": "pets",
   "num_classes": 3,
   "splits": {"train": {"num_samples": 90,
                        "files": ["pets_train_00000-of-00002.tfrecord", ...]},
              "validation": {"num_samples": 10, "files": [...]}},
   ...}

(other keys, such as the source folder and the seed, are informational).
The file names are relative to the dataset folder. Any folder of slim
TFRecords can be described this way by hand, e.g. files written by another
converter.

`dataset_factory.get_dataset(name, ...)` uses this description whenever the
dataset folder has one for `name`, even for an upstream name such as
'flowers' (the file names are upstream's, the sizes the folder's).

Typical use:

   dataset = folder.get_split('pets', 'train', '/data/pets')
"""

import json
import os

import tensorflow as tf

from slimnets.datasets import dataset as dataset_lib
from slimnets.datasets import dataset_utils
from slimnets.datasets import tfexample_decoder

METADATA_FILENAME = 'slimnets_dataset.json'
FORMAT = 'slimnets-dataset'
VERSION = 1

SHARD_NAME = '%s_%s_%05d-of-%05d.tfrecord'


def shard_name(name, split_name, index, count):
  """The file name of shard `index` of `count` (upstream flowers' scheme)."""
  return SHARD_NAME % (name, split_name, index, count)


def split_pattern(name, split_name):
  """The glob of every shard of a split, of any shard count."""
  return '%s_%s_*-of-*.tfrecord' % (name, split_name)


def items_to_descriptions(num_classes):
  return {
      'image': 'A color image of varying size.',
      'label': 'A single integer between 0 and %d' % (num_classes - 1),
  }


def metadata_path(dataset_dir):
  return os.path.join(dataset_dir, METADATA_FILENAME)


def _invalid(path, why):
  return ValueError('%s is not a valid %s description: %s' %
                    (path, FORMAT, why))


def read_metadata(dataset_dir):
  """The dataset description in `dataset_dir`, or None if it has none.

  Returns:
    The parsed dict (see the module docstring).

  Raises:
    ValueError: the file is there but unreadable or malformed (naming it).
  """
  path = metadata_path(dataset_dir)
  if not tf.io.gfile.exists(path):
    return None
  try:
    with tf.io.gfile.GFile(path, 'rb') as f:
      metadata = json.loads(f.read().decode('utf-8'))
  except (tf.errors.OpError, ValueError) as error:
    raise _invalid(path, ' '.join(str(error).split())) from None
  if not isinstance(metadata, dict):
    raise _invalid(path, 'not a JSON object')
  if metadata.get('format') != FORMAT:
    raise _invalid(path, 'its "format" is %r' % (metadata.get('format'),))
  name = metadata.get('name')
  num_classes = metadata.get('num_classes')
  splits = metadata.get('splits')
  if not isinstance(name, str) or not name:
    raise _invalid(path, 'no "name"')
  if not isinstance(num_classes, int) or num_classes < 1:
    raise _invalid(path, '"num_classes" must be a positive integer')
  if not isinstance(splits, dict) or not splits:
    raise _invalid(path, 'no "splits"')
  for split_name, split in splits.items():
    if (not isinstance(split, dict) or
        not isinstance(split.get('num_samples'), int) or
        not isinstance(split.get('files'), list) or
        not all(isinstance(f, str) for f in split['files'])):
      raise _invalid(path, 'split %r needs "num_samples" (an integer) and '
                     '"files" (a list of file names)' % split_name)
  return metadata


def write_metadata(path, metadata):
  """Writes `metadata` (a dict as described above) as JSON to `path`."""
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(json.dumps(metadata, indent=1, sort_keys=True) + '\n')


def get_split(name, split_name, dataset_dir, file_pattern=None, reader=None,
              metadata=None):
  """The Dataset of one split of the folder dataset `name`.

  Args:
    name: the dataset's name, as its description has it.
    split_name: a split of the description (e.g. 'train', 'validation').
    dataset_dir: the dataset folder.
    file_pattern: files to read instead of the listed ones ('%s' for the
      split name); the sizes stay the description's.
    reader: see `dataset.Dataset.reader`.
    metadata: the description, if already read (`read_metadata`).

  Returns:
    A `slimnets.datasets.dataset.Dataset` (3-channel images).

  Raises:
    ValueError: no description for `name` in dataset_dir, an unknown split,
      or a listed file that is missing.
  """
  dataset_lib.check_dataset_dir(dataset_dir, name)
  if metadata is None:
    metadata = read_metadata(dataset_dir)
  path = metadata_path(dataset_dir)
  if metadata is None:
    raise ValueError('dataset_dir %s has no %s (the description `slimnets '
                     'dataset` writes) for dataset %s' %
                     (dataset_dir, METADATA_FILENAME, name))
  if metadata['name'] != name:
    raise ValueError('dataset_dir %s holds the dataset %r (%s), not %r' %
                     (dataset_dir, metadata['name'], path, name))
  splits = metadata['splits']
  if split_name not in splits:
    raise ValueError('unknown dataset_split_name %r for dataset %s; valid '
                     'splits: %s' % (split_name, name,
                                     ', '.join(sorted(splits))))
  split = splits[split_name]
  if file_pattern:
    pattern = dataset_lib.split_file_pattern(file_pattern, split_name)
    data_sources = dataset_lib.find_files(dataset_dir, pattern)
    if not data_sources:
      raise ValueError('no files in dataset_dir %s match %s (dataset %s, '
                       'split %s)' % (dataset_dir, pattern, name, split_name))
  else:
    data_sources = [os.path.join(dataset_dir, f) for f in split['files']]
    if not data_sources:
      raise _invalid(path, 'split %r lists no files' % split_name)
    for source in data_sources:
      if not tf.io.gfile.exists(source):
        raise ValueError('dataset file %s, listed in %s, is missing' %
                         (source, path))
  num_classes = metadata['num_classes']
  keys_to_features = {
      'image/encoded': tf.io.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.io.FixedLenFeature((), tf.string,
                                            default_value='jpeg'),
      'image/class/label': tf.io.FixedLenFeature(
          [], tf.int64, default_value=0),
      'image/height': tf.io.FixedLenFeature([], tf.int64, default_value=0),
      'image/width': tf.io.FixedLenFeature([], tf.int64, default_value=0),
  }
  items_to_handlers = {
      'image': tfexample_decoder.Image(),
      'label': tfexample_decoder.Tensor('image/class/label'),
      'height': tfexample_decoder.Tensor('image/height'),
      'width': tfexample_decoder.Tensor('image/width'),
  }
  decoder = tfexample_decoder.TFExampleDecoder(keys_to_features,
                                               items_to_handlers)
  labels_to_names = None
  if dataset_utils.has_labels(dataset_dir):
    labels_to_names = dataset_utils.read_label_file(dataset_dir)
  return dataset_lib.Dataset(
      data_sources=data_sources, reader=reader, decoder=decoder,
      num_samples=split['num_samples'],
      items_to_descriptions=items_to_descriptions(num_classes),
      name=name, split_name=split_name, num_classes=num_classes,
      labels_to_names=labels_to_names)
