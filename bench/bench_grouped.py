"""Grouped convolution speed: native vs split+concat vs depthwise + fixed 1x1.

Three ways to run ResNeXt's grouped 3x3 convolution on TensorFlow, timed side
by side in one process (alternating rounds, medians):

- native: ONE `tf.nn.conv2d` with a [3, 3, C/groups, C_out] filter, what
  `nets._grouped` builds where the runtime has grouped kernels (oneDNN here);
- split: the design of seed 000 (a Keras ResNeXt-50 blog post): slice the
  input into `groups` channel slices, one conv (own variable) per slice,
  concatenate;
- depthwise: the design of seed 004 and old keras-applications: a
  DepthwiseConv2D with depth multiplier C/groups, then a FIXED (constant,
  untrained) 1x1 conv summing each group's products.

Two measurements: one 32-group 3x3 layer on 8x56x56x128 (forward, and
forward + backward to the input and the weights), and a whole ResNeXt-50
(32x4d) training step (momentum SGD, batch norm updates, L2 loss; batch 8).
The whole-network variants share everything but the grouped conv: they are
`nets.resnext.resnext` over the same blocks, with the bench's own bottleneck
for the two seed designs. `slimnets (split fallback)` is the library's own
fallback form (`SLIMNETS_GROUPED_CONV=split`): one weights variable sliced per
group, what runs on CPUs without oneDNN.

Writes bench/results_grouped.json and docs/performance_grouped.md.

Run: python -m bench.bench_grouped              # 224x224, 4 rounds
     python -m bench.bench_grouped --quick      # smoke run
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import time

import numpy as np
import tensorflow as tf
import tf_slim as slim

from nets import _grouped
from nets import _layers
from nets import resnet_utils
from nets import resnext

_HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(_HERE, 'results_grouped.json')
DOC = os.path.join(os.path.dirname(_HERE), 'docs', 'performance_grouped.md')

_LAYER_SHAPE = (8, 56, 56, 128)
_GROUPS = 32

# ---------------------------------------------------------------------------
# The three designs of one grouped 3x3 conv (stride 1, SAME).


def _depthwise_from_grouped(filters, groups):
  """K[kh, kw, g*c + a, b] = F[kh, kw, a, g*c + b] (square groups)."""
  kh, kw, c, width = filters.shape
  assert width == groups * c
  return filters.reshape(kh, kw, c, groups, c).transpose(0, 1, 3, 2, 4).reshape(
      kh, kw, groups * c, c)


def _fixed_group_sum_kernel(width, c):
  """Seed 004's constant 1x1 kernel: output i sums its group's products."""
  kernel = np.zeros((1, 1, width * c, width), np.float32)
  for i in range(width):
    start = (i // c) * c * c + i % c
    kernel[:, :, start:start + c * c:c, i] = 1.0
  return kernel


def _layer_native(x, filters, groups):
  del groups
  weights = tf.compat.v1.get_variable('weights', initializer=filters)
  return tf.nn.conv2d(x, weights, 1, 'SAME'), [weights]


def _layer_split(x, filters, groups):
  c_in = x.shape[-1] // groups
  c_out = filters.shape[-1] // groups
  outputs, variables = [], []
  for g in range(groups):
    weights = tf.compat.v1.get_variable(
        'weights_%d' % g, initializer=filters[..., g * c_out:(g + 1) * c_out])
    variables.append(weights)
    outputs.append(
        tf.nn.conv2d(x[..., g * c_in:(g + 1) * c_in], weights, 1, 'SAME'))
  return tf.concat(outputs, axis=3), variables


def _layer_depthwise(x, filters, groups):
  width = filters.shape[-1]
  c = width // groups
  kernel = tf.compat.v1.get_variable(
      'depthwise_weights', initializer=_depthwise_from_grouped(filters, groups))
  products = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], 'SAME')
  fixed = tf.constant(_fixed_group_sum_kernel(width, c))
  return tf.nn.conv2d(products, fixed, 1, 'SAME'), [kernel]


_LAYER_DESIGNS = {
    'native': _layer_native,
    'split (seed 000)': _layer_split,
    'depthwise + fixed 1x1 (seed 004)': _layer_depthwise,
}


class _Runner(object):
  """A graph and session with one op to time."""

  def __init__(self, label, build):
    self.label = label
    self.graph = tf.Graph()
    with self.graph.as_default():
      self.ops = build()
      init = tf.compat.v1.global_variables_initializer()
    self.sess = tf.compat.v1.Session(graph=self.graph)
    self.sess.run(init)

  def time(self, key, steps):
    times = []
    for _ in range(steps):
      start = time.perf_counter()
      self.sess.run(self.ops[key])
      times.append(time.perf_counter() - start)
    return times

  def close(self):
    self.sess.close()


def _time_alternating(runners, key, rounds, steps, warmup=1):
  """Median seconds per run of `key` for each runner, rounds interleaved."""
  for runner in runners:
    runner.time(key, warmup)
  times = {runner.label: [] for runner in runners}
  for r in range(rounds):
    # Rotate the order so no runner always follows the same neighbour.
    order = runners[r % len(runners):] + runners[:r % len(runners)]
    for runner in order:
      times[runner.label] += runner.time(key, steps)
  return {label: statistics.median(values) for label, values in times.items()}


def _layer_runner(label, design, x_value, filters, upstream):

  def build():
    x = tf.Variable(x_value, name='x')
    y, variables = design(tf.identity(x), filters, _GROUPS)
    grads = tf.gradients(tf.reduce_sum(y * upstream), [x] + variables)
    # Fetch sums, not `tf.group`: Grappler prunes ops whose outputs only
    # reach a fetched NoOp through control edges.
    forward = tf.reduce_sum(y)
    return {
        'y': y,
        'forward': forward,
        'forward_backward': tf.add_n([forward] +
                                     [tf.reduce_sum(g) for g in grads]),
    }

  return _Runner(label, build)


def run_layer(rounds, steps):
  """Times one grouped layer in the three designs; checks they agree."""
  rng = np.random.RandomState(0)
  x_value = rng.randn(*_LAYER_SHAPE).astype(np.float32)
  width = _LAYER_SHAPE[-1]
  filters = (rng.randn(3, 3, width // _GROUPS, width) * 0.1).astype(np.float32)
  upstream = rng.randn(*_LAYER_SHAPE).astype(np.float32)
  runners = [
      _layer_runner(label, design, x_value, filters, upstream)
      for label, design in _LAYER_DESIGNS.items()
  ]
  reference = runners[0].sess.run(runners[0].ops['y'])
  for runner in runners[1:]:
    diff = np.abs(runner.sess.run(runner.ops['y']) - reference).max()
    assert diff < 1e-4 * np.abs(reference).max(), (runner.label, diff)
  result = {}
  for key in ('forward', 'forward_backward'):
    medians = _time_alternating(runners, key, rounds, steps)
    result[key] = {label: round(seconds * 1e3, 2)
                   for label, seconds in medians.items()}
    print('layer', key, result[key], flush=True)
  for runner in runners:
    runner.close()
  return result


# ---------------------------------------------------------------------------
# Whole ResNeXt-50 training steps.


def _seed_conv2(design):
  """conv2 of a bottleneck in a seed's design (variables of its own)."""

  def conv2(net, width, stride, cardinality):
    c = width // cardinality
    if stride > 1:
      net = tf.pad(net, [[0, 0], [1, 1], [1, 1], [0, 0]])
    padding = 'VALID' if stride > 1 else 'SAME'
    with tf.compat.v1.variable_scope('conv2'):
      if design == 'split':
        slices = [
            _layers.conv2d(net[..., g * c:(g + 1) * c], c, 3, stride=stride,
                           padding=padding, activation_fn=None,
                           normalizer_fn=None, biases_initializer=None,
                           scope='group_%d' % g) for g in range(cardinality)
        ]
        net = tf.concat(slices, axis=3)
      else:
        net = _layers.separable_conv2d(
            net, None, 3, depth_multiplier=c, stride=stride, padding=padding,
            activation_fn=None, normalizer_fn=None, biases_initializer=None,
            scope='depthwise')
        fixed = tf.constant(_fixed_group_sum_kernel(width, c))
        net = tf.nn.conv2d(net, fixed, 1, 'VALID')
      return tf.nn.relu(_layers.batch_norm(net))

  return conv2


