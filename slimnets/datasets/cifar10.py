"""The CIFAR-10 dataset of research/slim.

60,000 32x32 colour images of 10 classes, written by upstream's
download_and_convert_cifar10.py as PNG-encoded Examples in
`cifar10_train.tfrecord` (50,000) and `cifar10_test.tfrecord` (10,000),
with labels.txt.

Typical use:

   dataset = cifar10.get_split('test', '/data/cifar10')
"""

import tensorflow as tf

from slimnets.datasets import dataset as dataset_lib
from slimnets.datasets import dataset_utils
from slimnets.datasets import tfexample_decoder

FILE_PATTERN = 'cifar10_%s.tfrecord'

SPLITS_TO_SIZES = {'train': 50000, 'test': 10000}

NUM_CLASSES = 10

ITEMS_TO_DESCRIPTIONS = {
    'image': 'A [32 x 32 x 3] color image.',
    'label': 'A single integer between 0 and 9',
}


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """The Dataset of one CIFAR-10 split ('train' or 'test').

  See `flowers.get_split` for the arguments; images are [32, 32, 3].
  """
  keys_to_features = {
      'image/encoded': tf.io.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.io.FixedLenFeature((), tf.string,
                                            default_value='png'),
      'image/class/label': tf.io.FixedLenFeature(
          [], tf.int64, default_value=0),
  }
  items_to_handlers = {
      'image': tfexample_decoder.Image(shape=[32, 32, 3]),
      'label': tfexample_decoder.Tensor('image/class/label'),
  }
  decoder = tfexample_decoder.TFExampleDecoder(keys_to_features,
                                               items_to_handlers)
  dataset = dataset_lib.from_splits(
      'cifar10', split_name, dataset_dir, SPLITS_TO_SIZES, NUM_CLASSES,
      file_pattern or FILE_PATTERN, decoder, ITEMS_TO_DESCRIPTIONS,
      reader=reader)
  # Upstream's cifar10.py leaves the names out although its converter
  # writes labels.txt; read them when they are there, as the others do.
  if dataset_utils.has_labels(dataset_dir):
    dataset.labels_to_names = dataset_utils.read_label_file(dataset_dir)
  return dataset
