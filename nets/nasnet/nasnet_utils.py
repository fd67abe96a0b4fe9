"""The cells of NASNet-A and PNASNet-5 and the helpers they share.

[1] Barret Zoph, Vijay Vasudevan, Jonathon Shlens, Quoc V. Le. Learning
    Transferable Architectures for Scalable Image Recognition.
    arXiv:1707.07012
[2] Chenxi Liu, Barret Zoph, Maxim Neumann, Jonathon Shlens, Wei Hua,
    Li-Jia Li, Li Fei-Fei, Alan Yuille, Jonathan Huang, Kevin Murphy.
    Progressive Neural Architecture Search. arXiv:1712.00559

Drop-in for research/slim's `nets/nasnet/nasnet_utils.py`: the same
functions, classes, arguments and variable names.

A cell reads two hidden states, the output of the cell before it (`net`)
and of the one before that (`prev_layer`), and combines them five times.
Hidden state 0 is `net` after ReLU, a 1x1 convolution and batch norm
(`1x1`, `beginning_bn`); hidden state 1 is `prev_layer` matched to it in
size and depth (`factorized_reduction` or `prev_1x1`/`prev_bn`, only when
needed). Combination k (scope `comb_iter_k`) applies one operation to each
of two earlier hidden states (scopes `left` and `right`) and adds them; the
sum becomes hidden state 2 + k. The cell's output concatenates the hidden
states it names (scope `cell_output`, each first matched to the last one
in size and depth). Which states and operations are used is data: a
`CellSpec`, expanded into the list arguments of `NasNetABaseCell`.

Operations (strings, as upstream):
  'separable_KxK_N'  N times ReLU, KxK separable conv, batch norm
                     (`separable_KxK_n`, `bn_sep_KxK_n`); the first one
                     carries the stride. 'separable_KxK' is N = 1.
  'avg_pool_KxK', 'max_pool_KxK'
                     SAME pooling (`cell_pool`; Keras' zero-padded pooling
                     under an arg scope), then a 1x1 conv + batch norm
                     (`1x1`, `bn_1`) when the depth differs from the cell's.
  'none'             identity, or ReLU + strided 1x1 conv + batch norm when
                     the stride or the depth differ.
Only hidden states 0 and 1 are read with the cell's stride. Every operation
but 'none' is followed by drop path.

Typical use (inside a network's arg scope, which sets `data_format` and
`is_training`; see `nasnet.build_nasnet_mobile`):

   cell = nasnet_utils.NasNetANormalCell(
       num_conv_filters=44, drop_path_keep_prob=1.0, total_num_cells=16,
       total_training_steps=250000)
   net = cell(net, scope='cell_0', filter_scaling=1.0, stride=1,
              prev_layer=prev, cell_num=2)
"""

import collections
import re

import tensorflow as tf
import tf_slim as slim
from tf_slim.ops import arg_scope as slim_arg_scope

from nets import _layers

arg_scope = slim.arg_scope

DATA_FORMAT_NCHW = 'NCHW'
DATA_FORMAT_NHWC = 'NHWC'
# The "not set" data_format: the network's arg scope sets the real one.
INVALID = 'null'
# Bounded-activation networks clip the cell's branches to [-6, 6], the range
# most activations fall in, which suits quantized inference.
CLIP_BY_VALUE_CAP = 6

_DATA_FORMATS = (DATA_FORMAT_NHWC, DATA_FORMAT_NCHW)
_NUM_COMBINATIONS = 5
_DROP_CONNECT_VERSIONS = ('v1', 'v2', 'v3')
_SEPARABLE = re.compile(r'separable_(\d+)x(\d+)(?:_(\d+))?$')
_POOL = re.compile(r'(avg|max)_pool_(\d+)x(\d+)$')

_Operation = collections.namedtuple('_Operation',
                                    ['kind', 'kernel_size', 'num_layers'])


class CellSpec(
    collections.namedtuple('CellSpec', ['combinations', 'concatenated'])):
  """A cell as data.

  combinations: five rows `(left_input, left_operation, right_input,
    right_operation)`, one per `comb_iter_k`; inputs are hidden-state
    indices (0: the cell's projected input, 1: the matched previous
    output, 2 + k: combination k).
  concatenated: the hidden states the cell outputs, in order.
  """
  __slots__ = ()

  def base_cell_arguments(self):
    """(operations, used_hiddenstates, hiddenstate_indices), the list
    arguments of `NasNetABaseCell` in upstream's encoding (a state is
    'used' when the output leaves it out)."""
    operations, indices = [], []
    for left_input, left_op, right_input, right_op in self.combinations:
      operations += [left_op, right_op]
      indices += [left_input, right_input]
    used = [0 if i in self.concatenated else 1
            for i in range(2 + len(self.combinations))]
    return operations, used, indices


