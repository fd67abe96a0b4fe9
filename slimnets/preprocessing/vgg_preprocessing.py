"""VGG preprocessing, as slim's research/slim/preprocessing/vgg_preprocessing.py.

The steps of [1] as slim trains and evaluates its VGG and ResNet v1 models:

  training    shorter side resized (aspect preserved, bilinear) to a random
              size in [resize_side_min, resize_side_max] (256..512), a random
              output_height x output_width crop, a random left-right flip,
              the RGB means 123.68, 116.78, 103.94 subtracted.
  evaluation  shorter side resized to resize_side_min (256), the central
              crop, the means subtracted.

Differences from slim's file, each where slim's would fail or give the
networks an input they cannot take:
  - the shorter side is never resized below min(output_height,
    output_width) (slim's crop would fail on such an image);
  - one-channel images are repeated to RGB first, and `use_grayscale` fills
    all three channels with the gray value (slim keeps one channel, which its
    own mean subtraction then refuses).

[1] Karen Simonyan, Andrew Zisserman. Very Deep Convolutional Networks for
    Large-Scale Image Recognition. arXiv:1409.1556.

Typical use:

   from slimnets.preprocessing import vgg_preprocessing
   image = vgg_preprocessing.preprocess_image(uint8_image, 224, 224,
                                              is_training=True)
"""

import tensorflow as tf

from slimnets.preprocessing import _ops

_R_MEAN = 123.68
_G_MEAN = 116.78
_B_MEAN = 103.94
MEANS = (_R_MEAN, _G_MEAN, _B_MEAN)

_RESIZE_SIDE_MIN = 256
_RESIZE_SIDE_MAX = 512


def _prepare(image, output_height, output_width, where):
  _ops.check_size(output_height, output_width, where)
  return _ops.to_rgb(_ops.check_image(image, where))


def _mean_image_subtraction(image):
  return image - tf.constant(MEANS, tf.float32)


def _resize_side(side, output_height, output_width):
  # Keeps the shorter side at least as long as the crop's shorter side.
  return tf.maximum(side, min(output_height, output_width))


def preprocess_for_train(image,
                         output_height,
                         output_width,
                         resize_side_min=_RESIZE_SIDE_MIN,
                         resize_side_max=_RESIZE_SIDE_MAX,
                         use_grayscale=False):
  """Random scale, random crop, random flip, mean subtraction.

  Args:
    image: [height, width, 1 or 3] image, uint8 (or float in [0, 255]).
    output_height: height of the output.
    output_width: width of the output.
    resize_side_min: lower bound of the random shorter side.
    resize_side_max: upper bound (inclusive) of the random shorter side.
    use_grayscale: replace the colours by their gray value (three equal
      channels before the mean subtraction).

  Returns:
    float32 [output_height, output_width, 3].
  """
  image = _prepare(image, output_height, output_width,
                   'vgg_preprocessing.preprocess_for_train')
  with tf.name_scope('vgg_train_image'):
    resize_side = tf.compat.v1.random_uniform(
        [], minval=resize_side_min, maxval=resize_side_max + 1,
        dtype=tf.int32)
    image = _ops.aspect_preserving_resize(
        image, _resize_side(resize_side, output_height, output_width))
    image = _ops.random_crop(image, output_height, output_width)
    image.set_shape([output_height, output_width, 3])
    image = _ops.to_float(image)
    if use_grayscale:
      image = _ops.grayscale(image)
    image = tf.image.random_flip_left_right(image)
    return _mean_image_subtraction(image)


def preprocess_for_eval(image,
                        output_height,
                        output_width,
                        resize_side=_RESIZE_SIDE_MIN,
                        use_grayscale=False):
  """Aspect-preserving resize, central crop, mean subtraction.

  The 'vgg' convention of `slimnets.preprocessing` runs this function.

  Args:
    image: [height, width, 1 or 3] image, uint8 (or float in [0, 255]).
    output_height: height of the output.
    output_width: width of the output.
    resize_side: the shorter side before the crop (at least
      min(output_height, output_width) is used).
    use_grayscale: replace the colours by their gray value.

  Returns:
    float32 [output_height, output_width, 3].
  """
  image = _prepare(image, output_height, output_width,
                   'vgg_preprocessing.preprocess_for_eval')
  with tf.name_scope('vgg_eval_image'):
    image = _ops.aspect_preserving_resize(
        image, _resize_side(resize_side, output_height, output_width))
    image = _ops.central_crop(image, output_height, output_width)
    image.set_shape([output_height, output_width, 3])
    image = _ops.to_float(image)
    if use_grayscale:
      image = _ops.grayscale(image)
    return _mean_image_subtraction(image)


def preprocess_image(image,
                     output_height,
                     output_width,
                     is_training=False,
                     resize_side_min=_RESIZE_SIDE_MIN,
                     resize_side_max=_RESIZE_SIDE_MAX,
                     use_grayscale=False):
  """`preprocess_for_train` or `preprocess_for_eval`.

  Args:
    image: [height, width, 1 or 3] image, uint8 (or float in [0, 255]).
    output_height: height of the output.
    output_width: width of the output.
    is_training: training augmentation when True, else the eval crop.
    resize_side_min: training: lower bound of the random shorter side;
      evaluation: the shorter side.
    resize_side_max: training: upper bound of the random shorter side;
      ignored in evaluation.
    use_grayscale: replace the colours by their gray value.

  Returns:
    float32 [output_height, output_width, 3].
  """
  if is_training:
    return preprocess_for_train(image, output_height, output_width,
                                resize_side_min, resize_side_max,
                                use_grayscale)
  return preprocess_for_eval(image, output_height, output_width,
                             resize_side_min, use_grayscale)
