"""`slimnets train`: research/slim's train_image_classifier.py on TF 2.21.

Trains a registered model on a slim TFRecord dataset with the flags of
tensorflow/models' research/slim/train_image_classifier.py, by the same
names, defaults and meanings (`--model_name=resnet_v2_50`, `--noclone_on_cpu`
and the dashed spellings all work, see `slimnets._flags`), on TensorFlow
2.21's graph mode:

* the input: `dataset_factory.get_dataset(...).read(shuffle=True)`, the
  training preprocessing of `preprocessing_factory`, batches of
  --batch_size (one batch per clone and step), labels minus
  --labels_offset, one-hot;
* the model: `nets_factory.get_network_fn(model_name, num_classes,
  weight_decay, is_training=True)`, cloned --num_clones times by
  `slimnets.deployment.model_deploy`; softmax cross-entropy with
  --label_smoothing (plus 0.4 x the AuxLogits loss for models that have
  them) and the arg scope's L2 regularization losses;
* the update: the optimizer and learning-rate schedule of the flags, only on
  --trainable_scopes when given, after the batch-norm update ops, then the
  --moving_average_decay averages of the model variables;
* the loop: `tf.compat.v1.train.MonitoredTrainingSession` with hooks (stop
  at --max_number_of_steps, checkpoints every --save_interval_secs,
  summaries every --save_summaries_secs, a progress line every
  --log_every_n_steps), not slim's Supervisor, whose threads cannot run on
  TF 2;
* resuming: a --train_dir that holds a checkpoint continues from it (the
  global step goes on); --checkpoint_path (a file or a folder) only
  initializes a new --train_dir, minus --checkpoint_exclude_scopes;
* distributed: --job_name/--ps_hosts/--worker_hosts or TF_CONFIG run a
  ps/worker cluster of `tf.distribute.Server`s (see
  `slimnets.deployment.cluster`), asynchronous or --sync_replicas.

See docs/training.md for the flags, the summaries, fine-tuning and what
differs from upstream.

Typical use:

   slimnets train --dataset_name=flowers --dataset_dir=/data/flowers \\
       --model_name=resnet_v2_50 --train_dir=/tmp/flowers-resnet \\
       --optimizer=momentum --learning_rate=0.01 --max_number_of_steps=1000

   # Fine-tune the logits of a checkpoint on another class count:
   slimnets train --dataset_name=mine --dataset_dir=/data/mine \\
       --model_name=resnet_v2_50 --train_dir=/tmp/mine \\
       --checkpoint_path=/tmp/flowers-resnet \\
       --checkpoint_exclude_scopes=resnet_v2_50/logits \\
       --trainable_scopes=resnet_v2_50/logits
"""

import argparse
import contextlib
import errno
import os
import sys
import tempfile
import threading
import time
import warnings

from slimnets import _flags

# research/slim's default; slimnets has no inception_v3 yet.
_UPSTREAM_DEFAULT_MODEL = 'inception_v3'
_FALLBACK_MODEL = 'resnet_v2_50'
OPTIMIZERS = ('adadelta', 'adagrad', 'adam', 'ftrl', 'momentum', 'rmsprop',
              'sgd')
DECAY_TYPES = ('exponential', 'fixed', 'polynomial')
_AUX_LOSS_WEIGHT = 0.4  # upstream's weight of the AuxLogits loss
_CHECKPOINT_BASENAME = 'model.ckpt'  # what MonitoredTrainingSession writes
# How long the end of training waits for the threads of the session. Only
# --sync_replicas has one, the chief's queue runner, blocked on the gradient
# accumulators until the session closes: the wait is pure delay.
_STOP_GRACE_SECS = 2
_QUEUE_RUNNER_THREAD = 'QueueRunnerThread'

_DESCRIPTION = """\
Trains a model on a slim TFRecord dataset, with the flags of research/slim's
train_image_classifier.py (same names, defaults and meanings; absl spellings
such as --model_name=resnet_v2_50 and --noclone_on_cpu work). Checkpoints and
TensorBoard summaries go to --train_dir; a --train_dir that already holds a
checkpoint is resumed (the global step goes on, --checkpoint_path is then
ignored), so there is no --force: use a new folder to start over. Prints a
progress line every --log_every_n_steps steps. See docs/training.md.

--model_name defaults to upstream's inception_v3 when it is registered;
slimnets has no inception_v3 yet, so the default is resnet_v2_50.
--quantize_delay is refused: quantized training needs tf.contrib.quantize,
which TensorFlow 2 no longer has.
"""


class _Formatter(argparse.RawDescriptionHelpFormatter,
                 argparse.ArgumentDefaultsHelpFormatter):
  """Shows the defaults, except None and the --noflag negations."""

  def _get_help_string(self, action):
    if action.default is None or (action.nargs == 0 and
                                  action.default is True):
      return action.help
    if action.default == '':
      return action.help + " (default: '')"
    return super()._get_help_string(action)


def add_parser(subparsers):
  """Adds `slimnets train` to the `slimnets` subparsers."""
  parser = subparsers.add_parser(
      'train', help='train a model (research/slim\'s '
      'train_image_classifier.py)', description=_DESCRIPTION,
      formatter_class=_Formatter)
  add_flags(parser)
  parser.set_defaults(run=run)