_NASNET_A_NORMAL = CellSpec(
    combinations=(
        (0, 'separable_5x5_2', 1, 'separable_3x3_2'),
        (1, 'separable_5x5_2', 1, 'separable_3x3_2'),
        (0, 'avg_pool_3x3', 1, 'none'),
        (1, 'avg_pool_3x3', 1, 'avg_pool_3x3'),
        (0, 'separable_3x3_2', 0, 'none'),
    ),
    concatenated=(1, 2, 3, 4, 5, 6))

_NASNET_A_REDUCTION = CellSpec(
    combinations=(
        (0, 'separable_5x5_2', 1, 'separable_7x7_2'),
        (0, 'max_pool_3x3', 1, 'separable_7x7_2'),
        (0, 'avg_pool_3x3', 1, 'separable_5x5_2'),
        (3, 'none', 2, 'avg_pool_3x3'),
        (2, 'separable_3x3_2', 0, 'max_pool_3x3'),
    ),
    concatenated=(3, 4, 5, 6))


def calc_reduction_layers(num_cells, num_reduction_layers):
  """The cell indices a reduction precedes, evenly spread over `num_cells`.

  Returns:
    A list of `num_reduction_layers` ints, e.g. [6, 12] for (18, 2).
  """
  return [int(num_cells * k / float(num_reduction_layers + 1))
          for k in range(1, num_reduction_layers + 1)]


def _check_data_format(data_format, where):
  if data_format not in _DATA_FORMATS:
    if data_format == INVALID:
      raise ValueError(
          "%s: data_format is not set; pass 'NHWC' or 'NCHW' (the networks' "
          'arg scopes set it)' % where)
    raise ValueError("%s: data_format must be 'NHWC' or 'NCHW', got %r" %
                     (where, data_format))
  return data_format


@slim.add_arg_scope
def get_channel_index(data_format=INVALID):
  """The channel axis of a rank-4 tensor in `data_format` (3 or 1)."""
  _check_data_format(data_format, 'get_channel_index')
  return 3 if data_format == DATA_FORMAT_NHWC else 1


@slim.add_arg_scope
def get_channel_dim(shape, data_format=INVALID):
  """The channel count (an int) of a rank-4 `shape` in `data_format`."""
  axis = get_channel_index(data_format=data_format)
  if len(shape) != 4:
    raise ValueError('get_channel_dim: shape must have 4 dimensions, got %s' %
                     (shape,))
  channels = shape[axis]
  channels = getattr(channels, 'value', channels)  # a TF1 Dimension
  if channels is None:
    raise ValueError('get_channel_dim: the channel dimension of %s is unknown'
                     % (shape,))
  return int(channels)


def _spatial_shape(tensor, data_format):
  """The static (height, width) of rank-4 `tensor`, or a clear error."""
  dims = tensor.shape.as_list()
  size = tuple(dims[2:4] if data_format == DATA_FORMAT_NCHW else dims[1:3])
  if None in size:
    raise ValueError(
        "NASNet cells need a static height and width (they compare feature "
        "map sizes to match their inputs); '%s' has shape %s" %
        (tensor.name, tensor.shape))
  return size


@slim.add_arg_scope
def global_avg_pool(x, data_format=INVALID):
  """The mean of rank-4 `x` over height and width: [batch, channels]."""
  _check_data_format(data_format, 'global_avg_pool')
  if x.shape.ndims != 4:
    raise ValueError('global_avg_pool: x must be rank 4, got shape %s' %
                     x.shape)
  axes = [2, 3] if data_format == DATA_FORMAT_NCHW else [1, 2]
  return tf.reduce_mean(x, axes)


