"""Inception-v4, drop-in for TF-Slim's `nets.inception_v4`.

[1] Christian Szegedy, Sergey Ioffe, Vincent Vanhoucke, Alex Alemi.
    Inception-v4, Inception-ResNet and the Impact of Residual Connections on
    Learning. arXiv:1602.07261

Same variable names, end points and numbers as TF-Slim, so checkpoints such
as `inception_v4.ckpt` (1001 classes, "inception" preprocessing, 299x299)
restore as they are.

The network is data: each block is a table of branches (`Mixed`), each branch
a list of layer specs (`Conv`, `Pool`, `Fork`), and the whole network a
list of (end point, spec) stages walked by one loop. The spec types are shared
with `nets.inception_resnet_v2`.

Typical use:

   import tf_slim as slim
   from nets import inception_v4

   with slim.arg_scope(inception_v4.inception_v4_arg_scope()):
     logits, end_points = inception_v4.inception_v4(images, num_classes=1001,
                                                    is_training=False)

   # Features up to an intermediate block:
   with slim.arg_scope(inception_v4.inception_v4_arg_scope()):
     net, end_points = inception_v4.inception_v4_base(
         images, final_endpoint='Mixed_6h')
"""

import collections

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import inception_utils
from nets import registry

_SAME = 'SAME'
_VALID = 'VALID'