def add_flags(parser):
  """Adds train_image_classifier.py's flags, in upstream's groups."""
  add, add_bool = _flags.add, _flags.add_bool
  general = parser.add_argument_group('general')
  add(general, 'master', '', 'The address of the TensorFlow master to use.')
  add(general, 'train_dir', '/tmp/tfmodel/',
      'Directory where checkpoints and event logs are written to.')
  add(general, 'num_clones', 1,
      'Number of model clones to deploy. Note For historical reasons loss '
      'from all clones averaged out and learning rate decay happen per clone '
      'epochs')
  add_bool(general, 'clone_on_cpu', False, 'Use CPUs to deploy clones.')
  add(general, 'worker_replicas', 1, 'Number of worker replicas.')
  add(general, 'num_ps_tasks', 0,
      'The number of parameter servers. If the value is 0, then the '
      'parameters are handled locally by the worker.')
  add(general, 'num_readers', 4,
      'The number of parallel readers that read data from the dataset.')
  add(general, 'num_preprocessing_threads', 4,
      'The number of threads used to create the batches.')
  add(general, 'log_every_n_steps', 10,
      'The frequency with which logs are print (0: no progress lines).')
  add(general, 'save_summaries_secs', 600,
      'The frequency with which summaries are saved, in seconds (0: '
      'none).')
  add(general, 'save_interval_secs', 600,
      'The frequency with which the model is saved, in seconds (0: only at '
      'the start and the end).')
  add(general, 'task', 0, 'Task id of the replica running the training.')
  add(general, 'seed', None,
      'Graph-level random seed (initialization, shuffling, augmentation); '
      'not an upstream flag.', type_=int)

  optimization = parser.add_argument_group('optimization')
  add(optimization, 'weight_decay', 0.00004,
      'The weight decay on the model weights.')
  add(optimization, 'batch_norm_decay', None,
      "Decay of batch norm's moving mean and variance, passed to the "
      "model's arg scope (default: the arg scope's, e.g. 0.997 for ResNet). "
      'Lower it (0.9) for short runs: after 100 steps at 0.997 the moving '
      'statistics have moved 26%% of the way, and an evaluation with them '
      'is at chance. Not an upstream flag.', type_=float)
  add(optimization, 'optimizer', 'rmsprop',
      'The name of the optimizer, one of "adadelta", "adagrad", "adam", '
      '"ftrl", "momentum", "sgd" or "rmsprop".')
  add(optimization, 'adadelta_rho', 0.95, 'The decay rate for adadelta.')
  add(optimization, 'adagrad_initial_accumulator_value', 0.1,
      'Starting value for the AdaGrad accumulators.')
  add(optimization, 'adam_beta1', 0.9,
      'The exponential decay rate for the 1st moment estimates.')
  add(optimization, 'adam_beta2', 0.999,
      'The exponential decay rate for the 2nd moment estimates.')
  add(optimization, 'opt_epsilon', 1.0, 'Epsilon term for the optimizer.')
  add(optimization, 'ftrl_learning_rate_power', -0.5,
      'The learning rate power.')
  add(optimization, 'ftrl_initial_accumulator_value', 0.1,
      'Starting value for the FTRL accumulators.')
  add(optimization, 'ftrl_l1', 0.0, 'The FTRL l1 regularization strength.')
  add(optimization, 'ftrl_l2', 0.0, 'The FTRL l2 regularization strength.')
  add(optimization, 'momentum', 0.9,
      'The momentum for the MomentumOptimizer and RMSPropOptimizer.')
  add(optimization, 'rmsprop_momentum', 0.9, 'Momentum.')
  add(optimization, 'rmsprop_decay', 0.9, 'Decay term for RMSProp.')
  add(optimization, 'quantize_delay', -1,
      'Number of steps to start quantized training. Set to -1 would disable '
      'quantized training. Refused when set: TensorFlow 2 has no '
      'tf.contrib.quantize.')

  learning_rate = parser.add_argument_group('learning rate')
  add(learning_rate, 'learning_rate_decay_type', 'exponential',
      'Specifies how the learning rate is decayed. One of "fixed", '
      '"exponential", or "polynomial"')
  add(learning_rate, 'learning_rate', 0.01, 'Initial learning rate.')
  add(learning_rate, 'end_learning_rate', 0.0001,
      'The minimal end learning rate used by a polynomial decay learning '
      'rate.')
  add(learning_rate, 'label_smoothing', 0.0, 'The amount of label smoothing.')
  add(learning_rate, 'learning_rate_decay_factor', 0.94,
      'Learning rate decay factor.')
  add(learning_rate, 'num_epochs_per_decay', 2.0,
      'Number of epochs after which learning rate decays. Note: this flag '
      'counts epochs per clone but aggregates per sync replicas. So 1.0 '
      'means that each clone will go over full epoch individually, but '
      'replicas will go once across all replicas.')
  add_bool(learning_rate, 'sync_replicas', False,
           'Whether or not to synchronize the replicas during training.')
  add(learning_rate, 'replicas_to_aggregate', 1,
      'The Number of gradients to collect before updating params.')
  add(learning_rate, 'moving_average_decay', None,
      'The decay to use for the moving average. If left as None, then '
      'moving averages are not used.', type_=float)

  dataset = parser.add_argument_group('dataset')
  _flags.add_dataset_flags(dataset, split_default='train')
  _flags.add_model_flags(
      dataset, model_default=None, model_help=(
          "The name of the architecture to train (`slimnets list`). "
          "Default: upstream's %s when registered, else %s (slimnets has no "
          '%s yet).' % (_UPSTREAM_DEFAULT_MODEL, _FALLBACK_MODEL,
                        _UPSTREAM_DEFAULT_MODEL)))
  add(dataset, 'batch_size', 32, 'The number of samples in each batch.')
  add(dataset, 'train_image_size', None, 'Train image size', type_=int)
  add(dataset, 'max_number_of_steps', None,
      'The maximum number of training steps.', type_=int)

  fine_tuning = parser.add_argument_group('fine-tuning')
  add(fine_tuning, 'checkpoint_path', None,
      'The path to a checkpoint from which to fine-tune.')
  add(fine_tuning, 'checkpoint_exclude_scopes', None,
      'Comma-separated list of scopes of variables to exclude when restoring '
      'from a checkpoint.')
  add(fine_tuning, 'trainable_scopes', None,
      'Comma-separated list of scopes to filter the set of variables to '
      'train. By default, None would train all the variables.')
  add_bool(fine_tuning, 'ignore_missing_vars', False,
           'When restoring a checkpoint would ignore missing variables.')

  distributed = parser.add_argument_group(
      'distributed (classic TF flags, or TF_CONFIG)')
  add(distributed, 'job_name', None, "This task's job: 'ps' or 'worker'.")
  add(distributed, 'ps_hosts', None,
      'Comma-separated host:port list of the ps tasks.')
  add(distributed, 'worker_hosts', None,
      'Comma-separated host:port list of the worker tasks.')