def _seed_bottleneck(design):
  """A `resnext.bottleneck` twin whose grouped conv follows a seed."""
  conv2 = _seed_conv2(design)

  def bottleneck(inputs, depth, depth_bottleneck, stride, rate=1,
                 cardinality=1, outputs_collections=None, scope=None):
    del rate, outputs_collections  # full-resolution classification only
    with tf.compat.v1.variable_scope(scope, 'bottleneck', [inputs]):
      if depth == inputs.shape[-1] and stride == 1:
        shortcut = inputs
      else:
        shortcut = _layers.conv2d(inputs, depth, 1, stride=stride,
                                  activation_fn=None, scope='shortcut')
      net = _layers.conv2d(inputs, depth_bottleneck, 1, scope='conv1')
      net = conv2(net, depth_bottleneck, stride, cardinality)
      net = _layers.conv2d(net, depth, 1, activation_fn=None, scope='conv3')
      return tf.nn.relu(shortcut + net)

  return bottleneck


def _resnext50_blocks(unit_fn):
  """resnext50_32x4d's blocks with `unit_fn` as the unit."""
  blocks = [
      resnext.resnext_block('block%d' % (i + 1), base_depth, num_units,
                            stride, cardinality=32, base_width=4)
      for i, (base_depth, num_units, stride) in enumerate(
          zip(resnet_utils.BASE_DEPTHS, resnet_utils.UNITS_PER_BLOCK[50],
              (1, 2, 2, 2)))
  ]
  return [resnet_utils.Block(b.scope, unit_fn, b.args) for b in blocks]


