"""Random-weight checkpoints of our nets for the conversion tests."""

import numpy as np
import tensorflow as tf
import tf_slim as slim

from nets import registry


def random_values(model, num_classes, seed=0):
  """{slim name: random float32 array} for every variable of `model`."""
  from checkpoints_tools import mappings  # pylint: disable=g-import-not-at-top
  rng = np.random.RandomState(seed)
  values = {}
  for name, shape in mappings.slim_variables(model, num_classes):
    kind = name.rsplit('/', 1)[-1]
    if kind in ('gamma', 'moving_variance'):
      values[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    elif kind == 'weights':
      fan_in = int(np.prod(shape[:-1]))
      values[name] = (rng.normal(0, 1, shape) *
                      np.sqrt(2.0 / fan_in)).astype(np.float32)
    else:
      values[name] = rng.normal(0.0, 0.2, shape).astype(np.float32)
  return values


def save_graph_checkpoint(model, num_classes, prefix, seed=0, model_fn=None,
                          image_size=64):
  """Builds `model` (our nets), sets random values, saves with a Saver.

  Returns:
    The values saved, {slim name: array}.
  """
  info = registry.get_model(model)
  values = random_values(model, num_classes, seed)
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32,
                                      [1, image_size, image_size, 3])
    with slim.arg_scope(info.arg_scope_fn()):
      (model_fn or info.fn)(images, num_classes=num_classes,
                            is_training=False)
    variables = graph.get_collection('variables')
    assert {v.op.name for v in variables} == set(values)
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session() as sess:
      # One run feeding every initializer: no op added per variable.
      sess.run([v.initializer for v in variables],
               {v.initializer.inputs[1]: values[v.op.name]
                for v in variables})
      saver.save(sess, prefix, write_meta_graph=False)
  return values


def convert_in_child(src, dst):
  """`checkpoints_tools.cli convert SRC DST --quiet` in a child process (a
  .pt source imports torch, which must not join this TensorFlow process);
  asserts success and returns its stdout."""
  import os  # pylint: disable=g-import-not-at-top
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  from checkpoints_tools import convert  # pylint: disable=g-import-not-at-top
  result = subprocess.run(
      [sys.executable, '-m', 'checkpoints_tools.cli', 'convert', src, dst,
       '--quiet'], capture_output=True, text=True, check=False,
      cwd=os.path.dirname(os.path.dirname(convert.__file__)))
  assert result.returncode == 0, result.stderr[-2000:]
  return result.stdout


def run_slim(model_fn, prefix, images, arg_scope, num_classes):
  """Logits of `model_fn` restored from `prefix` on `images` (NHWC)."""
  graph = tf.Graph()
  with graph.as_default():
    inputs = tf.compat.v1.placeholder(tf.float32, images.shape)
    with slim.arg_scope(arg_scope):
      logits, _ = model_fn(inputs, num_classes=num_classes, is_training=False)
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session() as sess:
      saver.restore(sess, prefix)
      return sess.run(logits, {inputs: images})


def read_all(path):
  from checkpoints_tools import formats  # pylint: disable=g-import-not-at-top
  with formats.open_reader(path) as reader:
    return {k: reader.get(k) for k in reader.keys()}


def assert_same_tensors(path, other_path):
  """Both weights files hold the same names with bit-identical values."""
  first = read_all(path)
  second = read_all(other_path)
  assert sorted(first) == sorted(second)
  for key, value in first.items():
    np.testing.assert_array_equal(second[key], value, err_msg=key)


def relative_difference(actual, expected):
  """max|actual - expected| / max|expected|: logits of random nets are big."""
  return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


def random_images(size, seed=1, batch=2):
  """`batch` NHWC float32 images of `size` x `size` in [-1, 1]."""
  return np.random.RandomState(seed).uniform(
      -1, 1, (batch, size, size, 3)).astype(np.float32)


