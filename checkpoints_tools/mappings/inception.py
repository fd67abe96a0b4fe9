"""Mapping tables of Inception v3 (`nets.inception_v3`).

[1] Christian Szegedy et al. Rethinking the Inception Architecture for
    Computer Vision. arXiv:1512.00567

Derived from `nets.inception_v3`'s sections (the Conv / Pool / Mixed / Fork
specs that build the network), walked once per use by `_walk`:

- slim naming of inception_v3, with its auxiliary classifier;
- inception_v3 <-> tf_keras.applications.InceptionV3 (`.h5`, and Keras 3
  `.weights.h5`);
- torchvision_inception_v3 <-> torchvision `inception_v3` and
  timm_inception_v3 <-> timm `inception_v3` (torch naming; the variants of
  `checkpoints_tools.variants`: batch norms with a scale, average pools
  that count their padding, as torch builds them; timm's has no AuxLogits).
  torch names a block's convs by kernel (`Mixed_5b.branch5x5_1`), listed
  here in slim's order, one list per kind of block.

Keras builds slim's network: the same convolutions in the same order, each
a bias-free Conv2D, a BatchNormalization(scale=False, epsilon 1e-3) and a
ReLU, as slim's inception arg scope; the same pools (Keras' 'same' average
pool leaves the padding out of the mean, as TensorFlow's), and a global
average pool where slim pools 8x8 VALID (the whole map at 299x299). It has
no auxiliary classifier: a checkpoint converted from Keras has no
InceptionV3/AuxLogits (build it with create_aux_logits=False, or fine-tune
with --checkpoint_exclude_scopes=InceptionV3/AuxLogits), and converting a
slim checkpoint to Keras leaves AuxLogits out, saying so.

Keras names these layers by creation count (`conv2d_17`,
`batch_normalization_17`) and stores them in `model.layers` order, which
for parallel branches is not the creation order: `_keras_order.LayerGraph`
derives it from the same walk.

Typical use:

   from checkpoints_tools import mappings
   table = mappings.get_table('inception_v3', 'keras')
   table.by_slim['InceptionV3/Mixed_5b/Branch_1/Conv2d_0a_1x1/weights']
   # Row(source='conv2d_6/kernel', ...)
"""

import functools

from checkpoints_tools import mappings
from checkpoints_tools.mappings import Table
from checkpoints_tools.mappings import _keras_order
from checkpoints_tools.mappings import _rows

from nets import inception_utils  # pylint: disable=g-bad-import-order
from nets import inception_v3

_MODEL = 'inception_v3'
_SCOPE = 'InceptionV3'
_SECTIONS = inception_v3._SECTIONS  # pylint: disable=protected-access
_LOGITS = _SCOPE + '/Logits/Conv2d_1c_1x1'
_HEAD = (_LOGITS + '/weights', _LOGITS + '/biases')
_AUX = _SCOPE + '/AuxLogits'
# The auxiliary classifier on Mixed_6e: (scope, depth, kernel) of its convs
# with batch norm, then its logits conv (see inception_v3._aux_logits).
_AUX_CONVS = (('Conv2d_1b_1x1', 128, 1), ('Conv2d_2a_5x5', 768, 5))
_AUX_LOGITS = _AUX + '/Conv2d_2b_1x1'
_AUX_FROM = 'Mixed_6e'


def _walk(entries, value, visit, prefix):
  """Runs `visit` over `entries` in creation order, threading `value`.

  Args:
    entries: specs (inception_utils Conv, Pool, Mixed, Fork).
    value: what the first entry takes (a channel count, a Keras layer).
    visit: has conv(scope, spec, value), pool(value), concat(values), each
      returning the value of its output.
    prefix: the variable scope of `entries`.

  Returns:
    The value of the last entry's output.
  """
  for entry in entries:
    value = _entry(entry, value, visit, prefix)
  return value


def _entry(entry, value, visit, prefix):
  if isinstance(entry, inception_utils.Mixed):
    return visit.concat([
        _walk(branch, value, visit, '%s/%s/Branch_%d' % (prefix, entry.scope,
                                                         i))
        for i, branch in enumerate(entry.branches)], entry.scope)
  if isinstance(entry, inception_utils.Fork):
    return visit.concat([_entry(sub, value, visit, prefix)
                         for sub in entry.layers])
  if isinstance(entry, inception_utils.Pool):
    return visit.pool(value)
  return visit.conv('%s/%s' % (prefix, entry.scope), entry, value)


