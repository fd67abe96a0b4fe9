"""Does bfloat16 inference keep the answers of a trained network?

Trains a small pre-activation ResNet (slimnets `resnet_v2` generator, three
blocks) on scikit-learn's digits (1,797 real 8x8 scans, upsampled to 32x32)
for a few hundred steps in float32, then evaluates the held-out quarter
twice on the same graph and weights: float32, and with
`nets.runtime.session_config('bfloat16')`. Reports accuracy of both, top-1
agreement and the relative logit error.

Goal: top-1 agreement >= 99% and relative logit error <= 1%.
Run: python -m bench.precision_accuracy [--steps N]
"""

import argparse
import json

import numpy as np
import tensorflow as tf
import tf_slim as slim

from nets import resnet_utils
from nets import resnet_v2
from nets import runtime


def _digits():
  from sklearn import datasets  # pylint: disable=import-outside-toplevel
  digits = datasets.load_digits()
  images = digits.images.astype(np.float32) / 16.0 * 2.0 - 1.0
  images = np.repeat(np.repeat(images, 4, axis=1), 4, axis=2)  # 8 -> 32
  images = np.repeat(images[..., None], 3, axis=3)
  order = np.random.RandomState(0).permutation(len(images))
  split = len(images) * 3 // 4
  train, test = order[:split], order[split:]
  return (images[train], digits.target[train], images[test],
          digits.target[test])


def _network(images, is_training):
  blocks = [
      resnet_v2.resnet_v2_block('block1', base_depth=16, num_units=2,
                                stride=2),
      resnet_v2.resnet_v2_block('block2', base_depth=32, num_units=2,
                                stride=2),
      resnet_v2.resnet_v2_block('block3', base_depth=64, num_units=2,
                                stride=1),
  ]
  # decay 0.9: a few hundred steps must be enough for the moving statistics.
  with slim.arg_scope(resnet_utils.resnet_arg_scope(weight_decay=1e-4,
                                                    batch_norm_decay=0.9)):
    logits, _ = resnet_v2.resnet_v2(images, blocks, num_classes=10,
                                    is_training=is_training,
                                    include_root_block=False,
                                    scope='digits_resnet',
                                    reuse=tf.compat.v1.AUTO_REUSE)
  return logits


def run(quick=False, steps=None):
  """Trains, evaluates in both precisions, returns the metrics dict."""
  if not runtime.features()['bfloat16']:
    why = runtime.why_not('bfloat16')
    print('not supported on this CPU: %s' % why, flush=True)
    return {'not_supported': why}
  steps = steps or (60 if quick else 400)
  train_x, train_y, test_x, test_y = _digits()
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(0)
    images = tf.compat.v1.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.compat.v1.placeholder(tf.int64, [None])
    train_logits = _network(images, True)
    eval_logits = _network(images, False)
    loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(
        labels, train_logits) + tf.compat.v1.losses.get_regularization_loss()
    with tf.control_dependencies(
        tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
      train_op = tf.compat.v1.train.MomentumOptimizer(0.05, 0.9).minimize(loss)
    init = tf.compat.v1.global_variables_initializer()
    saver = tf.compat.v1.train.Saver()
  rng = np.random.RandomState(1)
  with tf.compat.v1.Session(graph=graph) as sess:
    sess.run(init)
    for _ in range(steps):
      batch = rng.randint(0, len(train_x), 64)
      sess.run(train_op, {images: train_x[batch], labels: train_y[batch]})
    float32_logits = sess.run(eval_logits, {images: test_x})
    checkpoint = saver.save(sess, '/tmp/slimnets_digits.ckpt')
  with tf.compat.v1.Session(
      graph=graph, config=runtime.session_config('bfloat16')) as sess:
    saver.restore(sess, checkpoint)
    bfloat16_logits = sess.run(eval_logits, {images: test_x})
  float32_top1 = float32_logits.argmax(1)
  bfloat16_top1 = bfloat16_logits.argmax(1)
  error = (np.linalg.norm(bfloat16_logits - float32_logits, axis=1) /
           np.linalg.norm(float32_logits, axis=1))
  results = {
      'train_steps': steps,
      'test_images': int(len(test_x)),
      'float32_accuracy': round(float((float32_top1 == test_y).mean()), 4),
      'bfloat16_accuracy': round(float((bfloat16_top1 == test_y).mean()), 4),
      'top1_agreement': round(float((float32_top1 == bfloat16_top1).mean()),
                              4),
      'relative_logit_error_mean': round(float(error.mean()), 5),
      'relative_logit_error_max': round(float(error.max()), 5),
  }
  print(json.dumps(results), flush=True)
  return results


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--steps', type=int)
  parser.add_argument('--quick', action='store_true')
  args = parser.parse_args(argv)
  run(args.quick, args.steps)


if __name__ == '__main__':
  main()
