"""Tests of slimnets.datasets: the factory, upstream's datasets, the decoder.

Small TFRecord files are written here (upstream's file names and Example
layouts) or by `slimnets dataset` from tiny generated image folders
(tests/_images.py); graph-mode reading runs in a tf.Graph with a
tf.compat.v1 Session and a one-shot iterator, as train and eval do.
"""

import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image as PILImage

from _images import write_image_folder
from slimnets import make_dataset
from slimnets.datasets import cifar10
from slimnets.datasets import dataset_factory
from slimnets.datasets import dataset_utils
from slimnets.datasets import flowers
from slimnets.datasets import folder
from slimnets.datasets import imagenet
from slimnets.datasets import mnist
from slimnets.datasets import tfexample_decoder


def _encode(pixels, fmt):
  buffer = io.BytesIO()
  mode = 'L' if pixels.ndim == 2 else 'RGB'
  PILImage.fromarray(pixels, mode).save(buffer, format=fmt.upper())
  return buffer.getvalue()


def _pixels(height, width, channels=3, seed=0):
  shape = (height, width) if channels == 1 else (height, width, channels)
  return np.random.RandomState(seed).randint(0, 256, shape).astype(np.uint8)


def _write_records(path, examples):
  with tf.io.TFRecordWriter(str(path)) as writer:
    for example in examples:
      writer.write(example.SerializeToString())


def _read_all(dataset, items=('image', 'label'), **kwargs):
  """Every element of dataset.read(num_epochs=1, ...) via a graph session."""
  kwargs.setdefault('shuffle', False)
  graph = tf.Graph()
  with graph.as_default():
    data = dataset.read(num_epochs=1, items=items, **kwargs)
    element = tf.compat.v1.data.make_one_shot_iterator(data).get_next()
  graph.finalize()
  values = []
  with tf.compat.v1.Session(graph=graph) as session:
    while True:
      try:
        values.append(session.run(element))
      except tf.errors.OutOfRangeError:
        return values


@pytest.fixture(scope='module')
def folder_dataset(tmp_path_factory):
  """A dataset written by `slimnets dataset` from 3 classes x 5 images."""
  root = tmp_path_factory.mktemp('folder_dataset')
  images = write_image_folder(root / 'photos', num_classes=3,
                              images_per_class=5, size=24, vary_size=True,
                              seed=1)
  out = str(root / 'data')
  summary = make_dataset.make_dataset(images.root, out, dataset_name='pets',
                                      num_validation=3, num_shards=2)
  return images, out, summary


# --- upstream constants -------------------------------------------------------

_UPSTREAM = {
    # name: (module, splits to sizes, classes, file pattern)
    'flowers': (flowers, {'train': 3320, 'validation': 350}, 5,
                'flowers_%s_*.tfrecord'),
    'cifar10': (cifar10, {'train': 50000, 'test': 10000}, 10,
                'cifar10_%s.tfrecord'),
    'mnist': (mnist, {'train': 60000, 'test': 10000}, 10,
              'mnist_%s.tfrecord'),
    'imagenet': (imagenet, {'train': 1281167, 'validation': 50000}, 1001,
                 '%s-*'),
}


@pytest.mark.parametrize('name', sorted(_UPSTREAM))
def test_upstream_constants(name):
  module, sizes, classes, pattern = _UPSTREAM[name]
  assert dataset_factory.datasets_map[name] is module
  assert module.SPLITS_TO_SIZES == sizes
  assert module.NUM_CLASSES == classes
  assert module.FILE_PATTERN == pattern
  assert set(module.ITEMS_TO_DESCRIPTIONS) >= {'image', 'label'}


def _upstream_file(name, split_name):
  return {'flowers': 'flowers_%s_00000-of-00005.tfrecord',
          'cifar10': 'cifar10_%s.tfrecord',
          'mnist': 'mnist_%s.tfrecord',
          'imagenet': '%s-00000-of-01024'}[name] % split_name


