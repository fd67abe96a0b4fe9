"""Inflated 3-D Inception v1 (I3D), drop-in for research/slim's `nets.i3d`.

[1] Joao Carreira, Andrew Zisserman. Quo Vadis, Action Recognition? A New
    Model and the Kinetics Dataset. arXiv:1705.07750

Inception v1 with every filter inflated to 3-D: a 7x7x7 first convolution
and 3x3x3 convolutions from Conv2d_2c_3x3 on, no feature gating. It is
`nets.s3dg`'s network with I3D's settings, under Inception v1's variable
names (`InceptionV1/Conv2d_1a_7x7/weights` [7, 7, 7, 3, 64],
`InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/weights` [3, 3, 3, 96, 128],
..., `InceptionV1/Logits/Conv2d_0c_1x1/{weights,biases}`), so upstream's
checkpoints (Kinetics: 400 classes, inputs scaled to [-1, 1]) restore with a
plain Saver, and an image Inception v1 checkpoint can be inflated into it.

Typical use:

   import tf_slim as slim
   from nets import i3d

   # clips: [batch, 64, 224, 224, 3] in [-1, 1].
   with slim.arg_scope(i3d.i3d_arg_scope()):
     logits, end_points = i3d.i3d(clips, num_classes=400, is_training=False)
"""

import tensorflow as tf
import tf_slim as slim

from nets import _layers
from nets import _layers_3d
from nets import i3d_utils
from nets import registry
from nets import s3dg

trunc_normal = s3dg.trunc_normal
conv3d_spatiotemporal = i3d_utils.conv3d_spatiotemporal


def i3d_arg_scope(weight_decay=1e-7,
                  batch_norm_decay=0.999,
                  batch_norm_epsilon=0.001,
                  use_renorm=False,
                  separable_conv3d=False):
  """The arg scope of I3D: conv + batch norm + ReLU.

  Args:
    weight_decay: L2 weight decay of the convolution weights.
    batch_norm_decay: moving-average decay of batch norm.
    batch_norm_epsilon: added to the variance in batch norm.
    use_renorm: batch renormalization (not supported by slimnets' batch norm,
      which raises when it is True).
    separable_conv3d: factor the 3-D convolutions into spatial and temporal
      ones (S3D).

  Returns:
    An arg_scope (a dict) for `slim.arg_scope(...)`, keyed like tf-slim's
    `conv3d` and `i3d_utils.conv3d_spatiotemporal`.
  """
  # pylint: disable-next=protected-access
  batch_norm_params = s3dg._batch_norm_params(
      batch_norm_decay, batch_norm_epsilon, renorm=use_renorm)
  with slim.arg_scope([_layers_3d.conv3d, conv3d_spatiotemporal],
                      weights_regularizer=slim.l2_regularizer(weight_decay),
                      activation_fn=tf.nn.relu,
                      normalizer_fn=_layers.batch_norm,
                      normalizer_params=batch_norm_params):
    with slim.arg_scope([conv3d_spatiotemporal],
                        separable=separable_conv3d) as sc:
      return sc


def i3d_base(inputs, final_endpoint='Mixed_5c', scope='InceptionV1'):
  """The I3D network up to `final_endpoint`.

  `s3dg.s3dg_base` with a 7-frame first kernel, 3-D convolutions from
  Conv2d_2c_3x3 on, no gating, min_depth 16, depth_multiplier 1, NDHWC. At
  64x224x224 Mixed_5c is [batch, 8, 7, 7, 1024].

  Args:
    inputs: a 5-D float tensor [batch, frames, height, width, channels].
    final_endpoint: the end point to build up to, one of Conv2d_1a_7x7,
      MaxPool_2a_3x3, Conv2d_2b_1x1, Conv2d_2c_3x3, MaxPool_3a_3x3, Mixed_3b,
      Mixed_3c, MaxPool_4a_3x3, Mixed_4b, Mixed_4c, Mixed_4d, Mixed_4e,
      Mixed_4f, MaxPool_5a_2x2, Mixed_5b, Mixed_5c.
    scope: variable scope, default 'InceptionV1'.

  Returns:
    (net, end_points) as `s3dg.s3dg_base`.

  Raises:
    ValueError: for inputs that are not 5-D float clips or an unknown
      final_endpoint (the message lists the valid ones).
  """
  return s3dg.s3dg_base(inputs, final_endpoint=final_endpoint, scope=scope,
                        **_i3d_settings())


def _i3d_settings():
  """What makes `s3dg` the I3D of [1]."""
  return dict(first_temporal_kernel_size=7,
              temporal_conv_startat='Conv2d_2c_3x3', gating_startat=None,
              min_depth=16, depth_multiplier=1.0, data_format='NDHWC')


# Kinetics-400 clips of 64 frames, as trained in [1] (upstream's tests too).
@registry.register('i3d', i3d_arg_scope, default_image_size=224,
                   num_classes=400, preprocessing='inception', num_frames=64)
def i3d(inputs,
        num_classes=1000,
        dropout_keep_prob=0.8,
        is_training=True,
        prediction_fn=slim.softmax,
        spatial_squeeze=True,
        reuse=None,
        scope='InceptionV1'):
  """I3D ([1]) for video classification; the default clip is 224x224.

  `i3d_base` followed by `s3dg.s3dg`'s head (average pool, dropout, 1x1x1
  logits convolution `Logits/Conv2d_0c_1x1`, mean over time).

  Args:
    inputs: a 5-D float tensor [batch, frames, height, width, channels].
    num_classes: number of classes (400 for Kinetics checkpoints); 0 or None
      returns the pooled features [batch, 1, 1, 1024] instead.
    dropout_keep_prob: keep probability of the dropout before the logits.
    is_training: Python bool or scalar bool tensor (batch norm, dropout).
    prediction_fn: turns the logits into 'Predictions'.
    spatial_squeeze: logits [batch, num_classes] if True, else
      [batch, 1, 1, num_classes].
    reuse: reuse the variables of `scope`.
    scope: variable scope, default 'InceptionV1'.

  Returns:
    (logits, end_points): end_points holds `i3d_base`'s, then 'Logits' and
    'Predictions'.
  """
  return s3dg.s3dg(inputs, num_classes, **_i3d_settings(),
                   dropout_keep_prob=dropout_keep_prob,
                   is_training=is_training, prediction_fn=prediction_fn,
                   spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)
