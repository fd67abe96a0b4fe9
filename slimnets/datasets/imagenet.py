"""The ImageNet ILSVRC-2012 dataset of research/slim, with bounding boxes.

1,281,167 train and 50,000 validation JPEGs in `train-*` and
`validation-*` TFRecord shards (as written by upstream's
build_imagenet_data.py), labels 1..1000 with slim's background class 0
(1001 classes). Some images carry bounding boxes ('object/bbox'), all of
the image's class: not an object detection dataset.

Class names come from labels.txt in dataset_dir when it is there
('0:background', '1:tench, Tinca tinca', ...). Upstream downloads the
synset lists from GitHub to make that file; nothing is downloaded here, so
without it `labels_to_names` is None.

Typical use:

   dataset = imagenet.get_split('validation', '/data/imagenet')
"""

import tensorflow as tf

from slimnets.datasets import dataset as dataset_lib
from slimnets.datasets import dataset_utils
from slimnets.datasets import tfexample_decoder

FILE_PATTERN = '%s-*'

SPLITS_TO_SIZES = {
    'train': 1281167,
    'validation': 50000,
}

ITEMS_TO_DESCRIPTIONS = {
    'image': 'A color image of varying height and width.',
    'label': 'The label id of the image, integer between 0 and 999',
    'label_text': 'The text of the label.',
    'object/bbox': 'A list of bounding boxes.',
    'object/label': 'A list of labels, one per each object.',
}

NUM_CLASSES = 1001

# Upstream's switch for the class names (labels.txt only, here).
LOAD_READABLE_NAMES = True


def get_split(split_name, dataset_dir, file_pattern=None, reader=None):
  """The Dataset of one ImageNet split ('train' or 'validation').

  See `flowers.get_split` for the arguments. Its decoder also has the items
  'label_text', 'object/bbox' and 'object/label' (`Dataset.read(items=...)`).
  """
  keys_to_features = {
      'image/encoded': tf.io.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.io.FixedLenFeature((), tf.string,
                                            default_value='jpeg'),
      'image/class/label': tf.io.FixedLenFeature([], dtype=tf.int64,
                                                 default_value=-1),
      'image/class/text': tf.io.FixedLenFeature([], dtype=tf.string,
                                                default_value=''),
      'image/object/bbox/xmin': tf.io.VarLenFeature(dtype=tf.float32),
      'image/object/bbox/ymin': tf.io.VarLenFeature(dtype=tf.float32),
      'image/object/bbox/xmax': tf.io.VarLenFeature(dtype=tf.float32),
      'image/object/bbox/ymax': tf.io.VarLenFeature(dtype=tf.float32),
      'image/object/class/label': tf.io.VarLenFeature(dtype=tf.int64),
  }
  items_to_handlers = {
      'image': tfexample_decoder.Image('image/encoded', 'image/format'),
      'label': tfexample_decoder.Tensor('image/class/label'),
      'label_text': tfexample_decoder.Tensor('image/class/text'),
      'object/bbox': tfexample_decoder.BoundingBox(
          ['ymin', 'xmin', 'ymax', 'xmax'], 'image/object/bbox/'),
      'object/label': tfexample_decoder.Tensor('image/object/class/label'),
  }
  decoder = tfexample_decoder.TFExampleDecoder(keys_to_features,
                                               items_to_handlers)
  dataset = dataset_lib.from_splits(
      'imagenet', split_name, dataset_dir, SPLITS_TO_SIZES, NUM_CLASSES,
      file_pattern or FILE_PATTERN, decoder, ITEMS_TO_DESCRIPTIONS,
      reader=reader)
  if LOAD_READABLE_NAMES and dataset_utils.has_labels(dataset_dir):
    dataset.labels_to_names = dataset_utils.read_label_file(dataset_dir)
  return dataset