def _sections(visit, value):
  """Walks the base; returns (output value, {end point: value})."""
  end_points = {}
  for section in _SECTIONS:
    for entry in section.entries:
      value = _entry(entry, value, visit, _SCOPE)
      end_points[entry.scope] = value
  return value, end_points


class _Variables(object):
  """Visitor listing slim's variables; values are channel counts."""

  def __init__(self):
    self.variables = []

  def conv(self, scope, spec, depth_in):
    kernel = spec.kernel if isinstance(spec.kernel, list) else [spec.kernel] * 2
    self.variables.append((scope + '/weights',
                           tuple(kernel) + (depth_in, spec.depth)))
    # Inception's batch norm has no scale (inception_arg_scope).
    self.variables += [('%s/BatchNorm/%s' % (scope, p), (spec.depth,))
                       for p in _rows.BN[1:]]
    return spec.depth

  def pool(self, depth):
    return depth

  def concat(self, depths, unused_scope=None):
    return sum(depths)


def _logits(scope, depth_in, num_classes):
  return [(scope + '/weights', (1, 1, depth_in, num_classes)),
          (scope + '/biases', (num_classes,))]


def _spec(num_classes):
  """[(slim name, shape)] of inception_v3 in the graph's creation order."""
  visit = _Variables()
  depth, end_points = _sections(visit, 3)
  if num_classes:
    aux_depth = end_points[_AUX_FROM]
    for scope, aux_out, kernel in _AUX_CONVS:
      visit.conv('%s/%s' % (_AUX, scope),
                 inception_utils.Conv(scope, aux_out, [kernel, kernel]),
                 aux_depth)
      aux_depth = aux_out
    visit.variables += _logits(_AUX_LOGITS, aux_depth, num_classes)
    visit.variables += _logits(_LOGITS, depth, num_classes)
  return visit.variables


def _keras_rows():
  """Rows of tf_keras' InceptionV3, in `model.layers` order."""
  layers = _keras_order.ConvBnLayers()
  output, _ = _sections(layers, layers.graph.add('input_1'))
  layers.graph.chain(['avg_pool', 'predictions'], [output])
  rows = _rows.KerasRows()
  for layer in layers.graph.layers():
    if layer.startswith('conv2d'):
      rows.conv(layer, layers.scopes[layer])
    elif layer.startswith('batch_normalization'):
      rows.bn(layer, layers.scopes[layer], scale=False)
    elif layer == 'predictions':
      rows.conv(layer, _LOGITS, bias=True, transform='conv1x1_dense',
                classes=True)
  return rows.rows


def _keras_table():
  return Table(
      _MODEL, 'keras', _keras_rows(), head=_HEAD,
      source_model='tf_keras.applications.InceptionV3', bn_epsilon=1e-3,
      positional=_keras_order.UNNAMED,
      notes=('Keras has no auxiliary classifier: converted checkpoints have '
             'no %s (build with create_aux_logits=False, or fine-tune with '
             '--checkpoint_exclude_scopes=%s)' % (_AUX, _AUX),
             "Keras' conv and batch-norm layers are unnamed (conv2d_N, "
             'batch_normalization_N): matched by the order of their numbers '
             '(creation order), stored in model.layers order',
             'a global average pool where slim pools 8x8 VALID: the same at '
             '299x299',
             'Keras has 1000 classes, slim Inception checkpoints 1001: pass '
             '--num-classes 1001 to add the background class 0; "tf" '
             'preprocessing (the same as slim\'s "inception")'))


def _slim_table(model, spec):
  """The slim naming of `model` (`spec`: its SPECS function), AuxLogits
  optional."""
  return _rows.slim_table(model, spec, _HEAD, optional_scope=_AUX,
                          classes=_HEAD + (_AUX_LOGITS + '/weights',
                                           _AUX_LOGITS + '/biases'))


# --- torchvision and timm (torch naming) -------------------------------------

