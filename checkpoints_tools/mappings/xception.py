"""Mapping tables of the original Xception [1] (`nets.xception.xception_keras`).

[1] Francois Chollet. Xception: Deep Learning with Depthwise Separable
    Convolutions. arXiv:1610.02357

Everything is derived from the block table of `nets.xception`
(`_KERAS_BLOCKS`: one Keras block per unit), so the slim spec, the slim
table and the Keras table cannot drift from the network:

- slim naming: the variables of `xception_keras` with their shapes
  (`SPECS['xception_keras'](num_classes)`, checked against the built graph
  in the tests);
- xception_keras <-> tf_keras.applications.Xception (`.h5`).

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
unnamed layers by their position in the file's layer order (which is
Keras' `model.layers` order), never by their numbers.

Kernels have slim's shapes in Keras (HWIO, depthwise [3, 3, C, 1]); Keras'
batch-norm epsilon is 1e-3, `xception_keras_arg_scope`'s too, so the
registered model reproduces Keras with no variant.

Typical use:

   from checkpoints_tools import mappings
   table = mappings.get_table('xception_keras', 'keras')
   table.rows[0]  # Row(slim='xception_keras/entry_flow/conv1_1/weights',
                  #     source='block1_conv1/kernel', ...)
"""

from checkpoints_tools.mappings import Row
from checkpoints_tools.mappings import Table

# The block table that builds the network; a copy here would drift.
from nets import xception  # pylint: disable=g-bad-import-order

_MODEL = 'xception_keras'
_BN = ('gamma', 'beta', 'moving_mean', 'moving_variance')
# Keras' automatic names of the unnamed residual layers (class name in
# snake case); Table.canonical renames them by position.
_UNNAMED = ('conv2d', 'batch_normalization')


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


def _spec(num_classes):
  """[(slim name, shape)] in the order the graph creates the variables."""
  out = []

  def conv_bn(scope, shape):
    out.append((scope + '/weights', shape))
    out.extend(('%s/BatchNorm/%s' % (scope, p), (shape[-1],)) for p in _BN)

  conv_bn(_MODEL + '/entry_flow/conv1_1', (3, 3, 3, 32))
  conv_bn(_MODEL + '/entry_flow/conv1_2', (3, 3, 32, 64))
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
      conv_bn(unit + '/shortcut', (1, 1, cin, depths[-1]))
    channels = depths[-1]
  if num_classes:
    out.append((_MODEL + '/logits/weights', (1, 1, channels, num_classes)))
    out.append((_MODEL + '/logits/biases', (num_classes,)))
  return out


def _head():
  return (_MODEL + '/logits/weights', _MODEL + '/logits/biases')


def _slim_table():
  rows = [Row(name, name, 'identity', name in _head())
          for name, _ in _spec(1000)]
  return Table(_MODEL, 'slim', rows, head=_head())


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
      bn_epsilon=1e-3, positional=_UNNAMED,
      notes=("Keras' residual 1x1 convs and their batch norms are unnamed "
             '(conv2d_N, batch_normalization_N): matched by their position '
             "in the file's layer order",
             'Keras batch-norm epsilon is 1e-3, as xception_keras_arg_scope',
             '1000 classes, no background class; "tf" preprocessing'))


SPECS = {_MODEL: _spec}
TABLES = {
    (_MODEL, 'slim'): _slim_table,
    (_MODEL, 'keras'): _keras_table,
}
