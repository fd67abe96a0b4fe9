"""Checks a converted slim checkpoint against its source model numerically.

The source model is built in its own framework (tf_keras for Keras .h5,
Keras 3 for Keras 3 `.weights.h5`, keras-applications 1.0.8 on tf_keras for
its ResNeXt, torch + torchvision for torchvision-named .safetensors / .pt,
torch + timm for timm-named ones (Xception), paddle.vision for .pdparams;
torch and paddle in a child process) with the source weights; ours is
the registered model under its arg scope with the source's batch-norm
epsilon, or the variant that reproduces the source architecture
(`Table.variant`, with the variant's arg scope), restored from the
converted checkpoint. Both get the same uniform [-1, 1] random images.

The source frameworks are imported here only, lazily: conversion itself
never needs them.

Typical use:

   from checkpoints_tools import verify
   result = verify.verify('resnet50v2.h5', 'resnet_v2_50.ckpt',
                          'resnet_v2_50', image_size=224)
   assert result['max_rel'] < 1e-4
"""

import inspect

import numpy as np

from checkpoints_tools import convert
from checkpoints_tools import formats
from checkpoints_tools import mappings
from checkpoints_tools import variants



def _keras_logits(table, src, classes, images):
  try:
    import tf_keras  # pylint: disable=g-import-not-at-top
  except ImportError:
    raise ValueError('verify needs tf_keras to build %s; pip install '
                     'tf-keras' % table.source_model) from None
  name = table.source_model.rsplit('.', 1)[1]
  tf_keras.backend.clear_session()
  if table.source_model.startswith('keras_applications.'):
    return _keras_applications_logits(tf_keras, table, src, classes, images)
  model = getattr(tf_keras.applications, name)(
      weights=None, input_shape=images.shape[1:], classes=classes,
      classifier_activation=None, **table.source_kwargs)
  model.load_weights(src)
  return model.predict(images, verbose=0)


def _keras3_logits(table, src, classes, images):
  """Keras 3 keras.applications model loaded from a `.weights.h5` file."""
  import os  # pylint: disable=g-import-not-at-top
  import tempfile  # pylint: disable=g-import-not-at-top
  try:
    import keras  # pylint: disable=g-import-not-at-top
  except ImportError:
    keras = None
  if keras is None or not keras.__version__.startswith('3.'):
    raise ValueError('verify needs Keras 3 to build %s; pip install keras' %
                     table.source_model)
  name = table.source_model.rsplit('.', 1)[1]
  keras.backend.clear_session()
  model = getattr(keras.applications, name)(
      weights=None, input_shape=images.shape[1:], classes=classes,
      classifier_activation=None, **table.source_kwargs)
  with tempfile.TemporaryDirectory() as folder:
    # Keras 3 reads this layout only from a path ending in .weights.h5.
    path = src
    if not src.endswith('.weights.h5'):
      path = os.path.join(folder, 'source.weights.h5')
      os.symlink(os.path.abspath(src), path)
    model.load_weights(path)
  return model.predict(images, verbose=0)


def _keras_applications_logits(tf_keras, table, src, classes, images):
  """keras-applications 1.0.8 (e.g. ResNeXt50) built on tf_keras."""
  module_name, name = table.source_model.rsplit('.', 1)
  try:
    module = __import__(module_name, fromlist=[name])
  except ImportError:
    raise ValueError('verify needs keras-applications to build %s; pip '
                     'install keras-applications' %
                     table.source_model) from None
  model = getattr(module, name)(
      weights=None, input_shape=images.shape[1:], classes=classes,
      backend=tf_keras.backend, layers=tf_keras.layers,
      models=tf_keras.models, utils=tf_keras.utils)
  model.load_weights(src)
  # Its classifier has a fixed softmax: the same Dense without it, on the
  # same features, gives the logits.
  head = model.layers[-1]
  dense = tf_keras.layers.Dense(classes, name='logits')
  logits = tf_keras.Model(model.input, dense(head.input))
  dense.set_weights(head.get_weights())
  return logits.predict(images, verbose=0)


