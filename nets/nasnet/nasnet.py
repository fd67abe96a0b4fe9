"""NASNet-A for CIFAR-10 and ImageNet (Mobile and Large).

[1] Barret Zoph, Vijay Vasudevan, Jonathon Shlens, Quoc V. Le. Learning
    Transferable Architectures for Scalable Image Recognition.
    arXiv:1707.07012

Drop-in for research/slim's `nets/nasnet/nasnet.py`: the same functions,
configurations, arg scopes, variable names (so slim's checkpoints restore
with a plain Saver) and end points. The networks have no enclosing scope:
variables are `conv0/weights`, `cell_stem_0/...`, `cell_0/comb_iter_0/left/
separable_5x5_1/depthwise_weights`, `reduction_cell_0/...`,
`aux_7/aux_logits/FC/weights`, `final_layer/FC/weights`.

`tf.contrib.training.HParams` is gone from TensorFlow 2; the configurations
are `HParams` objects of this module with the same attribute names and
`set_hparam`.

The network is a stem (ImageNet: a 3x3 stride-2 conv and two reduction
cells; CIFAR: a 3x3 conv), `num_cells` normal cells with a reduction cell
before each of `calc_reduction_layers(num_cells, num_reduction_layers)`
(filters times `filter_scaling_rate` each), an auxiliary head after the cell
before the second reduction (training only), then ReLU, global average
pooling, dropout and the fully connected `final_layer/FC`. Each cell reads
the two outputs before it (see `nasnet_utils`).

Typical use:

   from nets import slim
   from nets.nasnet import nasnet

   with slim.arg_scope(nasnet.nasnet_mobile_arg_scope()):
     logits, end_points = nasnet.build_nasnet_mobile(images, 1001,
                                                     is_training=False)

   # Features of a cell (e.g. for detection):
   with slim.arg_scope(nasnet.nasnet_large_arg_scope()):
     net, end_points = nasnet.build_nasnet_large(
         images, None, is_training=False, final_endpoint='Cell_11')

   # A changed configuration:
   config = nasnet.cifar_config()
   config.set_hparam('use_aux_head', 0)
   with slim.arg_scope(nasnet.nasnet_cifar_arg_scope()):
     logits, _ = nasnet.build_nasnet_cifar(images, 10, config=config)
"""

import collections
import copy
import math
import numbers

import tensorflow as tf
import tf_slim as slim

from nets import _common
from nets import _layers
from nets import registry
from nets.nasnet import nasnet_utils

arg_scope = slim.arg_scope

_NUM_STEM_CELLS = 2
_AUX_POOL_SIZE = 5
# Largest image side searched for the aux head's minimum input size.
_MAX_SEARCHED_SIZE = 1 << 16


class _UnknownHParamError(KeyError, ValueError):
  """An unknown hyperparameter: a KeyError as HParams raised, and a
  ValueError as slimnets' other bad arguments; prints as a sentence."""

  def __str__(self):
    return self.args[0]


class HParams(object):
  """Named hyperparameters, a stand-in for `tf.contrib.training.HParams`.

  Values are attributes (`config.num_cells`). `set_hparam` changes one
  under HParams' rules: the name must exist, and the value must fit the
  type of the value it replaces (a float takes ints, an int no floats, a
  bool only bools, a string only strings).

  Args:
    **values: the hyperparameters and their initial values.
  """

  def __init__(self, **values):
    self._types = {}
    for name, value in values.items():
      self.add_hparam(name, value)

  def add_hparam(self, name, value):
    """Adds hyperparameter `name`; raises ValueError if it exists."""
    if name in self._types or name.startswith('_') or hasattr(self, name):
      raise ValueError('hyperparameter name %r is already used' % (name,))
    self._types[name] = type(value)
    setattr(self, name, value)

  def set_hparam(self, name, value):
    """Sets hyperparameter `name` to `value`.

    Raises:
      KeyError (also a ValueError): unknown `name`, naming the known ones.
      ValueError: a value that does not fit the hyperparameter's type.
    """
    if name not in self._types:
      raise _UnknownHParamError(
          'unknown hyperparameter %r; known ones: %s' %
          (name, ', '.join(sorted(self._types))))
    setattr(self, name, _cast(name, self._types[name], value))

  def override_from_dict(self, values_dict):
    """Sets every (name, value) of `values_dict`; returns self."""
    for name, value in values_dict.items():
      self.set_hparam(name, value)
    return self

  def values(self):
    """A dict of the hyperparameters and their values."""
    return {name: getattr(self, name) for name in self._types}

  def get(self, key, default=None):
    return getattr(self, key) if key in self._types else default

  def __contains__(self, key):
    return key in self._types

  def __repr__(self):
    return 'HParams(%s)' % ', '.join(
        '%s=%r' % item for item in sorted(self.values().items()))


