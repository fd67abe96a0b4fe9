"""MobileNet V3 and MobileNet EdgeTPU, drop-in for research/slim's
`nets.mobilenet.mobilenet_v3`.

[1] Andrew Howard, Mark Sandler, Grace Chu, Liang-Chieh Chen, Bo Chen,
    Mingxing Tan, Weijun Wang, Yukun Zhu, Ruoming Pang, Vijay Vasudevan,
    Quoc V. Le, Hartwig Adam. Searching for MobileNetV3. arXiv:1905.02244
[2] Suyog Gupta, Berkin Akin. Accelerator-aware Neural Network Design using
    AutoML. arXiv:2003.02838 (MobileNet EdgeTPU)

The networks are op lists for `nets.mobilenet.mobilenet`, written from the
tables below (Tables 1 and 2 of [1]):
  V3_LARGE, V3_SMALL: inverted residual blocks with 3x3 or 5x5 depthwise
    convolutions, squeeze-excite (hard-sigmoid gate, squeezed 4x) and
    hard-swish in the later blocks; head 1x1 conv (batch norm), average pool,
    1x1 conv without batch norm (1280 / 1024);
  V3_LARGE_MINIMALISTIC, V3_SMALL_MINIMALISTIC: the same widths with 3x3
    kernels, ReLU and no squeeze-excite;
  V3_EDGETPU: fused (regular k x k conv) expansions in the early blocks.
Variable names are those of the published checkpoints (`MobilenetV3/Conv`,
`MobilenetV3/expanded_conv_4/squeeze_excite/Conv/...`, `MobilenetV3/Conv_2`,
`MobilenetV3/Logits/Conv2d_1c_1x1`; 1001 classes, "inception"
preprocessing).

Typical use:

   from nets import slim
   from nets.mobilenet import mobilenet_v3

   # Inference (the default mode):
   logits, end_points = mobilenet_v3.large(images)

   # Training the 0.75 small network:
   with slim.arg_scope(mobilenet_v3.training_scope()):
     logits, end_points = mobilenet_v3.small(images, depth_multiplier=0.75)
"""

import copy
import functools
import inspect

import numpy as np
import tensorflow as tf
import tf_slim as slim

from nets import _layers
from nets import registry
from nets.mobilenet import conv_blocks as ops
from nets.mobilenet import mobilenet as lib

op = lib.op
expand_input = ops.expand_input_by_factor


def _hard_sigmoid(x):
  # 0.16667 (not 1/6) is the constant the checkpoints were trained with.
  return tf.nn.relu6(x + 3) * 0.16667


# Squeeze-excite of [1]: squeezed 4x, ReLU inside, hard-sigmoid gate.
squeeze_excite = functools.partial(
    ops.squeeze_excite, squeeze_factor=4, inner_activation_fn=tf.nn.relu,
    gating_fn=_hard_sigmoid)


def _se4(expansion_tensor, input_tensor):
  """`squeeze_excite` as an `expanded_conv` expansion_transform."""
  del input_tensor  # The gate is computed from the expansion alone.
  return squeeze_excite(expansion_tensor)


def hard_swish(x):
  """`x * relu6(x + 3) / 6` of [1], in name scope 'hard_swish'."""
  with tf.compat.v1.name_scope('hard_swish'):
    return x * tf.nn.relu6(x + np.float32(3)) * np.float32(1. / 6.)


def reduce_to_1x1(input_tensor, default_size=7, **kwargs):
  """Average-pools a square input to 1x1 (else with a `default_size` window).

  Args:
    input_tensor: a tensor [batch, height, width, channels].
    default_size: the window when the input is not square or its size is
      unknown.
    **kwargs: passed to `avg_pool2d` (stride, padding); the builder's `rate`
      and `use_explicit_padding`, meaningless for a whole-image pool, are
      dropped.

  Returns:
    The pooled tensor.
  """
  kwargs.pop('rate', None)
  kwargs.pop('use_explicit_padding', None)
  height, width = input_tensor.shape.as_list()[1:3]
  size = height if height is not None and width == height else default_size
  return _layers.avg_pool2d(input_tensor, kernel_size=[size, size], **kwargs)


def mbv3_op(ef, n, k, s=1, act=tf.nn.relu, se=None, **kwargs):
  """One MobileNet V3 block, an `expanded_conv` op.

  Args:
    ef: expansion factor (of the input channels).
    n: output channels.
    k: kernel size of the depthwise convolution.
    s: stride.
    act: activation of the expansion and depthwise convolutions.
    se: the expansion_transform (squeeze-excite), or None.
    **kwargs: more `expanded_conv` arguments.

  Returns:
    A `mobilenet.op` for a conv_defs spec.
  """
  return op(ops.expanded_conv, expansion_size=expand_input(ef),
            kernel_size=(k, k), stride=s, num_outputs=n,
            inner_activation_fn=act, expansion_transform=se, **kwargs)


