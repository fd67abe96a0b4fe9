"""Tests of the `slimnets` command line (run as `python -m slimnets`).

Its numbers are checked against graphs built directly here, tf-slim's own
nets, TensorFlow's profiler and a closed-form count of ResNet multiply-adds.
"""

import math
import os
import re
import subprocess
import sys

import pytest
import tensorflow as tf

from conftest import build_in_graph
from conftest import command_env
from slimnets import cli
from nets import nets_factory
from nets import registry

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_COUNTED_OPS = ('Conv2D', 'DepthwiseConv2dNative', 'MatMul')


def _run(*args):
  env = command_env()
  return subprocess.run([sys.executable, '-m', 'slimnets'] + list(args),
                        cwd=_ROOT, env=env, capture_output=True, text=True,
                        timeout=900, check=False)


def _number(text):
  return int(text.replace(',', ''))


def _summary_rows(stdout):
  """(rows [(end point, shape, params)], {total label: text})."""
  lines = stdout.splitlines()
  rules = [i for i, line in enumerate(lines) if re.fullmatch('-+', line)]
  assert len(rules) == 2, stdout
  rows = []
  for line in lines[rules[0] + 1:rules[1]]:
    fields = re.split(r'\s{2,}', line.strip())
    if len(fields) == 2:  # variables under no end point: no shape
      fields = [fields[0], None, fields[1]]
    rows.append((fields[0], fields[1], _number(fields[2])))
  totals = {}
  for line in lines[rules[1] + 1:]:
    label, value = line.split(':', 1)
    totals[label] = value.strip()
  return rows, totals


def _sizes(variables):
  return sum(v.shape.num_elements() for v in variables)


def _shape(tensor):
  return '[%s]' % ','.join(str(d) for d in tensor.shape.as_list())


def _profiler_multiply_adds(graph):
  """TensorFlow's own float-op count of the counted op types, halved."""
  options = tf.compat.v1.profiler.ProfileOptionBuilder(
      tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
  ).with_empty_output().build()
  profile = tf.compat.v1.profiler.profile(graph, cmd='op', options=options)
  # The 'op' view nests one node per op type (self counts in float_ops).
  flops, nodes = 0, list(profile.children)
  while nodes:
    node = nodes.pop()
    if node.name in _COUNTED_OPS:
      flops += node.float_ops
    nodes.extend(node.children)
  assert flops % 2 == 0
  return flops // 2


def _bottleneck_resnet_multiply_adds(size, units, num_classes,
                                     stride_on_first_unit):
  """Closed-form multiply-adds of a bottleneck ResNet (conv1 7x7/2, pool /2).

  Args:
    size: input height and width.
    units: units per block, e.g. (3, 4, 6, 3).
    num_classes: logits size.
    stride_on_first_unit: torchvision's layout (strides 1, 2, 2, 2 on each
      block's first unit) instead of slim's (2, 2, 2, 1 on the last unit).

  Returns:
    Multiply-adds of the convolutions and the logits at batch 1.
  """
  res = math.ceil(size / 2)
  total = res * res * 64 * 7 * 7 * 3
  res = math.ceil(res / 2)
  channels = 64
  strides = (1, 2, 2, 2) if stride_on_first_unit else (2, 2, 2, 1)
  for base, count, block_stride in zip((64, 128, 256, 512), units, strides):
    for unit in range(count):
      strided = unit == (0 if stride_on_first_unit else count - 1)
      out = math.ceil(res / block_stride) if strided else res
      total += res * res * channels * base  # conv1, 1x1, before the stride
      total += out * out * 9 * base * base  # conv2, 3x3, carries it
      total += out * out * base * 4 * base  # conv3, 1x1
      if channels != 4 * base:
        total += out * out * channels * 4 * base  # projection shortcut
      channels, res = 4 * base, out
  return total + channels * num_classes


def test_help_and_version():
  result = _run('--help')
  assert result.returncode == 0
  assert 'list' in result.stdout and 'summary' in result.stdout
  result = _run('--version')
  assert result.returncode == 0
  assert result.stdout.strip().startswith('slimnets ')


def test_list_without_parameters():
  result = _run('list', '--no-params')
  assert result.returncode == 0, result.stderr
  assert result.stderr == ''
  rows = {line.split()[0]: line.split()[1:]
          for line in result.stdout.splitlines()[2:-1]}
  # Registration order follows import order, which differs between this
  # process and the command line's.
  assert sorted(rows) == sorted(registry.list_models())
  for name, fields in rows.items():
    info = registry.get_model(name)
    assert fields == [info.family, str(info.default_image_size),
                      str(info.num_classes)]


