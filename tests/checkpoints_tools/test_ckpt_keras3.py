"""Keras 3 `.weights.h5` <-> slim: ResNet50V2, ResNet50 (v1) and Xception.

The reference is Keras 3 (`keras.applications`, random weights, no
download): a Keras 3 file converted to a slim checkpoint must give Keras 3's
logits to 1e-4 (relative to the largest logit) in the net that reproduces
it, and a slim checkpoint written as `.weights.h5` must load with Keras 3
`model.load_weights` and give the same logits bit for bit. The Keras 3
names (`layers/conv2d_3/vars/0`) are matched by position: each table row is
checked against the Keras 3 weight of the same tf_keras layer name.
"""

import os

import h5py
import numpy as np
import pytest

import ckpt_helpers
from checkpoints_tools import cli as ckpt_cli
from checkpoints_tools import convert
from checkpoints_tools import formats
from checkpoints_tools import mappings
from checkpoints_tools import variants
from nets import resnet_v2
from nets import xception

keras = pytest.importorskip('keras')
if not keras.__version__.startswith('3.'):
  pytest.skip('needs Keras 3, found keras %s' % keras.__version__,
              allow_module_level=True)

_SIZE = 64
# Keras Xception needs at least 71x71 inputs.
_XCEPTION_SIZE = 71


def _keras3_model(name, seed=0, size=_SIZE):
  """A Keras 3 keras.applications `name` (logits out), random weights."""
  keras.backend.clear_session()
  model = getattr(keras.applications, name)(
      weights=None, input_shape=(size, size, 3), classifier_activation=None)
  return ckpt_helpers.randomize_keras_weights(model, seed)


def _images(size=_SIZE):
  return ckpt_helpers.random_images(size, seed=1, batch=2)


def _saved(model, folder, name):
  path = str(folder / (name + '.weights.h5'))
  model.save_weights(path)
  return path


@pytest.fixture(scope='module')
def resnet50v2(module_tmp_factory):
  """(Keras 3 ResNet50V2, its .weights.h5, its logits on _images())."""
  model = _keras3_model('ResNet50V2')
  path = _saved(model, module_tmp_factory.mktemp('keras3'), 'resnet50v2')
  return model, path, model.predict(_images(), verbose=0)


def _assert_rows_hold_keras3_weights(model, path, table):
  """Each row's Keras 3 dataset holds the weight of the row's tf_keras name.

  Positional names are checked against the model's own names: the tf_keras
  table names the layer and weight, Keras 3's `weight.path` is
  `<layer name>/<weight name>` too.
  """
  by_path = {w.path: w.numpy() for w in model.weights}
  keras_table = mappings.get_table(table.model, 'keras')
  assert len(keras_table.rows) == len(table.rows) == len(by_path)
  with formats.open_reader(path) as reader:
    assert reader.format == 'keras3'
    assert sorted(reader.keys()) == sorted(r.source for r in table.rows)
    for keras_row, row in zip(keras_table.rows, table.rows):
      assert keras_row.slim == row.slim
      np.testing.assert_array_equal(reader.get(row.source),
                                    by_path[keras_row.source],
                                    err_msg=row.source)


def test_positional_names_match_keras3(resnet50v2):
  model, path, _ = resnet50v2
  _assert_rows_hold_keras3_weights(
      model, path, mappings.get_table('resnet_v2_50', 'keras3'))


def test_detection_and_destination_format(resnet50v2, tmp_path):
  _, path, _ = resnet50v2
  assert formats.detect(path) == 'keras3'
  assert formats.format_from_extension('x.weights.h5') == 'keras3'
  assert formats.format_from_extension('x.h5') == 'keras'
  # A Keras 3 file without the .weights.h5 suffix is still recognised.
  renamed = str(tmp_path / 'weights.bin.h5')
  os.symlink(path, renamed)
  assert formats.detect(renamed) == 'keras3'
  with pytest.raises(formats.FormatError, match='read it as format keras3'):
    formats.open_reader(path, 'keras')


def _variant_v2_logits(prefix, images=None):
  return ckpt_helpers.run_slim(
      variants.keras_resnet_v2_50, prefix,
      _images() if images is None else images,
      resnet_v2.resnet_arg_scope(
          **variants.arg_scope_kwargs('keras_resnet_v2_50')), 1000)


def test_keras3_to_slim_reproduces_keras3(resnet50v2, tmp_path):
  _, path, keras_logits = resnet50v2
  prefix = str(tmp_path / 'from_keras3.ckpt')
  summary = convert.convert(path, prefix)
  assert summary['model'] == 'resnet_v2_50'
  assert summary['format'] == 'keras3'
  assert summary['preprocessing'] == 'tf'
  assert any('keras_resnet_v2_50' in m for m in summary['messages'])
  ours = _variant_v2_logits(prefix)
  ckpt_helpers.assert_same_predictions(ours, keras_logits)


def test_slim_to_keras3_loads_in_keras3(resnet50v2, tmp_path):
  """slim -> .weights.h5 loads in a fresh Keras 3 model; round trips exact."""
  _, path, keras_logits = resnet50v2
  prefix = str(tmp_path / 'from_keras3.ckpt')
  convert.convert(path, prefix)
  back = str(tmp_path / 'back.weights.h5')
  convert.convert(prefix, back)
  # Written in a temporary folder (a hidden name), published from there.
  assert not [f for f in os.listdir(tmp_path) if f.startswith('.')]
  fresh = _keras3_model('ResNet50V2', seed=7)
  fresh.load_weights(back)
  np.testing.assert_array_equal(fresh.predict(_images(), verbose=0),
                                keras_logits)
  # Keras 3 -> slim -> Keras 3 and slim -> Keras 3 -> slim: bit-exact.
  ckpt_helpers.assert_same_tensors(path, back)
  again = str(tmp_path / 'again.ckpt')
  convert.convert(back, again)
  ckpt_helpers.assert_same_tensors(prefix, again)


