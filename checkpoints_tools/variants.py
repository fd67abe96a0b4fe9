"""Network variants that reproduce other frameworks' models exactly.

Converted weights keep the slim variable names, so they restore into the
registered model; where the source framework's architecture differs in a
weight-free detail, the variant here rebuilds the network with that detail,
from the pieces of `nets` (block lists, layers, generators), so the
converted checkpoint gives the source's outputs. Keras' ResNet v1 also has weights slim's resnet_v1 lacks
(conv biases): its variant is a model of its own, with its own tables.

- `keras_resnet_v2_50/101/152`: tf_keras.applications ResNet50V2/101V2/152V2.
  Same variables as `nets.resnet_v2.resnet_v2_50/101/152`; pool1 zero-pads one
  pixel on every side and max-pools VALID (Keras' `pool1_pad` +
  `pool1_pool`), where slim pads SAME (0 before, 1 after, never picked).
  Conv1 has no activation in v2, so the zero padding can win the max: with
  random weights the logits differ by a few percent (see docs/conversion.md).
  Use with `resnet_arg_scope(batch_norm_epsilon=1.001e-5)` (Keras' epsilon;
  `arg_scope_kwargs(name)`). NHWC only.
- `keras_resnet_v1_50/101/152`: tf_keras.applications ResNet50/101/152 (the
  original ResNet of [1] as Keras builds it), under slim's resnet_v1 names
  (scope `resnet_v1_<depth>`, units `bottleneck_v1`, end points as
  `nets.resnet_v1.resnet_v1_<depth>`). It differs from slim's resnet_v1 in
  weights and in function, so it is its own model, not resnet_v1_<depth>:
  every conv has `biases` (added before its batch norm) next to `weights`;
  the stride of a block sits on the 1x1 `conv1` (and the shortcut) of its
  FIRST unit (block1 none, blocks 2-4 stride 2; slim: on the 3x3 conv2 of
  the LAST unit of blocks 1-3); pool1 zero-pads 1 on every side, then
  max-pools VALID (slim: SAME); batch-norm epsilon 1.001e-5. Under
  `output_stride`, `resnet_utils.stack_blocks_dense`'s usual rule applies
  (a strided unit runs at stride 1; later units get the atrous rate). Use
  with `resnet_v1.resnet_arg_scope(batch_norm_epsilon=1.001e-5)`
  (`arg_scope(name)`). NHWC only.
- `timm_legacy_xception`: timm's `legacy_xception` (Keras' Xception ported to
  torch). Same variables and end points as `nets.xception.xception_keras`;
  its strided max-pools pad one pixel on every side (torch's
  `MaxPool2d(3, 2, padding=1)`) where Keras pads SAME, which differs for
  even input sizes (at 299 the second entry-flow pool sees 74x74), and its
  batch-norm epsilon is torch's 1e-5 (Keras: 1e-3). Use with
  `xception.xception_keras_arg_scope(batch_norm_epsilon=1e-5)`
  (`arg_scope(name)`).

- `timm_inception_resnet_v2`: timm's `inception_resnet_v2` (ported from the
  slim checkpoint). The same network and end points as
  `nets.inception_resnet_v2.inception_resnet_v2`, but its batch norms have
  a scale (`BatchNorm/gamma`, all ones in timm's port, random in a trained
  or initialised torch model), so it is its own model: the registered
  network under `inception_resnet_v2_arg_scope(batch_norm_scale=True)`
  (`arg_scope(name)`); timm has no auxiliary classifier (build with
  create_aux_logits=False).

- `timm_inception_v4`: timm's `inception_v4` (ported from the slim
  checkpoint), as `timm_inception_resnet_v2`: `nets.inception_v4`'s network
  with a batch-norm scale (`inception_arg_scope(batch_norm_scale=True)`) and
  no auxiliary classifier.
- `torchvision_inception_v3`, `timm_inception_v3`: torchvision's and timm's
  `inception_v3` (the same network; timm's has no auxiliary classifier).
  Same end points as `nets.inception_v3.inception_v3`, plus a batch-norm
  scale (gamma), so its own models; the blocks' 3x3 average pools count the
  zero padding at the borders (torch's `avg_pool2d(x, 3, 1, padding=1)`),
  TensorFlow's SAME pools do not. Use with
  `inception_arg_scope(batch_norm_scale=True)` (`arg_scope(name)`).
- `keras_mobilenet_v3_small`, `keras_mobilenet_v3_large`: tf_keras
  MobileNetV3Small / MobileNetV3Large. Same variables and end points as
  `nets.mobilenet.mobilenet_v3.small` / `large`; their squeeze-excite gate
  is Keras' hard sigmoid relu6(x + 3) / 6, where the slim checkpoints were
  trained with relu6(x + 3) * 0.16667 (6e-4 of the logits' range apart
  with random weights). Use with `mobilenet_v3.training_scope()`
  (`arg_scope(name)`). The minimalistic networks have no gate: no variant.

- `torchvision_mobilenet_v2`, `torchvision_mobilenet_v3_small`,
  `torchvision_mobilenet_v3_large`: torchvision's MobileNets. Same
  variables and end points as `nets.mobilenet`'s mobilenet_v2, v3 small
  and large; torch pads every conv symmetrically ((k - 1) / 2 on each
  side), which for the strided ones is not SAME: their k x k convs pad
  that way, then convolve VALID. torchvision's v2 batch
  norms have torch's epsilon 1e-5 (slim: 1e-3); its v3 squeeze-excite gate
  is relu6(x + 3) / 6 as Keras'. Use with `arg_scope(name)` (the training
  scope, and for v2 epsilon 1e-5).
- `timm_mobilenetv2_100`, `timm_mobilenetv2_140`, `timm_mobilenetv3_small_100`,
  `timm_mobilenetv3_large_100`: timm's own MobileNets, built as
  torchvision's (torch's symmetric padding; v3 with Keras' gate) with
  torch's batch-norm epsilon 1e-5.
- `timm_tf_mobilenetv3_small_100`, `timm_tf_mobilenetv3_large_100`: timm's
  ports of the TensorFlow MobileNetV3 checkpoints, slim's networks with
  Keras' gate (as `keras_mobilenet_v3_*`; timm's tf_ minimalistic ports are
  slim's minimalistic networks, no variant).
- `keras_nasnet_mobile`, `keras_nasnet_large`: tf_keras / Keras 3
  NASNetMobile and NASNetLarge. Same variables and end points as
  `nets.nasnet.nasnet.build_nasnet_mobile` / `_large`; the strided average
  and max pools of the reduction cells zero-pad (Keras' `correct_pad`) and
  pool VALID, so the zeros count, where slim pools SAME
  (`nasnet_utils.cell_pool(padding='ZEROS')`); with random weights that
  moves the logits by 8% (Mobile at 224) to 17% (Large at 75) of their
  range. Use with `nasnet_mobile_arg_scope()` / `nasnet_large_arg_scope()`
  (`arg_scope(name)`).

[1] Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun.
    Deep Residual Learning for Image Recognition. arXiv:1512.03385

Typical use:

   from checkpoints_tools import variants
   from nets import resnet_v2
   with slim.arg_scope(resnet_v2.resnet_arg_scope(
       **variants.arg_scope_kwargs('keras_resnet_v2_50'))):
     logits, end_points = variants.keras_resnet_v2_50(images, 1000,
                                                      is_training=False)
   saver.restore(sess, 'converted_from_keras.ckpt')

   # tf_keras ResNet50 (v1), converted with `slimnets convert resnet50.h5 r50`:
   with slim.arg_scope(variants.arg_scope('keras_resnet_v1_50')):
     logits, end_points = variants.keras_resnet_v1_50(images, 1000,
                                                      is_training=False)

   # timm legacy_xception, converted with
   # `slimnets convert legacy_xception.safetensors x.ckpt`:
   with slim.arg_scope(variants.arg_scope('timm_legacy_xception')):
     logits, end_points = variants.timm_legacy_xception(images, 1000,
                                                        is_training=False)
"""

