"""The zoo's conversion pairs, each against its source framework.

For every pair of `_PAIRS` (a slim model and a Keras application, a Keras 3
application, a torchvision or a timm model), with random weights and
randomised batch-norm statistics in the source framework (no download):

- the table lists exactly the source model's weights, in its order, and
  each row's transform turns the source's shape into our variable's;
- source -> slim checkpoint: our network (the registered model, or the
  variant the table names) gives the source's logits within 1e-5 of the
  largest logit, with the same top-1, at the pair's image size (the
  network's default size for one pair of each family at least). The torch
  sources are evaluated in float64 for this (torch's own float32 logits
  are up to 4e-6 from those here);
- slim -> source format: the source framework loads the file (strictly)
  and gives its own logits bit for bit; source -> slim -> source is
  bit-exact.

The torch side runs in child processes (importing torch next to TensorFlow
can crash): see `ckpt_helpers.torch_reference`.
"""

import collections
import subprocess
import sys

import numpy as np
import pytest

import ckpt_helpers
from checkpoints_tools import convert
from checkpoints_tools import mappings
from checkpoints_tools import transforms
from checkpoints_tools import verify
from nets import registry

# model: the slim model; naming: the table's; source: 'tf_keras:<class>',
# 'keras:<class>' (Keras 3), 'torchvision:<name>' or 'timm:<name>'; size: the
# image size compared at; ext: the source file's extension; gain: the
# source's random conv kernels, relative to He-normal (0.9 for MobileNetV3
# Large and MobileNetV2 1.4: at 1.0 their random activations grow to logits
# of 1000-2500 (V3 Large), where the sources' own float32 logits are 7e-6 to
# 2e-5 from float64; at 0.9 they stay ~10-20 and every input still moves
# them by 15-30%). Every pair is compared with the source run in float64.
Pair = collections.namedtuple('Pair', ['model', 'naming', 'source', 'size',
                                       'ext', 'gain'], defaults=[1.0])

_PAIRS = [
    Pair('vgg_16', 'keras', 'tf_keras:VGG16', 224, '.h5'),
    Pair('vgg_19', 'keras3', 'keras:VGG19', 224, '.weights.h5'),
    Pair('vgg_16', 'torch', 'torchvision:vgg16', 224, '.safetensors'),
    Pair('vgg_a', 'torch', 'torchvision:vgg11', 224, '.safetensors'),
    Pair('mobilenet_v1', 'keras', 'tf_keras:MobileNet', 224, '.h5'),
    Pair('mobilenet_v1_025', 'keras3', 'keras:MobileNet', 128, '.weights.h5'),
    Pair('mobilenet_v2', 'keras', 'tf_keras:MobileNetV2', 224, '.h5'),
    Pair('mobilenet_v2_140', 'keras3', 'keras:MobileNetV2', 128,
         '.weights.h5', gain=0.9),
    Pair('mobilenet_v3_small', 'keras', 'tf_keras:MobileNetV3Small', 224,
         '.h5'),
    Pair('mobilenet_v3_large', 'keras3', 'keras:MobileNetV3Large', 96,
         '.weights.h5', gain=0.9),
    Pair('mobilenet_v3_small_minimalistic', 'keras3',
         'keras:MobileNetV3Small', 97, '.weights.h5'),
    Pair('inception_v3', 'keras', 'tf_keras:InceptionV3', 299, '.h5'),
    Pair('inception_v3', 'keras3', 'keras:InceptionV3', 139, '.weights.h5'),
    Pair('inception_resnet_v2', 'keras', 'tf_keras:InceptionResNetV2', 299,
         '.h5'),
    Pair('inception_resnet_v2', 'keras3', 'keras:InceptionResNetV2', 139,
         '.weights.h5'),
    Pair('timm_inception_resnet_v2', 'torch', 'timm:inception_resnet_v2', 139,
         '.safetensors'),
    Pair('timm_inception_v4', 'torch', 'timm:inception_v4', 299,
         '.safetensors'),
    Pair('torchvision_inception_v3', 'torch', 'torchvision:inception_v3', 299,
         '.safetensors'),
    Pair('timm_inception_v3', 'torch', 'timm:inception_v3', 299,
         '.safetensors'),
    Pair('mobilenet_v2', 'torch', 'torchvision:mobilenet_v2', 224,
         '.safetensors'),
    Pair('mobilenet_v3_small', 'torch', 'torchvision:mobilenet_v3_small', 224,
         '.safetensors'),
    Pair('timm_mobilenetv2_100', 'torch', 'timm:mobilenetv2_100', 224,
         '.safetensors'),
    Pair('timm_mobilenetv3_small_100', 'torch', 'timm:mobilenetv3_small_100',
         224, '.safetensors'),
    Pair('timm_tf_mobilenetv3_small_100', 'torch',
         'timm:tf_mobilenetv3_small_100', 224, '.safetensors'),
    Pair('mobilenet_v3_small_minimalistic', 'torch',
         'timm:tf_mobilenetv3_small_minimal_100', 224, '.safetensors'),
    Pair('timm_mobilenetv2_140', 'torch', 'timm:mobilenetv2_140', 128,
         '.safetensors', gain=0.9),
    Pair('mobilenet_v3_large_minimalistic', 'torch',
         'timm:tf_mobilenetv3_large_minimal_100', 128, '.safetensors'),
    Pair('mobilenet_v3_large', 'torch', 'torchvision:mobilenet_v3_large', 224,
         '.safetensors', gain=0.9),
    Pair('timm_mobilenetv3_large_100', 'torch', 'timm:mobilenetv3_large_100',
         128, '.safetensors', gain=0.9),
    Pair('timm_tf_mobilenetv3_large_100', 'torch',
         'timm:tf_mobilenetv3_large_100', 128, '.safetensors', gain=0.9),
]
# Pairs whose tables are only checked against the source's weight list.
_TABLE_ONLY = [
    Pair('vgg_19', 'keras', 'tf_keras:VGG19', 224, '.h5'),
    Pair('vgg_16', 'keras3', 'keras:VGG16', 224, '.weights.h5'),
    Pair('vgg_19', 'torch', 'torchvision:vgg19', 224, '.safetensors'),
    Pair('mobilenet_v1_075', 'keras', 'tf_keras:MobileNet', 224, '.h5'),
    Pair('mobilenet_v1_050', 'keras3', 'keras:MobileNet', 160, '.weights.h5'),
    Pair('mobilenet_v3_large_minimalistic', 'keras', 'tf_keras:MobileNetV3Large',
         224, '.h5'),
]