@pytest.mark.parametrize('name', sorted(_UPSTREAM))
def test_upstream_files_read(name, tmp_path):
  """Files named and laid out as upstream's converters write them."""
  module, sizes, classes, _ = _UPSTREAM[name]
  shape, fmt = {'cifar10': ((32, 32, 3), 'png'),
                'mnist': ((28, 28, 1), 'png')}.get(name, ((20, 30, 3),
                                                          'jpeg'))
  pixels = [_pixels(shape[0], shape[1], shape[2], seed=i) for i in range(3)]
  encoded = [_encode(p, fmt) for p in pixels]
  labels = [1, 0, 2]
  split_name = sorted(sizes)[0]
  _write_records(tmp_path / _upstream_file(name, split_name), [
      dataset_utils.image_to_tfexample(data, fmt.encode(), shape[0],
                                       shape[1], label)
      for data, label in zip(encoded, labels)])
  # A file of the other split must not be read.
  other = sorted(sizes)[1]
  _write_records(tmp_path / _upstream_file(name, other), [
      dataset_utils.image_to_tfexample(encoded[0], b'png', 1, 1, 0)])
  dataset = dataset_factory.get_dataset(name, split_name, str(tmp_path))
  assert dataset.name == name and dataset.split_name == split_name
  assert dataset.num_samples == sizes[split_name]
  assert dataset.num_classes == classes
  assert dataset.data_sources == [str(tmp_path /
                                      _upstream_file(name, split_name))]
  assert dataset.labels_to_names is None
  assert dataset.check() == 1
  values = _read_all(dataset)
  assert [v['label'] for v in values] == labels
  for value, data in zip(values, encoded):
    channels = 1 if name == 'mnist' else 3
    expected = tf.io.decode_image(data, channels=channels).numpy()
    assert value['image'].dtype == np.uint8
    assert value['image'].shape == expected.shape
    np.testing.assert_array_equal(value['image'], expected)
    assert value['label'].dtype == np.int64 and value['label'].shape == ()
  # labels.txt, when present, gives the names (imagenet: no download).
  dataset_utils.write_label_file({0: 'background', 1: 'tench'},
                                 str(tmp_path))
  dataset = dataset_factory.get_dataset(name, split_name, str(tmp_path))
  assert dataset.labels_to_names == {0: 'background', 1: 'tench'}


def test_fixed_shapes_in_graph(tmp_path):
  """cifar10 and mnist elements have their static shapes, graph mode."""
  for module, shape in ((cifar10, [32, 32, 3]), (mnist, [28, 28, 1])):
    name = module.FILE_PATTERN % 'test'
    channels = shape[2]
    data = _encode(_pixels(shape[0], shape[1], channels), 'png')
    _write_records(tmp_path / name, [dataset_utils.image_to_tfexample(
        data, b'png', shape[0], shape[1], 0)])
    with tf.Graph().as_default():
      dataset = module.get_split('test', str(tmp_path))
      element = tf.compat.v1.data.make_one_shot_iterator(
          dataset.read()).get_next()
      assert element['image'].shape.as_list() == shape
      assert element['image'].dtype == tf.uint8
      assert element['label'].shape.as_list() == []
      assert element['label'].dtype == tf.int64


def test_imagenet_boxes_and_text(tmp_path):
  example = dataset_utils.image_to_tfexample(
      _encode(_pixels(10, 12), 'jpeg'), b'JPEG', 10, 12, 7)
  feature = example.features.feature
  feature['image/class/text'].CopyFrom(dataset_utils.bytes_feature(b'tench'))
  boxes = {'xmin': [0.1, 0.5], 'ymin': [0.2, 0.6], 'xmax': [0.3, 0.7],
           'ymax': [0.4, 0.8]}
  for side, values in boxes.items():
    feature['image/object/bbox/' + side].CopyFrom(
        dataset_utils.float_feature(values))
  feature['image/object/class/label'].CopyFrom(
      dataset_utils.int64_feature([7, 7]))
  _write_records(tmp_path / 'validation-00000-of-00128', [example])
  dataset = dataset_factory.get_dataset('imagenet', 'validation',
                                        str(tmp_path))
  value, = _read_all(dataset, items=('image', 'label', 'label_text',
                                     'object/bbox', 'object/label'))
  assert value['image'].shape == (10, 12, 3)
  assert value['label'] == 7 and value['label_text'] == b'tench'
  np.testing.assert_allclose(value['object/bbox'],
                             [[0.2, 0.1, 0.4, 0.3], [0.6, 0.5, 0.8, 0.7]])
  np.testing.assert_array_equal(value['object/label'], [7, 7])


# --- the decoder --------------------------------------------------------------


def _parse(serialized, keys_to_features):
  return tf.io.parse_single_example(serialized, keys_to_features)


@pytest.mark.parametrize('fmt,channels', [('jpeg', 3), ('png', 3),
                                          ('png', 1), ('jpeg', 1)])
