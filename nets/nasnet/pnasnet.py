"""PNASNet-5 for ImageNet (Mobile and Large).

[1] Chenxi Liu, Barret Zoph, Maxim Neumann, Jonathon Shlens, Wei Hua,
    Li-Jia Li, Li Fei-Fei, Alan Yuille, Jonathan Huang, Kevin Murphy.
    Progressive Neural Architecture Search. arXiv:1712.00559

Drop-in for research/slim's `nets/nasnet/pnasnet.py`: the same functions,
configurations, arg scopes, variable names and end points. PNASNet has one
cell, `PNasNetNormalCell`, run at stride 2 for the two stem cells
(`cell_stem_0`, `cell_stem_1`) and at the reduction indices (as `cell_n`
itself: there are no 'Reduction_Cell' end points); the rest is NASNet's
(`nasnet._build_nasnet_base`).

Typical use:

   from nets import slim
   from nets.nasnet import pnasnet

   with slim.arg_scope(pnasnet.pnasnet_large_arg_scope()):
     logits, end_points = pnasnet.build_pnasnet_large(images, 1001,
                                                      is_training=False)
"""

from nets import registry
from nets.nasnet import nasnet
from nets.nasnet import nasnet_utils

arg_scope = nasnet.arg_scope

# PNASNet-5 ([1], figure 1): one row per combination (left input, left
# operation, right input, right operation); states 0 (projected input),
# 1 (matched previous output), 2 + k (combination k). Every combination's
# output is concatenated.
_PNASNET_5 = nasnet_utils.CellSpec(
    combinations=(
        (1, 'separable_5x5_2', 1, 'max_pool_3x3'),
        (0, 'separable_7x7_2', 0, 'max_pool_3x3'),
        (0, 'separable_5x5_2', 0, 'separable_3x3_2'),
        (4, 'separable_3x3_2', 0, 'max_pool_3x3'),
        (1, 'separable_3x3_2', 0, 'none'),
    ),
    concatenated=(2, 3, 4, 5, 6))


def large_imagenet_config():
  """PNASNet-5 Large for ImageNet at 331 (12 cells, 216 filters)."""
  return nasnet.HParams(
      stem_multiplier=3.0,
      dense_dropout_keep_prob=0.5,
      num_cells=12,
      filter_scaling_rate=2.0,
      num_conv_filters=216,
      drop_path_keep_prob=0.6,
      use_aux_head=1,
      num_reduction_layers=2,
      data_format='NHWC',
      skip_reduction_layer_input=1,
      total_training_steps=250000,
      use_bounded_activation=False,
  )


def mobile_imagenet_config():
  """PNASNet-5 Mobile for ImageNet at 224 (9 cells, 54 filters)."""
  return nasnet.HParams(
      stem_multiplier=1.0,
      dense_dropout_keep_prob=0.5,
      num_cells=9,
      filter_scaling_rate=2.0,
      num_conv_filters=54,
      drop_path_keep_prob=1.0,
      use_aux_head=1,
      num_reduction_layers=2,
      data_format='NHWC',
      skip_reduction_layer_input=1,
      total_training_steps=250000,
      use_bounded_activation=False,
  )


def pnasnet_large_arg_scope(weight_decay=4e-5, batch_norm_decay=0.9997,
                            batch_norm_epsilon=0.001):
  """The arg scope of PNASNet Large: NASNet Large's with these defaults."""
  return nasnet.nasnet_large_arg_scope(weight_decay, batch_norm_decay,
                                       batch_norm_epsilon)


def pnasnet_mobile_arg_scope(weight_decay=4e-5,
                             batch_norm_decay=0.9997,
                             batch_norm_epsilon=0.001):
  """The arg scope of PNASNet Mobile: NASNet Mobile's."""
  return nasnet.nasnet_mobile_arg_scope(weight_decay, batch_norm_decay,
                                        batch_norm_epsilon)


class PNasNetNormalCell(nasnet_utils.NasNetABaseCell):
  """The PNASNet-5 cell ([1], figure 1); see NasNetABaseCell."""

  def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
               total_training_steps, use_bounded_activation=False):
    operations, used, indices = _PNASNET_5.base_cell_arguments()
    super(PNasNetNormalCell, self).__init__(
        num_conv_filters, operations, used, indices, drop_path_keep_prob,
        total_num_cells, total_training_steps, use_bounded_activation)


def _build_pnasnet(images, num_classes, is_training, final_endpoint, config,
                   default_config, current_step, model_name):
  return nasnet._build_model(  # pylint: disable=protected-access
      images, num_classes, is_training, final_endpoint, config,
      default_config, current_step, PNasNetNormalCell, None, 'imagenet',
      model_name)


# The aux head's 5x5 pooling needs 5x5 maps at stride 16: 67x67 images.
@registry.register('pnasnet', pnasnet_mobile_arg_scope,
                   default_image_size=224, num_classes=1001,
                   preprocessing='inception', name='pnasnet_mobile',
                   min_image_size=67)
def build_pnasnet_mobile(images,
                         num_classes,
                         is_training=True,
                         final_endpoint=None,
                         config=None,
                         current_step=None):
  """PNASNet-5 Mobile for ImageNet, 224x224 images, default
  `mobile_imagenet_config()`.

  As `nasnet.build_nasnet_mobile` (same arguments, return values and
  errors); the end points are 'Stem', 'Cell_0'.. (no 'Reduction_Cell'),
  'AuxLogits' (training), 'global_pool', 'Logits', 'Predictions'.
  `current_step` (not upstream's) sets drop path's step tensor.
  """
  return _build_pnasnet(images, num_classes, is_training, final_endpoint,
                        config, mobile_imagenet_config, current_step,
                        'build_pnasnet_mobile')


@registry.register('pnasnet', pnasnet_large_arg_scope,
                   default_image_size=331, num_classes=1001,
                   preprocessing='inception', name='pnasnet_large',
                   min_image_size=67)
def build_pnasnet_large(images,
                        num_classes,
                        is_training=True,
                        final_endpoint=None,
                        config=None,
                        current_step=None):
  """PNASNet-5 Large for ImageNet, 331x331 images, default
  `large_imagenet_config()`. See build_pnasnet_mobile."""
  return _build_pnasnet(images, num_classes, is_training, final_endpoint,
                        config, large_imagenet_config, current_step,
                        'build_pnasnet_large')
