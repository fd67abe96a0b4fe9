"""slim's preprocessing factory: a preprocessing function by name.

As research/slim/preprocessing/preprocessing_factory.py:
`get_preprocessing(name, is_training=False, use_grayscale=False)` returns
`preprocessing_fn(image, output_height, output_width, **kwargs)`, which calls
the module's `preprocess_image(image, output_height, output_width,
is_training=..., use_grayscale=..., **kwargs)` on one image (before
batching). The keyword arguments are the module's: `fast_mode`, `crop_image`,
`bbox`, `add_image_summaries` (inception); `resize_side_min`,
`resize_side_max` (vgg); `add_image_summaries` (cifarnet).

Names:
  - slim's own (`cifarnet`, `inception*`, `lenet`, `mobilenet*`, `nasnet*`,
    `pnasnet*`, `resnet_v1_*`, `vgg*`, ...), to the same modules;
  - every model of `nets.registry`, by its `preprocessing` field: 'vgg' ->
    `vgg_preprocessing`, 'inception' -> `inception_preprocessing`, and the
    converted weights' 'caffe' / 'tf' / 'torch' -> `converted_preprocessing`
    (inception-style crop and flip, then that convention's normalization;
    eval exactly as `slimnets.preprocessing.preprocess`).

Where the two differ the registry wins, as it records what the weights were
trained with: slim's factory maps `resnet_v2_*` to vgg preprocessing, but
slim's ResNet v2 checkpoints were trained (and are evaluated) with inception
preprocessing, so here `resnet_v2_*` use `inception_preprocessing`.

Every function returns float32 [output_height, output_width, 3]; grayscale
(one-channel) images are repeated to RGB, and `use_grayscale` gives three
equal channels (slim gives one), as every slimnets network takes three.

Typical use:

   from slimnets.preprocessing import preprocessing_factory
   fn = preprocessing_factory.get_preprocessing('resnet_v2_50',
                                                is_training=True)
   image = fn(uint8_image, 224, 224)
"""

import functools

from slimnets.preprocessing import cifarnet_preprocessing
from slimnets.preprocessing import converted_preprocessing
from slimnets.preprocessing import inception_preprocessing
from slimnets.preprocessing import lenet_preprocessing
from slimnets.preprocessing import vgg_preprocessing

# slim's preprocessing_fn_map, name -> module name.
_UPSTREAM = {
    'cifarnet': 'cifarnet',
    'inception': 'inception',
    'inception_v1': 'inception',
    'inception_v2': 'inception',
    'inception_v3': 'inception',
    'inception_v4': 'inception',
    'inception_resnet_v2': 'inception',
    'lenet': 'lenet',
    'mobilenet_v1': 'inception',
    'mobilenet_v2': 'inception',
    'mobilenet_v2_035': 'inception',
    'mobilenet_v2_140': 'inception',
    'mobilenet_v3_small': 'inception',
    'mobilenet_v3_large': 'inception',
    'mobilenet_v3_small_minimalistic': 'inception',
    'mobilenet_v3_large_minimalistic': 'inception',
    'mobilenet_edgetpu': 'inception',
    'mobilenet_edgetpu_075': 'inception',
    'nasnet_mobile': 'inception',
    'nasnet_large': 'inception',
    'pnasnet_mobile': 'inception',
    'pnasnet_large': 'inception',
    'resnet_v1_50': 'vgg',
    'resnet_v1_101': 'vgg',
    'resnet_v1_152': 'vgg',
    'resnet_v1_200': 'vgg',
    'resnet_v2_50': 'vgg',
    'resnet_v2_101': 'vgg',
    'resnet_v2_152': 'vgg',
    'resnet_v2_200': 'vgg',
    'vgg': 'vgg',
    'vgg_a': 'vgg',
    'vgg_16': 'vgg',
    'vgg_19': 'vgg',
}

_MODULES = {
    'cifarnet': cifarnet_preprocessing.preprocess_image,
    'inception': inception_preprocessing.preprocess_image,
    'lenet': lenet_preprocessing.preprocess_image,
    'vgg': vgg_preprocessing.preprocess_image,
}
for _convention in converted_preprocessing.CONVENTIONS:
  _MODULES[_convention] = functools.partial(
      converted_preprocessing.preprocess_image, convention=_convention)


def _name_map():
  """name -> module key: slim's names, then the registry's (which win)."""
  from nets import registry  # pylint: disable=import-outside-toplevel
  names = dict(_UPSTREAM)
  for model in registry.list_models():
    names[model] = registry.get_model(model).preprocessing
  return names


def preprocessing_names():
  """Every name `get_preprocessing` knows, sorted."""
  return sorted(_name_map())


def preprocessing_module(name):
  """Which preprocessing `name` gets: 'vgg', 'inception', 'cifarnet',
  'lenet', or a converted convention 'caffe' / 'tf' / 'torch'.

  Raises:
    ValueError: for an unknown name, listing the known ones.
  """
  names = _name_map()
  if name not in names:
    raise ValueError('Preprocessing name [%s] was not recognized; known '
                     'names: %s' % (name, ', '.join(sorted(names))))
  return names[name]


def get_preprocessing(name, is_training=False, use_grayscale=False):
  """Returns `preprocessing_fn(image, output_height, output_width, **kwargs)`.

  Args:
    name: a slim preprocessing name or a registered model name.
    is_training: training augmentation when True, else the eval path.
    use_grayscale: replace the colours by their gray value (three channels).

  Returns:
    A function of one image [height, width, 1 or 3] (uint8 as decoded;
    floats as the module reads them: [0, 1] for inception, [0, 255] for the
    others) returning float32 [output_height, output_width, 3]. It carries
    the attribute `preprocessing` (see `preprocessing_module`).

  Raises:
    ValueError: if `name` is not recognized (the message lists the known
      names).
  """
  key = preprocessing_module(name)
  preprocess_image = _MODULES[key]

  def preprocessing_fn(image, output_height, output_width, **kwargs):
    return preprocess_image(image, output_height, output_width,
                            is_training=is_training,
                            use_grayscale=use_grayscale, **kwargs)

  preprocessing_fn.preprocessing = key
  return preprocessing_fn