# --- checks that need no TensorFlow -----------------------------------------


def _command_error(message):
  from slimnets import cli  # pylint: disable=import-outside-toplevel
  return cli.CommandError(' '.join(str(message).split()))


def _scopes(text):
  return [scope.strip() for scope in (text or '').split(',') if scope.strip()]


def check_flags(args):
  """Raises CommandError (one line) for flag values train cannot take."""
  def at_least(name, low):
    value = getattr(args, name)
    if value is not None and value < low:
      raise _command_error('--%s must be at least %s, got %s' %
                           (name, low, value))

  if not args.dataset_dir:
    raise _command_error('You must supply the dataset directory with '
                         '--dataset_dir')
  for name in ('batch_size', 'num_clones', 'worker_replicas', 'num_readers',
               'num_preprocessing_threads', 'train_image_size',
               'max_number_of_steps', 'replicas_to_aggregate'):
    at_least(name, 1)
  for name in ('num_ps_tasks', 'task', 'log_every_n_steps',
               'save_summaries_secs', 'save_interval_secs', 'labels_offset',
               'weight_decay', 'learning_rate', 'end_learning_rate',
               'opt_epsilon', 'momentum', 'rmsprop_momentum', 'ftrl_l1',
               'ftrl_l2'):
    at_least(name, 0)
  if args.optimizer not in OPTIMIZERS:
    raise _command_error('Optimizer [%s] was not recognized; one of %s' %
                         (args.optimizer, ', '.join(OPTIMIZERS)))
  if args.learning_rate_decay_type not in DECAY_TYPES:
    raise _command_error('learning_rate_decay_type [%s] was not recognized; '
                         'one of %s' % (args.learning_rate_decay_type,
                                        ', '.join(DECAY_TYPES)))
  if args.learning_rate_decay_type != 'fixed' and not (
      args.num_epochs_per_decay > 0):
    raise _command_error('--num_epochs_per_decay must be positive, got %s' %
                         args.num_epochs_per_decay)
  if not 0 <= args.label_smoothing <= 1:
    raise _command_error('--label_smoothing must be in [0, 1], got %s' %
                         args.label_smoothing)
  if args.batch_norm_decay is not None and not (
      0 <= args.batch_norm_decay < 1):
    raise _command_error('--batch_norm_decay must be in [0, 1), got %s' %
                         args.batch_norm_decay)
  if args.moving_average_decay is not None and not (
      0 < args.moving_average_decay < 1):
    raise _command_error('--moving_average_decay must be in (0, 1), got %s' %
                         args.moving_average_decay)
  for name in ('adam_beta1', 'adam_beta2', 'rmsprop_decay', 'adadelta_rho'):
    if not 0 <= getattr(args, name) < 1:
      raise _command_error('--%s must be in [0, 1), got %s' %
                           (name, getattr(args, name)))
  if args.quantize_delay >= 0:
    raise _command_error(
        '--quantize_delay=%d: quantized training is not available: upstream '
        'rewrites the graph with tf.contrib.quantize, which TensorFlow 2 '
        '(2.21 here) no longer has' % args.quantize_delay)
  if args.trainable_scopes is not None and not _scopes(args.trainable_scopes):
    raise _command_error('--trainable_scopes is empty')


# --- run ---------------------------------------------------------------------


def run(args):
  """Runs `slimnets train`; returns the exit status."""
  check_flags(args)
  from slimnets.deployment import cluster  # pylint: disable=import-outside-toplevel
  try:
    config = cluster.from_flags(args.master, args.task, args.worker_replicas,
                                args.num_ps_tasks, job_name=args.job_name,
                                ps_hosts=args.ps_hosts,
                                worker_hosts=args.worker_hosts)
  except ValueError as error:
    raise _command_error(error) from None
  if config is None:
    if args.task:
      raise _command_error(
          '--task=%d, but there is no cluster (one worker, no ps: see '
          '--worker_replicas, --ps_hosts/--worker_hosts or TF_CONFIG)' %
          args.task)
    if args.master:
      try:
        cluster.check_master(args.master)
      except ValueError as error:
        raise _command_error(error) from None
    return train(args, master=args.master)
  try:
    server = cluster.start_server(config)
  except ValueError as error:
    raise _command_error(error) from None
  if config.job_name == 'ps':
    print('ps task %d of %d serving at %s until the %d worker(s) are done' %
          (config.task, config.num_ps_tasks, server.target,
           config.num_workers), flush=True)
    try:
      cluster.run_ps(config, server)
    except TimeoutError as error:
      return _gave_up(error)
    return 0
  try:
    return train(args, master=server.target, cluster_config=config)
  except TimeoutError as error:  # the chief never initialised the model
    return _gave_up(error)
  finally:
    cluster.signal_done(config, server)


def _gave_up(error):
  """A cluster task that stopped waiting for its peers: one line, status 1.

  Not bad input (status 2): the flags were right, another process failed.
  """
  print('slimnets train: error: %s' % _one_line(error), file=sys.stderr)
  return 1


def _default_model():
  from nets import registry  # pylint: disable=import-outside-toplevel
  if _UPSTREAM_DEFAULT_MODEL in registry.list_models():
    return _UPSTREAM_DEFAULT_MODEL
  return _FALLBACK_MODEL


