"""timm Xception <-> nets.xception: `xception41/65/71` <-> `xception_41/65/71`,
`legacy_xception` <-> `xception_keras` (variant `timm_legacy_xception`).

The reference is timm (torch, in child processes: importing torch next to
TensorFlow can crash the process) with random weights and randomised
batch-norm statistics, saved as `safetensors.torch.save_file(
model.state_dict())`, `num_batches_tracked` included. Our network restored
from the converted checkpoint must give timm's logits to 1e-5 of the
largest logit with the same top-1; the checkpoint written back to
safetensors loads into a fresh timm model with a strict `load_state_dict`
and gives timm's logits bit for bit; both round trips are bit-exact.

Sizes: 64x64 for the aligned nets (aligned at every size); 75x75 for
legacy_xception, whose second entry-flow max-pool then sees an even size
(18x18), where torch's symmetric padding and Keras' SAME differ.
"""

import shutil

import numpy as np
import pytest

import ckpt_helpers
from checkpoints_tools import convert
from checkpoints_tools import mappings
from checkpoints_tools import transforms
from checkpoints_tools import variants
from nets import registry

# (timm model, our model, test image size)
_PAIRS = (
    ('timm:xception41', 'xception_41', 64),
    ('timm:xception65', 'xception_65', 64),
    ('timm:xception71', 'xception_71', 64),
    ('timm:legacy_xception', 'xception_keras', 75),
)
_REL = 1e-5


ckpt_helpers.require_modules('torch', 'timm')


def _ours_fn_and_scope(model):
  """What reproduces the timm model: the table's variant, or `model`."""
  table = mappings.get_table(model, 'torch')
  if table.variant:
    return (variants.get_variant(table.variant),
            variants.arg_scope(table.variant))
  info = registry.get_model(model)
  return info.fn, info.arg_scope_fn()


def _ours(model, prefix, images, fn_and_scope=None):
  fn, scope = fn_and_scope or _ours_fn_and_scope(model)
  logits = ckpt_helpers.run_slim(fn, prefix, images, scope, 1000)
  # DeepLab's Xception keeps [batch, 1, 1, classes].
  return logits.reshape(len(images), -1)


@pytest.fixture(scope='module', params=[p for p in _PAIRS
                                        if p[1] != 'xception_65'],
                ids=lambda p: p[1])
def timm_file(request, module_tmp_factory):
  """(timm model, our model, images, its .safetensors, its logits, folder).

  xception_65 is xception_41 with more middle-flow units: its table is
  checked against timm's state dict below, its logits only in
  docs/conversion.md (the files are large).
  """
  timm_model, model, size = request.param
  folder = module_tmp_factory.mktemp(model)
  images = ckpt_helpers.random_images(size, seed=1, batch=4)
  path, logits = ckpt_helpers.save_torch_model(timm_model, folder, images)
  yield timm_model, model, images, path, logits, folder
  shutil.rmtree(folder, ignore_errors=True)


def test_tables_match_timm_state_dicts():
  """Every timm tensor but num_batches_tracked has a row, in timm's order,
  and each row's transform gives our variable's shape."""
  for timm_model, model, _ in _PAIRS:
    expected = [(k, s) for k, s in ckpt_helpers.torch_state_dict_shapes(
        timm_model) if not k.endswith('num_batches_tracked')]
    table = mappings.get_table(model, 'torch')
    assert [row.source for row in table.rows] == [k for k, _ in expected]
    ckpt_helpers.assert_rows_give_slim_shapes(
        table, dict(expected), dict(mappings.slim_variables(model, 1000)))
  # timm's own counts: 662 tensors for xception65, 236 for legacy_xception.
  assert len(mappings.get_table('xception_65', 'torch').rows) == 662
  assert len(mappings.get_table('xception_keras', 'torch').rows) == 236


@pytest.mark.parametrize('model', ['xception_41', 'xception_65',
                                   'xception_71'])
def test_aligned_spec_matches_graph(model):
  """The cheap spec equals the variables of the built graph, in order."""
  assert list(mappings.slim_variables(model, 1001)) == (
      mappings._graph_variables(model, 1001))  # pylint: disable=protected-access


