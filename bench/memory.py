"""Peak memory of a resnet_v2_50 training step: slimnets vs tf-slim vs Keras.

Each framework runs in its own fresh process (peak RSS is per process):
build the training graph (batch 16, 224x224, momentum, UPDATE_OPS), run
three steps, report `ru_maxrss`. Ratios are against tf-slim.

Run: python -m bench.memory
"""

import json
import resource
import subprocess
import sys

LABELS = ('slimnets', 'tf-slim', 'keras')


def _child(label, batch):
  from bench import throughput  # pylint: disable=import-outside-toplevel
  build = {'slimnets': throughput._slimnets, 'tf-slim': throughput._tf_slim,  # pylint: disable=protected-access
           'keras': throughput._keras}[label]  # pylint: disable=protected-access
  runner = throughput._Runner(label, build, batch, training=True)  # pylint: disable=protected-access
  for _ in range(3):
    runner.run_once()
  print(json.dumps({'peak_rss_mib': round(
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def run(quick=False):
  """{label: peak RSS MiB, 'ratio_vs_tf_slim': {...}}."""
  batch = 4 if quick else 16
  results = {}
  for label in LABELS:
    output = subprocess.run(
        [sys.executable, '-m', 'bench.memory', '--child', label, str(batch)],
        check=True, capture_output=True, text=True).stdout
    results[label] = json.loads(output.strip().splitlines()[-1])[
        'peak_rss_mib']
    print(label, results[label], 'MiB', flush=True)
  results['ratio_vs_tf_slim'] = {
      label: round(results[label] / results['tf-slim'], 3) for label in LABELS}
  results['batch'] = batch
  return results


if __name__ == '__main__':
  if len(sys.argv) == 4 and sys.argv[1] == '--child':
    _child(sys.argv[2], int(sys.argv[3]))
  else:
    print(json.dumps(run('--quick' in sys.argv), indent=1))
