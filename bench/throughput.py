"""Inference and training images/s of resnet_v2_50: slimnets vs tf-slim vs Keras.

All three build the same network (tf-slim's `resnet_v2_50`, slimnets'
`resnet_v2_50`, `tf_keras.applications.ResNet50V2(weights=None)`, 1001 /
1000 classes) in their own graph and session in ONE process; timed runs
alternate between them and the medians are compared as ratios. slimnets is
also timed with bfloat16 auto mixed precision, NCHW and XLA.

Run: python -m bench.throughput [--quick]
"""

import argparse
import json
import os
import statistics
import time

import numpy as np
import tensorflow as tf
import tf_slim as slim

from bench import _reference
from nets import resnet_v2
from nets import runtime

IMAGE_SIZE = 224


class _Runner:
  """One network in its own graph and session, ready to time."""

  def __init__(self, label, build, batch, training, config=None):
    self.label = label
    self.graph = tf.Graph()
    with self.graph.as_default():
      tf.compat.v1.set_random_seed(0)
      self.images = tf.compat.v1.placeholder(
          tf.float32, [batch, IMAGE_SIZE, IMAGE_SIZE, 3])
      logits = build(self.images, training)
      if training:
        labels = tf.constant(np.arange(batch) % 10)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=tf.reshape(logits, [batch, -1])))
        optimizer = tf.compat.v1.train.MomentumOptimizer(0.01, 0.9)
        with tf.control_dependencies(
            tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
          self.fetch = optimizer.minimize(loss)
      else:
        self.fetch = logits
      init = tf.compat.v1.global_variables_initializer()
    self.session = tf.compat.v1.Session(graph=self.graph, config=config)
    self.session.run(init)
    self.feed = {self.images: np.random.RandomState(0).uniform(
        -1, 1, self.images.shape.as_list()).astype(np.float32)}
    self.run_once()  # warm-up: graph optimisation and kernel selection

  def run_once(self):
    start = time.perf_counter()
    self.session.run(self.fetch, self.feed)
    return time.perf_counter() - start

  def close(self):
    self.session.close()


def _slimnets(images, training):
  with slim.arg_scope(resnet_v2.resnet_arg_scope()):
    logits, _ = resnet_v2.resnet_v2_50(images, 1001, is_training=training)
  return logits


def _slimnets_nchw(images, training):
  with slim.arg_scope(resnet_v2.resnet_arg_scope()), \
      runtime.data_format_scope('NCHW'):
    logits, _ = resnet_v2.resnet_v2_50(images, 1001, is_training=training)
  return logits


def _tf_slim(images, training):
  _, slim_v2 = _reference.slim_nets()
  with slim.arg_scope(slim_v2.resnet_arg_scope()):
    logits, _ = slim_v2.resnet_v2_50(images, 1001, is_training=training)
  return logits


def _keras(images, training):
  import tf_keras  # pylint: disable=import-outside-toplevel
  tf_keras.backend.set_learning_phase(1 if training else 0)
  model = tf_keras.applications.ResNet50V2(weights=None,
                                           input_tensor=images,
                                           classifier_activation=None)
  # Keras keeps its batch-norm updates on the model, not in UPDATE_OPS.
  for update in model.updates:
    tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.UPDATE_OPS, update)
  return model.output


def _time_alternating(runners, batch, iterations):
  """({label: images/s of the median run}, {label: spread of the runs}).

  The spread is (slowest - fastest) / median run time: how far apart the
  timed runs of one variant were, the noise a ratio has to beat.
  """
  times = {runner.label: [] for runner in runners}
  for i in range(iterations):
    # Rotate the order so no variant always runs first (or right after the
    # slowest one).
    for runner in runners[i % len(runners):] + runners[:i % len(runners)]:
      times[runner.label].append(runner.run_once())
  speeds = {label: round(batch / statistics.median(values), 2)
            for label, values in times.items()}
  spreads = {label: round((max(values) - min(values)) /
                          statistics.median(values), 3)
             for label, values in times.items()}
  return speeds, spreads


def _variants():
  """([(label, build, session config)], {label: why it cannot run here}).

  bfloat16 and NCHW need oneDNN (and bfloat16 AVX-512) on a CPU; where this
  one lacks them the variant is reported as not supported, not timed.
  """
  features = runtime.features()
  variants = [
      ('slimnets', _slimnets, None),
      ('tf-slim', _tf_slim, None),
      ('keras', _keras, None),
  ]
  not_supported = {}
  if features['bfloat16']:
    variants.append(('slimnets bf16', _slimnets,
                     runtime.session_config('bfloat16')))
  else:
    not_supported['slimnets bf16'] = runtime.why_not('bfloat16')
  if features['nchw']:
    variants.append(('slimnets NCHW', _slimnets_nchw, None))
  else:
    not_supported['slimnets NCHW'] = runtime.why_not('NCHW')
  variants.append(('slimnets XLA', _slimnets,
                   runtime.session_config(xla=True)))
  return variants, not_supported


# (inference batches, training batches, timed runs per variant). Full: on
# 2 quiet cores the section takes about 4 minutes (estimated from --quick).
_FULL = ((1, 8, 32), (16,), 9)
_QUICK = ((1, 8), (4,), 1)  # a smoke run: every variant, smallest sizes


def run(quick=False):
  """{'inference': {batch: {label: img/s}}, 'training': {...}, 'spread': ...}.

  'spread' has the same layout, with the spread of each variant's timed
  runs (see _time_alternating).
  """
  results = {'inference': {}, 'training': {}, 'spread': {}}
  inference_batches, training_batches, iterations = _QUICK if quick else _FULL
  results['iterations'] = iterations
  variants, results['not_supported'] = _variants()
  for label, why in results['not_supported'].items():
    print('%s: not supported on this CPU: %s' % (label, why), flush=True)
  for training, batches in ((False, inference_batches),
                            (True, training_batches)):
    for batch in batches:
      runners = [_Runner(label, build, batch, training, config)
                 for label, build, config in variants]
      speeds, spreads = _time_alternating(runners, batch, iterations)
      for runner in runners:
        runner.close()
      key = 'training' if training else 'inference'
      results[key][str(batch)] = speeds
      results['spread']['%s %s' % (key, batch)] = spreads
      print(key, 'batch', batch, json.dumps(speeds), flush=True)
  return results


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--quick', action='store_true')
  args = parser.parse_args(argv)
  print(json.dumps(run(args.quick), indent=1))


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  main()