@slim.add_arg_scope
def factorized_reduction(net, output_filters, stride, data_format=INVALID):
  """Halves (stride 2) the size of `net` without dropping any pixel.

  Stride 1 is a 1x1 conv + batch norm (`path_conv`, `path_bn`). Otherwise
  two strided 1x1 convs (`path1_conv`, `path2_conv`), the second on the
  input shifted by one pixel right and down (zero filled), so that together
  they see every input position; their concatenation is batch normalized
  (`final_path_bn`). An odd `output_filters` gives the second path one
  filter more.

  Args:
    net: rank-4 tensor.
    output_filters: output depth.
    stride: 1 or the reduction factor.
    data_format: 'NHWC' or 'NCHW' (set by the networks' arg scopes).

  Returns:
    The reduced tensor.
  """
  _check_data_format(data_format, 'factorized_reduction')
  if stride == 1:
    net = _layers.conv2d(net, output_filters, 1, data_format=data_format,
                         scope='path_conv')
    return _layers.batch_norm(net, data_format=data_format, scope='path_bn')
  first_filters = output_filters // 2
  path1 = _layers.avg_pool2d(net, 1, stride=stride, padding='VALID',
                             data_format=data_format)
  path1 = _layers.conv2d(path1, first_filters, 1, data_format=data_format,
                         scope='path1_conv')
  if data_format == DATA_FORMAT_NHWC:
    shifted = tf.pad(net, [[0, 0], [0, 1], [0, 1], [0, 0]])[:, 1:, 1:, :]
  else:
    shifted = tf.pad(net, [[0, 0], [0, 0], [0, 1], [0, 1]])[:, :, 1:, 1:]
  path2 = _layers.avg_pool2d(shifted, 1, stride=stride, padding='VALID',
                             data_format=data_format)
  path2 = _layers.conv2d(path2, output_filters - first_filters, 1,
                         data_format=data_format, scope='path2_conv')
  net = tf.concat([path1, path2],
                  axis=get_channel_index(data_format=data_format))
  return _layers.batch_norm(net, data_format=data_format,
                            scope='final_path_bn')


def _static_bool(value):
  """The Python bool of `value`, or None for a tensor known only at run time."""
  if isinstance(value, (tf.Tensor, tf.Variable)):
    static = tf.get_static_value(value)
    return None if static is None else bool(static)
  return bool(value)


@slim.add_arg_scope
def drop_path(net, keep_prob, is_training=True):
  """Drops whole examples of `net` with probability `1 - keep_prob`.

  Kept examples are scaled by `1 / keep_prob`. Identity unless training.

  Args:
    net: rank-4 tensor [batch, ...].
    keep_prob: float or scalar tensor in (0, 1].
    is_training: Python bool or scalar bool tensor.

  Returns:
    A tensor shaped like `net`.
  """
  _layers.check_is_training(is_training, 'drop_path: is_training')
  if isinstance(keep_prob, (int, float)) and not 0 < keep_prob <= 1:
    raise ValueError('drop_path: keep_prob must be in (0, 1], got %r' %
                     (keep_prob,))

  def dropped():
    noise_shape = [tf.shape(net)[0], 1, 1, 1]
    keep = keep_prob + tf.random.uniform(noise_shape, dtype=tf.float32)
    mask = tf.cast(tf.floor(keep), net.dtype)
    return net * tf.cast(1.0 / keep_prob, net.dtype) * mask

  training = _static_bool(is_training)
  if training is None:
    return tf.cond(is_training, dropped, lambda: tf.identity(net))
  return dropped() if training else net


def _parse_operation(operation):
  """The `_Operation` an operation string names, or a clear error."""
  if operation == 'none':
    return _Operation('none', None, None)
  separable = _SEPARABLE.match(operation)
  pool = _POOL.match(operation)
  match = separable or pool
  if match:
    height, width = match.groups()[-3:-1] if separable else match.groups()[1:]
    if height != width:
      raise ValueError('NASNet cell operation %r: only square kernels are '
                       'supported' % operation)
    if separable:
      return _Operation('separable', int(height), int(match.group(3) or 1))
    return _Operation(match.group(1) + '_pool', int(height), None)
  raise ValueError(
      "NASNet cell operation %r is unknown; use 'separable_KxK', "
      "'separable_KxK_N', 'avg_pool_KxK', 'max_pool_KxK' or 'none'" %
      (operation,))


def _stacked_separable_conv(net, stride, operation, filter_size,
                            use_bounded_activation):
  """N x (activation, separable conv, batch norm); the first is strided."""
  activation = tf.nn.relu6 if use_bounded_activation else tf.nn.relu
  kernel_size = operation.kernel_size
  for layer in range(1, operation.num_layers + 1):
    name = '{0}x{0}_{1}'.format(kernel_size, layer)
    net = activation(net)
    net = _layers.separable_conv2d(
        net, filter_size, kernel_size, depth_multiplier=1,
        stride=stride if layer == 1 else 1, scope='separable_' + name)
    net = _layers.batch_norm(net, scope='bn_sep_' + name)
  return net