import contextlib
import copy
import functools

import tensorflow as tf
import tf_slim as slim
from tf_slim.layers import utils as slim_utils

from nets import _common  # pylint: disable=protected-access
# conv2d_same builds its conv with nets' conv2d: its arg-scope key.
from nets import _layers  # pylint: disable=protected-access
from nets import inception_resnet_v2
from nets import inception_utils
from nets import inception_v3
from nets import inception_v4
from nets import resnet_utils
from nets import resnet_v1
from nets import resnet_v2
from nets import xception
from nets.mobilenet import conv_blocks
from nets.mobilenet import mobilenet as mobilenet_common
from nets.mobilenet import mobilenet_v2
from nets.mobilenet import mobilenet_v3
from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils

_ARG_SCOPE_KWARGS = {}
_ARG_SCOPE_FNS = {}


def _keras_resnet_v2(depth, inputs, num_classes=None, is_training=True,
                     global_pool=True, output_stride=None,
                     spatial_squeeze=True, reuse=None, scope=None):
  """resnet_v2_<depth> with Keras' pool1; args and returns of resnet_v2()."""
  output_stride = _common.blocks_output_stride(output_stride, 4)
  scope = scope or 'resnet_v2_%d' % depth
  with tf.compat.v1.variable_scope(scope, 'resnet_v2', [inputs],
                                   reuse=reuse) as sc:
    # The root lives in the same variable scope and end-point collection as
    # what resnet_v2() builds next when given this scope object.
    collection = sc.original_name_scope + '_end_points'
    inputs = _nhwc_inputs(inputs, sc)
    with slim.arg_scope([_layers.conv2d], outputs_collections=collection,
                        activation_fn=None, normalizer_fn=None):
      net = resnet_utils.conv2d_same(inputs, 64, 7, stride=2, scope='conv1')
    net = _keras_pool1(net)
    return resnet_v2.resnet_v2(
        net, resnet_v2._blocks(depth), num_classes=num_classes,  # pylint: disable=protected-access
        is_training=is_training, global_pool=global_pool,
        output_stride=output_stride, include_root_block=False,
        spatial_squeeze=spatial_squeeze, reuse=reuse, scope=sc)