def test_list_parameters_equal_tf_slim(slim_reference):
  result = _run('list', 'resnet_v1_50')
  assert result.returncode == 0, result.stderr
  rows = result.stdout.splitlines()[2:-1]
  assert len(rows) == 1 and rows[0].split()[0] == 'resnet_v1_50'
  slim_v1, _, _ = slim_reference
  reference = build_in_graph(slim_v1.resnet_v1_50, [1, 64, 64, 3],
                             arg_scope=slim_v1.resnet_arg_scope(),
                             num_classes=1000, is_training=False)
  expected = _sizes(reference.graph.get_collection('trainable_variables'))
  assert _number(rows[0].split()[-1]) == expected


# Inception names its end points below the network scope ('Mixed_3b' owns
# 'InceptionV1/Mixed_3b/...'); ResNet's keys carry it.
@pytest.mark.parametrize('name, size', [('resnet_v2_50', 64),
                                        ('inception_v1', 224)])
def test_summary_matches_a_direct_build(name, size):
  result = _run('summary', name, '--image-size', str(size),
                '--num-classes', '10', '--batch-size', '2')
  assert result.returncode == 0, result.stderr
  assert result.stderr == ''
  rows, totals = _summary_rows(result.stdout)

  info = registry.get_model(name)
  built = build_in_graph(info.fn, [2, size, size, 3],
                         arg_scope=info.arg_scope_fn(), num_classes=10,
                         is_training=False)
  trainable = built.graph.get_collection('trainable_variables')
  end_points = list(built.end_points)
  assert [row[0] for row in rows if row[1]] == end_points
  shown = {row[0]: row for row in rows}
  for key, tensor in built.end_points.items():
    assert shown[key][1] == _shape(tensor), key

  def inside(variable, scope):
    full = variable.op.name
    return (full.startswith(scope + '/') or
            full.split('/', 1)[-1].startswith(scope + '/'))

  # An end point enclosing no other one owns every variable in its scope.
  for key in end_points:
    if not any(other.startswith(key + '/') for other in end_points):
      owned = [v for v in trainable if inside(v, key)]
      assert shown[key][2] == _sizes(owned), key
  if name == 'inception_v1':
    # Matched by scope alone, every Mixed block would own nothing.
    assert all(shown[key][2] for key in end_points if key.startswith('Mixed_'))
  expected_total = _sizes(trainable)
  assert sum(row[2] for row in rows) == expected_total
  assert _number(totals['Trainable parameters']) == expected_total
  non_trainable = totals['Non-trainable parameters'].split()[0]
  assert _number(non_trainable) == (
      _sizes(built.graph.get_collection('variables')) - expected_total)
  assert totals['Output shape'] == _shape(built.net) == '[2,10]'


@pytest.mark.parametrize('name,units,num_classes', [
    ('resnet_v2_50', (3, 4, 6, 3), 1001),
    ('resnet_v1_50', (3, 4, 6, 3), 1000),
])
def test_summary_multiply_adds(slim_reference, name, units, num_classes):
  # Defaults: 224x224, the checkpoints' class count. Both references count
  # integer multiply-adds of the same convolutions, so they must agree
  # exactly (tolerance 0).
  result = _run('summary', name)
  assert result.returncode == 0, result.stderr
  _, totals = _summary_rows(result.stdout)
  macs = _number(totals['Multiply-adds per image'].split()[0])

  slim_v1, slim_v2, _ = slim_reference
  module = slim_v1 if name.startswith('resnet_v1') else slim_v2
  reference = build_in_graph(getattr(module, name), [1, 224, 224, 3],
                             arg_scope=module.resnet_arg_scope(),
                             num_classes=num_classes, is_training=False)
  assert macs == _profiler_multiply_adds(reference.graph)
  assert macs == _bottleneck_resnet_multiply_adds(
      224, units, num_classes, stride_on_first_unit=False)


def test_closed_form_reproduces_published_resnet50():
  # torchvision quotes 4.09 GFLOPS (multiply-adds) for ResNet-50 (stride on
  # the first unit). Slim's stride on the last unit runs block ends at the
  # lower resolution: about 3.48 G.
  assert abs(_bottleneck_resnet_multiply_adds(
      224, (3, 4, 6, 3), 1000, stride_on_first_unit=True) - 4.09e9) <= 0.005e9


