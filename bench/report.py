"""Renders bench/results.json as docs/performance.md and a PNG chart.

`render(results, chart)` returns the Markdown: a goals table first (each goal
of issues 2, 4, 5 and 6 as a measured ratio, "met" or "missed by N%", and for a
miss one line of why, built from the measurements themselves), then one
section per benchmark. `write_chart(results, path)` draws the throughput and
build-time figures with matplotlib.
"""

# --- goals ----------------------------------------------------------------------

_BUILD_GOAL = 4.0           # issue 2: graph build >= 4x faster than tf-slim
_BUILD_GOAL_MODEL = 'resnet_v2_152'  # ... for this model
_LINEAR_GOAL = 1.25         # ms/unit at the deepest / shallowest depth
_ZOO_BUILD_GOAL = 1.0       # issue 11: each zoo net builds >= as fast as tf-slim's
_THROUGHPUT_GOAL = 1.0      # issue 6 item 5: fp32 ours / tf-slim
_BF16_GOAL = 2.8            # issue 6 item 2: bf16 / fp32 inference, batch 8
_AGREEMENT_GOAL = 0.99      # top-1 agreement of bf16 with fp32
_LOGIT_ERROR_GOAL = 0.01    # relative logit error of bf16
_EXTRACT_GOAL = 0.9         # issue 5: pipeline / network alone


def _status(value, goal, at_least=True):
  """'met' or 'missed by N%' (the shortfall relative to the goal)."""
  if (value >= goal) if at_least else (value <= goal):
    return 'met'
  shortfall = (goal - value) / goal if at_least else (value - goal) / goal
  return 'missed by %.0f%%' % (100 * shortfall) if shortfall >= 0.005 else (
      'missed by %.1f%%' % (100 * shortfall))


def _models(build):
  return {name: row for name, row in build.items() if not name.startswith('_')}


def _build_goals(build):
  rows = []
  models = _models(build)
  if not models:
    return rows
  # The goal is stated for resnet_v2_152; every ResNet is reported.
  worst = (_BUILD_GOAL_MODEL if _BUILD_GOAL_MODEL in models else
           min(models, key=lambda name: models[name]['speedup']))
  row = models[worst]
  why = ''
  floor = build.get('_op_floor_us')
  if row['speedup'] < _BUILD_GOAL and floor and row.get('slimnets_ops'):
    ours_us = 1e6 * row['slimnets_s'] / row['slimnets_ops']
    needed_us = 1e6 * row['tf_slim_s'] / _BUILD_GOAL / row['slimnets_ops']
    why = ('%s: slimnets spends %.0f us per graph op (%d ops); 4x needs '
           '%.0f us, and TensorFlow alone takes %.0f us to add a bare '
           'tf.identity op.' % (worst, ours_us, row['slimnets_ops'],
                                needed_us, floor))
    cost = build.get('_variable_cost')
    if cost:
      why += (' %d%% of the build is inside tf.compat.v1.get_variable: %d '
              'resource variables own %d of the %d ops (handle, initializer, '
              'VarIsInitializedOp, assign, read), the same calls and ops '
              'tf-slim makes and a checkpoint-compatible net must make.' % (
                  100 * cost['get_variable_share'], cost['variables'],
                  cost['variable_ops'], cost['ops']))
  rows.append(('Graph build >= %gx faster than tf-slim, %s (issue 2)' %
               (_BUILD_GOAL, worst),
               '%.2fx (every ResNet: %.2fx to %.2fx)' % (
                   row['speedup'],
                   min(r['speedup'] for r in models.values()),
                   max(r['speedup'] for r in models.values())),
               _status(row['speedup'], _BUILD_GOAL), why))
  for family in ('resnet_v1', 'resnet_v2'):
    depths = sorted((r['units'], name) for name, r in models.items()
                    if name.startswith(family + '_'))
    if len(depths) < 2:
      continue
    (_, shallow), (_, deep) = depths[0], depths[-1]
    growth = (models[deep]['slimnets_ms_per_unit'] /
              models[shallow]['slimnets_ms_per_unit'])
    theirs = (models[deep]['tf_slim_ms_per_unit'] /
              models[shallow]['tf_slim_ms_per_unit'])
    why = ''
    if growth > _LINEAR_GOAL:
      why = 'time per unit grows %.1f -> %.1f ms from %s to %s' % (
          models[shallow]['slimnets_ms_per_unit'],
          models[deep]['slimnets_ms_per_unit'], shallow, deep)
      if models[deep].get('slimnets_ops'):
        why += (' while ops per unit stay %.0f -> %.0f, so each op costs '
                'more in a bigger graph' % (
                    models[shallow]['slimnets_ops'] / depths[0][0],
                    models[deep]['slimnets_ops'] / depths[-1][0]))
      why += ('; tf-slim grows %.2fx, so the cause is in TensorFlow code both '
              'share.' % theirs if theirs > growth else
              '; cause not isolated.')
    rows.append(('Build time linear in depth, %s: ms per residual unit, '
                 '%s / %s <= %.2f (issue 2)' % (family, deep, shallow,
                                               _LINEAR_GOAL),
                 '%.2f (tf-slim %.2f)' % (growth, theirs),
                 _status(growth, _LINEAR_GOAL, at_least=False), why))
  return rows


