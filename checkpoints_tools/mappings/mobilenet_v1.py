"""Mapping tables of MobileNet v1 (`nets.mobilenet_v1`).

[1] Andrew G. Howard et al. MobileNets: Efficient Convolutional Neural
    Networks for Mobile Vision Applications. arXiv:1704.04861

Derived from `nets.mobilenet_v1.MOBILENETV1_CONV_DEFS` (the layer table that
builds the network) and each model's depth multiplier:

- slim naming of mobilenet_v1, mobilenet_v1_075, _050, _025;
- each <-> tf_keras.applications.MobileNet(alpha=1.0, 0.75, 0.5, 0.25)
  (`.h5`, and Keras 3 `.weights.h5`).

  slim (MobilenetV1/)                     Keras
  Conv2d_0 (+ /BatchNorm)                 conv1, conv1_bn
  Conv2d_<i>_depthwise (+ /BatchNorm)     conv_dw_<i>, conv_dw_<i>_bn
  Conv2d_<i>_pointwise (+ /BatchNorm)     conv_pw_<i>, conv_pw_<i>_bn
  Logits/Conv2d_1c_1x1 (weights, biases)  conv_preds (a 1x1 Conv2D)

Kernels have the same layout (depthwise [3, 3, C, 1]); the channel counts
agree for every multiplier (slim: max(int(d * m), 8), Keras: int(d * m),
never below 8 for these four). Both have batch-norm epsilon 1e-3. Keras
zero-pads its strided depthwise convolutions (0, 1) and convolves VALID,
which is SAME whenever the input of a strided layer has an even size (every
size that is a multiple of 32, 224 included); slim's SAME is what the slim
checkpoints were trained with, so there is no variant: at odd sizes the
two differ at the borders (see tests/test_mobilenet_v1.py).

Typical use:

   from checkpoints_tools import mappings
   table = mappings.get_table('mobilenet_v1_050', 'keras')
   table.source_kwargs  # {'alpha': 0.5}
"""

import functools

from checkpoints_tools.mappings import Table
from checkpoints_tools.mappings import _rows

from nets import mobilenet_v1  # pylint: disable=g-bad-import-order

_SCOPE = 'MobilenetV1'
_MULTIPLIERS = {'mobilenet_v1': 1.0, 'mobilenet_v1_075': 0.75,
                'mobilenet_v1_050': 0.5, 'mobilenet_v1_025': 0.25}
_MIN_DEPTH = 8
_LOGITS = _SCOPE + '/Logits/Conv2d_1c_1x1'


def _layers(multiplier):
  """Yields (index, kind, depth in, depth out): kind 'conv' or 'separable'."""
  depth_in = 3
  for i, conv_def in enumerate(mobilenet_v1.MOBILENETV1_CONV_DEFS):
    depth = max(int(conv_def.depth * multiplier), _MIN_DEPTH)
    kind = ('conv' if isinstance(conv_def, mobilenet_v1.Conv) else
            'separable')
    yield i, kind, depth_in, depth
    depth_in = depth


def _conv_bn(scope, shape, weights='weights'):
  out = [('%s/%s' % (scope, weights), shape)]
  out += [('%s/BatchNorm/%s' % (scope, p), shape[-2:-1] if
           weights == 'depthwise_weights' else shape[-1:]) for p in _rows.BN]
  return out


def _spec(multiplier, num_classes):
  """[(slim name, shape)] in the graph's creation order."""
  out = []
  depth = 3
  for i, kind, depth_in, depth in _layers(multiplier):
    if kind == 'conv':
      out += _conv_bn('%s/Conv2d_%d' % (_SCOPE, i), (3, 3, depth_in, depth))
    else:
      out += _conv_bn('%s/Conv2d_%d_depthwise' % (_SCOPE, i),
                      (3, 3, depth_in, 1), 'depthwise_weights')
      out += _conv_bn('%s/Conv2d_%d_pointwise' % (_SCOPE, i),
                      (1, 1, depth_in, depth))
  if num_classes:
    out += [(_LOGITS + '/weights', (1, 1, depth, num_classes)),
            (_LOGITS + '/biases', (num_classes,))]
  return out


_HEAD = (_LOGITS + '/weights', _LOGITS + '/biases')


def _keras_table(model):
  multiplier = _MULTIPLIERS[model]
  rows = _rows.KerasRows()
  for i, kind, _, _ in _layers(multiplier):
    if kind == 'conv':
      rows.conv('conv1', '%s/Conv2d_%d' % (_SCOPE, i))
      rows.bn('conv1_bn', '%s/Conv2d_%d/BatchNorm' % (_SCOPE, i))
      continue
    for keras, slim in (('dw', 'depthwise'), ('pw', 'pointwise')):
      layer = 'conv_%s_%d' % (keras, i)
      scope = '%s/Conv2d_%d_%s' % (_SCOPE, i, slim)
      if keras == 'dw':
        rows.depthwise(layer, scope)
      else:
        rows.conv(layer, scope)
      rows.bn(layer + '_bn', scope + '/BatchNorm')
  rows.conv('conv_preds', _LOGITS, bias=True, classes=True)
  return Table(
      model, 'keras', rows.rows, head=_HEAD,
      source_model='tf_keras.applications.MobileNet',
      source_kwargs={'alpha': multiplier}, bn_epsilon=1e-3,
      notes=("Keras pads its strided depthwise convs (0, 1) and convolves "
             'VALID: SAME at every size that is a multiple of 32 (224 '
             'included), not at odd sizes',
             'Keras has 1000 classes, slim MobileNet checkpoints 1001: pass '
             '--num-classes 1001 to add the background class 0; "tf" '
             'preprocessing'))


# --- registration ------------------------------------------------------------

SPECS = {}
TABLES = {}


def _register():
  for model, multiplier in _MULTIPLIERS.items():
    SPECS[model] = functools.partial(_spec, multiplier)
    TABLES[(model, 'slim')] = functools.partial(_rows.slim_table, model,
                                                SPECS[model], _HEAD)
    TABLES[(model, 'keras')] = functools.partial(_keras_table, model)


_register()