def _out_size(size, kernel, stride, padding):
  """Output length of a conv or pool along one axis (0: nothing left)."""
  if size is None:
    return None
  if padding == _SAME:
    return -(-size // stride)
  return max(0, (size - kernel) // stride + 1)


def _pair(value):
  return (value, value) if isinstance(value, int) else tuple(value)


class Conv(
    collections.namedtuple('Conv',
                           ['scope', 'depth', 'kernel', 'stride', 'padding'],
                           defaults=(1, _SAME))):
  """A conv2d layer; batch norm and activation come from the arg scope.

  Fields: variable scope, output channels, kernel (int or [height, width]),
  stride, padding.
  """

  def build(self, net):
    return _layers.conv2d(net, self.depth, self.kernel, stride=self.stride,
                          padding=self.padding, scope=self.scope)

  def out_shape(self, shape):
    # An atrous rate (from an arg scope) changes nothing: atrous convs here
    # are all SAME.
    return tuple(
        _out_size(size, kernel, self.stride, self.padding)
        for size, kernel in zip(shape, _pair(self.kernel)))


class Pool(
    collections.namedtuple('Pool',
                           ['scope', 'kind', 'kernel', 'stride', 'padding'],
                           defaults=(1, _SAME))):
  """A 'max' or 'avg' pooling layer (fields as in `Conv`, kind second)."""

  def build(self, net):
    pool = _layers.max_pool2d if self.kind == 'max' else _layers.avg_pool2d
    return pool(net, self.kernel, stride=self.stride, padding=self.padding,
                scope=self.scope)

  out_shape = Conv.out_shape


class Fork(collections.namedtuple('Fork', ['layers'])):
  """Layers applied side by side to one input, outputs concatenated.

  Inception-C splits a branch into a 1x3 and a 3x1 conv this way (Fig. 6
  of [1]); the layers keep SAME padding, so the spatial shape is the first's.
  """

  def build(self, net):
    return tf.concat([layer.build(net) for layer in self.layers], axis=3)

  def out_shape(self, shape):
    return self.layers[0].out_shape(shape)


def build_branches(net, branches):
  """Runs each branch (a list of layer specs) on `net` in scope Branch_<i>.

  Returns:
    The branch outputs concatenated on channels.
  """
  outputs = []
  for index, layers in enumerate(branches):
    with tf.compat.v1.variable_scope('Branch_%d' % index):
      branch = net
      for layer in layers:
        branch = layer.build(branch)
      outputs.append(branch)
  return tf.concat(outputs, axis=3)


def _branches_out_shape(branches, shape):
  """Spatial shape after a block; every branch gives the same one."""
  for layer in branches[0]:
    shape = layer.out_shape(shape)
  return shape


class Mixed(collections.namedtuple('Mixed',
                                   ['scope', 'default_scope', 'branches'])):
  """A block of parallel branches concatenated on channels.

  Fields: variable scope (None: `default_scope`, made unique), default
  scope, and a list of branches, each a list of layer specs.
  """

  def build(self, net, reuse=None):
    with tf.compat.v1.variable_scope(self.scope, self.default_scope, [net],
                                     reuse=reuse):
      return build_branches(net, self.branches)

  def out_shape(self, shape):
    return _branches_out_shape(self.branches, shape)


# The blocks of Fig. 3-8 of [1]: one list of layers per branch, Branch_0
# first. Reductions use VALID padding, everything else SAME.
_INCEPTION_A = (
    (Conv('Conv2d_0a_1x1', 96, 1),),
    (Conv('Conv2d_0a_1x1', 64, 1), Conv('Conv2d_0b_3x3', 96, 3)),
    (Conv('Conv2d_0a_1x1', 64, 1), Conv('Conv2d_0b_3x3', 96, 3),
     Conv('Conv2d_0c_3x3', 96, 3)),
    (Pool('AvgPool_0a_3x3', 'avg', 3), Conv('Conv2d_0b_1x1', 96, 1)),
)

_REDUCTION_A = (
    (Conv('Conv2d_1a_3x3', 384, 3, 2, _VALID),),
    (Conv('Conv2d_0a_1x1', 192, 1), Conv('Conv2d_0b_3x3', 224, 3),
     Conv('Conv2d_1a_3x3', 256, 3, 2, _VALID)),
    (Pool('MaxPool_1a_3x3', 'max', 3, 2, _VALID),),
)

_INCEPTION_B = (
    (Conv('Conv2d_0a_1x1', 384, 1),),
    (Conv('Conv2d_0a_1x1', 192, 1), Conv('Conv2d_0b_1x7', 224, [1, 7]),
     Conv('Conv2d_0c_7x1', 256, [7, 1])),
    (Conv('Conv2d_0a_1x1', 192, 1), Conv('Conv2d_0b_7x1', 192, [7, 1]),
     Conv('Conv2d_0c_1x7', 224, [1, 7]), Conv('Conv2d_0d_7x1', 224, [7, 1]),
     Conv('Conv2d_0e_1x7', 256, [1, 7])),
    (Pool('AvgPool_0a_3x3', 'avg', 3), Conv('Conv2d_0b_1x1', 128, 1)),
)

_REDUCTION_B = (
    (Conv('Conv2d_0a_1x1', 192, 1), Conv('Conv2d_1a_3x3', 192, 3, 2, _VALID)),
    (Conv('Conv2d_0a_1x1', 256, 1), Conv('Conv2d_0b_1x7', 256, [1, 7]),
     Conv('Conv2d_0c_7x1', 320, [7, 1]),
     Conv('Conv2d_1a_3x3', 320, 3, 2, _VALID)),
    (Pool('MaxPool_1a_3x3', 'max', 3, 2, _VALID),),
)

_INCEPTION_C = (
    (Conv('Conv2d_0a_1x1', 256, 1),),
    (Conv('Conv2d_0a_1x1', 384, 1),
     Fork((Conv('Conv2d_0b_1x3', 256, [1, 3]),
               Conv('Conv2d_0c_3x1', 256, [3, 1])))),
    (Conv('Conv2d_0a_1x1', 384, 1), Conv('Conv2d_0b_3x1', 448, [3, 1]),
     Conv('Conv2d_0c_1x3', 512, [1, 3]),
     Fork((Conv('Conv2d_0d_1x3', 256, [1, 3]),
               Conv('Conv2d_0e_3x1', 256, [3, 1])))),
    (Pool('AvgPool_0a_3x3', 'avg', 3), Conv('Conv2d_0b_1x1', 256, 1)),
)

# The stem of Fig. 3 of [1]: 299x299x3 -> 35x35x384.
_MIXED_3A = (
    (Pool('MaxPool_0a_3x3', 'max', 3, 2, _VALID),),
    (Conv('Conv2d_0a_3x3', 96, 3, 2, _VALID),),
)

_MIXED_4A = (
    (Conv('Conv2d_0a_1x1', 64, 1), Conv('Conv2d_1a_3x3', 96, 3, 1, _VALID)),
    (Conv('Conv2d_0a_1x1', 64, 1), Conv('Conv2d_0b_1x7', 64, [1, 7]),
     Conv('Conv2d_0c_7x1', 64, [7, 1]),
     Conv('Conv2d_1a_3x3', 96, 3, 1, _VALID)),
)

_MIXED_5A = (
    (Conv('Conv2d_1a_3x3', 192, 3, 2, _VALID),),
    (Pool('MaxPool_1a_3x3', 'max', 3, 2, _VALID),),
)


def _repeated(prefix, count, default_scope, branches):
  """`count` blocks named prefix + 'b', 'c', ... (Mixed_5b .. Mixed_5e)."""
  return [(prefix + chr(ord('b') + i),
           Mixed(prefix + chr(ord('b') + i), default_scope, branches))
          for i in range(count)]


# (end point, spec) in order; the end point is also the variable scope.
_LAYOUT = [
    ('Conv2d_1a_3x3', Conv('Conv2d_1a_3x3', 32, 3, 2, _VALID)),
    ('Conv2d_2a_3x3', Conv('Conv2d_2a_3x3', 32, 3, 1, _VALID)),
    ('Conv2d_2b_3x3', Conv('Conv2d_2b_3x3', 64, 3)),
    ('Mixed_3a', Mixed('Mixed_3a', None, _MIXED_3A)),
    ('Mixed_4a', Mixed('Mixed_4a', None, _MIXED_4A)),
    ('Mixed_5a', Mixed('Mixed_5a', None, _MIXED_5A)),
] + _repeated('Mixed_5', 4, 'BlockInceptionA', _INCEPTION_A) + [
    ('Mixed_6a', Mixed('Mixed_6a', 'BlockReductionA', _REDUCTION_A)),
] + _repeated('Mixed_6', 7, 'BlockInceptionB', _INCEPTION_B) + [
    ('Mixed_7a', Mixed('Mixed_7a', 'BlockReductionB', _REDUCTION_B)),
] + _repeated('Mixed_7', 3, 'BlockInceptionC', _INCEPTION_C)

# The auxiliary head's pooling, on Mixed_6h (5x5, stride 3, VALID).
_AUX_POOL = Pool('AvgPool_1a_5x5', 'avg', 5, 3, _VALID)


def block_inception_a(inputs, scope=None, reuse=None):
  """Inception-A block (Fig. 4 of [1]), 35x35, default scope BlockInceptionA."""
  return Mixed(scope, 'BlockInceptionA', _INCEPTION_A).build(inputs, reuse)


def block_reduction_a(inputs, scope=None, reuse=None):
  """Reduction-A block (Fig. 7 of [1]), 35 -> 17, scope BlockReductionA."""
  return Mixed(scope, 'BlockReductionA', _REDUCTION_A).build(inputs, reuse)


def block_inception_b(inputs, scope=None, reuse=None):
  """Inception-B block (Fig. 5 of [1]), 17x17, default scope BlockInceptionB."""
  return Mixed(scope, 'BlockInceptionB', _INCEPTION_B).build(inputs, reuse)


def block_reduction_b(inputs, scope=None, reuse=None):
  """Reduction-B block (Fig. 8 of [1]), 17 -> 8, scope BlockReductionB."""
  return Mixed(scope, 'BlockReductionB', _REDUCTION_B).build(inputs, reuse)


def block_inception_c(inputs, scope=None, reuse=None):
  """Inception-C block (Fig. 6 of [1]), 8x8, default scope BlockInceptionC."""
  return Mixed(scope, 'BlockInceptionC', _INCEPTION_C).build(inputs, reuse)


def stages_up_to(layout, final_endpoint, model_name):
  """The (end point, spec) stages of `layout` up to `final_endpoint`.

  Raises:
    ValueError: naming `final_endpoint` and listing the valid ones in order
      (in the words of `nets.inception_utils`).
  """
  names = [name for name, _ in layout if name]
  if final_endpoint not in names:
    raise ValueError('Unknown final endpoint %s; the end points of %s are, in '
                     'order: %s' % (final_endpoint, model_name,
                                    ', '.join(names)))
  last = [name for name, _ in layout].index(final_endpoint)
  return layout[:last + 1]


def _fits(shape, paths):
  for path in paths:
    out = tuple(shape)
    for spec in path:
      out = spec.out_shape(out)
    if 0 in out:
      return False
  return True


def _smallest(paths):
  return next(n for n in range(1, 1 << 16) if _fits((n, n), paths))


def check_image_size(inputs, model_name, path, head_path=None, head=None):
  """Raises unless the specs of `path` (and `head_path`) leave a pixel.

  A network without padding on its reductions (VALID convs and pools)
  otherwise fails deep inside TensorFlow with a negative dimension.

  Args:
    inputs: the image tensor [batch, height, width, channels].
    model_name: the network, for the message.
    path: the specs (with `out_shape`) the network applies in turn.
    head_path: None, or the specs leading to and through a head with a
      fixed window (the auxiliary logits).
    head: what `head_path` builds, for the message.

  Raises:
    ValueError: in one line naming `inputs`, their size and the smallest
      size that works (in the words of `nets.inception_utils`).
  """
  paths = [path] + ([head_path] if head_path else [])
  height, width = inputs.shape.as_list()[1:3]
  if _fits((height, width), paths):
    return
  minimum = _smallest(paths)
  plain = _smallest([path])
  detail = ''
  if minimum != plain:
    detail = ' (for %s; %dx%d without it)' % (head, plain, plain)
  raise ValueError(
      "%s: inputs '%s' are %sx%s, too small; the smallest height and width it "
      'takes are %dx%d%s' % (model_name, inputs.name, height, width, minimum,
                             minimum, detail))


def global_pool(net, scope):
  """Average over height and width, keeping them as 1x1.

  A VALID average pool of the whole map in `scope` (as slim) when the shape
  is static, else a mean (op 'global_pool').
  """
  kernel = net.shape.as_list()[1:3]
  if None not in kernel:
    return _layers.avg_pool2d(net, kernel, stride=1, padding=_VALID,
                              scope=scope)
  return tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')


def aux_logits(net, num_classes, pool, conv_scopes, logits_scope):
  """The auxiliary classifier head (in the caller's 'AuxLogits' scope).

  Average pool `pool`, a 1x1 conv to 128 channels, a VALID conv to 768
  whose kernel covers the whole pooled map, then linear logits.

  Args:
    net: the feature map the head reads.
    num_classes: logits size.
    pool: the `Pool` spec.
    conv_scopes: scopes of the two convs.
    logits_scope: scope of the fully connected layer.

  Returns:
    Logits [batch, num_classes].
  """
  net = pool.build(net)
  net = _layers.conv2d(net, 128, 1, stride=1, padding=_SAME,
                       scope=conv_scopes[0])
  net = _layers.conv2d(net, 768, net.shape.as_list()[1:3], stride=1,
                       padding=_VALID, scope=conv_scopes[1])
  net = _layers.flatten(net)
  return _layers.fully_connected(net, num_classes, activation_fn=None,
                                 scope=logits_scope)


def build_stages(net, stages, end_points):
  """Builds the (end point, spec) `stages`, recording the named outputs."""
  for name, spec in stages:
    net = spec.build(net)
    if name:
      end_points[name] = net
  return net


def inception_v4_base(inputs, final_endpoint='Mixed_7d', scope=None):
  """Inception-v4 up to `final_endpoint` (Fig. 9 of [1]).

  Args:
    inputs: a tensor [batch, height, width, 3].
    final_endpoint: the last end point to build, one of 'Conv2d_1a_3x3',
      'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'Mixed_3a', 'Mixed_4a', 'Mixed_5a',
      'Mixed_5b'..'Mixed_5e', 'Mixed_6a', 'Mixed_6b'..'Mixed_6h', 'Mixed_7a',
      'Mixed_7b'..'Mixed_7d'.
    scope: variable scope, default 'InceptionV4'.

  Returns:
    net: the output of `final_endpoint`.
    end_points: dict of the end points built, in order.

  Raises:
    ValueError: for an unknown final_endpoint (listing the valid ones), or
      an image too small to reach it.
  """
  _common.require_nhwc('inception_v4')
  inputs = _common.validate_inputs(inputs)
  stages = stages_up_to(_LAYOUT, final_endpoint, 'InceptionV4')
  check_image_size(inputs, 'InceptionV4', [spec for _, spec in stages])
  end_points = {}
  with tf.compat.v1.variable_scope(scope, 'InceptionV4', [inputs]):
    net = build_stages(inputs, stages, end_points)
  return net, end_points


def check_classifier_inputs(inputs, model_name, layout, aux_end_point,
                            aux_pool):
  """Raises unless the whole network, and the auxiliary head on
  `aux_end_point` when that is not None, can be built on `inputs`.

  Raises:
    ValueError: in one line, when the image is too small, or of unknown
      height or width with the auxiliary head (whose conv covers the whole
      pooled map).
  """
  aux_path = None
  if aux_end_point:
    if None in inputs.shape.as_list()[1:3]:
      raise ValueError(
          "%s: inputs '%s' (shape %s) have an unknown height or width, which "
          'AuxLogits need; pass create_aux_logits=False' %
          (model_name, inputs.name, inputs.shape))
    aux_path = [spec for _, spec in stages_up_to(layout, aux_end_point,
                                                 model_name)] + [aux_pool]
  check_image_size(inputs, model_name, [spec for _, spec in layout], aux_path,
                   "AuxLogits' 5x5 pool")


inception_v4_arg_scope = inception_utils.inception_arg_scope


# The aux head's 5x5 VALID pool needs 107x107 images in training (75x75
# without it).
@registry.register('inception_v4', inception_v4_arg_scope, 299, 1001,
                   'inception', min_image_size=107)
def inception_v4(inputs, num_classes=1001, is_training=True,
                 dropout_keep_prob=0.8,
                 reuse=None,
                 scope='InceptionV4',
                 create_aux_logits=True):
  """Inception-v4 classifier of [1].

  Args:
    inputs: a tensor [batch, height, width, 3]; height and width may be
      unknown when create_aux_logits is False.
    num_classes: logits size; 0 or None returns the pooled features
      [batch, 1, 1, 1536] (before dropout) instead.
    is_training: batch norm and dropout mode.
    dropout_keep_prob: fraction kept by the dropout before the logits.
    reuse: reuse the network's variables (needs `scope`).
    scope: variable scope.
    create_aux_logits: add the auxiliary head on Mixed_6h.

  Returns:
    net: logits [batch, num_classes], or the pooled features.
    end_points: dict of the base's end points, then 'AuxLogits',
      'global_pool', 'PreLogitsFlatten', 'Logits', 'Predictions'.

  Raises:
    ValueError / TypeError: bad inputs, num_classes or is_training, or an
      image too small (or of unknown size with the auxiliary head).
  """
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  _common.require_nhwc('inception_v4')
  inputs = _common.validate_inputs(inputs)
  with_aux = bool(create_aux_logits and num_classes)
  check_classifier_inputs(inputs, 'InceptionV4', _LAYOUT,
                          'Mixed_6h' if with_aux else None, _AUX_POOL)
  with tf.compat.v1.variable_scope(
      scope, 'InceptionV4', [inputs], reuse=reuse) as var_scope:
    with slim.arg_scope([_layers.batch_norm, _layers.dropout],
                        is_training=is_training):
      net, end_points = inception_v4_base(inputs, scope=var_scope)
      if with_aux:
        with tf.compat.v1.variable_scope('AuxLogits'):
          end_points['AuxLogits'] = aux_logits(
              end_points['Mixed_6h'], num_classes, _AUX_POOL,
              ('Conv2d_1b_1x1', 'Conv2d_2a'), 'Aux_logits')
      net = _logits(net, end_points, num_classes, dropout_keep_prob)
  return net, end_points


def _logits(net, end_points, num_classes, dropout_keep_prob):
  """Scope 'Logits': pool, then (with classes) dropout, flatten, logits."""
  with tf.compat.v1.variable_scope('Logits'):
    net = global_pool(net, 'AvgPool_1a')
    end_points['global_pool'] = net
    if not num_classes:
      return net
    net = _layers.dropout(net, dropout_keep_prob, scope='Dropout_1b')
    net = _layers.flatten(net, scope='PreLogitsFlatten')
    end_points['PreLogitsFlatten'] = net
    logits = _layers.fully_connected(net, num_classes, activation_fn=None,
                                     scope='Logits')
    end_points['Logits'] = logits
    end_points['Predictions'] = tf.nn.softmax(logits, name='Predictions')
    return logits
