"""Deploys a slim model on several clones and replicas (graph mode).

The API of tensorflow/models' research/slim/deployment/model_deploy.py, on
TensorFlow 2.21's `tf.compat.v1` graphs:

* `DeploymentConfig` says where things go: `num_clones` copies of the model
  in this process (one per GPU, or all on the CPU with `clone_on_cpu`), this
  process being replica `replica_id` of `num_replicas` workers, with the
  variables on `num_ps_tasks` parameter servers.
* `create_clones(config, model_fn)` calls `model_fn` once per clone, in name
  scope `clone_<i>` (no scope for a single clone) and on the clone's device,
  the clones sharing one set of variables. `model_fn` adds its losses to
  `tf.compat.v1.GraphKeys.LOSSES` (what `tf.compat.v1.losses.*` do).
* `optimize_clones(clones, optimizer)` gives the total loss and the
  gradients: each clone's loss is divided by the number of clones, the
  regularization losses are added once (to the first clone), and the
  gradients of the clones are summed, so the update is that of the mean
  clone loss (the gradient of a batch of num_clones x batch_size images
  when the model has no batch statistics).
* `deploy(config, model_fn, optimizer=...)` does both and builds the train
  op and the merged summary op (`DeployedModel`).

Where variables go differs from upstream in one way that matters on
TensorFlow 2: upstream's parameter-server chooser moved only ops whose type
starts with 'Variable', so the resource variables TensorFlow 2 creates
(`VarHandleOp`) all stayed on the worker and nothing was shared between
replicas. Here every variable op (`VarHandleOp`, `VariableV2`, ...) created
while a clone or `variables_device()` is in effect goes to the ps tasks in
round-robin order (one counter per config, across all calls), with the ops
that update it (`AssignVariableOp`, the optimizer's `ResourceApply*`):
they get the variable's device. Its initializer is colocated with it by
TensorFlow, and its reads (`Variable.value()` clears the device stack, so
no device function sees them) are placed with the resource they read by
TensorFlow's placer. Optimizer slots and moving averages are colocated
with their variable. The model's own layers create their variables with
`tf.compat.v1.get_variable`, which `slim.arg_scope([slim.model_variable,
slim.variable], device=...)` (upstream's mechanism, kept for tf-slim
layers) does not reach; the chooser is therefore installed as a device
function around each clone.

Two smaller differences: a single clone that is not on the CPU gets no
device (TensorFlow places it, on the first GPU if there is one; upstream
asked for '/device:GPU:0' even on machines without one), and the worker
device names its task ('/job:worker/task:<replica_id>'), so that each
worker runs its clones itself rather than wherever the placer finds a
'/job:worker' device first. Variables are pinned to the CPU (or the ps)
when there are several clones or ps tasks, as upstream; a single clone
without ps leaves them to TensorFlow.

Typical use:

   import tensorflow as tf
   from slimnets.deployment import model_deploy

   config = model_deploy.DeploymentConfig(num_clones=2, clone_on_cpu=True)
   with tf.compat.v1.device(config.variables_device()):
     global_step = tf.compat.v1.train.get_or_create_global_step()
   with tf.compat.v1.device(config.inputs_device()):
     iterator = tf.compat.v1.data.make_one_shot_iterator(batches)

   def model_fn(iterator):
     images, labels = iterator.get_next()  # each clone its own batch
     logits, end_points = network_fn(images)
     tf.compat.v1.losses.softmax_cross_entropy(labels, logits)
     return end_points

   clones = model_deploy.create_clones(config, model_fn, [iterator])
   with tf.compat.v1.device(config.optimizer_device()):
     optimizer = tf.compat.v1.train.MomentumOptimizer(0.01, 0.9)
   total_loss, grads_and_vars = model_deploy.optimize_clones(clones,
                                                             optimizer)
   train_op = optimizer.apply_gradients(grads_and_vars, global_step)
"""

import collections
import contextlib

import tensorflow as tf
import tf_slim as slim

__all__ = ['create_clones', 'deploy', 'optimize_clones', 'DeployedModel',
           'DeploymentConfig', 'Clone']

# What model_fn returned, the name scope of the clone and its device.
Clone = collections.namedtuple('Clone', ['outputs', 'scope', 'device'])

# What deploy() returns.
DeployedModel = collections.namedtuple(
    'DeployedModel', ['train_op', 'summary_op', 'total_loss', 'clones'])

