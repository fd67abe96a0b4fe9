"""The training and fine-tuning path of slim's train_image_classifier.py.

Each family is trained through `nets_factory.get_network_fn(name,
num_classes, weight_decay=1e-4, is_training=True)` as
tensorflow/models' `research/slim/train_image_classifier.py` does it:
softmax cross-entropy plus the regularization losses of
`tf.compat.v1.losses`, a `MomentumOptimizer` run under a control dependency
on the UPDATE_OPS, a `Saver` checkpoint. Then a fresh inference graph with a
different number of classes restores everything but the logits, as
`--checkpoint_exclude_scopes=<scope>/logits` does.

To stay fast each family is a small Block list built by the family's own
generator and arg-scope function, registered in `nets.registry` for the test
under a `tiny_*` name; the factory cannot tell it from a shipped model.

Typical use:

   TF_CPP_MIN_LOG_LEVEL=2 pytest -q tests/test_training_pipeline.py
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

from conftest import assert_close, new_session, read_values
from nets import nets_factory
from nets import registry
from nets import resnet_v1
from nets import resnet_v2
from nets import resnext
from nets import xception

_SIZE = 64
_BATCH = 16
_TRAIN_CLASSES = 4
_EVAL_CLASSES = 3  # Fine-tuning to another label set: logits are rebuilt.
_STEPS = 30
_WEIGHT_DECAY = 1e-4


def _tiny_resnet_v1(inputs, num_classes=None, is_training=True, reuse=None,
                    scope='tiny_resnet_v1', **kwargs):
  blocks = [resnet_v1.resnet_v1_block('block1', base_depth=4, num_units=2,
                                      stride=2),
            resnet_v1.resnet_v1_block('block2', base_depth=8, num_units=1,
                                      stride=1)]
  return resnet_v1.resnet_v1(inputs, blocks, num_classes=num_classes,
                             is_training=is_training, reuse=reuse,
                             scope=scope, **kwargs)


def _tiny_resnet_v2(inputs, num_classes=None, is_training=True, reuse=None,
                    scope='tiny_resnet_v2', **kwargs):
  blocks = [resnet_v2.resnet_v2_block('block1', base_depth=4, num_units=2,
                                      stride=2),
            resnet_v2.resnet_v2_block('block2', base_depth=8, num_units=1,
                                      stride=1)]
  return resnet_v2.resnet_v2(inputs, blocks, num_classes=num_classes,
                             is_training=is_training, reuse=reuse,
                             scope=scope, **kwargs)


def _tiny_resnext(inputs, num_classes=None, is_training=True, reuse=None,
                  scope='tiny_resnext', **kwargs):
  # Bottleneck widths 8 and 16 in 4 groups: the grouped conv is exercised.
  blocks = [resnext.resnext_block('block1', 8, 2, 1, cardinality=4,
                                  base_width=16),
            resnext.resnext_block('block2', 16, 1, 2, cardinality=4,
                                  base_width=16)]
  return resnext.resnext(inputs, blocks, num_classes=num_classes,
                         is_training=is_training, reuse=reuse, scope=scope,
                         **kwargs)


def _tiny_xception_aligned(inputs, num_classes=None, is_training=True,
                           reuse=None, scope='tiny_xception_aligned',
                           **kwargs):
  # xception_41's three flows, one narrow unit each.
  blocks = [
      xception.xception_block('entry_flow/block1', [16] * 3, 'conv', False,
                              False, 1, 2),
      xception.xception_block('middle_flow/block1', [16] * 3, 'sum', False,
                              False, 1, 1),
      xception.xception_block('exit_flow/block1', [16, 32, 32], 'conv',
                              False, False, 1, 2),
      xception.xception_block('exit_flow/block2', [32] * 3, 'none', True,
                              False, 1, 1),
  ]
  return xception.xception(inputs, blocks, num_classes=num_classes,
                           is_training=is_training, reuse=reuse, scope=scope,
                           **kwargs)


def _tiny_xception_keras(inputs, num_classes=None, is_training=True,
                         reuse=None, scope='tiny_xception_keras', **kwargs):
  blocks = [
      xception.xception_keras_block('entry_flow/block1', (16, 16), 'conv', 1,
                                    2),
      xception.xception_keras_block('middle_flow/block1', (16,) * 3, 'sum',
                                    1, 1),
      xception.xception_keras_block('exit_flow/block2', (32, 32), 'none', 1,
                                    1, activation_fn_in_separable_conv=True),
  ]
  return xception.xception_keras_generator(
      inputs, blocks, num_classes=num_classes, is_training=is_training,
      reuse=reuse, scope=scope, **kwargs)


def _is_weights(name):
  return name.endswith('/weights')


def _is_any_weights(name):
  return name.rsplit('/', 1)[-1] in ('weights', 'depthwise_weights',
                                     'pointwise_weights')


# name: (model function, arg scope function, last block end point,
#        which variables the arg scope regularizes).
_FAMILIES = {
    'tiny_resnet_v1': (_tiny_resnet_v1, resnet_v1.resnet_arg_scope,
                       'block2', _is_weights),
    'tiny_resnet_v2': (_tiny_resnet_v2, resnet_v2.resnet_arg_scope,
                       'block2', _is_weights),
    'tiny_resnext': (_tiny_resnext, resnext.resnext_arg_scope, 'block2',
                     _is_weights),
    # DeepLab does not regularize depthwise weights by default
    # (regularize_depthwise=False splits them into *_depthwise scopes).
    'tiny_xception_aligned': (_tiny_xception_aligned,
                              xception.xception_arg_scope,
                              'exit_flow/block2', _is_weights),
    # A Keras SeparableConv2D is one layer: all its kernels decay.
    'tiny_xception_keras': (_tiny_xception_keras,
                            xception.xception_keras_arg_scope,
                            'exit_flow/block2', _is_any_weights),
}


@pytest.fixture
def tiny_model(request, monkeypatch):
  """Registers the `request.param` tiny model; returns its _FAMILIES entry."""
  name = request.param
  fn, arg_scope_fn, last_block, regularized = _FAMILIES[name]
  monkeypatch.setattr(registry, '_MODELS', registry._MODELS.copy())  # pylint: disable=protected-access
  fn.__name__ = name
  registry.register('test', arg_scope_fn, default_image_size=_SIZE,
                    num_classes=_TRAIN_CLASSES)(fn)
  return name, last_block, regularized


def _learnable_batch():
  """16 noisy 64x64 images whose class (0..3) is a colour offset."""
  rng = np.random.RandomState(0)
  labels = np.arange(_BATCH) % _TRAIN_CLASSES
  colours = rng.uniform(-1, 1, [_TRAIN_CLASSES, 3])
  images = rng.normal(0, 0.5, [_BATCH, _SIZE, _SIZE, 3])
  images += colours[labels][:, None, None, :]
  return images.astype(np.float32), labels


def _flat(logits):
  # DeepLab's Xception keeps [B, 1, 1, C] logits (as upstream); slim's
  # train_image_classifier expects [B, C], which the others return.
  if logits.shape.ndims == 4:
    return tf.squeeze(logits, [1, 2])
  return logits


def _train(name, images, labels, checkpoint):
  """Trains `name` through the factory; saves `checkpoint`.

  Returns:
    (losses per step, variable values before and after training, the
    names of the model variables, the training graph's end points in
    inference mode after training).
  """
  graph = tf.Graph()
  with graph.as_default():
    tf.compat.v1.set_random_seed(0)
    global_step = tf.compat.v1.train.get_or_create_global_step()
    network_fn = nets_factory.get_network_fn(
        name, _TRAIN_CLASSES, weight_decay=_WEIGHT_DECAY, is_training=True)
    inputs = tf.constant(images)
    logits, _ = network_fn(inputs)
    tf.compat.v1.losses.softmax_cross_entropy(
        tf.one_hot(labels, _TRAIN_CLASSES), _flat(logits))
    total_loss = tf.compat.v1.losses.get_total_loss()

    # Every weights variable is regularized once; nothing else is.
    weights = {v.op.name for v in tf.compat.v1.global_variables()
               if _FAMILIES[name][3](v.op.name)}
    regularization = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
    regularized = [_regularized_variable(loss) for loss in regularization]
    assert sorted(regularized) == sorted(weights)
    # Two moving-average updates per batch norm.
    update_ops = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.UPDATE_OPS)
    moving_means = [v for v in tf.compat.v1.global_variables()
                    if v.op.name.endswith('/moving_mean')]
    assert moving_means and len(update_ops) == 2 * len(moving_means)

    optimizer = tf.compat.v1.train.MomentumOptimizer(0.05, momentum=0.9)
    with tf.control_dependencies(update_ops):
      train_op = optimizer.minimize(total_loss, global_step=global_step)
    model_variables = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.MODEL_VARIABLES)
    saver = tf.compat.v1.train.Saver()  # As slim's Supervisor: everything.
    # The same weights in inference mode, as a twin sharing the variables.
    eval_fn = nets_factory.get_network_fn(name, _TRAIN_CLASSES,
                                          is_training=False)
    _, eval_end_points = eval_fn(inputs, reuse=True)

  with new_session(graph) as sess:
    before = read_values(sess)
    losses = [sess.run([train_op, total_loss])[1] for _ in range(_STEPS)]
    after = read_values(sess)
    saver.save(sess, checkpoint, global_step=global_step)
    inference = sess.run(eval_end_points)
  return (losses, before, after, {v.op.name for v in model_variables},
          inference)


def _regularized_variable(loss):
  """The name of the variable whose value `loss` reads."""
  pending, seen = [loss.op], set()
  while pending:
    op = pending.pop()
    if op.type == 'VarHandleOp':
      return op.name
    seen.add(op.name)
    pending.extend(t.op for t in op.inputs if t.op.name not in seen)
  raise AssertionError('%s reads no variable' % loss.name)


@pytest.mark.parametrize('tiny_model', sorted(_FAMILIES), indirect=True)
def test_train_save_and_fine_tune(tiny_model, tmp_path):
  name, last_block, _ = tiny_model
  images, labels = _learnable_batch()
  checkpoint = str(tmp_path / 'model.ckpt')
  losses, before, after, model_variables, inference = _train(
      name, images, labels, checkpoint)

  assert np.all(np.isfinite(losses)), losses
  # Cross-entropy starts near log(4) = 1.39 and the colours are learnable.
  assert np.mean(losses[-3:]) < 0.25 * losses[0], losses
  assert after['global_step'] == _STEPS
  # Every batch norm's moving variance follows its batch variances. Means
  # may legitimately stay at 0: a linear conv of batch-normed channels (the
  # pointwise half of DeepLab's split separable convs) has zero batch mean.
  variances = [n for n in before if n.endswith('/moving_variance')]
  assert variances
  for variable in variances:
    assert not np.allclose(before[variable], after[variable]), variable
  means = [n for n in before if n.endswith('/moving_mean')]
  assert sum(not np.allclose(before[n], after[n]) for n in means) >= (
      len(means) // 2), 'moving means barely changed'

  # Fine-tuning: a fresh inference graph with another label set restores all
  # but the logits, as train_image_classifier's checkpoint_exclude_scopes.
  graph = tf.Graph()
  with graph.as_default():
    network_fn = nets_factory.get_network_fn(name, _EVAL_CLASSES,
                                             is_training=False)
    inputs = tf.constant(images)
    logits, end_points = network_fn(inputs)
    assert _flat(logits).shape.as_list() == [_BATCH, _EVAL_CLASSES]
    to_restore = slim.get_variables_to_restore(exclude=[name + '/logits'])
    saver = tf.compat.v1.train.Saver(to_restore)
  saved = tf.compat.v1.train.latest_checkpoint(str(tmp_path))
  assert saved.endswith('-%d' % _STEPS)
  assert model_variables <= {n for n, _ in tf.train.list_variables(saved)}
  restored_names = {v.op.name for v in to_restore}
  expected_names = {n for n in model_variables
                    if not n.startswith(name + '/logits/')}
  assert restored_names == expected_names

  with new_session(graph) as sess:
    saver.restore(sess, saved)
    restored = read_values(sess)
    evaluated = sess.run(end_points)
  for variable in expected_names:
    np.testing.assert_array_equal(restored[variable], after[variable],
                                  err_msg=variable)
  assert restored[name + '/logits/weights'].shape[-1] == _EVAL_CLASSES
  for end_point in (name + '/' + last_block, 'global_pool'):
    assert_close(evaluated[end_point], inference[end_point], rel=1e-5,
                 what=end_point)