def test_slim_1001_to_keras3(tmp_path):
  prefix = str(tmp_path / 'v2.ckpt')
  values = ckpt_helpers.save_graph_checkpoint('resnet_v2_50', 1001, prefix)
  dst = str(tmp_path / 'k.weights.h5')
  convert.convert(prefix, dst, num_classes=1000)
  model = _keras3_model('ResNet50V2', seed=3)
  model.load_weights(dst)
  np.testing.assert_array_equal(
      model.get_layer('predictions').kernel.numpy(),
      values['resnet_v2_50/logits/weights'][0, 0, :, 1:])


def _copy_with(path, dst, edit):
  """Copies the HDF5 file `path` to `dst` and applies `edit(h5 file)`."""
  with open(path, 'rb') as f, open(dst, 'wb') as g:
    g.write(f.read())
  with h5py.File(dst, 'r+') as h5file:
    edit(h5file)
  return dst


def test_bad_files_refused_nothing_written(resnet50v2, tmp_path):
  _, path, _ = resnet50v2
  out = str(tmp_path / 'out.ckpt')

  def reshape(h5file):
    del h5file['layers/conv2d_3/vars/0']
    h5file['layers/conv2d_3/vars/0'] = np.zeros((1, 1, 64, 65), np.float32)

  def extra(h5file):
    h5file['layers/conv2d_99/vars/0'] = np.zeros((3,), np.float32)

  def missing(h5file):
    del h5file['layers/batch_normalization_7/vars/2']

  for edit, message in ((reshape, r'layers/conv2d_3/vars/0 .*\[1, 1, 64, 65\]'),
                        (extra, 'unexpected.*layers/conv2d_99/vars/0'),
                        (missing, 'missing: layers/batch_normalization_7/'
                                  'vars/2')):
    bad = _copy_with(path, str(tmp_path / ('bad_%s.weights.h5' %
                                           edit.__name__)), edit)
    with pytest.raises(convert.ConversionError, match=message) as error:
      convert.convert(bad, out, model='resnet_v2_50')
    assert '\n' not in str(error.value)
    assert not os.path.exists(out + '.index')
  with pytest.raises(ValueError, match='not layers/<layer>/vars/<i>'):
    with formats.open_writer(str(tmp_path / 'x.weights.h5')) as writer:
      writer.add('conv1_conv/kernel', np.zeros(1))
  assert not os.path.exists(str(tmp_path / 'x.weights.h5'))


def test_inspect_recognises_keras3(resnet50v2, capsys):
  _, path, _ = resnet50v2
  status = ckpt_cli.main(['inspect', path, '--no-tensors'])
  out, _ = capsys.readouterr()
  assert status == 0
  assert 'format:     keras3' in out
  assert 'model:      resnet_v2_50 (1000 classes)' in out
  assert 'preprocessing: tf' in out


def test_verify_against_keras3(resnet50v2, tmp_path):
  from checkpoints_tools import verify  # pylint: disable=g-import-not-at-top
  _, path, _ = resnet50v2
  prefix = str(tmp_path / 'v.ckpt')
  convert.convert(path, prefix)
  result = verify.verify(path, prefix, 'resnet_v2_50', image_size=_SIZE,
                         batch_size=2)
  assert result['max_rel'] <= 1e-4
  assert result['top1_agree'] == 2


# --- ResNet50 (v1) and Xception ------------------------------------------


@pytest.mark.parametrize('name,model,size', [
    ('ResNet50', 'keras_resnet_v1_50', _SIZE),
    ('Xception', 'xception_keras', _XCEPTION_SIZE)])
def test_other_models_read_and_write(name, model, size, tmp_path):
  """Keras 3 -> slim reproduces Keras 3; slim -> Keras 3 loads exactly."""
  keras_model = _keras3_model(name, size=size)
  path = _saved(keras_model, tmp_path, name)
  images = _images(size)
  keras_logits = keras_model.predict(images, verbose=0)
  _assert_rows_hold_keras3_weights(keras_model, path,
                                   mappings.get_table(model, 'keras3'))
  prefix = str(tmp_path / 'slim.ckpt')
  summary = convert.convert(path, prefix)
  assert summary['model'] == model
  if model == 'xception_keras':
    ours = ckpt_helpers.run_slim(xception.xception_keras, prefix, images,
                                 xception.xception_keras_arg_scope(), 1000)
  else:
    ours = ckpt_helpers.run_slim(variants.keras_resnet_v1_50, prefix, images,
                                 variants.arg_scope(model), 1000)
  ckpt_helpers.assert_same_predictions(ours, keras_logits)
  back = str(tmp_path / 'back.weights.h5')
  convert.convert(prefix, back)
  ckpt_helpers.assert_same_tensors(path, back)
  fresh = _keras3_model(name, seed=7, size=size)
  fresh.load_weights(back)
  np.testing.assert_array_equal(fresh.predict(images, verbose=0),
                                keras_logits)


def test_unknown_layer_class_is_one_line_error():
  from checkpoints_tools.mappings import keras3  # pylint: disable=g-import-not-at-top
  assert keras3.keras_class('l', ('depthwise_kernel', 'bias'),
                            'identity') == 'depthwise_conv2d'
  with pytest.raises(ValueError, match='class of layer stem_ln .*weights '
                     'scale, offset'):
    keras3.keras_class('stem_ln', ('scale', 'offset'), 'identity')
  # Only models Keras 3 ships get a table (not keras-applications' ResNeXt).
  assert 'resnext50_32x4d' not in mappings.models('keras3')
  assert 'resnet_v2_152' in mappings.models('keras3')