# Lines of a TensorFlow error message that are not its reason: TF 2 session
# errors start with where the failing op was defined, and end with its node.
_TF_MESSAGE_NOISE = ('Graph execution error', 'Detected at node', 'File "',
                     'Node:', '[[')


def _one_line(error):
  """The reason of an exception in one line (TF's call stacks dropped)."""
  message = getattr(error, 'message', None) or str(error)
  lines = [line.strip() for line in message.splitlines() if line.strip()]
  reasons = [line for line in lines if not line.startswith(_TF_MESSAGE_NOISE)]
  text = ' '.join((reasons or lines or [type(error).__name__])[0].split())
  return text


def _tf_error_line(error):
  return '%s: %s' % (type(error).__name__, _one_line(error))


def _check_train_dir(tf, train_dir):
  """Creates `train_dir` if needed; raises CommandError if not writable."""
  if '://' in train_dir:  # a TensorFlow filesystem: gs://, hdfs://...
    try:
      tf.io.gfile.makedirs(train_dir)
    except tf.errors.OpError as error:
      raise _command_error('--train_dir %s is not writable: %s' %
                           (train_dir, _one_line(error))) from None
    return
  try:
    os.makedirs(train_dir, exist_ok=True)
    with tempfile.TemporaryFile(dir=train_dir):
      pass
  except OSError as error:
    reason = os.strerror(error.errno) if error.errno else str(error)
    raise _command_error('--train_dir %s is not writable: %s' %
                         (train_dir, reason)) from None


def train(args, master='', cluster_config=None):
  """Trains as `slimnets train` with the flags `args`; returns the status.

  Args:
    args: the parsed flags (see `add_flags`).
    master: the TensorFlow master ('' for in-process).
    cluster_config: the `cluster.ClusterConfig` of a worker, or None.

  Returns:
    0 when training reached --max_number_of_steps (or was already there),
    1 when the loss became NaN.

  Raises:
    CommandError: for bad input (one line).
  """
  from slimnets import cli  # pylint: disable=import-outside-toplevel
  tf = cli._quiet_tensorflow()  # pylint: disable=protected-access
  is_chief = cluster_config is None or cluster_config.is_chief
  train_dir = args.train_dir
  if is_chief:
    _check_train_dir(tf, train_dir)
  model_name = args.model_name or _default_model()
  if cluster_config is None:
    replica_id, num_replicas, num_ps_tasks = 0, 1, 0
  else:
    replica_id = cluster_config.task
    num_replicas = cluster_config.num_workers
    num_ps_tasks = cluster_config.num_ps_tasks
  if args.num_clones > 1 and not args.clone_on_cpu:
    gpus = len(tf.config.list_physical_devices('GPU'))
    if gpus < args.num_clones:
      raise _command_error('--num_clones=%d puts one clone on each GPU, but '
                           'this machine has %d; pass --clone_on_cpu' %
                           (args.num_clones, gpus))

  graph = tf.Graph()
  with graph.as_default(), warnings.catch_warnings():
    # The graph seed is meant to seed the augmentation inside tf.data.
    warnings.filterwarnings('ignore', message='Seed .* from outer graph')
    built = _build_graph(tf, args, model_name, replica_id, num_replicas,
                         num_ps_tasks)
    latest = tf.train.latest_checkpoint(train_dir) if is_chief else None
    if latest:
      resumed_step = _check_resume(tf, latest, train_dir)
    init_fn = None
    if args.checkpoint_path is not None:
      if latest:
        print('Ignoring --checkpoint_path because a checkpoint already '
              'exists in %s' % train_dir, flush=True)
      elif is_chief:
        init_fn = _fine_tune_init_fn(tf, args, model_name)
    # Not sharded, as slim's Supervisor: the chief writes the whole
    # checkpoint into its own train_dir, no shared filesystem needed.
    saver = tf.compat.v1.train.Saver(max_to_keep=5)
    scaffold = tf.compat.v1.train.Scaffold(
        saver=saver, summary_op=built.summary_op, init_fn=init_fn)

  max_steps = args.max_number_of_steps
  if latest:
    if max_steps is not None and resumed_step >= max_steps:
      print('%s is already at step %d (--max_number_of_steps=%d): nothing '
            'to train' % (latest, resumed_step, max_steps), flush=True)
      return 0
    print('Resuming from %s (global step %d)' % (latest, resumed_step),
          flush=True)
  _print_header(args, model_name, built, num_replicas)

  images_per_step = args.batch_size * args.num_clones
  progress = _ProgressHook(args.log_every_n_steps, images_per_step,
                           max_steps, built)
  hooks = [progress, tf.compat.v1.train.NanTensorHook(built.total_loss)]
  if max_steps is not None:
    hooks.append(tf.compat.v1.train.StopAtStepHook(last_step=max_steps))
  if built.sync_optimizer is not None:
    hooks.append(built.sync_optimizer.make_session_run_hook(is_chief))
  # Chief-only hooks run first, so the last checkpoint is written before
  # the worker tells the ps tasks it is done.
  chief_only_hooks = [_checkpoint_hook(tf, train_dir, args.save_interval_secs,
                                       scaffold)]
  session_config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
  if cluster_config is not None:
    from slimnets.deployment import cluster  # pylint: disable=import-outside-toplevel
    with graph.as_default():
      print('worker %d of %d%s: %s' % (
          cluster_config.task, cluster_config.num_workers,
          ' (chief)' if is_chief else '',
          cluster.placement_line(tf.compat.v1.global_variables())),
            flush=True)
      hooks.append(cluster.worker_done_hook(cluster_config,
                                            built.sync_optimizer))  # last
    # Device filters: the worker sees the ps tasks and itself only.
    session_config = cluster.session_config(cluster_config,
                                            base=session_config)

  start = time.time()
  try:
    with graph.as_default(), _quiet_cancelled_queue_runners(
        tf, built.sync_optimizer is not None):
      with tf.compat.v1.train.MonitoredTrainingSession(
          master=master, is_chief=is_chief, checkpoint_dir=train_dir,
          scaffold=scaffold, hooks=hooks, chief_only_hooks=chief_only_hooks,
          save_checkpoint_secs=None, save_checkpoint_steps=None,
          save_summaries_secs=args.save_summaries_secs or None,
          save_summaries_steps=None, config=session_config,
          log_step_count_steps=args.log_every_n_steps or None,
          stop_grace_period_secs=_STOP_GRACE_SECS,
          summary_dir=train_dir if is_chief else None) as session:
        while not session.should_stop():
          session.run(built.train_op)
  except tf.compat.v1.train.NanLossDuringTrainingError:
    print('slimnets train: error: the loss is NaN at step %s: training '
          'diverged (try a lower --learning_rate); the last checkpoint in %s '
          'is kept' % (progress.last_step, train_dir), file=sys.stderr)
    return 1
  except tf.errors.OpError as error:
    raise _command_error('training stopped %s: %s' % (
        'at step %d' % progress.last_step if progress.last_step is not None
        else 'before its first step', _tf_error_line(error))) from None
  except OSError as error:  # e.g. the disk filled up while saving
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES,
                       errno.EROFS):
      raise _command_error('cannot write to --train_dir %s: %s' %
                           (train_dir, os.strerror(error.errno))) from None
    raise
  progress.print_summary(time.time() - start,
                         tf.train.latest_checkpoint(train_dir)
                         if is_chief else None)
  return 0