# torch runs in a child process: importing it next to TensorFlow can crash
# the process (both bundle native libraries). The model is
# 'torchvision:<name>:<kwargs JSON>' or 'timm:<name>:<kwargs JSON>' (built
# without pretrained weights).
_TORCH_SCRIPT = """
import json
import sys
import numpy as np
import torch
from safetensors.numpy import load_file
model, classes, weights, images, out = sys.argv[1:]
library, name, kwargs = model.split(':', 2)
kwargs = json.loads(kwargs)
if library == 'timm':
  import timm
  net = timm.create_model(name, pretrained=False, num_classes=int(classes),
                          **kwargs)
else:
  import torchvision
  net = getattr(torchvision.models, name)(weights=None,
                                          num_classes=int(classes), **kwargs)
if weights.endswith('.safetensors'):
  state = {k: torch.from_numpy(v) for k, v in load_file(weights).items()}
else:
  state = torch.load(weights, map_location='cpu', weights_only=True)
missing, unexpected = net.load_state_dict(state, strict=False)
missing = [k for k in missing if not k.endswith('num_batches_tracked')]
if missing or unexpected:
  sys.exit('torchvision %s: missing %s, unexpected %s' % (
      name, missing[:3], unexpected[:3]))
net.eval()
with torch.no_grad():
  x = torch.from_numpy(np.load(images).transpose(0, 3, 1, 2).copy())
  np.save(out, net(x).numpy())
"""


_TORCH_LIBRARIES = (('timm.models.', 'timm'),
                    ('torchvision.models.', 'torchvision'))


def _torch_logits(table, src, model, classes, images):
  """Logits of the torchvision or timm model of `table` with `src`."""
  import importlib.util  # pylint: disable=g-import-not-at-top
  source = table.source_model or ''
  for prefix, library in _TORCH_LIBRARIES:
    if source.startswith(prefix):
      break
  else:
    raise ValueError('no torchvision or timm model for %s (%s)' %
                     (model, source))
  if importlib.util.find_spec(library) is None:
    raise ValueError('verify needs %s to build %s; pip install %s' %
                     (library, source, library))
  import json  # pylint: disable=g-import-not-at-top
  name = '%s:%s:%s' % (library, source[len(prefix):],
                       json.dumps(table.source_kwargs))
  return _child_logits(_TORCH_SCRIPT, 'torch', name, classes, src, images)


# paddle runs in a child process too (it bundles its own native libraries).
# paddle.load reads the .pdparams (ours are pickles of numpy arrays, as
# paddle.save writes them); set_state_dict must find every parameter.
_PADDLE_SCRIPT = """
import sys
import numpy as np
import paddle
name, classes, weights, images, out = sys.argv[1:]
paddle.set_device('cpu')
net = getattr(paddle.vision.models, name)(pretrained=False,
                                          num_classes=int(classes))
missing, unexpected = net.set_state_dict(paddle.load(weights))
if missing or unexpected:
  sys.exit('paddle %s: missing %s, unexpected %s' % (
      name, list(missing)[:3], list(unexpected)[:3]))
net.eval()
with paddle.no_grad():
  x = paddle.to_tensor(np.load(images).transpose(0, 3, 1, 2).copy())
  np.save(out, net(x).numpy())
"""


def _paddle_logits(table, src, classes, images):
  """Logits of paddle.vision's model (`table.source_model`) with `src`."""
  import importlib.util  # pylint: disable=g-import-not-at-top
  if importlib.util.find_spec('paddle') is None:
    raise ValueError('verify needs paddle to build %s; pip install '
                     'paddlepaddle' % table.source_model)
  prefix = 'paddle.vision.models.'
  if not (table.source_model or '').startswith(prefix):
    raise ValueError('no paddle.vision model for %s' % table.model)
  return _child_logits(_PADDLE_SCRIPT, 'paddle',
                       table.source_model[len(prefix):], classes, src,
                       images)


def _child_logits(script, what, name, classes, src, images):
  """Runs `script` (args: name classes weights images.npy out.npy) in a
  child Python; returns the logits it saved."""
  import os  # pylint: disable=g-import-not-at-top
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  import tempfile  # pylint: disable=g-import-not-at-top
  with tempfile.TemporaryDirectory() as tmp:
    images_path = os.path.join(tmp, 'images.npy')
    out = os.path.join(tmp, 'logits.npy')
    np.save(images_path, images)
    result = subprocess.run(
        [sys.executable, '-c', script, name, str(classes),
         os.path.abspath(src), images_path, out],
        capture_output=True, text=True, check=False)
    if result.returncode:
      lines = (result.stderr or result.stdout).strip().splitlines()
      raise ValueError('%s side failed: %s' %
                       (what, lines[-1] if lines else 'status %d' %
                        result.returncode))
    return np.load(out)


