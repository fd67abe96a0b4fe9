"""Graph-build time: slimnets against tf-slim's own nets.

Builds each model (training mode, 1001/1000 classes, [None, 224, 224, 3]
input, under its arg scope) alternately with slimnets and tf-slim in one
process, `repeats` times each, and reports medians of process CPU time and
their ratio, plus the time per residual unit (flat if build time is linear
in depth). It also counts each graph's ops and times TensorFlow's own cost
of adding an op (a chain of tf.identity ops): the floor under any Python
graph builder, which says how much faster a build could still get.

`run_zoo` does the same for the other networks tf-slim 1.1.0 ships
(alexnet, overfeat, vgg, inception v1-v3), per convolution layer instead of
per unit.

Run: python -m bench.build_speed [--repeats N] [--models resnet_v2_152 ...]
     python -m bench.build_speed --zoo
"""

import argparse
import gc
import json
import statistics
import time

import tensorflow as tf
import tf_slim as slim

from bench import _reference
from nets import registry
from nets import resnet_utils

DEFAULT_MODELS = ('resnet_v1_50', 'resnet_v1_101', 'resnet_v1_152',
                  'resnet_v1_200', 'resnet_v2_50', 'resnet_v2_101',
                  'resnet_v2_152', 'resnet_v2_200')
# The other research/slim networks tf-slim 1.1.0 ships (tf_slim.nets).
ZOO_MODELS = ('alexnet_v2', 'overfeat', 'vgg_a', 'vgg_16', 'vgg_19',
              'inception_v1', 'inception_v2', 'inception_v3')


def _build_seconds(model_fn, arg_scope_fn, num_classes, size=224):
  """(process CPU seconds to build, op count of the graph)."""
  # The previous builds' graphs are garbage in reference cycles; collected
  # now, outside the timing, they cannot trigger a full collection inside
  # it (which would charge one net for the other's leftovers).
  gc.collect()
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32, [None, size, size, 3])
    # Process CPU time: graph building is single-threaded Python, and CPU
    # time is far less disturbed than wall time by other processes.
    start = time.process_time()
    with slim.arg_scope(arg_scope_fn()):
      model_fn(images, num_classes, is_training=True)
    return time.process_time() - start, len(graph.get_operations())


def op_floor_us(count=5000):
  """CPU microseconds TensorFlow takes to add one (tf.identity) op."""
  graph = tf.Graph()
  with graph.as_default():
    net = tf.compat.v1.placeholder(tf.float32, [None, 224, 224, 3])
    start = time.process_time()
    for _ in range(count):
      net = tf.identity(net)
    return 1e6 * (time.process_time() - start) / count


def variable_cost(name='resnet_v2_152'):
  """Where slimnets' build time of `name` goes: its variables.

  Profiles one build with cProfile and returns the share of the time spent
  inside `tf.compat.v1.get_variable` (the same calls tf-slim makes), the
  variable count and how many graph ops the variables own (handle,
  initializer, VarIsInitializedOp, assign, read).
  """
  import cProfile  # pylint: disable=import-outside-toplevel
  import pstats  # pylint: disable=import-outside-toplevel
  info = registry.get_model(name)
  graph = tf.Graph()
  profile = cProfile.Profile()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32, [None, 224, 224, 3])
    with slim.arg_scope(info.arg_scope_fn()):
      profile.enable()
      info.fn(images, info.num_classes, is_training=True)
      profile.disable()
  stats = pstats.Stats(profile)
  # The outermost get_variable frame holds all nested ones.
  in_get_variable = max(
      cumulative for (path, _, function), (_, _, _, cumulative, _)
      in stats.stats.items()
      if function == 'get_variable' and path.endswith('variable_scope.py'))
  variables = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
  prefixes = tuple(v.op.name + '/' for v in variables)
  names = {v.op.name for v in variables}
  operations = graph.get_operations()
  variable_ops = sum(1 for op in operations
                     if op.name in names or op.name.startswith(prefixes))
  return {
      'model': name,
      'get_variable_share': round(in_get_variable / stats.total_tt, 2),
      'variables': len(variables),
      'variable_ops': variable_ops,
      'ops': len(operations),
  }


