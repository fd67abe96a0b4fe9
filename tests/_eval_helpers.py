"""Checkpoints and reference runs for the eval and export tests.

A checkpoint is made as training would leave it: a registered model built
by `nets_factory`, random weights (batch norm perturbed so that it matters),
a global step and optionally the ExponentialMovingAverage shadow variables
train_image_classifier.py keeps, saved with `tf.compat.v1.train.Saver`.
`Live` is the reference: the same network built directly in a graph and
restored from the checkpoint, as a user would run it.

Typical use:

   prefix = save_checkpoint(str(tmp_path / 'ckpt'), 'resnet_v2_50', 5)
   live = Live(prefix, 'resnet_v2_50', 5, 32)
   out = live.run(images, ['global_pool'])  # {'logits': ..., ...}
"""

import os

import numpy as np
import tensorflow as tf

from conftest import assign_values
from conftest import perturb_batch_norm
from nets import nets_factory

EMA_SUFFIX = '/ExponentialMovingAverage'


def save_checkpoint(folder, model, num_classes, image_size=32,
                    global_step=0, moving_average=False, seed=0):
  """Saves a random-weight checkpoint of `model`; returns its prefix.

  Args:
    folder: where to write `model.ckpt-<global_step>` (created).
    model: a registered model name.
    num_classes: its logits size.
    image_size: the size the graph is built at (the weights do not depend
      on it).
    global_step: the value of the saved global step, or None for none.
    moving_average: also save `<variable>/ExponentialMovingAverage` shadows
      of every model variable, with values 0.8-1.2 times the variable's.
    seed: for the random weights.
  """
  os.makedirs(folder, exist_ok=True)
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(seed)
    images = tf.compat.v1.placeholder(tf.float32,
                                      [None, image_size, image_size, 3])
    nets_factory.get_network_fn(model, num_classes)(images)
    model_variables = tf.compat.v1.model_variables()
    if global_step is not None:
      step = tf.compat.v1.train.get_or_create_global_step()
    if moving_average:
      ema = tf.compat.v1.train.ExponentialMovingAverage(0.99)
      ema.apply(model_variables)
    init = tf.compat.v1.global_variables_initializer()
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session(graph=graph) as sess:
      sess.run(init)
      perturb_batch_norm(sess, seed=seed)
      if global_step is not None:
        sess.run(step.assign(global_step))
      if moving_average:
        rng = np.random.RandomState(seed + 1)
        values = sess.run(model_variables)
        assign_values(sess, {
            ema.average(v).op.name: value * rng.uniform(
                0.8, 1.2, value.shape).astype(np.float32)
            for v, value in zip(model_variables, values)})
      return saver.save(sess, os.path.join(folder, 'model.ckpt'),
                        global_step=global_step)


class Live:
  """`model` built directly in a graph and restored from `prefix`."""

  def __init__(self, prefix, model, num_classes, image_size,
               use_averages=False, is_training=False):
    self.graph = tf.Graph()
    with self.graph.as_default():
      self.images = tf.compat.v1.placeholder(
          tf.float32, [None, image_size, image_size, 3])
      self.logits, self.end_points = nets_factory.get_network_fn(
          model, num_classes, is_training=is_training)(self.images)
      variables = tf.compat.v1.global_variables()
      if use_averages:
        var_list = {v.op.name + EMA_SUFFIX: v for v in variables}
      else:
        var_list = variables
      saver = tf.compat.v1.train.Saver(var_list)
      self.sess = tf.compat.v1.Session(graph=self.graph)
      saver.restore(self.sess, prefix)

  def run(self, images, end_points=()):
    """{'logits', 'predictions' (softmax), end point key: value}."""
    fetches = {'logits': self.logits,
               'predictions': self.end_points['predictions']}
    fetches.update({k: self.end_points[k] for k in end_points})
    return self.sess.run(fetches, {self.images: images})

  def close(self):
    self.sess.close()


def random_images(count, size, seed=0):
  """float32 [count, size, size, 3] in [-1, 1], as preprocessing gives."""
  return np.random.RandomState(seed).uniform(
      -1, 1, (count, size, size, 3)).astype(np.float32)


def no_temp_left(folder):
  from slimnets import output_files  # pylint: disable=import-outside-toplevel
  return not [f for f in os.listdir(folder)
              if f.startswith(output_files.PREFIX)]
