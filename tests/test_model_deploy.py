"""slimnets.deployment.model_deploy: devices, clones, summed gradients.

The device strings of `DeploymentConfig` follow research/slim's
model_deploy_test.py where they agree (see the module docstring for the
three differences), the parameter-server chooser is checked on TF 2's
resource variables (`VarHandleOp`, the case upstream's chooser missed), and
the clone arithmetic against one clone on the concatenated batch.

Typical use:

   pytest -q tests/test_model_deploy.py
"""

import numpy as np
import pytest
import tensorflow as tf

from slimnets.deployment import model_deploy


def test_default_config_devices():
  config = model_deploy.DeploymentConfig()
  assert config.clone_scope(0) == ''
  assert config.clone_device(0) == ''
  assert config.optimizer_device() == '/device:CPU:0'
  assert config.inputs_device() == '/device:CPU:0'
  assert config.variables_device() == '/device:CPU:0'
  assert config.caching_device() is None


def test_clones_on_gpus_and_cpu():
  config = model_deploy.DeploymentConfig(num_clones=2)
  assert [config.clone_scope(i) for i in range(2)] == ['clone_0', 'clone_1']
  assert [config.clone_device(i) for i in range(2)] == ['/device:GPU:0',
                                                         '/device:GPU:1']
  config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
  assert config.clone_device(1) == '/device:CPU:0'
  with pytest.raises(ValueError):
    config.clone_device(2)


def test_replica_devices_name_the_worker_task():
  config = model_deploy.DeploymentConfig(num_replicas=3, replica_id=2,
                                         num_ps_tasks=2)
  assert config.clone_device(0) == '/job:worker/task:2'
  assert config.inputs_device() == '/job:worker/task:2/device:CPU:0'
  assert config.optimizer_device() == '/job:worker/task:2/device:CPU:0'
  assert callable(config.variables_device())
  assert config.caching_device() is not None


@pytest.mark.parametrize('kwargs', [
    dict(num_replicas=2),  # replicas without ps
    dict(num_replicas=2, replica_id=2, num_ps_tasks=1),
    dict(num_clones=0),
    dict(num_ps_tasks=1, ps_job_name=''),
])
def test_bad_configs(kwargs):
  with pytest.raises(ValueError):
    model_deploy.DeploymentConfig(**kwargs)


def _linear_model_fn(iterator_or_tensors, num_classes=3):
  images, labels = (iterator_or_tensors.get_next() if hasattr(
      iterator_or_tensors, 'get_next') else iterator_or_tensors)
  flat = tf.reshape(images, [images.shape[0], -1])
  weights = tf.compat.v1.get_variable(
      'linear/weights', [flat.shape[1], num_classes],
      initializer=tf.compat.v1.truncated_normal_initializer(seed=1),
      regularizer=lambda w: 0.01 * tf.nn.l2_loss(w))
  biases = tf.compat.v1.get_variable('linear/biases', [num_classes],
                                     initializer=tf.zeros_initializer())
  logits = tf.matmul(flat, weights) + biases
  tf.compat.v1.losses.softmax_cross_entropy(labels, logits)
  return {'logits': logits}


def test_ps_chooser_places_resource_variables_round_robin():
  graph = tf.Graph()
  with graph.as_default():
    config = model_deploy.DeploymentConfig(num_replicas=2, replica_id=1,
                                           num_ps_tasks=2)
    with tf.compat.v1.device(config.variables_device()):
      global_step = tf.compat.v1.train.get_or_create_global_step()
    images = tf.zeros([2, 4, 4, 3])
    labels = tf.one_hot([0, 1], 3)
    clones = model_deploy.create_clones(config, _linear_model_fn,
                                        [(images, labels)])
    with tf.compat.v1.device(config.optimizer_device()):
      optimizer = tf.compat.v1.train.MomentumOptimizer(0.1, 0.9)
    _, grads_and_vars = model_deploy.optimize_clones(clones, optimizer)
    train_op = optimizer.apply_gradients(grads_and_vars, global_step)
  handles = [op for op in graph.get_operations() if op.type == 'VarHandleOp']
  # Three variables and two momentum slots, all resource variables.
  assert len(handles) == 5
  devices = {op.name: op.device for op in handles}
  assert devices['global_step'] == '/job:ps/task:0/device:CPU:0'
  assert devices['linear/weights'] == '/job:ps/task:1/device:CPU:0'
  assert devices['linear/biases'] == '/job:ps/task:0/device:CPU:0'
  # Slots follow their variable.
  assert devices['linear/weights/Momentum'] == devices['linear/weights']
  # Updates of a variable run where it lives; reads too, or they have no
  # device at all (`Variable.value()` clears the device stack) and the
  # placer puts them with the resource they read. The math is the worker's.
  for op in graph.get_operations():
    if op.type in ('ReadVariableOp', 'AssignVariableOp',
                   'ResourceApplyMomentum', 'AssignAddVariableOp'):
      allowed = [op.inputs[0].op.device]
      if op.type == 'ReadVariableOp':
        allowed.append('')
      assert op.device in allowed, op.name
  matmul = [op for op in graph.get_operations() if op.type == 'MatMul']
  assert matmul[0].device == '/job:worker/task:1'
  # apply_gradients ends with the global step's increment, on its ps.
  assert train_op.device == '/job:ps/task:0/device:CPU:0'


