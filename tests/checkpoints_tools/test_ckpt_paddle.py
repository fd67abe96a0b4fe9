"""paddle.vision ResNet-50 <-> tv_resnet50, checked against Paddle itself.

Paddle runs in child processes only (importing it next to TensorFlow can
crash the process, as torch does). A random-weight paddle.vision resnet50
with randomised batch-norm statistics, saved with `paddle.save`, converts
to a slim checkpoint that gives Paddle's logits to 1e-4 relative to the
largest logit (`slimnets verify`); a slim tv_resnet50 checkpoint converted
to `.pdparams` loads into Paddle's resnet50 with `set_state_dict` (no
missing or unexpected key) and gives our logits.
"""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import ckpt_helpers
from checkpoints_tools import convert
from checkpoints_tools import verify

if importlib.util.find_spec('paddle') is None:
  pytest.skip('paddle is not installed', allow_module_level=True)

_SIZE = 64

# Random weights: He-normal convs, uniform [0.5, 1.5] BN scales and
# variances, N(0, 0.2) BN shifts and means (so inference-mode BN is not the
# identity), a small fc.
_SAVE_RANDOM_PADDLE = """
import sys
import numpy as np
import paddle
paddle.set_device('cpu')
path, seed = sys.argv[1], int(sys.argv[2])
net = paddle.vision.models.resnet50(pretrained=False, num_classes=1000)
rng = np.random.RandomState(seed)
state = {}
for key, value in net.state_dict().items():
  shape = tuple(value.shape)
  if key.endswith('_variance') or (len(shape) == 1 and
                                   key.endswith('.weight')):
    array = rng.uniform(0.5, 1.5, shape)
  elif len(shape) == 4:
    array = rng.normal(0, np.sqrt(2.0 / np.prod(shape[1:])), shape)
  elif key == 'fc.weight':
    array = rng.normal(0, np.sqrt(1.0 / shape[0]), shape)
  else:
    array = rng.normal(0, 0.2, shape)
  state[key] = array.astype(np.float32)
missing, unexpected = net.set_state_dict(state)
assert not missing and not unexpected, (missing, unexpected)
paddle.save(net.state_dict(), path)
"""


def _save_random_paddle(path, seed=0):
  subprocess.run([sys.executable, '-c', _SAVE_RANDOM_PADDLE, path, str(seed)],
                 check=True, capture_output=True, text=True)


@pytest.fixture(scope='module')
def paddle_weights(module_tmp_factory):
  path = str(module_tmp_factory.mktemp('paddle') / 'resnet50.pdparams')
  _save_random_paddle(path)
  return path


def test_paddle_to_slim_verifies(paddle_weights, tmp_path):
  prefix = str(tmp_path / 'tv_resnet50.ckpt')
  summary = convert.convert(paddle_weights, prefix)
  assert summary['model'] == 'tv_resnet50'
  assert any('StructuredToParameterName@@' in m
             for m in summary['messages'])
  result = verify.verify(paddle_weights, prefix, 'tv_resnet50',
                         image_size=_SIZE, batch_size=4)
  assert result['max_rel'] <= 1e-4, result
  assert result['top1_agree'] == 4


def test_slim_to_paddle_loads_and_agrees(tmp_path):
  """Our .pdparams loads into paddle's resnet50 (every key, nothing more:
  verify's child exits otherwise) and gives our network's logits."""
  npz = str(tmp_path / 'tv.npz')
  np.savez(npz, **ckpt_helpers.random_values('tv_resnet50', 1000, seed=3))
  prefix = str(tmp_path / 'tv.ckpt')
  convert.convert(npz, prefix)
  pdparams = str(tmp_path / 'tv.pdparams')
  convert.convert(prefix, pdparams)
  result = verify.verify(pdparams, prefix, 'tv_resnet50', image_size=_SIZE,
                         batch_size=4)
  assert result['max_rel'] <= 1e-4, result
  assert result['top1_agree'] == 4


def test_paddle_round_trip_bit_exact(paddle_weights, tmp_path):
  """paddle.save file -> slim -> .pdparams: the same arrays."""
  prefix = str(tmp_path / 'a.ckpt')
  convert.convert(paddle_weights, prefix)
  back = str(tmp_path / 'back.pdparams')
  convert.convert(prefix, back)
  ckpt_helpers.assert_same_tensors(paddle_weights, back)
