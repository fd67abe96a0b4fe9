"""Mapping tables between slim variable names and other frameworks' keys.

A `Table` is data: one `Row(slim, source, transform, classes)` per tensor,
derived by the family modules (`mappings/<family>.py`) from the same block
specification that builds the network, so every depth variant comes for
free. `transform` names a member of the closed set in
`checkpoints_tools.transforms`; `classes` marks the logits rows, whose last
slim axis is the class axis (see the converter's class-count handling). The
same table converts in both directions; a key that is not in the table, or a
table row without a key, is an error. The rows of the optional head (the
logits) may be absent together, for feature-extractor checkpoints.

Namings:
  slim    slim variable names (slim checkpoints, .npz).
  torch   PyTorch state-dict names (.safetensors, .pt): torchvision's or
          timm's for the models (and variants) ported from them, else the
          mechanical "slim-torch" naming (see `slim_torch_key`).
  keras   Keras layer/weight names (.h5).
  keras3  Keras 3 `.weights.h5` names (`layers/conv2d_3/vars/0`), derived by
          position from the keras tables (`mappings/keras3.py`).
  paddle  paddle.vision names (.pdparams).

Typical use:

   from checkpoints_tools import mappings
   table = mappings.get_table('resnet_v2_50', 'keras')
   for row in table.rows:
     print(row.slim, '<-', row.source, row.transform)
"""

import collections
import functools
import importlib
import re

NAMINGS = ('slim', 'torch', 'keras', 'keras3', 'paddle')
_FAMILY_MODULES = ('checkpoints_tools.mappings.resnet',
                   'checkpoints_tools.mappings.xception',
                   'checkpoints_tools.mappings.vgg',
                   'checkpoints_tools.mappings.mobilenet_v1',
                   'checkpoints_tools.mappings.mobilenet',
                   'checkpoints_tools.mappings.inception',
                   'checkpoints_tools.mappings.inception_resnet_v2',
                   'checkpoints_tools.mappings.inception_v4')

Row = collections.namedtuple('Row', ['slim', 'source', 'transform', 'classes'])


