"""slim's preprocessing factory and modules (slimnets.preprocessing.*).

Eval paths against values computed here with NumPy from slim's definitions
(TF1 legacy bilinear resize, crops, standardization), not by the code under
test; the eval paths against the conventions of `slimnets.preprocessing`;
training augmentation by its shape, range, seeding and the flips it makes.
All images are tiny.

Typical use:

   TF_CPP_MIN_LOG_LEVEL=2 pytest -q tests/test_preprocessing_factory.py
"""

import numpy as np
import pytest
import tensorflow as tf

from conftest import legacy_bilinear
from nets import registry
from slimnets import preprocessing
from slimnets.preprocessing import inception_preprocessing
from slimnets.preprocessing import preprocessing_factory

_VGG_MEANS = np.array([123.68, 116.78, 103.94])
_GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])  # tf.image.rgb_to_grayscale

# research/slim/preprocessing/preprocessing_factory.py, written out again here
# (name -> module) so the test does not read the table it checks.
_UPSTREAM = dict(
    [('cifarnet', 'cifarnet'), ('lenet', 'lenet')] +
    [(n, 'inception') for n in (
        'inception', 'inception_v1', 'inception_v2', 'inception_v3',
        'inception_v4', 'inception_resnet_v2', 'mobilenet_v1', 'mobilenet_v2',
        'mobilenet_v2_035', 'mobilenet_v2_140', 'mobilenet_v3_small',
        'mobilenet_v3_large', 'mobilenet_v3_small_minimalistic',
        'mobilenet_v3_large_minimalistic', 'mobilenet_edgetpu',
        'mobilenet_edgetpu_075', 'nasnet_mobile', 'nasnet_large',
        'pnasnet_mobile', 'pnasnet_large')] +
    [(n, 'vgg') for n in (
        'resnet_v1_50', 'resnet_v1_101', 'resnet_v1_152', 'resnet_v1_200',
        'resnet_v2_50', 'resnet_v2_101', 'resnet_v2_152', 'resnet_v2_200',
        'vgg', 'vgg_a', 'vgg_16', 'vgg_19')])


def _image(height, width, channels=3, seed=0):
  return np.random.RandomState(seed).randint(
      0, 256, (height, width, channels)).astype(np.uint8)


def _run(build, runs=1, seed=None):
  """Builds `build()` in a new graph (graph seed `seed`), runs it `runs` times."""
  graph = tf.Graph()
  with graph.as_default():
    if seed is not None:
      tf.compat.v1.set_random_seed(seed)
    out = build()
    with tf.compat.v1.Session(graph=graph) as sess:
      values = [sess.run(out) for _ in range(runs)]
  return values[0] if runs == 1 else values


def _factory(name, is_training, image, height, width, use_grayscale=False,
             **kwargs):
  fn = preprocessing_factory.get_preprocessing(name, is_training,
                                               use_grayscale)
  return fn(tf.constant(image), height, width, **kwargs)


def _standardize(x):
  x = x.astype(np.float64)
  return (x - x.mean()) / max(x.std(), 1.0 / np.sqrt(x.size))


# ---------------------------------------------------------------- eval paths


def test_inception_eval_hand_computed():
  # 64 x 48 at 0.875: tf.image.central_crop keeps rows 4..59 (56) and
  # columns 3..44 (42); then legacy bilinear to 28 x 20 and [0, 1] -> [-1, 1].
  image = _image(64, 48, seed=1)
  out = _run(lambda: _factory('inception_v3', False, image, 28, 20))
  expected = legacy_bilinear(image[4:60, 3:45], 28, 20) / 255.0 * 2 - 1
  assert out.shape == (28, 20, 3) and out.dtype == np.float32
  np.testing.assert_allclose(out, expected, atol=1e-5)


def test_inception_eval_without_crop():
  image = _image(20, 24, seed=2)
  out = _run(lambda: _factory('inception', False, image, 20, 24,
                              crop_image=False))
  np.testing.assert_allclose(out, image / 255.0 * 2 - 1, atol=1e-6)


