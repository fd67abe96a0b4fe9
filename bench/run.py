"""Runs the benchmarks and writes bench/results.json and docs/performance.md.

Every section compares side by side in one process and reports ratios, so
the numbers mean something on a shared, noisy machine. Sections already in
results.json and not re-run are kept, so one section can be refreshed alone.
The ResNeXt section quotes bench/results_grouped.json (written by
`python -m bench.bench_grouped`, about 20 minutes on its own).

Run: python -m bench.run                # every section: about 10 minutes
                                        # on 2 quiet cores, estimated from
                                        # the quick run (section times are
                                        # recorded in results.json)
     python -m bench.run --quick        # every section at minimal sizes,
                                        # 2 minutes; writes to a temporary
                                        # folder, not the repo, and prints
                                        # the full run's estimated time
     python -m bench.run --only build   # one section
     python -m bench.run --report-only  # docs from the stored results
"""

import argparse
import datetime
import json
import os
import platform
import tempfile
import time

import tensorflow as tf

from bench import build_speed
from bench import convert_memory
from bench import extract_speed
from bench import memory
from bench import precision_accuracy
from bench import report
from bench import throughput

_HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(_HERE, 'results.json')
GROUPED_RESULTS = os.path.join(_HERE, 'results_grouped.json')
DOC = os.path.join(os.path.dirname(_HERE), 'docs', 'performance.md')
CHART = 'performance.png'  # next to the doc

# Models of the quick build section: both versions, and two depths of one
# to show the trend.
_QUICK_BUILD_MODELS = ('resnet_v1_50', 'resnet_v2_50', 'resnet_v2_152')
_QUICK_ZOO_MODELS = ('vgg_16', 'inception_v3')


def _grouped(quick):
  del quick  # quoted, not re-run
  if not os.path.exists(GROUPED_RESULTS):
    return None
  with open(GROUPED_RESULTS) as f:
    return json.load(f)


SECTIONS = {
    'build': lambda quick: build_speed.run(
        _QUICK_BUILD_MODELS if quick else build_speed.DEFAULT_MODELS,
        repeats=1 if quick else 3),
    'build_zoo': lambda quick: build_speed.run_zoo(
        _QUICK_ZOO_MODELS if quick else build_speed.ZOO_MODELS,
        repeats=1 if quick else 3),
    'throughput': throughput.run,
    'extract': extract_speed.run,
    'memory': memory.run,
    'convert': convert_memory.run,
    'precision': precision_accuracy.run,
    'grouped': _grouped,
}

# CPU features that decide what bfloat16 can gain.
_ISA_FLAGS = ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16',
              'amx_tile', 'amx_bf16', 'amx_int8')


