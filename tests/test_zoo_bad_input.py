"""Bad arguments to any registered network give one clear line.

For the first model of every family of `nets.registry` (a new family is
picked up by itself), whichever of these it takes: an unknown
`final_endpoint` (the error names it and lists the valid end points, checked
against a real build), a `depth_multiplier` of 0, and an image below the
network's `min_image_size` (the smallest it takes in training mode).
"""

import collections
import inspect

import pytest
import tensorflow as tf

from nets import nets_factory
from nets import registry

_FIRST_OF_FAMILY = list(collections.OrderedDict(
    (registry.get_model(n).family, n)
    for n in reversed(registry.list_models())).values())[::-1]


def _parameters(name):
  return inspect.signature(registry.get_model(name).fn).parameters


def _build(name, size=None, is_training=False, **kwargs):
  info = registry.get_model(name)
  size = size or max(64, info.min_image_size or 0)
  with tf.Graph().as_default():
    images = tf.compat.v1.placeholder(
        tf.float32, registry.input_shape(name, 1, size, 8))
    return nets_factory.get_network_fn(name, 5, is_training=is_training)(
        images, **kwargs)


def _one_line_error(name, **kwargs):
  with pytest.raises(ValueError) as raised:
    _build(name, **kwargs)
  message = str(raised.value)
  assert '\n' not in message, message
  return message


@pytest.mark.parametrize('name', [n for n in _FIRST_OF_FAMILY
                                  if 'final_endpoint' in _parameters(n)])
def test_unknown_final_endpoint_lists_the_valid_ones(name):
  message = _one_line_error(name, final_endpoint='NoSuchPoint')
  assert 'NoSuchPoint' in message
  # The valid ones are the base network's end points: the first one the
  # full network records must be among them.
  _, end_points = _build(name)
  first = next(iter(end_points)).split('/')[-1]
  assert first in message, (first, message)


# Upstream's ResNet v1 floors every depth at min_base_depth, so 0 is a valid
# multiplier there (tests/test_resnet_v1.py); everywhere else it is not.
@pytest.mark.parametrize('name', [n for n in _FIRST_OF_FAMILY
                                  if 'depth_multiplier' in _parameters(n) and
                                  registry.get_model(n).family != 'resnet_v1'])
def test_depth_multiplier_of_zero(name):
  message = _one_line_error(name, depth_multiplier=0)
  assert 'depth_multiplier' in message


@pytest.mark.parametrize('name', [n for n in registry.list_models()
                                  if registry.get_model(n).min_image_size])
def test_image_below_the_minimum_size(name):
  # Training mode: NASNet's minimum is its aux head's, built in training only.
  minimum = registry.get_model(name).min_image_size
  message = _one_line_error(name, size=minimum - 1, is_training=True)
  assert str(minimum - 1) in message and str(minimum) in message, message