def _noise_why(throughput, setting, ratio):
  spreads = throughput.get('spread', {}).get(setting, {})
  ours, theirs = spreads.get('slimnets'), spreads.get('tf-slim')
  if ours is None or theirs is None:
    return ''
  gap = 1 - ratio
  if throughput.get('iterations', 0) < 3:
    return ('a %.0f%% gap from %s timed run(s) per variant (--quick): too '
            'few to tell from noise.' % (100 * gap,
                                         throughput.get('iterations')))
  if gap <= max(ours, theirs):
    return ('a %.0f%% gap, within the spread of the timed runs (slimnets '
            '%.0f%%, tf-slim %.0f%%): both run the same TensorFlow kernels '
            'on a shared machine.' % (100 * gap, 100 * ours, 100 * theirs))
  return ('a %.0f%% gap, beyond the spread of the timed runs (slimnets %.0f%%, '
          'tf-slim %.0f%%): not explained by noise; profile before trusting '
          'either.' % (100 * gap, 100 * ours, 100 * theirs))


def _throughput_goals(throughput, machine):
  rows = []
  for kind, batch in (('inference', '8'), ('inference', '32'),
                      ('training', '16')):
    speeds = throughput.get(kind, {}).get(batch)
    if not speeds:
      continue
    ratio = speeds['slimnets'] / speeds['tf-slim']
    why = ('' if ratio >= _THROUGHPUT_GOAL else
           _noise_why(throughput, '%s %s' % (kind, batch), ratio))
    rows.append(('fp32 %s, batch %s: slimnets / tf-slim >= %.1f (issue 6)' %
                 (kind, batch, _THROUGHPUT_GOAL), '%.2fx' % ratio,
                 _status(ratio, _THROUGHPUT_GOAL), why))
  speeds = throughput.get('inference', {}).get('8')
  if speeds and 'slimnets bf16' in speeds:
    ratio = speeds['slimnets bf16'] / speeds['slimnets']
    why = ''
    if ratio < _BF16_GOAL:
      isa = machine.get('isa') or []
      if 'amx_bf16' not in isa:
        why = ('this CPU has no AMX (ISA flags: %s): oneDNN runs bfloat16 '
               'convolutions on AVX-512-BF16 dot products, at most 2x the '
               'float32 arithmetic rate; the issue\'s 2.9x was measured with '
               'AMX tiles.' % (', '.join(isa) or 'none recorded'))
      else:
        why = _noise_why(throughput, 'inference 8', ratio / _BF16_GOAL)
    rows.append(('bfloat16 inference, batch 8: bf16 / fp32 >= %.1fx '
                 '(issue 6)' % _BF16_GOAL, '%.2fx' % ratio,
                 _status(ratio, _BF16_GOAL), why))
  return rows


def _memory_goal(memory):
  ratio = memory['ratio_vs_tf_slim']['slimnets']
  why = ''
  if ratio > 1.0:
    ops = memory.get('ops', {})
    why = ('%.0f MiB more; the training graphs have %s (slimnets) and %s '
           '(tf-slim) ops and hold the same activations, so the difference is '
           'in what TensorFlow keeps per op and allocator caching.' % (
               memory['slimnets'] - memory['tf-slim'],
               ops.get('slimnets', '?'), ops.get('tf-slim', '?')))
  return [('Peak training memory (batch %d): slimnets / tf-slim <= 1.0 '
           '(issue 6)' % memory['batch'], '%.3f' % ratio,
           _status(ratio, 1.0, at_least=False), why)]


