"""Mapping tables of the ResNet families (resnet_v1, resnet_v2, resnext/tv).

Everything is derived from the block specifications of `nets`
(`resnet_utils.UNITS_PER_BLOCK`, `BASE_DEPTHS`, `BLOCK_STRIDES`, the
`*_block` builders), so each depth gets its table for free:

- slim naming: the variables of each model with their shapes (the cheap
  spec `SPECS[model](num_classes)`, checked against the built graph in the
  tests);
- resnet_v1_* / resnet_v2_* <-> "slim-torch" safetensors (mechanical names,
  `mappings.slim_torch_key`, OIHW kernels, Linear logits);
- resnet_v2_50/101/152 <-> tf_keras.applications ResNet50V2/101V2/152V2;
- keras_resnet_v1_50/101/152 (the `checkpoints_tools.variants` model, slim
  names in scope resnet_v1_<depth>) <-> tf_keras.applications
  ResNet50/101/152;
- resnext50_32x4d, resnext101_32x4d <-> keras-applications 1.0.8
  ResNeXt50/101;
- tv_resnet50/101/152, resnext* <-> torchvision ResNet / ResNeXt;
- tv_resnet50/101/152 <-> paddle.vision ResNet.

Keras ResNetV2 layer names: `conv<b+1>_block<u>_{preact_bn,0_conv,1_conv,
1_bn,2_conv,2_bn,3_conv}` are unit u of slim's block b (preact, shortcut,
conv1, conv1/BatchNorm, conv2, conv2/BatchNorm, conv3); `conv1_conv` is
conv1, `post_bn` postnorm and `predictions` (Dense) the 1x1 logits. Both put
the stride on the LAST unit of a block.

Keras ResNet v1 (tf_keras) and ResNeXt (keras-applications) share one
layout: `conv<b+1>_block<u>_{0,1,2,3}_{conv,bn}` are the shortcut, conv1,
conv2 and conv3 of unit u of block b and their batch norms, `conv1_conv` /
`conv1_bn` the root; their model.layers order puts 0_conv after 2_bn and
0_bn after 3_conv. v1 convs have biases (`<scope>/biases`, added before the
batch norm in the variant); ResNeXt's conv2 is a DepthwiseConv2D kernel
(transform `depthwise_grouped_<cardinality>`) and its classifier is `probs`.
"""

import functools

from checkpoints_tools.mappings import Row
from checkpoints_tools.mappings import slim_torch_key
from checkpoints_tools.mappings import Table

# Copies of nets.resnet_utils' block tables would drift; import them.
from nets import resnet_utils

_BN = ('beta', 'gamma', 'moving_mean', 'moving_variance')

# (depth, cardinality, base_width) of the torchvision-layout models, as their
# model functions in nets/resnext.py call `_blocks`.
_TORCHVISION = {
    'tv_resnet50': (50, 1, 64),
    'tv_resnet101': (101, 1, 64),
    'tv_resnet152': (152, 1, 64),
    'resnext50_32x4d': (50, 32, 4),
    'resnext101_32x4d': (101, 32, 4),
    'resnext101_32x8d': (101, 32, 8),
    'resnext101_64x4d': (101, 64, 4),
}


# keras-applications 1.0.8 has ResNeXt50 and ResNeXt101, both 32x4d.
_KERAS_APPLICATIONS_RESNEXT = ('resnext50_32x4d', 'resnext101_32x4d')


