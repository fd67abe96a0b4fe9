"""tf-slim's own nets as the reference, runnable on TensorFlow 2.21 (tests only).

tf-slim 1.1.0's layers import `tf_keras.legacy_tf_layers.*`, which tf_keras
ships as `tf_keras.src.legacy_tf_layers.*`; aliasing those modules lets the
reference run. The library itself never needs this.
"""

import importlib
import sys

_LEGACY_MODULES = ('base', 'convolutional', 'core', 'normalization', 'pooling')


def enable_tf_slim_layers():
  """Aliases tf_keras' legacy layers where TensorFlow looks for them."""
  package = importlib.import_module('tf_keras.src.legacy_tf_layers')
  sys.modules.setdefault('tf_keras.legacy_tf_layers', package)
  for name in _LEGACY_MODULES:
    module = importlib.import_module('tf_keras.src.legacy_tf_layers.' + name)
    sys.modules.setdefault('tf_keras.legacy_tf_layers.' + name, module)


def slim_nets():
  """tf-slim's `resnet_v1`, `resnet_v2` and `resnet_utils` modules."""
  enable_tf_slim_layers()
  from tf_slim.nets import resnet_utils, resnet_v1, resnet_v2  # pylint: disable=g-import-not-at-top
  return resnet_v1, resnet_v2, resnet_utils
