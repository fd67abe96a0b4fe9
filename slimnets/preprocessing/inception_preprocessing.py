"""Inception preprocessing, as slim's
research/slim/preprocessing/inception_preprocessing.py.

The pipeline slim trains and evaluates its Inception, MobileNet, NASNet and
ResNet v2 checkpoints with, on pixels in [0, 1]:

  training    a random crop covering 5-100% of the image with aspect ratio
              3/4..4/3 (`tf.image.sample_distorted_bounding_box` around
              `bbox`, the whole image by default), resized to output_height x
              output_width (bilinear; with fast_mode=False one of TF1's four
              resize methods at random), a random left-right flip, a random
              colour distortion (brightness and saturation; with
              fast_mode=False also hue and contrast, in one of four orders),
              then scaled to [-1, 1].
  evaluation  the central 87.5% of the image, bilinear resize, [-1, 1].

Image summaries (`add_image_summaries`, TF1 SUMMARIES collection) show the
box, the crop and the final image, under slim's names.

Differences from slim's file: random selections use `tf.switch_case`
(slim's `control_flow_ops.switch/merge` are graph-v1 internals);
one-channel images are repeated to RGB first; `use_grayscale` fills all
three channels with the gray value (slim keeps one).

Typical use:

   from slimnets.preprocessing import inception_preprocessing
   train_image = inception_preprocessing.preprocess_image(
       uint8_image, 224, 224, is_training=True)
   eval_image = inception_preprocessing.preprocess_image(uint8_image, 224,
                                                         224)
"""

import tensorflow as tf

from slimnets.preprocessing import _ops


def apply_with_random_selector(x, func, num_cases):
  """`func(x, case)` with `case` drawn uniformly from [0, num_cases).

  Args:
    x: input tensor.
    func: `func(x, case)` for a Python int `case`.
    num_cases: number of cases.

  Returns:
    The output of the case drawn; only that branch runs.
  """
  if num_cases == 1:
    return func(x, 0)
  selector = tf.compat.v1.random_uniform([], maxval=num_cases, dtype=tf.int32)
  return tf.switch_case(
      selector, [lambda case=case: func(x, case) for case in range(num_cases)])


def distort_color(image, color_ordering=0, fast_mode=True, scope=None):
  """Random brightness, saturation (and hue, contrast) in one of four orders.

  Args:
    image: float image [height, width, 3] in [0, 1].
    color_ordering: 0..3, the order of the distortions.
    fast_mode: brightness and saturation only (orders 0 and 1..3 differ only
      in which comes first).
    scope: name scope.

  Returns:
    The distorted image, clipped to [0, 1].

  Raises:
    ValueError: for a color_ordering outside 0..3.
  """
  if color_ordering not in (0, 1, 2, 3):
    raise ValueError('color_ordering must be in [0, 3], got %r' %
                     (color_ordering,))

  def brightness(x):
    return tf.image.random_brightness(x, max_delta=32. / 255.)

  def saturation(x):
    return tf.image.random_saturation(x, lower=0.5, upper=1.5)

  def hue(x):
    return tf.image.random_hue(x, max_delta=0.2)

  def contrast(x):
    return tf.image.random_contrast(x, lower=0.5, upper=1.5)

  if fast_mode:
    steps = ((brightness, saturation) if color_ordering == 0 else
             (saturation, brightness))
  else:
    steps = ((brightness, saturation, hue, contrast),
             (saturation, brightness, contrast, hue),
             (contrast, hue, brightness, saturation),
             (hue, saturation, contrast, brightness))[color_ordering]
  with tf.compat.v1.name_scope(scope, 'distort_color', [image]):
    for step in steps:
      image = step(image)
    # The random_* ops do not keep the values in range.
    return tf.clip_by_value(image, 0.0, 1.0)