def _units(family, depth, cardinality=1, base_width=64):
  """Yields (unit scope, depth_in, depth, width, stride, groups, shortcut).

  `unit scope` is 'block<b>/unit_<u>/<bottleneck scope>', relative to the
  model scope. The unit arguments come from the family's block builder
  ('keras_resnet_v1': `variants.keras_resnet_v1_blocks`).
  """
  if family == 'keras_resnet_v1':
    from checkpoints_tools import variants  # pylint: disable=g-import-not-at-top
    blocks = variants.keras_resnet_v1_blocks(depth)
    unit_scope = 'bottleneck_v1'
  elif family == 'resnext':
    from nets import resnext  # pylint: disable=g-import-not-at-top
    strides = (1, 2, 2, 2)
    blocks = [
        resnext.resnext_block('block%d' % (i + 1), base, units, stride,
                              cardinality=cardinality, base_width=base_width)
        for i, (base, units, stride) in enumerate(zip(
            resnet_utils.BASE_DEPTHS, resnet_utils.UNITS_PER_BLOCK[depth],
            strides))]
    unit_scope = 'bottleneck'
  else:
    module = __import__('nets.' + family, fromlist=[family])
    builder = getattr(module, family + '_block')
    blocks = [
        builder('block%d' % (i + 1), base, units, stride)
        for i, (base, units, stride) in enumerate(zip(
            resnet_utils.BASE_DEPTHS, resnet_utils.UNITS_PER_BLOCK[depth],
            resnet_utils.BLOCK_STRIDES))]
    unit_scope = 'bottleneck_' + family.split('_')[1]
  depth_in = 64
  for block in blocks:
    for u, args in enumerate(block.args):
      out = args['depth']
      stride = args['stride']
      groups = args.get('cardinality', 1)
      if family == 'resnext':
        shortcut = out != depth_in or stride != 1
      else:
        shortcut = out != depth_in
      yield ('%s/unit_%d/%s' % (block.scope, u + 1, unit_scope), depth_in, out,
             args['depth_bottleneck'], stride, groups, shortcut)
      depth_in = out


