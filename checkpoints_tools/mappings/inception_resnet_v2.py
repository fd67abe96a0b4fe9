"""Mapping tables of Inception-ResNet v2 (`nets.inception_resnet_v2`).

[1] Christian Szegedy, Sergey Ioffe, Vincent Vanhoucke, Alex Alemi.
    Inception-v4, Inception-ResNet and the Impact of Residual Connections
    on Learning. arXiv:1602.07261

Derived from `nets.inception_resnet_v2`'s layout (its stem, Mixed blocks
and stacks of residual blocks, each a list of branch specs):

- slim naming of inception_resnet_v2 (from the built graph), with its
  auxiliary classifier;
- inception_resnet_v2 <-> tf_keras.applications.InceptionResNetV2 (`.h5`,
  and Keras 3 `.weights.h5`);
- timm_inception_resnet_v2 (`checkpoints_tools.variants`: the same network
  with a batch-norm scale) <-> timm `inception_resnet_v2` (torch naming:
  `.safetensors`, `.pt`). timm ported slim's checkpoint: the same
  convolutions and pools (its average pool leaves the padding out, as
  TensorFlow's), keys `conv2d_1a.conv`, `mixed_5b.branch1.0.bn`,
  `repeat.0.conv2d` (Repeat/block35_1/Conv2d_1x1), `repeat_1`, `repeat_2`,
  `block8`, `conv2d_7b`, `classif` (the logits, transposed).

Keras builds slim's network, as Inception v3 (see `mappings/inception.py`):
unnamed conv2d_bn layers (bias-free, BatchNormalization(scale=False),
epsilon 1e-3) in slim's order, no auxiliary classifier. It names the
residual blocks' layers: `block35_<i>_conv` is slim's
`Repeat/block35_<i>/Conv2d_1x1` (a conv with biases), `block17_<i>` that
of `Repeat_1`, `block8_<i>` of `Repeat_2` (i < 10) and `block8_10` of
`Block8`; `conv_7b` is `Conv2d_7b_1x1`, `predictions` the fully connected
`Logits/Logits` (the same [1536, classes] array).

Typical use:

   from checkpoints_tools import mappings
   table = mappings.get_table('inception_resnet_v2', 'keras')
   table.by_slim['InceptionResnetV2/Repeat/block35_1/Conv2d_1x1/weights']
   # Row(source='block35_1_conv/kernel', ...)
"""

import functools

import tensorflow as tf

from checkpoints_tools import mappings
from checkpoints_tools.mappings import Table
from checkpoints_tools.mappings import _keras_order
from checkpoints_tools.mappings import _rows
from checkpoints_tools.mappings import inception_v4 as inception_v4_tables

from nets import inception_resnet_v2  # pylint: disable=g-bad-import-order
from nets import inception_v4

_MODEL = 'inception_resnet_v2'
_SCOPE = 'InceptionResnetV2'
_LOGITS = _SCOPE + '/Logits/Logits'
_HEAD = (_LOGITS + '/weights', _LOGITS + '/biases')
_AUX = _SCOPE + '/AuxLogits'
_AUX_LOGITS = (_AUX + '/Logits/weights', _AUX + '/Logits/biases')
_LAST_CONV = 'Conv2d_7b_1x1'
# The branch specs of each residual block function.
_BRANCHES = {
    inception_resnet_v2.block35: inception_resnet_v2._BLOCK35,  # pylint: disable=protected-access
    inception_resnet_v2.block17: inception_resnet_v2._BLOCK17,  # pylint: disable=protected-access
    inception_resnet_v2.block8: inception_resnet_v2._BLOCK8,  # pylint: disable=protected-access
}


def _entries():
  """Yields (entry, slim scope) of the layout in creation order, a stack of
  residual blocks as its blocks one by one: (the stack, scope of the
  block: Repeat[_<k>]/<kind>_<i>, or Block8 for the last)."""
  stacks = 0
  for _, entry in inception_resnet_v2._layout(16, False, tf.nn.relu):  # pylint: disable=protected-access
    if not isinstance(entry, inception_resnet_v2._Residuals):  # pylint: disable=protected-access
      yield entry, '%s/%s' % (_SCOPE, getattr(entry, 'scope', ''))
      continue
    kind = entry.block.__name__
    if not entry.times:
      yield entry, '%s/%s' % (_SCOPE, kind.capitalize())
      continue
    repeat = 'Repeat' + ('_%d' % stacks if stacks else '')
    for i in range(1, entry.times + 1):
      yield entry, '%s/%s/%s_%d' % (_SCOPE, repeat, kind, i)
    stacks += 1


def _branches(layers, branches, layer, prefix):
  """Keras layers of parallel `branches` on `layer`; returns their outputs."""
  outputs = []
  for i, branch in enumerate(branches):
    out = layer
    for spec in branch:
      if isinstance(spec, inception_v4.Pool):
        out = layers.pool(out)
      else:
        out = layers.conv('%s/Branch_%d/%s' % (prefix, i, spec.scope), spec,
                          out)
    outputs.append(out)
  return outputs