_deployment_params = {
    'num_clones': 1,
    'clone_on_cpu': False,
    'replica_id': 0,
    'num_replicas': 1,
    'num_ps_tasks': 0,
    'worker_job_name': 'worker',
    'ps_job_name': 'ps',
}

# Op types that hold state a parameter server should own: the ref and
# resource variables and the mutable tables (the `ps_ops` of
# tf.compat.v1.train.replica_device_setter).
_PS_OPS = frozenset([
    'Variable', 'VariableV2', 'AutoReloadVariable', 'VarHandleOp',
    'MutableHashTable', 'MutableHashTableV2', 'MutableHashTableOfTensors',
    'MutableHashTableOfTensorsV2', 'MutableDenseHashTable',
    'MutableDenseHashTableV2'
])
_STATE_DTYPES = (tf.resource,)


def _variable_input_device(op):
  """The device of the variable `op` reads or updates, or None.

  A resource (or ref) input coming from a placed variable op: the op must
  run where the variable lives.
  """
  for tensor in op.inputs:
    producer = tensor.op
    if producer.type in _PS_OPS and producer.device and (
        tensor.dtype in _STATE_DTYPES or tensor.dtype._is_ref_dtype):  # pylint: disable=protected-access
      return producer.device
  return None


class _VariablePlacer:
  """A device function putting variable ops on `device_for(task)`.

  With ps tasks the variables go round-robin over them; without, all to
  one device. Ops that read or update a placed variable follow it; any
  other op keeps the device it has (the enclosing device scopes decide).
  """

  def __init__(self, device_for, num_tasks):
    self._device_for = device_for
    self._num_tasks = max(1, num_tasks)
    self._next_task = 0

  def __call__(self, op):
    if op.device:
      return op.device
    node_def = op if isinstance(op, tf.compat.v1.NodeDef) else op.node_def
    if node_def.op in _PS_OPS:
      task = self._next_task
      self._next_task = (self._next_task + 1) % self._num_tasks
      return self._device_for(task)
    if isinstance(op, tf.Operation):
      device = _variable_input_device(op)
      if device:
        return device
    return op.device