def _id(pair):
  return '%s-%s' % (pair.model, pair.source.replace(':', '.'))


def _keras_module(library):
  if library == 'tf_keras':
    return pytest.importorskip('tf_keras')
  keras = pytest.importorskip('keras')
  if not keras.__version__.startswith('3.'):
    pytest.skip('needs Keras 3, found %s' % keras.__version__)
  return keras


def _keras_application(pair):
  library, name = pair.source.split(':')
  keras = _keras_module(library)
  keras.backend.clear_session()
  return getattr(keras.applications, name)(
      weights=None, input_shape=(pair.size, pair.size, 3),
      classifier_activation=None,
      **mappings.get_table(pair.model, pair.naming).source_kwargs)


def _keras_model(pair, seed=0):
  return ckpt_helpers.randomize_keras_weights(_keras_application(pair), seed,
                                              gain=pair.gain)


def _keras_float64_logits(pair, model, images):
  """The logits of `model` (of `pair`) on `images`, computed in float64 by
  the same application built with float64 layers."""
  library = pair.source.split(':')[0]
  keras = _keras_module(library)
  weights = model.get_weights()
  floatx = keras.backend.floatx()
  keras.backend.set_floatx('float64')
  if library == 'tf_keras':
    restore = lambda: keras.backend.set_floatx(floatx)
  else:
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy('float64')

    def restore():
      keras.backend.set_floatx(floatx)
      keras.config.set_dtype_policy(policy)
  try:
    exact = _keras_application(pair)
    exact.set_weights([w.astype(np.float64) for w in weights])
    logits = exact.predict(images.astype(np.float64), verbose=0)
  finally:
    restore()
  assert logits.dtype == np.float64
  return logits


