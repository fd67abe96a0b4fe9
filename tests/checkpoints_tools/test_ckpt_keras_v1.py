"""tf_keras ResNet50/101/152 (v1) <-> variants.keras_resnet_v1_50/101/152.

Keras' ResNet v1 is not slim's resnet_v1: stride on the 1x1 conv1 of the
first unit of a block, a bias on every conv, pool1 zero-padded 1 and VALID.
The reference is tf_keras.applications with random weights (BN statistics
randomised, no download): the converted checkpoint restored into the variant
must give Keras' logits to 1e-4 (relative to the largest logit), slim names
written as Keras .h5 must load with tf_keras `model.load_weights`, and slim's
own resnet_v1_50 must be measurably different (so it is never silently
offered as the same network).
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import ckpt_helpers
from checkpoints_tools import cli
from checkpoints_tools import convert
from checkpoints_tools import mappings
from checkpoints_tools import variants
from checkpoints_tools import verify
from nets import resnet_v1

tf_keras = pytest.importorskip('tf_keras')

_SIZE = 64
_KERAS_MODELS = {50: 'ResNet50', 101: 'ResNet101', 152: 'ResNet152'}


def _keras_model(depth, seed=0, randomise=True):
  """A tf_keras ResNet<depth> (logits out), random weights and BN stats."""
  tf_keras.backend.clear_session()
  model = getattr(tf_keras.applications, _KERAS_MODELS[depth])(
      weights=None, input_shape=(_SIZE, _SIZE, 3), classifier_activation=None)
  if not randomise:
    return model
  return ckpt_helpers.randomize_keras_weights(model, seed)


def _images(seed=1, batch=2):
  return ckpt_helpers.random_images(_SIZE, seed, batch)


def _variant_logits(prefix, num_classes=1000):
  return ckpt_helpers.run_slim(
      variants.keras_resnet_v1_50, prefix, _images(),
      variants.arg_scope('keras_resnet_v1_50'), num_classes)


@pytest.fixture(scope='module')
def keras50(module_tmp_factory):
  """(Keras weights .h5, its logits on _images(), converted slim prefix)."""
  model = _keras_model(50)
  tmp = module_tmp_factory.mktemp('keras_v1')
  path = str(tmp / 'resnet50.h5')
  model.save_weights(path)
  logits = model.predict(_images(), verbose=0)
  prefix = str(tmp / 'from_keras.ckpt')
  summary = convert.convert(path, prefix)
  return path, logits, prefix, summary


@pytest.mark.parametrize('depth', [50, 101, 152])
def test_table_matches_keras_model(depth):
  """Every Keras weight is mapped, in Keras' layer order, with our shapes."""
  model = _keras_model(depth, randomise=False)
  keras_shapes = ckpt_helpers.keras_weight_shapes(model)
  name = 'keras_resnet_v1_%d' % depth
  table = mappings.get_table(name, 'keras')
  assert table.variant == name
  assert [row.source for row in table.rows] == list(keras_shapes)
  slim_shapes = dict(mappings.slim_variables(name, 1000))
  assert set(slim_shapes) == {row.slim for row in table.rows}
  ckpt_helpers.assert_rows_give_slim_shapes(table, keras_shapes, slim_shapes)


@pytest.mark.parametrize('depth', [50, 101, 152])
def test_spec_matches_variant_graph(depth):
  """The cheap spec (the tables' slim side) is the variant's graph."""
  name = 'keras_resnet_v1_%d' % depth
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32, [1, _SIZE, _SIZE, 3])
    with slim.arg_scope(variants.arg_scope(name)):
      _, end_points = variants.get_variant(name)(images, num_classes=1000,
                                                 is_training=False)
    built = [(v.op.name, tuple(v.shape.as_list()))
             for v in graph.get_collection('variables')]
    assert (len(graph.get_collection('trainable_variables')) ==
            len(built) - 2 * sum('BatchNorm/moving_mean' in n
                                 for n, _ in built))
  spec = mappings.slim_variables(name, 1000)
  assert len(built) == len(spec)
  assert dict(built) == dict(spec)
  if depth == 50:
    # The same end points as slim's resnet_v1_50.
    graph = tf.Graph()
    with graph.as_default():
      images = tf.compat.v1.placeholder(tf.float32, [1, _SIZE, _SIZE, 3])
      with slim.arg_scope(resnet_v1.resnet_arg_scope()):
        _, slim_end_points = resnet_v1.resnet_v1_50(images, num_classes=1000,
                                                    is_training=False)
    assert list(end_points) == list(slim_end_points)
    # Keras' strides: conv2_block3_out is 16x16 at 64x64 (slim's block1: 8).
    assert end_points['resnet_v1_50/block1'].shape.as_list() == [1, 16, 16,
                                                                 256]