POOL_PADDINGS = ('SAME', 'ZEROS')


@slim.add_arg_scope
def cell_pool(net, stride, operation, use_bounded_activation,
              padding='SAME'):
  """The average or max pooling of a cell's pool operation.

  Args:
    net: the hidden state pooled.
    stride: the operation's stride.
    operation: its parsed form (kind 'avg_pool' or 'max_pool', kernel_size).
    use_bounded_activation: ReLU6 first.
    padding: 'SAME' (slim's: the padding takes no part in the average or
      the max), or 'ZEROS' for Keras' NASNet: strided pools zero-pad as
      `imagenet_utils.correct_pad` (k // 2 on each side, one less before
      for even sizes), then pool VALID, so the zeros count in the average
      and take part in the max. Stride-1 pools are SAME either way.

  Returns:
    The pooled tensor.
  """
  if padding not in POOL_PADDINGS:
    raise ValueError('cell_pool: padding must be one of %s, got %r' %
                     (', '.join(POOL_PADDINGS), padding))
  if use_bounded_activation:
    net = tf.nn.relu6(net)
  pool = (_layers.avg_pool2d if operation.kind == 'avg_pool' else
          _layers.max_pool2d)
  if padding == 'SAME' or stride == 1:
    return pool(net, operation.kernel_size, stride=stride, padding='SAME')
  data_format = _scoped_data_format()
  half = operation.kernel_size // 2
  pads = [[0, 0]] * 4
  for axis, size in zip((2, 3) if data_format == DATA_FORMAT_NCHW else (1, 2),
                        _spatial_shape(net, data_format)):
    pads[axis] = [half - (1 - size % 2), half]
  return pool(tf.pad(net, pads), operation.kernel_size, stride=stride,
              padding='VALID')


def _clip(net):
  return tf.clip_by_value(net, -CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)


