"""slimnets.preprocessing against hand-computed values and Keras' imagenet_utils.

The expected values are computed here with NumPy from the conventions'
definitions (slim's vgg/inception eval preprocessing, Keras'
`preprocess_input` modes), not by the code under test.
"""

import numpy as np
import pytest
import tensorflow as tf

from conftest import legacy_bilinear
from slimnets import preprocessing


def _run(fn, *args):
  graph = tf.Graph()
  with graph.as_default():
    out = fn(*args)
    with tf.compat.v1.Session(graph=graph) as sess:
      return sess.run(out)


def _image(height, width, seed=0):
  return np.random.RandomState(seed).randint(
      0, 256, (height, width, 3)).astype(np.uint8)


def test_vgg_no_resize_needed_is_crop_and_mean():
  # Shorter side already 256: slim resizes to the same size (identity), then
  # crops the centre (offsets rounded down) and subtracts the RGB means.
  image = _image(256, 301)
  out = _run(lambda: preprocessing.preprocess(image, 'vgg', 224))
  top, left = (256 - 224) // 2, (301 - 224) // 2
  expected = (image[top:top + 224, left:left + 224].astype(np.float64) -
              [123.68, 116.78, 103.94])
  assert out.shape == (224, 224, 3) and out.dtype == np.float32
  np.testing.assert_allclose(out, expected, atol=1e-4)


def test_vgg_upscales_shorter_side_to_256():
  image = _image(128, 160, seed=1)
  out = _run(lambda: preprocessing.preprocess(image, 'vgg', 224))
  resized = legacy_bilinear(image, 256, 320)  # 160 * 2 = 320
  top, left = (256 - 224) // 2, (320 - 224) // 2
  expected = resized[top:top + 224, left:left + 224] - [123.68, 116.78,
                                                        103.94]
  np.testing.assert_allclose(out, expected, atol=1e-3)


def test_inception_central_crop_and_scale():
  # 64 * 0.875 = 56: tf.image.central_crop starts at int((64 - 56) / 2) = 4;
  # a 56 output means no resampling, then [0, 255] -> [-1, 1].
  image = _image(64, 64, seed=2)
  out = _run(lambda: preprocessing.preprocess(image, 'inception', 56))
  expected = image[4:60, 4:60].astype(np.float64) / 255.0 * 2.0 - 1.0
  np.testing.assert_allclose(out, expected, atol=1e-6)


def test_inception_resizes_the_crop():
  image = _image(64, 64, seed=3)
  out = _run(lambda: preprocessing.preprocess(image, 'inception', 28))
  expected = legacy_bilinear(image[4:60, 4:60], 28, 28) / 255.0 * 2 - 1
  np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize('convention', ['caffe', 'tf', 'torch'])
def test_keras_conventions_hand_computed(convention):
  image = _image(8, 8, seed=4)
  # Same size: tf.image.resize is the identity.
  out = _run(lambda: preprocessing.preprocess(image, convention, 8))
  x = image.astype(np.float64)
  if convention == 'caffe':
    expected = x[..., ::-1] - [103.939, 116.779, 123.68]
  elif convention == 'tf':
    expected = x / 127.5 - 1.0
  else:
    expected = (x / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
  np.testing.assert_allclose(out, expected, atol=1e-4)


@pytest.mark.parametrize('convention', ['caffe', 'tf', 'torch'])
def test_normalize_matches_keras_preprocess_input(convention):
  imagenet_utils = pytest.importorskip(
      'tf_keras.applications.imagenet_utils')
  batch = np.stack([_image(5, 7, seed=s) for s in range(3)]).astype(
      np.float32)
  expected = imagenet_utils.preprocess_input(batch.copy(), mode=convention)
  out = _run(lambda: preprocessing.normalize(batch, convention))
  np.testing.assert_allclose(out, expected, atol=1e-5)


def test_for_model_uses_registry_convention():
  from nets import registry  # pylint: disable=import-outside-toplevel
  fn = preprocessing.for_model('resnet_v2_50', 32)
  assert fn.convention == registry.get_model('resnet_v2_50').preprocessing
  assert fn.convention == 'inception' and fn.image_size == 32
  fn = preprocessing.for_model('resnet_v1_50')
  assert fn.convention == 'vgg' and fn.image_size == 224


def test_bad_arguments():
  with pytest.raises(ValueError, match='convention must be one of'):
    preprocessing.normalize(np.zeros([2, 2, 3], np.uint8), 'bgr')
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='image_size'):
      preprocessing.preprocess(np.zeros([2, 2, 3], np.uint8), 'tf', 0)
    with pytest.raises(ValueError, match='rank-3'):
      preprocessing.preprocess(np.zeros([1, 2, 2, 3], np.uint8), 'tf', 2)
  with pytest.raises(ValueError, match='Name of network unknown'):
    preprocessing.for_model('resnet_v9')