def test_image_handler_matches_tf_io(fmt, channels):
  pixels = _pixels(9, 11, 3)
  data = _encode(pixels, fmt)
  serialized = dataset_utils.image_to_tfexample(
      data, fmt.encode(), 9, 11, 4).SerializeToString()
  keys = {'image/encoded': tf.io.FixedLenFeature((), tf.string, ''),
          'image/format': tf.io.FixedLenFeature((), tf.string, 'jpeg'),
          'image/class/label': tf.io.FixedLenFeature((), tf.int64, -1)}
  decoder = tfexample_decoder.TFExampleDecoder(keys, {
      'image': tfexample_decoder.Image(channels=channels),
      'label': tfexample_decoder.Tensor('image/class/label')})
  assert decoder.list_items() == ['image', 'label']
  image, label = decoder.decode(tf.constant(serialized))
  parsed = _parse(serialized, keys)
  expected = tf.io.decode_image(parsed['image/encoded'], channels=channels)
  np.testing.assert_array_equal(image.numpy(), expected.numpy())
  assert label.numpy() == parsed['image/class/label'].numpy() == 4
  # Only the asked items, in the asked order.
  label_only, = decoder.decode(tf.constant(serialized), ['label'])
  assert label_only.numpy() == 4
  with pytest.raises(ValueError, match="unknown item 'nope'"):
    decoder.decode(tf.constant(serialized), ['nope'])


def test_image_handler_raw_and_dct_method():
  pixels = _pixels(4, 5, 1)
  raw = tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': dataset_utils.bytes_feature(pixels.tobytes()),
      'image/format': dataset_utils.bytes_feature(b'raw')}))
  png = tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': dataset_utils.bytes_feature(_encode(pixels, 'png'))}))
  keys = {'image/encoded': tf.io.FixedLenFeature((), tf.string, ''),
          'image/format': tf.io.FixedLenFeature((), tf.string, 'png')}
  decoder = tfexample_decoder.TFExampleDecoder(keys, {
      'image': tfexample_decoder.Image(shape=[4, 5, 1], channels=1)})
  for example in (raw, png):
    image, = decoder.decode(tf.constant(example.SerializeToString()))
    np.testing.assert_array_equal(image.numpy(), pixels[:, :, None])
  jpeg = _encode(_pixels(8, 8), 'jpeg')
  example = dataset_utils.image_to_tfexample(jpeg, b'jpeg', 8, 8, 0)
  decoder = tfexample_decoder.TFExampleDecoder(keys, {
      'image': tfexample_decoder.Image(dct_method='INTEGER_ACCURATE')})
  image, = decoder.decode(tf.constant(example.SerializeToString()))
  expected = tf.io.decode_jpeg(jpeg, channels=3,
                               dct_method='INTEGER_ACCURATE')
  np.testing.assert_array_equal(image.numpy(), expected.numpy())


def test_other_handlers_match_tf_io():
  example = tf.train.Example(features=tf.train.Features(feature={
      'values': dataset_utils.float_feature([1., 2., 3., 4., 5., 6.]),
      'rows': dataset_utils.int64_feature(2),
      'cols': dataset_utils.int64_feature(3),
      'ymin': dataset_utils.float_feature([0.1, 0.2]),
      'xmin': dataset_utils.float_feature([0.3, 0.4]),
      'ymax': dataset_utils.float_feature([0.5, 0.6]),
      'xmax': dataset_utils.float_feature([0.7, 0.8]),
      'word': dataset_utils.bytes_feature(b'b'),
      'empty': tf.train.Feature(float_list=tf.train.FloatList(value=[])),
  }))
  serialized = example.SerializeToString()
  keys = {'values': tf.io.VarLenFeature(tf.float32),
          'rows': tf.io.FixedLenFeature((), tf.int64),
          'cols': tf.io.FixedLenFeature((), tf.int64),
          'word': tf.io.FixedLenFeature((), tf.string),
          'empty': tf.io.VarLenFeature(tf.float32)}
  for side in ('ymin', 'xmin', 'ymax', 'xmax'):
    keys[side] = tf.io.VarLenFeature(tf.float32)
  table = tf.lookup.StaticHashTable(
      tf.lookup.KeyValueTensorInitializer(['a', 'b'], [10, 20],
                                          tf.string, tf.int64), -1)
  handlers = {
      'matrix': tfexample_decoder.Tensor('values', shape_keys=['rows',
                                                               'cols']),
      'fixed': tfexample_decoder.Tensor('values', shape=[3, 2]),
      'boxes': tfexample_decoder.BoundingBox(),
      'lookup': tfexample_decoder.LookupTensor('word', table),
      'backup': tfexample_decoder.BackupHandler(
          tfexample_decoder.Tensor('empty'), tfexample_decoder.Tensor('ymin')),
      'callback': tfexample_decoder.ItemHandlerCallback(
          ['rows', 'cols'], lambda t: t['rows'] * t['cols']),
  }
  decoder = tfexample_decoder.TFExampleDecoder(keys, handlers)
  outputs = dict(zip(decoder.list_items(),
                     decoder.decode(tf.constant(serialized))))
  parsed = _parse(serialized, keys)
  values = tf.sparse.to_dense(parsed['values']).numpy()
  np.testing.assert_array_equal(outputs['matrix'].numpy(),
                                values.reshape(2, 3))
  np.testing.assert_array_equal(outputs['fixed'].numpy(),
                                values.reshape(3, 2))
  np.testing.assert_allclose(outputs['boxes'].numpy(),
                             [[0.1, 0.3, 0.5, 0.7], [0.2, 0.4, 0.6, 0.8]])
  assert outputs['lookup'].numpy() == 20
  np.testing.assert_allclose(outputs['backup'].numpy(), [0.1, 0.2])
  assert outputs['callback'].numpy() == 6
  with pytest.raises(ValueError, match='4 keys'):
    tfexample_decoder.BoundingBox(['a', 'b'])
  with pytest.raises(ValueError, match='both shape_keys and shape'):
    tfexample_decoder.Tensor('values', shape_keys='rows', shape=[6])


