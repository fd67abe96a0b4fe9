"""nets.features: end-point selection and feature info for every family.

Feature info comes from 512x512 and 576x576 probe graphs; the tests check
it against graphs built directly at 320x320 and 384x384 (channels, growth of
64 / stride pixels, spatial size = ceil(320 / stride) for the padded-SAME
families, no growth for pooled end points) and against the architectures' known
strides (slim ResNet: stride on the last unit of blocks 1-3; torchvision
layout: on the first unit of blocks 2-4; DeepLab Xception: entry flow 4, 8,
16, exit flow 32).
"""

import collections
import math

import pytest
import tensorflow as tf

from nets import features
from nets import nets_factory
from nets import registry

# Keras' original Xception starts with two VALID convs.
_EXTRA = ('xception_keras',)
_FIRST_OF_FAMILY = list(collections.OrderedDict(
    (registry.get_model(n).family, n) for n in reversed(
        registry.list_models())).values())[::-1] + [
            n for n in _EXTRA if n in registry.list_models()]
# Families padding every convolution and pool SAME (slim's ResNets pad their
# strided convs explicitly): an end point of stride s at input size S is
# ceil(S / s) wide. The others have unpadded ('VALID') layers and lose pixels.
# (MobileNet v1 is SAME but for its head's 7x7 VALID pool.)
_SAME_PADDED = ('resnet_v1', 'resnet_v2', 'resnext', 'xception',
                'mobilenet_v2', 'mobilenet_v3')

# Nominal strides of the block outputs, from the architectures' definitions.
_SPEC = {
    'resnet_v1_50': {'block1': 8, 'block2': 16, 'block3': 32, 'block4': 32},
    'resnet_v2_50': {'block1': 8, 'block2': 16, 'block3': 32, 'block4': 32},
    'resnext50_32x4d': {'block1': 4, 'block2': 8, 'block3': 16,
                        'block4': 32},
    'tv_resnet50': {'block1': 4, 'block2': 8, 'block3': 16, 'block4': 32},
    'xception_65': {'entry_flow/block1': 4, 'entry_flow/block2': 8,
                    'entry_flow/block3': 16, 'middle_flow/block1': 16,
                    'exit_flow/block1': 32, 'exit_flow/block2': 32},
}
_CHANNELS = {'block1': 256, 'block2': 512, 'block3': 1024, 'block4': 2048}
_SIZE = 64
# Shapes only (nothing runs), so size costs nothing: large enough that the
# fixed 7x7 / 8x8 pools of the Inception and MobileNet heads slide rather
# than shrink to the map (upstream's reduced kernel for small inputs).
_DIRECT_SIZE = 320
_GROWTH = 64  # a multiple of every stride


def _build_direct(name, size, output_stride):
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32,
                                      registry.input_shape(name, 2, size))
    kwargs = {} if output_stride is None else {'output_stride': output_stride}
    _, end_points = nets_factory.get_network_fn(name, 0)(images, **kwargs)
  return end_points


def _height(tensor):
  # [B, H, W, C], or [B, T, H, W, C] for the video nets.
  return tensor.shape[tensor.shape.rank - 3]


@pytest.mark.parametrize('output_stride', [None, 16, 8])
@pytest.mark.parametrize('name', _FIRST_OF_FAMILY)
def test_feature_info_matches_direct_graph(name, output_stride):
  size = _DIRECT_SIZE
  try:
    end_points = _build_direct(name, size, output_stride)
  except (ValueError, TypeError):
    # The model function refuses the stride (TypeError where it has no such
    # argument, as upstream's); the feature API must say so as a ValueError.
    with pytest.raises(ValueError, match='output_stride'):
      features.feature_info(name, output_stride=output_stride)
    return
  # The growth check needs a second graph; once per family is enough.
  grown = (_build_direct(name, size + _GROWTH, output_stride)
           if output_stride is None else None)
  infos = features.all_feature_info(name, output_stride)
  assert list(infos) == list(end_points)
  nominal = features.all_feature_info(name)
  same_padded = (registry.get_model(name).family in _SAME_PADDED and
                 name not in _EXTRA)
  for key, tensor in end_points.items():
    info = infos[key]
    if info.channels is None:  # flattened
      assert grown is None or tensor.shape[-1] != grown[key].shape[-1], key
    else:
      assert info.channels == tensor.shape[-1], key
    if info.stride is None:
      # Globally pooled (or logits): the same size whatever the input.
      assert tensor.shape.rank not in (4, 5) or grown is None or (
          _height(tensor) == _height(grown[key])), key
      continue
    expected = min(nominal[key].stride, output_stride or 10**9)
    assert info.stride == expected, key
    if grown is not None:
      # 64 more input pixels give 64 / stride more map pixels.
      assert _height(grown[key]) - _height(tensor) == _GROWTH // expected, key
    if same_padded:
      assert _height(tensor) == math.ceil(size / expected), key
      assert tensor.shape[-2] == math.ceil(size / expected), key
    else:
      assert _height(tensor) <= math.ceil(size / expected), key


