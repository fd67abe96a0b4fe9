"""MobileNet V2, drop-in for research/slim's `nets.mobilenet.mobilenet_v2`.

[1] Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, Liang-Chieh
    Chen. MobileNetV2: Inverted Residuals and Linear Bottlenecks.
    arXiv:1801.04381

The network is the op list `V2_DEF` (Table 2 of [1]: a 3x3/2 conv, 17
inverted residual blocks, a 1x1 conv to 1280), built by
`nets.mobilenet.mobilenet`; `V2_DEF_GROUP_NORM` is the same with group norm.
Variable names are those of the published checkpoints
(`MobilenetV2/Conv/weights`, `MobilenetV2/expanded_conv_1/expand/...`,
`MobilenetV2/Logits/Conv2d_1c_1x1/...`; 1001 classes, "inception"
preprocessing). The 1.0 / 224 network has 3.47M parameters and 300M
multiply-adds.

Typical use:

   from nets import slim
   from nets.mobilenet import mobilenet_v2

   # Inference (the default mode):
   logits, end_points = mobilenet_v2.mobilenet(images)

   # Training a 0.5 network:
   with slim.arg_scope(mobilenet_v2.training_scope()):
     logits, end_points = mobilenet_v2.mobilenet(images,
                                                 depth_multiplier=0.5)

   # Features at stride 16 (e.g. for DeepLab):
   with slim.arg_scope(mobilenet_v2.training_scope(is_training=False)):
     net, end_points = mobilenet_v2.mobilenet_base(images, output_stride=16)
"""

import copy
import functools

import tensorflow as tf
import tf_slim as slim

from nets import _layers
from nets import registry
from nets.mobilenet import conv_blocks as ops
from nets.mobilenet import mobilenet as lib

op = lib.op
expand_input = ops.expand_input_by_factor

# The arg-scope keys of V2_DEF's defaults.
_CONV_LAYERS = (_layers.conv2d, _layers.fully_connected,
                _layers.separable_conv2d)
_PADDED_LAYERS = (_layers.conv2d, _layers.separable_conv2d)
_DEFAULT_EXPANSION = 6

# Table 2 of [1]: (expansion t, output channels c, repeats n, stride s of
# the first repeat), after a 3x3/2 conv to 32 and before a 1x1 conv to 1280.
_BOTTLENECKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def _defaults(normalizer_fn):
  """The architecture's arg scopes (they change inference, so they are not
  in `training_scope`)."""
  return {
      (_layers.batch_norm,): {'center': True, 'scale': True},
      _CONV_LAYERS: {'normalizer_fn': normalizer_fn,
                     'activation_fn': tf.nn.relu6},
      (ops.expanded_conv,): {
          'expansion_size': expand_input(_DEFAULT_EXPANSION),
          'split_expansion': 1,
          'normalizer_fn': normalizer_fn,
          'residual': True,
      },
      _PADDED_LAYERS: {'padding': 'SAME'},
  }


def _spec():
  """The 19 layers: stem conv, the bottlenecks of `_BOTTLENECKS`, 1x1 conv."""
  layers = [op(_layers.conv2d, stride=2, num_outputs=32, kernel_size=[3, 3])]
  for expansion, channels, repeats, stride in _BOTTLENECKS:
    for i in range(repeats):
      params = {'stride': stride if i == 0 else 1, 'num_outputs': channels}
      if expansion != _DEFAULT_EXPANSION:
        # Not rounded: the first block keeps its 32 input channels.
        params['expansion_size'] = expand_input(expansion, divisible_by=1)
      layers.append(op(ops.expanded_conv, **params))
  layers.append(op(_layers.conv2d, stride=1, kernel_size=[1, 1],
                   num_outputs=1280))
  return layers


V2_DEF = dict(defaults=_defaults(_layers.batch_norm), spec=_spec())

# The same network with group norm (tf-slim's group_norm defaults: 32 groups;
# `mobilenet_base_group_norm` sets 8).
V2_DEF_GROUP_NORM = dict(defaults=_defaults(_layers.group_norm),
                         spec=_spec())
del V2_DEF_GROUP_NORM['defaults'][(_layers.batch_norm,)]


