"""tf_keras Xception <-> nets.xception.xception_keras.

The reference is tf_keras.applications.Xception with random weights and
randomised batch-norm statistics (no download), at 71x71 (Keras' minimum):
our network restored from the converted checkpoint must give Keras' logits
to 1e-4 relative to the largest logit with the same top-1; slim -> Keras
.h5 must load with tf_keras `model.load_weights` and give Keras' logits
bit for bit; slim -> Keras -> slim is bit-exact. Keras' unnamed residual
layers are built with other numbers than the table's (a model is built
before) to show they are matched by position, not by name.
"""

import pytest

import ckpt_helpers
from checkpoints_tools import convert
from checkpoints_tools import mappings
from nets import xception

tf_keras = pytest.importorskip('tf_keras')

_SIZE = 71
_MODEL = 'xception_keras'


def _keras_xception(seed=0, fresh=True):
  """tf_keras Xception (logits out) with random weights.

  With `fresh=False` another Xception is built first in the same session,
  so the unnamed residual layers are `conv2d_4..7`, not `conv2d..conv2d_3`.
  """
  if fresh:
    tf_keras.backend.clear_session()
  else:
    tf_keras.backend.clear_session()
    tf_keras.applications.Xception(weights=None, input_shape=(_SIZE, _SIZE, 3))
  model = tf_keras.applications.Xception(
      weights=None, input_shape=(_SIZE, _SIZE, 3), classifier_activation=None)
  return ckpt_helpers.randomize_keras_weights(model, seed)


def _images(seed=1, batch=4):
  return ckpt_helpers.random_images(_SIZE, seed, batch)


def _ours(prefix, num_classes=1000):
  return ckpt_helpers.run_slim(xception.xception_keras, prefix, _images(),
                               xception.xception_keras_arg_scope(),
                               num_classes)


@pytest.fixture(scope='module')
def keras_xception(module_tmp_factory):
  """(its weights .h5 with conv2d_4.. names, its logits on _images())."""
  model = _keras_xception(fresh=False)
  assert 'conv2d_4' in [l.name for l in model.layers]
  path = str(module_tmp_factory.mktemp('keras') / 'xception.h5')
  model.save_weights(path)
  return path, model.predict(_images(), verbose=0)


def test_spec_matches_graph():
  """The cheap spec equals the variables of the built graph, in order."""
  assert list(mappings.slim_variables(_MODEL, 1000)) == (
      mappings._graph_variables(_MODEL, 1000))  # pylint: disable=protected-access


def test_table_matches_keras_model():
  """Every Keras weight is mapped, in Keras' layer order, with our shapes."""
  model = _keras_xception(fresh=False)
  shapes = ckpt_helpers.keras_weight_shapes(model)
  keys = {key: key for key in shapes}
  table = mappings.get_table(_MODEL, 'keras')
  canonical = table.canonical(keys)
  assert 'conv2d_7/kernel' in keys and 'conv2d_3/kernel' not in keys
  assert [row.source for row in table.rows] == list(canonical)
  ckpt_helpers.assert_rows_give_slim_shapes(
      table, {source: shapes[canonical[source]] for source in canonical},
      dict(mappings.slim_variables(_MODEL, 1000)))
  # The k-th unnamed conv is the shortcut of the k-th 'conv' unit.
  assert canonical['conv2d_3/kernel'] == 'conv2d_7/kernel'
  assert table.by_source['conv2d_3/kernel'].slim == (
      'xception_keras/exit_flow/block1/unit_1/xception_module/shortcut/'
      'weights')


def test_keras_to_slim_reproduces_keras(keras_xception, tmp_path):
  path, keras_logits = keras_xception
  prefix = str(tmp_path / 'from_keras.ckpt')
  summary = convert.convert(path, prefix)
  assert summary['model'] == _MODEL
  ours = _ours(prefix)
  ckpt_helpers.assert_same_predictions(ours, keras_logits)


def test_slim_to_keras_round_trip(keras_xception, tmp_path):
  """slim -> .h5 loads in tf_keras with the same logits; slim -> .h5 ->
  slim is bit-exact."""
  path, keras_logits = keras_xception
  prefix = str(tmp_path / 'from_keras.ckpt')
  convert.convert(path, prefix)
  summary = ckpt_helpers.assert_keras_round_trip(
      prefix, tmp_path, _keras_xception(seed=7, fresh=False),
      lambda model: model.predict(_images(), verbose=0), keras_logits)
  assert summary['model'] == _MODEL


def test_verify_against_tf_keras(keras_xception, tmp_path):
  from checkpoints_tools import verify  # pylint: disable=g-import-not-at-top
  path, _ = keras_xception
  prefix = str(tmp_path / 'v.ckpt')
  convert.convert(path, prefix)
  result = verify.verify(path, prefix, _MODEL, image_size=_SIZE,
                         batch_size=2)
  assert result['max_rel'] <= 1e-4, result
  assert result['top1_agree'] == 2


def test_inspect_recognises_xception(keras_xception, capsys):
  """`slimnets inspect` names the model of a file with conv2d_4.. names."""
  from slimnets import cli  # pylint: disable=g-import-not-at-top
  path, _ = keras_xception
  assert cli.main(['inspect', path, '--no-tensors']) == 0
  out = capsys.readouterr().out
  assert 'model:      xception_keras (1000 classes)' in out
  assert 'preprocessing: tf' in out