def _training_step(model):
  """Builds a momentum-SGD step of `model(images)` on constant data."""

  def build():
    rng = np.random.RandomState(0)
    images = tf.constant(rng.rand(8, _SIZE, _SIZE, 3).astype(np.float32))
    labels = tf.constant(rng.randint(0, 1000, 8))
    with slim.arg_scope(resnext.resnext_arg_scope()):
      logits, _ = model(images)
    loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels, logits)
    loss += tf.add_n(tf.compat.v1.losses.get_regularization_losses())
    with tf.control_dependencies(
        tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
      step = tf.compat.v1.train.MomentumOptimizer(0.01, 0.9).minimize(loss)
    return {'step': step}

  return build


def _slimnets_model(implementation):

  def model(images):
    with _grouped.implementation_scope(implementation):
      return resnext.resnext50_32x4d(images, 1000, is_training=True)

  return model


def _seed_model(design):

  def model(images):
    return resnext.resnext(images, _resnext50_blocks(_seed_bottleneck(design)),
                           num_classes=1000, is_training=True,
                           scope='resnext50_32x4d')

  return model


_SIZE = 224

_NETWORK_VARIANTS = {
    'slimnets (native grouped conv)': _slimnets_model(_grouped.NATIVE),
    'slimnets (split fallback)': _slimnets_model(_grouped.SPLIT),
    'split (seed 000)': _seed_model('split'),
    'depthwise + fixed 1x1 (seed 004)': _seed_model('depthwise'),
}


def run_network(rounds, steps):
  """Median seconds per ResNeXt-50 training step for each variant."""
  runners = []
  for label, model in _NETWORK_VARIANTS.items():
    start = time.perf_counter()
    runners.append(_Runner(label, _training_step(model)))
    print('built %s in %.1fs' % (label, time.perf_counter() - start),
          flush=True)
  medians = _time_alternating(runners, 'step', rounds, steps, warmup=2)
  share = _grouped_share(runners[0])
  for runner in runners:
    runner.close()
  result = {label: round(seconds, 3) for label, seconds in medians.items()}
  print('network', result, 'grouped conv share', share, flush=True)
  return result, share


def _grouped_share(runner):
  """Fraction of a traced step's op time spent in the grouped convs."""
  metadata = tf.compat.v1.RunMetadata()
  runner.sess.run(
      runner.ops['step'],
      options=tf.compat.v1.RunOptions(
          trace_level=tf.compat.v1.RunOptions.FULL_TRACE),
      run_metadata=metadata)
  total = grouped = 0
  for device in metadata.step_stats.dev_stats:
    for node in device.node_stats:
      total += node.all_end_rel_micros
      # Forward and both gradient convs of every bottleneck's conv2 (the
      # batch norm inside the conv2 scope excluded).
      label = node.timeline_label.split(' = ')[-1]
      if ('bottleneck/conv2/' in node.node_name and
          label.split('(')[0].endswith(('Conv2D', 'Conv2DBackpropInput',
                                        'Conv2DBackpropFilter'))):
        grouped += node.all_end_rel_micros
  return round(grouped / max(total, 1), 3)


# ---------------------------------------------------------------------------
# Report.


def _machine():
  cpu, flags = platform.processor() or 'unknown', set()
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          cpu = line.split(':', 1)[1].strip()
        elif line.startswith('flags'):
          flags = set(line.split(':', 1)[1].split())
  except OSError:
    pass
  isa = [f for f in ('avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_bf16',
                     'amx_tile') if f in flags]
  try:
    from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-direct-tensorflow-import,import-outside-toplevel
    onednn = bool(_pywrap_util_port.IsMklEnabled())
  except (ImportError, AttributeError):
    onednn = None
  return {
      'cpu': cpu,
      'cores': os.cpu_count(),
      'isa': isa,
      'python': platform.python_version(),
      'tensorflow': tf.__version__,
      'onednn': onednn,
      'grouped_conv_auto': _grouped.implementation(),
  }


def _resnext50_macs(size):
  """Forward multiply-adds per image: (whole network, seed 004's extra).

  The extra is the fixed 1x1 conv of the depthwise design, which maps
  width * C/groups channels back to width at every pixel; the depthwise
  conv itself costs what the grouped conv costs.
  """
  pixels = (size // 2)**2
  total = 7 * 7 * 3 * 64 * pixels
  extra = 0
  c_in, pixels = 64, (-(-size // 4))**2
  for stage, units in enumerate((3, 4, 6, 3)):
    planes = 64 * 2**stage
    width = planes * 4 // 64 * 32
    for unit in range(units):
      in_pixels = pixels
      if unit == 0 and stage > 0:
        pixels = (-(-int(pixels**0.5) // 2))**2
      total += c_in * width * in_pixels + 9 * (width // 32) * width * pixels
      total += width * 4 * planes * pixels
      if unit == 0:
        total += c_in * 4 * planes * pixels
      extra += width * (width // 32) * width * pixels
      c_in = 4 * planes
  return total + c_in * 1000, extra


def _ratio(numerator, denominator):
  return round(numerator / denominator, 2)


def render(results):
  """The markdown report of `results`."""
  m = results['machine']
  native = 'native'
  lines = [
      '# Grouped convolution speed (ResNeXt)',
      '',
      'Generated by `python -m bench.bench_grouped` on %s: %s, %d cores '
      '(%s), Python %s, TensorFlow %s, oneDNN %s. Graph mode, one session '
      'per variant, variants alternated over %d rounds; medians. The machine '
      'was shared with other jobs, so single numbers are noisy; the ratios '
      'are what to read.' %
      (results['date'], m['cpu'], m['cores'], ', '.join(m['isa']) or 'n/a',
       m['python'], m['tensorflow'], 'on' if m['onednn'] else 'off',
       results['rounds']),
      '',
      '## One 32-group 3x3 layer, 8x56x56x128 -> 128',
      '',
      '| design | forward ms | fwd+bwd ms | fwd+bwd vs native |',
      '|---|---:|---:|---:|',
  ]
  layer = results['layer']
  for label in layer['forward']:
    lines.append('| %s | %.1f | %.1f | %.2fx |' % (
        label, layer['forward'][label], layer['forward_backward'][label],
        layer['forward_backward'][label] / layer['forward_backward'][native]))
  network = results['network']
  ours = network['slimnets (native grouped conv)']
  lines += [
      '',
      '## ResNeXt-50 (32x4d) training step, batch 8, %dx%d' %
      (results['image_size'], results['image_size']),
      '',
      '| variant | s / step | slowdown vs slimnets native |',
      '|---|---:|---:|',
  ]
  for label, seconds in network.items():
    lines.append('| %s | %.2f | %.2fx |' % (label, seconds, seconds / ours))
  goals = results['goals']
  lines += [
      '',
      'Goals: >= 2.5x faster than the split design: %s (%.2fx); >= 5x faster '
      'than the depthwise design: %s (%.2fx).' %
      ('met' if goals['vs_split'] >= 2.5 else 'missed', goals['vs_split'],
       'met' if goals['vs_depthwise'] >= 5 else 'missed',
       goals['vs_depthwise']),
  ]
  layer_ratio = (layer['forward_backward']['split (seed 000)'] /
                 layer['forward_backward'][native])
  share = results['grouped_conv_share_of_native_step']
  common = ours * (1 - share)
  lines += [
      '',
      'Why: in a traced native step the grouped convs (forward and both '
      'gradients) take %.0f%% of the op time; the rest (1x1 convs, the root '
      'conv, batch norm, the update: about %.2f s of the %.2f s step) is the '
      'same in every design. Even a grouped conv that cost nothing would '
      'make a step at most %.2f / %.2f = %.2fx faster than the split design and '
      '%.2f / %.2f = %.2fx faster than the depthwise one, so neither goal is '
      'reachable at this size on this CPU by any grouped-conv '
      'implementation. Per layer (block1\'s shape, above) the native conv '
      'is %.1fx faster than the split one and %.1fx faster than the '
      'depthwise one. The depthwise design\'s cost is arithmetic: its fixed '
      '1x1 conv maps width * C/groups channels (up to 32768 in block4) back '
      'to width, %.1f G multiply-adds per image on top of the network\'s '
      '%.1f G, paid forward and again in the input gradient, about '
      '(3 * %.1f + 2 * %.1f) / (3 * %.1f) = %.1fx the work of a native step.'
      % (100 * share, common, ours, network['split (seed 000)'], common,
         network['split (seed 000)'] / common,
         network['depthwise + fixed 1x1 (seed 004)'], common,
         network['depthwise + fixed 1x1 (seed 004)'] / common,
         layer_ratio,
         layer['forward_backward']['depthwise + fixed 1x1 (seed 004)'] /
         layer['forward_backward'][native],
         results['macs_depthwise_extra'] / 1e9, results['macs_native'] / 1e9,
         results['macs_native'] / 1e9, results['macs_depthwise_extra'] / 1e9,
         results['macs_native'] / 1e9,
         results['expected_vs_depthwise_from_macs']),
  ]
  if results.get('notes'):
    lines += [''] + results['notes']
  return '\n'.join(lines) + '\n'


def _write(path, text):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    f.write(text)
  os.replace(tmp, path)


def main(argv=None):
  global _SIZE
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--quick', action='store_true', help='smoke run')
  parser.add_argument('--size', type=int, default=224,
                      help='image size of the training step (default 224)')
  parser.add_argument('--rounds', type=int, default=4)
  args = parser.parse_args(argv)
  _SIZE = 64 if args.quick else args.size
  rounds = 1 if args.quick else args.rounds
  results = {
      'machine': _machine(),
      'date': datetime.date.today().isoformat(),
      'rounds': rounds,
      'image_size': _SIZE,
  }
  results['layer'] = run_layer(rounds, 1 if args.quick else 5)
  network, share = run_network(rounds, 1 if args.quick else 2)
  results['network'] = network
  results['grouped_conv_share_of_native_step'] = share
  ours = network['slimnets (native grouped conv)']
  results['goals'] = {
      'vs_split': _ratio(network['split (seed 000)'], ours),
      'vs_depthwise': _ratio(network['depthwise + fixed 1x1 (seed 004)'],
                             ours),
  }
  macs, extra = _resnext50_macs(_SIZE)
  results['macs_native'] = macs
  results['macs_depthwise_extra'] = extra
  results['expected_vs_depthwise_from_macs'] = round(
      (3 * macs + 2 * extra) / (3 * macs), 2)
  if args.quick:
    print(render(results))
    return
  _write(RESULTS, json.dumps(results, indent=1) + '\n')
  _write(DOC, render(results))
  print('wrote %s and %s' % (RESULTS, DOC))


if __name__ == '__main__':
  main()