def _nhwc_inputs(inputs, sc):
  """`inputs` checked as network images, for a variant's scope `sc`.

  Raises:
    ValueError: under a data_format 'NCHW' arg scope (Keras' pool1 is built
      for NHWC), or for inputs that are not [batch, height, width, channels].
  """
  if _common.scoped_data_format() == 'NCHW':
    raise ValueError('%s: only NHWC (data_format NCHW in the arg scope)' %
                     sc.name)
  return _common.validate_inputs(inputs)


def _keras_pool1(net):
  """Keras' pool1_pad + pool1_pool: zero-pad 1 on every side, 3x3/2 VALID.

  The window starts one pixel earlier than slim's SAME pool, so the two
  differ even after a ReLU.
  """
  net = tf.pad(net, [[0, 0], [1, 1], [1, 1], [0, 0]], name='pool1_pad')
  return tf.nn.max_pool2d(net, 3, 2, 'VALID', name='pool1')


def _registered(fn, name, doc, image_size, arg_scope_fn, arg_scope_kwargs=None):
  """`fn` as the variant `name`: its name, docstring, default image size,
  and the arg scope (function and keyword arguments) it expects."""
  fn.__name__ = name
  fn.__doc__ = doc
  fn.default_image_size = image_size
  if arg_scope_kwargs:
    _ARG_SCOPE_KWARGS[name] = arg_scope_kwargs
  _ARG_SCOPE_FNS[name] = arg_scope_fn
  return fn


def _make(build, depth, name, doc, arg_scope_fn):
  """The variant `name`: `build` for `depth`, Keras' batch-norm epsilon."""
  return _registered(functools.partial(build, depth), name, doc, 224,
                     arg_scope_fn, {'batch_norm_epsilon': 1.001e-5})