def test_keras_to_slim_reproduces_keras(keras50):
  _, keras_logits, prefix, summary = keras50
  assert summary['model'] == 'keras_resnet_v1_50'
  assert any('1.001e-05' in m for m in summary['messages'])
  assert any('variants.keras_resnet_v1_50' in m for m in summary['messages'])
  ours = _variant_logits(prefix)
  ckpt_helpers.assert_same_predictions(ours, keras_logits)


def test_plain_resnet_v1_50_is_not_keras(keras50, tmp_path):
  """slim's resnet_v1_50 is another function: refused, and measurably off."""
  path, keras_logits, prefix, _ = keras50
  with pytest.raises(convert.ConversionError, match='no keras mapping'):
    convert.convert(path, str(tmp_path / 'x.ckpt'), model='resnet_v1_50')
  with pytest.raises(convert.ConversionError, match='unexpected.*biases'):
    convert.convert(prefix, str(tmp_path / 'x.npz'), model='resnet_v1_50')
  # A Saver restoring resnet_v1_50's variables from the variant's checkpoint
  # succeeds (the biases are simply unused) and computes something else.
  plain = ckpt_helpers.run_slim(resnet_v1.resnet_v1_50, prefix, _images(),
                                resnet_v1.resnet_arg_scope(), 1000)
  assert ckpt_helpers.relative_difference(plain, keras_logits) > 1e-2


def test_slim_to_keras_loads_in_tf_keras(keras50, tmp_path):
  """slim -> Keras .h5 loads by layer order; slim -> Keras -> slim exact."""
  _, keras_logits, prefix, _ = keras50
  ckpt_helpers.assert_keras_round_trip(
      prefix, tmp_path, _keras_model(50, seed=7),
      lambda model: model.predict(_images(), verbose=0), keras_logits)


def test_slim_weights_to_keras(tmp_path):
  """Weights made on the slim side give the variant's logits in Keras."""
  values = ckpt_helpers.random_values('keras_resnet_v1_50', 1000, seed=5)
  npz = str(tmp_path / 'slim.npz')
  np.savez(npz, **values)
  prefix = str(tmp_path / 'slim.ckpt')
  assert convert.convert(npz, prefix)['model'] == 'keras_resnet_v1_50'
  h5 = str(tmp_path / 'slim.h5')
  convert.convert(prefix, h5)
  model = _keras_model(50, randomise=False)
  model.load_weights(h5)
  keras_logits = model.predict(_images(), verbose=0)
  ours = _variant_logits(prefix)
  ckpt_helpers.assert_same_predictions(ours, keras_logits)


def test_verify_and_inspect(keras50, capsys):
  path, _, prefix, _ = keras50
  result = verify.verify(path, prefix, 'keras_resnet_v1_50',
                         image_size=_SIZE, batch_size=2)
  assert result['max_rel'] <= 1e-4
  assert result['top1_agree'] == 2
  assert 'keras_resnet_v1_50' in result['messages'][0]
  assert cli.main(['verify', path, prefix, '--model', 'keras_resnet_v1_50',
                   '--image-size', str(_SIZE), '--batch-size', '2']) == 0
  assert cli.main(['inspect', '--no-tensors', path]) == 0
  assert 'model:      keras_resnet_v1_50 (1000 classes)' in (
      capsys.readouterr().out)