def test_clone_variables_on_cpu_without_ps():
  graph = tf.Graph()
  with graph.as_default():
    config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
    model_deploy.create_clones(config, _linear_model_fn,
                               [(tf.zeros([2, 4, 4, 3]), tf.one_hot([0, 1],
                                                                    3))])
  handles = [op for op in graph.get_operations() if op.type == 'VarHandleOp']
  assert len(handles) == 2  # shared by the clones
  assert {op.device for op in handles} == {'/device:CPU:0'}
  names = {op.name for op in graph.get_operations()}
  assert 'clone_0/MatMul' in names and 'clone_1/MatMul' in names


def _run_gradients(num_clones, images, labels):
  """(total loss, {var: summed gradient}) of the linear model."""
  graph = tf.Graph()
  with graph.as_default():
    config = model_deploy.DeploymentConfig(num_clones=num_clones,
                                           clone_on_cpu=True)
    batches = tf.data.Dataset.from_tensor_slices(
        (images, labels)).batch(len(images) // num_clones, drop_remainder=True)
    iterator = tf.compat.v1.data.make_one_shot_iterator(batches)
    clones = model_deploy.create_clones(config, _linear_model_fn, [iterator])
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(1.0)
    total_loss, grads_and_vars = model_deploy.optimize_clones(clones,
                                                              optimizer)
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      loss, grads = session.run(
          [total_loss, {v.op.name: g for g, v in grads_and_vars}])
  return loss, grads


def test_two_clones_give_the_gradient_of_the_whole_batch():
  # Upstream's arithmetic: each clone's loss / num_clones, regularization
  # once, gradients summed: the mean loss over the clones' batches.
  rng = np.random.RandomState(0)
  images = rng.uniform(-1, 1, [8, 4, 4, 3]).astype(np.float32)
  labels = np.eye(3, dtype=np.float32)[rng.randint(0, 3, 8)]
  loss_one, grads_one = _run_gradients(1, images, labels)
  loss_two, grads_two = _run_gradients(2, images, labels)
  np.testing.assert_allclose(loss_two, loss_one, rtol=1e-5)
  assert set(grads_two) == set(grads_one) == {'linear/weights',
                                              'linear/biases'}
  for name in grads_one:
    np.testing.assert_allclose(grads_two[name], grads_one[name], rtol=1e-4,
                               atol=1e-6)


def test_deploy_builds_train_op_and_summaries():
  graph = tf.Graph()
  with graph.as_default():
    config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
    inputs = (tf.ones([2, 4, 4, 3]), tf.one_hot([0, 1], 3))
    deployed = model_deploy.deploy(
        config, _linear_model_fn, [inputs],
        optimizer=tf.compat.v1.train.GradientDescentOptimizer(0.1),
        summarize_gradients=True)
    with tf.compat.v1.Session() as session:
      session.run(tf.compat.v1.global_variables_initializer())
      first = session.run(deployed.train_op)
      second = session.run(deployed.train_op)
      summary = tf.compat.v1.Summary.FromString(
          session.run(deployed.summary_op))
      step = session.run(tf.compat.v1.train.get_global_step())
  assert second < first and step == 2
  tags = {value.tag for value in summary.value}
  assert {'total_loss', 'clone_0/clone_loss', 'regularization_loss',
          'linear/weights:gradient'} <= tags
