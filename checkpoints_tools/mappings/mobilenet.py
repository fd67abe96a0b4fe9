"""Mapping tables of MobileNet v2 and v3 (`nets.mobilenet`).

[1] Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, Liang-Chieh
    Chen. MobileNetV2: Inverted Residuals and Linear Bottlenecks.
    arXiv:1801.04381
[2] Andrew Howard et al. Searching for MobileNetV3. arXiv:1905.02244

Derived from the variables the network builds (`mappings.slim_variables`:
its conv_defs, one op after the other):

- slim naming of mobilenet_v2 and mobilenet_v2_140;
- each <-> tf_keras.applications.MobileNetV2(alpha=1.0, 1.4) (`.h5`, and
  Keras 3 `.weights.h5`);
- mobilenet_v3_small, _large, _small_minimalistic, _large_minimalistic <->
  tf_keras.applications.MobileNetV3Small / MobileNetV3Large (minimalistic
  or not; `.h5`, and Keras 3), whose layers carry slim's own scopes
  (`expanded_conv_1/squeeze_excite/Conv`, `Conv_1/BatchNorm`; the logits
  conv is `Logits`). Keras' squeeze-excite gate is relu6(x + 3) / 6, slim's
  relu6(x + 3) * 0.16667: the small and large networks convert into the
  variants `keras_mobilenet_v3_small` / `_large` that use Keras' gate
  (`checkpoints_tools.variants`); the minimalistic ones have no gate.

  slim (MobilenetV2/)                    Keras
  Conv (+ /BatchNorm)                    Conv1, bn_Conv1
  expanded_conv/depthwise, /project      expanded_conv_depthwise(_BN), ..
  expanded_conv_<i>/expand, /depthwise,  block_<i>_expand(_BN), ..
    /project
  Conv_1 (+ /BatchNorm)                  Conv_1, Conv_1_bn
  Logits/Conv2d_1c_1x1                   predictions (Dense)

The networks are the same: Keras' explicitly padded strided depthwise
convolutions (`correct_pad`) equal TensorFlow's SAME, batch-norm epsilon
1e-3 both, and the layers follow one another, so `model.layers` order is
slim's creation order. mobilenet_v2_035 has no Keras counterpart: Keras
keeps 1280 channels in Conv_1 for alpha < 1, slim scales them (448).

Typical use:

   from checkpoints_tools import mappings
   table = mappings.get_table('mobilenet_v2_140', 'keras')
   table.source_kwargs  # {'alpha': 1.4}
"""

import functools
import re

from checkpoints_tools import mappings
from checkpoints_tools.mappings import Table
from checkpoints_tools.mappings import _rows

_SCOPE = 'MobilenetV2'
_LOGITS = _SCOPE + '/Logits/Conv2d_1c_1x1'
_HEAD = (_LOGITS + '/weights', _LOGITS + '/biases')
_KERAS_V2_ALPHAS = {'mobilenet_v2': 1.0, 'mobilenet_v2_140': 1.4}
_FIXED = {'Conv': ('Conv1', 'bn_Conv1'), 'Conv_1': ('Conv_1', 'Conv_1_bn')}
_UNIT = re.compile(r'^expanded_conv(?:_(\d+))?/(expand|depthwise|project)$')


def _keras_layers(scope):
  """(Keras conv layer, its batch norm) of a slim conv scope under
  MobilenetV2/."""
  if scope in _FIXED:
    return _FIXED[scope]
  block, part = _UNIT.match(scope).groups()
  layer = ('block_%s_%s' % (block, part) if block else
           'expanded_conv_' + part)
  return layer, layer + '_BN'