def _make_v2(depth):
  return _make(_keras_resnet_v2, depth, 'keras_resnet_v2_%d' % depth,
               'resnet_v2_%d with tf_keras ResNet%dV2\'s pool1 (see the '
               'module docstring).' % (depth, depth),
               resnet_v2.resnet_arg_scope)


keras_resnet_v2_50 = _make_v2(50)
keras_resnet_v2_101 = _make_v2(101)
keras_resnet_v2_152 = _make_v2(152)


# --- Keras ResNet v1 ---------------------------------------------------------


def _bias_then_batch_norm(inputs, **batch_norm_params):
  """Keras' Conv2D(use_bias=True) + BatchNormalization, as a normalizer_fn.

  Runs inside the conv's variable scope, so the bias is `<conv>/biases`,
  next to `<conv>/weights`, and batch norm `<conv>/BatchNorm/...`.
  """
  channels = inputs.shape.dims[-1].value
  # Same collections as the biases nets' conv2d creates without a normalizer.
  biases = _layers._model_variable(  # pylint: disable=protected-access
      'biases', [channels], inputs.dtype.base_dtype,
      tf.compat.v1.zeros_initializer(), None, True, None, 'biases')
  return _layers.batch_norm(tf.nn.bias_add(inputs, biases),
                            **batch_norm_params)


@slim.add_arg_scope
def _keras_bottleneck_v1(inputs, depth, depth_bottleneck, stride, rate=1,
                         outputs_collections=None, scope=None):
  """tf_keras' `block1`: the stride on the 1x1 conv1, biases on every conv.

  Args:
    inputs: a rank-4 NHWC tensor.
    depth: output channels.
    depth_bottleneck: channels of conv1 and conv2.
    stride: the unit's stride, on conv1 and the shortcut.
    rate: atrous rate of the 3x3 conv2 (stride 1, SAME).
    outputs_collections: collection for the end points.
    scope: variable scope, default 'bottleneck_v1'.

  Returns:
    ReLU(shortcut + conv3), collected as the unit's end point.
  """
  with tf.compat.v1.variable_scope(scope, 'bottleneck_v1', [inputs]) as sc:
    with slim.arg_scope([_layers.conv2d], normalizer_fn=_bias_then_batch_norm):
      if depth == inputs.shape.dims[3].value:
        shortcut = resnet_utils.subsample(inputs, stride, 'shortcut')
      else:
        shortcut = _layers.conv2d(inputs, depth, [1, 1], stride=stride,
                                  activation_fn=None, scope='shortcut')
      residual = _layers.conv2d(inputs, depth_bottleneck, [1, 1],
                                stride=stride, scope='conv1')
      residual = resnet_utils.conv2d_same(residual, depth_bottleneck, 3, 1,
                                          rate=rate, scope='conv2')
      residual = _layers.conv2d(residual, depth, [1, 1], stride=1,
                                activation_fn=None, scope='conv3')
    output = tf.nn.relu(shortcut + residual)
    return slim_utils.collect_named_outputs(outputs_collections, sc.name,
                                            output)


# Keras' stack1 strides: none in conv2 (pool1 precedes it), then 2, 2, 2.
KERAS_V1_BLOCK_STRIDES = (1, 2, 2, 2)


def keras_resnet_v1_blocks(depth):
  """The `resnet_utils.Block` list of Keras ResNet<depth> (v1).

  Units output 4 * base_depth channels; each block's stride is on its FIRST
  unit (`KERAS_V1_BLOCK_STRIDES`).
  """
  return [
      resnet_utils.Block('block%d' % (i + 1), _keras_bottleneck_v1, [{
          'depth': base * 4, 'depth_bottleneck': base,
          'stride': stride if u == 0 else 1} for u in range(units)])
      for i, (base, units, stride) in enumerate(zip(
          resnet_utils.BASE_DEPTHS, resnet_utils.UNITS_PER_BLOCK[depth],
          KERAS_V1_BLOCK_STRIDES))]