def randomize_keras_weights(model, seed=0, grouped_depthwise=False, gain=1.0):
  """Gives a Keras `model` random weights and batch-norm statistics.

  Kernels are He-initialised so activations keep their scale through deep
  nets; gamma and moving variances are drawn from [0.5, 1.5] and the other
  vectors around 0, so that every batch-norm parameter matters to the
  logits. `grouped_depthwise`: depthwise kernels stand for a grouped conv
  (keras-applications ResNeXt), whose fan-in spans the group's channels.
  `gain` scales the kernels (below 1 for networks whose random activations
  grow with depth).
  """
  rng = np.random.RandomState(seed)
  # Keras 3 calls a DepthwiseConv2D's kernel 'kernel': told by its layer.
  depthwise = {id(layer.weights[0]) for layer in model.layers
               if type(layer).__name__ == 'DepthwiseConv2D'}
  weights = []
  for weight in model.weights:
    shape = tuple(weight.shape)
    name = weight.name
    if 'gamma' in name or 'moving_variance' in name:
      weights.append(rng.uniform(0.5, 1.5, shape))
    elif 'depthwise_kernel' in name or id(weight) in depthwise:
      fan_in = shape[0] * shape[1] * (shape[3] if grouped_depthwise else 1)
      weights.append(rng.normal(0, gain * np.sqrt(2.0 / fan_in), shape))
    elif 'kernel' in name:
      weights.append(rng.normal(0, gain * np.sqrt(2.0 / np.prod(shape[:-1])),
                                shape))
    else:  # beta, moving_mean, conv and dense biases
      weights.append(rng.normal(0, 0.2, shape))
  model.set_weights([w.astype(np.float32) for w in weights])
  return model


def assert_keras_round_trip(prefix, folder, fresh_model, logits_of,
                            expected_logits):
  """slim -> Keras .h5 -> Keras model, and back to slim, lose nothing.

  Converts the slim checkpoint `prefix` to a weights-only .h5 in `folder`,
  loads it into `fresh_model` (a Keras model with other weights) and
  requires `logits_of(fresh_model)` to equal `expected_logits` bit for bit;
  then converts the .h5 back and requires the same tensors as `prefix`.

  Returns:
    The summary of the .h5 -> slim conversion.
  """
  from checkpoints_tools import convert  # pylint: disable=g-import-not-at-top
  h5 = str(folder / 'back.h5')
  convert.convert(prefix, h5)
  fresh_model.load_weights(h5)
  np.testing.assert_array_equal(logits_of(fresh_model), expected_logits)
  back = str(folder / 'back.ckpt')
  summary = convert.convert(h5, back)
  assert_same_tensors(prefix, back)
  return summary


def assert_same_predictions(actual, expected, rel=1e-4):
  """Logits within `rel` of the largest logit, and the same top-1."""
  assert relative_difference(actual, expected) <= rel
  assert (actual.argmax(-1) == expected.argmax(-1)).all()


def keras_weight_shapes(model):
  """{'<layer>/<weight>': shape} of a Keras model, in its layer order.

  The keys are the source names the Keras tables of
  `checkpoints_tools.mappings` use.
  """
  return {layer.name + '/' + weight.name.split('/')[-1].split(':')[0]:
          tuple(weight.shape)
          for layer in model.layers for weight in layer.weights}


def assert_rows_give_slim_shapes(table, source_shapes, slim_shapes):
  """Each row's transform turns its source's shape into its slim variable's."""
  from checkpoints_tools import transforms  # pylint: disable=g-import-not-at-top
  for row in table.rows:
    assert transforms.get(row.transform).shape_to_slim(
        source_shapes[row.source]) == slim_shapes[row.slim], row



def require_modules(*names):
  """Skips the test (or module) unless every module of `names` is installed.

  Not importorskip: importing torch into this TensorFlow process can crash
  it, so the torch side runs in child processes (`torch_reference`).
  """
  import importlib.util  # pylint: disable=g-import-not-at-top
  import pytest  # pylint: disable=g-import-not-at-top
  for name in names:
    if importlib.util.find_spec(name) is None:
      pytest.skip('%s is not installed' % name, allow_module_level=True)