class NasNetABaseCell(object):
  """A NASNet-style cell, used as a layer by the networks.

  Args:
    num_conv_filters: filters per operation at filter scaling 1.
    operations: the ten operation strings, left then right per combination.
    used_hiddenstates: one flag per hidden state (2 + 5); 1 leaves the state
      out of the cell's output concatenation.
    hiddenstate_indices: the ten hidden-state indices the operations read.
    drop_path_keep_prob: keep probability of drop path for the last cell at
      the end of training (1.0 turns it off).
    total_num_cells: the network's cell count, stem cells included (drop
      path is scaled by `(cell_num + 1) / total_num_cells`).
    total_training_steps: steps over which drop path ramps up.
    use_bounded_activation: ReLU6 and clipping to [-6, 6] instead of ReLU,
      for quantized inference.

  Raises:
    ValueError: for list arguments of the wrong length, unknown operations
      or indices of states not yet computed.
  """

  def __init__(self, num_conv_filters, operations, used_hiddenstates,
               hiddenstate_indices, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False):
    _check_wiring(operations, used_hiddenstates, hiddenstate_indices)
    self._num_conv_filters = num_conv_filters
    self._operations = list(operations)
    self._used_hiddenstates = list(used_hiddenstates)
    self._hiddenstate_indices = list(hiddenstate_indices)
    self._drop_path_keep_prob = drop_path_keep_prob
    self._total_num_cells = total_num_cells
    self._total_training_steps = total_training_steps
    self._use_bounded_activation = use_bounded_activation

  def _activation(self):
    return tf.nn.relu6 if self._use_bounded_activation else tf.nn.relu

  def _reduce_prev_layer(self, prev_layer, curr_layer):
    """`prev_layer` matched to `curr_layer`'s size and the cell's depth."""
    if prev_layer is None:
      return curr_layer
    data_format = _scoped_data_format()
    if (_spatial_shape(prev_layer, data_format) !=
        _spatial_shape(curr_layer, data_format)):
      return factorized_reduction(self._activation()(prev_layer),
                                  self._filter_size, stride=2)
    if get_channel_dim(prev_layer.shape) != self._filter_size:
      prev_layer = _layers.conv2d(self._activation()(prev_layer),
                                  self._filter_size, 1, scope='prev_1x1')
      prev_layer = _layers.batch_norm(prev_layer, scope='prev_bn')
    return prev_layer

  def _cell_base(self, net, prev_layer):
    """Hidden states 0 and 1: the projected input and the matched previous."""
    prev_layer = self._reduce_prev_layer(prev_layer, net)
    net = self._activation()(net)
    net = _layers.conv2d(net, self._filter_size, 1, scope='1x1')
    net = _layers.batch_norm(net, scope='beginning_bn')
    return [net, prev_layer]

  def __call__(self, net, scope=None, filter_scaling=1, stride=1,
               prev_layer=None, cell_num=-1, current_step=None):
    """Runs the cell.

    Args:
      net: the previous cell's output (rank 4, static height and width).
      scope: the cell's variable scope, e.g. 'cell_3'.
      filter_scaling: multiplies `num_conv_filters` (the filter size is
        `int(num_conv_filters * filter_scaling)`).
      stride: stride of the operations that read hidden states 0 and 1.
      prev_layer: the output of the cell before, or None to use `net`.
      cell_num: the cell's position in the network (for drop path).
      current_step: global step tensor for drop path, default the graph's.

    Returns:
      The concatenated output.
    """
    self._cell_num = cell_num
    self._filter_scaling = filter_scaling
    self._filter_size = int(self._num_conv_filters * filter_scaling)
    _scoped_data_format()
    with tf.compat.v1.variable_scope(scope):
      hidden = self._cell_base(net, prev_layer)
      for k in range(_NUM_COMBINATIONS):
        with tf.compat.v1.variable_scope('comb_iter_%d' % k):
          hidden.append(self._combination(hidden, k, stride, current_step))
      with tf.compat.v1.variable_scope('cell_output'):
        return self._combine_unused_states(hidden)

  def _combination(self, hidden, k, stride, current_step):
    """The sum of combination `k`'s two operations."""
    branches = []
    for side, i in (('left', 2 * k), ('right', 2 * k + 1)):
      source = self._hiddenstate_indices[i]
      with tf.compat.v1.variable_scope(side):
        branches.append(self._apply_conv_operation(
            hidden[source], self._operations[i], stride, source < 2,
            current_step))
    with tf.compat.v1.variable_scope('combine'):
      net = branches[0] + branches[1]
      return tf.nn.relu6(net) if self._use_bounded_activation else net

  def _apply_conv_operation(self, net, operation, stride,
                            is_from_original_input, current_step=None):
    """Applies `operation` (a string) to hidden state `net`."""
    if not is_from_original_input:
      stride = 1
    parsed = _parse_operation(operation)
    input_filters = get_channel_dim(net.shape)
    filter_size = self._filter_size
    bounded = self._use_bounded_activation
    if parsed.kind == 'separable':
      net = _stacked_separable_conv(net, stride, parsed, filter_size, bounded)
      if bounded:
        net = _clip(net)
    elif parsed.kind == 'none':
      if bounded:
        net = tf.nn.relu6(net)
      if stride > 1 or input_filters != filter_size:
        if not bounded:
          net = tf.nn.relu(net)
        net = _layers.conv2d(net, filter_size, 1, stride=stride, scope='1x1')
        net = _layers.batch_norm(net, scope='bn_1')
        if bounded:
          net = _clip(net)
    else:
      net = cell_pool(net, stride, parsed, bounded)
      if input_filters != filter_size:
        net = _layers.conv2d(net, filter_size, 1, scope='1x1')
        net = _layers.batch_norm(net, scope='bn_1')
      if bounded:
        net = _clip(net)
    if parsed.kind != 'none':
      net = self._apply_drop_path(net, current_step=current_step)
    return net

  def _combine_unused_states(self, net):
    """Concatenates the output states, each matched to the last one."""
    data_format = _scoped_data_format()
    final_size = _spatial_shape(net[-1], data_format)
    final_filters = get_channel_dim(net[-1].shape)
    outputs = []
    for i, used in enumerate(self._used_hiddenstates):
      if used:
        continue
      state = net[i]
      size = _spatial_shape(state, data_format)
      if size != final_size or get_channel_dim(state.shape) != final_filters:
        with tf.compat.v1.variable_scope('reduction_%d' % i):
          state = factorized_reduction(state, final_filters,
                                       2 if size != final_size else 1)
      outputs.append(state)
    return tf.concat(outputs, axis=get_channel_index())

  @slim.add_arg_scope  # Not public; arg scopes may set its keyword arguments.
  def _apply_drop_path(self, net, current_step=None, use_summaries=False,
                       drop_connect_version='v3'):
    """Drop path with a keep probability that falls over depth and time.

    Args:
      net: the tensor to drop.
      current_step: float32 step tensor, divided by `total_training_steps`;
        None uses `tf.compat.v1.train.get_or_create_global_step()`.
      use_summaries: add scalar summaries of the schedule.
      drop_connect_version: 'v1' scales the drop rate by the training
        progress, 'v2' by the cell's depth, 'v3' (default) by both.

    Returns:
      `net` after drop path (unchanged when the keep probability is 1).
    """
    keep_prob = self._drop_path_keep_prob
    if keep_prob >= 1.0:
      return net
    if drop_connect_version not in _DROP_CONNECT_VERSIONS:
      raise ValueError('drop_connect_version must be one of %s, got %r' %
                       (', '.join(_DROP_CONNECT_VERSIONS),
                        drop_connect_version))
    if drop_connect_version in ('v2', 'v3'):
      if self._cell_num == -1:
        raise ValueError('drop path by depth needs the cell_num of the cell')
      layer_ratio = (self._cell_num + 1) / float(self._total_num_cells)
      _summary(use_summaries, 'layer_ratio', layer_ratio)
      keep_prob = 1 - layer_ratio * (1 - keep_prob)
    if drop_connect_version in ('v1', 'v3'):
      if current_step is None:
        current_step = tf.compat.v1.train.get_or_create_global_step()
      current_ratio = tf.minimum(
          1.0, tf.cast(current_step, tf.float32) / self._total_training_steps)
      _summary(use_summaries, 'current_ratio', current_ratio)
      keep_prob = 1 - current_ratio * (1 - keep_prob)
    _summary(use_summaries, 'drop_path_keep_prob', keep_prob)
    return drop_path(net, keep_prob)


