"""Bad arguments to the ResNets fail early with a one-line error naming them.

Each case asserts the exception type and, with `match`, that the message
names the argument (or tensor) at fault, so the tests fail if a message stops
saying what is wrong. Small graphs throughout: the errors come before or
instead of the expensive parts.

Typical use:

   TF_CPP_MIN_LOG_LEVEL=2 pytest -q tests/test_bad_input.py
"""

import pytest
import tensorflow as tf
import tf_slim as slim

from nets import resnet_utils
from nets import resnet_v1
from nets import resnet_v2

_VERSIONS = {
    'v1': (resnet_v1, resnet_v1.resnet_v1, resnet_v1.bottleneck,
           resnet_v1.resnet_v1_block, resnet_v1.resnet_v1_50),
    'v2': (resnet_v2, resnet_v2.resnet_v2, resnet_v2.bottleneck,
           resnet_v2.resnet_v2_block, resnet_v2.resnet_v2_50),
}


@pytest.fixture(params=sorted(_VERSIONS))
def version(request):
  """(module, generator, bottleneck, block builder, 50-layer model)."""
  return _VERSIONS[request.param]


def _tiny_blocks(block):
  return [block('block1', base_depth=1, num_units=2, stride=2),
          block('block2', base_depth=2, num_units=1, stride=1)]


def _raises(exception, match, fn, *args, **kwargs):
  """Calls `fn` in a fresh graph under its module's arg scope; checks."""
  with tf.Graph().as_default():
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
      with pytest.raises(exception, match=match) as info:
        fn(*args, **kwargs)
  message = str(info.value)
  assert '\n' not in message.strip(), 'not one line: %r' % message
  return message


def _placeholder(shape):
  return tf.compat.v1.placeholder(tf.float32, shape)


# --------------------------------------------------------------- inputs


@pytest.mark.parametrize('shape,rank', [([2, 32, 32], 'rank 3'),
                                        (None, 'unknown rank'),
                                        ([32, 32], 'rank 2'),
                                        ([1, 2, 32, 32, 3], 'rank 5')])
def test_inputs_must_be_rank_4(version, shape, rank):
  _, generator, _, block, model = version
  for fn, args in ((model, ()), (generator, (_tiny_blocks(block),))):

    def build(fn=fn, args=args):
      return fn(_placeholder(shape), *args, num_classes=10)

    message = _raises(ValueError, r'inputs.*rank-4', build)
    assert rank in message


def test_inputs_need_a_known_channel_dimension(version):
  _, generator, _, block, model = version
  _raises(ValueError, r'inputs.*unknown channel dimension',
          lambda: model(_placeholder([1, 32, 32, None]), num_classes=10))
  _raises(ValueError, r'inputs.*unknown channel dimension',
          lambda: generator(_placeholder([None, None, None, None]),
                            _tiny_blocks(block)))


# ---------------------------------------------------------- output_stride


@pytest.mark.parametrize('output_stride', [6, 2, 10, -4, 0])
def test_output_stride_must_be_a_positive_multiple_of_4(version,
                                                        output_stride):
  _, generator, _, block, model = version
  _raises(ValueError, r'output_stride.*multiple of 4',
          lambda: model(_placeholder([1, 32, 32, 3]),
                        output_stride=output_stride))
  _raises(ValueError, r'output_stride.*multiple of 4',
          lambda: generator(_placeholder([1, 32, 32, 3]), _tiny_blocks(block),
                            output_stride=output_stride))


@pytest.mark.parametrize('output_stride', ['8', 8.0, True])
def test_output_stride_must_be_an_int(version, output_stride):
  _, generator, _, block, _ = version
  _raises(TypeError, r'output_stride',
          lambda: generator(_placeholder([1, 32, 32, 3]), _tiny_blocks(block),
                            output_stride=output_stride))


def test_output_stride_unreachable_in_the_model(version):
  """64 is a multiple of 4 but above ResNet's nominal stride of 32."""
  _, _, _, _, model = version
  _raises(ValueError, r'output_stride cannot be reached',
          lambda: model(_placeholder([1, 64, 64, 3]), num_classes=10,
                        output_stride=64))