def mbv3_fused(ef, n, k, s=1, **kwargs):
  """A fused block: a regular k x k/s expansion conv, no depthwise conv.

  Args:
    ef: expansion factor (of the input channels).
    n: output channels.
    k: kernel size of the expansion convolution.
    s: stride.
    **kwargs: passed to `mbv3_op`.

  Returns:
    A `mobilenet.op` for a conv_defs spec.
  """
  expansion_fn = functools.partial(_layers.conv2d, kernel_size=k, stride=s)
  return mbv3_op(ef, n, k=1, s=s, depthwise_location=None,
                 expansion_fn=expansion_fn, **kwargs)


mbv3_op_se = functools.partial(mbv3_op, se=_se4)

DEFAULTS = {
    (ops.expanded_conv,): dict(normalizer_fn=_layers.batch_norm,
                               residual=True),
    (_layers.conv2d, _layers.fully_connected, _layers.separable_conv2d): {
        'normalizer_fn': _layers.batch_norm,
        'activation_fn': tf.nn.relu,
    },
    (_layers.batch_norm,): {'center': True, 'scale': True},
}

DEFAULTS_GROUP_NORM = {
    (ops.expanded_conv,): dict(normalizer_fn=_layers.group_norm,
                               residual=True),
    (_layers.conv2d, _layers.fully_connected, _layers.separable_conv2d): {
        'normalizer_fn': _layers.group_norm,
        'activation_fn': tf.nn.relu,
    },
    (_layers.group_norm,): {'groups': 8},
}

_RE = tf.nn.relu
_HS = hard_swish

# Table 1 of [1] (Large), one row per block: (depthwise kernel, expansion
# factor, output channels, squeeze-excite, activation, stride).
_LARGE_BLOCKS = (
    (3, 1, 16, False, _RE, 1),
    (3, 4, 24, False, _RE, 2),
    (3, 3, 24, False, _RE, 1),
    (5, 3, 40, True, _RE, 2),
    (5, 3, 40, True, _RE, 1),
    (5, 3, 40, True, _RE, 1),
    (3, 6, 80, False, _HS, 2),
    (3, 2.5, 80, False, _HS, 1),
    (3, 184 / 80., 80, False, _HS, 1),
    (3, 184 / 80., 80, False, _HS, 1),
    (3, 6, 112, True, _HS, 1),
    (3, 6, 112, True, _HS, 1),
    (5, 6, 160, True, _HS, 2),
    (5, 6, 160, True, _HS, 1),
    (5, 6, 160, True, _HS, 1),
)

# Table 2 of [1] (Small), same columns.
_SMALL_BLOCKS = (
    (3, 1, 16, True, _RE, 2),
    (3, 72. / 16, 24, False, _RE, 2),
    (3, 88. / 24, 24, False, _RE, 1),
    (5, 4, 40, True, _HS, 2),
    (5, 6, 40, True, _HS, 1),
    (5, 6, 40, True, _HS, 1),
    (5, 3, 48, True, _HS, 1),
    (5, 3, 48, True, _HS, 1),
    (5, 6, 96, True, _HS, 2),
    (5, 6, 96, True, _HS, 1),
    (5, 6, 96, True, _HS, 1),
)


def _v3_def(blocks, head_channels, minimalistic):
  """A V3 conv_defs: stem, `blocks`, head convs to `head_channels`.

  Minimalistic networks replace 5x5 kernels by 3x3, hard-swish by ReLU (the
  default activation) and drop squeeze-excite.
  """

  def layer(**params):
    if not minimalistic:
      params['activation_fn'] = hard_swish
    return params

  spec = [op(_layers.conv2d, **layer(stride=2, num_outputs=16,
                                     kernel_size=(3, 3)))]
  for kernel, expansion, channels, se, activation, stride in blocks:
    if minimalistic:
      spec.append(mbv3_op(ef=expansion, n=channels, k=3, s=stride))
    else:
      spec.append(mbv3_op(ef=expansion, n=channels, k=kernel, s=stride,
                          act=activation, se=_se4 if se else None))
  pre_pool, post_pool = head_channels
  spec += [
      op(_layers.conv2d, **layer(stride=1, kernel_size=[1, 1],
                                 num_outputs=pre_pool)),
      op(reduce_to_1x1, default_size=7, stride=1, padding='VALID'),
      op(_layers.conv2d, **layer(stride=1, kernel_size=[1, 1],
                                 num_outputs=post_pool, normalizer_fn=None)),
  ]
  return dict(defaults=dict(DEFAULTS), spec=spec)