def _convert_goal(convert):
  ratios = convert['above_baseline_over_model']
  worst = max(ratios, key=ratios.get)
  peaks = convert['peak_rss_mib']
  why = ''
  if ratios[worst] > convert['goal']:
    why = ('%s peaks %.0f MiB above the baseline for a %.0f MiB model: it '
           'holds about %.1f copies of the weights at once, not one tensor '
           'at a time.' % (worst, peaks[worst] - peaks['baseline'],
                           convert['model_mib'], ratios[worst]))
  return [('Converting %s: peak RSS above `import tensorflow` <= %gx the '
           'model size, every conversion (issue 4)' % (convert['model'],
                                                  convert['goal']),
           'max %.2fx (%s)' % (ratios[worst], worst),
           _status(ratios[worst], convert['goal'], at_least=False), why)]


def _precision_goals(precision):
  agreement = precision['top1_agreement']
  error = precision['relative_logit_error_mean']
  why_agreement = why_error = ''
  if agreement < _AGREEMENT_GOAL:
    why_agreement = ('%d of %d test images change class; a network trained '
                     'only %d steps (float32 accuracy %.1f%%) has many '
                     'near-ties that bfloat16 rounding flips.' % (
                         round((1 - agreement) * precision['test_images']),
                         precision['test_images'], precision['train_steps'],
                         100 * precision['float32_accuracy']))
  if error > _LOGIT_ERROR_GOAL:
    why_error = ('bfloat16 keeps 8 significant bits (0.4%% relative rounding '
                 'per value) and the error adds up over the network\'s '
                 'layers: %.2f%% mean, %.2f%% worst image.' % (
                     100 * error,
                     100 * precision['relative_logit_error_max']))
  return [
      ('bfloat16 top-1 agreement with fp32 >= %.0f%% (trained digits net, '
       'issue 6)' % (100 * _AGREEMENT_GOAL), '%.2f%%' % (100 * agreement),
       _status(agreement, _AGREEMENT_GOAL), why_agreement),
      ('bfloat16 relative logit error <= %.0f%% (mean over test images, '
       'issue 6)' % (100 * _LOGIT_ERROR_GOAL), '%.2f%%' % (100 * error),
       _status(error, _LOGIT_ERROR_GOAL, at_least=False), why_error),
  ]


def _extract_goal(extract):
  ratio = extract['pipeline_over_network']
  why = ''
  if ratio < _EXTRACT_GOAL:
    why = ('decoding and preprocessing share the %s cores with the network\'s '
           'own threads, so they do not fully hide behind the convolutions.'
           % extract.get('cores', '?'))
  return [('`slimnets extract` pipeline / network alone >= %.1f (issue 5)' %
           _EXTRACT_GOAL, '%.2f' % ratio, _status(ratio, _EXTRACT_GOAL), why)]


def _grouped_goals(grouped):
  goals = grouped.get('goals', {})
  share = grouped.get('grouped_conv_share_of_native_step')
  why = ('grouped convs are %.0f%% of a native training step; the rest is the '
         'same in every design (docs/performance_grouped.md).' %
         (100 * share) if share is not None else
         'see docs/performance_grouped.md.')
  rows = []
  for key, goal, label in (('vs_split', 2.5, 'split design (seed 000)'),
                           ('vs_depthwise', 5.0,
                            'depthwise + fixed 1x1 design (seed 004)')):
    if key in goals:
      status = _status(goals[key], goal)
      rows.append(('ResNeXt-50 training step >= %.1fx faster than the %s' %
                   (goal, label), '%.2fx' % goals[key], status,
                   why if status != 'met' else ''))
  return rows


