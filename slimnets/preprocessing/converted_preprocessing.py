"""Training and eval preprocessing for converted Keras / torchvision weights.

The 'caffe', 'tf' and 'torch' conventions of `slimnets.preprocessing` (see
there) have an eval path but no slim module. This one gives them slim's
`preprocess_image` interface:

  training    inception-style augmentation (`inception_preprocessing`): a
              random crop of 5-100% of the image (aspect 3/4..4/3), resized
              to the output size, a random left-right flip; optionally the
              colour distortion (`color_distortion=True`; off by default, as
              torchvision's and Keras' ImageNet recipes do without it); then
              the convention's pixel normalization (`normalize`).
  evaluation  the convention's eval path: `preprocessing.preprocess`
              (bilinear resize to the output size, then `normalize`).

Typical use:

   from slimnets.preprocessing import converted_preprocessing
   image = converted_preprocessing.preprocess_image(
       uint8_image, 224, 224, is_training=True, convention='torch')
"""

import tensorflow as tf

from slimnets import preprocessing as _conventions
from slimnets.preprocessing import _ops
from slimnets.preprocessing import inception_preprocessing

CONVENTIONS = ('caffe', 'tf', 'torch')


def _check_convention(convention):
  if convention not in CONVENTIONS:
    raise ValueError('converted_preprocessing: convention must be one of %s, '
                     'got %r' % (', '.join(CONVENTIONS), convention))


def preprocess_for_train(image, output_height, output_width, convention,
                         bbox=None, fast_mode=True, add_image_summaries=True,
                         random_crop=True, color_distortion=False,
                         use_grayscale=False):
  """Random crop, resize, flip (and colours), then `normalize`.

  Args:
    image: [height, width, 1 or 3] image, uint8 (or float in [0, 255]).
    output_height: height of the output.
    output_width: width of the output.
    convention: 'caffe', 'tf' or 'torch'.
    bbox: float [1, num_boxes, 4] boxes to crop around, or None.
    fast_mode: bilinear resize only (else one of four methods at random) and
      the cheap colour distortions.
    add_image_summaries: add inception_preprocessing's image summaries.
    random_crop: take the random crop (else resize the whole image).
    color_distortion: also distort brightness and saturation (and hue and
      contrast without fast_mode).
    use_grayscale: replace the colours by their gray value.

  Returns:
    float32 [output_height, output_width, 3].
  """
  _check_convention(convention)
  where = 'converted_preprocessing.preprocess_for_train'
  _ops.check_size(output_height, output_width, where)
  image = _ops.to_rgb(_ops.check_image(image, where))
  with tf.name_scope('distort_image'):
    if image.dtype == tf.uint8:
      unit = _ops.to_unit_float(image)
    else:
      unit = _ops.to_float(image) / 255.0
    distorted = inception_preprocessing.distort_image(
        unit, output_height, output_width, bbox, fast_mode,
        add_image_summaries, random_crop, color_distortion)
    if use_grayscale:
      distorted = _ops.grayscale(distorted)
    _ops.image_summary('final_distorted_image', distorted,
                       add_image_summaries)
    return _conventions.normalize(distorted * 255.0, convention)


def preprocess_for_eval(image, output_height, output_width, convention,
                        use_grayscale=False):
  """`slimnets.preprocessing.preprocess(image, convention, (h, w))`.

  Args:
    image: [height, width, 1 or 3] image, uint8 (or float in [0, 255]).
    output_height: height of the output.
    output_width: width of the output.
    convention: 'caffe', 'tf' or 'torch'.
    use_grayscale: replace the colours by their gray value first.

  Returns:
    float32 [output_height, output_width, 3].
  """
  _check_convention(convention)
  where = 'converted_preprocessing.preprocess_for_eval'
  _ops.check_size(output_height, output_width, where)
  image = _ops.to_rgb(_ops.check_image(image, where))
  if use_grayscale:
    image = _ops.grayscale(_ops.to_float(image))
  return _conventions.preprocess(image, convention,
                                 (output_height, output_width))


def preprocess_image(image, output_height, output_width, is_training=False,
                     convention='torch', bbox=None, fast_mode=True,
                     add_image_summaries=True, crop_image=True,
                     color_distortion=False, use_grayscale=False):
  """`preprocess_for_train` or `preprocess_for_eval`.

  Args:
    image: [height, width, 1 or 3] image, uint8 (or float in [0, 255]).
    output_height: height of the output.
    output_width: width of the output.
    is_training: training augmentation when True, else the eval path.
    convention: 'caffe', 'tf' or 'torch'.
    bbox, fast_mode, add_image_summaries, color_distortion: training only,
      see `preprocess_for_train`.
    crop_image: training only: take the random crop.
    use_grayscale: replace the colours by their gray value.

  Returns:
    float32 [output_height, output_width, 3].
  """
  if is_training:
    return preprocess_for_train(
        image, output_height, output_width, convention, bbox=bbox,
        fast_mode=fast_mode, add_image_summaries=add_image_summaries,
        random_crop=crop_image, color_distortion=color_distortion,
        use_grayscale=use_grayscale)
  return preprocess_for_eval(image, output_height, output_width, convention,
                             use_grayscale=use_grayscale)
