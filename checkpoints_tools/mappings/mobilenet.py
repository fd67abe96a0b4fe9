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

- torchvision mobilenet_v2 / mobilenet_v3_small / _large (torch naming,
  `features.<i>...`) <-> the variants `torchvision_mobilenet_*`;
- timm's (`conv_stem`, `blocks.<stage>.<block>.conv_dw`, `conv_head`,
  `classifier`; a stage is a run of blocks of one output depth):
  mobilenetv2_100/140 and mobilenetv3_small/large_100 <-> the variants
  `timm_mobilenetv2_100`, ...; tf_mobilenetv3_small/large_100 (ports of
  the TensorFlow checkpoints, the same tensors) <-> `timm_tf_mobilenetv3_*`;
  tf_mobilenetv3_small/large_minimal_100 <-> slim's minimalistic networks.

The Keras networks are the same: Keras' explicitly padded strided depthwise
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
_LOGITS_UNIT = 'Logits/Conv2d_1c_1x1'
_LOGITS = _SCOPE + '/' + _LOGITS_UNIT
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


def _units(model):
  """`model`'s slim variable names grouped by unit and part, in creation
  order: [(unit, [(part, [slim name])])], unit 'Conv', 'expanded_conv_3',
  ..., 'Conv_1', 'Logits/Conv2d_1c_1x1'; part 'expand', 'depthwise',
  'squeeze_excite', 'project', or '' for a unit that is one conv."""
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


def _keras_v2_table(model):
  rows = _rows.KerasRows()
  for unit, parts in _units(model):
    for part, names in parts:
      scope = names[0].rsplit('/', 1)[0]
      if unit == _LOGITS_UNIT:
        rows.conv('predictions', scope, bias=True, transform='conv1x1_dense',
                  classes=True)
        continue
      conv, bn = _keras_layers('/'.join(filter(None, (unit, part))))
      if part == 'depthwise':
        rows.depthwise(conv, scope)
      else:
        rows.conv(conv, scope)
      rows.bn(bn, scope + '/BatchNorm')
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
_V3_LOGITS = _V3_SCOPE + '/' + _LOGITS_UNIT
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


def _squeeze_excite(torch, key, scope, reduce_key, expand_key):
  """The two 1x1 convs (with biases) of squeeze-excite `scope` (slim's
  .../squeeze_excite/Conv and Conv_1) as torch modules `key`.<reduce_key>
  and `key`.<expand_key>."""
  torch.conv('%s.%s' % (key, reduce_key), scope, bias=True)
  torch.conv('%s.%s' % (key, expand_key), scope[:-len('Conv')] + 'Conv_1',
             bias=True)


def _torch_unit(torch, prefix, parts, version):
  """Rows of one expanded_conv: torch numbers its modules in order; a v2
  projection is a conv then a batch norm, the rest conv + norm pairs."""
  index = 0
  for part, names in parts:
    scope = names[0].rsplit('/', 1)[0]
    key = '%s.%d' % (prefix, index)
    if part == 'squeeze_excite':
      _squeeze_excite(torch, key, scope, 'fc1', 'fc2')
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
  root = 'MobilenetV%d' % version
  torch = _rows.TorchRows()
  feature = 0
  for unit, parts in _units(model):
    scope = '%s/%s' % (root, unit)
    if unit == 'Conv_2':
      torch.conv(conv_2_key, scope, bias=True, transform='conv1x1_linear')
    elif unit == _LOGITS_UNIT:
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
  logits = '%s/%s' % (root, _LOGITS_UNIT)
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


# --- timm (torch naming) ----------------------------------------------------

# Our model (a variant, or the slim network itself) -> (timm's model, its
# batch-norm epsilon, the timm model with the same tensors, if any). timm's
# own MobileNets pad as torch and use its epsilon; its tf_ ports of the slim
# checkpoints are slim's networks (with Keras' gate: the same variants).
_TIMM = {
    'timm_mobilenetv2_100': ('mobilenetv2_100', 1e-5, None),
    'timm_mobilenetv2_140': ('mobilenetv2_140', 1e-5, None),
    'timm_mobilenetv3_small_100': ('mobilenetv3_small_100', 1e-5,
                                   'timm_tf_mobilenetv3_small_100'),
    'timm_mobilenetv3_large_100': ('mobilenetv3_large_100', 1e-5,
                                   'timm_tf_mobilenetv3_large_100'),
    'timm_tf_mobilenetv3_small_100': ('tf_mobilenetv3_small_100', 1e-3,
                                      'timm_mobilenetv3_small_100'),
    'timm_tf_mobilenetv3_large_100': ('tf_mobilenetv3_large_100', 1e-3,
                                      'timm_mobilenetv3_large_100'),
    'mobilenet_v3_small_minimalistic': ('tf_mobilenetv3_small_minimal_100',
                                        1e-3, None),
    'mobilenet_v3_large_minimalistic': ('tf_mobilenetv3_large_minimal_100',
                                        1e-3, None),
}