def _cast(name, param_type, value):
  """`value` as `param_type`, or ValueError when HParams would refuse it."""
  if isinstance(value, param_type) or param_type is type(None):
    return value
  refused = (
      (issubclass(param_type, (str, bytes)) and
       not isinstance(value, (str, bytes))) or
      issubclass(param_type, bool) != isinstance(value, bool) or
      (issubclass(param_type, numbers.Integral) and
       not isinstance(value, numbers.Integral)) or
      (issubclass(param_type, numbers.Number) and
       not isinstance(value, numbers.Number)))
  if refused:
    raise ValueError('hyperparameter %r is a %s; cannot set it to %r' %
                     (name, param_type.__name__, value))
  return param_type(value)


# Training notes (upstream's): CIFAR batch 32, learning rate 0.025 with a
# single cosine decay, aux loss weight 0.4, gradient norm clipped at 5;
# 937500 steps are 600 epochs at batch 32 (drop path ramps up over them).
def cifar_config():
  """NASNet-A 6 @ 768 for CIFAR-10 (18 cells, 32 filters)."""
  return HParams(
      stem_multiplier=3.0,
      drop_path_keep_prob=0.6,
      num_cells=18,
      use_aux_head=1,
      num_conv_filters=32,
      dense_dropout_keep_prob=1.0,
      filter_scaling_rate=2.0,
      num_reduction_layers=2,
      data_format='NHWC',
      skip_reduction_layer_input=0,
      total_training_steps=937500,
      use_bounded_activation=False,
  )


# Large: batch 16 per replica on 100 replicas, learning rate 0.015 * 100
# decayed by 0.97 every 2.4 epochs, aux weight 0.4, label smoothing 0.1,
# gradient norm clipped at 10.
def large_imagenet_config():
  """NASNet-A 6 @ 4032 for ImageNet at 331 (18 cells, 168 filters)."""
  return HParams(
      stem_multiplier=3.0,
      dense_dropout_keep_prob=0.5,
      num_cells=18,
      filter_scaling_rate=2.0,
      num_conv_filters=168,
      drop_path_keep_prob=0.7,
      use_aux_head=1,
      num_reduction_layers=2,
      data_format='NHWC',
      skip_reduction_layer_input=1,
      total_training_steps=250000,
      use_bounded_activation=False,
  )


# Mobile: batch 32 per replica on 50 replicas, learning rate 0.04 * 50
# decayed by 0.97 every 2.4 epochs, aux weight 0.4, label smoothing 0.1,
# gradient norm clipped at 10.
def mobile_imagenet_config():
  """NASNet-A 4 @ 1056 for ImageNet at 224 (12 cells, 44 filters)."""
  return HParams(
      stem_multiplier=1.0,
      dense_dropout_keep_prob=0.5,
      num_cells=12,
      filter_scaling_rate=2.0,
      drop_path_keep_prob=1.0,
      num_conv_filters=44,
      use_aux_head=1,
      num_reduction_layers=2,
      data_format='NHWC',
      skip_reduction_layer_input=0,
      total_training_steps=250000,
      use_bounded_activation=False,
  )


def _is_known_false(value):
  """Whether `value` (a bool or a bool tensor) is False before running."""
  if isinstance(value, (tf.Tensor, tf.Variable)):
    value = tf.get_static_value(value)
    return value is not None and not value
  return not value


def _update_hparams(hparams, is_training):
  """Turns drop path off when `is_training` is (statically) False."""
  if _is_known_false(is_training):
    hparams.set_hparam('drop_path_keep_prob', 1.0)


