"""Mapping tables of the Xception family (`nets.xception`).

[1] Francois Chollet. Xception: Deep Learning with Depthwise Separable
    Convolutions. arXiv:1610.02357

Everything is derived from the block tables of `nets.xception`
(`_KERAS_BLOCKS`: one Keras block per unit; `_aligned_blocks(depth)` for
DeepLab's aligned Xception), so the slim specs and the tables cannot drift
from the networks:

- slim naming: the variables of `xception_keras` and `xception_41/65/71`
  with their shapes (`SPECS[model](num_classes)`, checked against the
  built graphs in the tests);
- xception_keras <-> tf_keras.applications.Xception (`.h5`);
- xception_keras <-> timm `legacy_xception` (torch naming: `.safetensors`,
  `.pt`), through the variant `checkpoints_tools.variants.
  timm_legacy_xception` (torch's max-pool padding and batch-norm epsilon);
- xception_41/65/71 <-> timm `xception41/65/71` (torch naming; timm's port
  of DeepLab's aligned Xception, the same network).

Keras layer -> slim scope (under `xception_keras/`):

  block1_conv1[_bn], block1_conv2[_bn]   entry_flow/conv1_1, conv1_2
  block<B>_sepconv<K>[_bn]               U/separable_conv<K>
  k-th unnamed Conv2D / BatchNormalization
                                         S/shortcut, S/shortcut/BatchNorm
  predictions (Dense)                    logits (conv1x1_dense)

where the units U are numbered in model order from Keras block 2 (entry
blocks 2-4, middle blocks 5-12, exit blocks 13-14), and S is the k-th unit
with a 'conv' skip connection (k = 0..3: Keras blocks 2, 3, 4, 13). Keras
does not name the residual 1x1 convs and their batch norms: they get
`conv2d`, `conv2d_1`, ... by creation count in the process, so a file may
hold `conv2d_4..7` after other models were built. The table names them as
in a fresh process (`conv2d`, `conv2d_1`, `conv2d_2`, `conv2d_3`,
`batch_normalization`, ...) and `Table.canonical` renames the file's
unnamed layers by the order of their numbers (creation order), whatever
the numbers are.

Kernels have slim's shapes in Keras (HWIO, depthwise [3, 3, C, 1]); Keras'
batch-norm epsilon is 1e-3, `xception_keras_arg_scope`'s too, so the
registered model reproduces Keras with no variant.

timm names (torch layouts: conv weights OIHW, depthwise [C, 1, 3, 3]
(`depthwise_oihw`), the classifier a Linear [classes, 2048]):

  legacy_xception            xception_keras/
  conv1, bn1 / conv2, bn2    entry_flow/conv1_1 / conv1_2 (+ /BatchNorm)
  block<n>.skip, .skipbn     U/shortcut, U/shortcut/BatchNorm
  block<n>.rep.<j>.conv1 / .pointwise, block<n>.rep.<j+1>
                             U/separable_conv<k>/depthwise_weights /
                             pointwise_weights, .../BatchNorm
  conv<3+k>, bn<3+k>         exit_flow/block2 (Keras block14) separable_conv<k+1>
  fc                         logits

  where block<n> is Keras block n + 1 (unit U) and j = 3k + 1: each
  separable conv follows a ReLU, except in block1, whose input is already a
  ReLU output and which starts at j = 0;

  xception41/65/71           xception_<depth>/
  stem.0 / stem.1 .conv, .bn entry_flow/conv1_1 / conv1_2
  blocks.<i>.shortcut.conv / .bn
                             U/shortcut (+ /BatchNorm)
  blocks.<i>.stack.conv<k>.conv_dw / .bn_dw / .conv_pw / .bn_pw
                             U/separable_conv<k>_depthwise/depthwise_weights,
                             .../BatchNorm, U/separable_conv<k>_pointwise/
                             weights, .../BatchNorm
  head.fc                    logits

  where U is the i-th unit in model order (entry, middle, exit flow).

Typical use:

   from checkpoints_tools import mappings
   table = mappings.get_table('xception_keras', 'keras')
   table.rows[0]  # Row(slim='xception_keras/entry_flow/conv1_1/weights',
                  #     source='block1_conv1/kernel', ...)
"""