def _summary(enabled, name, value):
  if enabled:
    with tf.device('/cpu:0'):
      tf.compat.v1.summary.scalar(name, value)


def _scoped_data_format():
  """The data_format the arg scope gives `get_channel_index`, or an error."""
  key = slim_arg_scope.arg_scope_func_key(get_channel_index)
  data_format = slim_arg_scope.current_arg_scope().get(key, {}).get(
      'data_format', INVALID)
  if data_format not in _DATA_FORMATS:
    raise ValueError(
        'NASNet cells run inside an arg scope that sets data_format for '
        'nasnet_utils.get_channel_index and get_channel_dim (as the '
        "networks' builders do), got %r" % (data_format,))
  return data_format


def _check_wiring(operations, used_hiddenstates, hiddenstate_indices):
  """Raises unless the three lists describe five valid combinations."""
  num_states = 2 + _NUM_COMBINATIONS
  if (len(operations) != 2 * _NUM_COMBINATIONS or
      len(hiddenstate_indices) != 2 * _NUM_COMBINATIONS or
      len(used_hiddenstates) != num_states):
    raise ValueError(
        'a NASNet cell needs %d operations, %d hiddenstate_indices and %d '
        'used_hiddenstates, got %d, %d and %d' %
        (2 * _NUM_COMBINATIONS, 2 * _NUM_COMBINATIONS, num_states,
         len(operations), len(hiddenstate_indices), len(used_hiddenstates)))
  for i, source in enumerate(hiddenstate_indices):
    if not 0 <= source < 2 + i // 2:
      raise ValueError('hiddenstate_indices[%d] = %r: combination %d can only '
                       'read hidden states 0..%d' %
                       (i, source, i // 2, 1 + i // 2))
  for operation in operations:
    _parse_operation(operation)
  if all(used_hiddenstates):
    raise ValueError('used_hiddenstates leaves no state for the output')


class NasNetANormalCell(NasNetABaseCell):
  """The NASNet-A normal cell ([1], figure 4 left)."""

  def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False):
    operations, used, indices = _NASNET_A_NORMAL.base_cell_arguments()
    super(NasNetANormalCell, self).__init__(
        num_conv_filters, operations, used, indices, drop_path_keep_prob,
        total_num_cells, total_training_steps, use_bounded_activation)


class NasNetAReductionCell(NasNetABaseCell):
  """The NASNet-A reduction cell ([1], figure 4 right)."""

  def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False):
    operations, used, indices = _NASNET_A_REDUCTION.base_cell_arguments()
    super(NasNetAReductionCell, self).__init__(
        num_conv_filters, operations, used, indices, drop_path_keep_prob,
        total_num_cells, total_training_steps, use_bounded_activation)
