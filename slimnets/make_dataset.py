"""`slimnets dataset`: a folder of class folders of images to slim TFRecords.

The offline counterpart of research/slim's download_and_convert_*.py (which
need the internet): IMAGES_DIR holds one sub-folder per class,

  IMAGES_DIR/daisy/001.jpg, IMAGES_DIR/daisy/002.png, IMAGES_DIR/roses/...

(images may sit deeper inside a class folder; hidden files and folders are
skipped). Every .jpg/.jpeg/.png file is decoded once as a check: an
unreadable one, or one that is neither JPEG nor PNG inside, is reported on
stderr and skipped. The images are split into train and validation
(stratified: the classes take turns filling the validation split, each in
a seeded random order), and written to --dataset_dir as

  <name>_train_00000-of-00005.tfrecord ...       slim's image Examples
  <name>_validation_00000-of-00005.tfrecord ...  (upstream flowers' names)
  labels.txt                                     '0:daisy' lines, sorted names
  slimnets_dataset.json                          split sizes, class count, files

Each Example holds the file's own encoded bytes (a PNG stays a PNG, as
upstream keeps its JPEGs), with 'image/format' b'jpeg' or b'png',
'image/class/label', 'image/height' and 'image/width'. Records are shuffled
(seeded) across the shards. Train, eval and `dataset_factory.get_dataset`
then read it by name: `--dataset_name=<name> --dataset_dir=DIR`. With
`--dataset_name flowers` the files have upstream's Flowers names, and the
sizes and classes come from slimnets_dataset.json (the folder's, not
upstream's 3320/350 and 5).

All the files are written in a temporary folder inside --dataset_dir and
published together at the end: nothing is left behind after an error,
SIGINT or SIGTERM, and an existing dataset there is only replaced with
--force (its old shards removed). See docs/datasets.md.

Typical use:

   slimnets dataset photos/ --dataset_dir /data/pets
   slimnets dataset flower_photos/ --dataset_dir /data/flowers \\
       --dataset_name flowers --num_validation 350
   slimnets train --dataset_name pets --dataset_dir /data/pets ...

From Python: `make_dataset(images_dir, dataset_dir, ...)` returns a summary.
"""

import argparse
import os
import random
import re
import sys

from slimnets import _errors
from slimnets import _flags
from slimnets import output_files

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')
SPLITS = ('train', 'validation')
DEFAULT_VALIDATION_FRACTION = 0.1
DEFAULT_NUM_SHARDS = 5  # upstream flowers' _NUM_SHARDS
DEFAULT_SEED = 0  # upstream flowers' _RANDOM_SEED
_NAME = re.compile(r'^[A-Za-z0-9][\w.-]*$')
_PROG = 'slimnets dataset'
# Kept in the same names as slimnets.datasets.folder, without importing it
# (it imports TensorFlow; a command module must not at import time).
_METADATA_FILENAME = 'slimnets_dataset.json'
_LABELS_FILENAME = 'labels.txt'


class DatasetError(ValueError):
  """Bad input to `make_dataset` (one line)."""


# --- the input folder ---------------------------------------------------------


def _visible(name):
  return not name.startswith('.')


def _is_image_name(name):
  return name.lower().endswith(IMAGE_EXTENSIONS)


def find_classes(images_dir, exclude=None, log=None):
  """The class folders of `images_dir` and their image files.

  Args:
    images_dir: the folder of class sub-folders.
    exclude: a real path of a folder to leave out (the output folder when
      it is inside images_dir).
    log: stream for warnings (class folders without images, images outside
      any class folder); None for none.

  Returns:
    [(class name, [image paths, sorted])] sorted by class name, only the
    classes with at least one image file.

  Raises:
    DatasetError: images_dir is not a folder, has no images, or fewer than
      2 classes with images.
  """
  if not os.path.isdir(images_dir):
    raise DatasetError('IMAGES_DIR %s %s' % (
        images_dir, 'is not a folder' if os.path.exists(images_dir)
        else 'does not exist'))
  classes, loose, empty = [], 0, []
  for name in sorted(os.listdir(images_dir)):
    path = os.path.join(images_dir, name)
    if not _visible(name):
      continue
    if not os.path.isdir(path):
      loose += _is_image_name(name)
      continue
    if exclude and os.path.realpath(path) == exclude:
      continue
    images = []
    for root, dirs, files in os.walk(path, followlinks=True):
      dirs[:] = sorted(d for d in dirs if _visible(d))
      images.extend(os.path.join(root, f) for f in sorted(files)
                    if _visible(f) and _is_image_name(f))
    if images:
      classes.append((name, images))
    else:
      empty.append(name)
  extensions = '/'.join(e[1:] for e in IMAGE_EXTENSIONS)
  if log is not None:
    if loose:
      _warn(log, None, '%d image%s directly in %s (not in a class folder) '
            'ignored' % (loose, 's' if loose > 1 else '', images_dir))
    for name in empty:
      _warn(log, None, 'class folder %s has no images (%s): not a class' %
            (os.path.join(images_dir, name), extensions))
  if not classes:
    raise DatasetError('no images (%s) in class sub-folders of %s: IMAGES_DIR '
                       'needs one sub-folder of images per class' %
                       (extensions, images_dir))
  if len(classes) < 2:
    raise DatasetError('%s has images of 1 class only (%s); a classification '
                       'dataset needs at least 2 class sub-folders' %
                       (images_dir, classes[0][0]))
  return classes