def test_decoder_in_graph_mode():
  """The decoder builds and runs in a graph (tf.compat.v1), no eager ops."""
  data = _encode(_pixels(6, 7), 'png')
  serialized = dataset_utils.image_to_tfexample(data, b'png', 6, 7,
                                                3).SerializeToString()
  graph = tf.Graph()
  with graph.as_default():
    assert not tf.executing_eagerly()
    placeholder = tf.compat.v1.placeholder(tf.string, [])
    keys = {'image/encoded': tf.io.FixedLenFeature((), tf.string, ''),
            'image/format': tf.io.FixedLenFeature((), tf.string, 'jpeg'),
            'image/class/label': tf.io.FixedLenFeature((), tf.int64, -1)}
    image, label = tfexample_decoder.TFExampleDecoder(keys, {
        'image': tfexample_decoder.Image(),
        'label': tfexample_decoder.Tensor('image/class/label'),
    }).decode(placeholder, ['image', 'label'])
    assert image.shape.as_list() == [None, None, 3]
  with tf.compat.v1.Session(graph=graph) as session:
    image_value, label_value = session.run([image, label],
                                           {placeholder: serialized})
  np.testing.assert_array_equal(image_value,
                                tf.io.decode_image(data, channels=3).numpy())
  assert label_value == 3


# --- folder datasets: the round trip ------------------------------------------


def _original(path):
  with open(path, 'rb') as f:
    data = f.read()
  return data, tf.io.decode_image(data, channels=3).numpy()


def test_round_trip(folder_dataset):
  images, out, summary = folder_dataset
  assert summary['splits'] == {'train': 12, 'validation': 3}
  originals = {}
  for path, label in images.images:
    data, pixels = _original(path)
    originals[data] = (path, label, pixels)
  seen = {}
  for split_name, count in (('train', 12), ('validation', 3)):
    dataset = dataset_factory.get_dataset('pets', split_name, out)
    assert dataset.num_samples == count
    assert dataset.num_classes == 3
    assert dataset.labels_to_names == {0: 'class0', 1: 'class1',
                                       2: 'class2'}
    assert len(dataset.data_sources) == min(2, count)
    assert dataset.check(full=True) == count
    # The stored bytes are the files' own, the format their own.
    for source in dataset.data_sources:
      for record in tf.data.TFRecordDataset(source):
        feature = tf.train.Example.FromString(
            record.numpy()).features.feature
        data = feature['image/encoded'].bytes_list.value[0]
        path, label, pixels = originals[data]
        assert feature['image/format'].bytes_list.value[0] == (
            b'png' if path.endswith('.png') else b'jpeg')
        assert feature['image/class/label'].int64_list.value[0] == label
        assert feature['image/height'].int64_list.value[0] == pixels.shape[0]
        assert feature['image/width'].int64_list.value[0] == pixels.shape[1]
    values = _read_all(dataset, items=('image', 'label', 'height', 'width'))
    assert len(values) == count
    for value in values:
      matches = [o for o in originals.values()
                 if o[2].shape == value['image'].shape and
                 np.array_equal(o[2], value['image'])]
      assert len(matches) == 1
      path, label, _ = matches[0]
      assert value['label'] == label
      assert (value['height'], value['width']) == value['image'].shape[:2]
      assert path not in seen
      seen[path] = split_name
  assert len(seen) == len(images.images)
  # Stratified: the 3 validation images are one of each class.
  validation_labels = sorted(label for path, label in images.images
                             if seen[path] == 'validation')
  assert validation_labels == [0, 1, 2]