class Table(object):
  """The mapping of one model to one naming.

  Attributes:
    model: the registered model name, e.g. 'resnet_v2_50'.
    naming: one of NAMINGS.
    rows: list of `Row`s, in the source framework's order (Keras loads .h5
      weights by layer order).
    head: the slim names of the optional head rows (logits).
    optional: the slim names of other rows that may be absent together
      (slim Inception's auxiliary classifier, which Keras' lacks).
    variant: None, or the name of the network variant (a builder in
      `checkpoints_tools.variants`) that reproduces the source framework's
      model exactly when the registered model does not.
    source_model: the source framework's model, e.g.
      'tf_keras.applications.ResNet50V2'.
    source_kwargs: the keyword arguments that build it besides its class
      count (Keras MobileNet's {'alpha': 0.5}), {} when none.
    bn_epsilon: the source's batch-norm epsilon, or None.
    notes: what else to know, one string per fact.
    positional: prefixes of layers the source framework names by creation
      count (Keras' unnamed `conv2d_7`): `canonical` renames them by their
      position in the file.
  """

  def __init__(self, model, naming, rows, head=(), variant=None,
               source_model=None, bn_epsilon=None, notes=(), positional=(),
               source_kwargs=None, optional=()):
    self.model = model
    self.naming = naming
    self.rows = list(rows)
    self.head = frozenset(head)
    self.optional = frozenset(optional)
    self.variant = variant
    self.source_model = source_model
    self.source_kwargs = dict(source_kwargs or {})
    self.bn_epsilon = bn_epsilon
    self.notes = tuple(notes)
    self.positional = tuple(positional)
    self.by_slim = {}
    self.by_source = {}
    for row in self.rows:
      if row.slim in self.by_slim or row.source in self.by_source:
        raise ValueError('table %s/%s maps %s or %s twice' %
                         (model, naming, row.slim, row.source))
      self.by_slim[row.slim] = row
      self.by_source[row.source] = row

  def canonical(self, keys):
    """Renames the layers named by creation count to the table's names.

    Keras numbers unnamed layers per process (`conv2d_94` when 94 Conv2Ds
    were made before), so only the numbers' order is the model's.

    Args:
      keys: {name: original key}.

    Returns:
      {table name: original key}: for each prefix P of `positional`, the
      layers named `P` or `P_<n>` become `P`, `P_1`, `P_2`, ... in the
      order of their numbers (`P` is 0), whatever the numbers were. Other
      keys are unchanged; `keys` itself without `positional`.
    """
    if not self.positional:
      return keys
    pattern = re.compile(r'^(%s)(?:_(\d+))?/' % '|'.join(
        re.escape(p) for p in self.positional))
    numbers = {}  # prefix -> {number in the file}
    for name in keys:
      match = pattern.match(name)
      if match:
        numbers.setdefault(match.group(1), set()).add(
            int(match.group(2) or 0))
    rank = {prefix: {n: k for k, n in enumerate(sorted(found))}
            for prefix, found in numbers.items()}
    renamed = {}
    for name, original in keys.items():
      match = pattern.match(name)
      if match:
        prefix = match.group(1)
        k = rank[prefix][int(match.group(2) or 0)]
        name = '%s%s/%s' % (prefix, '_%d' % k if k else '',
                            name[match.end():])
      renamed[name] = original
    return renamed

  def head_sources(self):
    return self._sources(self.head)

  def _sources(self, slim_names):
    return {self.by_slim[name].source for name in slim_names}

  def compare(self, keys):
    """How `keys` (source names) differ from the table.

    Returns:
      (rows, unexpected, missing): the rows to use (all of them, but for
      the head and the optional rows when none of their keys is present),
      the sorted keys that are not in the table, and the sources of `rows`
      that are not in `keys`.
    """
    keys = set(keys)
    unexpected = sorted(keys - set(self.by_source))
    rows = self.rows
    for group in (self.head, self.optional):
      if not keys & self._sources(group):
        rows = [r for r in rows if r.slim not in group]
    missing = [r.source for r in rows if r.source not in keys]
    return rows, unexpected, missing

  def match(self, keys):
    """Checks `keys` (source names) against the table.

    Returns:
      The rows to use (see `compare`).

    Raises:
      ValueError: one line naming the unexpected and the missing keys.
    """
    rows, unexpected, missing = self.compare(keys)
    if unexpected or missing:
      parts = []
      if unexpected:
        parts.append('%d unexpected tensor(s) for %s (%s naming): %s' % (
            len(unexpected), self.model, self.naming, few_names(unexpected)))
      if missing:
        parts.append('%d missing: %s' % (len(missing), few_names(missing)))
      raise ValueError('; '.join(parts))
    return rows


def few_names(names, count=4):
  """'a, b, c, ... (N more)': the first `count` of `names`, and how many."""
  shown = ', '.join(names[:count])
  return shown + (', ... (%d more)' % (len(names) - count)
                  if len(names) > count else '')


@functools.lru_cache(maxsize=None)
def _builders():
  """{(model, naming): table builder} of every family module."""
  builders = {}
  for name in _FAMILY_MODULES:
    builders.update(importlib.import_module(name).TABLES)
  # Keras 3 tables come from the Keras ones of the models Keras 3 ships
  # (mappings/keras3.py).
  from checkpoints_tools.mappings import keras3  # pylint: disable=g-import-not-at-top
  for (model, naming), builder in list(builders.items()):
    if naming == 'keras' and keras3.has_keras3(builder()):
      builders[(model, 'keras3')] = functools.partial(_keras3_table, builder)
  return builders


def _keras3_table(keras_builder):
  from checkpoints_tools.mappings import keras3  # pylint: disable=g-import-not-at-top
  return keras3.keras3_table(keras_builder())


def models(naming=None):
  """Names of the models that have a table (in `naming`, default any)."""
  return sorted({m for m, n in _builders() if naming in (None, n)})