import functools

from checkpoints_tools.mappings import Row
from checkpoints_tools.mappings import Table
from checkpoints_tools.mappings import _keras_order
from checkpoints_tools.mappings import _rows

# The block tables that build the networks; a copy here would drift.
from nets import xception  # pylint: disable=g-bad-import-order

_MODEL = 'xception_keras'
_ALIGNED_DEPTHS = (41, 65, 71)
_BN = _rows.BN


def _units():
  """Yields (unit scope, depth_in, depth_list, skip type, keras block).

  `unit scope` is relative to the model scope, e.g.
  'entry_flow/block1/unit_1/xception_module'.
  """
  depth_in = 64
  keras_block = 2
  for spec in xception._KERAS_BLOCKS:  # pylint: disable=protected-access
    block = xception.xception_keras_block(*spec)
    for u, args in enumerate(block.args):
      yield ('%s/unit_%d/xception_module' % (block.scope, u + 1), depth_in,
             tuple(args['depth_list']), args['skip_connection_type'],
             keras_block)
      depth_in = args['depth_list'][-1]
      keras_block += 1


def _aligned_units(depth):
  """Yields (unit scope, depth_in, depth_list, skip type) of xception_<depth>.

  `unit scope` is relative to the model scope, e.g.
  'middle_flow/block1/unit_3/xception_module'.
  """
  depth_in = 64
  for block in xception._aligned_blocks(depth, False, None):  # pylint: disable=protected-access
    for u, args in enumerate(block.args):
      yield ('%s/unit_%d/xception_module' % (block.scope, u + 1), depth_in,
             tuple(args['depth_list']), args['skip_connection_type'])
      depth_in = args['depth_list'][-1]


def _conv_bn(scope, shape):
  """Variables of a conv with batch norm: weights, then BatchNorm/*."""
  yield scope + '/weights', shape
  for p in _BN:
    yield '%s/BatchNorm/%s' % (scope, p), (shape[-1],)


def _logits(model, channels, num_classes):
  if num_classes:
    yield model + '/logits/weights', (1, 1, channels, num_classes)
    yield model + '/logits/biases', (num_classes,)


def _spec(num_classes):
  """[(slim name, shape)] of xception_keras in the graph's creation order."""
  out = []
  out += _conv_bn(_MODEL + '/entry_flow/conv1_1', (3, 3, 3, 32))
  out += _conv_bn(_MODEL + '/entry_flow/conv1_2', (3, 3, 32, 64))
  channels = 64
  for scope, cin, depths, skip, _ in _units():
    unit = _MODEL + '/' + scope
    c = cin
    for k, depth in enumerate(depths):
      sep = '%s/separable_conv%d' % (unit, k + 1)
      out.append((sep + '/depthwise_weights', (3, 3, c, 1)))
      out.append((sep + '/pointwise_weights', (1, 1, c, depth)))
      out.extend(('%s/BatchNorm/%s' % (sep, p), (depth,)) for p in _BN)
      c = depth
    if skip == 'conv':
      out += _conv_bn(unit + '/shortcut', (1, 1, cin, depths[-1]))
    channels = depths[-1]
  out += _logits(_MODEL, channels, num_classes)
  return out


def _aligned_spec(depth, num_classes):
  """[(slim name, shape)] of xception_<depth> in the graph's creation order.

  Each separable conv is DeepLab's split pair (regularize_depthwise=False):
  `<name>_depthwise` and `<name>_pointwise`, each with its batch norm; the
  shortcut is created after the three.
  """
  model = 'xception_%d' % depth
  out = []
  out += _conv_bn(model + '/entry_flow/conv1_1', (3, 3, 3, 32))
  out += _conv_bn(model + '/entry_flow/conv1_2', (3, 3, 32, 64))
  channels = 64
  for scope, cin, depths, skip in _aligned_units(depth):
    unit = model + '/' + scope
    c = cin
    for k, d in enumerate(depths):
      sep = '%s/separable_conv%d' % (unit, k + 1)
      out.append((sep + '_depthwise/depthwise_weights', (3, 3, c, 1)))
      out.extend(('%s_depthwise/BatchNorm/%s' % (sep, p), (c,)) for p in _BN)
      out += _conv_bn(sep + '_pointwise', (1, 1, c, d))
      c = d
    if skip == 'conv':
      out += _conv_bn(unit + '/shortcut', (1, 1, cin, depths[-1]))
    channels = depths[-1]
  out += _logits(model, channels, num_classes)
  return out