def _keras_v2_table(model):
  rows = _rows.KerasRows()
  for name, _ in mappings.slim_variables(model, 1000):
    scope, weight = name.rsplit('/', 1)
    if scope == _LOGITS:
      if weight == 'weights':
        rows.conv('predictions', _LOGITS, bias=True,
                  transform='conv1x1_dense', classes=True)
      continue
    if scope.endswith('/BatchNorm'):
      if weight == 'gamma':
        conv_scope = scope[:-len('/BatchNorm')]
        rows.bn(_keras_layers(conv_scope[len(_SCOPE) + 1:])[1], scope)
      continue
    conv, _ = _keras_layers(scope[len(_SCOPE) + 1:])
    if weight == 'depthwise_weights':
      rows.depthwise(conv, scope)
    else:
      rows.conv(conv, scope)
  return Table(
      model, 'keras', rows.rows, head=_HEAD,
      source_model='tf_keras.applications.MobileNetV2',
      source_kwargs={'alpha': _KERAS_V2_ALPHAS[model]}, bn_epsilon=1e-3,
      notes=('the same network (Keras pads its strided depthwise convs as '
             "TensorFlow's SAME)",
             'Keras has 1000 classes, slim MobileNet checkpoints 1001: pass '
             '--num-classes 1001 to add the background class 0; "tf" '
             'preprocessing (the same as slim\'s "inception")'))


# Keras MobileNetV3 application and its arguments, and the variant that
# reproduces it, by slim model.
_KERAS_V3 = {
    'mobilenet_v3_small': ('MobileNetV3Small', False,
                           'keras_mobilenet_v3_small'),
    'mobilenet_v3_large': ('MobileNetV3Large', False,
                           'keras_mobilenet_v3_large'),
    'mobilenet_v3_small_minimalistic': ('MobileNetV3Small', True, None),
    'mobilenet_v3_large_minimalistic': ('MobileNetV3Large', True, None),
}
_V3_SCOPE = 'MobilenetV3'
_V3_LOGITS = _V3_SCOPE + '/Logits/Conv2d_1c_1x1'
_V3_HEAD = (_V3_LOGITS + '/weights', _V3_LOGITS + '/biases')
_KERAS_WEIGHT = {'weights': 'kernel', 'biases': 'bias',
                 'depthwise_weights': 'depthwise_kernel'}


def _keras_v3_table(model):
  application, minimalistic, variant = _KERAS_V3[model]
  rows = _rows.KerasRows()
  for name, _ in mappings.slim_variables(model, 1000):
    scope, weight = name.rsplit('/', 1)
    layer = scope[len(_V3_SCOPE) + 1:]
    if scope == _V3_LOGITS:
      rows.weight('Logits', _KERAS_WEIGHT[weight], name, classes=True)
    else:
      rows.weight(layer, _KERAS_WEIGHT.get(weight, weight), name)
  gate = ("Keras' squeeze-excite gate is relu6(x + 3) / 6, slim's "
          'relu6(x + 3) * 0.16667: variant %s uses Keras\' (6e-4 of the '
          "logits' range apart)" % variant) if variant else (
              'the same network (minimalistic: no squeeze-excite)')
  return Table(
      model, 'keras', rows.rows, head=_V3_HEAD, variant=variant,
      source_model='tf_keras.applications.' + application,
      source_kwargs={'minimalistic': minimalistic,
                     'include_preprocessing': False}, bn_epsilon=1e-3,
      notes=(gate,
             "Keras' layers are slim's scopes; its model rescales [0, 255] "
             'inputs by default (include_preprocessing, no weights): the '
             'converted weights take "tf" preprocessing, [-1, 1]',
             'Keras has 1000 classes, slim MobileNet checkpoints 1001: pass '
             '--num-classes 1001 to add the background class 0'))


# --- torchvision (torch naming) ----------------------------------------------

# slim model -> (its torchvision model, its variant, the torch keys of the
# logits and, for v3, of Conv_2).
_TORCHVISION = {
    'mobilenet_v2': ('mobilenet_v2', 'torchvision_mobilenet_v2',
                     'classifier.1', None),
    'mobilenet_v3_small': ('mobilenet_v3_small',
                           'torchvision_mobilenet_v3_small', 'classifier.3',
                           'classifier.0'),
    'mobilenet_v3_large': ('mobilenet_v3_large',
                           'torchvision_mobilenet_v3_large', 'classifier.3',
                           'classifier.0'),
}


