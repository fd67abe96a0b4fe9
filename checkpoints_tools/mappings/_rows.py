"""Row builders shared by the family tables (`mappings/<family>.py`).

Each collects `Row`s in the source framework's order, so that a table is a
loop over the network's specification calling one method per layer:

   keras = KerasRows()
   keras.conv('block1_conv1', 'vgg_16/conv1/conv1_1', bias=True)
   torch = TorchRows()
   torch.conv('features.0', 'vgg_16/conv1/conv1_1', bias=True)
   slim_table('vgg_16', spec, head)    # the slim naming of a SPECS entry

Slim batch norms are `<scope>/BatchNorm/{gamma, beta, moving_mean,
moving_variance}` (no gamma where the network's arg scope has scale=False,
as Inception's), Keras' `<layer>/{gamma, beta, ...}`, torch's
`<key>.{weight, bias, running_mean, running_var}`.
"""

from checkpoints_tools.mappings import Row
from checkpoints_tools.mappings import Table

BN = ('gamma', 'beta', 'moving_mean', 'moving_variance')
# torch's BatchNorm2d names of BN, in its state-dict order.
TORCH_BN = (('weight', 'gamma'), ('bias', 'beta'),
            ('running_mean', 'moving_mean'),
            ('running_var', 'moving_variance'))


class KerasRows(object):
  """Rows of a Keras (tf_keras `.h5`) table, in `model.layers` order."""

  def __init__(self):
    self.rows = []

  def weight(self, layer, name, slim_name, transform='identity',
             classes=False):
    self.rows.append(Row(slim_name, '%s/%s' % (layer, name), transform,
                         classes))

  def conv(self, layer, slim_scope, bias=False, transform='identity',
           classes=False):
    """A Conv2D (or Dense, with `transform`) onto `slim_scope`/weights."""
    self.weight(layer, 'kernel', slim_scope + '/weights', transform, classes)
    if bias:
      self.weight(layer, 'bias', slim_scope + '/biases', 'identity', classes)

  def depthwise(self, layer, slim_scope, bias=False):
    self.weight(layer, 'depthwise_kernel', slim_scope + '/depthwise_weights')
    if bias:
      self.weight(layer, 'bias', slim_scope + '/biases')

  def bn(self, layer, slim_scope, scale=True):
    """A BatchNormalization onto `slim_scope` (its BatchNorm scope)."""
    for name in BN if scale else BN[1:]:
      self.weight(layer, name, '%s/%s' % (slim_scope, name))


class TorchRows(object):
  """Rows of a torch-named table, in state-dict order."""

  def __init__(self):
    self.rows = []

  def weight(self, key, slim_name, transform='hwio_oihw', classes=False):
    """`key`.weight onto the slim variable `slim_name`."""
    self.rows.append(Row(slim_name, key + '.weight', transform, classes))

  def conv(self, key, slim_scope, bias=False, transform='hwio_oihw',
           classes=False):
    """A Conv2d (or Linear, with `transform`) onto `slim_scope`/weights."""
    self.weight(key, slim_scope + '/weights', transform, classes)
    if bias:
      self.rows.append(Row(slim_scope + '/biases', key + '.bias', 'identity',
                           classes))

  def bn(self, key, slim_scope):
    for torch_name, slim_name in TORCH_BN:
      self.rows.append(Row('%s/%s' % (slim_scope, slim_name),
                           '%s.%s' % (key, torch_name), 'identity', False))

  def conv_bn(self, key, slim_scope):
    """A bias-free conv `key`.conv and its batch norm `key`.bn (timm's and
    torchvision's BasicConv2d) onto `slim_scope` and its BatchNorm."""
    self.conv(key + '.conv', slim_scope)
    self.bn(key + '.bn', slim_scope + '/BatchNorm')


def slim_table(model, spec, head, num_classes=1000, optional_scope=None,
               classes=None):
  """The slim naming of `model`: its variables from `spec(num_classes)`.

  Args:
    model: the registered model (or variant) name.
    spec: a SPECS function, num_classes -> [(slim name, shape)].
    head: the slim names of the logits rows.
    num_classes: the class count the rows are listed with (any: names do
      not depend on it).
    optional_scope: the scope of rows that may be absent together (an
      auxiliary classifier; see `Table`), or None.
    classes: the slim names of the rows with a class axis, default `head`
      (an auxiliary classifier's logits too).
  """
  classes = frozenset(head if classes is None else classes)
  rows = [Row(name, name, 'identity', name in classes)
          for name, _ in spec(num_classes)]
  optional = tuple(row.slim for row in rows if optional_scope and
                   row.slim.startswith(optional_scope + '/'))
  return Table(model, 'slim', rows, head=head, optional=optional)


def timm_port_table(model, rows, head, timm_model):
  """The torch table of timm's port of a slim Inception checkpoint.

  Args:
    model: the variant that reproduces it (`checkpoints_tools.variants`:
      slim's network with a batch-norm scale, no auxiliary classifier).
    rows: its rows, in timm's state-dict order.
    head: the slim names of the logits rows.
    timm_model: timm's model name, e.g. 'inception_v4'.
  """
  return Table(
      model, 'torch', rows, head=head, variant=model,
      source_model='timm.models.' + timm_model, bn_epsilon=1e-3,
      notes=("timm's port of the slim checkpoint: slim's network with a "
             'batch-norm scale (gamma), no auxiliary classifier',
             'timm has 1000 classes, slim checkpoints 1001: pass '
             '--num-classes 1001 to add the background class 0; "inception" '
             'preprocessing'))
