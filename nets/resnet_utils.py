"""Building blocks shared by the ResNet family, as in TF-Slim's resnet_utils.

A network is data: a list of `Block`s, each naming its scope, its unit
function and one argument set per unit. `stack_blocks_dense` turns the list
into a graph and alone handles `output_stride` (atrous convolution) [2].

[1] Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun.
    Deep Residual Learning for Image Recognition. arXiv:1512.03385
[2] Liang-Chieh Chen, George Papandreou, Iasonas Kokkinos, Kevin Murphy,
    Alan Yuille. DeepLab: Semantic Image Segmentation with Deep Convolutional
    Nets, Atrous Convolution, and Fully Connected CRFs. arXiv:1606.00915

Typical use:

   from nets import resnet_utils, resnet_v2
   blocks = [
       resnet_utils.Block('block1', resnet_v2.bottleneck,
                          [(256, 64, 1)] * 2 + [(256, 64, 2)]),
       resnet_v2.resnet_v2_block('block2', base_depth=128, num_units=4,
                                 stride=1),
   ]
   with slim.arg_scope(resnet_utils.resnet_arg_scope()):
     net, end_points = resnet_v2.resnet_v2(images, blocks, num_classes=10)
"""

import collections
import inspect

import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import initializers as slim_initializers
from tf_slim.layers import regularizers as slim_regularizers
from tf_slim.layers import utils as slim_utils

from nets import _common
from nets import _layers


# The ResNet depth table of [1]: units per block for each depth, the
# bottleneck width of each block and where its stride sits (slim's layout:
# on the last unit of blocks 1-3).
UNITS_PER_BLOCK = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
}
BASE_DEPTHS = (64, 128, 256, 512)
BLOCK_STRIDES = (2, 2, 2, 1)


class Block(collections.namedtuple('Block', ['scope', 'unit_fn', 'args'])):
  """A named tuple describing a ResNet block.

  Its parts are:
    scope: the scope of the block, e.g. 'block1'.
    unit_fn: the unit function, called as `unit_fn(net, rate=..., **args)`
      under the variable scope `<scope>/unit_<i>`.
    args: one entry per unit: a dict of keyword arguments for `unit_fn`
      ({'depth': 256, 'depth_bottleneck': 64, 'stride': 1} for the ResNet
      bottlenecks), or a tuple of the same values in the order of `unit_fn`'s
      parameters after the input, e.g. `(256, 64, 1)`.
  """
  __slots__ = ()


_UNIT_RESERVED = ('rate', 'outputs_collections', 'scope')


def _unit_parameters(unit_fn):
  """Names `unit_fn` takes after its input, or None if it takes **kwargs."""
  parameters = list(inspect.signature(unit_fn).parameters.values())[1:]
  if any(p.kind == p.VAR_KEYWORD for p in parameters):
    return None
  return [p.name for p in parameters]


def _unit_kwargs(block, index, unit):
  """Returns unit `index` of `block` as a dict of `unit_fn` keyword arguments.

  Tuples are bound to `unit_fn`'s positional parameters in order.

  Raises:
    ValueError: a tuple of the wrong arity or a dict with unknown keys.
    TypeError: an entry that is neither a tuple nor a dict.
  """
  where = "Block '%s' unit %d" % (block.scope, index + 1)
  names = _unit_parameters(block.unit_fn)
  if isinstance(unit, dict):
    if names is not None:
      unknown = sorted(set(unit) - set(names))
      if unknown:
        raise ValueError('%s: unknown argument(s) %s for %s; it takes %s' %
                         (where, ', '.join(unknown), block.unit_fn.__name__,
                          ', '.join(names)))
    return unit
  if isinstance(unit, (tuple, list)):
    if names is None:
      raise TypeError('%s: %s takes keyword arguments only; give the unit as '
                      'a dict' % (where, block.unit_fn.__name__))
    positional = [n for n in names if n not in _UNIT_RESERVED]
    required = [
        name for name, p in list(
            inspect.signature(block.unit_fn).parameters.items())[1:]
        if p.default is p.empty
    ]
    if not len(required) <= len(unit) <= len(positional):
      raise ValueError(
          '%s: expected %d values (%s), got %d: %r' %
          (where, len(required), ', '.join(required), len(unit), tuple(unit)))
    return dict(zip(positional, unit))
  raise TypeError('%s: expected a dict or a tuple of arguments, got %r' %
                  (where, unit))


