"""LeNet preprocessing, as slim's
research/slim/preprocessing/lenet_preprocessing.py.

The same in training and evaluation: central crop (or zero pad) to the
output size (`tf.image.resize_with_crop_or_pad`), then (x - 128) / 128.

Differences from slim's file: the output size is passed in (height, width)
order (slim swaps them, which only matters for non-square outputs);
one-channel images (slim's MNIST) are repeated to RGB, as every slimnets
network takes three channels; `use_grayscale` fills all three with the gray
value.

Typical use:

   from slimnets.preprocessing import lenet_preprocessing
   image = lenet_preprocessing.preprocess_image(mnist_image, 28, 28, False)
"""

import tensorflow as tf

from slimnets.preprocessing import _ops


def preprocess_image(image, output_height, output_width, is_training=False,
                     use_grayscale=False):
  """Crop or pad to the output size and scale to [-1, 1).

  Args:
    image: [height, width, 1 or 3] image, uint8 (or float in [0, 255]).
    output_height: height of the output.
    output_width: width of the output.
    is_training: unused (slim's LeNet preprocessing has no augmentation).
    use_grayscale: replace the colours by their gray value.

  Returns:
    float32 [output_height, output_width, 3].
  """
  del is_training  # The same in training and evaluation, as slim.
  where = 'lenet_preprocessing.preprocess_image'
  _ops.check_size(output_height, output_width, where)
  image = _ops.to_float(_ops.to_rgb(_ops.check_image(image, where)))
  if use_grayscale:
    image = _ops.grayscale(image)
  image = tf.image.resize_with_crop_or_pad(image, output_height, output_width)
  return (image - 128.0) / 128.0
