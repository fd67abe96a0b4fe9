"""tf-slim's own nets for the benchmarks (same alias as tests/reference.py).

tf-slim 1.1.0's layers import `tf_keras.legacy_tf_layers.*`, which tf_keras
ships as `tf_keras.src.legacy_tf_layers.*`. Benchmarks and tests alias them;
the library never does.
"""

import importlib
import sys

_LEGACY_MODULES = ('base', 'convolutional', 'core', 'normalization', 'pooling')


def slim_nets():
  """tf-slim's (resnet_v1, resnet_v2) modules, runnable on TF 2.21."""
  package = importlib.import_module('tf_keras.src.legacy_tf_layers')
  sys.modules.setdefault('tf_keras.legacy_tf_layers', package)
  for name in _LEGACY_MODULES:
    module = importlib.import_module('tf_keras.src.legacy_tf_layers.' + name)
    sys.modules.setdefault('tf_keras.legacy_tf_layers.' + name, module)
  from tf_slim.nets import resnet_v1, resnet_v2  # pylint: disable=g-import-not-at-top
  return resnet_v1, resnet_v2
