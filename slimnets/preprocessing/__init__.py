"""Image preprocessing as TensorFlow ops, one function per weight convention.

Pretrained weights expect the pixels their training pipeline produced. Five
conventions cover slim's and the converted checkpoints:

  'vgg'        slim's vgg_preprocessing (eval): resize the shorter side to 256
               (aspect preserving, bilinear), central crop to image_size,
               subtract the RGB means 123.68, 116.78, 103.94. ResNet v1 / VGG
               slim checkpoints.
  'inception'  slim's inception_preprocessing (eval): central crop of 0.875 of
               the image, bilinear resize to image_size, scale to [-1, 1].
               ResNet v2 / Inception slim checkpoints.
  'caffe'      Keras `preprocess_input(mode='caffe')`: RGB -> BGR, subtract
               the BGR means 103.939, 116.779, 123.68 (no scaling).
  'tf'         Keras `mode='tf'`: scale to [-1, 1].
  'torch'      Keras `mode='torch'` / torchvision: scale to [0, 1], subtract
               the ImageNet mean (0.485, 0.456, 0.406), divide by the std
               (0.229, 0.224, 0.225).

For 'caffe', 'tf' and 'torch' the image is resized straight to image_size x
image_size (bilinear, half-pixel centres: `tf.image.resize`), as Keras
pipelines load images at their target size; `normalize` applies the pixel part
alone and equals Keras' `preprocess_input(mode=...)`.

'vgg' and 'inception' run the eval functions of the modules
`vgg_preprocessing` and `inception_preprocessing` of this package, which
also hold slim's training augmentation; `preprocessing_factory` gives
slim's `get_preprocessing(name, is_training)` over all of them (slim's
names and every registered model).

Typical use:

   from slimnets import preprocessing
   image = tf.io.decode_image(tf.io.read_file(path), channels=3,
                              expand_animations=False)
   net_input = preprocessing.for_model('resnet_v2_50')(image)  # [224,224,3]
   # or explicitly:
   net_input = preprocessing.preprocess(image, 'vgg', 224)
"""

import importlib

import tensorflow as tf

from slimnets.preprocessing import inception_preprocessing
from slimnets.preprocessing import vgg_preprocessing

CONVENTIONS = ('vgg', 'inception', 'caffe', 'tf', 'torch')
# Models of the small datasets name their research/slim module instead.
_SMALL_DATASET_MODULES = ('cifarnet', 'lenet')

_VGG_MEANS = vgg_preprocessing.MEANS  # RGB
_VGG_RESIZE_SIDE = 256
_CAFFE_MEANS = (103.939, 116.779, 123.68)  # BGR, Keras imagenet_utils
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
_INCEPTION_CENTRAL_FRACTION = 0.875


def _check_convention(convention):
  if convention not in CONVENTIONS:
    raise ValueError('convention must be one of %s, got %r' %
                     (', '.join(CONVENTIONS), convention))


def _to_float(image):
  """float32 pixels in [0, 255] from uint8 (or already [0, 255] floats)."""
  image = tf.convert_to_tensor(image)
  if image.dtype == tf.uint8:
    return tf.cast(image, tf.float32)
  if not image.dtype.is_floating:
    raise TypeError('image must be uint8 or float in [0, 255], got dtype %s'
                    % image.dtype.name)
  return tf.cast(image, tf.float32)


def _check_image(image):
  image = _to_float(image)
  if image.shape.rank is not None and image.shape.rank != 3:
    raise ValueError('image must be a rank-3 tensor [height, width, 3], got '
                     "shape %s ('%s')" % (image.shape, image.name))
  if image.shape.rank == 3 and image.shape[-1] not in (None, 3):
    raise ValueError('image must have 3 channels (RGB), got shape %s' %
                     image.shape)
  return image


def _output_size(image_size):
  """(height, width) of `image_size`: a positive int or a pair of them."""
  if isinstance(image_size, (tuple, list)) and len(image_size) == 2:
    sizes = tuple(image_size)
  else:
    sizes = (image_size, image_size)
  for size in sizes:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
      raise ValueError('image_size must be a positive int or a pair '
                       '(height, width) of them, got %r' % (image_size,))
  return sizes