def _without_absent_parts(model, prefix):
  """{'create_aux_logits': False} when the checkpoint `prefix` lacks the
  optional auxiliary classifier of `model` (converted from Keras), else {}."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  optional = mappings.get_table(model, 'slim').optional
  if not optional:
    return {}
  names = {name for name, _ in tf.train.list_variables(prefix)}
  return {} if names & optional else {'create_aux_logits': False}


def _slim_logits(table, model, prefix, classes, images):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import tf_slim as slim  # pylint: disable=g-import-not-at-top
  from nets import registry  # pylint: disable=g-import-not-at-top
  if table.variant:
    fn = variants.get_variant(table.variant)
    arg_scope = variants.arg_scope(table.variant)
  else:
    info = registry.get_model(model)
    fn = info.fn
    # The source's batch-norm epsilon (keras-applications ResNeXt: 1.001e-5).
    kwargs = ({'batch_norm_epsilon': table.bn_epsilon}
              if table.bn_epsilon is not None and 'batch_norm_epsilon' in
              inspect.signature(info.arg_scope_fn).parameters else {})
    arg_scope = info.arg_scope_fn(**kwargs)
  graph = tf.Graph()
  with graph.as_default():
    inputs = tf.compat.v1.placeholder(tf.float32, images.shape)
    with slim.arg_scope(arg_scope):
      logits, _ = fn(inputs, num_classes=classes, is_training=False,
                     **_without_absent_parts(model, prefix))
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session() as sess:
      saver.restore(sess, prefix)
      # DeepLab's Xception keeps [batch, 1, 1, classes].
      return sess.run(logits, {inputs: images}).reshape(len(images), -1)


def _classes(reader, naming, model):
  return convert.plan(reader, model=model,
                      dst_naming=naming)['src_classes']


def verify(src, converted, model, src_format=None, image_size=224,
           batch_size=4, seed=0):
  """Runs the source model and ours on the same random images.

  Returns:
    A dict: 'max_abs', 'max_rel' (max|ours - source| / max|source|),
    'top1_agree', 'batch', 'messages'.

  Raises:
    ValueError: unsupported source, missing framework, bad files.
  """
  with formats.open_reader(src, src_format) as reader:
    src_format = reader.format
    naming = convert.NAMING_OF_FORMAT[src_format]
    src_classes = _classes(reader, naming, model)
  with formats.open_reader(converted, 'slim') as reader:
    ours_classes = _classes(reader, 'slim', model)
  table = mappings.get_table(model, naming)
  images = np.random.RandomState(seed).uniform(
      -1, 1, (batch_size, image_size, image_size, 3)).astype(np.float32)
  if naming == 'keras':
    theirs = _keras_logits(table, src, src_classes, images)
  elif naming == 'keras3':
    theirs = _keras3_logits(table, src, src_classes, images)
  elif naming == 'torch':
    theirs = _torch_logits(table, src, model, src_classes, images)
  elif naming == 'paddle':
    theirs = _paddle_logits(table, src, src_classes, images)
  else:
    raise ValueError('verify supports Keras, torch and paddle sources, not '
                     '%s' % src_format)
  ours = _slim_logits(table, model, converted, ours_classes, images)
  messages = ['source: %s (%s); ours: %s%s, %d classes' % (
      table.source_model, src, table.variant or model,
      ' (batch-norm epsilon %g)' % table.bn_epsilon
      if table.bn_epsilon is not None else '',
      ours_classes)]
  if ours_classes == src_classes + 1:
    ours = ours[:, 1:]
    messages.append('compared classes 1..1000 of ours (0 is background)')
  elif ours_classes != src_classes:
    raise ValueError('class counts differ: source %d, converted %d' %
                     (src_classes, ours_classes))
  diff = float(np.max(np.abs(ours - theirs)))
  return {
      'max_abs': diff,
      'max_rel': diff / float(np.max(np.abs(theirs))),
      'top1_agree': int((ours.argmax(-1) == theirs.argmax(-1)).sum()),
      'batch': batch_size,
      'messages': messages,
  }