def _keras_resnet_v1(depth, inputs, num_classes=None, is_training=True,
                     global_pool=True, output_stride=None,
                     spatial_squeeze=True, reuse=None, scope=None):
  """tf_keras ResNet<depth> in slim names; args and returns of resnet_v1()."""
  output_stride = _common.blocks_output_stride(output_stride, 4)
  scope = scope or 'resnet_v1_%d' % depth
  with tf.compat.v1.variable_scope(scope, 'resnet_v1', [inputs],
                                   reuse=reuse) as sc:
    # Root and units collect into the end-point collection resnet_v1()
    # reads when given this scope object.
    collection = sc.original_name_scope + '_end_points'
    inputs = _nhwc_inputs(inputs, sc)
    with slim.arg_scope([_layers.conv2d, _keras_bottleneck_v1],
                        outputs_collections=collection), \
        (slim.arg_scope([_layers.batch_norm], is_training=is_training)
         if is_training is not None else contextlib.nullcontext()):
      with slim.arg_scope([_layers.conv2d],
                          normalizer_fn=_bias_then_batch_norm):
        net = resnet_utils.conv2d_same(inputs, 64, 7, stride=2, scope='conv1')
      net = _keras_pool1(net)
      return resnet_v1.resnet_v1(
          net, keras_resnet_v1_blocks(depth), num_classes=num_classes,
          is_training=is_training, global_pool=global_pool,
          output_stride=output_stride, include_root_block=False,
          spatial_squeeze=spatial_squeeze, reuse=reuse, scope=sc)


def _make_v1(depth):
  return _make(_keras_resnet_v1, depth, 'keras_resnet_v1_%d' % depth,
               'tf_keras ResNet%d (v1) under resnet_v1_%d\'s names (see the '
               'module docstring).' % (depth, depth),
               resnet_v1.resnet_arg_scope)


keras_resnet_v1_50 = _make_v1(50)
keras_resnet_v1_101 = _make_v1(101)
keras_resnet_v1_152 = _make_v1(152)


# --- timm legacy_xception ----------------------------------------------------


def timm_legacy_xception(inputs, num_classes=None, is_training=True,
                         global_pool=True, output_stride=None,
                         spatial_squeeze=True, reuse=None,
                         scope='xception_keras'):
  """xception_keras with timm legacy_xception's max-pools.

  See the module docstring; args and returns of
  `nets.xception.xception_keras_generator()`.
  """
  with slim.arg_scope([xception.xception_keras_module],
                      pool_padding='SYMMETRIC'):
    return xception.xception_keras(
        inputs, num_classes=num_classes, is_training=is_training,
        global_pool=global_pool, output_stride=output_stride,
        spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)


# torch's BatchNorm2d epsilon.
_registered(timm_legacy_xception, 'timm_legacy_xception',
            timm_legacy_xception.__doc__, 299,
            xception.xception_keras_arg_scope, {'batch_norm_epsilon': 1e-5})

# --- timm inception_resnet_v2, inception_v4 ---------------------------------


def _make_timm_port(model_fn, name, arg_scope_fn):
  """timm's port of slim's `model_fn`: a batch-norm scale (from
  `arg_scope(name)`), no auxiliary classifier by default."""

  def variant(inputs, num_classes=1001, create_aux_logits=False, **kwargs):
    return model_fn(inputs, num_classes=num_classes,
                    create_aux_logits=create_aux_logits, **kwargs)

  doc = ('%s as timm builds it: no auxiliary classifier by default, a '
         'batch-norm scale (see the module docstring); args and returns of '
         '`nets.%s.%s`.' % ((model_fn.__name__,) * 3))
  return _registered(variant, name, doc, 299, arg_scope_fn,
                     {'batch_norm_scale': True})


timm_inception_resnet_v2 = _make_timm_port(
    inception_resnet_v2.inception_resnet_v2, 'timm_inception_resnet_v2',
    inception_resnet_v2.inception_resnet_v2_arg_scope)