def normalize(image, convention):
  """The pixel part of `convention` alone, on images of any rank.

  Args:
    image: RGB pixels [..., 3], uint8 or float in [0, 255].
    convention: one of CONVENTIONS.

  Returns:
    float32 tensor of the same shape.

  Raises:
    ValueError: for an unknown convention.
  """
  _check_convention(convention)
  image = _to_float(image)
  if convention == 'vgg':
    return image - tf.constant(_VGG_MEANS, tf.float32)
  if convention == 'caffe':
    return image[..., ::-1] - tf.constant(_CAFFE_MEANS, tf.float32)
  if convention == 'torch':
    return ((image / 255.0 - tf.constant(_TORCH_MEAN, tf.float32)) /
            tf.constant(_TORCH_STD, tf.float32))
  # 'inception' and 'tf' both map [0, 255] to [-1, 1]; slim computes it as
  # (x / 255 - 0.5) * 2, Keras as x / 127.5 - 1 (equal to float rounding).
  if convention == 'inception':
    return (image / 255.0 - 0.5) * 2.0
  return image / 127.5 - 1.0


def preprocess(image, convention, image_size, resize_side=_VGG_RESIZE_SIDE,
               central_fraction=_INCEPTION_CENTRAL_FRACTION):
  """Turns one decoded image into a network input of `convention`.

  'vgg' and 'inception' run the eval path of `vgg_preprocessing` and
  `inception_preprocessing` (what `preprocessing_factory` evaluates with);
  'caffe', 'tf' and 'torch' resize and `normalize`.

  Args:
    image: RGB pixels [height, width, 3], uint8 or float in [0, 255] (what
      `tf.io.decode_image(..., channels=3)` returns).
    convention: one of CONVENTIONS (see the module docstring).
    image_size: output size: an int (square) or a pair (height, width).
    resize_side: 'vgg' only: the shorter side before the central crop
      (slim's 256; never less than the output's shorter side).
    central_fraction: 'inception' only: the central crop's fraction.

  Returns:
    float32 tensor [height, width, 3].

  Raises:
    ValueError: unknown convention, bad image rank/channels or image_size.
  """
  _check_convention(convention)
  height, width = _output_size(image_size)
  original = tf.convert_to_tensor(image)
  image = _check_image(original)
  if convention == 'vgg':
    return vgg_preprocessing.preprocess_for_eval(image, height, width,
                                                 resize_side)
  if convention == 'inception':
    # That module reads floats as [0, 1] (slim's convention), integers by
    # their dtype's range; uint8 goes in as it is, so both paths agree
    # exactly on decoded images.
    unit = original if original.dtype == tf.uint8 else image / 255.0
    return inception_preprocessing.preprocess_for_eval(
        unit, height, width, central_fraction=central_fraction)
  image = tf.image.resize(image, [height, width], method='bilinear')
  image.set_shape([height, width, 3])
  return normalize(image, convention)


def for_model(name, image_size=None):
  """The preprocessing function of a registered model.

  Args:
    name: a registered model name, e.g. 'resnet_v2_50'.
    image_size: output size; default the model's default image size.

  Returns:
    A function `image -> [image_size, image_size, 3] float32` applying the
    model's `ModelInfo.preprocessing` convention. It carries the attributes
    `convention` and `image_size`.

  Raises:
    ValueError: for an unknown model name.
  """
  from nets import registry  # pylint: disable=import-outside-toplevel
  info = registry.get_model(name)
  size = image_size or info.default_image_size
  convention = info.preprocessing

  def preprocessing_fn(image):
    if convention in _SMALL_DATASET_MODULES:
      # cifarnet and lenet keep research/slim's own eval preprocessing
      # (crop or pad to the size, then their own scaling).
      module = importlib.import_module(
          'slimnets.preprocessing.%s_preprocessing' % convention)
      return module.preprocess_image(image, size, size, is_training=False)
    return preprocess(image, convention, size)

  preprocessing_fn.convention = convention
  preprocessing_fn.image_size = size
  return preprocessing_fn