def _units(model):
  """[(unit, [(part, [(slim name, weight)])])] of `model`'s variables:
  unit 'Conv', 'expanded_conv_3', ...; part 'expand', 'depthwise',
  'squeeze_excite', 'project', or '' for the unit's own conv."""
  units = []
  for name, _ in mappings.slim_variables(model, 1000):
    parts = name.split('/')
    unit = parts[1] if parts[1] != 'Logits' else '/'.join(parts[1:3])
    part = parts[2] if parts[1].startswith('expanded_conv') else ''
    if not units or units[-1][0] != unit:
      units.append((unit, []))
    if not units[-1][1] or units[-1][1][-1][0] != part:
      units[-1][1].append((part, []))
    units[-1][1][-1][1].append(name)
  return units


def _torch_unit(torch, prefix, parts, version):
  """Rows of one expanded_conv: torch numbers its modules in order; a v2
  projection is a conv then a batch norm, the rest conv + norm pairs."""
  index = 0
  for part, names in parts:
    scope = names[0].rsplit('/', 1)[0]
    key = '%s.%d' % (prefix, index)
    if part == 'squeeze_excite':
      torch.conv(key + '.fc1', scope, bias=True)
      torch.conv(key + '.fc2', scope[:-len('Conv')] + 'Conv_1', bias=True)
    elif part == 'project' and version == 2:
      torch.conv(key, scope)
      torch.bn('%s.%d' % (prefix, index + 1), scope + '/BatchNorm')
      index += 1
    else:
      transform = ('depthwise_oihw' if part == 'depthwise' else 'hwio_oihw')
      torch.weight(key + '.0', names[0], transform)
      torch.bn(key + '.1', scope + '/BatchNorm')
    index += 1


def _torchvision_table(model):
  source, variant, logits_key, conv_2_key = _TORCHVISION[model]
  version = 2 if model == 'mobilenet_v2' else 3
  units = _units(model)
  root = units[0][1][0][1][0].split('/')[0]  # MobilenetV2, MobilenetV3
  torch = _rows.TorchRows()
  feature = 0
  for unit, parts in units:
    scope = '%s/%s' % (root, unit)
    if unit == 'Conv_2':
      torch.conv(conv_2_key, scope, bias=True, transform='conv1x1_linear')
    elif unit == 'Logits/Conv2d_1c_1x1':
      torch.conv(logits_key, scope, bias=True, transform='conv1x1_linear',
                 classes=True)
    elif unit.startswith('expanded_conv'):
      _torch_unit(torch, 'features.%d.%s' % (
          feature, 'conv' if version == 2 else 'block'), parts, version)
      feature += 1
    else:
      torch.weight('features.%d.0' % feature, scope + '/weights')
      torch.bn('features.%d.1' % feature, scope + '/BatchNorm')
      feature += 1
  logits = '%s/Logits/Conv2d_1c_1x1' % root
  return Table(
      model, 'torch', torch.rows, head=(logits + '/weights',
                                        logits + '/biases'),
      variant=variant, source_model='torchvision.models.' + source,
      bn_epsilon=1e-5 if version == 2 else 1e-3,
      notes=('torch pads its convs symmetrically (variant %s: explicit '
             'padding), %s' % (variant, 'batch-norm epsilon 1e-5' if
                               version == 2 else
                               "Keras' squeeze-excite gate relu6(x + 3) / 6"),
             '1000 classes, no background class; "torch" preprocessing'))


# --- registration ------------------------------------------------------------

# The slim variables come from the built graph (mappings.slim_variables).
SPECS = {}
TABLES = {}


def _register():
  for model in _KERAS_V2_ALPHAS:
    TABLES[(model, 'slim')] = functools.partial(
        _rows.slim_table, model,
        functools.partial(mappings.slim_variables, model), _HEAD)
    TABLES[(model, 'keras')] = functools.partial(_keras_v2_table, model)
  for model in _KERAS_V3:
    TABLES[(model, 'slim')] = functools.partial(
        _rows.slim_table, model,
        functools.partial(mappings.slim_variables, model), _V3_HEAD)
    TABLES[(model, 'keras')] = functools.partial(_keras_v3_table, model)
  for model in _TORCHVISION:
    TABLES[(model, 'torch')] = functools.partial(_torchvision_table, model)


_register()