timm_inception_v4 = _make_timm_port(inception_v4.inception_v4,
                                    'timm_inception_v4',
                                    inception_utils.inception_arg_scope)


# --- torchvision / timm inception_v3 -------------------------------------------


def _counting_padding(entry, padding):
  """`entry` (an inception_utils spec in a section of `padding`) with its
  stride-1 SAME average pools counting their padding."""
  if isinstance(entry, inception_utils.Mixed):
    return entry._replace(branches=[
        [_counting_padding(sub, padding) for sub in branch]
        for branch in entry.branches])
  if (isinstance(entry, inception_utils.Pool) and entry.kind == 'avg' and
      entry.stride == 1 and (entry.padding or padding) == 'SAME'):
    return entry._replace(kind='avg_counting_padding')
  return entry


_TORCH_INCEPTION_V3_SECTIONS = [
    section._replace(entries=[_counting_padding(e, section.padding)
                              for e in section.entries])
    for section in inception_v3._SECTIONS]  # pylint: disable=protected-access


def _make_torch_inception_v3(name, create_aux_logits):
  def variant(inputs, num_classes=1000, is_training=True,
              dropout_keep_prob=0.8, create_aux_logits=create_aux_logits,
              scope='InceptionV3', **kwargs):
    return inception_v3._inception_v3(  # pylint: disable=protected-access
        _TORCH_INCEPTION_V3_SECTIONS, inputs, num_classes=num_classes,
        is_training=is_training, dropout_keep_prob=dropout_keep_prob,
        create_aux_logits=create_aux_logits, scope=scope, **kwargs)

  doc = ('inception_v3 as %s builds it (see the module docstring); args '
         'and returns of `nets.inception_v3.inception_v3`.' %
         name.split('_')[0])
  return _registered(variant, name, doc, 299,
                     inception_utils.inception_arg_scope,
                     {'batch_norm_scale': True})


torchvision_inception_v3 = _make_torch_inception_v3(
    'torchvision_inception_v3', True)
timm_inception_v3 = _make_torch_inception_v3('timm_inception_v3', False)


# --- Keras MobileNetV3 ---------------------------------------------------------


def _keras_hard_sigmoid(x):
  return tf.nn.relu6(x + 3) / 6


def _keras_squeeze_excite(expansion_tensor, input_tensor):
  """mobilenet_v3's squeeze-excite with Keras' gate."""
  del input_tensor  # The gate is computed from the expansion alone.
  return conv_blocks.squeeze_excite(
      expansion_tensor, squeeze_factor=4, inner_activation_fn=tf.nn.relu,
      gating_fn=_keras_hard_sigmoid)


def _with_keras_gate(conv_defs):
  """`conv_defs` whose squeeze-excite blocks use Keras' gate."""
  conv_defs = copy.deepcopy(conv_defs)
  for opdef in conv_defs['spec']:
    if opdef.params.get('expansion_transform') is not None:
      opdef.params['expansion_transform'] = _keras_squeeze_excite
  return conv_defs


def _torch_mobilenet_scope(batch_norm_epsilon=None, **kwargs):
  """mobilenet's training_scope(**kwargs), with a batch-norm epsilon."""
  scope = mobilenet_common.training_scope(**kwargs)
  if batch_norm_epsilon is None:
    return scope
  with slim.arg_scope(scope):
    with slim.arg_scope([_layers.batch_norm],
                        epsilon=batch_norm_epsilon) as scope:
      return scope


def _padded_conv2d(inputs, num_outputs, kernel_size, stride=1, rate=1,
                   **kwargs):
  """A conv padded as torch pads it: (k - 1) / 2 zeros on each side, then
  VALID."""
  inputs = conv_blocks._fixed_padding(inputs, kernel_size, rate)  # pylint: disable=protected-access
  return _layers.conv2d(inputs, num_outputs, kernel_size, stride=stride,
                        rate=rate, padding='VALID', **kwargs)


