"""The MNIST dataset of research/slim.

70,000 28x28 grayscale digits, written by upstream's
download_and_convert_mnist.py as PNG-encoded Examples in
`mnist_train.tfrecord` (60,000) and `mnist_test.tfrecord` (10,000), with
labels.txt. Images are decoded with one channel, [28, 28, 1].

Typical use:

   dataset = mnist.get_split('train', '/data/mnist')
"""

import tensorflow as tf

from slimnets.datasets import dataset as dataset_lib
from slimnets.datasets import dataset_utils
from slimnets.datasets import tfexample_decoder

FILE_PATTERN = 'mnist_%s.tfrecord'

SPLITS_TO_SIZES = {'train': 60000, 'test': 10000}

NUM_CLASSES = 10

ITEMS_TO_DESCRIPTIONS = {
    'image': 'A [28 x 28 x 1] grayscale image.',
    'label': 'A single integer between 0 and 9',
}


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """The Dataset of one MNIST split ('train' or 'test').

  See `flowers.get_split` for the arguments; images are [28, 28, 1].
  """
  keys_to_features = {
      'image/encoded': tf.io.FixedLenFeature((), tf.string, default_value=''),
      # Upstream's default is 'raw', but its converter writes PNG and always
      # sets the format; an Example without one is taken as encoded bytes
      # ('raw' buffers still decode when their format says so).
      'image/format': tf.io.FixedLenFeature((), tf.string,
                                            default_value='png'),
      'image/class/label': tf.io.FixedLenFeature(
          [1], tf.int64, default_value=[0]),
  }
  items_to_handlers = {
      'image': tfexample_decoder.Image(shape=[28, 28, 1], channels=1),
      'label': tfexample_decoder.Tensor('image/class/label', shape=[]),
  }
  decoder = tfexample_decoder.TFExampleDecoder(keys_to_features,
                                               items_to_handlers)
  dataset = dataset_lib.from_splits(
      'mnist', split_name, dataset_dir, SPLITS_TO_SIZES, NUM_CLASSES,
      file_pattern or FILE_PATTERN, decoder, ITEMS_TO_DESCRIPTIONS,
      reader=reader)
  if dataset_utils.has_labels(dataset_dir):
    dataset.labels_to_names = dataset_utils.read_label_file(dataset_dir)
  return dataset
