"""Network variants that reproduce other frameworks' models exactly.

Converted weights keep the slim variable names, so they restore into the
registered model; where the source framework's architecture differs in a
weight-free detail, the variant here rebuilds the network with that detail,
from the public pieces of `nets`, so the converted checkpoint gives the
source's outputs.

- `keras_resnet_v2_50/101/152`: tf_keras.applications ResNet50V2/101V2/152V2.
  Same variables as `nets.resnet_v2.resnet_v2_50/101/152`; pool1 zero-pads one
  pixel on every side and max-pools VALID (Keras' `pool1_pad` +
  `pool1_pool`), where slim pads SAME (0 before, 1 after, never picked).
  Conv1 has no activation in v2, so the zero padding can win the max: with
  random weights the logits differ by a few percent (see docs/conversion.md).
  Use with `resnet_arg_scope(batch_norm_epsilon=1.001e-5)` (Keras' epsilon;
  `arg_scope_kwargs(name)`). NHWC only.

Typical use:

   from checkpoints_tools import variants
   from nets import resnet_v2
   with slim.arg_scope(resnet_v2.resnet_arg_scope(
       **variants.arg_scope_kwargs('keras_resnet_v2_50'))):
     logits, end_points = variants.keras_resnet_v2_50(images, 1000,
                                                      is_training=False)
   saver.restore(sess, 'converted_from_keras.ckpt')
"""

import functools

import tensorflow as tf
import tf_slim as slim

# conv2d_same builds its conv with nets' conv2d: its arg-scope key.
from nets import _layers  # pylint: disable=protected-access
from nets import resnet_utils
from nets import resnet_v2

_ARG_SCOPE_KWARGS = {}


def _keras_resnet_v2(depth, inputs, num_classes=None, is_training=True,
                     global_pool=True, output_stride=None,
                     spatial_squeeze=True, reuse=None, scope=None):
  """resnet_v2_<depth> with Keras' pool1; args and returns of resnet_v2()."""
  if output_stride is not None and (not isinstance(output_stride, int) or
                                    output_stride <= 0 or output_stride % 4):
    raise ValueError('The output_stride needs to be a multiple of 4 (the '
                     'stride of the root block), got %r.' % (output_stride,))
  blocks = [
      resnet_v2.resnet_v2_block('block%d' % (i + 1), base, units, stride)
      for i, (base, units, stride) in enumerate(zip(
          resnet_utils.BASE_DEPTHS, resnet_utils.UNITS_PER_BLOCK[depth],
          resnet_utils.BLOCK_STRIDES))]
  scope = scope or 'resnet_v2_%d' % depth
  with tf.compat.v1.variable_scope(scope, 'resnet_v2', [inputs],
                                   reuse=reuse) as sc:
    # The root lives in the same variable scope and end-point collection as
    # what resnet_v2() builds next when given this scope object.
    collection = sc.original_name_scope + '_end_points'
    inputs = tf.convert_to_tensor(inputs)
    with slim.arg_scope([_layers.conv2d], outputs_collections=collection,
                        activation_fn=None, normalizer_fn=None):
      net = resnet_utils.conv2d_same(inputs, 64, 7, stride=2, scope='conv1')
    net = tf.pad(net, [[0, 0], [1, 1], [1, 1], [0, 0]], name='pool1_pad')
    net = tf.nn.max_pool2d(net, 3, 2, 'VALID', name='pool1')
    return resnet_v2.resnet_v2(
        net, blocks, num_classes=num_classes, is_training=is_training,
        global_pool=global_pool,
        output_stride=None if output_stride is None else output_stride // 4,
        include_root_block=False, spatial_squeeze=spatial_squeeze,
        reuse=reuse, scope=sc)


def _make(depth):
  fn = functools.partial(_keras_resnet_v2, depth)
  fn.__name__ = 'keras_resnet_v2_%d' % depth
  fn.__doc__ = ('resnet_v2_%d with tf_keras ResNet%dV2\'s pool1 (see the '
                'module docstring).' % (depth, depth))
  fn.default_image_size = 224
  _ARG_SCOPE_KWARGS[fn.__name__] = {'batch_norm_epsilon': 1.001e-5}
  return fn


keras_resnet_v2_50 = _make(50)
keras_resnet_v2_101 = _make(101)
keras_resnet_v2_152 = _make(152)

VARIANTS = {fn.__name__: fn for fn in (keras_resnet_v2_50, keras_resnet_v2_101,
                                       keras_resnet_v2_152)}


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
