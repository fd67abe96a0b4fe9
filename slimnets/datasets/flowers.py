"""The Flowers dataset of research/slim (TensorFlow's flower_photos).

3,670 photos of 5 flowers (daisy, dandelion, roses, sunflowers, tulips),
split by upstream's download_and_convert_flowers.py into 3,320 train and
350 validation images in `flowers_<split>_<shard>-of-00005.tfrecord`, with
labels.txt. The files of that script are read as they are.

`slimnets dataset IMAGES --dataset_name flowers --dataset_dir DIR` writes the
same file names from a local folder; its own split sizes and class count
are then read from the metadata it writes next to them (see
`slimnets.datasets.folder`; `dataset_factory.get_dataset` prefers it).

Typical use:

   dataset = flowers.get_split('train', '/data/flowers')
"""

import tensorflow as tf

from slimnets.datasets import dataset as dataset_lib
from slimnets.datasets import dataset_utils
from slimnets.datasets import tfexample_decoder

FILE_PATTERN = 'flowers_%s_*.tfrecord'

SPLITS_TO_SIZES = {'train': 3320, 'validation': 350}

NUM_CLASSES = 5

ITEMS_TO_DESCRIPTIONS = {
    'image': 'A color image of varying size.',
    'label': 'A single integer between 0 and 4',
}


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """The Dataset of one Flowers split.

  Args:
    split_name: 'train' or 'validation'.
    dataset_dir: the folder of the TFRecord files and labels.txt.
    file_pattern: the files inside dataset_dir, '%s' standing for the split
      (default FILE_PATTERN).
    reader: see `dataset.Dataset.reader` (default TFRecordDataset).

  Returns:
    A `slimnets.datasets.dataset.Dataset`.

  Raises:
    ValueError: an unknown split, no dataset_dir or no matching file.
  """
  # Python defaults where upstream has tf.zeros: a tensor made now would
  # tie the Dataset to this graph (or to eager mode), and read() may run in
  # another one.
  keys_to_features = {
      'image/encoded': tf.io.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.io.FixedLenFeature((), tf.string,
                                            default_value='jpeg'),
      'image/class/label': tf.io.FixedLenFeature(
          [], tf.int64, default_value=0),
  }
  items_to_handlers = {
      'image': tfexample_decoder.Image(),
      'label': tfexample_decoder.Tensor('image/class/label'),
  }
  decoder = tfexample_decoder.TFExampleDecoder(keys_to_features,
                                               items_to_handlers)
  dataset = dataset_lib.from_splits(
      'flowers', split_name, dataset_dir, SPLITS_TO_SIZES, NUM_CLASSES,
      file_pattern or FILE_PATTERN, decoder, ITEMS_TO_DESCRIPTIONS,
      reader=reader)
  if dataset_utils.has_labels(dataset_dir):
    dataset.labels_to_names = dataset_utils.read_label_file(dataset_dir)
  return dataset