V3_LARGE = _v3_def(_LARGE_BLOCKS, (960, 1280), minimalistic=False)
V3_LARGE_MINIMALISTIC = _v3_def(_LARGE_BLOCKS, (960, 1280),
                                minimalistic=True)
V3_SMALL = _v3_def(_SMALL_BLOCKS, (576, 1024), minimalistic=False)
V3_SMALL_MINIMALISTIC = _v3_def(_SMALL_BLOCKS, (576, 1024),
                                minimalistic=True)

# MobileNet EdgeTPU [2], one row per block: (fused, depthwise or expansion
# kernel, stride, expansion factor, output channels, residual).
_EDGETPU_BLOCKS = (
    (True, 3, 1, 1, 16, True),
    (True, 3, 2, 8, 32, True),
    (True, 3, 1, 4, 32, True),
    (True, 3, 1, 4, 32, True),
    (True, 3, 1, 4, 32, True),
    (True, 3, 2, 8, 48, True),
    (True, 3, 1, 4, 48, True),
    (True, 3, 1, 4, 48, True),
    (True, 3, 1, 4, 48, True),
    (False, 3, 2, 8, 96, True),
    (False, 3, 1, 4, 96, True),
    (False, 3, 1, 4, 96, True),
    (False, 3, 1, 4, 96, True),
    (False, 3, 1, 8, 96, False),
    (False, 3, 1, 4, 96, True),
    (False, 3, 1, 4, 96, True),
    (False, 3, 1, 4, 96, True),
    (False, 5, 2, 8, 160, True),
    (False, 5, 1, 4, 160, True),
    (False, 5, 1, 4, 160, True),
    (False, 5, 1, 4, 160, True),
    (False, 3, 1, 8, 192, True),
)


def _edgetpu_def():
  spec = [op(_layers.conv2d, stride=2, num_outputs=32, kernel_size=(3, 3))]
  for fused, kernel, stride, expansion, channels, residual in _EDGETPU_BLOCKS:
    block = mbv3_fused if fused else mbv3_op
    # Only the non-default residual is spelled out, as in the checkpoints'
    # definition.
    extra = {} if residual else {'residual': False}
    spec.append(block(k=kernel, s=stride, ef=expansion, n=channels, **extra))
  spec.append(op(_layers.conv2d, stride=1, num_outputs=1280,
                 kernel_size=(1, 1)))
  return dict(defaults=dict(DEFAULTS), spec=spec)


V3_EDGETPU = _edgetpu_def()


def _keep_last_layer_width(conv_defs):
  """A copy of `conv_defs` whose last layer ignores the depth multiplier."""
  conv_defs = copy.deepcopy(conv_defs)
  conv_defs['spec'][-1] = conv_defs['spec'][-1]._replace(
      multiplier_func=lambda params, multiplier: params)
  return conv_defs


def _with_group_norm(conv_defs, groups):
  conv_defs = copy.deepcopy(conv_defs)
  conv_defs['defaults'] = dict(DEFAULTS_GROUP_NORM)
  conv_defs['defaults'][(_layers.group_norm,)] = {'groups': groups}
  return conv_defs


@slim.add_arg_scope
def mobilenet(input_tensor,
              num_classes=1001,
              depth_multiplier=1.0,
              scope='MobilenetV3',
              conv_defs=None,
              finegrain_classification_mode=False,
              use_groupnorm=False,
              **kwargs):
  """MobileNet V3 (or EdgeTPU) classifier of [1].

  Inference mode is created by default. To create training use
  `training_scope()`:

    with slim.arg_scope(mobilenet_v3.training_scope()):
      logits, endpoints = mobilenet_v3.mobilenet(input_tensor)

  Args:
    input_tensor: a float tensor [batch, height, width, channels].
    num_classes: logits size (1001: ImageNet with a background class); 0 or
      None returns the pooled features.
    depth_multiplier: multiplier (> 0) of every layer's channels.
    scope: variable scope.
    conv_defs: the network, default `V3_LARGE` (also V3_SMALL, the
      minimalistic ones, V3_EDGETPU or any conv_defs).
    finegrain_classification_mode: the last layer keeps its width for any
      multiplier (as in MobileNet V2); ignored when `final_endpoint` stops
      earlier.
    use_groupnorm: group norm (`groups` kwarg, default 8) instead of batch
      norm.
    **kwargs: passed to `mobilenet.mobilenet`: `prediction_fn`, `reuse`,
      `base_only`, `final_endpoint`, `output_stride`, `is_training`,
      `use_reduce_mean_for_pooling`, ...

  Returns:
    logits [batch, num_classes] (or the features) and the end points dict
    ('layer_1' ... 'layer_N', 'layer_N/expansion_output', ...,
    'global_pool', 'Logits', 'Predictions').

  Raises:
    ValueError / TypeError: on invalid arguments (depth_multiplier <= 0, a
      generic `multiplier`, an unknown final_endpoint, ...).
  """
  lib.check_classifier_multiplier(depth_multiplier, kwargs)
  if conv_defs is None:
    conv_defs = V3_LARGE
  if finegrain_classification_mode:
    conv_defs = _keep_last_layer_width(conv_defs)
  if use_groupnorm:
    conv_defs = _with_group_norm(conv_defs, kwargs.pop('groups', 8))
  with slim.arg_scope([lib.depth_multiplier]):
    return lib.mobilenet(input_tensor, num_classes=num_classes,
                         conv_defs=conv_defs, scope=scope,
                         multiplier=depth_multiplier, **kwargs)


