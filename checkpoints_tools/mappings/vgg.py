"""Mapping tables of the VGG family (`nets.vgg`).

[1] Karen Simonyan, Andrew Zisserman. Very Deep Convolutional Networks for
    Large-Scale Image Recognition. arXiv:1409.1556

Derived from the configuration table of `nets.vgg` (`_REPEATS`: the 3x3
convolutions per block), so every configuration comes from the same data
that builds it:

- slim naming of vgg_a, vgg_16, vgg_19;
- vgg_16, vgg_19 <-> tf_keras.applications VGG16, VGG19 (`.h5`, and Keras
  3 `.weights.h5`);
- vgg_a, vgg_16, vgg_19 <-> torchvision vgg11, vgg16, vgg19 (configuration
  A is torchvision's vgg11).

  slim (vgg_16/)          Keras               torchvision
  conv<b>/conv<b>_<i>     block<b>_conv<i>    features.<k> (k counts the
                                              Sequential's conv, ReLU and
                                              pool modules)
  fc6 (7x7 VALID conv)    fc1 (Dense after    classifier.0 (Linear after
                          Flatten)            flatten)
  fc7, fc8 (1x1 convs)    fc2, predictions    classifier.3, classifier.6

The fc6 kernel is the same numbers in another order: Keras flattens the
7x7x512 map channels-last, torch channels-first (`flatten_dense_7x7`,
`flatten_linear_7x7`). All three have biases on every layer and no batch
norm; the networks are the same at 224x224 (torchvision's adaptive 7x7
average pool is then the identity), so no variant is needed. The weights
expect different inputs: slim's 'vgg' (RGB, mean subtracted), Keras'
'caffe' (BGR, mean subtracted), torchvision's 'torch' ([0, 1], normalised).

Typical use:

   from checkpoints_tools import mappings
   table = mappings.get_table('vgg_16', 'torch')
   table.by_slim['vgg_16/fc6/weights']  # Row(source='classifier.0.weight',
                                        #     transform='flatten_linear_7x7')
"""

import functools

from checkpoints_tools.mappings import Table
from checkpoints_tools.mappings import _rows

from nets import vgg  # pylint: disable=g-bad-import-order

_REPEATS = vgg._REPEATS  # pylint: disable=protected-access
_DEPTHS = vgg._BLOCK_DEPTHS  # pylint: disable=protected-access
_FC6 = vgg._FC6_KERNEL  # pylint: disable=protected-access
_FC_DEPTH = 4096
_KERAS = {'vgg_16': 'VGG16', 'vgg_19': 'VGG19'}
_TORCHVISION = {'vgg_a': 'vgg11', 'vgg_16': 'vgg16', 'vgg_19': 'vgg19'}


def _convs(model):
  """Yields (slim scope, block, index in block, in depth, out depth)."""
  depth_in = 3
  for block, (times, depth) in enumerate(zip(_REPEATS[model], _DEPTHS), 1):
    for i in range(1, times + 1):
      yield ('%s/conv%d/conv%d_%d' % (model, block, block, i), block, i,
             depth_in, depth)
      depth_in = depth


def _fc_layers(model, num_classes):
  """Yields (slim scope, kernel shape) of fc6, fc7 and fc8 (with classes)."""
  yield model + '/fc6', (_FC6, _FC6, _DEPTHS[-1], _FC_DEPTH)
  yield model + '/fc7', (1, 1, _FC_DEPTH, _FC_DEPTH)
  if num_classes:
    yield model + '/fc8', (1, 1, _FC_DEPTH, num_classes)


def _spec(model, num_classes):
  """[(slim name, shape)] of `model` in the graph's creation order."""
  out = []
  for scope, _, _, depth_in, depth in _convs(model):
    out += [(scope + '/weights', (3, 3, depth_in, depth)),
            (scope + '/biases', (depth,))]
  for scope, shape in _fc_layers(model, num_classes):
    out += [(scope + '/weights', shape), (scope + '/biases', shape[-1:])]
  return out


def _head(model):
  return (model + '/fc8/weights', model + '/fc8/biases')


def _keras_table(model):
  rows = _rows.KerasRows()
  for scope, block, i, _, _ in _convs(model):
    rows.conv('block%d_conv%d' % (block, i), scope, bias=True)
  transforms = ('flatten_dense_%dx%d' % (_FC6, _FC6), 'conv1x1_dense',
                'conv1x1_dense')
  for layer, (scope, _), transform in zip(
      ('fc1', 'fc2', 'predictions'), _fc_layers(model, 1000), transforms):
    rows.conv(layer, scope, bias=True, transform=transform,
              classes=layer == 'predictions')
  return Table(
      model, 'keras', rows.rows, head=_head(model),
      source_model='tf_keras.applications.%s' % _KERAS[model],
      notes=('the same network as slim at 224x224 (fc6 is Keras\' Flatten '
             '+ Dense fc1, the kernel reshaped)',
             '1000 classes, no background class; "caffe" preprocessing'))


def _torchvision_table(model):
  rows = _rows.TorchRows()
  index = 0
  for scope, _, i, _, _ in _convs(model):
    # A block's convs (each with its ReLU) follow the previous block's pool.
    if i == 1 and index:
      index += 1
    rows.conv('features.%d' % index, scope, bias=True)
    index += 2
  transforms = ('flatten_linear_%dx%d' % (_FC6, _FC6), 'conv1x1_linear',
                'conv1x1_linear')
  for key, (scope, _), transform in zip(
      ('classifier.0', 'classifier.3', 'classifier.6'),
      _fc_layers(model, 1000), transforms):
    rows.conv(key, scope, bias=True, transform=transform,
              classes=key == 'classifier.6')
  return Table(
      model, 'torch', rows.rows, head=_head(model),
      source_model='torchvision.models.%s' % _TORCHVISION[model],
      notes=('the same network as slim at 224x224 (torchvision\'s adaptive '
             '7x7 average pool is the identity there; fc6 is its flatten + '
             'Linear classifier.0, the kernel transposed)',
             '1000 classes, no background class; "torch" preprocessing'))


# --- registration ------------------------------------------------------------

SPECS = {}
TABLES = {}


def _register():
  for model in _REPEATS:
    SPECS[model] = functools.partial(_spec, model)
    TABLES[(model, 'slim')] = functools.partial(
        _rows.slim_table, model, SPECS[model], _head(model))
    TABLES[(model, 'torch')] = functools.partial(_torchvision_table, model)
    if model in _KERAS:
      TABLES[(model, 'keras')] = functools.partial(_keras_table, model)


_register()