def _keras_shapes(pair, model):
  """{table source name: shape}, in the model's weight order.

  Keras 3 names weights by class and count (and calls a depthwise kernel
  'kernel'): its names follow from the tf_keras table's rows, which must
  list the Keras 3 model's weights in order (their shapes are checked
  through the rows' transforms; Keras 3 renames some layers, e.g.
  MobileNetV3's 'Conv/BatchNorm' is 'conv_bn').
  """
  if pair.naming == 'keras':
    return ckpt_helpers.keras_weight_shapes(model)
  from checkpoints_tools.mappings import keras3  # pylint: disable=g-import-not-at-top
  rows = mappings.get_table(pair.model, 'keras').rows
  shapes = [tuple(w.shape) for layer in model.layers for w in layer.weights]
  assert len(rows) == len(shapes)
  names = keras3.keras3_names(rows)
  return {names[row.source]: shape for row, shape in zip(rows, shapes)}


def _source_shapes(pair):
  if pair.naming == 'torch':
    ckpt_helpers.require_modules(pair.source.split(':')[0])
    return collections.OrderedDict(
        (key, shape) for key, shape in
        ckpt_helpers.torch_state_dict_shapes(pair.source)
        if not key.endswith('num_batches_tracked'))
  return _keras_shapes(pair, _keras_model(pair))


@pytest.mark.parametrize('pair', _PAIRS + _TABLE_ONLY, ids=_id)
def test_table_lists_the_source_weights(pair):
  shapes = _source_shapes(pair)
  table = mappings.get_table(pair.model, pair.naming)
  assert [row.source for row in table.rows] == list(shapes)
  slim_shapes = dict(mappings.slim_variables(pair.model, 1000))
  for row in table.rows:
    assert transforms.get(row.transform).shape_to_slim(
        shapes[row.source]) == slim_shapes[row.slim], row


def _saved_source(pair, folder, images):
  """(the source's weights file, its logits on `images`, the same computed
  in float64: the source network evaluated exactly, up to float64)."""
  if pair.naming == 'torch':
    ckpt_helpers.require_modules(pair.source.split(':')[0])
    path, logits = ckpt_helpers.save_torch_model(pair.source, folder, images,
                                                 gain=pair.gain)
    return path, logits, ckpt_helpers.exact_torch_logits(path)
  model = _keras_model(pair)
  path = str(folder / ('source' + pair.ext))
  model.save_weights(path)
  return (path, model.predict(images, verbose=0),
          _keras_float64_logits(pair, model, images))


def _source_logits(pair, path, images, folder):
  """Logits of a fresh source model loading `path` (strictly for torch)."""
  if pair.naming == 'torch':
    return ckpt_helpers.torch_logits(pair.source, path, images, folder)
  model = _keras_model(pair, seed=7)
  model.load_weights(path)
  return model.predict(images, verbose=0)


def _ours(pair, prefix, images):
  """Our network (the table's variant, if any) restored from `prefix`."""
  table = mappings.get_table(pair.model, pair.naming)
  return verify._slim_logits(table, pair.model, prefix, 1000, images)  # pylint: disable=protected-access


@pytest.mark.parametrize('pair', _PAIRS, ids=_id)
def test_source_to_slim_and_back(pair, tmp_path):
  images = ckpt_helpers.random_images(pair.size, seed=1, batch=2)
  path, logits, exact = _saved_source(pair, tmp_path, images)
  prefix = str(tmp_path / 'slim.ckpt')
  # timm's tf_ ports have the same tensors as its own models: named.
  summary = convert.convert(path, prefix, model=pair.model if
                            pair.model.startswith('timm_tf_') else None)
  assert summary['model'] == pair.model
  ours = _ours(pair, prefix, images)
  assert ckpt_helpers.relative_difference(ours, exact) <= 1e-5
  assert (ours.argmax(-1) == exact.argmax(-1)).all()
  back = str(tmp_path / ('back' + pair.ext))
  convert.convert(prefix, back)
  np.testing.assert_array_equal(
      _source_logits(pair, back, images, tmp_path), logits)
  ckpt_helpers.assert_same_tensors(path, back)