# The input convention (a `slimnets.preprocessing.CONVENTIONS` name) that the
# weights of each source framework's models expect, by `Table.source_model`.
# Slim-named and slim-torch files expect their registered model's.
_SOURCE_PREPROCESSING = (
    (r'^(tf_)?keras\.applications\.ResNet\d+V2$', 'tf'),
    (r'^(tf_)?keras\.applications\.ResNet\d+$', 'caffe'),
    (r'^(tf_)?keras\.applications\.Xception$', 'tf'),
    (r'^(tf_)?keras\.applications\.VGG\d+$', 'caffe'),
    (r'^(tf_)?keras\.applications\.MobileNet(V2|V3Small|V3Large)?$', 'tf'),
    (r'^(tf_)?keras\.applications\.Inception(V3|ResNetV2)$', 'tf'),
    # keras-applications' ResNeXt preprocess_input uses mode='torch'.
    (r'^keras_applications\.resnext\.', 'torch'),
    (r'^torchvision\.models\.', 'torch'),
    # timm's port of the slim checkpoint keeps its input convention.
    (r'^timm\.models\.inception_(resnet_v2|v3|v4)$', 'inception'),
    (r'^timm\.models\.tf_mobilenetv3_', 'inception'),
    (r'^timm\.models\.mobilenetv[23]_', 'torch'),
    (r'^paddle\.vision\.models\.', 'torch'),
)


def preprocessing(table):
  """The input convention the weights named by `table` expect.

  Returns:
    A `slimnets.preprocessing.CONVENTIONS` name: the source framework's for
    its models (Keras ResNetV2 and Xception 'tf', Keras ResNet v1 'caffe',
    torchvision, Paddle and keras-applications ResNeXt 'torch'), else the
    registered model's (slim resnet_v2 'inception', resnet_v1 'vgg').
  """
  for pattern, convention in _SOURCE_PREPROCESSING:
    if re.match(pattern, table.source_model or ''):
      return convention
  from nets import registry  # pylint: disable=g-import-not-at-top
  return registry.get_model(table.model).preprocessing


def has_table(model, naming):
  return (model, naming) in _builders()


@functools.lru_cache(maxsize=None)
def get_table(model, naming):
  """The `Table` of `model` in `naming`.

  Raises:
    ValueError: when there is none, listing the models that have one.
  """
  if naming not in NAMINGS:
    raise ValueError('unknown naming %r; known: %s' %
                     (naming, ', '.join(NAMINGS)))
  builder = _builders().get((model, naming))
  if builder is None:
    raise ValueError('no %s mapping for model %r; models with one: %s' %
                     (naming, model, ', '.join(models(naming)) or 'none'))
  return builder()


@functools.lru_cache(maxsize=None)
def slim_variables(model, num_classes=1000):
  """[(slim name, shape)] of `model` with `num_classes` logits (0: none).

  From the family's cheap block specification when it has one, else by
  building the registered model's graph once.
  """
  for name in _FAMILY_MODULES:
    specs = importlib.import_module(name).SPECS
    if model in specs:
      return tuple(specs[model](num_classes))
  return tuple(_graph_variables(model, num_classes))


def _graph_variables(model, num_classes):
  """The variables of the registered model or variant `model`, built."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from nets import registry  # pylint: disable=g-import-not-at-top
  import tf_slim as slim  # pylint: disable=g-import-not-at-top
  from checkpoints_tools import variants  # pylint: disable=g-import-not-at-top
  if model in variants.VARIANTS:
    fn = variants.get_variant(model)
    arg_scope, size = variants.arg_scope(model), fn.default_image_size
  else:
    info = registry.get_model(model)
    fn, arg_scope = info.fn, info.arg_scope_fn()
    size = info.default_image_size
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32, [1, size, size, 3])
    with slim.arg_scope(arg_scope):
      fn(images, num_classes=num_classes or None, is_training=False)
    return [(v.op.name, tuple(v.shape.as_list()))
            for v in graph.get_collection('variables')]


def slim_torch_key(slim_name):
  """The mechanical torch-style name of a slim variable.

  Drops the model scope, joins scopes with '.', and renames
  weights/biases/BatchNorm/gamma/beta/moving_mean/moving_variance to
  weight/bias/bn/weight/bias/running_mean/running_var:
  'resnet_v2_50/block1/unit_1/bottleneck_v2/conv1/BatchNorm/gamma' ->
  'block1.unit_1.bottleneck_v2.conv1.bn.weight'.
  """
  parts = slim_name.split('/')[1:]
  renames = {'weights': 'weight', 'biases': 'bias', 'BatchNorm': 'bn',
             'gamma': 'weight', 'beta': 'bias',
             'moving_mean': 'running_mean', 'moving_variance': 'running_var'}
  return '.'.join(renames.get(p, p) for p in parts)