def distorted_bounding_box_crop(image,
                                bbox,
                                min_object_covered=0.1,
                                aspect_ratio_range=(0.75, 1.33),
                                area_range=(0.05, 1.0),
                                max_attempts=100,
                                scope=None):
  """A random crop around `bbox` (`tf.image.sample_distorted_bounding_box`).

  Args:
    image: [height, width, channels] image.
    bbox: float [1, num_boxes, 4] boxes [ymin, xmin, ymax, xmax] in [0, 1];
      the whole image when num_boxes is 0.
    min_object_covered: the crop contains at least this fraction of a box.
    aspect_ratio_range: allowed width / height of the crop.
    area_range: allowed fraction of the image's area.
    max_attempts: after this many failed draws the whole image is used.
    scope: name scope.

  Returns:
    (cropped image, the crop's box [1, 1, 4]).
  """
  with tf.compat.v1.name_scope(scope, 'distorted_bounding_box_crop',
                               [image, bbox]):
    # The raw op with the graph-derived seeds, as TF1's wrapper seeded it (the
    # v1 wrapper warns about its `seed2` argument; the v2 one ignores the
    # graph seed).
    seed, seed2 = tf.compat.v1.get_seed(None)
    begin, size, distorted_bbox = tf.raw_ops.SampleDistortedBoundingBoxV2(
        image_size=tf.shape(image),
        bounding_boxes=bbox,
        min_object_covered=min_object_covered,
        seed=seed or 0,
        seed2=seed2 or 0,
        aspect_ratio_range=list(aspect_ratio_range),
        area_range=list(area_range),
        max_attempts=max_attempts,
        use_image_if_no_bounding_boxes=True)
    return tf.slice(image, begin, size), distorted_bbox


def distort_image(image, height, width, bbox=None, fast_mode=True,
                  add_image_summaries=True, random_crop=True,
                  color_distortion=True):
  """The augmentation of `preprocess_for_train`, before the [-1, 1] scaling.

  Shared with the 'caffe' / 'tf' / 'torch' training path of
  `preprocessing_factory`, which normalizes the result its own way.

  Args:
    image: [height, width, 3] float32 image in [0, 1].
    height: output height.
    width: output width.
    bbox: float [1, num_boxes, 4] boxes, or None for the whole image.
    fast_mode: bilinear resize and the two cheap colour distortions only.
    add_image_summaries: add slim's image summaries.
    random_crop: take the distorted box crop (else resize the whole image).
    color_distortion: apply `distort_color`.

  Returns:
    float32 [height, width, 3] in [0, 1].
  """
  if bbox is None:
    bbox = tf.constant([0.0, 0.0, 1.0, 1.0], tf.float32, [1, 1, 4])
  if add_image_summaries:
    _ops.image_summary(
        'image_with_bounding_boxes',
        tf.compat.v1.image.draw_bounding_boxes(image[tf.newaxis], bbox)[0],
        True)
  if random_crop:
    distorted, distorted_bbox = distorted_bounding_box_crop(image, bbox)
    # The dynamic slice loses the static channel count.
    distorted.set_shape([None, None, 3])
    if add_image_summaries:
      _ops.image_summary(
          'images_with_distorted_bounding_box',
          tf.compat.v1.image.draw_bounding_boxes(image[tf.newaxis],
                                                 distorted_bbox)[0], True)
  else:
    distorted = image
  # The resize ignores the aspect ratio, as slim's does.
  num_resize_cases = 1 if fast_mode else len(_ops.RESIZE_METHODS)
  distorted = apply_with_random_selector(
      distorted,
      lambda x, method: _ops.legacy_resize(x, [height, width],
                                           _ops.RESIZE_METHODS[method]),
      num_cases=num_resize_cases)
  distorted.set_shape([height, width, 3])
  _ops.image_summary(('cropped_' if random_crop else '') + 'resized_image',
                     distorted, add_image_summaries)
  distorted = tf.image.random_flip_left_right(distorted)
  if color_distortion:
    distorted = apply_with_random_selector(
        distorted,
        lambda x, ordering: distort_color(x, ordering, fast_mode),
        num_cases=1 if fast_mode else 4)
  return distorted


