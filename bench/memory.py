"""Peak memory of a resnet_v2_50 training step, one process per configuration.

slimnets (float32, and with bfloat16, NCHW and XLA), tf-slim and Keras
each run in a fresh process (peak RSS is per process): build the training
graph (batch 16, 224x224, momentum, UPDATE_OPS; the same graphs as
bench.throughput), run three steps, report the peak resident set size
(VmHWM) and the graph's op count. Ratios are against tf-slim.

Not `ru_maxrss`: Linux carries it over fork and exec, so a child of a big
parent (bench.run after the throughput section) reports the parent's peak.

Run: python -m bench.memory [--quick]
"""

import json
import resource
import subprocess
import sys

LABELS = ('slimnets', 'tf-slim', 'keras', 'slimnets bf16', 'slimnets NCHW',
          'slimnets XLA')


def peak_rss_mib():
  """This process's peak resident set size in MiB (VmHWM)."""
  try:
    with open('/proc/self/status') as f:
      for line in f:
        if line.startswith('VmHWM:'):
          return round(int(line.split()[1]) / 1024, 1)
  except OSError:
    pass
  # Not Linux: ru_maxrss (kilobytes on Linux, bytes on macOS).
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  return round(peak / (1 << 20 if sys.platform == 'darwin' else 1024), 1)


def _child(label, batch):
  from bench import throughput  # pylint: disable=import-outside-toplevel
  variants = {name: (build, config)
              for name, build, config in throughput._variants()[0]}  # pylint: disable=protected-access
  build, config = variants[label]
  runner = throughput._Runner(label, build, batch, training=True,  # pylint: disable=protected-access
                              config=config)
  for _ in range(3):
    runner.run_once()
  print(json.dumps({
      'peak_rss_mib': peak_rss_mib(),
      'ops': len(runner.graph.get_operations())}))


def run_child(module, *args):
  """Runs `python -m <module> --child <args>` in a fresh process.

  The child measures itself (e.g. `peak_rss_mib()`) and prints one JSON
  object as its last line of output.

  Args:
    module: the bench module to run, e.g. 'bench.memory'.
    *args: its child arguments (strings).

  Returns:
    The dict the child printed.

  Raises:
    RuntimeError: the child failed (with its last lines of stderr).
  """
  process = subprocess.run([sys.executable, '-m', module, '--child'] +
                           list(args), check=False, capture_output=True,
                           text=True)
  if process.returncode:
    raise RuntimeError('%s child %s failed (status %d): %s' % (
        module, ' '.join(args), process.returncode,
        '\n'.join(process.stderr.strip().splitlines()[-5:])))
  return json.loads(process.stdout.strip().splitlines()[-1])


def run(quick=False):
  """{label: peak RSS MiB, 'ratio_vs_tf_slim': {...}, 'ops': {...}}."""
  from bench import throughput  # pylint: disable=import-outside-toplevel
  batch = 4 if quick else 16
  _, not_supported = throughput._variants()  # pylint: disable=protected-access
  results = {'ops': {}, 'not_supported': not_supported}
  labels = [label for label in LABELS if label not in not_supported]
  for label in labels:
    child = run_child('bench.memory', label, str(batch))
    results[label] = child['peak_rss_mib']
    results['ops'][label] = child['ops']
    print(label, results[label], 'MiB', flush=True)
  results['ratio_vs_tf_slim'] = {
      label: round(results[label] / results['tf-slim'], 3) for label in labels}
  results['batch'] = batch
  return results


if __name__ == '__main__':
  if len(sys.argv) == 4 and sys.argv[1] == '--child':
    _child(sys.argv[2], int(sys.argv[3]))
  else:
    print(json.dumps(run('--quick' in sys.argv), indent=1))
