"""tv_resnet*/resnext* <-> torchvision-named safetensors, tv_resnet <->
paddle.vision .pdparams: bit-exact round trips and the known layouts.

Torch and Paddle are not needed; the comparison with torchvision's own
state dict runs only where torchvision is installed.
"""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

import ckpt_helpers
from checkpoints_tools import convert
from checkpoints_tools import mappings
from checkpoints_tools import transforms


def _npz(tmp_path, model):
  path = str(tmp_path / (model + '.npz'))
  values = ckpt_helpers.random_values(model, 1000)
  np.savez(path, **values)
  return path, values


@pytest.mark.parametrize('model,ext', [('tv_resnet50', '.safetensors'),
                                       ('resnext50_32x4d', '.safetensors'),
                                       ('tv_resnet50', '.pdparams')])
def test_round_trip_bit_exact(tmp_path, model, ext):
  path, values = _npz(tmp_path, model)
  middle = str(tmp_path / ('m' + ext))
  back = str(tmp_path / 'back.npz')
  convert.convert(path, middle)
  assert convert.convert(middle, back)['model'] == model
  result = ckpt_helpers.read_all(back)
  assert sorted(result) == sorted(values)
  for key, value in values.items():
    np.testing.assert_array_equal(result[key], value, err_msg=key)


def test_torchvision_layout(tmp_path):
  path, values = _npz(tmp_path, 'resnext50_32x4d')
  out = str(tmp_path / 'r.safetensors')
  convert.convert(path, out)
  tensors = ckpt_helpers.read_all(out)
  # torchvision resnext50_32x4d: 320 state-dict entries, 53 of them
  # num_batches_tracked.
  assert len(tensors) == 320 - 53
  assert tensors['layer1.0.conv2.weight'].shape == (128, 4, 3, 3)
  assert tensors['layer1.0.downsample.0.weight'].shape == (256, 64, 1, 1)
  assert tensors['fc.weight'].shape == (1000, 2048)
  slim = 'resnext50_32x4d/block1/unit_1/bottleneck/conv2/weights'
  np.testing.assert_array_equal(tensors['layer1.0.conv2.weight'],
                                values[slim].transpose(3, 2, 0, 1))


def test_paddle_layout(tmp_path):
  path, values = _npz(tmp_path, 'tv_resnet50')
  out = str(tmp_path / 'r.pdparams')
  convert.convert(path, out)
  tensors = ckpt_helpers.read_all(out)
  assert tensors['fc.weight'].shape == (2048, 1000)
  np.testing.assert_array_equal(
      tensors['layer4.2.bn3._variance'],
      values['tv_resnet50/block4/unit_3/bottleneck/conv3/BatchNorm/'
             'moving_variance'])


def test_depthwise_grouped_relayout_matches_grouped_conv():
  """K (keras-applications depthwise + group sum) == F (grouped conv)."""
  groups, c = 4, 3
  rng = np.random.RandomState(0)
  k = rng.normal(size=(1, 1, groups * c, c))
  x = rng.normal(size=(groups * c,))
  # keras-applications: depthwise output channel k*c + m, reshaped to
  # (groups, c, c) and summed over the middle axis.
  depthwise = (x[:, None] * k[0, 0]).reshape(groups, c, c).sum(axis=1)
  f = transforms.depthwise_grouped(groups).to_slim(k)
  grouped = np.concatenate([
      x[g * c:(g + 1) * c] @ f[0, 0][:, g * c:(g + 1) * c]
      for g in range(groups)])
  np.testing.assert_allclose(grouped, depthwise.reshape(-1), rtol=1e-12)
  np.testing.assert_array_equal(
      transforms.depthwise_grouped(groups).to_source(f), k)


def _require_torchvision():
  # Not importorskip: importing torch into this TensorFlow process can crash
  # it; the torch side runs in child processes.
  if importlib.util.find_spec('torchvision') is None:
    pytest.skip('torchvision is not installed')


def _torchvision_shapes(name):
  """{key: shape} of torchvision's `name`, from a child process (importing
  torch next to TensorFlow can crash)."""
  script = ('import json, sys, torchvision\n'
            'sd = getattr(torchvision.models, sys.argv[1])(weights=None)'
            '.state_dict()\n'
            'print(json.dumps({k: list(v.shape) for k, v in sd.items()}))')
  result = subprocess.run([sys.executable, '-c', script, name],
                          capture_output=True, text=True, check=True)
  return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize('model', ['tv_resnet50', 'resnext50_32x4d'])
def test_matches_torchvision_state_dict(model):
  _require_torchvision()
  name = {'tv_resnet50': 'resnet50'}.get(model, model)
  expected = {k: tuple(v) for k, v in _torchvision_shapes(name).items()
              if not k.endswith('num_batches_tracked')}
  table = mappings.get_table(model, 'torch')
  slim_shapes = dict(mappings.slim_variables(model, 1000))
  assert {r.source for r in table.rows} == set(expected)
  for row in table.rows:
    assert transforms.get(row.transform).shape_to_source(
        slim_shapes[row.slim]) == expected[row.source], row


@pytest.mark.parametrize('model', ['tv_resnet50', 'resnext50_32x4d'])
def test_verify_against_torchvision(tmp_path, model):
  """Our network from the converted checkpoint gives torchvision's logits."""
  _require_torchvision()
  from checkpoints_tools import verify  # pylint: disable=g-import-not-at-top
  path, _ = _npz(tmp_path, model)
  weights = str(tmp_path / 'tv.safetensors')
  convert.convert(path, weights)
  ckpt = str(tmp_path / 'ours.ckpt')
  convert.convert(weights, ckpt)
  result = verify.verify(weights, ckpt, model, image_size=64, batch_size=2)
  assert result['max_rel'] <= 1e-4, result
  assert result['top1_agree'] == 2


def test_torchvision_state_dict_safetensors_both_ways(tmp_path):
  """`safetensors.torch.save_file(model.state_dict())`, with its 53
  num_batches_tracked, converts without --model into our net with
  torchvision's logits; written back, torchvision loads it strictly and
  gives its logits bit for bit."""
  _require_torchvision()
  from nets import registry  # pylint: disable=g-import-not-at-top
  images = ckpt_helpers.random_images(64, batch=2)
  path, logits = ckpt_helpers.save_torch_model('torchvision:resnet50',
                                               tmp_path, images)
  prefix = str(tmp_path / 'tv.ckpt')
  summary = convert.convert(path, prefix)
  assert summary['model'] == 'tv_resnet50'
  assert ('not model tensors, left out: 53 (bn1.num_batches_tracked, '
          'layer1.0.bn1.num_batches_tracked, layer1.0.bn2.num_batches_tracked,'
          ' ... (50 more))') in summary['messages']
  info = registry.get_model('tv_resnet50')
  ours = ckpt_helpers.run_slim(info.fn, prefix, images, info.arg_scope_fn(),
                               1000)
  assert ckpt_helpers.relative_difference(ours, logits) <= 1e-5
  assert (ours.argmax(-1) == logits.argmax(-1)).all()
  back = str(tmp_path / 'back.safetensors')
  convert.convert(prefix, back)
  np.testing.assert_array_equal(
      ckpt_helpers.torch_logits('torchvision:resnet50', back, images,
                                tmp_path), logits)