@slim.add_arg_scope
def mobilenet(input_tensor,
              num_classes=1001,
              depth_multiplier=1.0,
              scope='MobilenetV2',
              conv_defs=None,
              finegrain_classification_mode=False,
              min_depth=None,
              divisible_by=None,
              activation_fn=None,
              **kwargs):
  """MobileNet V2 classifier of [1].

  Inference mode is created by default; to train, build it under
  `training_scope()`:

    with slim.arg_scope(mobilenet_v2.training_scope()):
      logits, endpoints = mobilenet_v2.mobilenet(input_tensor)

  Args:
    input_tensor: a float tensor [batch, height, width, channels].
    num_classes: logits size (1001: ImageNet with a background class); 0 or
      None returns the pooled features.
    depth_multiplier: multiplier (> 0) of every layer's channels.
    scope: variable scope.
    conv_defs: the network (default `V2_DEF`).
    finegrain_classification_mode: keep the last layer's 1280 channels for
      multipliers below 1 (Section 6.1 of [1]); ignored when
      `final_endpoint` stops earlier.
    min_depth: if given, every layer has at least that many channels.
    divisible_by: if given, every layer's channels are a multiple of it.
    activation_fn: the activation of all layers (default tf.nn.relu6).
    **kwargs: passed to `mobilenet.mobilenet`: `prediction_fn`, `reuse`,
      `base_only`, `final_endpoint`, `output_stride`, `is_training`,
      `use_explicit_padding`, ...

  Returns:
    logits [batch, num_classes] (or the features) and the end points dict
    ('layer_1' ... 'layer_19', 'layer_N/expansion_output', ...,
    'global_pool', 'Logits', 'Predictions').

  Raises:
    ValueError / TypeError: on invalid arguments (depth_multiplier <= 0, a
      generic `multiplier`, an unknown final_endpoint, ...).
  """
  lib.check_classifier_multiplier(depth_multiplier, kwargs)
  if conv_defs is None:
    conv_defs = V2_DEF
  if finegrain_classification_mode and depth_multiplier < 1:
    conv_defs = copy.deepcopy(conv_defs)
    # Pre-divided, the multiplier brings it back to its nominal width.
    conv_defs['spec'][-1].params['num_outputs'] /= depth_multiplier
  if activation_fn:
    conv_defs = copy.deepcopy(conv_defs)
    conv_defs['defaults'][_CONV_LAYERS]['activation_fn'] = activation_fn
  # Only given values enter the scope, so an outer
  # arg_scope([depth_multiplier], ...) still applies.
  depth_args = {}
  if min_depth is not None:
    depth_args['min_depth'] = min_depth
  if divisible_by is not None:
    depth_args['divisible_by'] = divisible_by
  with slim.arg_scope([lib.depth_multiplier], **depth_args):
    return lib.mobilenet(input_tensor, num_classes=num_classes,
                         conv_defs=conv_defs, scope=scope,
                         multiplier=depth_multiplier, **kwargs)


mobilenet.default_image_size = 224


def wrapped_partial(func, *args, **kwargs):
  """`functools.partial` keeping `func`'s name, docstring and attributes."""
  partial_func = functools.partial(func, *args, **kwargs)
  functools.update_wrapper(partial_func, func)
  return partial_func


# Width variants; below 1.0 the last layer keeps its 1280 channels.
mobilenet_v2_140 = wrapped_partial(mobilenet, depth_multiplier=1.4)
mobilenet_v2_050 = wrapped_partial(mobilenet, depth_multiplier=0.50,
                                   finegrain_classification_mode=True)
mobilenet_v2_035 = wrapped_partial(mobilenet, depth_multiplier=0.35,
                                   finegrain_classification_mode=True)


@slim.add_arg_scope
def mobilenet_base(input_tensor, depth_multiplier=1.0, **kwargs):
  """MobileNet V2 without pooling and logits; see `mobilenet` for the args."""
  return mobilenet(input_tensor, depth_multiplier=depth_multiplier,
                   base_only=True, **kwargs)


@slim.add_arg_scope
def mobilenet_base_group_norm(input_tensor, depth_multiplier=1.0, **kwargs):
  """`mobilenet_base` on `V2_DEF_GROUP_NORM`, `groups` (default 8) groups."""
  conv_defs = copy.deepcopy(V2_DEF_GROUP_NORM)
  conv_defs['defaults'][(_layers.group_norm,)] = {
      'groups': kwargs.pop('groups', 8)}
  kwargs['conv_defs'] = conv_defs
  return mobilenet(input_tensor, depth_multiplier=depth_multiplier,
                   base_only=True, **kwargs)


def training_scope(**kwargs):
  """The MobileNet V2 training arg scope, `mobilenet.training_scope`.

  Usage:
     with slim.arg_scope(mobilenet_v2.training_scope()):
       logits, endpoints = mobilenet_v2.mobilenet(input_tensor)

  Args:
    **kwargs: `is_training`, `weight_decay`, `stddev`, `dropout_keep_prob`,
      `bn_decay` (see `mobilenet.training_scope`).

  Returns:
    An arg scope dict.
  """
  return lib.training_scope(**kwargs)


def _register(name, fn):
  registry.register('mobilenet_v2', training_scope, 224, 1001, 'inception',
                    name=name)(fn)


# upstream nets_factory's names.
_register('mobilenet_v2', mobilenet)
_register('mobilenet_v2_140', mobilenet_v2_140)
_register('mobilenet_v2_035', mobilenet_v2_035)

__all__ = ['training_scope', 'mobilenet_base', 'mobilenet', 'V2_DEF']