def _residual(layers, stack, layer, prefix, keras_block):
  """Keras layers of one residual block of `stack` (`_Residuals`)."""
  mixed = layers.concat(_branches(layers, _BRANCHES[stack.block], layer,
                                  prefix), keras_block + '_mixed')
  up = layers.graph.add(keras_block + '_conv', [mixed])
  layers.scopes[up] = prefix + '/Conv2d_1x1'
  layer = layers.unnamed('custom_scale_layer', [layer, up])
  if stack.activation_fn:
    layer = layers.graph.add(keras_block + '_ac', [layer])
  return layer


def _keras_layers():
  """The `ConvBnLayers` of tf_keras' InceptionResNetV2."""
  layers = _keras_order.ConvBnLayers()
  layer = layers.graph.add('input_1')
  counts = {}
  for entry, scope in _entries():
    if isinstance(entry, inception_v4.Pool):
      layer = layers.pool(layer)
    elif isinstance(entry, inception_v4.Mixed):
      layer = layers.concat(_branches(layers, entry.branches, layer, scope))
    elif isinstance(entry, inception_v4.Conv) and entry.scope == _LAST_CONV:
      layer = layers.graph.chain(['conv_7b', 'conv_7b_bn', 'conv_7b_ac'],
                                 [layer])
      layers.scopes['conv_7b'] = scope
      layers.scopes['conv_7b_bn'] = scope + '/BatchNorm'
    elif isinstance(entry, inception_v4.Conv):
      layer = layers.conv(scope, entry, layer)
    else:
      # Keras counts the blocks of a kind on through Block8 (block8_10).
      kind = entry.block.__name__
      counts[kind] = counts.get(kind, 0) + 1
      layer = _residual(layers, entry, layer, scope,
                        '%s_%d' % (kind, counts[kind]))
  layers.graph.chain(['avg_pool', 'predictions'], [layer])
  return layers


def _keras_rows():
  layers = _keras_layers()
  rows = _rows.KerasRows()
  for layer in layers.graph.layers():
    scope = layers.scopes.get(layer)
    if layer == 'predictions':
      rows.conv(layer, _LOGITS, bias=True, transform='dense', classes=True)
    elif scope and scope.endswith('/BatchNorm'):
      rows.bn(layer, scope, scale=False)
    elif scope:
      rows.conv(layer, scope, bias=layer.endswith('_conv'))
  return rows.rows


def _keras_table():
  return Table(
      _MODEL, 'keras', _keras_rows(), head=_HEAD,
      source_model='tf_keras.applications.InceptionResNetV2',
      bn_epsilon=1e-3, positional=_keras_order.UNNAMED,
      notes=('Keras has no auxiliary classifier: converted checkpoints have '
             'no %s (build with create_aux_logits=False, or fine-tune with '
             '--checkpoint_exclude_scopes=%s)' % (_AUX, _AUX),
             "Keras' conv and batch-norm layers outside the residual 1x1 "
             'convs are unnamed (conv2d_N, batch_normalization_N): matched '
             'by the order of their numbers (creation order), stored in '
             'model.layers order',
             'Keras has 1000 classes, slim Inception checkpoints 1001: pass '
             '--num-classes 1001 to add the background class 0; "tf" '
             'preprocessing (the same as slim\'s "inception")'))


# --- timm (torch naming) -----------------------------------------------------


def _timm_key(scope):
  """timm's module of the slim `scope`: Conv2d_1a_3x3 -> conv2d_1a,
  Mixed_5b -> mixed_5b, Repeat_1/block17_3 -> repeat_1.2, Block8 ->
  block8."""
  parts = scope[len(_SCOPE) + 1:].split('/')
  if len(parts) == 2:
    return '%s.%d' % (parts[0].lower(), int(parts[1].rsplit('_', 1)[1]) - 1)
  return '_'.join(parts[0].split('_')[:2]).lower()


def _timm_rows():
  """Rows of timm's inception_resnet_v2, in state-dict order."""
  torch = _rows.TorchRows()
  for entry, scope in _entries():
    key = _timm_key(scope)
    if isinstance(entry, inception_v4.Mixed):
      inception_v4_tables.timm_branches(torch, entry.branches, scope, key)
    elif isinstance(entry, inception_v4.Conv):
      torch.conv_bn(key, scope)
    elif not isinstance(entry, inception_v4.Pool):
      inception_v4_tables.timm_branches(torch, _BRANCHES[entry.block], scope,
                                        key)
      torch.conv(key + '.conv2d', scope + '/Conv2d_1x1', bias=True)
  torch.conv('classif', _LOGITS, bias=True, transform='linear', classes=True)
  return torch.rows


def _timm_table():
  return _rows.timm_port_table(_TIMM, _timm_rows(), _HEAD, 'inception_resnet_v2')


def _slim_table(model):
  return _rows.slim_table(
      model, functools.partial(mappings.slim_variables, model), _HEAD,
      optional_scope=_AUX, classes=_HEAD + _AUX_LOGITS)


# --- registration ------------------------------------------------------------

# timm's network is a variant of its own: its batch norms have gamma.
_TIMM = 'timm_inception_resnet_v2'
# The slim variables come from the built graph (mappings.slim_variables).
SPECS = {}
TABLES = {
    (_MODEL, 'slim'): functools.partial(_slim_table, _MODEL),
    (_MODEL, 'keras'): _keras_table,
    (_TIMM, 'slim'): functools.partial(_slim_table, _TIMM),
    (_TIMM, 'torch'): _timm_table,
}
