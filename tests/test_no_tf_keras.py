"""slimnets runs without tf_keras and without patching TensorFlow.

tf-slim 1.1.0's own layers need `tf_keras` on TensorFlow 2.21; slimnets'
must not. A fresh interpreter (`sys.executable`) blocks every `tf_keras`
import before anything is imported, records the identity of the TensorFlow
and tf-slim functions the nets call, imports `nets`, builds and runs every
registered model once on a 1x32x32x3 input, and reports back as JSON.

Typical use:

   TF_CPP_MIN_LOG_LEVEL=2 pytest -q tests/test_no_tf_keras.py
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = textwrap.dedent(r'''
    import importlib
    import importlib.abc
    import json
    import sys

    class _NoTfKeras(importlib.abc.MetaPathFinder):
      """Makes `import tf_keras` (and its submodules) raise ImportError."""

      def find_spec(self, fullname, path=None, target=None):
        if fullname == 'tf_keras' or fullname.startswith('tf_keras.'):
          raise ImportError('tf_keras is blocked in this test')
        return None

    sys.meta_path.insert(0, _NoTfKeras())
    sys.modules['tf_keras'] = None  # `import tf_keras` -> ImportError.

    import numpy as np
    import tensorflow as tf
    import tf_slim as slim

    _WATCHED = {
        'tf.nn.conv2d': lambda: tf.nn.conv2d,
        'tf.nn.bias_add': lambda: tf.nn.bias_add,
        'tf.nn.relu': lambda: tf.nn.relu,
        'tf.nn.relu6': lambda: tf.nn.relu6,
        'tf.nn.max_pool2d': lambda: tf.nn.max_pool2d,
        'tf.nn.avg_pool2d': lambda: tf.nn.avg_pool2d,
        'tf.nn.separable_conv2d': lambda: tf.nn.separable_conv2d,
        'tf.nn.depthwise_conv2d': lambda: tf.nn.depthwise_conv2d,
        'tf.nn.dropout': lambda: tf.nn.dropout,
        'tf.nn.softmax': lambda: tf.nn.softmax,
        'tf.compat.v1.nn.fused_batch_norm':
            lambda: tf.compat.v1.nn.fused_batch_norm,
        'tf.raw_ops.FusedBatchNormV3': lambda: tf.raw_ops.FusedBatchNormV3,
        'tf.compat.v1.get_variable': lambda: tf.compat.v1.get_variable,
        'tf.compat.v1.variable_scope': lambda: tf.compat.v1.variable_scope,
        'tf.compat.v1.name_scope': lambda: tf.compat.v1.name_scope,
        'tf.compat.v1.assign_sub': lambda: tf.compat.v1.assign_sub,
        'tf.compat.v1.add_to_collections':
            lambda: tf.compat.v1.add_to_collections,
        'tf.pad': lambda: tf.pad,
        'tf.reduce_mean': lambda: tf.reduce_mean,
        'tf.squeeze': lambda: tf.squeeze,
        'tf.cond': lambda: tf.cond,
        'tf.convert_to_tensor': lambda: tf.convert_to_tensor,
        'tf.Graph.as_default': lambda: tf.Graph.as_default,
        'tf.compat.v1.Session.run': lambda: tf.compat.v1.Session.run,
        'slim.arg_scope': lambda: slim.arg_scope,
        'slim.add_arg_scope': lambda: slim.add_arg_scope,
        'slim.conv2d': lambda: slim.conv2d,
        'slim.batch_norm': lambda: slim.batch_norm,
        'slim.max_pool2d': lambda: slim.max_pool2d,
        'slim.softmax': lambda: slim.softmax,
    }

    def _identities():
      found = {name: id(get()) for name, get in _WATCHED.items()}
      # The whole tf.nn namespace too.
      for name in dir(tf.nn):
        if not name.startswith('_'):
          found['tf.nn.' + name] = id(getattr(tf.nn, name))
      return found

    def _keras_modules():
      return {m for m in sys.modules
              if 'keras' in m and sys.modules[m] is not None}

    # TensorFlow and tf_slim load TensorFlow's internal keras shims
    # themselves; nets must add none.
    keras_before = _keras_modules()
    def _tf_keras_blocked():
      for name in ('tf_keras', 'tf_keras.src.legacy_tf_layers.base'):
        try:
          importlib.import_module(name)
        except ImportError:
          continue
        return False
      return True

    before = _identities()
    import nets  # pylint: disable=unused-import
    from nets import registry
    after_import = _identities()

    results = {}
    ran_families = set()
    for name in registry.list_models():
      info = registry.get_model(name)
      # Every model is built; the first of each family also runs (the
      # others share its layers, and VGG-sized runs cost minutes).
      run = info.family not in ran_families
      ran_families.add(info.family)
      shape = registry.input_shape(name, 1,
                                   max(32, info.min_image_size or 0), 2)
      graph = tf.Graph()
      with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, shape)
        with slim.arg_scope(info.arg_scope_fn()):
          net, end_points = info.fn(images, num_classes=info.num_classes,
                                    is_training=False)
        init = tf.compat.v1.global_variables_initializer()
      value = np.zeros(net.shape.as_list(), np.float32)
      if run:
        with tf.compat.v1.Session(graph=graph) as sess:
          sess.run(init)
          value = sess.run(net, {images: np.random.RandomState(0).uniform(
              size=shape).astype(np.float32)})
      results[name] = {'shape': list(value.shape), 'ran': run,
                       'finite': bool(np.all(np.isfinite(value))),
                       'end_points': len(end_points)}
    after_build = _identities()

    print('@@RESULT@@' + json.dumps({
        'models': results,
        # The blocker's own None entry is not a module.
        'tf_keras_modules': sorted(
            m for m in sys.modules
            if (m == 'tf_keras' or m.startswith('tf_keras.')) and
            sys.modules[m] is not None),
        'keras_modules_added': sorted(_keras_modules() - keras_before),
        'tf_keras_blocked': _tf_keras_blocked(),
        'changed_by_import': sorted(k for k in before
                                    if after_import.get(k) != before[k]),
        'changed_by_build': sorted(k for k in before
                                   if after_build.get(k) != before[k]),
    }))
''')


def _run_without_tf_keras():
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONPATH=_ROOT)
  completed = subprocess.run([sys.executable, '-c', _SCRIPT], cwd=_ROOT,
                             env=env, capture_output=True, text=True,
                             timeout=900, check=False)
  assert completed.returncode == 0, (
      'building the models without tf_keras failed:\n%s' %
      completed.stderr[-4000:])
  line = [l for l in completed.stdout.splitlines()
          if l.startswith('@@RESULT@@')]
  assert line, completed.stdout[-2000:] + completed.stderr[-2000:]
  return json.loads(line[-1][len('@@RESULT@@'):])


def test_every_registered_model_builds_and_runs_without_tf_keras():
  report = _run_without_tf_keras()
  models = report['models']
  sys.path.insert(0, _ROOT)
  from nets import registry  # pylint: disable=import-outside-toplevel
  assert sorted(models) == sorted(registry.list_models())
  assert {'resnet_v1_50', 'resnet_v1_200', 'resnet_v2_50',
          'resnet_v2_200'} <= set(models)
  for name, result in models.items():
    info = registry.get_model(name)
    if info.family in ('resnet_v1', 'resnet_v2'):
      assert result['shape'] == [1, info.num_classes], name
    else:
      # Other families may keep [1, 1, 1, C] (DeepLab's Xception does).
      assert result['shape'][-1] == info.num_classes, name
      assert int(np.prod(result['shape'])) == info.num_classes, name
    assert result['finite'], name
    assert result['end_points'] > 0, name
  ran = {registry.get_model(n).family for n in models if models[n]['ran']}
  assert ran == {registry.get_model(n).family for n in models}
  assert report['tf_keras_blocked']
  assert report['tf_keras_modules'] == []
  assert report['keras_modules_added'] == []
  # No monkeypatching: the functions nets calls are the ones TF shipped.
  assert report['changed_by_import'] == []
  assert report['changed_by_build'] == []