def image_format(data):
  """'jpeg' or 'png' from the encoded bytes' signature, else None."""
  if data[:3] == b'\xff\xd8\xff':
    return 'jpeg'
  if data[:8] == b'\x89PNG\r\n\x1a\n':
    return 'png'
  return None


class _Decoder:
  """Decodes encoded images with TensorFlow, as the dataset reader will.

  A small graph and session of its own, so it runs the same with eager
  execution on or off.
  """

  def __init__(self):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    self._tf = tf
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._data = tf.compat.v1.placeholder(tf.string, [])
      self._shape = tf.shape(tf.io.decode_image(
          self._data, channels=3, expand_animations=False))
    self._session = tf.compat.v1.Session(graph=self._graph)

  def shape(self, data):
    """(height, width); raises tf.errors.OpError for an undecodable image."""
    height, width, _ = self._session.run(self._shape, {self._data: data})
    return int(height), int(width)

  def close(self):
    self._session.close()


def _warn(log, bar, message):
  line = '%s: warning: %s' % (_PROG, message)
  if bar is not None:
    bar.write(line, file=log)
  else:
    print(line, file=log, flush=True)


def _progress(total, enabled, desc):
  if not enabled:
    return None
  try:
    import tqdm  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  return tqdm.tqdm(total=total, unit='img', file=sys.stderr, desc=desc,
                   dynamic_ncols=True, smoothing=0.1)