def run(models=DEFAULT_MODELS, repeats=3):
  """{model: {'slimnets_s', 'tf_slim_s', 'speedup', ...}, '_op_floor_us'}."""
  slim_v1, slim_v2 = _reference.slim_nets()
  results = {}
  # Warm both code paths once so import-time work is not timed.
  for module in (slim_v2, None):
    info = registry.get_model('resnet_v2_50')
    fn = info.fn if module is None else module.resnet_v2_50
    scope_fn = info.arg_scope_fn if module is None else module.resnet_arg_scope
    _build_seconds(fn, scope_fn, 1001)
  for name in models:
    info = registry.get_model(name)
    reference = slim_v1 if info.family == 'resnet_v1' else slim_v2
    ours, theirs = [], []
    for _ in range(repeats):
      seconds, our_ops = _build_seconds(info.fn, info.arg_scope_fn,
                                        info.num_classes)
      ours.append(seconds)
      seconds, their_ops = _build_seconds(getattr(reference, name),
                                          reference.resnet_arg_scope,
                                          info.num_classes)
      theirs.append(seconds)
    depth = int(name.rsplit('_', 1)[1])
    units = sum(resnet_utils.UNITS_PER_BLOCK[depth])
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    results[name] = {
        'slimnets_s': round(ours_s, 3),
        'tf_slim_s': round(theirs_s, 3),
        'speedup': round(theirs_s / ours_s, 2),
        'units': units,
        'slimnets_ms_per_unit': round(1000 * ours_s / units, 1),
        'tf_slim_ms_per_unit': round(1000 * theirs_s / units, 1),
        'slimnets_ops': our_ops,
        'tf_slim_ops': their_ops,
        'repeats': repeats,
    }
    print('%-14s slimnets %6.2f s  tf-slim %6.2f s  speedup %.2fx' %
          (name, ours_s, theirs_s, theirs_s / ours_s), flush=True)
  floors = [op_floor_us() for _ in range(repeats)]
  results['_op_floor_us'] = round(statistics.median(floors), 1)
  print('TensorFlow adds a tf.identity op in %.1f us' %
        results['_op_floor_us'], flush=True)
  profiled = 'resnet_v2_152' if 'resnet_v2_152' in models else models[-1]
  results['_variable_cost'] = variable_cost(profiled)
  print('variables: %s' % results['_variable_cost'], flush=True)
  return results


def _tf_slim_twin(name):
  """tf-slim's (model function, arg scope function) of registered `name`."""
  import importlib  # pylint: disable=import-outside-toplevel
  _reference.slim_nets()  # the tf_keras alias
  info = registry.get_model(name)
  module = importlib.import_module('tf_slim.nets.' + info.family)
  # tf-slim names the shared Inception scope per version
  # (inception_v1_arg_scope, ...), some in tf_slim.nets.inception.
  shared = importlib.import_module('tf_slim.nets.inception')
  for scope_module in (module, shared):
    for scope_name in (info.arg_scope_fn.__name__, info.family + '_arg_scope'):
      if hasattr(scope_module, scope_name):
        return getattr(module, name), getattr(scope_module, scope_name)
  raise ValueError('tf-slim has no arg scope for %s' % name)


def _conv_layers(graph):
  return sum(1 for op in graph.get_operations() if op.type == 'Conv2D')


def run_zoo(models=ZOO_MODELS, repeats=3):
  """{model: {'slimnets_s', 'tf_slim_s', 'speedup', 'convs', ...}}.

  Each model at its default image size and class count, training mode,
  alternately with slimnets and tf-slim, median process CPU time of
  `repeats`; `ms_per_conv` shows whether build time grows linearly with
  depth (vgg_a, vgg_16, vgg_19 are one design at 11, 16 and 19 layers).
  """
  results = {}
  for name in models:
    info = registry.get_model(name)
    their_fn, their_scope = _tf_slim_twin(name)
    size = info.default_image_size
    _build_seconds(info.fn, info.arg_scope_fn, info.num_classes, size)
    _build_seconds(their_fn, their_scope, info.num_classes, size)
    ours, theirs = [], []
    for _ in range(repeats):
      ours.append(_build_seconds(info.fn, info.arg_scope_fn,
                                 info.num_classes, size)[0])
      theirs.append(_build_seconds(their_fn, their_scope, info.num_classes,
                                   size)[0])
    graph = tf.Graph()
    with graph.as_default(), slim.arg_scope(info.arg_scope_fn()):
      info.fn(tf.compat.v1.placeholder(tf.float32, [None, size, size, 3]),
              info.num_classes, is_training=True)
    convs = _conv_layers(graph)
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    results[name] = {
        'slimnets_s': round(ours_s, 3),
        'tf_slim_s': round(theirs_s, 3),
        'speedup': round(theirs_s / ours_s, 2),
        'convs': convs,
        'slimnets_ms_per_conv': round(1000 * ours_s / convs, 2),
        'tf_slim_ms_per_conv': round(1000 * theirs_s / convs, 2),
        'repeats': repeats,
    }
    print('%-14s slimnets %6.3f s  tf-slim %6.3f s  speedup %.2fx' %
          (name, ours_s, theirs_s, theirs_s / ours_s), flush=True)
  return results


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--repeats', type=int, default=3)
  parser.add_argument('--models', nargs='+', default=list(DEFAULT_MODELS))
  parser.add_argument('--zoo', action='store_true',
                      help='the non-ResNet networks tf-slim ships instead')
  parser.add_argument('--json', help='also write the results here')
  args = parser.parse_args(argv)
  if args.zoo:
    results = run_zoo(repeats=args.repeats)
  else:
    results = run(args.models, args.repeats)
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(results, f, indent=1)


if __name__ == '__main__':
  main()