def _conv(scope, k, cin, cout, batch_norm=True, groups=1, biases=None):
  """Variables of a conv; `biases` defaults to "without batch norm"."""
  yield scope + '/weights', (k, k, cin // groups, cout)
  if biases or (biases is None and not batch_norm):
    yield scope + '/biases', (cout,)
  if batch_norm:
    for p in _BN:
      yield '%s/BatchNorm/%s' % (scope, p), (cout,)


def _bn(scope, channels):
  for p in _BN:
    yield '%s/%s' % (scope, p), (channels,)


def _logits(model, num_classes, channels=2048):
  if num_classes:
    yield model + '/logits/weights', (1, 1, channels, num_classes)
    yield model + '/logits/biases', (num_classes,)


def _spec(model, family, depth, num_classes, cardinality=1, base_width=64):
  """[(slim name, shape)] in the order the graph creates the variables.

  `model` is the model's variable scope (keras_resnet_v1_<d>: resnet_v1_<d>).
  """
  v2 = family == 'resnet_v2'
  # Keras v1 convs have biases and batch norm.
  biases = True if family == 'keras_resnet_v1' else None
  conv = functools.partial(_conv, biases=biases)
  out = list(conv(model + '/conv1', 7, 3, 64, batch_norm=not v2))
  channels = 64
  for scope, cin, cout, width, _, groups, shortcut in _units(
      family, depth, cardinality, base_width):
    unit = model + '/' + scope
    if v2:
      out += _bn(unit + '/preact', cin)
    if shortcut:
      out += conv(unit + '/shortcut', 1, cin, cout, batch_norm=not v2)
    out += conv(unit + '/conv1', 1, cin, width)
    out += conv(unit + '/conv2', 3, width, width, groups=groups)
    out += conv(unit + '/conv3', 1, width, cout, batch_norm=not v2)
    channels = cout
  if v2:
    out += _bn(model + '/postnorm', channels)
  out += _logits(model, num_classes, channels)
  return out


def _head(model):
  return (model + '/logits/weights', model + '/logits/biases')


def _slim_table(model, spec, scope=None, source_model=None):
  """Slim names of `model` (variable scope `scope`, default `model`).

  `source_model`: for a model that is not registered (a variant), the model
  its weights reproduce (e.g. for `mappings.preprocessing`).
  """
  head = _head(scope or model)
  rows = [Row(name, name, 'identity', name in head) for name, _ in spec(1000)]
  return Table(model, 'slim', rows, head=head, source_model=source_model)


def _slim_torch_table(model, spec):
  rows = []
  for name, shape in spec(1000):
    if name.endswith('/logits/weights'):
      transform = 'conv1x1_linear'
    elif len(shape) == 4:
      transform = 'hwio_oihw'
    else:
      transform = 'identity'
    rows.append(Row(name, slim_torch_key(name), transform,
                    name in _head(model)))
  return Table(model, 'torch', rows, head=_head(model),
               source_model='slim-torch (mechanical names)',
               notes=('keys: mappings.slim_torch_key(slim name); conv '
                      'kernels OIHW, logits a Linear [classes, 2048]',))


# --- Keras ResNetV2 ----------------------------------------------------------

_KERAS_BN = ('gamma', 'beta', 'moving_mean', 'moving_variance')


def _keras_v2_table(model, depth):
  rows = []

  def conv(layer, scope, bias):
    rows.append(Row(scope + '/weights', layer + '/kernel', 'identity', False))
    if bias:
      rows.append(Row(scope + '/biases', layer + '/bias', 'identity', False))

  def bn(layer, scope):
    for k, s in zip(_KERAS_BN, ('gamma', 'beta', 'moving_mean',
                                'moving_variance')):
      rows.append(Row('%s/%s' % (scope, s), '%s/%s' % (layer, k), 'identity',
                      False))

  conv('conv1_conv', model + '/conv1', True)
  for scope, _, _, _, _, _, shortcut in _units('resnet_v2', depth):
    block, unit = scope.split('/')[:2]
    layer = 'conv%d_block%d' % (int(block[5:]) + 1, int(unit[5:]))
    s = model + '/' + scope
    bn(layer + '_preact_bn', s + '/preact')
    conv(layer + '_1_conv', s + '/conv1', False)
    bn(layer + '_1_bn', s + '/conv1/BatchNorm')
    conv(layer + '_2_conv', s + '/conv2', False)
    bn(layer + '_2_bn', s + '/conv2/BatchNorm')
    # Keras' model.layers is ordered by graph depth: the shortcut conv joins
    # the residual branch at the Add, so it comes just before 3_conv.
    if shortcut:
      conv(layer + '_0_conv', s + '/shortcut', True)
    conv(layer + '_3_conv', s + '/conv3', True)
  bn('post_bn', model + '/postnorm')
  rows.append(Row(model + '/logits/weights', 'predictions/kernel',
                  'conv1x1_dense', True))
  rows.append(Row(model + '/logits/biases', 'predictions/bias', 'identity',
                  True))
  return Table(
      model, 'keras', rows, head=_head(model),
      variant='keras_' + model,
      source_model='tf_keras.applications.ResNet%dV2' % depth,
      bn_epsilon=1.001e-5,
      notes=('Keras zero-pads pool1 by 1 on each side before a VALID 3x3/2 '
             "max-pool; slim's resnet_v2 pads SAME (0 before, 1 after)",
             'Keras batch-norm epsilon is 1.001e-5 (slim: 1e-5)',
             'Keras has 1000 classes, slim resnet_v2 checkpoints 1001: pass '
             '--num-classes 1001 to add the background class 0'))


# --- Keras ResNet v1 (tf_keras) and ResNeXt (keras-applications) ------------


def _keras_v1_layout_table(model, scope, family, depth, cardinality=1,
                           base_width=64):
  """Rows of tf_keras ResNet<depth> or keras-applications ResNeXt<depth>.

  Args:
    model: the table's model name.
    scope: its slim variable scope.
    family: 'keras_resnet_v1' (conv biases, Dense `predictions`) or
      'resnext' (no biases, depthwise conv2, Dense `probs`).
    depth, cardinality, base_width: the network.

  Returns:
    The rows, in Keras' model.layers order.
  """
  resnext = family == 'resnext'
  rows = []

  def conv(layer, slim_scope, transform='identity', weight='kernel'):
    rows.append(Row(slim_scope + '/weights', '%s/%s' % (layer, weight),
                    transform, False))
    if not resnext:
      rows.append(Row(slim_scope + '/biases', layer + '/bias', 'identity',
                      False))

  def bn(layer, slim_scope):
    for k in _KERAS_BN:
      rows.append(Row('%s/BatchNorm/%s' % (slim_scope, k),
                      '%s/%s' % (layer, k), 'identity', False))

  conv('conv1_conv', scope + '/conv1')
  bn('conv1_bn', scope + '/conv1')
  for unit_scope, _, _, _, _, groups, shortcut in _units(
      family, depth, cardinality, base_width):
    block, unit = unit_scope.split('/')[:2]
    layer = 'conv%d_block%d' % (int(block[5:]) + 1, int(unit[5:]))
    s = scope + '/' + unit_scope
    conv(layer + '_1_conv', s + '/conv1')
    bn(layer + '_1_bn', s + '/conv1')
    if resnext:
      conv(layer + '_2_conv', s + '/conv2', 'depthwise_grouped_%d' % groups,
           'depthwise_kernel')
    else:
      conv(layer + '_2_conv', s + '/conv2')
    bn(layer + '_2_bn', s + '/conv2')
    # model.layers is ordered by graph depth: the shortcut's conv and batch
    # norm sit one step before the residual's last conv and batch norm.
    if shortcut:
      conv(layer + '_0_conv', s + '/shortcut')
      conv(layer + '_3_conv', s + '/conv3')
      bn(layer + '_0_bn', s + '/shortcut')
    else:
      conv(layer + '_3_conv', s + '/conv3')
    bn(layer + '_3_bn', s + '/conv3')
  dense = 'probs' if resnext else 'predictions'
  rows.append(Row(scope + '/logits/weights', dense + '/kernel',
                  'conv1x1_dense', True))
  rows.append(Row(scope + '/logits/biases', dense + '/bias', 'identity', True))
  return rows


def _keras_v1_table(depth):
  model = 'keras_resnet_v1_%d' % depth
  scope = 'resnet_v1_%d' % depth
  return Table(
      model, 'keras',
      _keras_v1_layout_table(model, scope, 'keras_resnet_v1', depth),
      head=_head(scope), variant=model,
      source_model='tf_keras.applications.ResNet%d' % depth,
      bn_epsilon=1.001e-5,
      notes=('Keras ResNet v1 puts the stride on the 1x1 conv1 of the first '
             'unit of a block and a bias on every conv; slim\'s resnet_v1 '
             'strides the 3x3 conv2 of the last unit and has no conv biases; '
             'its pool1 zero-pads 1 on each side (slim: SAME)',
             'Keras batch-norm epsilon is 1.001e-5 (slim: 1e-5)',
             'Keras has 1000 classes, like slim resnet_v1 checkpoints'))


def _keras_resnext_table(model, depth, cardinality, base_width):
  return Table(
      model, 'keras',
      _keras_v1_layout_table(model, model, 'resnext', depth, cardinality,
                             base_width),
      head=_head(model),
      source_model='keras_applications.resnext.ResNeXt%d' % depth,
      bn_epsilon=1.001e-5,
      notes=('same network as nets.resnext (stride on the 3x3 conv of the '
             'first unit, pool1 padded 1 on each side after the ReLU); the '
             'grouped conv2 is a DepthwiseConv2D kernel [3, 3, width, '
             'width/%d] followed by a sum within each group' % cardinality,
             'keras-applications batch-norm epsilon is 1.001e-5 (resnext_arg_'
             'scope default: 1e-5)',
             'its classifier `probs` applies a softmax; 1000 classes'))


# --- torchvision / Paddle ----------------------------------------------------

def _torchvision_table(model, depth, cardinality, base_width, naming):
  paddle = naming == 'paddle'
  bn_keys = (('weight', 'gamma'), ('bias', 'beta'),
             ('_mean' if paddle else 'running_mean', 'moving_mean'),
             ('_variance' if paddle else 'running_var', 'moving_variance'))
  rows = []

  def conv_bn(prefix, bn_prefix, scope):
    rows.append(Row(scope + '/weights', prefix + '.weight', 'hwio_oihw',
                    False))
    for k, s in bn_keys:
      rows.append(Row('%s/BatchNorm/%s' % (scope, s),
                      '%s.%s' % (bn_prefix, k), 'identity', False))

  conv_bn('conv1', 'bn1', model + '/conv1')
  for scope, _, _, _, _, _, shortcut in _units('resnext', depth, cardinality,
                                               base_width):
    block, unit = scope.split('/')[:2]
    layer = 'layer%s.%d' % (block[5:], int(unit[5:]) - 1)
    s = model + '/' + scope
    conv_bn(layer + '.conv1', layer + '.bn1', s + '/conv1')
    conv_bn(layer + '.conv2', layer + '.bn2', s + '/conv2')
    conv_bn(layer + '.conv3', layer + '.bn3', s + '/conv3')
    if shortcut:
      conv_bn(layer + '.downsample.0', layer + '.downsample.1',
              s + '/shortcut')
  # torch Linear weight is [out, in]; paddle Linear weight is [in, out].
  rows.append(Row(model + '/logits/weights', 'fc.weight',
                  'conv1x1_dense' if paddle else 'conv1x1_linear', True))
  rows.append(Row(model + '/logits/biases', 'fc.bias', 'identity', True))
  if paddle:
    source = 'paddle.vision.models.resnet%d' % depth
  elif cardinality == 1:
    source = 'torchvision.models.resnet%d' % depth
  else:
    source = 'torchvision.models.%s' % model
  return Table(model, naming, rows, head=_head(model), source_model=source,
               bn_epsilon=1e-5,
               notes=('1000 classes, no background class',))


# --- registration ------------------------------------------------------------

SPECS = {}
TABLES = {}


def _register():
  for family in ('resnet_v1', 'resnet_v2'):
    for depth in resnet_utils.UNITS_PER_BLOCK:
      model = '%s_%d' % (family, depth)
      spec = functools.partial(_spec, model, family, depth)
      SPECS[model] = spec
      TABLES[(model, 'slim')] = functools.partial(_slim_table, model, spec)
      TABLES[(model, 'torch')] = functools.partial(_slim_torch_table, model,
                                                   spec)
      if family == 'resnet_v2' and depth in (50, 101, 152):
        TABLES[(model, 'keras')] = functools.partial(_keras_v2_table, model,
                                                     depth)
  for depth in (50, 101, 152):
    model = 'keras_resnet_v1_%d' % depth
    scope = 'resnet_v1_%d' % depth
    spec = functools.partial(_spec, scope, 'keras_resnet_v1', depth)
    SPECS[model] = spec
    TABLES[(model, 'slim')] = functools.partial(
        _slim_table, model, spec, scope,
        'tf_keras.applications.ResNet%d' % depth)
    TABLES[(model, 'keras')] = functools.partial(_keras_v1_table, depth)
  for model, (depth, cardinality, width) in _TORCHVISION.items():
    spec = functools.partial(_spec, model, 'resnext', depth,
                             cardinality=cardinality, base_width=width)
    SPECS[model] = spec
    TABLES[(model, 'slim')] = functools.partial(_slim_table, model, spec)
    TABLES[(model, 'torch')] = functools.partial(
        _torchvision_table, model, depth, cardinality, width, 'torch')
    if cardinality == 1:
      TABLES[(model, 'paddle')] = functools.partial(
          _torchvision_table, model, depth, cardinality, width, 'paddle')
    if model in _KERAS_APPLICATIONS_RESNEXT:
      TABLES[(model, 'keras')] = functools.partial(
          _keras_resnext_table, model, depth, cardinality, width)


_register()