class DeploymentConfig:
  """Where the clones, inputs, optimizer and variables of a model go.

  Pass one to `create_clones()` and `deploy()`, and use its `*_device()`
  methods for the ops built outside the clones (global step, inputs,
  optimizer).
  """

  def __init__(self,
               num_clones=1,
               clone_on_cpu=False,
               replica_id=0,
               num_replicas=1,
               num_ps_tasks=0,
               worker_job_name='worker',
               ps_job_name='ps'):
    """Creates a DeploymentConfig.

    With `num_replicas` 1 and no ps tasks everything runs in this process
    and the job names are not used. With several replicas there must be ps
    tasks to hold the variables they share.

    Args:
      num_clones: number of model clones in each replica.
      clone_on_cpu: if True every clone is placed on the CPU (else clone i
        on GPU i when there are several).
      replica_id: index of this replica (worker task); 0 is the chief.
      num_replicas: number of replicas (worker tasks).
      num_ps_tasks: number of tasks of the ps job; 0 keeps the variables in
        this process.
      worker_job_name: name of the worker job.
      ps_job_name: name of the parameter server job.

    Raises:
      ValueError: if the arguments are inconsistent.
    """
    if num_clones < 1:
      raise ValueError('num_clones must be at least 1, got %d' % num_clones)
    if num_replicas < 1:
      raise ValueError('num_replicas must be at least 1, got %d' %
                       num_replicas)
    if num_ps_tasks < 0:
      raise ValueError('num_ps_tasks must be 0 or more, got %d' %
                       num_ps_tasks)
    if num_replicas > 1 and num_ps_tasks < 1:
      raise ValueError('When using replicas num_ps_tasks must be positive')
    if num_replicas > 1 or num_ps_tasks > 0:
      if not worker_job_name:
        raise ValueError('Must specify worker_job_name when using replicas')
      if not ps_job_name:
        raise ValueError('Must specify ps_job_name when using parameter '
                         'server')
    if not 0 <= replica_id < num_replicas:
      raise ValueError('replica_id must be less than num_replicas (%d), got '
                       '%d' % (num_replicas, replica_id))
    self._num_clones = num_clones
    self._clone_on_cpu = clone_on_cpu
    self._replica_id = replica_id
    self._num_replicas = num_replicas
    self._num_ps_tasks = num_ps_tasks
    self._ps_device = '/job:' + ps_job_name if num_ps_tasks > 0 else ''
    self._worker_device = ('/job:%s/task:%d' % (worker_job_name, replica_id)
                           if num_ps_tasks > 0 else '')
    self._placer = None

  @property
  def num_clones(self):
    return self._num_clones

  @property
  def clone_on_cpu(self):
    return self._clone_on_cpu

  @property
  def replica_id(self):
    return self._replica_id

  @property
  def num_replicas(self):
    return self._num_replicas

  @property
  def num_ps_tasks(self):
    return self._num_ps_tasks

  @property
  def ps_device(self):
    return self._ps_device

  @property
  def worker_device(self):
    return self._worker_device

  def caching_device(self):
    """The device to cache variables on: None, or the reader's own device.

    With ps tasks a variable read is cached on the device of the op that
    reads it (the worker), as upstream.
    """
    if self._num_ps_tasks > 0:
      return lambda op: op.device
    return None

  def clone_device(self, clone_index):
    """The device of clone `clone_index` and of every op in it.

    Raises:
      ValueError: if `clone_index` is not below num_clones.
    """
    if not 0 <= clone_index < self._num_clones:
      raise ValueError('clone_index must be less than num_clones')
    device = self._worker_device
    if self._clone_on_cpu:
      device += '/device:CPU:0'
    elif self._num_clones > 1:
      device += '/device:GPU:%d' % clone_index
    return device

  def clone_scope(self, clone_index):
    """The name scope of clone `clone_index`: 'clone_<i>', or '' for one.

    Raises:
      ValueError: if `clone_index` is not below num_clones.
    """
    if not 0 <= clone_index < self._num_clones:
      raise ValueError('clone_index must be less than num_clones')
    return 'clone_%d' % clone_index if self._num_clones > 1 else ''

  def optimizer_device(self):
    """The device of the optimizer: this worker's CPU."""
    return self._worker_device + '/device:CPU:0'

  def inputs_device(self):
    """The device of the input pipeline: this worker's CPU."""
    return self._worker_device + '/device:CPU:0'

  def _variable_device_for(self, task):
    if self._num_ps_tasks > 0:
      return '%s/task:%d/device:CPU:0' % (self._ps_device, task)
    return '/device:CPU:0'

  def _variable_placer(self):
    if self._placer is None:
      self._placer = _VariablePlacer(self._variable_device_for,
                                     self._num_ps_tasks)
    return self._placer

  def variables_device(self):
    """The device of the variables: a value for `tf.compat.v1.device()`.

    '/device:CPU:0' without ps tasks. With ps tasks a device function: each
    variable op goes to the next ps task ('/job:ps/task:<k>/device:CPU:0',
    round-robin over the tasks, one counter for the whole config), the ops
    reading or updating a variable go with it, other ops are left as they
    are.
    """
    if not self._num_ps_tasks:
      return self._variable_device_for(0)
    return self._variable_placer()

  def _clone_variable_placer(self):
    """The device function for the variables of the clones, or None.

    Variables are pinned (to the CPU, or the ps tasks) when several clones
    or replicas share them; one clone alone leaves them to TensorFlow.
    """
    if self._num_clones > 1 or self._num_ps_tasks > 0:
      return self._variable_placer()
    return None


def create_clones(config, model_fn, args=None, kwargs=None):
  """Builds the clones of `model_fn` described by `config`.

  `model_fn(*args, **kwargs)` is called `config.num_clones` times, in name
  scope `config.clone_scope(i)` and on `config.clone_device(i)`; the first
  call creates the variables and the others reuse them. Losses, summaries
  and update ops the calls add to the graph's collections can be found by
  clone scope:

     tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.LOSSES, clone.scope)

  Args:
    config: a DeploymentConfig.
    model_fn: a callable, called as `model_fn(*args, **kwargs)`.
    args: optional list of positional arguments for `model_fn`.
    kwargs: optional dict of keyword arguments for `model_fn`.

  Returns:
    A list of `Clone(outputs, scope, device)`, outputs being what
    `model_fn` returned.
  """
  clones = []
  args = args or []
  kwargs = kwargs or {}
  # Our layers create variables with tf.compat.v1.get_variable, out of the
  # arg scope's reach: the placer is also a device function around each
  # clone, inside the clone device so that it sees each op first.
  placer = config._clone_variable_placer()  # pylint: disable=protected-access
  with slim.arg_scope([slim.model_variable, slim.variable],
                      device=config.variables_device()):
    for i in range(config.num_clones):
      with tf.compat.v1.name_scope(config.clone_scope(i)) as clone_scope:
        clone_device = config.clone_device(i)
        with tf.compat.v1.device(clone_device), (
            tf.compat.v1.device(placer) if placer else contextlib.nullcontext()):
          with tf.compat.v1.variable_scope(
              tf.compat.v1.get_variable_scope(),
              reuse=True if i > 0 else None):
            outputs = model_fn(*args, **kwargs)
        clones.append(Clone(outputs, clone_scope, clone_device))
  return clones