def _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon):
  """L2-regularized, fan-out He-initialized convs and FC without biases or
  activation (the cells place both), scaled fused batch norm; FC is 'FC'."""
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': True,
      'fused': True,
  }
  with slim.arg_scope(
      [_layers.fully_connected, _layers.conv2d, _layers.separable_conv2d],
      weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=slim.variance_scaling_initializer(mode='FAN_OUT')):
    with slim.arg_scope([_layers.fully_connected], activation_fn=None,
                        scope='FC'):
      with slim.arg_scope([_layers.conv2d, _layers.separable_conv2d],
                          activation_fn=None, biases_initializer=None):
        with slim.arg_scope([_layers.batch_norm], **batch_norm_params) as sc:
          return sc


def nasnet_cifar_arg_scope(weight_decay=5e-4,
                           batch_norm_decay=0.9,
                           batch_norm_epsilon=1e-5):
  """The arg scope of NASNet-A CIFAR.

  Args:
    weight_decay: L2 weight decay of the conv and FC weights.
    batch_norm_decay: decay of the batch norm moving averages.
    batch_norm_epsilon: added to the batch norm variance.

  Returns:
    An arg scope dict for `slim.arg_scope`.
  """
  return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_mobile_arg_scope(weight_decay=4e-5,
                            batch_norm_decay=0.9997,
                            batch_norm_epsilon=1e-3):
  """The arg scope of NASNet-A Mobile; see nasnet_cifar_arg_scope."""
  return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_large_arg_scope(weight_decay=5e-5,
                           batch_norm_decay=0.9997,
                           batch_norm_epsilon=1e-3):
  """The arg scope of NASNet-A Large; see nasnet_cifar_arg_scope."""
  return _nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def _activation(hparams):
  return tf.nn.relu6 if hparams.use_bounded_activation else tf.nn.relu


def _spatial(tensor, hparams):
  dims = tensor.shape.as_list()
  return dims[2:4] if hparams.data_format == 'NCHW' else dims[1:3]


def _build_aux_head(net, end_points, num_classes, hparams, scope):
  """The auxiliary classifier: end point 'AuxLogits' [batch, num_classes].

  5x5 stride-3 average pooling, a 1x1 conv to 128 (`proj`), a conv to 768
  over the whole remaining map (`Conv`), each with batch norm and the
  activation, then the fully connected `FC`.
  """
  activation = _activation(hparams)
  with tf.compat.v1.variable_scope(scope):
    aux_logits = tf.identity(net)
    with tf.compat.v1.variable_scope('aux_logits'):
      aux_logits = _layers.avg_pool2d(aux_logits, [5, 5], stride=3,
                                      padding='VALID')
      aux_logits = _layers.conv2d(aux_logits, 128, [1, 1], scope='proj')
      aux_logits = _layers.batch_norm(aux_logits, scope='aux_bn0')
      aux_logits = activation(aux_logits)
      aux_logits = _layers.conv2d(aux_logits, 768,
                                  _spatial(aux_logits, hparams),
                                  padding='VALID')
      aux_logits = _layers.batch_norm(aux_logits, scope='aux_bn1')
      aux_logits = activation(aux_logits)
      aux_logits = _layers.flatten(aux_logits)
      end_points['AuxLogits'] = _layers.fully_connected(aux_logits,
                                                        num_classes)


def _imagenet_stem(inputs, hparams, stem_cell, current_step=None):
  """3x3 stride-2 VALID conv `conv0` (+ `conv0_bn`) and two stride-2 cells
  `cell_stem_0`, `cell_stem_1` at filter scalings 1/rate**2 and 1/rate.

  Returns:
    (net, cell_outputs) with cell_outputs [None, conv0, stem 0, stem 1].
  """
  net = _layers.conv2d(inputs, int(32 * hparams.stem_multiplier), [3, 3],
                       stride=2, padding='VALID', scope='conv0')
  net = _layers.batch_norm(net, scope='conv0_bn')
  cell_outputs = [None, net]
  filter_scaling = 1.0 / hparams.filter_scaling_rate**_NUM_STEM_CELLS
  for cell_num in range(_NUM_STEM_CELLS):
    net = stem_cell(net, scope='cell_stem_%d' % cell_num,
                    filter_scaling=filter_scaling, stride=2,
                    prev_layer=cell_outputs[-2], cell_num=cell_num,
                    current_step=current_step)
    cell_outputs.append(net)
    filter_scaling *= hparams.filter_scaling_rate
  return net, cell_outputs