def subsample(inputs, factor, scope=None):
  """Subsamples `inputs` spatially by `factor`.

  Args:
    inputs: a rank-4 tensor.
    factor: the subsampling factor.
    scope: optional name scope.

  Returns:
    `inputs` itself when factor is 1, else a 1x1 max-pool with stride `factor`.
  """
  if factor == 1:
    return inputs
  return _layers.max_pool2d(inputs, [1, 1], stride=factor, scope=scope)


def conv2d_same(inputs, num_outputs, kernel_size, stride, rate=1, scope=None):
  """Strided 2-D convolution with 'SAME' padding that is input-size invariant.

  With stride 1 this is `conv2d(..., padding='SAME')`. Otherwise the input is
  zero-padded explicitly by `k_eff - 1` pixels (`k_eff = k + (k-1)(rate-1)`,
  half before, the rest after) and convolved with 'VALID' padding, so

     net = conv2d_same(inputs, num_outputs, 3, stride=stride)

  equals

     net = conv2d(inputs, num_outputs, 3, stride=1, padding='SAME')
     net = subsample(net, factor=stride)

  for every input size, which TensorFlow's own strided 'SAME' does not give.

  Args:
    inputs: a rank-4 tensor.
    num_outputs: number of output channels.
    kernel_size: an int.
    stride: an int, the output stride.
    rate: an int, the atrous rate.
    scope: variable scope.

  Returns:
    The convolution output.
  """
  if stride == 1:
    return _layers.conv2d(inputs, num_outputs, kernel_size, stride=1,
                          rate=rate, padding='SAME', scope=scope)
  kernel_size_effective = kernel_size + (kernel_size - 1) * (rate - 1)
  pad_total = kernel_size_effective - 1
  pad_begin = pad_total // 2
  spatial = [pad_begin, pad_total - pad_begin]
  if _common.scoped_data_format() == 'NCHW':
    paddings = [[0, 0], [0, 0], spatial, spatial]
  else:
    paddings = [[0, 0], spatial, spatial, [0, 0]]
  inputs = tf.pad(inputs, paddings)
  return _layers.conv2d(inputs, num_outputs, kernel_size, stride=stride,
                        rate=rate, padding='VALID', scope=scope)


_STRIDE_UNREACHABLE = 'The target output_stride cannot be reached.'


def _check_blocks(blocks):
  """Raises naming the culprit unless `blocks` is a non-empty list of Blocks
  that each have units (an empty stack would return the root's output as
  the network's)."""
  if isinstance(blocks, Block) or not isinstance(blocks, (list, tuple)):
    raise TypeError('blocks must be a list of Blocks, got %r' % (blocks,))
  if not blocks:
    raise ValueError('blocks is empty: a network needs at least one Block')
  for block in blocks:
    if not isinstance(block, tuple) or len(block) != 3:
      raise TypeError('blocks must hold Blocks (scope, unit_fn, args), got %r'
                      % (block,))
    if not block.args:
      raise ValueError("Block '%s' has no units (args is empty)" %
                       (block.scope,))


def check_block_spec(scope, base_depth, num_units):
  """Raises naming `scope` unless base_depth and num_units are positive ints.

  The block builders call it: `[unit] * (num_units - 1) + [last]` would turn
  0 or -1 units silently into one, and a negative depth fails deep in
  TensorFlow ('Dimension -256').
  """
  for name, value in (('base_depth', base_depth), ('num_units', num_units)):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise ValueError("Block '%s': %s must be a positive int, got %r" %
                       (scope, name, value))