def _zoo_build_goals(zoo):
  worst = min(zoo, key=lambda name: zoo[name]['speedup'])
  rows = [('Every other tf-slim net builds >= %gx as fast as tf-slim\'s own, '
           'worst %s (issue 11)' % (_ZOO_BUILD_GOAL, worst),
           '%.2fx (all: %.2fx to %.2fx)' % (
               zoo[worst]['speedup'], zoo[worst]['speedup'],
               max(r['speedup'] for r in zoo.values())),
           _status(zoo[worst]['speedup'], _ZOO_BUILD_GOAL), '')]
  vggs = [zoo[name] for name in ('vgg_a', 'vgg_19') if name in zoo]
  if len(vggs) == 2:
    growth = vggs[1]['slimnets_ms_per_conv'] / vggs[0]['slimnets_ms_per_conv']
    rows.append(('Build time linear in depth: ms per conv of vgg_19 / vgg_a '
                 '<= %.2f' % _LINEAR_GOAL, '%.2f' % growth,
                 _status(growth, _LINEAR_GOAL, at_least=False), ''))
  return rows


def _goals_section(results):
  rows = []
  machine = results.get('machine', {})
  if results.get('build'):
    rows += _build_goals(results['build'])
  if results.get('build_zoo'):
    rows += _zoo_build_goals(results['build_zoo'])
  if results.get('throughput'):
    rows += _throughput_goals(results['throughput'], machine)
  if results.get('memory'):
    rows += _memory_goal(results['memory'])
  if results.get('convert'):
    rows += _convert_goal(results['convert'])
  if results.get('precision', {}).get('not_supported'):
    rows.append(('bfloat16 top-1 agreement and logit error (issue 6)',
                 '-', 'not supported on this CPU',
                 results['precision']['not_supported']))
  elif results.get('precision'):
    rows += _precision_goals(results['precision'])
  if results.get('extract'):
    rows += _extract_goal(results['extract'])
  if results.get('grouped'):
    rows += _grouped_goals(results['grouped'])
  if not rows:
    return []
  lines = ['## Goals', '',
           '| goal | measured | status | why (misses) |',
           '|---|---:|---|---|']
  for goal, measured, status, why in rows:
    lines.append('| %s | %s | %s | %s |' % (goal, measured, status, why))
  return lines + ['']


# --- sections -------------------------------------------------------------------