def _cifar_stem(inputs, hparams):
  """A 3x3 conv `l1_stem_3x3` (+ `l1_stem_bn`); returns (net, [None, net])."""
  net = _layers.conv2d(inputs,
                       int(hparams.num_conv_filters * hparams.stem_multiplier),
                       3, scope='l1_stem_3x3')
  net = _layers.batch_norm(net, scope='l1_stem_bn')
  return net, [None, net]


# One cell of the network after the stem: `prev` indexes the outputs list
# (stem outputs first) for the cell's prev_layer; `aux_scope` names the
# auxiliary head built after it, if any.
_Step = collections.namedtuple(
    '_Step', ['reduction', 'scope', 'end_point', 'stride', 'filter_scaling',
              'prev', 'aux_scope'])


def _cell_plan(hparams, stem_type, separate_reduction_cells):
  """The cells after the stem, in order, as `_Step`s.

  NASNet (`separate_reduction_cells`) puts a stride-2 reduction cell
  `reduction_cell_k` before normal cell `cell_n` at each reduction index;
  PNASNet runs `cell_n` itself at stride 2 there. `prev` reproduces
  upstream's choice of prev_layer (with skip_reduction_layer_input, the
  normal cell after a reduction reads the output before the reduction's
  input; PNASNet without it keeps the previous cell's choice).
  """
  reductions = nasnet_utils.calc_reduction_layers(
      hparams.num_cells, hparams.num_reduction_layers)
  aux_cell = reductions[1] - 1 if len(reductions) >= 2 else None
  skip = hparams.skip_reduction_layer_input
  count = 2 + (_NUM_STEM_CELLS if stem_type == 'imagenet' else 0)
  filter_scaling = 1.0
  prev = None
  steps = []
  for n in range(hparams.num_cells):
    reducing = n in reductions
    if reducing:
      filter_scaling *= hparams.filter_scaling_rate
    if separate_reduction_cells:
      if skip:
        prev = count - 2
      if reducing:
        k = reductions.index(n)
        steps.append(_Step(True, 'reduction_cell_%d' % k,
                           'Reduction_Cell_%d' % k, 2, filter_scaling,
                           count - 2, None))
        count += 1
      if not skip:
        prev = count - 2
    elif skip or not reducing:
      prev = count - 2
    if prev is None:
      raise ValueError(
          'config: cell_0 is a reduction (num_cells=%d, num_reduction_layers'
          '=%d) and skip_reduction_layer_input=0 leaves it no previous '
          'layer' % (hparams.num_cells, hparams.num_reduction_layers))
    stride = 2 if reducing and not separate_reduction_cells else 1
    steps.append(_Step(False, 'cell_%d' % n, 'Cell_%d' % n, stride,
                       filter_scaling, prev,
                       'aux_%d' % n if n == aux_cell else None))
    count += 1
  return steps


def _end_point_names(plan):
  return (['Stem'] + [step.end_point for step in plan] +
          ['global_pool', 'Logits', 'Predictions'])


def _is_flag(value):
  return value in (0, 1) and not isinstance(value, float)


def _is_positive_int(value):
  return (isinstance(value, numbers.Integral) and
          not isinstance(value, bool) and value > 0)


def _is_non_negative_int(value):
  return (isinstance(value, numbers.Integral) and
          not isinstance(value, bool) and value >= 0)


def _is_positive_number(value):
  return (isinstance(value, numbers.Real) and not isinstance(value, bool) and
          value > 0)


def _is_probability(value):
  return _is_positive_number(value) and value <= 1