def _gather_clone_loss(clone, num_clones, regularization_losses):
  """The loss of one clone: its losses / num_clones + the regularization.

  Args:
    clone: a Clone.
    num_clones: the number of clones.
    regularization_losses: a possibly empty list of regularization losses
      to add to this clone's loss.

  Returns:
    The clone's total loss tensor, or None when it has no loss at all.
  """
  sum_loss = None
  clone_loss = None
  regularization_loss = None
  with tf.compat.v1.device(clone.device):
    all_losses = []
    clone_losses = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.LOSSES, clone.scope)
    if clone_losses:
      clone_loss = tf.add_n(clone_losses, name='clone_loss')
      if num_clones > 1:
        clone_loss = tf.math.divide(clone_loss, 1.0 * num_clones,
                                    name='scaled_clone_loss')
      all_losses.append(clone_loss)
    if regularization_losses:
      regularization_loss = tf.add_n(regularization_losses,
                                     name='regularization_loss')
      all_losses.append(regularization_loss)
    if all_losses:
      sum_loss = tf.add_n(all_losses)
  # The summaries live outside the clone device.
  if clone_loss is not None:
    summary('scalar', (clone.scope.rstrip('/') + '/clone_loss').lstrip('/'),
            clone_loss)
  if regularization_loss is not None:
    summary('scalar', 'regularization_loss', regularization_loss)
  return sum_loss


def _optimize_clone(optimizer, clone, num_clones, regularization_losses,
                    **kwargs):
  """The loss and gradients of one clone: (loss or None, grads or None)."""
  sum_loss = _gather_clone_loss(clone, num_clones, regularization_losses)
  clone_grad = None
  if sum_loss is not None:
    with tf.compat.v1.device(clone.device):
      clone_grad = optimizer.compute_gradients(sum_loss, **kwargs)
  return sum_loss, clone_grad


def optimize_clones(clones, optimizer, regularization_losses=None,
                    **kwargs):
  """The total loss and summed gradients of `clones`.

  The regularization losses are added to the first clone's loss only.

  Args:
    clones: the Clones of `create_clones()`.
    optimizer: a `tf.compat.v1.train.Optimizer`.
    regularization_losses: optional list of regularization losses; None
      takes `tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES`, [] none.
    **kwargs: passed to `optimizer.compute_gradients` (e.g. `var_list`).

  Returns:
    (total_loss, grads_and_vars): the sum of the clone losses (each already
    divided by the number of clones, so their mean, plus the
    regularization), and a list of (gradient, variable) with each
    variable's gradients summed over the clones.
  """
  grads_and_vars = []
  clones_losses = []
  num_clones = len(clones)
  if regularization_losses is None:
    regularization_losses = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
  for clone in clones:
    with tf.compat.v1.name_scope(clone.scope):
      clone_loss, clone_grad = _optimize_clone(
          optimizer, clone, num_clones, regularization_losses, **kwargs)
      if clone_loss is not None:
        clones_losses.append(clone_loss)
        grads_and_vars.append(clone_grad)
      regularization_losses = None  # the first clone only
  total_loss = tf.add_n(clones_losses, name='total_loss')
  grads_and_vars = _sum_clones_gradients(grads_and_vars)
  return total_loss, grads_and_vars