def _machine():
  from nets import runtime  # pylint: disable=import-outside-toplevel
  features = runtime.features()
  cpu, flags = platform.processor() or 'unknown', set()
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          cpu = line.split(':', 1)[1].strip()
        elif line.startswith('flags'):
          flags.update(line.split(':', 1)[1].split())
  except OSError:
    pass
  return {
      'cpu': cpu,
      'cores': os.cpu_count(),
      'isa': [flag for flag in _ISA_FLAGS if flag in flags],
      'python': platform.python_version(),
      'tensorflow': tf.__version__,
      # What TensorFlow really runs (oneDNN is on by itself only on CPUs
      # with AVX-512), and what follows from it (nets.runtime.features).
      'onednn': '%s (TF_ENABLE_ONEDNN_OPTS=%s)' % (
          'on' if features['onednn'] else 'off',
          os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')),
      'features': dict(features),
  }


def _estimate_full_seconds(results):
  """Seconds a full run would take, from a quick run's measurements.

  Build: the quick models' CPU time per residual unit times every ResNet's
  units, 3 repeats. Throughput: the full timed runs (plus one warm-up) at
  the measured images/s, the largest quick batch standing in for bigger
  ones, plus the quick section's set-up time per setting. The other
  sections: their quick time times the size ratio (images, batch, steps).
  """
  seconds = results['section_seconds']
  estimate = {}
  build = {k: v for k, v in results['build'].items() if not k.startswith('_')}
  per_unit = sum(r['slimnets_s'] + r['tf_slim_s'] for r in build.values()) / (
      sum(r['units'] for r in build.values()))
  from nets import resnet_utils  # pylint: disable=import-outside-toplevel
  units = sum(sum(resnet_utils.UNITS_PER_BLOCK[int(name.rsplit('_', 1)[1])])
              for name in build_speed.DEFAULT_MODELS)
  estimate['build'] = 3 * per_unit * units
  inference_batches, training_batches, iterations = throughput._FULL  # pylint: disable=protected-access
  timed = 0.0
  quick = results['throughput']
  settings = 0
  for kind, batches in (('inference', inference_batches),
                        ('training', training_batches)):
    measured = quick[kind][max(quick[kind], key=int)]
    for batch in batches:
      # A rate rounded to 0.0 (a variant far below 0.01 images/s) is left
      # out rather than dividing by it.
      timed += (iterations + 1) * sum(batch / rate
                                      for rate in measured.values() if rate)
      settings += 1
  quick_settings = len(quick['inference']) + len(quick['training'])
  quick_timed = (quick.get('iterations', 1) + 1) * sum(
      int(b) / r for kind in ('inference', 'training')
      for b, rates in quick[kind].items() for r in rates.values() if r)
  setup = max(0.0, seconds['throughput'] - quick_timed) / quick_settings
  estimate['throughput'] = timed + setup * settings
  if 'build_zoo' in seconds:
    # 3 repeats (+1 warm-up) of all zoo models vs 1 (+1) of the quick ones.
    estimate['build_zoo'] = seconds['build_zoo'] * 2 * len(
        build_speed.ZOO_MODELS) / len(_QUICK_ZOO_MODELS)
  estimate['extract'] = seconds['extract'] * 128 * 2 / 16
  estimate['memory'] = seconds['memory'] * 1.5  # batch 16 vs 4, measured
  estimate['precision'] = seconds['precision'] * 400 / 60
  # resnet_v2_152 vs resnet_v2_50, measured: each step's process start and
  # TensorFlow import dominate, not the 2.4x more tensor data.
  estimate['convert'] = seconds['convert'] * 1.2
  return {name: round(value) for name, value in estimate.items()}


def _write_atomically(path, text):
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    f.write(text)
  os.replace(tmp, path)


def _record_machine(results, only):
  """The machine and date of a full run; a partial run (`--only`) keeps
  them and records its own per section, so that the document never puts
  one machine's name on another's numbers."""
  machine = dict(_machine(), date=datetime.date.today().isoformat())
  if only and results.get('machine'):
    results.setdefault('section_machines', {}).update(
        {name: machine for name in only})
    return
  results['machine'] = _machine()
  results['date'] = machine['date']
  results['section_machines'] = {}


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--only', nargs='+', choices=sorted(SECTIONS),
                      help='sections to run (default: all)')
  parser.add_argument('--quick', action='store_true',
                      help='every section at minimal sizes and repeats (a '
                      'smoke run of a few minutes); writes to --out-dir')
  parser.add_argument('--out-dir',
                      help='folder for results.json, performance.md and '
                      'the chart (default: bench/ and docs/; with --quick a '
                      'new temporary folder)')
  parser.add_argument('--report-only', action='store_true',
                      help='run nothing: rewrite performance.md and the '
                      'chart from the stored results.json')
  args = parser.parse_args(argv)
  results_path, doc_path = RESULTS, DOC
  if args.quick or args.out_dir:
    folder = args.out_dir or tempfile.mkdtemp(prefix='slimnets-bench-quick-')
    os.makedirs(folder, exist_ok=True)
    results_path = os.path.join(folder, 'results.json')
    doc_path = os.path.join(folder, 'performance.md')
  results = {}
  if os.path.exists(results_path):
    with open(results_path) as f:
      results = json.load(f)
  seconds = results.setdefault('section_seconds', {})
  start = time.time()
  for name in [] if args.report_only else args.only or list(SECTIONS):
    print('== %s' % name, flush=True)
    section_start = time.time()
    results[name] = SECTIONS[name](args.quick)
    seconds[name] = round(time.time() - section_start, 1)
    print('== %s: %.0f s' % (name, seconds[name]), flush=True)
  if not args.report_only:
    results['quick'] = args.quick
  if args.quick and not args.only and not args.report_only:
    results['full_run_estimate_s'] = _estimate_full_seconds(results)
    print('estimated full run: %.0f minutes on this machine now (%s)' % (
        sum(results['full_run_estimate_s'].values()) / 60,
        ', '.join('%s %.1f' % (k, v / 60) for k, v in
                  results['full_run_estimate_s'].items())), flush=True)
  if not args.report_only:
    _record_machine(results, args.only)
    _write_atomically(results_path, json.dumps(results, indent=1) + '\n')
  os.makedirs(os.path.dirname(doc_path), exist_ok=True)
  chart_path = os.path.join(os.path.dirname(doc_path), CHART)
  # Without matplotlib the chart of the last run that had it stays.
  chart = report.write_chart(results, chart_path) or (
      chart_path if os.path.exists(chart_path) else None)
  _write_atomically(doc_path, report.render(
      results, chart and os.path.basename(chart)))
  print('wrote %s, %s%s in %.0f s' % (results_path, doc_path,
                                      ' and ' + chart if chart else '',
                                      time.time() - start))


if __name__ == '__main__':
  main()