# (hyperparameter, check, what it must be).
_HPARAM_RULES = (
    ('stem_multiplier', _is_positive_number, 'a positive number'),
    ('drop_path_keep_prob', _is_probability, 'in (0, 1]'),
    ('num_cells', _is_positive_int, 'a positive int'),
    ('use_aux_head', _is_flag, '0, 1, False or True'),
    ('num_conv_filters', _is_positive_int, 'a positive int'),
    ('dense_dropout_keep_prob', _is_probability, 'in (0, 1]'),
    ('filter_scaling_rate', _is_positive_number, 'a positive number'),
    ('num_reduction_layers', _is_non_negative_int, 'a non-negative int'),
    ('data_format', lambda value: value in ('NHWC', 'NCHW'),
     "'NHWC' or 'NCHW'"),
    ('skip_reduction_layer_input', _is_flag, '0, 1, False or True'),
    ('total_training_steps', _is_positive_number, 'a positive number'),
    ('use_bounded_activation', _is_flag, 'False or True'),
)


def _check_hparams(hparams, model_name):
  """Raises one line naming the first missing or bad hyperparameter."""
  missing = [name for name, _, _ in _HPARAM_RULES
             if not hasattr(hparams, name)]
  if missing:
    raise ValueError('%s: config lacks the hyperparameters %s' %
                     (model_name, ', '.join(missing)))
  for name, check, expected in _HPARAM_RULES:
    value = getattr(hparams, name)
    if not check(value):
      raise ValueError('%s: config.%s must be %s, got %r' %
                       (model_name, name, expected, value))


def _check_final_endpoint(final_endpoint, plan, num_classes, model_name):
  if final_endpoint is None:
    return
  names = _end_point_names(plan)
  if final_endpoint not in names:
    raise ValueError('%s: unknown final_endpoint %r; valid ones, in order: %s'
                     % (model_name, final_endpoint, ', '.join(names)))
  if final_endpoint in ('Logits', 'Predictions') and not num_classes:
    raise ValueError('%s: final_endpoint %r needs num_classes, got %r' %
                     (model_name, final_endpoint, num_classes))


def _stem_output_size(size, stem_type):
  return (size - 3) // 2 + 1 if stem_type == 'imagenet' else size


def _check_image_size(images, hparams, stem_type, model_name):
  """Static height and width (the cells compare sizes), at least the stem's
  3x3 VALID conv for ImageNet stems."""
  size = _spatial(images, hparams)
  if None in size:
    raise ValueError(
        "%s needs inputs of static height and width (its cells compare "
        "feature map sizes); inputs '%s' have shape %s" %
        (model_name, images.name, images.shape))
  if min(_stem_output_size(s, stem_type) for s in size) < 1:
    raise ValueError(
        "%s: inputs '%s' are %dx%d, smaller than the stem's 3x3 VALID "
        'convolution (minimum 3x3)' % ((model_name, images.name) + tuple(size)))


def _check_aux_input(aux_input, images, hparams, stem_type, halvings,
                     model_name):
  """The aux head's 5x5 VALID pooling needs a map of at least 5x5."""
  if min(_spatial(aux_input, hparams)) >= _AUX_POOL_SIZE:
    return

  def aux_size(size):
    size = _stem_output_size(size, stem_type)
    for _ in range(halvings):
      size = int(math.ceil(size / 2.0))
    return size

  minimum = next(s for s in range(1, _MAX_SEARCHED_SIZE)
                 if aux_size(s) >= _AUX_POOL_SIZE)
  raise ValueError(
      "%s: inputs '%s' of %dx%d leave the auxiliary head a %dx%d map, smaller "
      'than its 5x5 VALID pooling; the minimum input is %dx%d in training '
      '(or set config use_aux_head=0)' %
      ((model_name, images.name) + tuple(_spatial(images, hparams)) +
       tuple(_spatial(aux_input, hparams)) + (minimum, minimum)))