def _build_section(build):
  models = _models(build)
  lines = [
      '## Graph-build time: slimnets vs tf-slim',
      '',
      'Training-mode graph, `[None, 224, 224, 3]` input, under each '
      "family's arg scope; built alternately in one process, median of %d "
      '(process CPU time). Goal: at least 4x faster than tf-slim, and build '
      'time linear in depth (flat time per residual unit).' %
      next(iter(models.values()))['repeats'],
      '',
      '| model | units | slimnets (s) | tf-slim (s) | speedup | slimnets ms/unit '
      '| tf-slim ms/unit | slimnets ops | tf-slim ops |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for name, row in models.items():
    lines.append('| %s | %d | %.2f | %.2f | %.2fx | %.1f | %.1f | %s | %s |' % (
        name, row['units'], row['slimnets_s'], row['tf_slim_s'],
        row['speedup'], row['slimnets_ms_per_unit'],
        row['tf_slim_ms_per_unit'], row.get('slimnets_ops', '-'),
        row.get('tf_slim_ops', '-')))
  if build.get('_op_floor_us'):
    lines += ['', 'TensorFlow itself takes %.1f us to add a bare '
              '`tf.identity` op to a graph: the floor under any Python '
              'builder.' % build['_op_floor_us']]
  cost = build.get('_variable_cost')
  if cost:
    lines += ['', 'Profiled (cProfile, one build of %s): %d%% of slimnets\' '
              'build time is spent creating its %d variables with '
              '`tf.compat.v1.get_variable`; they own %d of the graph\'s %d '
              'ops.' % (cost['model'], 100 * cost['get_variable_share'],
                        cost['variables'], cost['variable_ops'],
                        cost['ops'])]
  return lines


def _build_zoo_section(zoo):
  lines = [
      '## Graph-build time of the other tf-slim nets',
      '',
      'The research/slim networks tf-slim 1.1.0 also ships, each at its '
      'default image size and class count, training mode, built alternately '
      'in one process, median of %d (process CPU time). Goal: no slower than '
      'tf-slim.' % next(iter(zoo.values()))['repeats'],
      '',
      '| model | convs | slimnets (s) | tf-slim (s) | speedup | slimnets '
      'ms/conv | tf-slim ms/conv |',
      '|---|---:|---:|---:|---:|---:|---:|',
  ]
  for name, row in zoo.items():
    lines.append('| %s | %d | %.3f | %.3f | %.2fx | %.2f | %.2f |' % (
        name, row['convs'], row['slimnets_s'], row['tf_slim_s'],
        row['speedup'], row['slimnets_ms_per_conv'],
        row['tf_slim_ms_per_conv']))
  return lines


def _ratio(value, base):
  return '%.2fx' % (value / base) if base else '-'


def _throughput_section(throughput):
  lines = [
      '## Throughput: resnet_v2_50, images/s',
      '',
      'One process, each network in its own graph and session (224x224, '
      'random weights), timed runs alternating between variants, median of '
      '%s. `keras` is `tf_keras.applications.ResNet50V2(weights=None)`; '
      '`bf16` is `session_config(precision=\'bfloat16\')`, `NCHW` '
      '`data_format_scope(\'NCHW\')`, `XLA` `session_config(xla=True)` '
      '(auto-clustering). Ratios are against tf-slim and against slimnets '
      'float32; "spread" is (slowest - fastest) / median of the timed runs.'
      % throughput.get('iterations', '?'),
      '',
  ]
  for kind in ('inference', 'training'):
    for batch, speeds in throughput.get(kind, {}).items():
      spreads = throughput.get('spread', {}).get('%s %s' % (kind, batch), {})
      base = speeds.get('tf-slim')
      lines += ['### %s, batch %s' % (kind.capitalize(), batch), '',
                '| variant | images/s | vs tf-slim | vs slimnets fp32 | '
                'spread |',
                '|---|---:|---:|---:|---:|']
      for label, value in speeds.items():
        spread = spreads.get(label)
        lines.append('| %s | %.2f | %s | %s | %s |' % (
            label, value, _ratio(value, base),
            _ratio(value, speeds.get('slimnets')),
            '%.0f%%' % (100 * spread) if spread is not None else '-'))
      lines.append('')
  lines += _trade_offs(throughput) + ['']
  return lines


def _trade_offs(throughput):
  """One line per runtime option: its measured effect, from the tables."""
  lines = ['### Runtime options: measured trade-offs', '']
  for label, what in (('slimnets bf16', 'bfloat16 (auto mixed precision)'),
                      ('slimnets NCHW', 'NCHW (on this CPU)'),
                      ('slimnets XLA', 'XLA auto-clustering')):
    parts = []
    for kind in ('inference', 'training'):
      for batch, speeds in throughput.get(kind, {}).items():
        if label in speeds and speeds.get('slimnets'):
          parts.append('%s %s: %.2fx' % (kind, batch,
                                         speeds[label] / speeds['slimnets']))
    if parts:
      lines.append('- %s vs float32 NHWC: %s.' % (what, ', '.join(parts)))
    elif label in throughput.get('not_supported', {}):
      lines.append('- %s: not supported on this CPU (%s).' % (
          what, throughput['not_supported'][label]))
  return lines


def _memory_section(memory):
  lines = [
      '## Peak memory of a training step (batch %d, 224x224)' %
      memory['batch'], '',
      'Each configuration in a fresh process; peak resident set size after '
      'building the training graph and three steps. Goal: slimnets <= '
      'tf-slim.', '',
      '| configuration | peak RSS (MiB) | vs tf-slim | graph ops |',
      '|---|---:|---:|---:|',
  ]
  for label, ratio in memory['ratio_vs_tf_slim'].items():
    lines.append('| %s | %.0f | %.3f | %s |' % (
        label, memory[label], ratio, memory.get('ops', {}).get(label, '-')))
  return lines + ['']


def _convert_section(convert):
  peaks = convert['peak_rss_mib']
  lines = [
      '## Peak memory of a conversion (%s, %d classes)' % (
          convert['model'], convert['num_classes']), '',
      'A random checkpoint (%d tensors, %.1f M parameters, %.0f MiB in '
      'float32) written as `.npz`, then each step with '
      '`checkpoints_tools.convert.convert` in a fresh process; peak resident '
      'set size (VmHWM). The baseline process imports TensorFlow and '
      'checkpoints_tools and does nothing. Goal: tensors are streamed one at '
      'a time, so a conversion peaks at most %gx the model size above the '
      'baseline.' % (convert['tensors'], convert['parameters'] / 1e6,
                     convert['model_mib'], convert['goal']), '',
      '| step | peak RSS (MiB) | above baseline (MiB) | / model size |',
      '|---|---:|---:|---:|',
  ]
  for label, peak in peaks.items():
    ratio = convert['above_baseline_over_model'].get(label)
    lines.append('| %s | %.0f | %s | %s |' % (
        label, peak,
        '%.0f' % (peak - peaks['baseline']) if ratio is not None else '-',
        '%.2f' % ratio if ratio is not None else '-'))
  lines += ['', 'Files on disk (MiB): %s.' % ', '.join(
      '%s %.0f' % item for item in convert['file_mib'].items())]
  return lines + ['']


def _precision_section(precision):
  return [
      '## bfloat16 accuracy on a trained network',
      '',
      'A small pre-activation ResNet trained %d steps on scikit-learn\'s '
      'digits (real 8x8 scans, upsampled to 32x32), evaluated on %d held-out '
      "images in float32 and with `session_config('bfloat16')` (same graph "
      'and weights). Goals: top-1 agreement >= 99%%, relative logit error '
      '<= 1%%.' % (precision['train_steps'], precision['test_images']),
      '',
      '| metric | value |', '|---|---:|',
  ] + ['| %s | %s |' % (key, value) for key, value in precision.items()] + ['']


def _extract_section(extract):
  return [
      '## Feature extraction: `slimnets extract` vs the network alone',
      '',
      '%d generated %dx%d JPEGs through %s at %d, batch %d: the whole '
      'pipeline (read, decode, preprocess in tf.data, features streamed to '
      'disk) against `Session.run` on preprocessed batches held in memory. '
      'Goal: the pipeline within 10%% of the network alone (ratio >= 0.9).' % (
          extract['images'], extract['source_size'], extract['source_size'],
          extract['model'], extract['image_size'], extract['batch_size']),
      '',
      '| pipeline (img/s) | network alone (img/s) | ratio |',
      '|---:|---:|---:|',
      '| %.2f | %.2f | %.2f |' % (extract['pipeline_images_per_second'],
                                 extract['network_images_per_second'],
                                 extract['pipeline_over_network']),
      '',
  ]


def _grouped_section(grouped):
  lines = [
      '## ResNeXt-50: native grouped convolution vs the seed designs',
      '',
      'Quoted from `bench/results_grouped.json` (`python -m '
      'bench.bench_grouped`, %s, %d alternating rounds; analysis in '
      '[performance_grouped.md](performance_grouped.md)).' % (
          grouped.get('date', '?'), grouped.get('rounds', 0)),
      '',
      '| ResNeXt-50 (32x4d) training step | s / step | vs slimnets native |',
      '|---|---:|---:|',
  ]
  network = grouped.get('network', {})
  base = next(iter(network.values()), None)
  for label, seconds in network.items():
    lines.append('| %s | %.2f | %s |' % (label, seconds,
                                         _ratio(seconds, base)))
  return lines + ['']


def render(results, chart=None):
  """Markdown for docs/performance.md from the results dict.

  Args:
    results: the dict bench.run writes to results.json.
    chart: file name of the PNG chart next to the document, or None.
  """
  machine = results.get('machine', {})
  lines = [
      '# Performance',
      '',
      'Generated by `python -m bench.run` on %s; do not edit by hand.' %
      results.get('date', '?'),
      '',
  ]
  if results.get('quick'):
    lines += ['**Quick smoke run (`--quick`): reduced sizes and single '
              'repeats; not the numbers to publish.**', '']
    estimate = results.get('full_run_estimate_s')
    if estimate:
      lines += ['A full run (`python -m bench.run`) would take about %.0f '
                'minutes on this machine as loaded now (%s).' % (
                    sum(estimate.values()) / 60,
                    ', '.join('%s %.1f' % (k, v / 60)
                              for k, v in estimate.items())), '']
  seconds = results.get('section_seconds', {})
  lines += [
      'Machine: %s, %s cores (%s), Python %s, TensorFlow %s (oneDNN: %s). '
      'A shared machine: read ratios, not absolute times.%s' % (
          machine.get('cpu'), machine.get('cores'),
          ', '.join(machine.get('isa') or []) or 'ISA flags not recorded',
          machine.get('python'), machine.get('tensorflow'),
          machine.get('onednn'),
          ' Bench sections took %.0f minutes in all.' %
          (sum(seconds.values()) / 60) if seconds else ''),
      '',
  ]
  for name, other in sorted(results.get('section_machines', {}).items()):
    lines += ['Section `%s` re-run on %s: %s, %s cores (%s), TensorFlow %s '
              '(oneDNN: %s).' % (
                  name, other.get('date'), other.get('cpu'),
                  other.get('cores'), ', '.join(other.get('isa') or []),
                  other.get('tensorflow'), other.get('onednn')), '']
  features = machine.get('features')
  if features:
    lines += [
        'What this TensorFlow ran (`nets.runtime.features()`): %s. Which CPU '
        'runs what: README, "Which CPU runs what".' % ', '.join(
            '%s %s' % (name, 'yes' if value else 'no')
            for name, value in features.items()), '']
  lines += _goals_section(results)
  if chart:
    lines += ['![resnet_v2_50 throughput and graph-build time](%s)' % chart,
              '']
  if results.get('build'):
    lines += _build_section(results['build']) + ['']
  if results.get('build_zoo'):
    lines += _build_zoo_section(results['build_zoo']) + ['']
  if results.get('throughput'):
    lines += _throughput_section(results['throughput'])
  if results.get('extract'):
    lines += _extract_section(results['extract'])
  if results.get('memory'):
    lines += _memory_section(results['memory'])
  if results.get('convert'):
    lines += _convert_section(results['convert'])
  if results.get('precision') and 'not_supported' not in results['precision']:
    lines += _precision_section(results['precision'])
  if results.get('grouped'):
    lines += _grouped_section(results['grouped'])
  return '\n'.join(lines) + '\n'


# --- chart ----------------------------------------------------------------------


def write_chart(results, path):
  """Draws throughput (left) and build times (right) to `path` (PNG).

  Returns:
    `path`, or None when there is nothing to draw or no matplotlib.
  """
  throughput = results.get('throughput') or {}
  build = _models(results.get('build') or {})
  if not throughput and not build:
    return None
  try:
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use('Agg')
    from matplotlib import pyplot  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  figure, (left, right) = pyplot.subplots(1, 2, figsize=(13, 4.8))
  settings = [(kind, batch) for kind in ('inference', 'training')
              for batch in throughput.get(kind, {})]
  labels = []
  for kind, batch in settings:
    for label in throughput[kind][batch]:
      if label not in labels:
        labels.append(label)
  width = 0.8 / max(1, len(labels))
  for i, label in enumerate(labels):
    # Relative to slimnets fp32 per setting, so batch 1 and 32 share a scale.
    values = [throughput[kind][batch].get(label, 0) /
              throughput[kind][batch]['slimnets'] for kind, batch in settings]
    left.bar([x + i * width for x in range(len(settings))], values, width,
             label=label)
  left.axhline(1.0, color='gray', linewidth=0.8)
  left.set_xticks([x + 0.4 - width / 2 for x in range(len(settings))])
  left.set_xticklabels(['%s\nbatch %s' % setting for setting in settings])
  left.set_ylabel('images/s relative to slimnets float32')
  left.set_title('resnet_v2_50 throughput')
  left.legend(fontsize='small')
  names = list(build)
  ys = range(len(names))
  right.barh([y + 0.2 for y in ys], [build[n]['tf_slim_s'] for n in names],
             0.4, label='tf-slim')
  right.barh([y - 0.2 for y in ys], [build[n]['slimnets_s'] for n in names],
             0.4, label='slimnets')
  right.set_yticks(list(ys))
  right.set_yticklabels(['%s (%.1fx)' % (n, build[n]['speedup'])
                         for n in names])
  right.invert_yaxis()
  right.set_xlabel('graph-build CPU seconds (speedup)')
  right.set_title('Graph build, training mode')
  right.legend(fontsize='small')
  figure.tight_layout()
  figure.savefig(path, dpi=90)
  pyplot.close(figure)
  return path