def test_read_order_and_epochs(folder_dataset):
  _, out, _ = folder_dataset
  dataset = dataset_factory.get_dataset('pets', 'train', out)

  def labels(**kwargs):
    return [int(v['label']) for v in _read_all(dataset, **kwargs)]

  in_order = labels()
  assert labels() == in_order and len(in_order) == 12
  seeded = labels(shuffle=True, seed=5)
  assert labels(shuffle=True, seed=5) == seeded
  assert sorted(seeded) == sorted(in_order)
  # Several epochs, in graph mode, with one reader.
  graph = tf.Graph()
  with graph.as_default():
    element = tf.compat.v1.data.make_one_shot_iterator(
        dataset.read(shuffle=True, num_readers=1, num_epochs=2,
                     seed=1)).get_next()
  count = 0
  with tf.compat.v1.Session(graph=graph) as session:
    try:
      while True:
        session.run(element)
        count += 1
    except tf.errors.OutOfRangeError:
      pass
  assert count == 24


def test_folder_metadata_file(folder_dataset):
  _, out, summary = folder_dataset
  metadata = folder.read_metadata(out)
  assert metadata['name'] == 'pets' and metadata['num_classes'] == 3
  assert {s: v['num_samples'] for s, v in metadata['splits'].items()} == (
      summary['splits'])
  for split in metadata['splits'].values():
    for name in split['files']:
      assert os.path.isfile(os.path.join(out, name))


def test_flowers_name_prefers_the_folder(tmp_path):
  images = write_image_folder(tmp_path / 'flower_photos', num_classes=2,
                              images_per_class=3, size=16)
  out = str(tmp_path / 'flowers')
  make_dataset.make_dataset(images.root, out, dataset_name='flowers',
                            num_validation=2)
  names = sorted(os.listdir(out))
  assert names == ['flowers_train_00000-of-00004.tfrecord',
                   'flowers_train_00001-of-00004.tfrecord',
                   'flowers_train_00002-of-00004.tfrecord',
                   'flowers_train_00003-of-00004.tfrecord',
                   'flowers_validation_00000-of-00002.tfrecord',
                   'flowers_validation_00001-of-00002.tfrecord',
                   'labels.txt', folder.METADATA_FILENAME]
  train = dataset_factory.get_dataset('flowers', 'train', out)
  assert (train.num_samples, train.num_classes) == (4, 2)
  assert len(_read_all(train)) == 4
  # Without the description, upstream's facts over the same files.
  os.remove(os.path.join(out, folder.METADATA_FILENAME))
  train = dataset_factory.get_dataset('flowers', 'train', out)
  assert (train.num_samples, train.num_classes) == (3320, 5)
  assert len(train.data_sources) == 4
  assert len(_read_all(train)) == 4
  assert train.labels_to_names == {0: 'class0', 1: 'class1'}


def test_file_pattern_argument(folder_dataset):
  _, out, _ = folder_dataset
  dataset = dataset_factory.get_dataset(
      'pets', 'train', out, file_pattern='pets_%s_00000-of-*.tfrecord')
  assert [os.path.basename(p) for p in dataset.data_sources] == [
      'pets_train_00000-of-00002.tfrecord']


# --- bad input ----------------------------------------------------------------


def test_unknown_dataset_lists_the_known(folder_dataset, tmp_path):
  _, out, _ = folder_dataset
  for directory, extra in ((out, "holds 'pets'"),
                           (str(tmp_path), folder.METADATA_FILENAME)):
    with pytest.raises(ValueError) as info:
      dataset_factory.get_dataset('cats', 'train', directory)
    message = str(info.value)
    assert "unknown dataset_name 'cats'" in message
    assert 'cifar10, flowers, imagenet, mnist' in message
    assert extra in message and '\n' not in message
  with pytest.raises(ValueError, match="unknown dataset_name 'cats'"):
    dataset_factory.get_dataset('cats', 'train', None)