@contextlib.contextmanager
def _quiet_cancelled_queue_runners(tf, active):
  """Drops the CancelledError traceback of the sync queue runner at the end.

  SyncReplicasOptimizer's chief queue runner waits for gradients until the
  session closes under it; its thread then dies of a CancelledError, which
  Python would print as a traceback after training's last line.
  """
  if not active:
    yield
    return
  previous = threading.excepthook

  def excepthook(hook_args):
    if (issubclass(hook_args.exc_type, tf.errors.CancelledError) and
        hook_args.thread is not None and
        hook_args.thread.name.startswith(_QUEUE_RUNNER_THREAD)):
      return
    previous(hook_args)

  threading.excepthook = excepthook
  try:
    yield
  finally:
    for thread in threading.enumerate():
      if thread.name.startswith(_QUEUE_RUNNER_THREAD):
        thread.join(timeout=5)  # cancelled with the session: quick
    threading.excepthook = previous


def _checkpoint_hook(tf, train_dir, save_interval_secs, scaffold):
  if save_interval_secs:
    return tf.compat.v1.train.CheckpointSaverHook(
        train_dir, save_secs=save_interval_secs, scaffold=scaffold,
        checkpoint_basename=_CHECKPOINT_BASENAME)
  # 0: no periodic saves; the hook still saves when the session is created
  # and when training ends.
  return tf.compat.v1.train.CheckpointSaverHook(
      train_dir, save_steps=1 << 62, scaffold=scaffold,
      checkpoint_basename=_CHECKPOINT_BASENAME)


def _print_header(args, model_name, built, num_replicas):
  clones = '%d clone%s%s' % (args.num_clones,
                             's' if args.num_clones > 1 else '',
                             ' on CPU' if args.clone_on_cpu else '')
  replicas = (', %d worker replicas%s' % (
      num_replicas, ' (sync)' if args.sync_replicas else ' (async)')
              if num_replicas > 1 else '')
  print('Training %s (%d classes) on %s/%s (%d images) at %dx%d, batch %d x '
        '%s%s, %s learning rate %g (%s), train_dir %s' % (
            model_name, built.num_classes, built.dataset.name,
            built.dataset.split_name, built.dataset.num_samples,
            built.image_size, built.image_size, args.batch_size, clones,
            replicas, args.optimizer, args.learning_rate,
            args.learning_rate_decay_type, args.train_dir), flush=True)


class _Built:
  """What `_build_graph` made."""

  def __init__(self, **fields):
    self.__dict__.update(fields)


