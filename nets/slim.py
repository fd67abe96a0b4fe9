"""tf-slim for your own networks on TensorFlow 2.21, without tf_keras.

A network written for tf-slim changes one line::

    import tf_slim as slim        # before
    from nets import slim         # after

and builds the same variables (names, shapes, collections), the same update
ops and regularization losses, and computes the same numbers.

This module is tf-slim's public namespace (`arg_scope`, `add_arg_scope`,
`layers`, `losses`, `regularizers`, `initializers`, `utils`, `metrics`,
`fully_connected`, `flatten`, `repeat`, `stack`, `l2_regularizer`, ...),
re-exported as it is, except for the layers below, which are slimnets' own
(from `nets._layers`, on plain `tf.compat.v1` ops):

  batch_norm                   tf-slim's needs tf_keras' legacy layers (and
                               on rank-2 inputs dies on TF 2.21 even with
                               them).
  conv2d (convolution2d), separable_conv2d (separable_convolution2d),
  max_pool2d, avg_pool2d, dropout, fully_connected (and `linear`, `relu`,
  `relu6`, `elu` on it), flatten, conv3d (convolution3d), max_pool3d,
  avg_pool3d
                               tf-slim's work, but on TensorFlow's legacy
                               Keras layer classes (graph building slows down
                               with depth); ours are what slimnets' networks
                               use, and map a `normalizer_fn` of tf-slim's
                               batch_norm to ours.

Every other tf-slim layer taking a `normalizer_fn` (`convolution`, `conv1d`,
`conv2d_in_plane`, `conv2d_transpose`, `conv3d_transpose`) is tf-slim's own,
behind a wrapper that passes tf-slim's batch_norm on as ours. `layers` is a
copy of `tf_slim.layers`' namespace with the same replacements.

Each replacement answers to the arg_scope key of its tf-slim twin, so
`arg_scope([slim.batch_norm], ...)` here and `arg_scope([tf_slim.batch_norm],
...)` elsewhere set the same defaults, for ours and for slimnets' networks.
Nothing in tensorflow or tf_slim is modified: `tf_slim.batch_norm` itself is
still tf-slim's. See docs/slim_layers.md for what does not work on TF 2.21.

Typical use:

   from nets import slim

   def my_net(images, is_training):
     with slim.arg_scope([slim.conv2d, slim.fully_connected],
                         weights_regularizer=slim.l2_regularizer(4e-5)):
       with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm,
                           normalizer_params={'is_training': is_training}):
         net = slim.repeat(images, 2, slim.conv2d, 64, [3, 3], scope='conv1')
         net = slim.max_pool2d(net, [2, 2], scope='pool1')
         net = slim.flatten(net)
         net = slim.dropout(net, 0.5, is_training=is_training)
         return slim.fully_connected(net, 10, activation_fn=None,
                                     scope='logits')
"""

import functools
import types

import tf_slim as _tf_slim
from tf_slim import layers as _tf_slim_layers

from nets import _layers
from nets import _layers_3d

# tf-slim's namespace as it is (the __future__ markers of its sources aside);
# the replacements below are bound over it.
_FUTURE = ('absolute_import', 'division', 'print_function')
globals().update({name: getattr(_tf_slim, name) for name in dir(_tf_slim)
                  if not name.startswith('_') and name not in _FUTURE})


def _with_our_batch_norm(slim_layer):
  """tf-slim's `slim_layer`, with a `normalizer_fn` of tf-slim's batch_norm
  (passed or from an arg scope) running as ours. Same arg-scope key."""

  @functools.wraps(slim_layer)
  def layer(*args, **kwargs):
    if kwargs.get('normalizer_fn') is _tf_slim.batch_norm:
      kwargs['normalizer_fn'] = _layers.batch_norm
    return slim_layer(*args, **kwargs)

  # `_answers_to` merges the arg scope first, so a scoped normalizer_fn is
  # seen (tf-slim's own decorator then finds every argument given).
  return _layers._answers_to(slim_layer)(layer)  # pylint: disable=protected-access


batch_norm = _layers.batch_norm
conv2d = convolution2d = _layers.conv2d
separable_conv2d = separable_convolution2d = _layers.separable_conv2d
max_pool2d = _layers.max_pool2d
avg_pool2d = _layers.avg_pool2d
dropout = _layers.dropout
fully_connected = _layers.fully_connected
flatten = _layers.flatten
group_norm = _layers.group_norm

convolution = _with_our_batch_norm(_tf_slim.convolution)
conv1d = convolution1d = _with_our_batch_norm(_tf_slim.conv1d)
conv3d = convolution3d = _layers_3d.conv3d
max_pool3d = _layers_3d.max_pool3d
avg_pool3d = _layers_3d.avg_pool3d
conv2d_in_plane = convolution2d_in_plane = _with_our_batch_norm(
    _tf_slim.conv2d_in_plane)
conv2d_transpose = convolution2d_transpose = _with_our_batch_norm(
    _tf_slim.conv2d_transpose)
conv3d_transpose = convolution3d_transpose = _with_our_batch_norm(
    _tf_slim.conv3d_transpose)


def _rebound(slim_partial):
  """tf-slim's `functools.partial(fully_connected, ...)`, on ours."""
  return functools.partial(fully_connected, *slim_partial.args,
                           **slim_partial.keywords)


linear = _rebound(_tf_slim.linear)
relu = _rebound(_tf_slim.relu)
relu6 = _rebound(_tf_slim.relu6)
elu = _rebound(_tf_slim.elu)

OURS = ('batch_norm', 'conv2d', 'convolution2d', 'separable_conv2d',
        'separable_convolution2d', 'max_pool2d', 'avg_pool2d', 'dropout',
        'fully_connected', 'linear', 'relu', 'relu6', 'elu', 'flatten',
        'conv3d', 'convolution3d', 'max_pool3d', 'avg_pool3d', 'group_norm')
WRAPPED = ('convolution',
           'conv1d', 'convolution1d',
           'conv2d_in_plane', 'convolution2d_in_plane', 'conv2d_transpose',
           'convolution2d_transpose', 'conv3d_transpose',
           'convolution3d_transpose')


def _layers_namespace():
  """`tf_slim.layers`' names in a new module, ours bound over tf-slim's."""
  module = types.ModuleType(__name__ + '.layers', _tf_slim_layers.__doc__)
  for name in dir(_tf_slim_layers):
    if not name.startswith('_') and name not in _FUTURE:
      setattr(module, name, getattr(_tf_slim_layers, name))
  for name in OURS + WRAPPED:
    if hasattr(_tf_slim_layers, name):
      setattr(module, name, globals()[name])
  return module


layers = _layers_namespace()


def __getattr__(name):
  # What tf_slim gains later (a subpackage imported after this module, such
  # as `tf_slim.nets`) is tf-slim's too.
  if name.startswith('__'):
    raise AttributeError(name)
  try:
    return getattr(_tf_slim, name)
  except AttributeError:
    raise AttributeError('module %r has no attribute %r' %
                         (__name__, name)) from None