mobilenet.default_image_size = 224
training_scope = lib.training_scope


@slim.add_arg_scope
def mobilenet_base(input_tensor, depth_multiplier=1.0, **kwargs):
  """MobileNet V3 without pooling and logits; see `mobilenet` for the args."""
  return mobilenet(input_tensor, depth_multiplier=depth_multiplier,
                   base_only=True, **kwargs)


def wrapped_partial(func, new_defaults=None, **kwargs):
  """`functools.partial(func, **kwargs)` keeping `func`'s name and docstring.

  `new_defaults` are defaults a caller may still override (e.g. the scope),
  unlike `kwargs`, which are bound.
  """
  defaults = dict(new_defaults or {})

  def with_defaults(*f_args, **f_kwargs):
    merged = dict(defaults)
    merged.update(f_kwargs)
    return func(*f_args, **merged)

  functools.update_wrapper(with_defaults, func)
  partial_func = functools.partial(with_defaults, **kwargs)
  functools.update_wrapper(partial_func, func)
  # inspect.signature would otherwise show `func`'s defaults (its scope
  # 'MobilenetV3' for EdgeTPU, whose variables are under 'MobilenetEdgeTPU').
  shown = dict(defaults, **kwargs)
  signature = inspect.signature(func)
  partial_func.__signature__ = signature.replace(parameters=[
      parameter.replace(default=shown[parameter.name])
      if parameter.name in shown else parameter
      for parameter in signature.parameters.values()])
  return partial_func


large = wrapped_partial(mobilenet, conv_defs=V3_LARGE)
small = wrapped_partial(mobilenet, conv_defs=V3_SMALL)
edge_tpu = wrapped_partial(mobilenet,
                           new_defaults={'scope': 'MobilenetEdgeTPU'},
                           conv_defs=V3_EDGETPU)
edge_tpu_075 = wrapped_partial(mobilenet,
                               new_defaults={'scope': 'MobilenetEdgeTPU'},
                               conv_defs=V3_EDGETPU, depth_multiplier=0.75,
                               finegrain_classification_mode=True)
# Without squeeze-excite, hard-swish or 5x5 kernels: faster on GPUs, DSPs
# and EdgeTPUs.
large_minimalistic = wrapped_partial(mobilenet,
                                     conv_defs=V3_LARGE_MINIMALISTIC)
small_minimalistic = wrapped_partial(mobilenet,
                                     conv_defs=V3_SMALL_MINIMALISTIC)


def _reduce_consecutive_layers(conv_defs, start_id, end_id, multiplier=0.5):
  """A copy of `conv_defs` with layers [start_id, end_id] (0-based,
  inclusive) `multiplier` times as wide.

  Raises:
    KeyError: if one of those layers has no 'num_outputs'.
  """
  conv_defs = copy.deepcopy(conv_defs)
  for opdef in conv_defs['spec'][start_id:end_id + 1]:
    opdef.params['num_outputs'] = int(
        np.round(opdef.params['num_outputs'] * multiplier))
  return conv_defs


# Halved last stage, for detection backbones.
V3_LARGE_DETECTION = _reduce_consecutive_layers(V3_LARGE, 13, 16)
V3_SMALL_DETECTION = _reduce_consecutive_layers(V3_SMALL, 9, 12)


def _register(name, fn):
  registry.register('mobilenet_v3', training_scope, 224, 1001, 'inception',
                    name=name)(fn)


# upstream nets_factory's names.
_register('mobilenet_v3_small', small)
_register('mobilenet_v3_large', large)
_register('mobilenet_v3_small_minimalistic', small_minimalistic)
_register('mobilenet_v3_large_minimalistic', large_minimalistic)
_register('mobilenet_edgetpu', edge_tpu)
_register('mobilenet_edgetpu_075', edge_tpu_075)

__all__ = ['training_scope', 'mobilenet', 'V3_LARGE', 'V3_SMALL', 'large',
           'small', 'V3_LARGE_DETECTION', 'V3_SMALL_DETECTION']