def _build_nasnet_base(images,
                       normal_cell,
                       reduction_cell,
                       num_classes,
                       hparams,
                       is_training,
                       stem_type,
                       final_endpoint=None,
                       current_step=None,
                       model_name='nasnet'):
  """Builds the stem, the cells of `_cell_plan` and the classifier.

  Args:
    images: [batch, height, width, 3] in `hparams.data_format`.
    normal_cell: a `NasNetABaseCell`.
    reduction_cell: a `NasNetABaseCell` for the reductions and the ImageNet
      stem (NASNet), or None: `normal_cell` at stride 2 (PNASNet).
    num_classes: logits size; falsy returns the global pool.
    hparams: the validated configuration.
    is_training: Python bool or scalar bool tensor.
    stem_type: 'imagenet' or 'cifar'.
    final_endpoint: stop after this end point, or None.
    current_step: drop path's step tensor, or None for the global step.
    model_name: for error messages.

  Returns:
    (net, end_points): see `build_nasnet_mobile`.
  """
  end_points = {}

  def reached(name, value):
    end_points[name] = value
    return name == final_endpoint

  plan = _cell_plan(hparams, stem_type, reduction_cell is not None)
  if stem_type == 'imagenet':
    net, cell_outputs = _imagenet_stem(images, hparams,
                                       reduction_cell or normal_cell,
                                       current_step)
  elif stem_type == 'cifar':
    net, cell_outputs = _cifar_stem(images, hparams)
  else:
    raise ValueError("stem_type must be 'imagenet' or 'cifar', got %r" %
                     (stem_type,))
  if reached('Stem', net):
    return net, end_points
  with_aux = bool(hparams.use_aux_head and num_classes and
                  not _is_known_false(is_training))
  activation = _activation(hparams)
  true_cell_num = len(cell_outputs) - 2
  halvings = true_cell_num
  for step in plan:
    cell = reduction_cell if step.reduction else normal_cell
    net = cell(net, scope=step.scope, filter_scaling=step.filter_scaling,
               stride=step.stride, prev_layer=cell_outputs[step.prev],
               cell_num=true_cell_num, current_step=current_step)
    true_cell_num += 1
    halvings += step.stride == 2
    cell_outputs.append(net)
    if reached(step.end_point, net):
      return net, end_points
    if step.aux_scope and with_aux:
      _check_aux_input(net, images, hparams, stem_type, halvings, model_name)
      _build_aux_head(activation(net), end_points, num_classes, hparams,
                      scope=step.aux_scope)
  with tf.compat.v1.variable_scope('final_layer'):
    net = nasnet_utils.global_avg_pool(activation(net))
    if reached('global_pool', net) or not num_classes:
      return net, end_points
    net = _layers.dropout(net, hparams.dense_dropout_keep_prob,
                          scope='dropout')
    logits = _layers.fully_connected(net, num_classes)
    if reached('Logits', logits):
      return logits, end_points
    predictions = tf.nn.softmax(logits, name='predictions')
    if reached('Predictions', predictions):
      return predictions, end_points
  return logits, end_points


def _build_model(images, num_classes, is_training, final_endpoint, config,
                 default_config, current_step, normal_cell_class,
                 reduction_cell_class, stem_type, model_name):
  """Checks the arguments, then builds under the data_format and
  is_training arg scopes (shared by NASNet and PNASNet)."""
  hparams = default_config() if config is None else copy.deepcopy(config)
  _check_hparams(hparams, model_name)
  _common.validate_num_classes(num_classes)
  _common.validate_is_training(is_training)
  if _common.scoped_data_format() == 'NCHW':
    # validate_inputs transposes the images for the scoped layout.
    hparams.set_hparam('data_format', 'NCHW')
    images = _common.validate_inputs(images)
  else:
    images = _common.validate_inputs(images)
    if hparams.data_format == 'NCHW':
      images = tf.transpose(images, [0, 3, 1, 2])
  _check_image_size(images, hparams, stem_type, model_name)
  plan = _cell_plan(hparams, stem_type, reduction_cell_class is not None)
  _check_final_endpoint(final_endpoint, plan, num_classes, model_name)
  _update_hparams(hparams, is_training)
  # Upstream's count for drop path: the normal cells, two reduction cells
  # (NASNet, whatever num_reduction_layers is) and the ImageNet stem cells.
  total_num_cells = hparams.num_cells
  if reduction_cell_class is not None:
    total_num_cells += 2
  if stem_type == 'imagenet':
    total_num_cells += _NUM_STEM_CELLS
  cell_args = (hparams.num_conv_filters, hparams.drop_path_keep_prob,
               total_num_cells, hparams.total_training_steps,
               bool(hparams.use_bounded_activation))
  normal_cell = normal_cell_class(*cell_args)
  reduction_cell = (reduction_cell_class(*cell_args)
                    if reduction_cell_class is not None else None)
  with slim.arg_scope([_layers.dropout, nasnet_utils.drop_path,
                       _layers.batch_norm], is_training=is_training):
    with slim.arg_scope([_layers.avg_pool2d, _layers.max_pool2d,
                         _layers.conv2d, _layers.batch_norm,
                         _layers.separable_conv2d,
                         nasnet_utils.factorized_reduction,
                         nasnet_utils.global_avg_pool,
                         nasnet_utils.get_channel_index,
                         nasnet_utils.get_channel_dim],
                        data_format=hparams.data_format):
      return _build_nasnet_base(
          images, normal_cell=normal_cell, reduction_cell=reduction_cell,
          num_classes=num_classes, hparams=hparams, is_training=is_training,
          stem_type=stem_type, final_endpoint=final_endpoint,
          current_step=current_step, model_name=model_name)


