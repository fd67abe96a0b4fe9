"""tf_keras ResNet50V2/101V2/152V2 <-> slim resnet_v2_50/101/152.

The reference is tf_keras.applications with random weights (no download):
the converted checkpoint in `variants.keras_resnet_v2_50` must give Keras'
logits to 1e-4 (relative to the largest logit), and a slim checkpoint
written as Keras .h5 must load with tf_keras `model.load_weights`.
"""

import numpy as np
import pytest
import tensorflow as tf

import ckpt_helpers
from checkpoints_tools import convert
from checkpoints_tools import mappings
from checkpoints_tools import variants
from nets import resnet_v2

tf_keras = pytest.importorskip('tf_keras')

_SIZE = 64
_KERAS_MODELS = {50: 'ResNet50V2', 101: 'ResNet101V2', 152: 'ResNet152V2'}


def _keras_model(depth, seed=0):
  """A tf_keras ResNet<depth>V2 (logits out) with random weights."""
  tf_keras.backend.clear_session()
  model = getattr(tf_keras.applications, _KERAS_MODELS[depth])(
      weights=None, input_shape=(_SIZE, _SIZE, 3), classifier_activation=None)
  return ckpt_helpers.randomize_keras_weights(model, seed)


def _images(seed=1, batch=2):
  return ckpt_helpers.random_images(_SIZE, seed, batch)


@pytest.fixture(scope='module')
def keras50(module_tmp_factory):
  """(Keras model, its weights .h5, its logits on _images())."""
  model = _keras_model(50)
  path = str(module_tmp_factory.mktemp('keras') / 'resnet50v2.h5')
  model.save_weights(path)
  return model, path, model.predict(_images(), verbose=0)


def _variant_logits(prefix, num_classes, model_fn=None):
  model_fn = model_fn or variants.keras_resnet_v2_50
  return ckpt_helpers.run_slim(
      model_fn, prefix, _images(),
      resnet_v2.resnet_arg_scope(
          **variants.arg_scope_kwargs('keras_resnet_v2_50')), num_classes)


@pytest.mark.parametrize('depth', [50, 101, 152])
def test_table_matches_keras_model(depth):
  """Every Keras weight is mapped, in Keras' layer order, with our shapes."""
  model = getattr(tf_keras.applications, _KERAS_MODELS[depth])(
      weights=None, input_shape=(_SIZE, _SIZE, 3))
  keras_shapes = ckpt_helpers.keras_weight_shapes(model)
  table = mappings.get_table('resnet_v2_%d' % depth, 'keras')
  assert [row.source for row in table.rows] == list(keras_shapes)
  ckpt_helpers.assert_rows_give_slim_shapes(
      table, keras_shapes,
      dict(mappings.slim_variables('resnet_v2_%d' % depth, 1000)))


def test_keras_to_slim_reproduces_keras(keras50, tmp_path):
  _, path, keras_logits = keras50
  prefix = str(tmp_path / 'from_keras.ckpt')
  summary = convert.convert(path, prefix)
  assert summary['model'] == 'resnet_v2_50'
  assert any('1.001e-05' in m for m in summary['messages'])
  assert any('keras_resnet_v2_50' in m for m in summary['messages'])
  ours = _variant_logits(prefix, 1000)
  ckpt_helpers.assert_same_predictions(ours, keras_logits)
  # slim's own resnet_v2_50 (SAME pool1) is measurably different: the
  # reason for the variant (docs/conversion.md records the numbers).
  same_pool = ckpt_helpers.run_slim(resnet_v2.resnet_v2_50, prefix,
                                    _images(), resnet_v2.resnet_arg_scope(),
                                    1000)
  assert ckpt_helpers.relative_difference(same_pool, keras_logits) > 1e-3


def test_keras_to_slim_1001_classes(keras50, tmp_path):
  _, path, keras_logits = keras50
  prefix = str(tmp_path / 'from_keras_1001.ckpt')
  summary = convert.convert(path, prefix, num_classes=1001)
  assert summary['dst_classes'] == 1001
  ours = _variant_logits(prefix, 1001)
  assert ckpt_helpers.relative_difference(ours[:, 1:], keras_logits) <= 1e-4
  assert (ours.argmax(-1) - 1 == keras_logits.argmax(-1)).all()


def test_slim_to_keras_loads_in_tf_keras(keras50, tmp_path):
  """slim -> Keras .h5 loads by layer order; slim -> Keras -> slim exact."""
  _, path, keras_logits = keras50
  prefix = str(tmp_path / 'from_keras.ckpt')
  convert.convert(path, prefix)
  ckpt_helpers.assert_keras_round_trip(
      prefix, tmp_path, _keras_model(50, seed=7),
      lambda model: model.predict(_images(), verbose=0), keras_logits)


def test_slim_1001_to_keras_needs_num_classes(tmp_path):
  prefix = str(tmp_path / 'v2.ckpt')
  values = ckpt_helpers.save_graph_checkpoint('resnet_v2_50', 1001, prefix)
  h5 = str(tmp_path / 'k.h5')
  convert.convert(prefix, h5, num_classes=1000)
  model = _keras_model(50, seed=3)
  model.load_weights(h5)
  kernel = model.get_layer('predictions').kernel.numpy()
  np.testing.assert_array_equal(
      kernel, values['resnet_v2_50/logits/weights'][0, 0, :, 1:])


def test_whole_model_h5_reads(keras50, tmp_path):
  model, path, _ = keras50
  whole = str(tmp_path / 'whole.h5')
  model.save(whole)
  from_weights = str(tmp_path / 'from_weights.npz')
  from_whole = str(tmp_path / 'from_whole.npz')
  convert.convert(path, from_weights)
  convert.convert(whole, from_whole)
  ckpt_helpers.assert_same_tensors(from_weights, from_whole)


@pytest.mark.parametrize('name', ['keras_resnet_v2_50', 'keras_resnet_v1_50'])
def test_variants_refuse_nchw_and_bad_inputs(name):
  from nets import runtime  # pylint: disable=g-import-not-at-top
  model_fn = variants.get_variant(name)
  with tf.Graph().as_default():
    images = tf.compat.v1.placeholder(tf.float32, [1, 64, 64, 3])
    # Graph only: device='gpu' builds NCHW whether or not this CPU runs it.
    with runtime.data_format_scope('NCHW', device='gpu'):
      with pytest.raises(ValueError, match='only NHWC'):
        model_fn(images, 10)
    flat = tf.compat.v1.placeholder(tf.float32, [1, 64, 64], name='flat')
    with pytest.raises(ValueError, match=r"inputs must be a rank-4 .*'flat"):
      model_fn(flat, 10)
