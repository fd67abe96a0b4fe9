"""One task of a tiny ps/worker cluster on slimnets.deployment.cluster.

The test of `cluster` alone (tests/test_cluster.py) starts a ps and workers
as separate processes of this script: the ps hosts a counter and a weight
vector, every worker step adds one to the counter and takes a gradient step
on the weights (asynchronously, or through SyncReplicasOptimizer with
--sync), with the cluster module's hooks, session config and server.

Each worker prints the placement line, 'worker <i> step <global step>
counter <value after its increment>' per step, then 'worker <i> ran <n>
steps'. With --master (and --worker_replicas,
--num_ps_tasks) a worker uses the server that a --serve_only process of the
same task runs, as upstream slim's --master does.

   python tests/_cluster_driver.py --job_name=ps --task=0 \\
       --ps_hosts=127.0.0.1:2222 --worker_hosts=127.0.0.1:2223,127.0.0.1:2224
"""

import argparse
import faulthandler
import signal
import os
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _ROOT)

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import tensorflow as tf  # pylint: disable=g-import-not-at-top,wrong-import-position

from slimnets.deployment import cluster  # pylint: disable=wrong-import-position


def _parse(argv):
  parser = argparse.ArgumentParser()
  parser.add_argument('--master', default='')
  parser.add_argument('--worker_replicas', type=int, default=1)
  parser.add_argument('--num_ps_tasks', type=int, default=0)
  parser.add_argument('--serve_only', action='store_true',
                      help='a bare tf.distribute.Server for --master runs')
  parser.add_argument('--job_name')
  parser.add_argument('--task', type=int, default=0)
  parser.add_argument('--ps_hosts')
  parser.add_argument('--worker_hosts')
  parser.add_argument('--steps', type=int, default=20)
  parser.add_argument('--sleep', type=float, default=0.0,
                      help='seconds each worker waits after a step')
  parser.add_argument('--sync', action='store_true')
  parser.add_argument('--train_dir')
  parser.add_argument('--fail_at_step', type=int, default=None,
                      help='raise after this many steps of this worker')
  parser.add_argument('--startup_timeout', type=float,
                      default=cluster.STARTUP_TIMEOUT_SECS)
  parser.add_argument('--silence_timeout', type=float,
                      default=cluster.SILENCE_TIMEOUT_SECS)
  parser.add_argument('--heartbeat', type=float,
                      default=cluster.HEARTBEAT_SECS)
  parser.add_argument('--message_timeout', type=float,
                      default=cluster._MESSAGE_TIMEOUT_SECS)  # pylint: disable=protected-access
  return parser.parse_args(argv)


def _train(config, server, args):
  """The worker's loop; returns the number of steps it ran."""
  with tf.device('/job:ps/task:0'):
    global_step = tf.compat.v1.train.get_or_create_global_step()
    counter = tf.compat.v1.get_variable(
        'counter', [], tf.int64, tf.compat.v1.zeros_initializer(),
        use_resource=True, trainable=False)
    weights = tf.compat.v1.get_variable(
        'weights', [4], tf.float32, tf.compat.v1.zeros_initializer(),
        use_resource=True)
  with tf.device('/job:worker/task:%d' % config.task):
    loss = tf.reduce_sum(tf.square(weights - 1.0))
    optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.1)
    sync_optimizer = None
    if args.sync:
      optimizer = sync_optimizer = tf.compat.v1.train.SyncReplicasOptimizer(
          optimizer, replicas_to_aggregate=config.num_workers,
          total_num_replicas=config.num_workers)
    train_op = optimizer.minimize(loss, global_step=global_step)
    with tf.control_dependencies([train_op]):
      train_op = counter.assign_add(1)
  print(cluster.placement_line(tf.compat.v1.global_variables()), flush=True)
  hooks = [tf.compat.v1.train.StopAtStepHook(last_step=args.steps)]
  if sync_optimizer is not None:
    hooks.append(sync_optimizer.make_session_run_hook(config.is_chief))
  hooks.append(cluster.worker_done_hook(config, sync_optimizer))
  steps = 0
  with tf.compat.v1.train.MonitoredTrainingSession(
      master=server.target, is_chief=config.is_chief,
      checkpoint_dir=args.train_dir if config.is_chief else None,
      hooks=hooks, config=cluster.session_config(config),
      save_summaries_steps=None, save_summaries_secs=None,
      log_step_count_steps=0,
      # With --sync the chief's queue runner is left waiting for gradients
      # at the end; closing the session waits this long for it first.
      stop_grace_period_secs=2) as session:
    while not session.should_stop():
      count, step = session.run([train_op, global_step])
      steps += 1
      print('worker %d step %d counter %d' % (config.task, step, count),
            flush=True)
      if args.fail_at_step is not None and steps >= args.fail_at_step:
        raise RuntimeError('worker %d fails on purpose' % config.task)
      if args.sleep:
        time.sleep(args.sleep)
    print('worker %d ran %d steps' % (config.task, steps), flush=True)
  return steps


def main(argv=None):
  faulthandler.register(signal.SIGUSR1)  # a stack dump on demand
  args = _parse(argv)
  tf.compat.v1.disable_eager_execution()
  cluster.HEARTBEAT_SECS = args.heartbeat
  cluster.STARTUP_TIMEOUT_SECS = args.startup_timeout
  cluster.SILENCE_TIMEOUT_SECS = args.silence_timeout
  cluster._MESSAGE_TIMEOUT_SECS = args.message_timeout  # pylint: disable=protected-access
  config = cluster.from_flags(args.master, args.task, args.worker_replicas,
                              args.num_ps_tasks, args.job_name,
                              args.ps_hosts, args.worker_hosts)
  if args.serve_only:  # what a --master names: a server started elsewhere
    tf.distribute.Server(config.cluster_spec, job_name=config.job_name,
                         task_index=config.task).join()
  server = cluster.start_server(config)
  if config.job_name == 'ps':
    try:
      cluster.run_ps(config, server, args.startup_timeout,
                     args.silence_timeout)
    except TimeoutError as error:
      print('error: %s' % error, file=sys.stderr, flush=True)
      return 1
    return 0
  try:
    _train(config, server, args)
  finally:
    cluster.signal_done(config, server)
  return 0


if __name__ == '__main__':
  sys.exit(main())
