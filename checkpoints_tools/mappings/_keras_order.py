"""The order of a Keras functional model's layers, from its layer graph.

Keras saves and loads `.h5` weights by position in `model.layers`, and
Keras 3 names `.weights.h5` groups by position too. For a model with
parallel branches (Inception) that order is not the order the layers were
created in: a functional model lists its layers by decreasing depth (the
longest path from the layer to the output), and layers of equal depth in
the order a depth-first walk from the output first reaches them, inputs in
call order (tf_keras `functional._map_graph_network`, the same in Keras 3).
`LayerGraph` records a model's layers and their inputs as the family
tables derive them from the network definition, and `layers()` gives that
order.

`ConvBnLayers` adds the layers of Keras applications' `conv2d_bn` (an
unnamed bias-free Conv2D, BatchNormalization(scale=False) and Activation)
with the slim scope each conv stands for, as the Inception tables walk
their specs.

Typical use:

   graph = LayerGraph()
   x = graph.add('input')
   a = graph.add('conv2d', [x])
   b = graph.add('conv2d_1', [graph.add('conv2d_2', [x])])
   graph.add('concatenate', [a, b])
   graph.layers()  # ['input', 'conv2d_2', 'conv2d', 'conv2d_1', ...]
"""


class LayerGraph(object):
  """Layers (each called once) and their inputs, in creation order."""

  def __init__(self):
    self._inputs = {}

  def add(self, name, inputs=()):
    """Adds layer `name` called on the layers `inputs`; returns `name`."""
    if name in self._inputs:
      raise ValueError('layer %s added twice' % name)
    self._inputs[name] = tuple(inputs)
    return name

  def chain(self, names, inputs):
    """Adds `names` one after the other, the first on `inputs`; returns the
    last."""
    for name in names:
      inputs = [self.add(name, inputs)]
    return inputs[0]

  def _preorder(self, output):
    """{layer: index} in the order a depth-first walk from `output` reaches
    them (iterative: Inception-ResNet's paths are deeper than Python's
    recursion limit)."""
    index = {}
    stack = [output]
    while stack:
      name = stack.pop()
      if name in index:
        continue
      index[name] = len(index)
      stack.extend(reversed(self._inputs[name]))
    return index

  def _depths(self, output):
    """{layer: length of its longest path to `output`}."""
    consumers = {name: [] for name in self._inputs}
    for name, inputs in self._inputs.items():
      for parent in inputs:
        consumers[parent].append(name)
    depth = {}
    # Creation order is topological: consumers are created after inputs.
    for name in reversed(list(self._inputs)):
      if name == output:
        depth[name] = 0
      elif consumers[name]:
        reached = [depth[c] for c in consumers[name] if c in depth]
        if reached:
          depth[name] = max(reached) + 1
    return depth

  def layers(self, output=None):
    """The layers that `output` (default: the last added) depends on, in
    `model.layers` order."""
    output = output or list(self._inputs)[-1]
    index = self._preorder(output)
    depth = self._depths(output)
    return sorted(index, key=lambda name: (-depth[name], index[name]))


# The layer kinds `ConvBnLayers` names by creation count (a table's
# `positional` names: matched by the order of their numbers).
UNNAMED = ('conv2d', 'batch_normalization')


class ConvBnLayers(object):
  """A LayerGraph of Keras `conv2d_bn` layers named by creation count.

  Attributes:
    graph: the `LayerGraph`.
    scopes: {Keras layer: slim scope}: a conv's scope, its batch norm's
      `<scope>/BatchNorm`.
  """

  def __init__(self):
    self.graph = LayerGraph()
    self.scopes = {}
    self._count = {}

  def _name(self, kind):
    k = self._count.get(kind, 0)
    self._count[kind] = k + 1
    return kind if k == 0 else '%s_%d' % (kind, k)

  def conv(self, scope, unused_spec, layer):
    """An unnamed conv2d_bn on `layer` for slim's `scope`; returns its
    activation."""
    conv, bn = self._name('conv2d'), self._name('batch_normalization')
    self.scopes[conv] = scope
    self.scopes[bn] = scope + '/BatchNorm'
    return self.graph.chain([conv, bn, self._name('activation')], [layer])

  def pool(self, layer):
    return self.graph.add(self._name('pool'), [layer])

  def concat(self, layers, name=None):
    return self.graph.add(name or self._name('concatenate'), layers)

  def unnamed(self, kind, inputs):
    """A weightless layer of `kind` (its name does not matter)."""
    return self.graph.add(self._name(kind), inputs)