def _build_graph(tf, args, model_name, replica_id, num_replicas,
                 num_ps_tasks):
  """Builds the training graph in the default graph; returns a _Built."""
  import tf_slim as slim  # pylint: disable=import-outside-toplevel
  from nets import nets_factory  # pylint: disable=import-outside-toplevel
  from slimnets.datasets import dataset_factory  # pylint: disable=import-outside-toplevel
  from slimnets.deployment import model_deploy  # pylint: disable=import-outside-toplevel
  from slimnets.preprocessing import preprocessing_factory  # pylint: disable=import-outside-toplevel

  if args.seed is not None:
    tf.compat.v1.set_random_seed(args.seed)
  try:
    deploy_config = model_deploy.DeploymentConfig(
        num_clones=args.num_clones, clone_on_cpu=args.clone_on_cpu,
        replica_id=replica_id, num_replicas=num_replicas,
        num_ps_tasks=num_ps_tasks)
  except ValueError as error:
    raise _command_error(error) from None
  with tf.compat.v1.device(deploy_config.variables_device()):
    global_step = tf.compat.v1.train.get_or_create_global_step()

  try:
    dataset = dataset_factory.get_dataset(args.dataset_name,
                                          args.dataset_split_name,
                                          args.dataset_dir)
    dataset.check()
  except ValueError as error:
    raise _command_error(error) from None
  num_classes = dataset.num_classes - args.labels_offset
  if num_classes < 1:
    raise _command_error('--labels_offset=%d leaves no class of the %d of '
                         '%s' % (args.labels_offset, dataset.num_classes,
                                 dataset.name))
  try:
    network_fn = _network_fn(nets_factory, model_name, num_classes,
                             args.weight_decay, args.batch_norm_decay)
    preprocessing_name = args.preprocessing_name or model_name
    preprocess = preprocessing_factory.get_preprocessing(
        preprocessing_name, is_training=True,
        use_grayscale=args.use_grayscale)
  except ValueError as error:
    raise _command_error(error) from None
  image_size = args.train_image_size or network_fn.default_image_size
  # slim's image summaries inside a tf.data function would be dropped.
  preprocess_kwargs = ({'add_image_summaries': False} if getattr(
      preprocess, 'preprocessing', None) in ('inception', 'cifarnet') else {})

  with tf.compat.v1.device(deploy_config.inputs_device()):
    data = dataset.read(shuffle=True, num_readers=args.num_readers,
                        seed=args.seed)

    def prepare(item):
      image = preprocess(item['image'], image_size, image_size,
                         **preprocess_kwargs)
      if not image.shape.is_fully_defined():
        image.set_shape([image_size, image_size, 3])
      label = tf.cast(item['label'], tf.int64) - args.labels_offset
      return image, label

    data = data.map(prepare, num_parallel_calls=args.num_preprocessing_threads)
    data = data.batch(args.batch_size, drop_remainder=True)
    data = data.map(lambda images, labels: (images, tf.one_hot(
        labels, num_classes)))
    # Upstream's prefetch queue held 2 batches per clone.
    data = data.prefetch(2 * args.num_clones)
    iterator = tf.compat.v1.data.make_one_shot_iterator(data)

  first_clone_images = []

  def clone_fn(iterator):
    images, labels = iterator.get_next()
    logits, end_points = network_fn(images)
    if logits.shape.rank == 4:  # a model without spatial_squeeze
      logits = tf.squeeze(logits, [1, 2])
    if 'AuxLogits' in end_points:
      aux_logits = end_points['AuxLogits']
      if aux_logits.shape.rank == 4:
        aux_logits = tf.squeeze(aux_logits, [1, 2])
      tf.compat.v1.losses.softmax_cross_entropy(
          labels, aux_logits, label_smoothing=args.label_smoothing,
          weights=_AUX_LOSS_WEIGHT, scope='aux_loss')
    tf.compat.v1.losses.softmax_cross_entropy(
        labels, logits, label_smoothing=args.label_smoothing, weights=1.0)
    if not first_clone_images:
      first_clone_images.append(images)
    return end_points

  summaries = set(tf.compat.v1.get_collection(
      tf.compat.v1.GraphKeys.SUMMARIES))
  try:
    clones = model_deploy.create_clones(deploy_config, clone_fn, [iterator])
  except (ValueError, TypeError) as error:
    raise _command_error('%s at %dx%d: %s' % (model_name, image_size,
                                              image_size, error)) from None
  first_clone_scope = deploy_config.clone_scope(0)
  # The first clone's update ops: batch norm's moving statistics.
  update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS,
                                           first_clone_scope)

  end_points = clones[0].outputs
  with tf.compat.v1.name_scope('summaries'):
    for end_point, tensor in end_points.items():
      summaries.add(model_deploy.summary('histogram',
                                         'activations/' + end_point, tensor))
      summaries.add(model_deploy.summary('scalar', 'sparsity/' + end_point,
                                         tf.nn.zero_fraction(tensor)))
    for loss in tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.LOSSES,
                                            first_clone_scope):
      summaries.add(model_deploy.summary('scalar',
                                         'losses/%s' % loss.op.name, loss))
    for variable in slim.get_model_variables():
      summaries.add(model_deploy.summary('histogram', variable.op.name,
                                         variable))
    summaries.add(model_deploy.summary('image', 'images',
                                       first_clone_images[0]))

  if args.moving_average_decay:
    moving_average_variables = slim.get_model_variables()
    variable_averages = tf.compat.v1.train.ExponentialMovingAverage(
        args.moving_average_decay, global_step)
  else:
    moving_average_variables, variable_averages = None, None

  with tf.compat.v1.device(deploy_config.optimizer_device()):
    learning_rate = _configure_learning_rate(tf, args, dataset.num_samples,
                                             global_step)
    optimizer = _configure_optimizer(tf, args, learning_rate)
    summaries.add(model_deploy.summary('scalar', 'learning_rate',
                                       learning_rate))

  sync_optimizer = None
  if args.sync_replicas:
    # The chief applies the averages after aggregating the replicas.
    optimizer = sync_optimizer = tf.compat.v1.train.SyncReplicasOptimizer(
        opt=optimizer, replicas_to_aggregate=args.replicas_to_aggregate,
        total_num_replicas=num_replicas, variable_averages=variable_averages,
        variables_to_average=moving_average_variables)

  variables_to_train = _variables_to_train(tf, args)
  total_loss, clones_gradients = model_deploy.optimize_clones(
      clones, optimizer, var_list=variables_to_train)
  summaries.add(model_deploy.summary('scalar', 'total_loss', total_loss))

  grad_updates = optimizer.apply_gradients(clones_gradients,
                                           global_step=global_step)
  update_ops.append(grad_updates)
  if variable_averages is not None and not args.sync_replicas:
    # After the step's update, so that the averages see the new weights
    # (upstream ran both at once, the average reading either value).
    with tf.control_dependencies([grad_updates]):
      update_ops.append(variable_averages.apply(moving_average_variables))
  update_op = tf.group(*update_ops)
  with tf.control_dependencies([update_op]):
    train_op = tf.identity(total_loss, name='train_op')
    step_after = tf.identity(global_step.read_value(), name='step_after')

  summaries |= set(tf.compat.v1.get_collection(
      tf.compat.v1.GraphKeys.SUMMARIES, first_clone_scope))
  summary_op = tf.compat.v1.summary.merge(list(summaries), name='summary_op')
  return _Built(dataset=dataset, num_classes=num_classes,
                image_size=image_size, global_step=global_step,
                total_loss=total_loss, learning_rate=learning_rate,
                train_op=train_op, step_after=step_after,
                summary_op=summary_op, sync_optimizer=sync_optimizer,
                variables_to_train=variables_to_train)