@pytest.mark.parametrize('output_stride', [None, 16, 8])
@pytest.mark.parametrize('name', [n for n in _SPEC
                                  if n in registry.list_models()])
def test_block_strides_match_architecture(name, output_stride):
  info = features.feature_info(name, output_stride=output_stride)
  prefix = name + '/'
  got = {i.name[len(prefix):]: i.stride for i in info}
  want = {k: min(v, output_stride or 10**9) for k, v in _SPEC[name].items()}
  assert got == want
  if name.startswith(('resnet', 'resnext', 'tv_')):
    assert {i.name[len(prefix):]: i.channels for i in info} == _CHANNELS


def test_extract_features_list_dict_and_patterns():
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32, [None, 64, 64, 3])
    feats, info = features.extract_features(
        images, 'resnet_v2_50', endpoints=['block*', 'global_pool'],
        output_stride=16, is_training=False)
  names = [i.name for i in info]
  assert names == ['resnet_v2_50/block%d' % b for b in range(1, 5)] + [
      'global_pool']
  assert [i.stride for i in info] == [8, 16, 16, 16, None]
  assert [f.shape.as_list() for f in feats] == [
      [None, 8, 8, 256], [None, 4, 4, 512], [None, 4, 4, 1024],
      [None, 4, 4, 2048], [None, 1, 1, 2048]]
  # No logits are built for feature extraction.
  assert not [v for v in graph.get_collection('variables')
              if '/logits/' in v.op.name]

  with tf.Graph().as_default():
    images = tf.compat.v1.placeholder(tf.float32, [1, 64, 64, 3])
    feats, info = features.extract_features(
        images, 'resnet_v2_50', endpoints='block4/**/conv2', as_dict=True)
  assert list(feats) == [
      'resnet_v2_50/block4/unit_%d/bottleneck_v2/conv2' % u
      for u in (1, 2, 3)]
  assert [i.channels for i in info] == [512] * 3


def test_default_is_block_outputs_and_order_is_network_order():
  info = features.feature_info('resnet_v1_50',
                               endpoints=['global_pool', 'block2', 'conv1'])
  assert [i.name for i in info] == ['resnet_v1_50/conv1',
                                    'resnet_v1_50/block2', 'global_pool']
  assert [i.stride for i in info] == [2, 16, None]
  default = features.feature_info('resnet_v1_50')
  assert [i.name for i in default] == ['resnet_v1_50/block%d' % b
                                       for b in range(1, 5)]


def test_unknown_end_point_lists_valid_ones():
  with pytest.raises(ValueError) as raised:
    features.feature_info('resnet_v2_50', endpoints=['block9'])
  message = str(raised.value)
  assert "'block9'" in message
  assert 'block4/unit_3/bottleneck_v2/conv3' in message
  assert 'global_pool' in message
  with pytest.raises(ValueError, match='Name of network unknown'):
    features.feature_info('resnet_v9_50')


def test_select_endpoints_globs():
  names = ['net/conv1', 'net/block1/unit_1/b/conv1', 'net/block1/unit_1/b',
           'net/block1', 'net/block2', 'global_pool']
  select = features.select_endpoints
  assert select(names, 'block*') == ['net/block1', 'net/block2']
  assert select(names, 'net/block?') == ['net/block1', 'net/block2']
  assert select(names, 'block1/**') == ['net/block1/unit_1/b/conv1',
                                        'net/block1/unit_1/b']
  assert select(names, '**/conv1') == ['net/conv1',
                                       'net/block1/unit_1/b/conv1']
  assert select(names, ['block[!1]', 'conv1']) == ['net/conv1', 'net/block2']
  assert select(names, None) == ['net/block1', 'net/block2']
  with pytest.raises(ValueError, match='valid end points'):
    select(names, 'unit_1')


def test_feature_info_is_layout_independent_under_nchw():
  """Under an NCHW scope the features are NCHW tensors; their info is not.

  Channels and strides describe the network, so they are the NHWC values,
  and an NCHW call must not poison the cached probe for NHWC callers.
  """
  from nets import runtime  # pylint: disable=import-outside-toplevel
  names = ['resnet_v2_50/block2', 'resnet_v2_50/block4']
  graph = tf.Graph()
  with graph.as_default(), runtime.data_format_scope('NCHW', device='gpu'):
    images = tf.compat.v1.placeholder(tf.float32, [2, _SIZE, _SIZE, 3])
    tensors, info = features.extract_features(images, 'resnet_v2_50',
                                              endpoints=names)
  # slim's ResNet strides on the last unit: block2 is at 1/16, block4 1/32.
  assert [t.shape.as_list() for t in tensors] == [[2, 512, 4, 4],
                                                  [2, 2048, 2, 2]]
  expected = [features.FeatureInfo(names[0], 512, 16),
              features.FeatureInfo(names[1], 2048, 32)]
  assert info == expected
  assert features.feature_info('resnet_v2_50', endpoints=names) == expected
