"""A dataset split: its TFRecord files, decoder and facts, read by tf.data.

The `Dataset` of tf-slim (`tf_slim.data.dataset.Dataset`: `data_sources`,
`reader`, `decoder`, `num_samples`, `items_to_descriptions`, plus
`num_classes` and `labels_to_names`), with the reading done by `tf.data`
instead of slim's queue-runner `DatasetDataProvider`, which needs the
Supervisor's threads:

* `read()` gives a `tf.data.Dataset` of {'image': uint8 [H, W, C],
  'label': int64 []}: the files are shuffled and interleaved
  `num_readers` at a time (slim's parallel reader), the records shuffled in
  a buffer (slim's common queue), all seeded when a seed is given. It works
  eagerly and in graph mode (eager execution disabled, e.g. with
  `tf.compat.v1.data.make_one_shot_iterator`).
* `check()` reads the first record of every file, so an empty, truncated or
  foreign file is reported by name before a training graph is built
  (otherwise it surfaces as a DataLossError deep in the input pipeline).

`from_splits` builds one for a dataset of fixed splits; the dataset modules
(flowers, cifar10, mnist, imagenet, folder) use it.

Typical use:

   dataset = dataset_factory.get_dataset('flowers', 'train', '/data/flowers')
   dataset.check()
   records = dataset.read(shuffle=True, seed=1)
   batch = records.map(preprocess).batch(32)
"""

import os

import tensorflow as tf

from slimnets import _errors

# What every slim image Example has (slim's image_to_tfexample).
_REQUIRED_KEYS = ('image/encoded', 'image/class/label')
# Records kept for shuffling. Slim's common queue held 256 decoded images;
# these are encoded (about 110 KB for an ImageNet JPEG, so ~110 MB).
_SHUFFLE_BUFFER = 1024


class Dataset:
  """One split of a dataset.

  Attributes:
    name: the dataset's name, e.g. 'flowers'.
    split_name: the split, e.g. 'train'.
    data_sources: the TFRecord files of the split (sorted list).
    reader: a function from a file name (string tensor) to a tf.data.Dataset
      of its serialized records (default `tf.data.TFRecordDataset`; slim's
      was a reader class such as tf.TFRecordReader, gone from TF 2).
    decoder: a `tfexample_decoder.TFExampleDecoder`.
    num_samples: the number of images of the split.
    num_classes: the number of classes (labels 0 .. num_classes - 1;
      ImageNet's 1001 include slim's background class 0).
    labels_to_names: {label: class name} from labels.txt, or None.
    items_to_descriptions: {item: description}.
  """

  def __init__(self, data_sources, reader, decoder, num_samples,
               items_to_descriptions, **kwargs):
    self.data_sources = list(data_sources)
    self.reader = reader or tf.data.TFRecordDataset
    self.decoder = decoder
    self.num_samples = num_samples
    self.items_to_descriptions = items_to_descriptions
    self.name = kwargs.pop('name', None)
    self.split_name = kwargs.pop('split_name', None)
    self.num_classes = kwargs.pop('num_classes', None)
    self.labels_to_names = kwargs.pop('labels_to_names', None)
    self.__dict__.update(kwargs)

  def __repr__(self):
    return ('Dataset(%r, split %r: %d samples, %s classes, %d files)' %
            (self.name, self.split_name, self.num_samples, self.num_classes,
             len(self.data_sources)))

  def read(self, shuffle=True, num_readers=4, num_epochs=None, seed=None,
           items=('image', 'label'), shuffle_buffer_size=None):
    """The split as a tf.data.Dataset of decoded examples.

    Args:
      shuffle: shuffle the file order (every epoch) and the records (in a
        buffer). False reads the files in order, `num_readers` of them
        interleaved record by record: the same order on every run.
      num_readers: files read at the same time (interleaved).
      num_epochs: passes over the data; None repeats forever (slim's
        default; training counts steps, not epochs). Evaluation passes 1.
      seed: the seed of both shuffles; None draws a different order on
        every run.
      items: the decoder items of each element (default image and label;
        see `decoder.list_items()` for others, e.g. imagenet's
        'object/bbox').
      shuffle_buffer_size: records in the shuffle buffer (default
        min(num_samples, 1024)).

    Returns:
      A tf.data.Dataset of {item: tensor}: 'image' uint8 [height, width,
      channels], 'label' int64 [].
    """
    items = tuple(items)
    reader = self.reader
    files = tf.data.Dataset.from_tensor_slices(
        tf.constant(self.data_sources, tf.string))
    if shuffle:
      files = files.shuffle(len(self.data_sources), seed=seed,
                            reshuffle_each_iteration=True)
    # Epochs over the files: with several readers the next epoch's first
    # files start while the last ones of this epoch finish, as in slim.
    files = files.repeat(num_epochs)
    cycle_length = max(1, min(int(num_readers), len(self.data_sources)))
    parallel = {}
    if cycle_length > 1:
      parallel = {'num_parallel_calls': cycle_length, 'deterministic': True}
    records = files.interleave(lambda path: reader(path),
                               cycle_length=cycle_length, block_length=1,
                               **parallel)
    if shuffle:
      buffer_size = shuffle_buffer_size or max(
          1, min(int(self.num_samples or _SHUFFLE_BUFFER), _SHUFFLE_BUFFER))
      records = records.shuffle(buffer_size, seed=seed,
                                reshuffle_each_iteration=True)
    decoder = self.decoder

    def decode(serialized):
      return dict(zip(items, decoder.decode(serialized, items)))

    return records.map(decode, num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True)

  def check(self, full=False):
    """Checks that every file of the split is a TFRecord file of Examples.

    Reads the first record of each file (cheap: the files are not read
    through) and parses it as a tf.train.Example with slim's image keys.
    Works with eager execution on or off (it runs a graph of its own).

    Args:
      full: read every record of every file (checksums and all), e.g.
        after a copy, and compare the count with `num_samples`.

    Returns:
      The number of records read.

    Raises:
      ValueError: one line naming the first bad file: missing, empty,
        not a TFRecord file (or truncated, or a checksum mismatch), or not
        Examples of slim's image format; with `full`, a record count other
        than `num_samples`.
    """
    graph = tf.Graph()
    with graph.as_default():
      path_in = tf.compat.v1.placeholder(tf.string, [])
      records = tf.data.TFRecordDataset(path_in)
      first = tf.compat.v1.data.make_initializable_iterator(records.take(1))
      first_record = first.get_next()
      count_all = records.reduce(tf.constant(0, tf.int64),
                                 lambda count, _: count + 1)
    total = 0
    with tf.compat.v1.Session(graph=graph) as session:
      for path in self.data_sources:
        try:
          size = tf.io.gfile.stat(path).length
        except tf.errors.OpError as error:
          raise ValueError('cannot read dataset file %s: %s' %
                           (path, _errors.one_line(error))) from None
        if not size:
          raise ValueError('dataset file %s is empty (0 bytes, no records)' %
                           path)
        try:
          session.run(first.initializer, {path_in: path})
          record = session.run(first_record)
          count = session.run(count_all, {path_in: path}) if full else 1
        except tf.errors.OutOfRangeError:
          raise ValueError('dataset file %s has no records' % path) from None
        except tf.errors.OpError as error:
          raise ValueError('dataset file %s is not a readable TFRecord file '
                           '(corrupt or truncated): %s' %
                           (path, _errors.one_line(error))) from None
        self._check_example(path, record)
        total += int(count)
    if full and self.num_samples is not None and total != self.num_samples:
      raise ValueError('dataset %s split %s has %d records in %d files, not '
                       'the %d samples it should have (dataset_dir %s)' %
                       (self.name, self.split_name, total,
                        len(self.data_sources), self.num_samples,
                        os.path.dirname(self.data_sources[0])))
    return total

  @staticmethod
  def _check_example(path, record):
    try:
      example = tf.train.Example.FromString(record)
    except Exception:  # pylint: disable=broad-except
      # protobuf's DecodeError, whose module depends on the backend.
      raise ValueError('dataset file %s: its first record is not a '
                       'tf.train.Example' % path) from None
    missing = [key for key in _REQUIRED_KEYS
               if key not in example.features.feature]
    if missing:
      raise ValueError('dataset file %s: its first record has no %s (not an '
                       'image Example of slim\'s format)' %
                       (path, ' or '.join(missing)))


