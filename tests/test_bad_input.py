"""Bad arguments to the nets and the factory: one-line errors naming them.

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

from nets import nets_factory
from nets import registry
from nets import resnet_utils
from nets import resnet_v1
from nets import resnet_v2
from nets import resnext
from nets import xception

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


@pytest.mark.parametrize('dtype', [tf.uint8, tf.int32, tf.bool])
def test_inputs_must_be_floating(version, dtype):
  _, _, _, _, model = version
  message = _raises(
      ValueError, r"inputs 'Placeholder:0' has dtype %s; .*float" % dtype.name,
      lambda: model(tf.compat.v1.placeholder(dtype, [1, 32, 32, 3])))
  assert 'preprocessing' in message


@pytest.mark.parametrize('shape', [[1, 0, 0, 3], [1, 32, 0, 3]])
def test_inputs_must_not_be_empty_images(version, shape):
  _, _, _, _, model = version
  _raises(ValueError, r"inputs 'Placeholder:0' has an empty image",
          lambda: model(_placeholder(shape)))


def test_inputs_dimensions_must_fit_int32(version):
  _, _, _, _, model = version
  _raises(ValueError, r"inputs 'Placeholder:0' is too large.*2\*\*31",
          lambda: model(_placeholder([2**31, 32, 32, 3])))


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


@pytest.mark.parametrize('depth_multiplier', [-1, -0.5, '2', None])
def test_v1_depth_multiplier_must_be_non_negative(depth_multiplier):
  # Upstream computes max(int(d * depth_multiplier), min_base_depth), so 0
  # is valid (every block at min_base_depth): see test_resnet_utils.
  message = _raises(
      ValueError, r'depth_multiplier must be a non-negative number',
      lambda: resnet_v1.resnet_v1_50(_placeholder([1, 32, 32, 3]),
                                     depth_multiplier=depth_multiplier))
  assert repr(depth_multiplier) in message


@pytest.mark.parametrize('model', [resnet_v1.resnet_v1_101,
                                   resnet_v1.resnet_v1_152,
                                   resnet_v1.resnet_v1_200])
def test_v1_depth_multiplier_checked_by_every_depth(model):
  _raises(ValueError, r'depth_multiplier',
          lambda: model(_placeholder([1, 32, 32, 3]), depth_multiplier=-1))


def test_v1_zero_base_depth_is_named():
  _raises(ValueError, r"Block 'block1': base_depth must be a positive int",
          lambda: resnet_v1.resnet_v1_50(_placeholder([1, 32, 32, 3]),
                                         depth_multiplier=0,
                                         min_base_depth=0))


# ------------------------------------------------------------ block specs


def test_empty_block_list(version):
  _, generator, _, _, _ = version
  _raises(ValueError, r'blocks is empty',
          lambda: generator(_placeholder([1, 32, 32, 3]), []))


def test_block_without_units(version):
  _, generator, unit_fn, _, _ = version
  _raises(ValueError, r"Block 'block1' has no units",
          lambda: generator(_placeholder([1, 32, 32, 3]),
                            [resnet_utils.Block('block1', unit_fn, [])]))


@pytest.mark.parametrize('field,value', [('num_units', -1), ('num_units', 0),
                                         ('base_depth', -64),
                                         ('base_depth', 0),
                                         ('num_units', 2.0)])
def test_block_builders_check_their_spec(field, value):
  spec = dict(base_depth=4, num_units=2, stride=2)
  spec[field] = value
  for builder in (resnet_v1.resnet_v1_block, resnet_v2.resnet_v2_block,
                  resnext.resnext_block):
    _raises(ValueError, r"Block 'b': %s must be a positive int, got %r" %
            (field, value), lambda builder=builder: builder('b', **spec))


def test_negative_conv_depth_is_named():
  # A hand-made unit spec with a negative depth: named at its conv, not
  # TensorFlow's 'Dimension -256'.
  block = resnet_utils.Block('block1', resnet_v2.bottleneck,
                             [(-256, 64, 1)])
  _raises(ValueError, r'conv2d .*num_outputs must be a positive int, got -256',
          lambda: resnet_v2.resnet_v2(_placeholder([1, 32, 32, 3]), [block]))


# ------------------------------------------------------- ResNeXt cardinality


@pytest.mark.parametrize('cardinality', [3, 5, 64])
def test_resnext_cardinality_must_divide_the_width(cardinality):
  # base_depth 8 at base_width 64 gives a width of 8 * cardinality; a
  # bottleneck of width 8 cannot be split into 3, 5 or 64 groups.
  message = _raises(
      ValueError, r'cardinality %d does not divide the bottleneck width' %
      cardinality,
      lambda: resnext.bottleneck(_placeholder([1, 8, 8, 16]), 16, 8, 1,
                                 cardinality=cardinality))
  assert 'depth_bottleneck' in message
  blocks = [resnet_utils.Block('block1', resnext.bottleneck,
                               [(16, 8, 1, cardinality)])]
  _raises(ValueError, r"block1.*cardinality %d does not divide" % cardinality,
          lambda: resnext.resnext(_placeholder([1, 32, 32, 3]), blocks))


@pytest.mark.parametrize('cardinality', [0, -4, 2.0, True, '32', None])
def test_resnext_cardinality_must_be_a_positive_int(cardinality):
  message = _raises(ValueError, r'cardinality must be a positive int',
                    lambda: resnext.bottleneck(_placeholder([1, 8, 8, 16]),
                                               16, 8, 1,
                                               cardinality=cardinality))
  assert repr(cardinality) in message
  _raises(ValueError, r"resnext_block 'block1': cardinality must be",
          lambda: resnext.resnext_block('block1', 8, 2, 1,
                                        cardinality=cardinality))


def test_resnext_block_with_no_channels_per_group():
  _raises(ValueError, r"resnext_block 'block1': base_depth 1 \* base_width "
          r"4 / 64 leaves no channels per group",
          lambda: resnext.resnext_block('block1', 1, 2, 1, cardinality=32,
                                        base_width=4))


# --------------------------------------------------------------- Xception


@pytest.mark.parametrize('module', [xception.xception_module,
                                    xception.xception_keras_module])
@pytest.mark.parametrize('skip', ['bogus', 'SUM', None])
def test_xception_unknown_skip_connection_type(module, skip):
  message = _raises(ValueError, r'skip_connection_type must be one of',
                    lambda: module(_placeholder([1, 8, 8, 4]), [4, 4, 4],
                                   skip, 1))
  assert repr(skip) in message
  for known in ('conv', 'sum', 'none'):
    assert repr(known) in message


def test_xception_unknown_skip_connection_type_in_a_block():
  blocks = [xception.xception_block('entry_flow/block1', [4] * 3, 'add',
                                    False, False, 1, 2)]
  _raises(ValueError, r"skip_connection_type .*got 'add'",
          lambda: xception.xception(_placeholder([1, 33, 33, 3]), blocks))


@pytest.mark.parametrize('model', [xception.xception_41, xception.xception_65,
                                   xception.xception_71])
@pytest.mark.parametrize('multi_grid', [[1, 2], [1, 2, 4, 8], []])
def test_xception_multi_grid_of_the_wrong_length(model, multi_grid):
  message = _raises(ValueError, r'multi_grid must have three elements',
                    lambda: model(_placeholder([1, 33, 33, 3]),
                                  multi_grid=multi_grid))
  assert repr(multi_grid) in message


@pytest.mark.parametrize('model', [xception.xception_41, xception.xception_65,
                                   xception.xception_71,
                                   xception.xception_keras])
@pytest.mark.parametrize('output_stride', [1, 3, 5, 7, 15, -2, 0])
def test_xception_output_stride_must_be_even(model, output_stride):
  # The root conv has stride 2: odd strides (and non-positive ones) cannot
  # be reached.
  message = _raises(ValueError, r'output_stride needs to be a multiple of 2',
                    lambda: model(_placeholder([1, 33, 33, 3]),
                                  output_stride=output_stride))
  assert str(output_stride) in message


@pytest.mark.parametrize('output_stride', ['16', 16.0, True])
def test_xception_output_stride_must_be_an_int(output_stride):
  _raises(TypeError, r'output_stride must be an int',
          lambda: xception.xception_65(_placeholder([1, 33, 33, 3]),
                                       output_stride=output_stride))


# ------------------------------------------------------------ nets_factory


@pytest.mark.parametrize('name', ['resnet_v3_50', 'ResNet_v2_50', '', None,
                                  42, ('resnet_v2_50',)])
def test_factory_unknown_name_lists_the_known_ones(name):
  message = _raises(ValueError, r'Name of network unknown',
                    lambda: nets_factory.get_network_fn(name, 10))
  for known in registry.list_models():
    assert known in message


# ------------------------------------------------------------- is_training


@pytest.mark.parametrize('make_flag, what', [
    (lambda: tf.constant(1.0), r'float32 \(\)'),
    (lambda: tf.compat.v1.placeholder(tf.bool, [2]), r'bool \(2,\)'),
    (lambda: tf.compat.v1.placeholder(tf.int32, []), r'int32 \(\)'),
])
@pytest.mark.parametrize('model', [resnet_v1.resnet_v1_50,
                                   resnet_v2.resnet_v2_50,
                                   resnext.resnext50_32x4d,
                                   xception.xception_41,
                                   xception.xception_keras])
def test_is_training_must_be_a_bool_or_a_scalar_bool_tensor(model, make_flag,
                                                             what):
  def build():
    return model(_placeholder([1, 32, 32, 3]), num_classes=3,
                 is_training=make_flag())

  _raises(ValueError, r'is_training must be a Python bool or a scalar bool '
          r'tensor, got ' + what, build)


def test_layers_check_is_training_too():
  from nets import _layers  # pylint: disable=import-outside-toplevel
  for layer in (_layers.batch_norm, _layers.dropout):
    _raises(ValueError, r'is_training must be',
            lambda layer=layer: layer(_placeholder([1, 4, 4, 2]),
                                      is_training=tf.constant([True, False])))


def test_a_scalar_bool_placeholder_is_accepted():
  with tf.Graph().as_default():
    flag = tf.compat.v1.placeholder(tf.bool, [])
    with slim.arg_scope(resnet_utils.resnet_arg_scope()):
      logits, _ = resnet_v2.resnet_v2(
          _placeholder([1, 32, 32, 3]),
          [resnet_v2.resnet_v2_block('block1', 2, 1, 1)], num_classes=3,
          is_training=flag)
  assert logits.shape.as_list() == [1, 3]