def _head(model=_MODEL):
  return (model + '/logits/weights', model + '/logits/biases')


def _slim_table(model, spec):
  """Slim names of `model`, from its `spec(num_classes)`."""
  rows = [Row(name, name, 'identity', name in _head(model))
          for name, _ in spec(1000)]
  return Table(model, 'slim', rows, head=_head(model))


def _numbered(prefix, k):
  return prefix if k == 0 else '%s_%d' % (prefix, k)


def _keras_table():
  rows = []

  def weight(layer, name, slim_name):
    rows.append(Row(slim_name, '%s/%s' % (layer, name), 'identity', False))

  def bn(layer, scope):
    for p in _BN:
      weight(layer, p, '%s/%s' % (scope, p))

  root = _MODEL + '/entry_flow/'
  for i in (1, 2):
    weight('block1_conv%d' % i, 'kernel', root + 'conv1_%d/weights' % i)
    bn('block1_conv%d_bn' % i, root + 'conv1_%d/BatchNorm' % i)
  residual = 0
  for scope, _, depths, skip, keras_block in _units():
    unit = _MODEL + '/' + scope
    for k in range(len(depths)):
      layer = 'block%d_sepconv%d' % (keras_block, k + 1)
      sep = '%s/separable_conv%d' % (unit, k + 1)
      weight(layer, 'depthwise_kernel', sep + '/depthwise_weights')
      weight(layer, 'pointwise_kernel', sep + '/pointwise_weights')
      bn(layer + '_bn', sep + '/BatchNorm')
    if skip == 'conv':
      # Keras' model.layers order: the residual conv joins at the add, after
      # the block's last separable conv (checked against tf_keras in tests).
      weight(_numbered('conv2d', residual), 'kernel',
             unit + '/shortcut/weights')
      bn(_numbered('batch_normalization', residual),
         unit + '/shortcut/BatchNorm')
      residual += 1
  rows.append(Row(_MODEL + '/logits/weights', 'predictions/kernel',
                  'conv1x1_dense', True))
  rows.append(Row(_MODEL + '/logits/biases', 'predictions/bias', 'identity',
                  True))
  return Table(
      _MODEL, 'keras', rows, head=_head(),
      source_model='tf_keras.applications.Xception',
      # Keras' automatic names of the unnamed residual layers.
      bn_epsilon=1e-3, positional=_keras_order.UNNAMED,
      notes=("Keras' residual 1x1 convs and their batch norms are unnamed "
             '(conv2d_N, batch_normalization_N): matched by the order of '
             'their numbers',
             'Keras batch-norm epsilon is 1e-3, as xception_keras_arg_scope',
             '1000 classes, no background class; "tf" preprocessing'))


# --- timm (torch naming) -----------------------------------------------------


