"""Builds a network by name, as TF-Slim's `nets.nets_factory` does.

`networks_map` and `arg_scopes_map` are read-only dict views of
`nets.registry`: every registered model appears in both, so new families are
picked up without touching this module. `get_network_fn` wraps a model in its
arg scope with the weight decay and batch-norm mode of the caller.

Typical use:

   import tensorflow as tf
   from nets import nets_factory

   network_fn = nets_factory.get_network_fn('resnet_v2_50', num_classes=1001,
                                            weight_decay=0.0001,
                                            is_training=True)
   size = network_fn.default_image_size
   images = tf.compat.v1.placeholder(tf.float32, [None, size, size, 3])
   logits, end_points = network_fn(images)

   # Iterate or index the maps as slim's train_image_classifier.py does:
   for name in nets_factory.networks_map:
     print(name, nets_factory.networks_map[name].default_image_size)
"""

import collections.abc
import functools

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import registry


class _RegistryView(collections.abc.Mapping):
  """A read-only dict of model name -> one field of its `ModelInfo`."""

  def __init__(self, field):
    self._field = field

  def __getitem__(self, name):
    if not isinstance(name, str) or name not in registry.list_models():
      raise KeyError(name)
    return getattr(registry.get_model(name), self._field)

  def __iter__(self):
    return iter(registry.list_models())

  def __len__(self):
    return len(registry.list_models())

  def __repr__(self):
    return '{%s}' % ', '.join('%r: %r' % item for item in self.items())


networks_map = _RegistryView('fn')
arg_scopes_map = _RegistryView('arg_scope_fn')


def _squeezed_logits(logits):
  """[B, 1, 1, C] logits (DeepLab's Xception has no spatial_squeeze) as
  [B, C], what classification losses and metrics take; others unchanged."""
  axes = _common.spatial_axes()
  if logits.shape.rank != 4 or logits.shape.as_list()[axes[0]:axes[1] + 1] != [
      1, 1]:
    return logits
  return tf.squeeze(logits, axes, name='SpatialSqueeze')


def get_network_fn(name, num_classes, weight_decay=0.0, is_training=False):
  """Returns a network_fn such as `logits, end_points = network_fn(images)`.

  Args:
    name: the name of the network, a key of `networks_map`.
    num_classes: the number of classes to use for classification; 0 or None
      gives the features before the logits layer.
    weight_decay: the L2 regularization of the network's weights, passed to
      its arg scope.
    is_training: `True` if the model is being used for training.

  Returns:
    network_fn: `network_fn(images, **kwargs)` builds the network on images
      [batch, height, width, 3] under its arg scope, passing `kwargs` (e.g.
      `global_pool`, `output_stride`, `scope`) to the model function, and
      returns what the model returns, `(net, end_points)`: logits
      [batch, num_classes] (every model, as a classification pipeline
      needs; DeepLab's xception_41/65/71 return [batch, 1, 1, num_classes]
      when called directly, and their end points keep that shape), or the
      features, and the end-point dict. `spatial_squeeze=False` keeps 4-D
      logits. It carries the model's `default_image_size`.

  Raises:
    ValueError: if network `name` is not recognized; the message lists the
      known networks.
  """
  if name not in networks_map:
    raise ValueError('Name of network unknown %s; known networks: %s' %
                     (name, ', '.join(networks_map)))
  func = networks_map[name]
  arg_scope_fn = arg_scopes_map[name]

  # wraps() also copies func.__dict__, so default_image_size comes along.
  @functools.wraps(func)
  def network_fn(images, **kwargs):
    with slim.arg_scope(arg_scope_fn(weight_decay=weight_decay)):
      net, end_points = func(images, num_classes=num_classes,
                             is_training=is_training, **kwargs)
      if num_classes and kwargs.get('spatial_squeeze', True):
        net = _squeezed_logits(net)
    return net, end_points

  return network_fn
