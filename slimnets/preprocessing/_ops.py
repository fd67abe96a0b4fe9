"""Image ops shared by the conventions and slim's preprocessing modules.

One implementation of each geometric step (TF1's resizes, slim's crops,
channel handling), so `slimnets.preprocessing.preprocess` and the
upstream-named modules (`vgg_preprocessing`, `inception_preprocessing`, ...)
compute the same numbers from the same code. All ops work on one image
[height, width, channels] in graph mode.
"""

import tensorflow as tf

# TF1's `tf.image.ResizeMethod` numbering, which slim's inception
# preprocessing samples from: BILINEAR, NEAREST_NEIGHBOR, BICUBIC, AREA.
RESIZE_METHODS = ('bilinear', 'nearest', 'bicubic', 'area')


def check_image(image, where, channels=(1, 3)):
  """`image` as a tensor, checked to be rank 3 with an allowed channel count.

  Unknown ranks and channel counts pass (they are checked by the ops at run
  time); known wrong ones raise here, naming `where`.
  """
  image = tf.convert_to_tensor(image)
  rank = image.shape.rank
  if rank is not None and rank != 3:
    raise ValueError('%s: image must be a rank-3 tensor [height, width, '
                     "channels], got shape %s ('%s')" %
                     (where, image.shape, image.name))
  if rank == 3 and image.shape[-1] is not None and (
      image.shape[-1] not in channels):
    raise ValueError('%s: image must have %s channels, got shape %s' %
                     (where, ' or '.join(str(c) for c in channels),
                      image.shape))
  if not (image.dtype.is_integer or image.dtype.is_floating):
    raise TypeError('%s: image must be an integer or float tensor, got dtype '
                    '%s' % (where, image.dtype.name))
  return image


def check_size(height, width, where):
  """Raises unless `height` and `width` are positive Python ints."""
  for name, value in (('output_height', height), ('output_width', width)):
    if (isinstance(value, bool) or not isinstance(value, int) or value < 1):
      raise ValueError('%s: %s must be a positive int, got %r' %
                       (where, name, value))


def to_rgb(image):
  """Repeats a one-channel image to three; three-channel images pass.

  Every slimnets network takes RGB input, and slim's MNIST records are
  grayscale.
  """
  channels = image.shape[-1]
  if channels == 1:
    return tf.tile(image, [1, 1, 3])
  if channels is None:
    return tf.cond(tf.equal(tf.shape(image)[-1], 1),
                   lambda: tf.tile(image, [1, 1, 3]), lambda: image)
  return image


def grayscale(image):
  """RGB -> luma (`tf.image.rgb_to_grayscale`), repeated to three channels.

  slim's `use_grayscale` leaves one channel; the networks here take three,
  so the gray value fills all of them.
  """
  return tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(image))


def to_unit_float(image):
  """float32 in [0, 1], as slim's inception preprocessing reads its input.

  Integer images are scaled by their dtype's maximum
  (`tf.image.convert_image_dtype`); float images are taken to be in [0, 1]
  already and only cast to float32.
  """
  if image.dtype == tf.float32:
    return image
  return tf.image.convert_image_dtype(image, tf.float32)


def to_float(image):
  """float32 with the values unchanged (slim's `tf.to_float`)."""
  return tf.cast(image, tf.float32)


def legacy_resize(image, size, method='bilinear'):
  """TF1's `tf.image.resize_images(image, size, method)`, which slim used.

  align_corners=False without half-pixel centres: the source pixel of
  destination d is d * in / out. The raw ops avoid the deprecated wrappers.
  Always returns float32.
  """
  batch = tf.cast(image, tf.float32)[tf.newaxis]
  if method == 'bilinear':
    out = tf.raw_ops.ResizeBilinear(images=batch, size=size,
                                    align_corners=False,
                                    half_pixel_centers=False)
  elif method == 'nearest':
    out = tf.raw_ops.ResizeNearestNeighbor(images=batch, size=size,
                                           align_corners=False,
                                           half_pixel_centers=False)
  elif method == 'bicubic':
    out = tf.raw_ops.ResizeBicubic(images=batch, size=size,
                                   align_corners=False,
                                   half_pixel_centers=False)
  elif method == 'area':
    out = tf.raw_ops.ResizeArea(images=batch, size=size, align_corners=False)
  else:
    raise ValueError('resize method must be one of %s, got %r' %
                     (', '.join(RESIZE_METHODS), method))
  return out[0]


def aspect_preserving_resize(image, smallest_side):
  """slim vgg's `_aspect_preserving_resize`: shorter side to `smallest_side`.

  Legacy bilinear, the new sizes rounded to the nearest int.
  `smallest_side` may be a Python int or an int32 scalar tensor.
  """
  shape = tf.shape(image)
  height = tf.cast(shape[0], tf.float32)
  width = tf.cast(shape[1], tf.float32)
  scale = tf.cast(smallest_side, tf.float32) / tf.minimum(height, width)
  new_size = tf.cast(tf.math.rint(tf.stack([height, width]) * scale),
                     tf.int32)
  return legacy_resize(image, new_size)


def _crop(image, top, left, height, width):
  shape = tf.shape(image)
  with tf.control_dependencies([
      tf.debugging.assert_greater_equal(
          shape[:2], [height, width],
          message='image is smaller than the crop size')]):
    out = tf.slice(image, tf.stack([top, left, 0]),
                   tf.stack([height, width, shape[2]]))
  out.set_shape([height, width, image.shape[-1]])
  return out


def central_crop(image, height, width):
  """slim vgg's `_central_crop`: the offsets round down."""
  shape = tf.shape(image)
  return _crop(image, (shape[0] - height) // 2, (shape[1] - width) // 2,
               height, width)


def random_crop(image, height, width):
  """slim vgg's `_random_crop`: uniform offsets, every position possible."""
  shape = tf.shape(image)
  top = tf.compat.v1.random_uniform([], maxval=shape[0] - height + 1,
                                    dtype=tf.int32)
  left = tf.compat.v1.random_uniform([], maxval=shape[1] - width + 1,
                                     dtype=tf.int32)
  return _crop(image, top, left, height, width)


def image_summary(name, image, enabled):
  """A TF1 image summary of one image (SUMMARIES collection) when enabled."""
  if enabled:
    tf.compat.v1.summary.image(name, tf.expand_dims(image, 0))
