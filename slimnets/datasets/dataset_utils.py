"""Helpers for writing and describing slim's TFRecord datasets.

The names of research/slim/datasets/dataset_utils.py: the feature makers,
`image_to_tfexample` (the Example layout every slim image dataset uses) and
the labels file (`labels.txt`, one '<label>:<class name>' line per class).
The download helpers are left out: nothing can be downloaded here, and
`slimnets dataset` converts a local folder instead.

Typical use:

   example = dataset_utils.image_to_tfexample(jpeg_bytes, b'jpeg', 480, 640,
                                              class_id=3)
   writer.write(example.SerializeToString())
   dataset_utils.write_label_file({0: 'daisy', 1: 'roses'}, dataset_dir)
   names = dataset_utils.read_label_file(dataset_dir)  # {0: 'daisy', ...}
"""

import os

LABELS_FILENAME = 'labels.txt'


def _tf():
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return tf


def int64_feature(values):
  """A tf.train.Feature of int64s (a scalar or a list)."""
  if not isinstance(values, (tuple, list)):
    values = [values]
  tf = _tf()
  return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def bytes_feature(values):
  """A tf.train.Feature of one byte string (str is UTF-8 encoded)."""
  if isinstance(values, str):
    values = values.encode('utf-8')
  tf = _tf()
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=[values]))


def float_feature(values):
  """A tf.train.Feature of floats (a scalar or a list)."""
  if not isinstance(values, (tuple, list)):
    values = [values]
  tf = _tf()
  return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def image_to_tfexample(image_data, image_format, height, width, class_id):
  """The tf.train.Example of one image in slim's layout.

  Args:
    image_data: the encoded image (bytes).
    image_format: its format, e.g. b'jpeg' or b'png' (str accepted).
    height: the image height in pixels.
    width: the image width in pixels.
    class_id: the integer label.

  Returns:
    A tf.train.Example with 'image/encoded', 'image/format',
    'image/class/label', 'image/height' and 'image/width'.
  """
  tf = _tf()
  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': bytes_feature(image_data),
      'image/format': bytes_feature(image_format),
      'image/class/label': int64_feature(class_id),
      'image/height': int64_feature(height),
      'image/width': int64_feature(width),
  }))


def write_label_file(labels_to_class_names, dataset_dir,
                     filename=LABELS_FILENAME):
  """Writes '<label>:<class name>' lines, in the dict's order.

  Args:
    labels_to_class_names: {int label: class name}.
    dataset_dir: the folder of the file.
    filename: the file's name in it.
  """
  with _tf().io.gfile.GFile(os.path.join(dataset_dir, filename), 'w') as f:
    for label, class_name in labels_to_class_names.items():
      f.write('%d:%s\n' % (label, class_name))


def has_labels(dataset_dir, filename=LABELS_FILENAME):
  """Whether `dataset_dir` has the labels file."""
  return _tf().io.gfile.exists(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir, filename=LABELS_FILENAME):
  """Reads the labels file.

  Args:
    dataset_dir: the folder of the file.
    filename: the file's name in it.

  Returns:
    {int label: class name}.

  Raises:
    ValueError: a line that is not '<integer>:<name>' (naming the file and
      line).
    tf.errors.OpError: the file cannot be read (NotFoundError...).
  """
  path = os.path.join(dataset_dir, filename)
  labels_to_class_names = {}
  with _tf().io.gfile.GFile(path, 'rb') as f:
    text = f.read().decode('utf-8')
  for number, line in enumerate(text.split('\n'), 1):
    line = line.rstrip('\r')
    if not line:
      continue
    label, sep, name = line.partition(':')
    try:
      if not sep:
        raise ValueError
      labels_to_class_names[int(label)] = name
    except ValueError:
      raise ValueError('%s line %d: expected "<label>:<class name>", got '
                       '%r' % (path, number, line[:80])) from None
  return labels_to_class_names
