"""Mapping tables of Inception v4 (`nets.inception_v4`).

[1] Christian Szegedy, Sergey Ioffe, Vincent Vanhoucke, Alex Alemi.
    Inception-v4, Inception-ResNet and the Impact of Residual Connections
    on Learning. arXiv:1602.07261

Derived from `nets.inception_v4._LAYOUT` (the stem and the Inception and
Reduction blocks, each a list of branch specs):

- slim naming of timm_inception_v4 (`checkpoints_tools.variants`: the
  registered network with a batch-norm scale, no auxiliary classifier);
- timm_inception_v4 <-> timm `inception_v4` (torch naming: `.safetensors`,
  `.pt`), timm's port of the slim checkpoint: the same convolutions and
  pools (its average pools leave the padding out, as TensorFlow's).

  slim (InceptionV4/)                       timm
  Conv2d_1a_3x3 (the k-th stage)            features.<k>.conv, .bn
  Mixed_3a, Mixed_5a (a pool and one conv)  features.<k>.conv.conv, .conv.bn
  Mixed_<b>/Branch_<i>/<conv j of i>        features.<k>.branch<i>[.<j>]
                                            (j counts pools too; no j for a
                                            branch of one conv)
  Inception-C branches that fork           branch<i>_<j>, branch<i>_<j>a/b
  Logits/Logits (fully connected)           last_linear (transposed)

Typical use:

   from checkpoints_tools import mappings
   table = mappings.get_table('timm_inception_v4', 'torch')
   table.variant  # 'timm_inception_v4'
"""

import functools

from checkpoints_tools import mappings
from checkpoints_tools.mappings import _rows

from nets import inception_v4  # pylint: disable=g-bad-import-order

_TIMM = 'timm_inception_v4'
_SCOPE = 'InceptionV4'
_LOGITS = _SCOPE + '/Logits/Logits'
_HEAD = (_LOGITS + '/weights', _LOGITS + '/biases')


def _forked_branch(torch, branch, key, scope):
  """A branch ending in a Fork: timm's branch<i>_<j> and _<j>a, _<j>b."""
  for j, spec in enumerate(branch):
    if isinstance(spec, inception_v4.Fork):
      for letter, sub in zip('ab', spec.layers):
        torch.conv_bn('%s_%d%s' % (key, j, letter),
                      '%s/%s' % (scope, sub.scope))
    else:
      torch.conv_bn('%s_%d' % (key, j), '%s/%s' % (scope, spec.scope))


def timm_branches(torch, branches, scope, key):
  """Rows of parallel `branches` (of the Mixed block or residual block at
  slim `scope`) as timm names them under module `key`: branch<i>[.<j>]
  (j counts pools too; no j for a branch of one layer), and
  branch<i>_<j>[a|b] for a branch that forks."""
  for i, branch in enumerate(branches):
    branch_key, branch_scope = '%s.branch%d' % (key, i), '%s/Branch_%d' % (
        scope, i)
    if any(isinstance(spec, inception_v4.Fork) for spec in branch):
      _forked_branch(torch, branch, branch_key, branch_scope)
      continue
    for j, spec in enumerate(branch):
      if isinstance(spec, inception_v4.Conv):
        torch.conv_bn(branch_key + ('.%d' % j if len(branch) > 1 else ''),
                      '%s/%s' % (branch_scope, spec.scope))


def _mixed(torch, mixed, key):
  """Rows of one Mixed block, timm module `key`."""
  scope = '%s/%s' % (_SCOPE, mixed.scope)
  convs = [(i, spec) for i, branch in enumerate(mixed.branches)
           for spec in branch if isinstance(spec, inception_v4.Conv)]
  if len(convs) == 1:
    # timm's Mixed3a / Mixed5a: a max pool and one conv called `conv`.
    i, spec = convs[0]
    torch.conv_bn(key + '.conv', '%s/Branch_%d/%s' % (scope, i, spec.scope))
  else:
    timm_branches(torch, mixed.branches, scope, key)


def _timm_rows():
  torch = _rows.TorchRows()
  for k, (_, spec) in enumerate(inception_v4._LAYOUT):  # pylint: disable=protected-access
    key = 'features.%d' % k
    if isinstance(spec, inception_v4.Mixed):
      _mixed(torch, spec, key)
    else:
      torch.conv_bn(key, '%s/%s' % (_SCOPE, spec.scope))
  torch.conv('last_linear', _LOGITS, bias=True, transform='linear',
             classes=True)
  return torch.rows


def _timm_table():
  return _rows.timm_port_table(_TIMM, _timm_rows(), _HEAD, 'inception_v4')


# --- registration ------------------------------------------------------------

# The slim variables come from the built graph (mappings.slim_variables).
SPECS = {}
TABLES = {
    (_TIMM, 'slim'): functools.partial(
        _rows.slim_table, _TIMM,
        functools.partial(mappings.slim_variables, _TIMM), _HEAD),
    (_TIMM, 'torch'): _timm_table,
}