def _network_fn(nets_factory, model_name, num_classes, weight_decay,
                batch_norm_decay):
  """nets_factory's network_fn in training mode, with --batch_norm_decay.

  Raises:
    ValueError: for an unknown model or a video model.
  """
  from slimnets import evaluate  # pylint: disable=import-outside-toplevel
  evaluate.check_image_model(model_name)
  network_fn = nets_factory.get_network_fn(
      model_name, num_classes=num_classes, weight_decay=weight_decay,
      is_training=True)
  if batch_norm_decay is None:
    return network_fn
  # get_network_fn takes no decay: the same call with the decay added to
  # the arg scope, under the name the family's arg scope gives it (slim's
  # 'batch_norm_decay', MobileNet v2/v3's 'bn_decay').
  import inspect  # pylint: disable=import-outside-toplevel
  import tf_slim as slim  # pylint: disable=import-outside-toplevel
  from nets import registry  # pylint: disable=import-outside-toplevel
  info = registry.get_model(model_name)
  parameters = inspect.signature(info.arg_scope_fn).parameters
  decay_name = next((name for name in ('batch_norm_decay', 'bn_decay')
                     if name in parameters), None)
  if decay_name is None:
    raise ValueError('--batch_norm_decay: %s has no batch norm to set it on '
                     '(its arg scope %s takes no decay)' %
                     (model_name, info.arg_scope_fn.__name__))

  def with_decay(images):
    with slim.arg_scope(info.arg_scope_fn(weight_decay=weight_decay,
                                          **{decay_name: batch_norm_decay})):
      return info.fn(images, num_classes=num_classes, is_training=True)

  with_decay.default_image_size = network_fn.default_image_size
  return with_decay


def _configure_learning_rate(tf, args, num_samples_per_epoch, global_step):
  """The learning rate tensor of --learning_rate_decay_type."""
  # As upstream: with several clones each clone goes over
  # num_epochs_per_decay epochs per decay; sync replicas count together.
  decay_steps = int(num_samples_per_epoch * args.num_epochs_per_decay /
                    args.batch_size)
  if args.sync_replicas:
    decay_steps /= args.replicas_to_aggregate
  decay = args.learning_rate_decay_type
  if decay == 'fixed':
    return tf.constant(args.learning_rate, name='fixed_learning_rate')
  if decay_steps <= 0:
    raise _command_error(
        '%s decay needs at least one step per decay: %d images x '
        '--num_epochs_per_decay=%s / --batch_size=%d is %s' % (
            decay, num_samples_per_epoch, args.num_epochs_per_decay,
            args.batch_size, decay_steps))
  if decay == 'exponential':
    return tf.compat.v1.train.exponential_decay(
        args.learning_rate, global_step, decay_steps,
        args.learning_rate_decay_factor, staircase=True,
        name='exponential_decay_learning_rate')
  return tf.compat.v1.train.polynomial_decay(
      args.learning_rate, global_step, decay_steps, args.end_learning_rate,
      power=1.0, cycle=False, name='polynomial_decay_learning_rate')


def _configure_optimizer(tf, args, learning_rate):
  """The `tf.compat.v1.train` optimizer of --optimizer."""
  train = tf.compat.v1.train
  name = args.optimizer
  if name == 'adadelta':
    return train.AdadeltaOptimizer(learning_rate, rho=args.adadelta_rho,
                                   epsilon=args.opt_epsilon)
  if name == 'adagrad':
    return train.AdagradOptimizer(
        learning_rate,
        initial_accumulator_value=args.adagrad_initial_accumulator_value)
  if name == 'adam':
    return train.AdamOptimizer(learning_rate, beta1=args.adam_beta1,
                               beta2=args.adam_beta2,
                               epsilon=args.opt_epsilon)
  if name == 'ftrl':
    return train.FtrlOptimizer(
        learning_rate, learning_rate_power=args.ftrl_learning_rate_power,
        initial_accumulator_value=args.ftrl_initial_accumulator_value,
        l1_regularization_strength=args.ftrl_l1,
        l2_regularization_strength=args.ftrl_l2)
  if name == 'momentum':
    return train.MomentumOptimizer(learning_rate, momentum=args.momentum,
                                   name='Momentum')
  if name == 'rmsprop':
    return train.RMSPropOptimizer(learning_rate, decay=args.rmsprop_decay,
                                  momentum=args.rmsprop_momentum,
                                  epsilon=args.opt_epsilon)
  return train.GradientDescentOptimizer(learning_rate)


def _variables_to_train(tf, args):
  """The trainable variables under --trainable_scopes (all without it)."""
  if args.trainable_scopes is None:
    return tf.compat.v1.trainable_variables()
  variables = []
  for scope in _scopes(args.trainable_scopes):
    found = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES, scope)
    if not found:
      raise _command_error('--trainable_scopes: no trainable variable under '
                           '%r (e.g. %s)' % (scope, _example_scope(tf)))
    variables.extend(v for v in found if v not in variables)
  return variables


def _example_scope(tf):
  names = [v.op.name for v in tf.compat.v1.trainable_variables()]
  logits = [n.rsplit('/', 1)[0] for n in names if '/logits/' in n]
  return logits[0] if logits else names[0].rsplit('/', 1)[0]


def _resolve_checkpoint(tf, path, flag):
  if os.path.isdir(path):
    found = tf.train.latest_checkpoint(path)
    if not found:
      raise _command_error('%s %s: no checkpoint in that folder' %
                           (flag, path))
    return found
  if not (os.path.exists(path + '.index') or os.path.exists(path)):
    raise _command_error('%s %s: no such checkpoint' % (flag, path))
  return path


def _checkpoint_shapes(tf, checkpoint, flag):
  try:
    return tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
  except (tf.errors.OpError, ValueError) as error:
    raise _command_error('%s: cannot read checkpoint %s: %s' %
                         (flag, checkpoint, _one_line(error))) from None


