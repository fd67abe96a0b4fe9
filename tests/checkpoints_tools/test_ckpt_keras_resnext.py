"""keras-applications 1.0.8 ResNeXt50/101 <-> nets.resnext 32x4d.

keras-applications builds ResNeXt's grouped 3x3 conv as a DepthwiseConv2D
(depth_multiplier c = width / 32, only its kernel is stored) followed by a
fixed sum within each group; otherwise its network is nets.resnext's layout
(stride on the 3x3 conv of the first unit, pool1 padded 1 on each side after
the ReLU, no conv biases), so no variant is needed: the kernel goes through
`transforms.depthwise_grouped(32)` and batch norm uses its epsilon 1.001e-5.
The reference is keras_applications.resnext.ResNeXt50 on tf_keras with
random weights (BN statistics randomised, no download).
"""

import numpy as np
import pytest

import ckpt_helpers
from checkpoints_tools import cli
from checkpoints_tools import convert
from checkpoints_tools import mappings
from checkpoints_tools import verify
from nets import resnext

tf_keras = pytest.importorskip('tf_keras')
keras_resnext = pytest.importorskip('keras_applications.resnext')

_SIZE = 64
_KERAS_MODELS = {'resnext50_32x4d': 'ResNeXt50',
                 'resnext101_32x4d': 'ResNeXt101'}


def _keras_model(model='resnext50_32x4d', seed=0, randomise=True):
  """keras-applications ResNeXt on tf_keras, random weights and BN stats."""
  tf_keras.backend.clear_session()
  net = getattr(keras_resnext, _KERAS_MODELS[model])(
      weights=None, input_shape=(_SIZE, _SIZE, 3), backend=tf_keras.backend,
      layers=tf_keras.layers, models=tf_keras.models, utils=tf_keras.utils)
  if not randomise:
    return net
  return ckpt_helpers.randomize_keras_weights(net, seed, grouped_depthwise=True)


def _keras_logits(net, images):
  """Logits of `net`: its `probs` Dense without the softmax, in float64."""
  features = tf_keras.Model(net.input, net.get_layer('avg_pool').output)
  kernel, bias = net.get_layer('probs').get_weights()
  return (features.predict(images, verbose=0).astype(np.float64) @ kernel +
          bias)


def _images(seed=1, batch=2):
  return ckpt_helpers.random_images(_SIZE, seed, batch)


def _ours(prefix, epsilon=1.001e-5):
  return ckpt_helpers.run_slim(
      resnext.resnext50_32x4d, prefix, _images(),
      resnext.resnext_arg_scope(batch_norm_epsilon=epsilon), 1000)


@pytest.fixture(scope='module')
def keras50(module_tmp_factory):
  """(Keras weights .h5, its logits on _images(), converted slim prefix)."""
  net = _keras_model()
  tmp = module_tmp_factory.mktemp('keras_resnext')
  path = str(tmp / 'resnext50.h5')
  net.save_weights(path)
  logits = _keras_logits(net, _images())
  prefix = str(tmp / 'from_keras.ckpt')
  summary = convert.convert(path, prefix)
  return path, logits, prefix, summary


@pytest.mark.parametrize('model', sorted(_KERAS_MODELS))
def test_table_matches_keras_model(model):
  """Every Keras weight is mapped, in Keras' layer order, with our shapes."""
  net = _keras_model(model, randomise=False)
  keras_shapes = ckpt_helpers.keras_weight_shapes(net)
  table = mappings.get_table(model, 'keras')
  assert table.variant is None and table.bn_epsilon == 1.001e-5
  assert [row.source for row in table.rows] == list(keras_shapes)
  slim_shapes = dict(mappings.slim_variables(model, 1000))
  assert set(slim_shapes) == {row.slim for row in table.rows}
  ckpt_helpers.assert_rows_give_slim_shapes(table, keras_shapes, slim_shapes)
  assert sum(r.transform == 'depthwise_grouped_32' for r in table.rows) == (
      sum(n.endswith('/conv2/weights') for n in slim_shapes))


def test_keras_to_slim_reproduces_keras(keras50):
  _, keras_logits, prefix, summary = keras50
  assert summary['model'] == 'resnext50_32x4d'
  assert any('1.001e-05' in m for m in summary['messages'])
  ours = _ours(prefix)
  ckpt_helpers.assert_same_predictions(ours, keras_logits)


def test_depthwise_kernel_needs_the_transform(keras50, tmp_path):
  """Reading K [3, 3, 128, 4] as a grouped filter unpermuted is wrong."""
  path, keras_logits, prefix, _ = keras50
  values = ckpt_helpers.read_all(prefix)
  source = ckpt_helpers.read_all(path)
  table = mappings.get_table('resnext50_32x4d', 'keras')
  for row in table.rows:
    if row.transform.startswith('depthwise_grouped'):
      k = source[row.source]
      values[row.slim] = np.ascontiguousarray(
          k.reshape(k.shape[0], k.shape[1], k.shape[3], k.shape[2]))
  npz = str(tmp_path / 'naive.npz')
  np.savez(npz, **values)
  naive = str(tmp_path / 'naive.ckpt')
  convert.convert(npz, naive)
  assert ckpt_helpers.relative_difference(_ours(naive), keras_logits) > 1e-2


def test_slim_to_keras_loads_in_keras_applications(keras50, tmp_path):
  """slim -> Keras .h5 loads by layer order; slim -> Keras -> slim exact."""
  _, keras_logits, prefix, _ = keras50
  ckpt_helpers.assert_keras_round_trip(
      prefix, tmp_path, _keras_model(seed=7),
      lambda model: _keras_logits(model, _images()), keras_logits)


def test_slim_checkpoint_to_keras(tmp_path):
  """A checkpoint of our resnext50_32x4d gives our logits in Keras."""
  prefix = str(tmp_path / 'ours.ckpt')
  ckpt_helpers.save_graph_checkpoint('resnext50_32x4d', 1000, prefix, seed=3)
  h5 = str(tmp_path / 'ours.h5')
  summary = convert.convert(prefix, h5)
  assert summary['model'] == 'resnext50_32x4d'
  net = _keras_model(randomise=False)
  net.load_weights(h5)
  keras_logits = _keras_logits(net, _images())
  ours = _ours(prefix)
  ckpt_helpers.assert_same_predictions(ours, keras_logits)


def test_verify_and_inspect(keras50, capsys):
  path, _, prefix, _ = keras50
  result = verify.verify(path, prefix, 'resnext50_32x4d', image_size=_SIZE,
                         batch_size=2)
  assert result['max_rel'] <= 1e-4
  assert result['top1_agree'] == 2
  assert '1.001e-05' in result['messages'][0]
  assert cli.main(['verify', path, prefix, '--model', 'resnext50_32x4d',
                   '--image-size', str(_SIZE), '--batch-size', '2']) == 0
  assert cli.main(['inspect', '--no-tensors', path]) == 0
  assert 'model:      resnext50_32x4d (1000 classes)' in (
      capsys.readouterr().out)