def _timm_block(torch, key, parts):
  """Rows of one expanded_conv as timm's block `key`: a block without an
  expansion is its DepthwiseSeparableConv (conv_dw, bn1, se, conv_pw, bn2),
  one with it an InvertedResidual (conv_pw, bn1, conv_dw, bn2, se,
  conv_pwl, bn3)."""
  separable = parts[0][0] != 'expand'
  layers = {'expand': ('conv_pw', 'bn1'),
            'depthwise': ('conv_dw', 'bn1' if separable else 'bn2'),
            'project': ('conv_pw', 'bn2') if separable else ('conv_pwl',
                                                             'bn3')}
  for part, names in parts:
    scope = names[0].rsplit('/', 1)[0]
    if part == 'squeeze_excite':
      _squeeze_excite(torch, key, scope, 'se.conv_reduce',
                      'se.conv_expand')
      continue
    conv, bn = layers[part]
    torch.weight('%s.%s' % (key, conv), names[0],
                 'depthwise_oihw' if part == 'depthwise' else 'hwio_oihw')
    torch.bn('%s.%s' % (key, bn), scope + '/BatchNorm')


def _timm_rows(model):
  """Rows of timm's MobileNetV2 / V3 (EfficientNet-style `blocks.<stage>.
  <block>`; a stage is a run of blocks of one output depth, V3's last 1x1
  conv a stage of its own)."""
  shapes = dict(mappings.slim_variables(model, 1000))
  root = next(iter(shapes)).split('/')[0]
  torch = _rows.TorchRows()
  stage, block, depth = -1, 0, None
  for unit, parts in _units(model):
    scope = '%s/%s' % (root, unit)
    if unit == 'Conv':
      torch.weight('conv_stem', scope + '/weights')
      torch.bn('bn1', scope + '/BatchNorm')
    elif unit.startswith('expanded_conv'):
      project = dict(parts)['project'][0]
      if shapes[project][-1] != depth:
        stage, block, depth = stage + 1, 0, shapes[project][-1]
      _timm_block(torch, 'blocks.%d.%d' % (stage, block), parts)
      block += 1
    elif unit == 'Conv_1' and root == 'MobilenetV3':
      torch.weight('blocks.%d.0.conv' % (stage + 1), scope + '/weights')
      torch.bn('blocks.%d.0.bn1' % (stage + 1), scope + '/BatchNorm')
    elif unit == 'Conv_1':
      torch.weight('conv_head', scope + '/weights')
      torch.bn('bn2', scope + '/BatchNorm')
    elif unit == 'Conv_2':
      torch.conv('conv_head', scope, bias=True)
    else:
      torch.conv('classifier', scope, bias=True, transform='conv1x1_linear',
                 classes=True)
  return root, torch.rows


def _timm_table(model):
  source, epsilon, twin = _TIMM[model]
  root, rows = _timm_rows(model)
  logits = '%s/%s' % (root, _LOGITS_UNIT)
  variant = model if model.startswith('timm_') else None
  padding = ('slim\'s padding' if source.startswith('tf_') else
             "torch's symmetric padding")
  return Table(
      model, 'torch', rows, head=(logits + '/weights', logits + '/biases'),
      variant=variant, source_model='timm.models.' + source,
      bn_epsilon=epsilon,
      notes=('timm %s: %s, batch-norm epsilon %g%s' % (
          source, padding, epsilon,
          ", Keras' squeeze-excite gate" if variant and 'v3' in model
          else ''),) +
      (('a timm %s file has the same tensors: convert it with --model %s'
        % (_TIMM[twin][0], twin),) if twin else ()) +
      ('1000 classes, no background class',))


# --- registration ------------------------------------------------------------

# The slim variables come from the built graph (mappings.slim_variables).
SPECS = {}
TABLES = {}


def _slim(model, head):
  """The builder of `model`'s slim table (variables from the built graph)."""
  return functools.partial(_rows.slim_table, model,
                           functools.partial(mappings.slim_variables, model),
                           head)


def _register():
  for model in _KERAS_V2_ALPHAS:
    TABLES[(model, 'slim')] = _slim(model, _HEAD)
    TABLES[(model, 'keras')] = functools.partial(_keras_v2_table, model)
  for model in _KERAS_V3:
    TABLES[(model, 'slim')] = _slim(model, _V3_HEAD)
    TABLES[(model, 'keras')] = functools.partial(_keras_v3_table, model)
  for model in _TORCHVISION:
    TABLES[(model, 'torch')] = functools.partial(_torchvision_table, model)
  for model in _TIMM:
    TABLES.setdefault((model, 'slim'),
                      _slim(model, _V3_HEAD if 'v3' in model else _HEAD))
    TABLES[(model, 'torch')] = functools.partial(_timm_table, model)

_register()