def find_files(dataset_dir, pattern):
  """The sorted files matching `pattern` inside `dataset_dir`."""
  return sorted(tf.io.gfile.glob(os.path.join(dataset_dir, pattern)))


def check_dataset_dir(dataset_dir, name=None):
  """Raises ValueError unless `dataset_dir` is set and is a folder."""
  if not dataset_dir:
    raise ValueError('dataset_dir is not set: it names the folder of the '
                     '%sTFRecord files' % ('%s ' % name if name else ''))
  if not tf.io.gfile.isdir(dataset_dir):
    raise ValueError('dataset_dir %s %s' % (
        dataset_dir, 'is not a folder' if tf.io.gfile.exists(dataset_dir)
        else 'does not exist'))


def split_file_pattern(file_pattern, split_name):
  """`file_pattern` with the split name put in for '%s' (if it has one)."""
  return file_pattern % split_name if '%s' in file_pattern else file_pattern


def from_splits(name, split_name, dataset_dir, splits_to_sizes, num_classes,
                file_pattern, decoder, items_to_descriptions,
                labels_to_names=None, reader=None):
  """The `Dataset` of one split of a dataset whose splits are fixed.

  Args:
    name: the dataset's name (for the messages).
    split_name: the split asked for.
    dataset_dir: the folder of the files.
    splits_to_sizes: {split name: number of samples}.
    num_classes: the class count.
    file_pattern: the files of a split inside dataset_dir, with '%s' for
      the split name (upstream's convention; a pattern without '%s' is used
      as it is).
    decoder: the TFExampleDecoder.
    items_to_descriptions: {item: description}.
    labels_to_names: {label: name} or None.
    reader: see `Dataset.reader` (None: TFRecordDataset).

  Returns:
    A Dataset.

  Raises:
    ValueError: (one line) an unknown split (naming the valid ones), no
      dataset_dir, or no file matching.
  """
  if split_name not in splits_to_sizes:
    raise ValueError('unknown dataset_split_name %r for dataset %s; valid '
                     'splits: %s' % (split_name, name,
                                     ', '.join(sorted(splits_to_sizes))))
  check_dataset_dir(dataset_dir, name)
  pattern = split_file_pattern(file_pattern, split_name)
  data_sources = find_files(dataset_dir, pattern)
  if not data_sources:
    raise ValueError('no files in dataset_dir %s match %s (dataset %s, split '
                     '%s)' % (dataset_dir, pattern, name, split_name))
  return Dataset(data_sources=data_sources, reader=reader, decoder=decoder,
                 num_samples=splits_to_sizes[split_name],
                 items_to_descriptions=items_to_descriptions,
                 name=name, split_name=split_name, num_classes=num_classes,
                 labels_to_names=labels_to_names)