def _padded_as_torch(conv_defs):
  """`conv_defs` whose k x k convs pad as torch's.

  mobilenet's own use_explicit_padding pads the input of a block whose op
  names a kernel size (V3's), before its 1x1 expansion, where torch pads
  the expansion's output: so the blocks pad inside (expanded_conv's
  use_explicit_padding) and the plain convs through `_padded_conv2d`.
  """
  conv_defs = copy.deepcopy(conv_defs)
  spec = []
  for opdef in conv_defs['spec']:
    kernel = opdef.params.get('kernel_size', [3, 3])
    if opdef.op is conv_blocks.expanded_conv:
      opdef.params['use_explicit_padding'] = True
    elif opdef.op is _layers.conv2d and tuple(kernel) != (1, 1):
      opdef = opdef._replace(op=_padded_conv2d)
    spec.append(opdef)
  conv_defs['spec'] = spec
  return conv_defs


def _make_mobilenet(model_fn, name, conv_defs, source, arg_scope_fn,
                    arg_scope_kwargs=None, depth_multiplier=1.0):
  """`model_fn` (a nets.mobilenet generator, under its own scope) as
  `source` builds it: with `conv_defs` and `depth_multiplier` by default,
  under `arg_scope_fn(**arg_scope_kwargs)`."""

  def variant(inputs, num_classes=1001, depth_multiplier=depth_multiplier,
              **kwargs):
    return model_fn(inputs, num_classes=num_classes,
                    depth_multiplier=depth_multiplier, conv_defs=conv_defs,
                    **kwargs)

  doc = ('%s as %s builds it (see the module docstring); args and returns '
         "of `nets.mobilenet`'s mobilenet." % (name.split('_', 1)[1], source))
  return _registered(variant, name, doc, 224, arg_scope_fn, arg_scope_kwargs)


def _make_torch_mobilenet(name, model_fn, conv_defs, epsilon=None,
                          depth_multiplier=1.0):
  """A MobileNet of torchvision or timm (named by `name`'s prefix): its
  convs padded as torch pads, batch-norm `epsilon` (None: slim's)."""
  return _make_mobilenet(
      model_fn, name, _padded_as_torch(conv_defs), name.split('_')[0],
      _torch_mobilenet_scope, epsilon and {'batch_norm_epsilon': epsilon},
      depth_multiplier)


# MobileNetV3's conv_defs with Keras' squeeze-excite gate (every V3 variant).
_GATED_V3_SMALL = _with_keras_gate(mobilenet_v3.V3_SMALL)
_GATED_V3_LARGE = _with_keras_gate(mobilenet_v3.V3_LARGE)


def _make_gated_v3(name, gated_conv_defs):
  """MobileNetV3 with Keras' squeeze-excite gate (`gated_conv_defs`) and
  slim's padding (tf_keras', and timm's ports of the slim checkpoints)."""
  return _make_mobilenet(mobilenet_v3.mobilenet, name, gated_conv_defs,
                         name.split('_')[0], mobilenet_v3.training_scope)

torchvision_mobilenet_v2 = _make_torch_mobilenet(
    'torchvision_mobilenet_v2', mobilenet_v2.mobilenet, mobilenet_v2.V2_DEF,
    epsilon=1e-5)
torchvision_mobilenet_v3_small = _make_torch_mobilenet(
    'torchvision_mobilenet_v3_small', mobilenet_v3.mobilenet, _GATED_V3_SMALL)
torchvision_mobilenet_v3_large = _make_torch_mobilenet(
    'torchvision_mobilenet_v3_large', mobilenet_v3.mobilenet, _GATED_V3_LARGE)
# timm's own MobileNets: torch's padding and batch-norm epsilon.
timm_mobilenetv2_100 = _make_torch_mobilenet(
    'timm_mobilenetv2_100', mobilenet_v2.mobilenet, mobilenet_v2.V2_DEF,
    epsilon=1e-5)
timm_mobilenetv2_140 = _make_torch_mobilenet(
    'timm_mobilenetv2_140', mobilenet_v2.mobilenet, mobilenet_v2.V2_DEF,
    epsilon=1e-5, depth_multiplier=1.4)