def deploy(config,
           model_fn,
           args=None,
           kwargs=None,
           optimizer=None,
           summarize_gradients=False):
  """Builds the clones, and with an optimizer the train op.

  Args:
    config: a DeploymentConfig.
    model_fn: a callable, called as `model_fn(*args, **kwargs)`.
    args: optional list of positional arguments for `model_fn`.
    kwargs: optional dict of keyword arguments for `model_fn`.
    optimizer: optional `tf.compat.v1.train.Optimizer`; with it the model is
      deployed for training (global step created if needed).
    summarize_gradients: whether to add histograms of the gradients.

  Returns:
    A DeployedModel(train_op, summary_op, total_loss, clones); train_op is
    None without optimizer, summary_op None without summaries. train_op
    runs the first clone's update ops (batch-norm statistics) and the
    gradient update, and returns the total loss.
  """
  summaries = set(tf.compat.v1.get_collection(
      tf.compat.v1.GraphKeys.SUMMARIES))
  clones = create_clones(config, model_fn, args, kwargs)
  first_clone = clones[0]
  # The first clone's update ops (batch norm's moving statistics).
  update_ops = tf.compat.v1.get_collection(
      tf.compat.v1.GraphKeys.UPDATE_OPS, first_clone.scope)

  train_op = None
  total_loss = None
  with tf.compat.v1.device(config.optimizer_device()):
    if optimizer:
      with tf.compat.v1.device(config.variables_device()):
        global_step = tf.compat.v1.train.get_or_create_global_step()
      total_loss, clones_gradients = optimize_clones(clones, optimizer)
      if clones_gradients:
        if summarize_gradients:
          summaries |= set(_add_gradients_summaries(clones_gradients))
        grad_updates = optimizer.apply_gradients(clones_gradients,
                                                 global_step=global_step)
        update_ops.append(grad_updates)
        update_op = tf.group(*update_ops)
        with tf.control_dependencies([update_op]):
          train_op = tf.identity(total_loss, name='train_op')
    else:
      clones_losses = []
      regularization_losses = tf.compat.v1.get_collection(
          tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
      for clone in clones:
        with tf.compat.v1.name_scope(clone.scope):
          clone_loss = _gather_clone_loss(clone, len(clones),
                                          regularization_losses)
          if clone_loss is not None:
            clones_losses.append(clone_loss)
          regularization_losses = None
      if clones_losses:
        total_loss = tf.add_n(clones_losses, name='total_loss')

    # The first clone's summaries: those of model_fn and of the losses.
    summaries |= set(tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.SUMMARIES, first_clone.scope))
    if total_loss is not None:
      summaries.add(summary('scalar', 'total_loss', total_loss))
    summary_op = (tf.compat.v1.summary.merge(list(summaries),
                                             name='summary_op')
                  if summaries else None)
  return DeployedModel(train_op, summary_op, total_loss, clones)


def _sum_clones_gradients(clone_grads):
  """Sums each variable's gradients over the clones.

  The clone losses are already divided by the number of clones, so the sum
  is the gradient of their mean.

  Args:
    clone_grads: one list of (gradient, variable) per clone, the variables
      in the same order.

  Returns:
    A list of (summed gradient, variable), leaving out the variables no
    clone has a gradient for.
  """
  sum_grads = []
  for grad_and_vars in zip(*clone_grads):
    var = grad_and_vars[0][1]
    grads = []
    for grad, other in grad_and_vars:
      if other is not var:
        raise ValueError('clones disagree on the variable list: %s vs %s' %
                         (var.op.name, other.op.name))
      if grad is not None:
        grads.append(grad)
    if grads:
      if len(grads) > 1:
        sum_grad = tf.add_n(grads, name=var.op.name + '/sum_grads')
      else:
        sum_grad = grads[0]
      sum_grads.append((sum_grad, var))
  return sum_grads


def _add_gradients_summaries(grads_and_vars):
  """Histograms of the gradients and their norms; returns the summaries."""
  summaries = []
  for grad, var in grads_and_vars:
    if grad is None:
      continue
    values = grad.values if isinstance(grad, tf.IndexedSlices) else grad
    summaries.append(summary('histogram', var.op.name + ':gradient', values))
    summaries.append(summary('histogram', var.op.name + ':gradient_norm',
                             tf.linalg.global_norm([values])))
  return summaries


_MAX_IMAGES = 3


def summary(kind, tag, tensor):
  """A 'scalar', 'histogram' or 'image' summary op tagged exactly `tag`.

  `tf.compat.v1.summary.*` take the tag from a fresh name scope, so next
  to an op of the same name (the 'total_loss' add, a variable) the curve
  is called 'total_loss_1' or '.../weights_1'; these keep the name asked
  for. Images: the first 3 of the batch. The op is added to the
  SUMMARIES collection, as the tf.compat.v1.summary ops are.
  """
  name = kind + '_summary'
  if kind == 'scalar':
    op = tf.raw_ops.ScalarSummary(tags=tag, values=tensor, name=name)
  elif kind == 'histogram':
    op = tf.raw_ops.HistogramSummary(tag=tag, values=tensor, name=name)
  elif kind == 'image':
    op = tf.raw_ops.ImageSummary(tag=tag, tensor=tensor,
                                 max_images=_MAX_IMAGES, name=name)
  else:
    raise ValueError('unknown summary kind %r' % kind)
  tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.SUMMARIES, op)
  return op