def test_unknown_split_lists_the_valid(folder_dataset, tmp_path):
  _, out, _ = folder_dataset
  with pytest.raises(ValueError, match=r"unknown dataset_split_name 'test' "
                     r'for dataset pets; valid splits: train, validation$'):
    dataset_factory.get_dataset('pets', 'test', out)
  with pytest.raises(ValueError, match=r"'validation' for dataset cifar10; "
                     r'valid splits: test, train$'):
    dataset_factory.get_dataset('cifar10', 'validation', str(tmp_path))


def test_no_files_and_no_folder(tmp_path):
  with pytest.raises(ValueError, match=r'^no files in dataset_dir .* match '
                     r'flowers_train_\*\.tfrecord'):
    dataset_factory.get_dataset('flowers', 'train', str(tmp_path))
  with pytest.raises(ValueError, match='dataset_dir .*missing does not '
                     'exist'):
    dataset_factory.get_dataset('flowers', 'train',
                                str(tmp_path / 'missing'))
  with pytest.raises(ValueError, match='^dataset_dir is not set'):
    dataset_factory.get_dataset('mnist', 'train', '')


def test_check_names_empty_and_corrupt_files(tmp_path):
  good = dataset_utils.image_to_tfexample(_encode(_pixels(4, 4), 'png'),
                                          b'png', 4, 4, 0)
  _write_records(tmp_path / 'mnist_train.tfrecord', [good, good])
  dataset = mnist.get_split('train', str(tmp_path))
  assert dataset.check() == 1
  path = str(tmp_path / 'mnist_train.tfrecord')
  with pytest.raises(ValueError, match=r'has 2 records in 1 files, not the '
                     r'60000 samples'):
    dataset.check(full=True)
  cases = {
      b'': 'is empty',
      b'not a tfrecord file at all': 'is not a readable TFRecord file',
  }
  with open(path, 'rb') as f:
    whole = f.read()
  for content, message in cases.items():
    with open(path, 'wb') as f:
      f.write(content)
    with pytest.raises(ValueError) as info:
      dataset.check()
    assert str(info.value).startswith('dataset file %s ' % path)
    assert message in str(info.value) and '\n' not in str(info.value)
  # Cut in the second record: the first is fine, a full check finds it.
  with open(path, 'wb') as f:
    f.write(whole[:len(whole) - 10])
  assert dataset.check() == 1
  with pytest.raises(ValueError, match='corrupt or truncated'):
    dataset.check(full=True)
  # A record that is not an Example of slim's image format.
  _write_records(path, [tf.train.Example()])
  with pytest.raises(ValueError, match='has no image/encoded or '
                     'image/class/label'):
    dataset.check()
  with tf.io.TFRecordWriter(path) as writer:
    writer.write(b'\xff\xff\xff garbage')
  with pytest.raises(ValueError, match='is not a tf.train.Example'):
    dataset.check()


def test_check_in_graph_mode(folder_dataset):
  _, out, _ = folder_dataset
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('pets', 'validation', out)
    assert dataset.check() == 2


def test_bad_metadata_and_missing_listed_file(folder_dataset, tmp_path):
  with open(tmp_path / folder.METADATA_FILENAME, 'w') as f:
    f.write('{"format": "slimnets-dataset", "name": "x"')
  with pytest.raises(ValueError, match='is not a valid slimnets-dataset '
                     'description'):
    dataset_factory.get_dataset('x', 'train', str(tmp_path))
  _, out, _ = folder_dataset
  copy = tmp_path / 'copy'
  copy.mkdir()
  for name in (folder.METADATA_FILENAME, 'labels.txt'):
    with open(os.path.join(out, name), 'rb') as src:
      (copy / name).write_bytes(src.read())
  with pytest.raises(ValueError, match=r'dataset file .*pets_train_00000-of-'
                     r'00002.tfrecord, listed in .*, is missing'):
    dataset_factory.get_dataset('pets', 'train', str(copy))


def test_label_file_round_trip(tmp_path):
  names = {0: 'daisy', 1: 'roses: red', 2: 'tulips'}
  assert not dataset_utils.has_labels(str(tmp_path))
  dataset_utils.write_label_file(names, str(tmp_path))
  assert dataset_utils.has_labels(str(tmp_path))
  assert (tmp_path / 'labels.txt').read_text() == (
      '0:daisy\n1:roses: red\n2:tulips\n')
  assert dataset_utils.read_label_file(str(tmp_path)) == names
  (tmp_path / 'labels.txt').write_text('0:a\nbad line\n')
  with pytest.raises(ValueError, match='line 2'):
    dataset_utils.read_label_file(str(tmp_path))