@pytest.mark.parametrize('name,published_gmacs', [
    ('tv_resnet50', 4.09),
    ('resnext50_32x4d', 4.23),
])
def test_multiply_adds_equal_published_figures(name, published_gmacs):
  # torchvision's model tables, rounded to 0.01 G: tolerance 0.005 G.
  if name not in registry.list_models():
    pytest.fail('%s is no longer registered; update this test' % name)
  network_fn = nets_factory.get_network_fn(name, 1000)
  built = build_in_graph(network_fn, [1, 224, 224, 3])
  macs = cli.multiply_adds(built.graph)
  assert macs == _profiler_multiply_adds(built.graph)
  assert abs(macs - published_gmacs * 1e9) <= 0.005e9


def test_multiply_adds_of_grouped_depthwise_and_matmul():
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32, [2, 9, 9, 8])
    # 4 groups: filter input depth 8 / 4 = 2.
    grouped = tf.nn.conv2d(images, tf.ones([3, 3, 2, 12]), 2, 'SAME')
    depthwise = tf.nn.depthwise_conv2d(grouped, tf.ones([3, 3, 12, 2]),
                                       [1, 1, 1, 1], 'VALID')
    flat = tf.reshape(depthwise, [2, -1])
    tf.linalg.matmul(tf.ones([2, 5]), flat, transpose_a=True)
  expected = (2 * 5 * 5 * 12 * 3 * 3 * 2 + 2 * 3 * 3 * 24 * 3 * 3 +
              5 * flat.shape[1] * 2)
  assert cli.multiply_adds(graph) == expected
  assert cli.multiply_adds(graph) == _profiler_multiply_adds(graph)


@pytest.mark.parametrize('args,message', [
    (('summary', 'resnet_v3_50'), 'Name of network unknown resnet_v3_50'),
    (('summary', 'resnet_v2_50', '--output-stride', '64'),
     'output_stride cannot be reached'),
    (('summary', 'resnet_v2_50', '--output-stride', '6'), 'multiple of 4'),
    (('summary', 'resnet_v2_50', '--image-size', '0'), '--image-size'),
    (('list', 'resnet_v3*'), 'no model matches'),
    (('summary', 'resnet_v2_50', '--data-format', 'NWHC'), '--data-format'),
    (('extract', 'resnet_v2_50', 'x.jpg', '-o', 'x.npz', '--precision',
      'int8'), 'precision must be one of float32, bfloat16, float16'),
])
def test_bad_input_is_one_line(args, message):
  result = _run(*args)
  assert result.returncode == 2
  assert result.stdout == ''
  lines = result.stderr.splitlines()
  assert len(lines) == 1, result.stderr
  assert lines[0].startswith('slimnets %s: error: ' % args[0])
  assert message in lines[0]
  if 'resnet_v3' in args[1]:
    for name in registry.list_models():
      assert name in lines[0]


def test_float16_on_a_cpu_exits_2_with_one_line():
  if tf.config.list_physical_devices('GPU'):
    pytest.skip('float16 is valid with a GPU')
  for args in (('extract', 'resnet_v2_50', 'x.jpg', '-o', 'x.npz'),
               ('demo', '-o', 'x.npz')):
    result = _run(*(args + ('--precision', 'float16')))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith('slimnets %s: error: ' % args[0])
    assert 'float16' in lines[0] and 'GPU' in lines[0]
  assert not os.path.exists(os.path.join(_ROOT, 'x.npz'))


def test_summary_nchw_same_parameters_and_multiply_adds():
  # One row per end point in both layouts, each NCHW shape the NHWC one
  # transposed; parameters, per row and in total, and multiply-adds equal.
  summaries = {}
  for data_format in ('NHWC', 'NCHW'):
    result = _run('summary', 'resnet_v1_50', '--image-size', '64',
                  '--batch-size', '2', '--data-format', data_format)
    assert result.returncode == 0, result.stderr
    summaries[data_format] = _summary_rows(result.stdout)
  (nhwc_rows, nhwc_totals), (nchw_rows, nchw_totals) = (
      summaries['NHWC'], summaries['NCHW'])
  assert [r[0] for r in nchw_rows] == [r[0] for r in nhwc_rows]
  assert [r[2] for r in nchw_rows] == [r[2] for r in nhwc_rows]
  for nhwc, nchw in zip(nhwc_rows, nchw_rows):
    if nhwc[1] and nhwc[1].count(',') == 3:
      batch, height, width, channels = nhwc[1][1:-1].split(',')
      assert nchw[1] == '[%s]' % ','.join((batch, channels, height, width))
    else:
      assert nchw[1] == nhwc[1], nhwc[0]
  assert nhwc_rows[-1][1] == '[2,1000]'
  for total in ('Trainable parameters', 'Non-trainable parameters',
                'Multiply-adds per image', 'Output shape'):
    assert nchw_totals[total] == nhwc_totals[total], total