def check_images(classes, progress=False, log=None):
  """Decodes every image once; returns the readable ones.

  Args:
    classes: `find_classes`' list.
    progress: show a tqdm bar on stderr.
    log: stream for the 'skipped' lines (default stderr).

  Returns:
    (images, skipped): images a list of (path, label, format, height,
    width) in class order; skipped the number of images left out.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  log = log or sys.stderr
  total = sum(len(paths) for _, paths in classes)
  bar = _progress(total, progress, 'checking')
  decoder = _Decoder()
  images, skipped = [], 0
  try:
    for label, (_, paths) in enumerate(classes):
      for path in paths:
        reason = None
        try:
          with open(path, 'rb') as f:
            data = f.read()
        except OSError as error:
          reason = os.strerror(error.errno) if error.errno else str(error)
        else:
          fmt = image_format(data)
          if fmt is None:
            reason = 'not a JPEG or PNG image'
          else:
            try:
              height, width = decoder.shape(data)
            except tf.errors.OpError as error:
              reason = _errors.one_line(error)
        if reason is None:
          images.append((path, label, fmt, height, width))
        else:
          skipped += 1
          _warn(log, bar, 'skipped %s: %s' % (path, reason))
        if bar is not None:
          bar.update(1)
  finally:
    decoder.close()
    if bar is not None:
      bar.close()
  return images, skipped


def _drop_unread_classes(classes, images, log):
  """Leaves out the classes none of whose images could be read.

  Returns:
    (classes, images) with the labels renumbered 0.. over the classes kept,
    so that labels.txt and num_classes have no class without images.
  """
  kept = sorted({image[1] for image in images})
  if len(kept) == len(classes):
    return classes, images
  for label, (class_name, _) in enumerate(classes):
    if label not in kept:
      _warn(log, None, 'class %s has no readable image: not a class' %
            class_name)
  new_label = {old: new for new, old in enumerate(kept)}
  return ([classes[old] for old in kept],
          [(path, new_label[label], fmt, height, width)
           for path, label, fmt, height, width in images])


# --- splitting ----------------------------------------------------------------


def num_validation_images(total, validation_fraction=None,
                          num_validation=None):
  """The validation count for `total` images (see the flags' help).

  Raises:
    DatasetError: a count out of range, or no image left for train.
  """
  if num_validation is not None:
    if num_validation < 0:
      raise DatasetError('--num_validation must be >= 0, got %d' %
                         num_validation)
    count = num_validation
  else:
    fraction = (DEFAULT_VALIDATION_FRACTION if validation_fraction is None
                else validation_fraction)
    if not 0 <= fraction < 1:
      raise DatasetError('--validation_fraction must be in [0, 1), got %g' %
                         fraction)
    # At least one image when a fraction is asked, so the split exists.
    count = max(1, int(round(fraction * total))) if fraction > 0 else 0
  if count >= total:
    raise DatasetError('%d validation images out of %d readable images '
                       'leaves none for train' % (count, total))
  return count


def split_images(images, num_validation, seed):
  """Splits `check_images`' list into {'train': [...], 'validation': [...]}.

  Each class's images are shuffled (seeded), then the classes take turns
  (in label order) giving one image to validation until it has
  `num_validation`: every class is in validation as far as the count
  allows. Each split is then shuffled, so its shards mix the classes.
  """
  rng = random.Random(seed)
  by_class = {}
  for image in images:
    by_class.setdefault(image[1], []).append(image)
  queues = []
  for label in sorted(by_class):
    members = list(by_class[label])
    rng.shuffle(members)
    queues.append(members)
  validation = []
  while len(validation) < num_validation:
    for members in queues:
      if members and len(validation) < num_validation:
        validation.append(members.pop())
  train = [image for members in queues for image in members]
  rng.shuffle(train)
  rng.shuffle(validation)
  splits = {'train': train}
  if validation:
    splits['validation'] = validation
  return splits


def _shard_ranges(count, num_shards):
  """[start, end) of each shard: min(num_shards, count) near-equal shards."""
  shards = min(num_shards, count)
  base, extra = divmod(count, shards)
  ranges, start = [], 0
  for index in range(shards):
    end = start + base + (index < extra)
    ranges.append((start, end))
    start = end
  return ranges


# --- the output folder --------------------------------------------------------


def _shard_name(name, split_name, index, count):
  return '%s_%s_%05d-of-%05d.tfrecord' % (name, split_name, index, count)


def existing_outputs(dataset_dir, name):
  """Files of a dataset `name` (any shard count) already in `dataset_dir`."""
  try:
    entries = sorted(os.listdir(dataset_dir))
  except OSError:
    return []
  shard = re.compile(r'^%s_(%s)_\d{5}-of-\d{5}\.tfrecord$' %
                     (re.escape(name), '|'.join(SPLITS)))
  return [os.path.join(dataset_dir, entry) for entry in entries
          if entry in (_LABELS_FILENAME, _METADATA_FILENAME) or
          shard.match(entry)]


def default_name(images_dir):
  """The dataset name of a folder: its base name, made a safe file prefix."""
  base = os.path.basename(os.path.normpath(os.path.abspath(images_dir)))
  name = re.sub(r'[^\w.-]', '_', base).lstrip('._-')
  return name or 'dataset'


def _write_split(temp, name, split_name, images, num_shards, bar):
  """Writes the shards of one split in `temp`; returns their file names."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from slimnets.datasets import dataset_utils  # pylint: disable=import-outside-toplevel
  ranges = _shard_ranges(len(images), num_shards)
  names = []
  for index, (start, end) in enumerate(ranges):
    shard = _shard_name(name, split_name, index, len(ranges))
    with tf.io.TFRecordWriter(temp.file(shard)) as writer:
      for path, label, fmt, height, width in images[start:end]:
        with open(path, 'rb') as f:
          data = f.read()
        example = dataset_utils.image_to_tfexample(
            data, fmt.encode('ascii'), height, width, label)
        writer.write(example.SerializeToString())
        if bar is not None:
          bar.update(1)
    names.append(shard)
  return names


def make_dataset(images_dir, dataset_dir, dataset_name=None,
                 validation_fraction=None, num_validation=None,
                 num_shards=DEFAULT_NUM_SHARDS, seed=DEFAULT_SEED,
                 force=False, progress=False, log=None):
  """Converts a folder of class sub-folders of images (see module docstring).

  Args:
    images_dir: the folder of class sub-folders.
    dataset_dir: the output folder (created if missing).
    dataset_name: the file-name prefix and the name to read it by (default
      `default_name(images_dir)`).
    validation_fraction: share of the images for validation (default 0.1;
      at least 1 image when > 0; 0: no validation split).
    num_validation: an exact validation count instead (0: none).
    num_shards: shards per split (fewer when a split has fewer images).
    seed: the seed of the split and of the record order.
    force: replace a dataset already in dataset_dir.
    progress: tqdm bars on stderr.
    log: stream for warnings (default stderr).

  Returns:
    A summary dict: 'name', 'dataset_dir', 'num_classes', 'class_names',
    'splits' ({split: number of images}), 'files' (paths written),
    'skipped' (unreadable images).

  Raises:
    DatasetError: bad input (one line).
    OSError: the output cannot be written (output_files.OutputError, or
      FileExistsError when another run published a dataset meanwhile).
  """
  log = log or sys.stderr
  name = dataset_name or default_name(images_dir)
  if not _NAME.match(name):
    raise DatasetError('--dataset_name %r: use letters, digits, _, - and . '
                       '(it starts every file name)' % name)
  if num_shards < 1:
    raise DatasetError('--num_shards must be >= 1, got %d' % num_shards)
  if validation_fraction is not None and num_validation is not None:
    raise DatasetError('give --validation_fraction or --num_validation, not '
                       'both')
  if validation_fraction is not None and not 0 <= validation_fraction < 1:
    raise DatasetError('--validation_fraction must be in [0, 1), got %g' %
                       validation_fraction)
  if not dataset_dir:
    raise DatasetError('--dataset_dir is required (the output folder)')
  if os.path.exists(dataset_dir) and not os.path.isdir(dataset_dir):
    raise DatasetError('--dataset_dir %s is not a folder' % dataset_dir)
  existing = existing_outputs(dataset_dir, name)
  if existing and not force:
    raise DatasetError('--dataset_dir %s already has dataset files (%s); '
                       'pass --force to replace them' %
                       (dataset_dir, ', '.join(os.path.basename(p)
                                               for p in existing[:3]) +
                        (', ...' if len(existing) > 3 else '')))
  classes = find_classes(images_dir, exclude=os.path.realpath(dataset_dir),
                         log=log)
  created = not os.path.isdir(dataset_dir)
  try:
    if created:
      with output_files.writing(dataset_dir):
        os.makedirs(dataset_dir)
    # Before the slow part: a folder we cannot write to fails now.
    output_files.check_writable(dataset_dir)
    images, skipped = check_images(classes, progress, log)
    if not images:
      raise DatasetError('none of the %d images in %s could be read' %
                         (skipped, images_dir))
    classes, images = _drop_unread_classes(classes, images, log)
    if len(classes) < 2:
      raise DatasetError('%s has readable images of 1 class only (%s); a '
                         'classification dataset needs at least 2' %
                         (images_dir, classes[0][0]))
    count = num_validation_images(len(images), validation_fraction,
                                  num_validation)
    splits = split_images(images, count, seed)
    return _write(name, dataset_dir, images_dir, classes, splits, skipped,
                  num_shards, seed, force, progress)
  except BaseException:
    if created:
      try:
        os.rmdir(dataset_dir)  # only if still empty
      except OSError:
        pass
    raise


def _write(name, dataset_dir, images_dir, classes, splits, skipped,
           num_shards, seed, force, progress):
  """Writes everything in a TempDir and publishes it; returns the summary."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from slimnets.datasets import dataset_utils  # pylint: disable=import-outside-toplevel
  from slimnets.datasets import folder  # pylint: disable=import-outside-toplevel
  total = sum(len(images) for images in splits.values())
  class_names = [class_name for class_name, _ in classes]
  temp = output_files.TempDir(dataset_dir, 'dataset-' + name)
  bar = _progress(total, progress, 'writing')
  try:
    with output_files.writing(dataset_dir):
      try:
        files = {}
        for split_name in SPLITS:
          if split_name in splits:
            files[split_name] = _write_split(temp, name, split_name,
                                             splits[split_name], num_shards,
                                             bar)
        dataset_utils.write_label_file(dict(enumerate(class_names)),
                                       temp.path)
        formats = {}
        for images in splits.values():
          for image in images:
            formats[image[2]] = formats.get(image[2], 0) + 1
        folder.write_metadata(temp.file(folder.METADATA_FILENAME), {
            'format': folder.FORMAT,
            'version': folder.VERSION,
            'name': name,
            'num_classes': len(class_names),
            'splits': {split_name: {'num_samples': len(splits[split_name]),
                                    'files': files[split_name]}
                       for split_name in files},
            'image_formats': formats,
            'skipped': skipped,
            'seed': seed,
            'source': os.path.abspath(images_dir),
        })
      except tf.errors.OpError as error:
        raise output_files.write_error(dataset_dir, error) from None
    if bar is not None:
      bar.close()
      bar = None
    old = existing_outputs(dataset_dir, name) if force else []
    shard_names = [shard for split_name in SPLITS
                   for shard in files.get(split_name, [])]
    # Shards first (train shard 0, which every run writes, decides a race
    # between two runs), the description last: once it is there, all is.
    names = shard_names + [_LABELS_FILENAME, _METADATA_FILENAME]
    published = temp.publish(
        [(temp.file(n), os.path.join(dataset_dir, n)) for n in names], force)
    for stale in set(old) - set(published):
      try:
        os.remove(stale)  # Shards of the replaced dataset beyond ours.
      except OSError:
        pass
  finally:
    if bar is not None:
      bar.close()
    temp.remove()
  return {'name': name, 'dataset_dir': dataset_dir,
          'num_classes': len(class_names), 'class_names': class_names,
          'splits': {s: len(v) for s, v in splits.items()},
          'shards': {s: len(v) for s, v in files.items()},
          'files': published, 'skipped': skipped}


# --- command line -------------------------------------------------------------


def _int(text):
  try:
    return int(text)
  except ValueError:
    raise argparse.ArgumentTypeError('invalid int value: %r' % text) from None


def _float(text):
  try:
    return float(text)
  except ValueError:
    raise argparse.ArgumentTypeError('invalid float value: %r' %
                                     text) from None


def add_parser(subparsers):
  """Adds `slimnets dataset` to `subparsers` (sets its `run` default)."""
  parser = subparsers.add_parser(
      'dataset', help='convert a folder of class sub-folders of images to '
      "slim's TFRecord format",
      description=__doc__.split('Typical use:')[0],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('images_dir', metavar='IMAGES_DIR',
                      help='a folder with one sub-folder of images '
                      '(.jpg/.jpeg/.png) per class; the sorted sub-folder '
                      'names are the classes 0, 1, ...')
  _flags.add(parser, 'dataset_dir', None,
             'the output folder (required; created if missing)')
  _flags.add(parser, 'dataset_name', None,
             "the dataset's name: the prefix of its files and the "
             '--dataset_name of train/eval (default: the base name of '
             "IMAGES_DIR; 'flowers' gives upstream's Flowers file names)")
  _flags.add(parser, 'validation_fraction', None,
             'share of the images for the validation split (default %g, '
             'at least 1 image; 0: train only)' % DEFAULT_VALIDATION_FRACTION,
             type_=_float)
  _flags.add(parser, 'num_validation', None,
             'an exact number of validation images instead (upstream '
             'flowers: 350; 0: train only)', type_=_int)
  _flags.add(parser, 'num_shards', DEFAULT_NUM_SHARDS,
             'TFRecord files per split (fewer when a split has fewer '
             'images; default %d, as upstream flowers)' % DEFAULT_NUM_SHARDS,
             type_=_int)
  _flags.add(parser, 'seed', DEFAULT_SEED,
             'the seed of the split and of the record order (default %d)' %
             DEFAULT_SEED, type_=_int)
  parser.add_argument('--force', action='store_true',
                      help='replace a dataset already in --dataset_dir')
  parser.add_argument('--no-progress', '--no_progress', action='store_true',
                      dest='no_progress',
                      help='no progress bar (there is none either when '
                      'stderr is not a terminal)')
  parser.set_defaults(run=run)


def run(args):
  """Runs `slimnets dataset`; returns the exit status."""
  from slimnets import cli  # pylint: disable=import-outside-toplevel
  if not args.dataset_dir:
    raise cli.CommandError('--dataset_dir is required (the output folder)')
  progress = not args.no_progress and sys.stderr.isatty()
  try:
    summary = make_dataset(
        args.images_dir, args.dataset_dir, dataset_name=args.dataset_name,
        validation_fraction=args.validation_fraction,
        num_validation=args.num_validation, num_shards=args.num_shards,
        seed=args.seed, force=args.force, progress=progress)
  except (DatasetError, OSError) as error:
    raise cli.CommandError(_errors.one_line(error)) from None
  parts = ['%s %d image%s (%d shard%s)' % (
      split_name, count, 's' if count != 1 else '',
      summary['shards'][split_name],
      's' if summary['shards'][split_name] != 1 else '')
           for split_name, count in summary['splits'].items()]
  print('wrote dataset %s to %s: %d classes, %s%s' % (
      summary['name'], summary['dataset_dir'], summary['num_classes'],
      ', '.join(parts),
      '; %d unreadable image%s skipped' % (
          summary['skipped'], 's' if summary['skipped'] != 1 else '')
      if summary['skipped'] else ''))
  print('read it with: --dataset_name=%s --dataset_dir=%s' %
        (summary['name'], summary['dataset_dir']))
  return 0