def test_vgg_eval_hand_computed():
  # resize_side_min=36 on 40 x 50: scale 0.9 -> 36 x 45, then the central
  # 32 x 32 (offsets 2 and 6, rounded down) minus the RGB means.
  image = _image(40, 50, seed=3)
  out = _run(lambda: _factory('vgg_16', False, image, 32, 32,
                              resize_side_min=36))
  expected = legacy_bilinear(image, 36, 45)[2:34, 6:38] - _VGG_MEANS
  assert out.shape == (32, 32, 3) and out.dtype == np.float32
  np.testing.assert_allclose(out, expected, atol=1e-3)  # values up to ~150


def test_cifarnet_eval_hand_computed():
  # 36 x 30 -> 32 x 32: rows cropped from offset 2, columns padded with one
  # zero column on the left and one on the right; then standardization.
  image = _image(36, 30, seed=4)
  out = _run(lambda: _factory('cifarnet', False, image, 32, 32,
                              add_image_summaries=False))
  padded = np.zeros((32, 32, 3))
  padded[:, 1:31] = image[2:34]
  np.testing.assert_allclose(out, _standardize(padded), atol=1e-5)


def test_lenet_hand_computed_and_grayscale_input():
  # A one-channel 28 x 28 (MNIST) image padded to 32 x 32, (x - 128) / 128,
  # repeated to three channels.
  image = _image(28, 28, channels=1, seed=5)
  for is_training in (False, True):
    out = _run(lambda: _factory('lenet', is_training, image, 32, 32))
    expected = np.full((32, 32, 1), -1.0)
    expected[2:30, 2:30] = (image - 128.0) / 128.0
    np.testing.assert_allclose(out, np.tile(expected, [1, 1, 3]), atol=1e-6)


@pytest.mark.parametrize('convention,model', [('torch', 'tv_resnet50'),
                                              ('tf', 'xception_keras')])
def test_converted_eval_hand_computed(convention, model):
  assert registry.get_model(model).preprocessing == convention
  image = _image(16, 16, seed=6)
  out = _run(lambda: _factory(model, False, image, 16, 16))
  x = image.astype(np.float64)
  if convention == 'torch':
    expected = (x / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
  else:
    expected = x / 127.5 - 1.0
  np.testing.assert_allclose(out, expected, atol=1e-5)


def test_eval_path_equals_the_conventions_for_every_model():
  # Bit for bit: both run the same code on the decoded uint8 image.
  image = _image(40, 50, seed=7)
  names = registry.list_models()

  def build():
    outs = []
    for name in names:
      outs.append((_factory(name, False, image, 32, 32),
                   preprocessing.for_model(name, 32)(tf.constant(image))))
    return outs

  for name, (ours, conventions) in zip(names, _run(build)):
    assert ours.shape == (32, 32, 3), name
    np.testing.assert_array_equal(ours, conventions, err_msg=name)


def test_conventions_take_a_height_and_width():
  image = _image(30, 40, seed=8)
  out = _run(lambda: preprocessing.preprocess(image, 'torch', (12, 20)))
  assert out.shape == (12, 20, 3)
  with pytest.raises(ValueError, match='image_size'):
    preprocessing.preprocess(image, 'torch', (12, 0))


# -------------------------------------------------------------- training


def _check_range(out, low, high):
  assert out.dtype == np.float32
  assert np.all(np.isfinite(out))
  assert out.min() >= low - 1e-5 and out.max() <= high + 1e-5, (
      out.min(), out.max())


@pytest.mark.parametrize('name,kwargs,low,high', [
    ('inception_v3', {}, -1.0, 1.0),
    ('inception_v3', {'fast_mode': False}, -1.0, 1.0),
    ('resnet_v2_50', {'add_image_summaries': False}, -1.0, 1.0),
    ('resnet_v1_50', {'resize_side_min': 40, 'resize_side_max': 60},
     -123.68, 255 - 103.94),
    ('tv_resnet50', {}, -0.485 / 0.229, 0.594 / 0.225),
    ('tv_resnet50', {'color_distortion': True, 'fast_mode': False},
     -0.485 / 0.229, 0.594 / 0.225),
    ('xception_keras', {}, -1.0, 1.0),
])
def test_training_shape_dtype_range(name, kwargs, low, high):
  image = _image(40, 50, seed=9)
  outs = _run(lambda: _factory(name, True, image, 24, 28, **kwargs), runs=3,
              seed=1)
  for out in outs:
    assert out.shape == (24, 28, 3)
    _check_range(out, low, high)


def test_cifarnet_training_is_standardized():
  image = _image(32, 32, seed=10)
  out = _run(lambda: _factory('cifarnet', True, image, 32, 32), seed=1)
  assert out.shape == (32, 32, 3) and out.dtype == np.float32
  assert abs(out.mean()) < 1e-4 and abs(out.std() - 1.0) < 1e-3


@pytest.mark.parametrize('name', ['inception', 'vgg', 'cifarnet',
                                  'tv_resnet50'])
def test_training_follows_the_graph_seed(name):
  image = _image(40, 40, seed=11)

  def build():
    return _factory(name, True, image, 32, 32)

  first = _run(build, runs=2, seed=3)
  again = _run(build, runs=2, seed=3)
  other = _run(build, runs=2, seed=4)
  # Same seed, same sequence; successive runs and another seed differ.
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a, b)
  assert not np.array_equal(first[0], first[1])
  assert not np.array_equal(first[0], other[0])


