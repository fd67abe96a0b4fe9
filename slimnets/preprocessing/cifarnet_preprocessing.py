"""CIFAR-10 preprocessing, as slim's
research/slim/preprocessing/cifarnet_preprocessing.py.

  training    pad 4 pixels of zeros on each side, a random output_height x
              output_width crop, a random left-right flip, random brightness
              (max delta 63 on [0, 255]) and contrast (0.2..1.8), then
              `tf.image.per_image_standardization`.
  evaluation  central crop (or zero pad) to the output size
              (`tf.image.resize_with_crop_or_pad`), then the standardization.

Differences from slim's file: the output size is passed to the crop/pad in
(height, width) order (slim swaps them, which only matters for non-square
outputs); one-channel images are repeated to RGB first; `use_grayscale`
fills all three channels with the gray value.

Typical use:

   from slimnets.preprocessing import cifarnet_preprocessing
   image = cifarnet_preprocessing.preprocess_image(uint8_image, 32, 32,
                                                   is_training=True)
"""

import tensorflow as tf

from slimnets.preprocessing import _ops

_PADDING = 4


def _prepare(image, output_height, output_width, where, use_grayscale):
  _ops.check_size(output_height, output_width, where)
  image = _ops.to_rgb(_ops.check_image(image, where))
  image = _ops.to_float(image)
  return _ops.grayscale(image) if use_grayscale else image


def preprocess_for_train(image,
                         output_height,
                         output_width,
                         padding=_PADDING,
                         add_image_summaries=True,
                         use_grayscale=False):
  """Pad, random crop, flip, brightness, contrast, standardization.

  Args:
    image: [height, width, 1 or 3] image, uint8 (or float in [0, 255]).
    output_height: height of the output.
    output_width: width of the output.
    padding: zeros added before and after each spatial dimension.
    add_image_summaries: summaries of the input and the distorted image.
    use_grayscale: replace the colours by their gray value.

  Returns:
    float32 [output_height, output_width, 3], zero mean and unit variance.
  """
  _ops.image_summary('image', image, add_image_summaries)
  image = _prepare(image, output_height, output_width,
                   'cifarnet_preprocessing.preprocess_for_train',
                   use_grayscale)
  if padding > 0:
    image = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
  distorted = tf.compat.v1.random_crop(image, [output_height, output_width, 3])
  distorted = tf.image.random_flip_left_right(distorted)
  _ops.image_summary('distorted_image', distorted, add_image_summaries)
  # Brightness before contrast, as slim (the two do not commute).
  distorted = tf.image.random_brightness(distorted, max_delta=63)
  distorted = tf.image.random_contrast(distorted, lower=0.2, upper=1.8)
  return tf.image.per_image_standardization(distorted)


def preprocess_for_eval(image, output_height, output_width,
                        add_image_summaries=True, use_grayscale=False):
  """Central crop or pad to the output size, then standardization.

  Args:
    image: [height, width, 1 or 3] image, uint8 (or float in [0, 255]).
    output_height: height of the output.
    output_width: width of the output.
    add_image_summaries: summaries of the input and the resized image.
    use_grayscale: replace the colours by their gray value.

  Returns:
    float32 [output_height, output_width, 3], zero mean and unit variance.
  """
  _ops.image_summary('image', image, add_image_summaries)
  image = _prepare(image, output_height, output_width,
                   'cifarnet_preprocessing.preprocess_for_eval',
                   use_grayscale)
  resized = tf.image.resize_with_crop_or_pad(image, output_height,
                                             output_width)
  _ops.image_summary('resized_image', resized, add_image_summaries)
  return tf.image.per_image_standardization(resized)


def preprocess_image(image, output_height, output_width, is_training=False,
                     add_image_summaries=True, use_grayscale=False):
  """`preprocess_for_train` or `preprocess_for_eval`.

  Args:
    image: [height, width, 1 or 3] image, uint8 (or float in [0, 255]).
    output_height: height of the output.
    output_width: width of the output.
    is_training: training augmentation when True, else the eval crop.
    add_image_summaries: add the image summaries.
    use_grayscale: replace the colours by their gray value.

  Returns:
    float32 [output_height, output_width, 3].
  """
  if is_training:
    return preprocess_for_train(image, output_height, output_width,
                                add_image_summaries=add_image_summaries,
                                use_grayscale=use_grayscale)
  return preprocess_for_eval(image, output_height, output_width,
                             add_image_summaries=add_image_summaries,
                             use_grayscale=use_grayscale)