def test_depthwise_oihw_is_torchs_depthwise_layout():
  """slim depthwise [kh, kw, C, 1] <-> torch groups=C weight [C, 1, kh, kw]:
  out[c] = sum over (i, j) of x[i, j, c] * w, in both layouts."""
  rng = np.random.RandomState(0)
  slim_kernel = rng.normal(size=(3, 3, 5, 1))
  x = rng.normal(size=(3, 3, 5))
  torch_kernel = transforms.get('depthwise_oihw').to_source(slim_kernel)
  assert torch_kernel.shape == (5, 1, 3, 3)
  np.testing.assert_allclose(
      np.einsum('ijc,cij->c', x, torch_kernel[:, 0]),
      np.einsum('ijc,ijc->c', x, slim_kernel[..., 0]), rtol=1e-12)
  np.testing.assert_array_equal(
      transforms.get('depthwise_oihw').to_slim(torch_kernel), slim_kernel)
  with pytest.raises(ValueError, match=r'\[C, 1, kh, kw\]'):
    transforms.get('depthwise_oihw').shape_to_slim((5, 2, 3, 3))


def test_timm_to_slim_reproduces_timm(timm_file, tmp_path):
  """A plain state dict converts without --model and gives timm's logits.

  legacy_xception: our registered xception_keras (Keras' SAME pools and
  epsilon 1e-3) is measurably off, and so is the variant's pooling with
  Keras' epsilon. The aligned nets: --num-classes 1001 (DeepLab's
  checkpoints) adds class 0 and keeps timm's logits for the others.
  """
  _, model, images, path, logits, _ = timm_file
  prefix = str(tmp_path / 'from_timm.ckpt')
  summary = convert.convert(path, prefix)
  assert summary['model'] == model
  assert any(m.startswith('not model tensors, left out:') and
             'num_batches_tracked' in m for m in summary['messages'])
  ours = _ours(model, prefix, images)
  assert ckpt_helpers.relative_difference(ours, logits) <= _REL
  assert (ours.argmax(-1) == logits.argmax(-1)).all()
  table = mappings.get_table(model, 'torch')
  if table.variant:
    from nets import xception  # pylint: disable=g-import-not-at-top
    assert any(m.startswith('variant: build checkpoints_tools.variants.%s' %
                            table.variant) for m in summary['messages'])
    info = registry.get_model(model)
    registered = _ours(model, prefix, images, (info.fn, info.arg_scope_fn()))
    assert ckpt_helpers.relative_difference(registered, logits) > 1e-3
    keras_epsilon = _ours(model, prefix, images, (
        variants.get_variant(table.variant),
        xception.xception_keras_arg_scope()))
    assert ckpt_helpers.relative_difference(keras_epsilon, logits) > 1e-3
  else:
    background = str(tmp_path / 'background.ckpt')
    assert convert.convert(path, background,
                           num_classes=1001)['dst_classes'] == 1001
    fn, scope = _ours_fn_and_scope(model)
    ours = ckpt_helpers.run_slim(fn, background, images, scope, 1001)
    ours = ours.reshape(len(images), -1)
    assert ckpt_helpers.relative_difference(ours[:, 1:], logits) <= _REL


def test_slim_to_timm_round_trip(timm_file, tmp_path):
  """slim -> timm safetensors loads strictly in timm with timm's logits bit
  for bit; timm -> slim -> timm and slim -> timm -> slim are bit-exact."""
  timm_model, model, images, path, logits, _ = timm_file
  prefix = str(tmp_path / 'from_timm.ckpt')
  convert.convert(path, prefix)
  back = str(tmp_path / 'back.safetensors')
  convert.convert(prefix, back)
  np.testing.assert_array_equal(
      ckpt_helpers.torch_logits(timm_model, back, images, tmp_path), logits)
  original = ckpt_helpers.read_all(path)  # the reader leaves out the counters
  written = ckpt_helpers.read_all(back)
  assert sorted(written) == sorted(original)
  for key, value in original.items():
    np.testing.assert_array_equal(written[key], value, err_msg=key)
  again = str(tmp_path / 'again.ckpt')
  assert convert.convert(back, again)['model'] == model
  ckpt_helpers.assert_same_tensors(prefix, again)


def test_verify_against_timm(timm_file, tmp_path):
  """`slimnets verify` builds timm in a child process."""
  from checkpoints_tools import verify  # pylint: disable=g-import-not-at-top
  _, model, images, path, _, _ = timm_file
  prefix = str(tmp_path / 'v.ckpt')
  convert.convert(path, prefix)
  result = verify.verify(path, prefix, model, image_size=images.shape[1],
                         batch_size=2)
  assert result['max_rel'] <= _REL, result
  assert result['top1_agree'] == 2
  table = mappings.get_table(model, 'torch')
  assert result['messages'][0].startswith('source: %s' % table.source_model)