timm_mobilenetv3_small_100 = _make_torch_mobilenet(
    'timm_mobilenetv3_small_100', mobilenet_v3.mobilenet, _GATED_V3_SMALL,
    epsilon=1e-5)
timm_mobilenetv3_large_100 = _make_torch_mobilenet(
    'timm_mobilenetv3_large_100', mobilenet_v3.mobilenet, _GATED_V3_LARGE,
    epsilon=1e-5)

keras_mobilenet_v3_small = _make_gated_v3(
    'keras_mobilenet_v3_small', _GATED_V3_SMALL)
keras_mobilenet_v3_large = _make_gated_v3(
    'keras_mobilenet_v3_large', _GATED_V3_LARGE)
timm_tf_mobilenetv3_small_100 = _make_gated_v3(
    'timm_tf_mobilenetv3_small_100', _GATED_V3_SMALL)
timm_tf_mobilenetv3_large_100 = _make_gated_v3(
    'timm_tf_mobilenetv3_large_100', _GATED_V3_LARGE)

# --- Keras NASNet ---------------------------------------------------------------


def _make_keras_nasnet(name, build, arg_scope_fn):
  """`build` (nasnet.build_nasnet_mobile / _large) with Keras' zero-padded
  strided pools in the cells."""

  def variant(images, num_classes=1001, is_training=True, **kwargs):
    with slim.arg_scope([nasnet_utils.cell_pool], padding='ZEROS'):
      return build(images, num_classes, is_training=is_training, **kwargs)

  doc = ('%s with Keras\' zero-padded reduction pools (see the module '
         'docstring); args and returns of `nets.nasnet.nasnet.%s`.' %
         (build.__name__, build.__name__))
  return _registered(variant, name, doc, build.default_image_size,
                     arg_scope_fn)


keras_nasnet_mobile = _make_keras_nasnet(
    'keras_nasnet_mobile', nasnet.build_nasnet_mobile,
    nasnet.nasnet_mobile_arg_scope)
keras_nasnet_large = _make_keras_nasnet(
    'keras_nasnet_large', nasnet.build_nasnet_large,
    nasnet.nasnet_large_arg_scope)

VARIANTS = {fn.__name__: fn for fn in (
    keras_resnet_v2_50, keras_resnet_v2_101, keras_resnet_v2_152,
    keras_resnet_v1_50, keras_resnet_v1_101, keras_resnet_v1_152,
    timm_legacy_xception, timm_inception_resnet_v2, timm_inception_v4,
    torchvision_inception_v3, timm_inception_v3, keras_mobilenet_v3_small,
    keras_mobilenet_v3_large, torchvision_mobilenet_v2,
    torchvision_mobilenet_v3_small, torchvision_mobilenet_v3_large,
    timm_mobilenetv2_100, timm_mobilenetv2_140, timm_mobilenetv3_small_100,
    timm_mobilenetv3_large_100, timm_tf_mobilenetv3_small_100,
    timm_tf_mobilenetv3_large_100, keras_nasnet_mobile, keras_nasnet_large)}


def get_variant(name):
  """The variant model function `name`.

  Raises:
    ValueError: for an unknown name.
  """
  if name not in VARIANTS:
    raise ValueError('unknown variant %r; known: %s' %
                     (name, ', '.join(sorted(VARIANTS))))
  return VARIANTS[name]


def arg_scope_kwargs(name):
  """Keyword arguments of the arg-scope function that the variant expects."""
  return dict(_ARG_SCOPE_KWARGS.get(name, {}))


def arg_scope(name, **overrides):
  """The arg scope the variant `name` expects (its source's batch norm).

  Args:
    name: a variant name.
    **overrides: other arguments of the family's arg-scope function
      (resnet_arg_scope, xception_keras_arg_scope).

  Returns:
    An arg_scope dict for `slim.arg_scope`.
  """
  get_variant(name)
  return _ARG_SCOPE_FNS[name](**dict(arg_scope_kwargs(name), **overrides))
