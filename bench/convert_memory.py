"""Peak memory of `slimnets convert` on resnet_v2_152, one process per step.

Issue 4: the converter streams tensors one at a time, so its peak memory
stays near one copy of the model above what TensorFlow alone takes. A random
resnet_v2_152 (1001 classes, values drawn per tensor as the mapping's
specification gives them) is written as an `.npz`, then each step runs in a
fresh process (peak RSS is per process) and reports its peak resident set
size (VmHWM, see bench.memory):

  baseline             `import tensorflow` and checkpoints_tools, nothing else
  npz -> slim          checkpoints_tools.convert.convert (16 MB shards)
  slim -> safetensors  from the slim checkpoint just written
  slim -> keras .h5    to tf_keras ResNet152V2's layout (1000 classes), when
                       the model has a Keras table

Goal: peak - baseline <= 1.5x the model's float32 size, every step.

Run: python -m bench.convert_memory [--quick]   # --quick: resnet_v2_50
"""

import glob
import json
import os
import sys
import tempfile

import numpy as np

from bench import memory

MODEL = 'resnet_v2_152'
QUICK_MODEL = 'resnet_v2_50'
NUM_CLASSES = 1001
GOAL = 1.5  # peak above baseline / model size

BASELINE = 'baseline'
# (label, source, destination, convert() arguments, naming the step needs);
# paths relative to the work folder, run in this order (each step reads what
# an earlier one wrote).
_STEPS = (
    ('npz -> slim', 'model.npz', 'model.ckpt', {}, 'slim'),
    ('slim -> safetensors', 'model.ckpt', 'model.safetensors', {}, 'torch'),
    # Keras ResNetV2 classifiers have 1000 classes.
    ('slim -> keras .h5', 'model.ckpt', 'model.h5', {'num_classes': 1000},
     'keras'),
)


def _random_value(rng, name, shape):
  """A random float32 array for slim variable `name` with `shape`."""
  kind = name.rsplit('/', 1)[-1]
  if kind in ('gamma', 'moving_variance'):
    return rng.uniform(0.5, 1.5, shape).astype(np.float32)
  if kind == 'weights':
    fan_in = int(np.prod(shape[:-1]))
    return (rng.normal(0, 1, shape) * np.sqrt(2.0 / fan_in)).astype(
        np.float32)
  return rng.normal(0.0, 0.2, shape).astype(np.float32)


def _write_npz(model, path, seed=0):
  """Writes random slim-named values of `model` to `path`, one at a time.

  Returns:
    (tensors, parameters) written.
  """
  from checkpoints_tools import formats  # pylint: disable=import-outside-toplevel
  from checkpoints_tools import mappings  # pylint: disable=import-outside-toplevel
  rng = np.random.RandomState(seed)
  tensors = parameters = 0
  with formats.open_writer(path, 'npz') as writer:
    for name, shape in mappings.slim_variables(model, NUM_CLASSES):
      writer.add(name, _random_value(rng, name, shape))
      tensors += 1
      parameters += int(np.prod(shape))
  return tensors, parameters


def _mib(paths):
  return round(sum(os.path.getsize(p) for p in paths) / (1 << 20), 1)


def _child(label, folder, model):
  import tensorflow  # pylint: disable=import-outside-toplevel,unused-import
  from checkpoints_tools import convert  # pylint: disable=import-outside-toplevel
  if label != BASELINE:
    src, dst, kwargs, _ = next(step[1:] for step in _STEPS if step[0] == label)
    convert.convert(os.path.join(folder, src), os.path.join(folder, dst),
                    model=model, **kwargs)
  print(json.dumps({'peak_rss_mib': memory.peak_rss_mib()}))


def run(quick=False):
  """Peak RSS of each conversion step of a random checkpoint.

  Args:
    quick: resnet_v2_50 instead of resnet_v2_152.

  Returns:
    {'model', 'num_classes', 'tensors', 'parameters', 'model_mib' (float32
    size), 'file_mib' {format: size on disk}, 'peak_rss_mib' {step: MiB,
    the baseline first}, 'above_baseline_over_model' {conversion: (peak -
    baseline) / model_mib}, 'goal'}.
  """
  from checkpoints_tools import mappings  # pylint: disable=import-outside-toplevel
  model = QUICK_MODEL if quick else MODEL
  steps = [step for step in _STEPS if mappings.has_table(model, step[4])]
  results = {'model': model, 'num_classes': NUM_CLASSES}
  with tempfile.TemporaryDirectory(prefix='slimnets-bench-convert-') as folder:
    results['tensors'], results['parameters'] = _write_npz(
        model, os.path.join(folder, 'model.npz'))
    results['model_mib'] = round(4 * results['parameters'] / (1 << 20), 1)
    peaks = {}
    for label in (BASELINE,) + tuple(step[0] for step in steps):
      peaks[label] = memory.run_child('bench.convert_memory', label, folder,
                                      model)['peak_rss_mib']
      print(label, peaks[label], 'MiB', flush=True)
    results['file_mib'] = {
        'npz': _mib([os.path.join(folder, 'model.npz')]),
        'slim': _mib(glob.glob(os.path.join(folder, 'model.ckpt.*'))),
    }
    for _, _, dst, _, _ in steps[1:]:
      results['file_mib'][os.path.splitext(dst)[1][1:]] = _mib(
          [os.path.join(folder, dst)])
  results['peak_rss_mib'] = peaks
  results['above_baseline_over_model'] = {
      label: round((peak - peaks[BASELINE]) / results['model_mib'], 3)
      for label, peak in peaks.items() if label != BASELINE}
  results['goal'] = GOAL
  return results


if __name__ == '__main__':
  if len(sys.argv) == 5 and sys.argv[1] == '--child':
    _child(*sys.argv[2:])
  else:
    print(json.dumps(run('--quick' in sys.argv), indent=1))