def _fine_tune_init_fn(tf, args, model_name):
  """The Scaffold init_fn restoring --checkpoint_path into a new train_dir.

  Upstream's _get_init_fn: the model variables minus
  --checkpoint_exclude_scopes, from the file or the newest checkpoint of
  the folder; missing ones are skipped with --ignore_missing_vars.

  Raises:
    CommandError: for a missing or unreadable checkpoint, a variable it
      lacks (without --ignore_missing_vars) or has with another shape.
  """
  import tf_slim as slim  # pylint: disable=import-outside-toplevel
  checkpoint = _resolve_checkpoint(tf, args.checkpoint_path,
                                   '--checkpoint_path')
  shapes = _checkpoint_shapes(tf, checkpoint, '--checkpoint_path')
  exclusions = _scopes(args.checkpoint_exclude_scopes)
  model_variables = slim.get_model_variables()
  for exclusion in exclusions:
    if not any(v.op.name.startswith(exclusion) for v in model_variables):
      print('warning: --checkpoint_exclude_scopes: no variable of %s starts '
            'with %r' % (model_name, exclusion), file=sys.stderr)
  to_restore, missing = [], []
  for variable in model_variables:
    name = variable.op.name
    if any(name.startswith(exclusion) for exclusion in exclusions):
      continue
    if name not in shapes:
      if args.ignore_missing_vars:
        missing.append(name)
        continue
      raise _command_error(
          '--checkpoint_path %s has no variable %s (shape %s) of %s: a '
          'checkpoint of another model? Exclude scopes with '
          '--checkpoint_exclude_scopes or pass --ignore_missing_vars' %
          (checkpoint, name, variable.shape.as_list(), model_name))
    if list(shapes[name]) != variable.shape.as_list():
      raise _command_error(
          '--checkpoint_path %s: variable %s has shape %s there, %s in %s '
          '(another class count? exclude it with '
          '--checkpoint_exclude_scopes=%s)' % (
              checkpoint, name, list(shapes[name]), variable.shape.as_list(),
              model_name, name.rsplit('/', 1)[0]))
    to_restore.append(variable)
  if not to_restore:
    raise _command_error('--checkpoint_path %s: nothing to restore (every '
                         'model variable excluded or missing)' % checkpoint)
  saver = tf.compat.v1.train.Saver(to_restore)
  print('Fine-tuning from %s: %d of %d model variables restored%s' % (
      checkpoint, len(to_restore), len(model_variables),
      ', %d missing ones ignored' % len(missing) if missing else ''),
        flush=True)

  def init_fn(unused_scaffold, session):
    saver.restore(session, checkpoint)

  return init_fn


def _check_resume(tf, latest, train_dir):
  """The global step of `latest`; CommandError if it is of another graph."""
  shapes = _checkpoint_shapes(tf, latest, '--train_dir')
  for variable in tf.compat.v1.global_variables():
    name = variable.op.name
    if name not in shapes or list(shapes[name]) != variable.shape.as_list():
      found = ('has no variable %s' % name if name not in shapes else
               'has %s with shape %s, not %s' % (
                   name, list(shapes[name]), variable.shape.as_list()))
      raise _command_error(
          '--train_dir %s holds a checkpoint of another training setup (%s %s'
          '): resume with the same model, dataset and flags, or use a new '
          '--train_dir' % (train_dir, os.path.basename(latest), found))
  reader = tf.train.load_checkpoint(latest)
  return int(reader.get_tensor(tf.compat.v1.GraphKeys.GLOBAL_STEP))


class _ProgressHook:
  """Prints 'step N/M: loss, steps/s, images/s, learning rate' lines.

  A `tf.compat.v1.train.SessionRunHook` by its methods (a subclass would
  import TensorFlow with this module). Prints every `every_n_steps` steps
  of this process (none for 0); the rates are over those steps (the first
  interval includes TensorFlow's warm-up), the step is the global step
  after the update.
  """

  def __init__(self, every_n_steps, images_per_step, max_steps, built):
    self._every_n = every_n_steps
    self._images_per_step = images_per_step
    self._max_steps = max_steps
    self._fetches = {'loss': built.train_op, 'step': built.step_after,
                     'learning_rate': built.learning_rate}
    self._steps = 0
    self._interval_start = None
    self._interval_steps = 0
    self.last_step = None
    self.last_loss = None
    self.first_step = None

  def begin(self):
    pass

  def after_create_session(self, session, coord):
    pass

  def before_run(self, run_context):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    if self._interval_start is None:
      self._interval_start = time.time()
    return tf.compat.v1.train.SessionRunArgs(self._fetches)

  def after_run(self, run_context, run_values):
    results = run_values.results
    self._steps += 1
    self._interval_steps += 1
    self.last_step = int(results['step'])
    self.last_loss = float(results['loss'])
    if self.first_step is None:
      self.first_step = self.last_step - 1
    if self._every_n and self._steps % self._every_n == 0:
      now = time.time()
      rate = self._interval_steps / max(now - self._interval_start, 1e-9)
      print('step %d%s: loss %.4f, %.2f steps/s, %.1f images/s, learning '
            'rate %.6g' % (self.last_step, '/%d' % self._max_steps
                           if self._max_steps else '', self.last_loss, rate,
                           rate * self._images_per_step,
                           float(results['learning_rate'])), flush=True)
      self._interval_start = now
      self._interval_steps = 0

  def end(self, session):
    pass

  def print_summary(self, seconds, checkpoint):
    if not self._steps:
      print('No step run', flush=True)
      return
    print('Done: %d steps (global step %d to %d) in %.1f s, last loss %.4f%s'
          % (self._steps, self.first_step, self.last_step, seconds,
             self.last_loss,
             '; checkpoint %s' % checkpoint if checkpoint else ''),
          flush=True)
