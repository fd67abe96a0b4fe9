"""Keras 3 `.weights.h5` names, derived by position from the Keras tables.

Keras 3 `model.save_weights('m.weights.h5')` does not store layer names:
each layer with weights is a group `layers/<class>[_k]/vars` holding its
weights as datasets `0`, `1`, ... in the layer's weight order, where
`<class>` is the snake-case class name (`conv2d`, `batch_normalization`,
`separable_conv2d`, `depthwise_conv2d`, `dense`) and k counts the model's
earlier layers of the same class in `model.layers` order (k = 0: no
suffix). The tf_keras tables (`mappings/resnet.py`, `xception.py`) already
list their rows in `model.layers` order, layer by layer, weights in order,
so the Keras 3 name of each row follows from its position and from its
layer's class, which `keras_class` reads off the row's weight names:

  conv1_conv/kernel, conv1_conv/bias          -> layers/conv2d/vars/0, 1
  conv2_block1_preact_bn/{gamma,beta,...}     -> layers/batch_normalization/
                                                 vars/0..3
  predictions/kernel (conv1x1_dense), /bias   -> layers/dense/vars/0, 1

Only the tables of models Keras 3 ships (`tf_keras.applications.*`:
ResNet50V2/101V2/152V2, ResNet50/101/152, Xception) get a Keras 3 table.

Typical use:

   from checkpoints_tools import mappings
   table = mappings.get_table('resnet_v2_50', 'keras3')
   table.rows[0]  # Row(slim='resnet_v2_50/conv1/weights',
                  #     source='layers/conv2d/vars/0', ...)
"""

from checkpoints_tools.mappings import Row
from checkpoints_tools.mappings import Table

_BN = ('gamma', 'beta', 'moving_mean', 'moving_variance')


def keras_class(layer, weights, transform):
  """The snake-case Keras class name of a layer, from its weights.

  Args:
    layer: the layer's name (for the error message).
    weights: its weight names in order, e.g. ('kernel', 'bias').
    transform: the transform of its first row: Dense kernels are the ones
      stored through 'conv1x1_dense', 'flatten_dense_<h>x<w>' or 'dense'.

  Returns:
    'conv2d', 'dense', 'batch_normalization', 'separable_conv2d' or
    'depthwise_conv2d'.

  Raises:
    ValueError: weights of no known class (one line naming the layer).
  """
  weights = tuple(weights)
  # Every class but batch norm may end with a bias.
  body = weights[:-1] if weights[-1:] == ('bias',) else weights
  # BatchNormalization(scale=False) (Inception) has no gamma.
  if weights in (_BN, _BN[1:]):
    return 'batch_normalization'
  if body == ('kernel',):
    # Dense kernels are stored as slim convs: 1x1, or the flattened map's.
    return 'dense' if transform.startswith(
        ('conv1x1_dense', 'flatten_dense', 'dense')) else 'conv2d'
  if body == ('depthwise_kernel', 'pointwise_kernel'):
    return 'separable_conv2d'
  if body == ('depthwise_kernel',):
    return 'depthwise_conv2d'
  raise ValueError('cannot tell the Keras 3 class of layer %s (weights %s)'
                   % (layer, ', '.join(weights)))


def keras3_names(rows):
  """{Keras layer/weight name: Keras 3 dataset name} of Keras table rows.

  Args:
    rows: `Row`s of a Keras table, in `model.layers` order, the weights of
      each layer together and in the layer's weight order.

  Raises:
    ValueError: a layer whose rows are not together, or of no known class.
  """
  layers = []  # [(layer, [weight names], first transform)]
  for row in rows:
    layer, weight = row.source.rsplit('/', 1)
    if layers and layers[-1][0] == layer:
      layers[-1][1].append(weight)
    elif any(l == layer for l, _, _ in layers):
      raise ValueError('Keras table rows of layer %s are not together' %
                       layer)
    else:
      layers.append((layer, [weight], row.transform))
  counts = {}
  names = {}
  for layer, weights, transform in layers:
    cls = keras_class(layer, weights, transform)
    k = counts.get(cls, 0)
    counts[cls] = k + 1
    group = 'layers/%s%s/vars' % (cls, '_%d' % k if k else '')
    for i, weight in enumerate(weights):
      names['%s/%s' % (layer, weight)] = '%s/%d' % (group, i)
  return names


def has_keras3(table):
  """Whether Keras 3 ships the source model of the Keras `table`."""
  return (table.source_model or '').startswith('tf_keras.applications.')


def keras3_table(table):
  """The Keras 3 table of the Keras (tf_keras) `table`: same rows, renamed."""
  names = keras3_names(table.rows)
  rows = [Row(r.slim, names[r.source], r.transform, r.classes)
          for r in table.rows]
  return Table(
      table.model, 'keras3', rows, head=table.head, variant=table.variant,
      source_model=table.source_model.replace('tf_keras.', 'keras.', 1),
      bn_epsilon=table.bn_epsilon, source_kwargs=table.source_kwargs,
      optional=table.optional,
      notes=table.notes + (
          'Keras 3 .weights.h5 names layers by class and count '
          '(layers/conv2d_3/vars/0): matched by position in model.layers '
          'order, derived from the tf_keras table',))
