"""Bit-exact round trips slim <-> npz / safetensors, the slim writer."""

import os

import numpy as np
import pytest

import ckpt_helpers
from checkpoints_tools import convert
from checkpoints_tools import formats
from checkpoints_tools import mappings


@pytest.fixture(scope='module', params=[('resnet_v2_50', 1001),
                                        ('resnet_v1_50', 1000)])
def checkpoint(request, module_tmp_factory):
  model, classes = request.param
  prefix = str(module_tmp_factory.mktemp(model) / 'model.ckpt')
  values = ckpt_helpers.save_graph_checkpoint(model, classes, prefix)
  return model, prefix, values


def _assert_same(actual, expected):
  assert sorted(actual) == sorted(expected)
  for key in expected:
    assert actual[key].dtype == expected[key].dtype, key
    np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


@pytest.mark.parametrize('ext', ['.npz', '.safetensors'])
def test_round_trip_bit_exact(checkpoint, tmp_path, ext):
  model, prefix, values = checkpoint
  middle = str(tmp_path / ('middle' + ext))
  back = str(tmp_path / 'back.ckpt')
  summary = convert.convert(prefix, middle)
  assert summary['model'] == model
  assert summary['tensors'] == len(values)
  summary = convert.convert(middle, back)
  assert summary['model'] == model
  _assert_same(ckpt_helpers.read_all(back), values)
  # No temporary file is left next to the outputs.
  assert not [n for n in os.listdir(tmp_path) if n.startswith('.')]


def test_safetensors_uses_torch_layout(checkpoint, tmp_path):
  model, prefix, values = checkpoint
  out = str(tmp_path / 'm.safetensors')
  convert.convert(prefix, out)
  tensors = ckpt_helpers.read_all(out)
  conv = model + '/block1/unit_1/bottleneck_%s/conv2/weights' % model[7:9]
  key = mappings.slim_torch_key(conv)
  np.testing.assert_array_equal(tensors[key],
                                values[conv].transpose(3, 2, 0, 1))
  np.testing.assert_array_equal(tensors['logits.weight'],
                                values[model + '/logits/weights'][0, 0].T)
  # The safetensors library reads our streamed file the same way.
  import safetensors.numpy  # pylint: disable=g-import-not-at-top
  loaded = safetensors.numpy.load_file(out)
  _assert_same(loaded, tensors)


def test_written_checkpoint_restores_into_graph(checkpoint, tmp_path):
  """The graph-free slim writer restores with a Saver into our net."""
  model, prefix, values = checkpoint
  npz = str(tmp_path / 'm.npz')
  back = str(tmp_path / 'back.ckpt')
  convert.convert(prefix, npz)
  # Small chunks: the merge of many shards must restore too.
  with formats.open_reader(npz) as reader, formats.open_writer(
      back, 'slim', chunk_bytes=4 << 20) as writer:
    for key in reader.keys():
      writer.add(key, reader.get(key))
  images = np.random.RandomState(1).uniform(-1, 1, (2, 64, 64, 3)).astype(
      np.float32)
  from nets import registry  # pylint: disable=g-import-not-at-top
  info = registry.get_model(model)
  classes = values[model + '/logits/biases'].shape[0]
  expected = ckpt_helpers.run_slim(info.fn, prefix, images,
                                   info.arg_scope_fn(), classes)
  actual = ckpt_helpers.run_slim(info.fn, back, images, info.arg_scope_fn(),
                                 classes)
  np.testing.assert_array_equal(actual, expected)


def test_class_count_1001_to_1000_and_back(tmp_path):
  prefix = str(tmp_path / 'v2.ckpt')
  values = ckpt_helpers.save_graph_checkpoint('resnet_v2_50', 1001, prefix)
  dropped = str(tmp_path / 'v2_1000.npz')
  summary = convert.convert(prefix, dropped, num_classes=1000)
  assert summary['dst_classes'] == 1000
  assert any('dropped background' in m for m in summary['messages'])
  arrays = ckpt_helpers.read_all(dropped)
  np.testing.assert_array_equal(arrays['resnet_v2_50/logits/weights'],
                                values['resnet_v2_50/logits/weights'][..., 1:])
  added = str(tmp_path / 'v2_1001.npz')
  convert.convert(dropped, added, num_classes=1001)
  arrays = ckpt_helpers.read_all(added)
  np.testing.assert_array_equal(arrays['resnet_v2_50/logits/weights'][..., 1:],
                                values['resnet_v2_50/logits/weights'][..., 1:])
  assert not arrays['resnet_v2_50/logits/weights'][..., 0].any()
  assert arrays['resnet_v2_50/logits/biases'][0] < -1000


def test_safetensors_detected_when_its_header_length_looks_like_a_pickle(
    tmp_path):
  """The header length's first byte can be 0x80, as a pickle's (paddle)."""
  from safetensors import numpy as safetensors_numpy  # pylint: disable=g-import-not-at-top
  path = str(tmp_path / 'features.safetensors')
  tensors = {'block1': np.ones([2, 3], np.float32)}
  for padding in range(300):
    safetensors_numpy.save_file(tensors, path, metadata={'pad': 'x' * padding})
    with open(path, 'rb') as f:
      if f.read(1) == b'\x80':
        break
  else:
    pytest.fail('no padding gave a header length whose first byte is 0x80')
  assert formats.detect(path) == 'safetensors'
  with formats.open_reader(path) as reader:
    np.testing.assert_array_equal(reader.get('block1'), tensors['block1'])
  # A real pickle still reads as paddle.
  pickled = str(tmp_path / 'model.pdparams')
  import pickle  # pylint: disable=g-import-not-at-top
  with open(pickled, 'wb') as f:
    pickle.dump({'conv1.weight': np.ones([2, 2], np.float32)}, f, protocol=2)
  assert formats.detect(pickled) == 'paddle'