# The torch side of the conversion tests. MODEL is 'torchvision:<name>' or
# 'timm:<name>' (no pretrained weights: nothing is downloaded).
#   shapes MODEL                        prints [[key, shape], ...] (JSON) of
#                                       its state dict, in order
#   save MODEL SEED GAIN WEIGHTS IMAGES OUT
#                                       random weights (conv kernels GAIN
#                                       times He-normal) and batch-norm
#                                       statistics; saves the state dict with
#                                       safetensors.torch.save_file (with
#                                       num_batches_tracked) and the logits
#                                       on IMAGES (.npy, NHWC), and in
#                                       OUT_64.npy those of the same network
#                                       in float64
#   load MODEL WEIGHTS IMAGES OUT       a fresh model, load_state_dict(strict)
#                                       of WEIGHTS (.safetensors), logits
_TORCH_REFERENCE_SCRIPT = r'''
import json
import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file


def build(model):
  library, name = model.split(':')
  if library == 'timm':
    import timm
    return timm.create_model(name, pretrained=False)
  import torchvision
  return getattr(torchvision.models, name)(weights=None)


def randomize(net, seed, gain):
  # He-normal kernels keep activations in scale through deep nets; gamma
  # and variances in [0.5, 1.5] and the other vectors around 0 make every
  # batch-norm parameter matter to the logits.
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for m in net.modules():
      if isinstance(m, torch.nn.BatchNorm2d):
        m.weight.uniform_(0.5, 1.5, generator=g)
        m.bias.normal_(0, 0.2, generator=g)
        m.running_mean.normal_(0, 0.2, generator=g)
        m.running_var.uniform_(0.5, 1.5, generator=g)
      elif isinstance(m, torch.nn.Conv2d):
        m.weight.normal_(0, gain * (2.0 / m.weight[0].numel()) ** 0.5,
                         generator=g)
      elif isinstance(m, torch.nn.Linear):
        m.weight.normal_(0, m.weight.shape[1] ** -0.5, generator=g)
        m.bias.normal_(0, 0.2, generator=g)


def logits(net, images, out, exact=False):
  net.eval()
  x = torch.from_numpy(np.load(images).transpose(0, 3, 1, 2).copy())
  with torch.no_grad():
    np.save(out, net(x).numpy())
    if exact:
      np.save(out[:-len('.npy')] + '_64.npy', net.double()(x.double()).numpy())


action, model = sys.argv[1:3]
net = build(model)
if action == 'shapes':
  print(json.dumps([[k, list(v.shape)] for k, v in net.state_dict().items()]))
elif action == 'save':
  seed, gain, weights, images, out = sys.argv[3:]
  randomize(net, int(seed), float(gain))
  save_file(net.state_dict(), weights)
  logits(net, images, out, exact=True)
else:
  weights, images, out = sys.argv[3:]
  net.load_state_dict(load_file(weights), strict=True)
  logits(net, images, out)
'''


def torch_reference(*args):
  """Runs the torch reference script (above) with `args` in a child Python.

  Returns:
    Its stdout.

  Raises:
    AssertionError: the child failed (with its last stderr line).
  """
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  result = subprocess.run(
      [sys.executable, '-c', _TORCH_REFERENCE_SCRIPT] + [str(a) for a in args],
      capture_output=True, text=True, check=False)
  if result.returncode:
    lines = result.stderr.strip().splitlines() or ['status %d' %
                                                   result.returncode]
    raise AssertionError('torch reference %s failed: %s' % (args[:2],
                                                           lines[-1]))
  return result.stdout


def torch_state_dict_shapes(model):
  """[(key, shape)] of the state dict of `model` ('timm:xception41'...)."""
  import json  # pylint: disable=g-import-not-at-top
  pairs = json.loads(torch_reference('shapes', model).strip().splitlines()[-1])
  return [(key, tuple(shape)) for key, shape in pairs]


def save_torch_model(model, folder, images, seed=0, gain=1.0):
  """`model` with random weights, saved as `<folder>/<name>.safetensors`.

  Args:
    model: 'torchvision:<name>' or 'timm:<name>'.
    folder: a pathlib folder.
    images: NHWC float32 images.
    seed: of the random weights.
    gain: the conv kernels' scale, relative to He-normal (below 1 for
      networks whose random activations grow with depth).

  Returns:
    (the safetensors path, the model's logits on `images`).
  """
  stem = str(folder / model.split(':')[1])
  np.save(stem + '_images.npy', images)
  torch_reference('save', model, seed, gain, stem + '.safetensors',
                  stem + '_images.npy', stem + '_logits.npy')
  return stem + '.safetensors', np.load(stem + '_logits.npy')


def exact_torch_logits(path):
  """The float64 logits `save_torch_model` computed for the file `path`
  (its source network evaluated exactly, up to float64)."""
  return np.load(path[:-len('.safetensors')] + '_logits_64.npy')


def torch_logits(model, weights, images, folder):
  """Logits on `images` of a fresh `model` strictly loading `weights`."""
  stem = str(folder / ('load_' + model.split(':')[1]))
  np.save(stem + '_images.npy', images)
  torch_reference('load', model, weights, stem + '_images.npy',
                  stem + '_logits.npy')
  return np.load(stem + '_logits.npy')