@pytest.mark.parametrize('output_stride,root', [(16, True), (12, True),
                                                (3, False), (8, False)])
def test_output_stride_unreachable_in_small_networks(version, output_stride,
                                                     root):
  # The tiny blocks have a nominal stride of 2 (8 with the root block); 12
  # passes the multiple-of-4 check but no unit stride product reaches 3.
  _, generator, _, block, _ = version
  _raises(ValueError, r'output_stride cannot be reached',
          lambda: generator(_placeholder([1, 32, 32, 3]), _tiny_blocks(block),
                            output_stride=output_stride,
                            include_root_block=root))


# ------------------------------------------------------------ num_classes


@pytest.mark.parametrize('num_classes,error', [(-1, ValueError),
                                               (2.5, TypeError),
                                               ('10', TypeError),
                                               (True, TypeError)])
def test_num_classes_must_be_a_non_negative_int(version, num_classes, error):
  _, generator, _, block, model = version
  message = _raises(error, r'num_classes',
                    lambda: model(_placeholder([1, 32, 32, 3]),
                                  num_classes=num_classes))
  assert repr(num_classes) in message or str(num_classes) in message
  _raises(error, r'num_classes',
          lambda: generator(_placeholder([1, 32, 32, 3]), _tiny_blocks(block),
                            num_classes=num_classes))


# ------------------------------------------------------------------ Block


def _build_block(version, units):
  _, generator, bottleneck, _, _ = version
  blocks = [resnet_utils.Block('block1', bottleneck, units)]
  return generator(_placeholder([1, 32, 32, 3]), blocks,
                   include_root_block=False)


def test_block_unit_tuple_with_too_few_values(version):
  message = _raises(
      ValueError, r"Block 'block1' unit 2: expected 3 values",
      lambda: _build_block(version, [(16, 4, 1), (16, 4)]))
  assert 'depth, depth_bottleneck, stride' in message
  assert '(16, 4)' in message


def test_block_unit_tuple_with_too_many_values(version):
  module = version[0]
  # v1's bottleneck takes a 4th positional unit argument,
  # use_bounded_activations; v2's takes 3.
  units = (16, 4, 1, False, 7) if module is resnet_v1 else (16, 4, 1, 2)
  _raises(ValueError, r"Block 'block1' unit 1: expected 3 values",
          lambda: _build_block(version, [units]))


def test_block_unit_dict_with_unknown_keys(version):
  message = _raises(
      ValueError, r"Block 'block1' unit 1: unknown argument\(s\) bogus",
      lambda: _build_block(version, [{'depth': 16, 'depth_bottleneck': 4,
                                      'stride': 1, 'bogus': 1}]))
  assert 'depth_bottleneck' in message  # Lists what it takes.


@pytest.mark.parametrize('unit', [256, 'depth', None])
def test_block_unit_of_the_wrong_type(version, unit):
  _raises(TypeError, r"Block 'block1' unit 1: expected a dict or a tuple",
          lambda: _build_block(version, [unit]))


# -------------------------------------------------------- depth_multiplier


@pytest.mark.parametrize('depth_multiplier', [0, -1, -0.5, '2', None])
def test_v1_depth_multiplier_must_be_positive(depth_multiplier):
  message = _raises(
      ValueError, r'depth_multiplier must be a positive number',
      lambda: resnet_v1.resnet_v1_50(_placeholder([1, 32, 32, 3]),
                                     depth_multiplier=depth_multiplier))
  assert repr(depth_multiplier) in message


@pytest.mark.parametrize('model', [resnet_v1.resnet_v1_101,
                                   resnet_v1.resnet_v1_152,
                                   resnet_v1.resnet_v1_200])
def test_v1_depth_multiplier_checked_by_every_depth(model):
  _raises(ValueError, r'depth_multiplier',
          lambda: model(_placeholder([1, 32, 32, 3]), depth_multiplier=0))