def _flip_states(outs, plain, mirrored):
  """'plain' / 'flipped' for each output, which must equal one of the two."""
  states = []
  for out in outs:
    if np.allclose(out, plain, atol=1e-4):
      states.append('plain')
    elif np.allclose(out, mirrored, atol=1e-4):
      states.append('flipped')
    else:
      raise AssertionError('neither the image nor its mirror')
  return states


def test_vgg_training_flips():
  # Resize side 32 on a 32 x 32 image and a 32 x 32 crop leave it as it is:
  # every output is the image or its mirror (minus the means), both occur.
  image = _image(32, 32, seed=12)
  outs = _run(lambda: _factory('vgg', True, image, 32, 32, resize_side_min=32,
                               resize_side_max=32), runs=16, seed=5)
  states = _flip_states([o + _VGG_MEANS for o in outs], image,
                        image[:, ::-1])
  assert set(states) == {'plain', 'flipped'}


def test_converted_training_flips():
  image = _image(16, 16, seed=13)
  outs = _run(lambda: _factory('tv_resnet50', True, image, 16, 16,
                               crop_image=False), runs=16, seed=6)
  x = image / 255.0
  norm = lambda v: (v - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
  states = _flip_states(outs, norm(x), norm(x[:, ::-1]))
  assert set(states) == {'plain', 'flipped'}


def test_inception_training_flips():
  # Left half black, right half white (gray: saturation leaves it alone,
  # brightness shifts both halves alike): a flip puts the bright half left.
  image = np.zeros([16, 16, 3], np.uint8)
  image[:, 8:] = 255
  outs = _run(lambda: _factory('inception', True, image, 16, 16,
                               crop_image=False, add_image_summaries=False),
              runs=16, seed=7)
  flipped = []
  for out in outs:
    left, right = out[:, :8], out[:, 8:]
    assert np.ptp(left) < 1e-5 and np.ptp(right) < 1e-5
    assert left.mean() != right.mean()
    flipped.append(bool(left.mean() > right.mean()))
  assert set(flipped) == {False, True}


def test_inception_image_summaries():
  image = _image(20, 20, seed=14)
  for add in (True, False):
    graph = tf.Graph()
    with graph.as_default():
      _factory('inception', True, image, 16, 16, add_image_summaries=add)
      names = [s.op.name for s in
               graph.get_collection(tf.compat.v1.GraphKeys.SUMMARIES)]
    if add:
      # slim's four, in slim's order.
      assert [n.rsplit('/', 1)[-1] for n in names] == [
          'image_with_bounding_boxes', 'images_with_distorted_bounding_box',
          'cropped_resized_image', 'final_distorted_image'], names
    else:
      assert names == []


def test_runs_inside_tf_data_map():
  # How training calls it: per example in a dataset pipeline, graph mode.
  images = np.stack([_image(24, 30, seed=s) for s in range(3)])

  def build():
    fn = preprocessing_factory.get_preprocessing('resnet_v2_50', True)
    dataset = tf.data.Dataset.from_tensor_slices(images).map(
        lambda image: fn(image, 16, 16)).batch(3)
    return tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()

  out = _run(build)
  assert out.shape == (3, 16, 16, 3)
  _check_range(out, -1.0, 1.0)


# ------------------------------------------------------------- grayscale


@pytest.mark.parametrize('name,is_training', [
    ('inception', False), ('inception', True), ('cifarnet', False),
    ('cifarnet', True), ('lenet', False), ('tv_resnet50', True),
    ('tv_resnet50', False), ('vgg', False), ('vgg', True)])
def test_grayscale_gives_three_equal_channels(name, is_training):
  image = _image(36, 36, seed=15)
  out = _run(lambda: _factory(name, is_training, image, 32, 32,
                              use_grayscale=True), seed=9)
  assert out.shape == (32, 32, 3)
  if preprocessing_factory.preprocessing_module(name) == 'vgg':
    out = out + _VGG_MEANS  # equal before the mean subtraction
  elif preprocessing_factory.preprocessing_module(name) == 'torch':
    out = out * [0.229, 0.224, 0.225] + [0.485, 0.456, 0.406]
  np.testing.assert_allclose(out[..., 0], out[..., 1], atol=1e-4)
  np.testing.assert_allclose(out[..., 0], out[..., 2], atol=1e-4)


def test_grayscale_value_is_luma():
  image = _image(32, 32, seed=16)
  out = _run(lambda: _factory('lenet', False, image, 32, 32,
                              use_grayscale=True))
  gray = image.astype(np.float64) @ _GRAY_WEIGHTS
  np.testing.assert_allclose(out[..., 0], (gray - 128) / 128, atol=2e-2 / 128)


# ------------------------------------------------------------------ names


def test_every_upstream_name_resolves_to_upstreams_module():
  models = set(registry.list_models())
  for name, module in _UPSTREAM.items():
    fn = preprocessing_factory.get_preprocessing(name)
    if name in models:
      # The registry wins (resnet_v2_*: slim's v2 weights were trained with
      # inception preprocessing, not the vgg slim's factory names).
      assert fn.preprocessing == registry.get_model(name).preprocessing
    else:
      assert fn.preprocessing == module, name
  assert preprocessing_factory.preprocessing_module('resnet_v2_50') == (
      'inception')
  assert preprocessing_factory.preprocessing_module('resnet_v1_50') == 'vgg'


def test_every_registered_model_resolves_and_builds():
  image = _image(24, 24, seed=17)
  names = registry.list_models()
  assert set(names) <= set(preprocessing_factory.preprocessing_names())

  def build():
    return [_factory(name, True, image, 16, 16, **(
        {'resize_side_min': 16, 'resize_side_max': 20}
        if preprocessing_factory.preprocessing_module(name) == 'vgg' else
        # upstream's lenet_preprocessing takes no add_image_summaries
        {} if preprocessing_factory.preprocessing_module(name) == 'lenet' else
        {'add_image_summaries': False})) for name in names]

  for name, out in zip(names, _run(build, seed=10)):
    assert out.shape == (16, 16, 3) and np.all(np.isfinite(out)), name


def test_unknown_name_raises_listing_the_known():
  with pytest.raises(ValueError) as error:
    preprocessing_factory.get_preprocessing('resnet_v9_50')
  message = str(error.value)
  assert 'resnet_v9_50' in message and 'was not recognized' in message
  assert 'inception_v3' in message and 'resnext50_32x4d' in message
  assert '\n' not in message


def test_bad_arguments():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='output_height'):
      _factory('inception', False, _image(8, 8), 0, 8)
    with pytest.raises(ValueError, match='rank-3'):
      _factory('vgg', False, np.zeros([1, 8, 8, 3], np.uint8), 8, 8)
    with pytest.raises(ValueError, match='1 or 3 channels'):
      _factory('cifarnet', False, np.zeros([8, 8, 4], np.uint8), 8, 8)
    with pytest.raises(ValueError, match='color_ordering'):
      inception_preprocessing.distort_color(tf.zeros([4, 4, 3]), 4)