# torch's names of a Mixed block's convs, in slim's order, by block: the
# blocks differ in their number of convs (35x35, Mixed_6a, 17x17, Mixed_7a,
# 8x8).
_TORCH_BLOCK_CONVS = {
    len(names): names for names in (
        ('branch1x1', 'branch5x5_1', 'branch5x5_2', 'branch3x3dbl_1',
         'branch3x3dbl_2', 'branch3x3dbl_3', 'branch_pool'),
        ('branch3x3', 'branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3'),
        ('branch1x1', 'branch7x7_1', 'branch7x7_2', 'branch7x7_3',
         'branch7x7dbl_1', 'branch7x7dbl_2', 'branch7x7dbl_3',
         'branch7x7dbl_4', 'branch7x7dbl_5', 'branch_pool'),
        ('branch3x3_1', 'branch3x3_2', 'branch7x7x3_1', 'branch7x7x3_2',
         'branch7x7x3_3', 'branch7x7x3_4'),
        ('branch1x1', 'branch3x3_1', 'branch3x3_2a', 'branch3x3_2b',
         'branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3a',
         'branch3x3dbl_3b', 'branch_pool'))}
_TORCH_AUX = (('conv0', 'Conv2d_1b_1x1'), ('conv1', 'Conv2d_2a_5x5'))
_TORCH_MODELS = {'torchvision_inception_v3': 'torchvision.models.inception_v3',
                 'timm_inception_v3': 'timm.models.inception_v3'}


class _ConvScopes(object):
  """Visitor collecting the slim scopes of the convs, in order."""

  def __init__(self):
    self.scopes = []

  def conv(self, scope, unused_spec, value):
    self.scopes.append(scope)
    return value

  def pool(self, value):
    return value

  def concat(self, values, unused_scope=None):
    return values[0]


def _torch_rows(with_aux):
  """Rows of torchvision's Inception3 (timm's without AuxLogits), in
  state-dict order: AuxLogits follow Mixed_6e."""
  torch = _rows.TorchRows()
  for section in _SECTIONS:
    for entry in section.entries:
      if isinstance(entry, inception_utils.Pool):
        continue
      visit = _ConvScopes()
      _entry(entry, None, visit, _SCOPE)
      if isinstance(entry, inception_utils.Mixed):
        names = _TORCH_BLOCK_CONVS[len(visit.scopes)]
      else:
        names = ('',)
      for name, scope in zip(names, visit.scopes):
        torch.conv_bn('.'.join(filter(None, (entry.scope, name))), scope)
      if entry.scope == _AUX_FROM and with_aux:
        for key, scope in _TORCH_AUX:
          torch.conv_bn('AuxLogits.' + key, '%s/%s' % (_AUX, scope))
        torch.conv('AuxLogits.fc', _AUX_LOGITS, bias=True,
                   transform='conv1x1_linear', classes=True)
  torch.conv('fc', _LOGITS, bias=True, transform='conv1x1_linear',
             classes=True)
  return torch.rows


def _torch_table(model):
  with_aux = model.startswith('torchvision')
  return Table(
      model, 'torch', _torch_rows(with_aux), head=_HEAD, variant=model,
      source_model=_TORCH_MODELS[model], bn_epsilon=1e-3,
      notes=("torch's Inception v3: the blocks' 3x3 average pools count the "
             'zero padding (variant %s), and the batch norms have a scale'
             % model,
             'AuxLogits: torchvision has them' if with_aux else
             'no AuxLogits (timm): build with create_aux_logits=False',
             '1000 classes; torchvision\'s weights take "torch" '
             'preprocessing, timm\'s ports of the slim checkpoint '
             '(inception_v3.tf_in1k) "inception"'))


# --- registration ------------------------------------------------------------

SPECS = {_MODEL: _spec}
TABLES = {(_MODEL, 'slim'): functools.partial(_slim_table, _MODEL, _spec),
          (_MODEL, 'keras'): _keras_table}
for _model in _TORCH_MODELS:
  # The variants' variables come from the built graph.
  TABLES[(_model, 'slim')] = functools.partial(
      _slim_table, _model, functools.partial(mappings.slim_variables, _model))
  TABLES[(_model, 'torch')] = functools.partial(_torch_table, _model)
