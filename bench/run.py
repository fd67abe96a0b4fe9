"""Runs the benchmarks and writes bench/results.json and docs/performance.md.

Every section compares side by side in one process and reports ratios, so
the numbers mean something on a shared, noisy machine. Sections already in
results.json and not re-run are kept, so one section can be refreshed alone.

Run: python -m bench.run                # every section
     python -m bench.run --only build   # one section
"""

import argparse
import datetime
import json
import os
import platform

import tensorflow as tf

from bench import build_speed
from bench import extract_speed
from bench import memory
from bench import precision_accuracy
from bench import report
from bench import throughput

_HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(_HERE, 'results.json')
DOC = os.path.join(os.path.dirname(_HERE), 'docs', 'performance.md')

SECTIONS = {
    'build': lambda quick: build_speed.run(
        build_speed.DEFAULT_MODELS, repeats=1 if quick else 3),
    'throughput': throughput.run,
    'extract': extract_speed.run,
    'memory': memory.run,
    'precision': precision_accuracy.run,
}


def _machine():
  cpu = platform.processor() or 'unknown'
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          cpu = line.split(':', 1)[1].strip()
          break
  except OSError:
    pass
  return {
      'cpu': cpu,
      'cores': os.cpu_count(),
      'python': platform.python_version(),
      'tensorflow': tf.__version__,
      'onednn': os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default (on)'),
  }


def _write_atomically(path, text):
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    f.write(text)
  os.replace(tmp, path)


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--only', nargs='+', choices=sorted(SECTIONS),
                      help='sections to run (default: all)')
  parser.add_argument('--quick', action='store_true',
                      help='one repeat instead of three (a smoke run)')
  args = parser.parse_args(argv)
  results = {}
  if os.path.exists(RESULTS):
    with open(RESULTS) as f:
      results = json.load(f)
  for name in args.only or sorted(SECTIONS):
    print('== %s' % name, flush=True)
    results[name] = SECTIONS[name](args.quick)
  results['machine'] = _machine()
  results['date'] = datetime.date.today().isoformat()
  _write_atomically(RESULTS, json.dumps(results, indent=1) + '\n')
  os.makedirs(os.path.dirname(DOC), exist_ok=True)
  _write_atomically(DOC, report.render(results))
  print('wrote %s and %s' % (RESULTS, DOC))


if __name__ == '__main__':
  main()