@slim.add_arg_scope
def stack_blocks_dense(net,
                       blocks,
                       output_stride=None,
                       store_non_strided_activations=False,
                       outputs_collections=None):
  """Stacks `Block`s and controls the output feature density.

  Creates the scopes `<block.scope>/unit_<i>`, collects each block's output
  as the end point `<block scope>`, and, once the product of the unit strides
  reaches `output_stride`, runs the remaining units at stride 1 with an
  atrous rate that multiplies by each stride skipped (DeepLab [2]).

  Args:
    net: a rank-4 tensor.
    blocks: a list of `Block`s.
    output_stride: None for the nominal stride, else the wanted ratio of input
      to output resolution; it must be a product of unit strides from the
      start.
    store_non_strided_activations: move each block's last stride to the block
      end, so the block end point is the undecimated activation.
    outputs_collections: collection for the block end points.

  Returns:
    The output tensor, at stride `output_stride` when given.

  Raises:
    ValueError: if `output_stride` cannot be reached, or a unit is malformed.
  """
  current_stride = 1
  rate = 1
  _check_blocks(blocks)
  for block in blocks:
    units = [_unit_kwargs(block, i, unit) for i, unit in enumerate(block.args)]
    with tf.compat.v1.variable_scope(block.scope, 'block', [net]) as sc:
      block_stride = 1
      for i, unit in enumerate(units):
        if store_non_strided_activations and i == len(units) - 1:
          block_stride = unit.get('stride', 1)
          unit = dict(unit, stride=1)
        with tf.compat.v1.variable_scope('unit_%d' % (i + 1), values=[net]):
          if output_stride is not None and current_stride == output_stride:
            net = block.unit_fn(net, rate=rate, **dict(unit, stride=1))
            rate *= unit.get('stride', 1)
          else:
            net = block.unit_fn(net, rate=1, **unit)
            current_stride *= unit.get('stride', 1)
            if output_stride is not None and current_stride > output_stride:
              raise ValueError(_STRIDE_UNREACHABLE)
      net = slim_utils.collect_named_outputs(outputs_collections, sc.name, net)
      if output_stride is not None and current_stride == output_stride:
        rate *= block_stride
      else:
        net = subsample(net, block_stride)
        current_stride *= block_stride
        if output_stride is not None and current_stride > output_stride:
          raise ValueError(_STRIDE_UNREACHABLE)
  if output_stride is not None and current_stride != output_stride:
    raise ValueError(_STRIDE_UNREACHABLE)
  return net


def resnet_arg_scope(
    weight_decay=0.0001,
    batch_norm_decay=0.997,
    batch_norm_epsilon=1e-5,
    batch_norm_scale=True,
    activation_fn=tf.nn.relu,
    use_batch_norm=True,
    batch_norm_updates_collections=tf.compat.v1.GraphKeys.UPDATE_OPS):
  """Defines the default ResNet arg scope.

  The batch-norm defaults suit the reference ResNet models of
  github.com/KaimingHe/deep-residual-networks; training from scratch may need
  other values.

  Args:
    weight_decay: L2 weight decay for conv weights (loss `wd * sum(w**2) / 2`).
    batch_norm_decay: moving-average decay of batch norm.
    batch_norm_epsilon: added to the variance in batch norm.
    batch_norm_scale: give batch norm a `gamma`.
    activation_fn: activation after each conv.
    use_batch_norm: put batch norm after each conv.
    batch_norm_updates_collections: collection for the batch norm updates.

  Returns:
    An arg_scope (a dict) for `slim.arg_scope(...)`. Its entries are keyed
    like tf-slim's own `conv2d`, `batch_norm` and `max_pool2d`.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': batch_norm_scale,
      'updates_collections': batch_norm_updates_collections,
      'fused': None,
  }
  with slim.arg_scope(
      [_layers.conv2d],
      weights_regularizer=slim_regularizers.l2_regularizer(weight_decay),
      weights_initializer=slim_initializers.variance_scaling_initializer(),
      activation_fn=activation_fn,
      normalizer_fn=_layers.batch_norm if use_batch_norm else None,
      normalizer_params=batch_norm_params):
    with slim.arg_scope([_layers.batch_norm], **batch_norm_params):
      # SAME padding for pool1 aligns features for dense prediction, as in
      # fb.resnet.torch; the original Caffe ResNets use VALID.
      with slim.arg_scope([_layers.max_pool2d], padding='SAME') as arg_sc:
        return arg_sc