def _timm_legacy_table():
  """xception_keras <-> timm legacy_xception (see the module docstring)."""
  t = _rows.TorchRows()
  root = _MODEL + '/entry_flow/'
  for i in (1, 2):
    t.weight('conv%d' % i, root + 'conv1_%d/weights' % i)
    t.bn('bn%d' % i, root + 'conv1_%d/BatchNorm' % i)
  top_level = 3  # timm's top-level convs after the stem's conv1, conv2
  for u, (scope, _, depths, skip, keras_block) in enumerate(_units()):
    unit = _MODEL + '/' + scope
    # timm's Block registers skip/skipbn before its rep.
    if skip == 'conv':
      t.weight('block%d.skip' % (keras_block - 1), unit + '/shortcut/weights')
      t.bn('block%d.skipbn' % (keras_block - 1), unit + '/shortcut/BatchNorm')
    for k in range(len(depths)):
      sep = '%s/separable_conv%d' % (unit, k + 1)
      if skip == 'none':
        # Keras' block14 (no residual) is timm's top-level conv3/bn3, ...
        conv, bn = ('conv%d' % top_level, 'bn%d' % top_level)
        top_level += 1
      else:
        # rep = [ReLU, SeparableConv2d, BatchNorm2d] * n; block1 has no
        # leading ReLU (its input is the stem's ReLU output).
        j = 3 * k + (0 if u == 0 else 1)
        block = 'block%d.rep.' % (keras_block - 1)
        conv, bn = block + str(j), block + str(j + 1)
      t.weight(conv + '.conv1', sep + '/depthwise_weights', 'depthwise_oihw')
      t.weight(conv + '.pointwise', sep + '/pointwise_weights')
      t.bn(bn, sep + '/BatchNorm')
  t.conv('fc', _MODEL + '/logits', bias=True, transform='conv1x1_linear',
         classes=True)
  return Table(
      _MODEL, 'torch', t.rows, head=_head(),
      variant='timm_legacy_xception',
      source_model='timm.models.legacy_xception', bn_epsilon=1e-5,
      notes=("timm's strided max-pools pad one pixel on every side "
             "(torch's MaxPool2d(3, 2, padding=1)), Keras' pad SAME: they "
             'differ for even input sizes (at 299: the 74x74 input of the '
             'second entry-flow pool)',
             "timm's batch-norm epsilon is torch's 1e-5 (Keras: 1e-3)",
             '1000 classes, no background class; "tf" preprocessing'))


def _timm_aligned_table(depth):
  """xception_<depth> <-> timm xception<depth> (see the module docstring)."""
  model = 'xception_%d' % depth
  t = _rows.TorchRows()
  for i in (1, 2):
    scope = '%s/entry_flow/conv1_%d' % (model, i)
    t.weight('stem.%d.conv' % (i - 1), scope + '/weights')
    t.bn('stem.%d.bn' % (i - 1), scope + '/BatchNorm')
  for i, (scope, _, depths, skip) in enumerate(_aligned_units(depth)):
    unit = '%s/%s' % (model, scope)
    block = 'blocks.%d.' % i
    # timm's XceptionModule registers its shortcut before its stack.
    if skip == 'conv':
      t.weight(block + 'shortcut.conv', unit + '/shortcut/weights')
      t.bn(block + 'shortcut.bn', unit + '/shortcut/BatchNorm')
    for k in range(len(depths)):
      sep = '%s/separable_conv%d' % (unit, k + 1)
      layer = '%sstack.conv%d.' % (block, k + 1)
      t.weight(layer + 'conv_dw', sep + '_depthwise/depthwise_weights',
             'depthwise_oihw')
      t.bn(layer + 'bn_dw', sep + '_depthwise/BatchNorm')
      t.weight(layer + 'conv_pw', sep + '_pointwise/weights')
      t.bn(layer + 'bn_pw', sep + '_pointwise/BatchNorm')
  t.conv('head.fc', model + '/logits', bias=True,
         transform='conv1x1_linear', classes=True)
  return Table(
      model, 'torch', t.rows, head=_head(model),
      source_model='timm.models.xception%d' % depth, bn_epsilon=1e-3,
      notes=("timm's port of DeepLab's aligned Xception: the same network "
             '(symmetric padding of the strided convs, epsilon 1e-3)',
             'timm has 1000 classes, DeepLab checkpoints 1001: pass '
             '--num-classes 1001 to add the background class 0'))


# --- registration ------------------------------------------------------------

SPECS = {_MODEL: _spec}
TABLES = {
    (_MODEL, 'slim'): functools.partial(_slim_table, _MODEL, _spec),
    (_MODEL, 'keras'): _keras_table,
    (_MODEL, 'torch'): _timm_legacy_table,
}


def _register_aligned():
  for depth in _ALIGNED_DEPTHS:
    model = 'xception_%d' % depth
    SPECS[model] = functools.partial(_aligned_spec, depth)
    TABLES[(model, 'slim')] = functools.partial(_slim_table, model,
                                                SPECS[model])
    TABLES[(model, 'torch')] = functools.partial(_timm_aligned_table, depth)


_register_aligned()
