"""The one registry of slimnets models.

Every public model function is registered once, with what slim, DeepLab and
Keras scatter over several dicts: its family, arg-scope function, default
image size, the class count of its usual checkpoints and the preprocessing
they expect. `nets_factory`, the command line, the benchmarks and the tests
read it through `list_models()` and `get_model()`.

Typical use:

   from nets import registry
   for name in registry.list_models('resnet_v2*'):
     info = registry.get_model(name)
     print(name, info.default_image_size, info.num_classes)
"""

import collections
import fnmatch
import importlib

ModelInfo = collections.namedtuple('ModelInfo', [
    'name', 'fn', 'family', 'arg_scope_fn', 'default_image_size',
    'num_classes', 'preprocessing', 'min_image_size', 'num_frames'
])
ModelInfo.__doc__ = """What the registry knows of one model.

  name: the model function's name, e.g. 'resnet_v2_50'.
  fn: the model function `fn(inputs, num_classes=None, is_training=True, ...)`.
  family: module name of its family, e.g. 'resnet_v2'.
  arg_scope_fn: `arg_scope_fn(weight_decay=...)` returns its arg scope.
  default_image_size: the training resolution, e.g. 224.
  num_classes: classes of its usual ImageNet checkpoints (1001 with slim's
    background class, or 1000).
  preprocessing: the preprocessing its weights expect ('inception', 'vgg',
    'caffe', 'tf', 'torch', 'cifarnet' or 'lenet').
  min_image_size: the smallest height and width its default classifier head
    takes in training mode (fixed pooling or fully connected kernels, e.g.
    224 for vgg_16; NASNet's aux head, built in training only); None when
    any size of at least 32 works.
  num_frames: for video models (inputs [batch, frames, height, width, 3]),
    the clip length of its usual checkpoints; None for image models.
"""

_MODELS = collections.OrderedDict()


def register(family, arg_scope_fn, default_image_size=224, num_classes=1000,
             preprocessing='vgg', name=None, min_image_size=None,
             num_frames=None):
  """Decorator registering a model function under `name` or its `__name__`.

  `name` is upstream's nets_factory key where it differs from the function's
  name (e.g. 'mobilenet_v3_small' for `mobilenet_v3.small`). Also sets
  `fn.default_image_size`, as slim does. See `ModelInfo` for the others.

  Raises:
    ValueError: if a model of the same name is already registered.
  """

  def decorate(fn):
    key = name or fn.__name__
    if key in _MODELS:
      raise ValueError('model %r is registered twice' % key)
    fn.default_image_size = default_image_size
    _MODELS[key] = ModelInfo(key, fn, family, arg_scope_fn,
                             default_image_size, num_classes, preprocessing,
                             min_image_size, num_frames)
    return fn

  return decorate


# The family modules, in the order `list_models()` gives their models: slimnets'
# first models, then research/slim's nets_factory order.
_FAMILIES = (
    'nets.resnet_v1',
    'nets.resnet_v2',
    'nets.resnext',
    'nets.xception',
    'nets.alexnet',
    'nets.cifarnet',
    'nets.overfeat',
    'nets.vgg',
    'nets.inception_v1',
    'nets.inception_v2',
    'nets.inception_v3',
    'nets.inception_v4',
    'nets.inception_resnet_v2',
    'nets.i3d',
    'nets.s3dg',
    'nets.lenet',
    'nets.mobilenet_v1',
    'nets.mobilenet.mobilenet_v2',
    'nets.mobilenet.mobilenet_v3',
    'nets.nasnet.nasnet',
    'nets.nasnet.pnasnet',
)


def _load_families():
  # Importing the family modules runs their @register decorators.
  for module in _FAMILIES:
    importlib.import_module(module)


def list_models(pattern='*'):
  """Names of the registered models matching the shell-style `pattern`."""
  _load_families()
  return [name for name in _MODELS if fnmatch.fnmatchcase(name, pattern)]


def get_model(name):
  """The `ModelInfo` of `name`.

  Raises:
    ValueError: for an unknown name, listing the known ones.
  """
  _load_families()
  if name not in _MODELS:
    raise ValueError('Name of network unknown %s; known networks: %s' %
                     (name, ', '.join(_MODELS)))
  return _MODELS[name]


def input_shape(name, batch_size=1, image_size=None, num_frames=None):
  """The input shape `name` takes: [batch, height, width, 3] for image models,
  [batch, frames, height, width, 3] for video models.

  Args:
    name: a registered model name.
    batch_size: the batch dimension (None for any).
    image_size: height and width; default the model's default_image_size.
    num_frames: clip length of a video model; default its `num_frames`.

  Raises:
    ValueError: for an unknown name, listing the known ones.
  """
  info = get_model(name)
  size = info.default_image_size if image_size is None else image_size
  if info.num_frames is None:
    return [batch_size, size, size, 3]
  frames = info.num_frames if num_frames is None else num_frames
  return [batch_size, frames, size, size, 3]