def preprocess_for_train(image,
                         height,
                         width,
                         bbox,
                         fast_mode=True,
                         scope=None,
                         add_image_summaries=True,
                         random_crop=True,
                         use_grayscale=False):
  """Distorts one image for training (see the module docstring).

  Args:
    image: [height, width, 1 or 3] image: uint8 (or another integer type,
      scaled by its maximum), or float32 in [0, 1].
    height: output height.
    width: output width.
    bbox: float [1, num_boxes, 4] boxes [ymin, xmin, ymax, xmax], or None
      for the whole image.
    fast_mode: avoid the slower ops (bicubic / area resizes, hue, contrast).
    scope: name scope, default 'distort_image'.
    add_image_summaries: add slim's image summaries.
    random_crop: take a distorted-box crop (else resize the whole image).
    use_grayscale: replace the colours by their gray value (three channels).

  Returns:
    float32 [height, width, 3] in [-1, 1].
  """
  where = 'inception_preprocessing.preprocess_for_train'
  _ops.check_size(height, width, where)
  image = _ops.to_rgb(_ops.check_image(image, where))
  with tf.compat.v1.name_scope(scope, 'distort_image',
                               [image, height, width, bbox]):
    image = _ops.to_unit_float(image)
    distorted = distort_image(image, height, width, bbox, fast_mode,
                              add_image_summaries, random_crop)
    if use_grayscale:
      distorted = _ops.grayscale(distorted)
    _ops.image_summary('final_distorted_image', distorted,
                       add_image_summaries)
    return (distorted - 0.5) * 2.0


def preprocess_for_eval(image,
                        height,
                        width,
                        central_fraction=0.875,
                        scope=None,
                        central_crop=True,
                        use_grayscale=False):
  """The central crop, resized, in [-1, 1].

  The 'inception' convention of `slimnets.preprocessing` runs this function.

  Args:
    image: [height, width, 1 or 3] image: uint8 (or another integer type,
      scaled by its maximum), or float32 in [0, 1].
    height: output height (with `width`; None or 0 keeps the crop's size).
    width: output width.
    central_fraction: fraction of each side kept (`tf.image.central_crop`).
    scope: name scope, default 'eval_image'.
    central_crop: crop at all.
    use_grayscale: replace the colours by their gray value (three channels).

  Returns:
    float32 [height, width, 3] in [-1, 1].
  """
  where = 'inception_preprocessing.preprocess_for_eval'
  if height or width:
    _ops.check_size(height, width, where)
  image = _ops.to_rgb(_ops.check_image(image, where))
  with tf.compat.v1.name_scope(scope, 'eval_image', [image, height, width]):
    image = _ops.to_unit_float(image)
    if use_grayscale:
      image = _ops.grayscale(image)
    if central_crop and central_fraction:
      image = tf.image.central_crop(image, central_fraction=central_fraction)
    if height and width:
      image = _ops.legacy_resize(image, [height, width])
      image.set_shape([height, width, 3])
    return (image - 0.5) * 2.0


def preprocess_image(image,
                     height,
                     width,
                     is_training=False,
                     bbox=None,
                     fast_mode=True,
                     add_image_summaries=True,
                     crop_image=True,
                     use_grayscale=False):
  """`preprocess_for_train` or `preprocess_for_eval`.

  Args:
    image: [height, width, 1 or 3] image: uint8 (or another integer type,
      scaled by its maximum), or float32 in [0, 1].
    height: output height.
    width: output width.
    is_training: training augmentation when True, else the eval crop.
    bbox: training only: float [1, num_boxes, 4] boxes, or None.
    fast_mode: training only: avoid the slower ops.
    add_image_summaries: training only: add slim's image summaries.
    crop_image: the random crop (training) / central crop (evaluation).
    use_grayscale: replace the colours by their gray value.

  Returns:
    float32 [height, width, 3] in [-1, 1].
  """
  if is_training:
    return preprocess_for_train(
        image, height, width, bbox, fast_mode,
        add_image_summaries=add_image_summaries, random_crop=crop_image,
        use_grayscale=use_grayscale)
  return preprocess_for_eval(image, height, width, central_crop=crop_image,
                             use_grayscale=use_grayscale)