def test_slim_auxiliary_classifier_left_out_for_keras(tmp_path):
  """A slim inception_v3 checkpoint (AuxLogits, 1001 classes) converts to
  Keras' InceptionV3, which has no auxiliary classifier: its tensors are
  left out, saying so, and Keras gives our logits without class 0 (at
  299x299: below it slim names the aux 5x5 conv by its reduced kernel)."""
  size = 299
  prefix = str(tmp_path / 'slim.ckpt')
  ckpt_helpers.save_graph_checkpoint('inception_v3', 1001, prefix,
                                     image_size=size)
  h5 = str(tmp_path / 'keras.h5')
  summary = convert.convert(prefix, h5, num_classes=1000)
  left_out = [m for m in summary['messages'] if m.startswith('left out')]
  assert len(left_out) == 1 and 'left out: 10 tensor(s)' in left_out[0]
  assert 'InceptionV3/AuxLogits/' in left_out[0]
  images = ckpt_helpers.random_images(size, seed=1, batch=2)
  info = registry.get_model('inception_v3')
  ours = ckpt_helpers.run_slim(info.fn, prefix, images, info.arg_scope_fn(),
                               1001)[:, 1:]
  pair = Pair('inception_v3', 'keras', 'tf_keras:InceptionV3', size, '.h5')
  model = _keras_model(pair, seed=7)
  model.load_weights(h5)
  assert ckpt_helpers.relative_difference(
      model.predict(images, verbose=0), ours) <= 1e-5


@pytest.mark.parametrize('pair', [
    Pair('mobilenet_v3_small', 'keras', 'tf_keras:MobileNetV3Small', 224,
         '.h5'),
    Pair('timm_inception_resnet_v2', 'torch', 'timm:inception_resnet_v2', 139,
         '.safetensors'),
], ids=_id)
def test_inspect_and_verify_commands(pair, tmp_path, capsys):
  """The commands on a source file whose table names a variant: `inspect`
  recognises the model and says the source's preprocessing, `convert` then
  `verify` run both frameworks and agree."""
  from checkpoints_tools import cli  # pylint: disable=g-import-not-at-top
  images = ckpt_helpers.random_images(pair.size, seed=1, batch=1)
  path = _saved_source(pair, tmp_path, images)[0]
  assert cli.main(['inspect', path, '--no-tensors']) == 0
  out = capsys.readouterr().out
  assert 'model:      %s (1000 classes)' % pair.model in out
  table = mappings.get_table(pair.model, pair.naming)
  assert 'preprocessing: %s (what %s weights expect)' % (
      mappings.preprocessing(table), table.source_model) in out
  prefix = str(tmp_path / 'slim.ckpt')
  assert cli.main(['convert', path, prefix]) == 0
  out = capsys.readouterr().out
  assert 'variant: build checkpoints_tools.variants.%s' % table.variant in out
  assert cli.main(['verify', path, prefix, '--model', pair.model,
                   '--image-size', str(pair.size), '--batch-size', '2']) == 0
  out = capsys.readouterr().out
  assert 'top-1 agreement:               2/2' in out and 'OK' in out


_TO_PT = """
import sys
import torch
from safetensors.torch import load_file
torch.save(load_file(sys.argv[1]), sys.argv[2])
"""


def test_torch_pt_file_converts_like_safetensors(tmp_path):
  """A torch.save'd state dict (.pt) gives the same slim checkpoint, bit
  for bit, as the same tensors in .safetensors (through the command line:
  reading .pt imports torch, which must not join this TensorFlow process)."""
  pair = Pair('vgg_a', 'torch', 'torchvision:vgg11', 32, '.pt')
  images = ckpt_helpers.random_images(32, seed=1, batch=1)
  path = _saved_source(pair, tmp_path, images)[0]
  pt = str(tmp_path / 'vgg11.pt')
  subprocess.run([sys.executable, '-c', _TO_PT, path, pt], check=True,
                 capture_output=True)
  from_pt = str(tmp_path / 'from_pt.ckpt')
  ckpt_helpers.convert_in_child(pt, from_pt)
  from_safetensors = str(tmp_path / 'from_safetensors.ckpt')
  assert convert.convert(path, from_safetensors)['model'] == 'vgg_a'
  ckpt_helpers.assert_same_tensors(from_pt, from_safetensors)


def test_recorded_model_is_preferred_among_equal_tables():
  # torchvision's and timm's MobileNetV3 Small variants have the slim
  # variables of mobilenet_v3_small: only a file's metadata tells them apart.
  keys = [row.slim for row in
          mappings.get_table('mobilenet_v3_small', 'slim').rows]
  assert convert.detect_model(keys, 'slim') == 'mobilenet_v3_small'
  assert convert.detect_model(
      keys, 'slim', prefer='timm_mobilenetv3_small_100') == (
          'timm_mobilenetv3_small_100')
  # A recorded model whose table does not match is passed over.
  assert convert.detect_model(keys, 'slim', prefer='vgg_16') == (
      'mobilenet_v3_small')