@registry.register('nasnet', nasnet_cifar_arg_scope, default_image_size=32,
                   num_classes=10, preprocessing='cifarnet',
                   name='nasnet_cifar')
def build_nasnet_cifar(images, num_classes,
                       is_training=True,
                       config=None,
                       current_step=None):
  """NASNet-A 6 @ 768 for CIFAR-10 (default `cifar_config()`, 32x32 images).

  The stem is one 3x3 conv at the input's resolution (no stem cells), and
  there is no final_endpoint argument, as upstream. See build_nasnet_mobile
  for the other arguments, the return values and the errors.
  """
  return _build_model(images, num_classes, is_training, None, config,
                      cifar_config, current_step,
                      nasnet_utils.NasNetANormalCell,
                      nasnet_utils.NasNetAReductionCell, 'cifar',
                      'build_nasnet_cifar')


# The aux head's 5x5 pooling needs 5x5 maps at stride 16: 67x67 images.
@registry.register('nasnet', nasnet_mobile_arg_scope, default_image_size=224,
                   num_classes=1001, preprocessing='inception',
                   name='nasnet_mobile', min_image_size=67)
def build_nasnet_mobile(images, num_classes,
                        is_training=True,
                        final_endpoint=None,
                        config=None,
                        current_step=None):
  """NASNet-A Mobile (4 @ 1056) for ImageNet, 224x224 images.

  Args:
    images: [batch, height, width, 3] float images of static height and
      width (at least 67x67 in training with the aux head).
    num_classes: logits size (1001 for slim's checkpoints); None or 0
      returns the global pool [batch, channels].
    is_training: batch norm, dropout, drop path and the aux head (Python
      bool or scalar bool tensor).
    final_endpoint: return the end point of that name instead (one of
      'Stem', 'Cell_N', 'Reduction_Cell_K' in network order, 'global_pool',
      'Logits', 'Predictions'), or None.
    config: an `HParams` like `mobile_imagenet_config()` (deep-copied), or
      None for that one.
    current_step: step tensor for drop path's schedule, default the global
      step.

  Returns:
    net: logits [batch, num_classes], the global pool, or the final end
      point.
    end_points: dict, in network order: 'Stem', 'Cell_N' (with
      'Reduction_Cell_K' before the cells they precede), 'AuxLogits'
      (training with use_aux_head), 'global_pool', 'Logits', 'Predictions'.

  Raises:
    ValueError / TypeError: bad images, num_classes, is_training, config
      values or final_endpoint; images too small for the stem or the aux
      head.
  """
  return _build_model(images, num_classes, is_training, final_endpoint,
                      config, mobile_imagenet_config, current_step,
                      nasnet_utils.NasNetANormalCell,
                      nasnet_utils.NasNetAReductionCell, 'imagenet',
                      'build_nasnet_mobile')


@registry.register('nasnet', nasnet_large_arg_scope, default_image_size=331,
                   num_classes=1001, preprocessing='inception',
                   name='nasnet_large', min_image_size=67)
def build_nasnet_large(images, num_classes,
                       is_training=True,
                       final_endpoint=None,
                       config=None,
                       current_step=None):
  """NASNet-A Large (6 @ 4032) for ImageNet, 331x331 images, default
  `large_imagenet_config()`. See build_nasnet_mobile."""
  return _build_model(images, num_classes, is_training, final_endpoint,
                      config, large_imagenet_config, current_step,
                      nasnet_utils.NasNetANormalCell,
                      nasnet_utils.NasNetAReductionCell, 'imagenet',
                      'build_nasnet_large')
