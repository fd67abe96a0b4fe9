"""The ps/worker cluster behind `slimnets train`, on TensorFlow's own runtime.

research/slim trains on several machines by between-graph replication: every
worker process builds the whole training graph, `model_deploy` puts the
variables on the parameter-server (ps) tasks, and each worker runs its
session against its own `tf.distribute.Server` (gRPC), which reaches the ps
tasks' servers. This module describes the cluster, starts this process's
server and makes every process of a run end by itself; the graph and the
training loop are `slimnets.train`'s (with `model_deploy`).

The cluster comes from one of three sources (see `from_flags`):

  TF_CONFIG      the environment variable of TensorFlow's cluster managers:
                 {"cluster": {"ps": ["h:p", ...], "worker": ["h:p", ...]},
                  "task": {"type": "worker", "index": 0}}
                 A "chief" (or "master") job of one task is folded in as
                 worker 0, the workers following it.
  host flags     --job_name (ps or worker), --task, --ps_hosts and
                 --worker_hosts (comma-separated host:port lists), as
                 TensorFlow's distributed examples spell them.
  --master       upstream slim's way: the gRPC address of a server started
                 by other means; --task, --worker_replicas and
                 --num_ps_tasks describe the cluster. This process starts no
                 server.

How the processes end. A tf.distribute.Server cannot be stopped, so a ps
traditionally runs `server.join()` until it is killed. Here each ps hosts a
small FIFOQueue (shared by name, like the variables) that the workers send
messages to: a heartbeat every few seconds from a thread started with the
worker's server, then "done" or "stopped" from `signal_done` (train calls
it in a finally; also sent at exit if it was not): "done" when
`worker_done_hook`'s `end` ran, i.e. training finished without an error,
"stopped" otherwise. It is sent after the training session is closed, not
from the hook: a ps that left while the session closed would keep the close
waiting forever for the steps in flight on it (the --sync_replicas chief's
queue runner). `run_ps` reads the queue and returns when every worker is
done or stopped. It also returns, raising TimeoutError, when the workers it
still waits for have all been silent too long: STARTUP_TIMEOUT_SECS (30
min) for a worker never heard from since the ps started (it crashed before
connecting, or was never launched), SILENCE_TIMEOUT_SECS (5 min) after its
last heartbeat (killed outright: SIGKILL, OOM, a lost machine).

How a worker avoids hanging on its peers. Its server knows only the ps tasks
and itself (a sparse ClusterSpec: the effect of TF's recommended
`device_filters=['/job:ps', '/job:worker/task:<i>']`, which `session_config`
also sets), so creating its session never waits for another worker, and a
chief that died leaves the others training. `session_config` adds an
operation timeout (10 min) to every run: a step that waits for what will
never come (a --sync_replicas worker whose chief died waits for a token)
fails instead of hanging. The heartbeat thread doubles as a watchdog: when
a ps stays unreachable for the timeouts above, the worker prints one line
and exits with status 1, since TensorFlow's session creation would wait for
that ps forever (the master's device discovery has no deadline, and
MonitoredSession recreates its session when a ps is lost). A non-chief
worker that starts before its chief has initialized the variables waits for
them in `worker_done_hook`'s `begin`, checking twice a second
(MonitoredSession alone would check every 30 s).

Typical use (as slimnets.train does):

   config = cluster.from_flags(FLAGS.master, FLAGS.task,
                               FLAGS.worker_replicas, FLAGS.num_ps_tasks,
                               FLAGS.job_name, FLAGS.ps_hosts,
                               FLAGS.worker_hosts)
   if config is None:
     ...  # one process: nothing distributed
   server = cluster.start_server(config)
   if config.job_name == 'ps':
     cluster.run_ps(config, server)  # returns when the workers are done
     return
   try:
     ...  # build the graph with model_deploy.DeploymentConfig(
          #     num_replicas=config.num_workers, replica_id=config.task,
          #     num_ps_tasks=config.num_ps_tasks)
     print(cluster.placement_line(tf.compat.v1.global_variables()))
     hooks = [..., cluster.worker_done_hook(config, sync_optimizer)]  # last
     with tf.compat.v1.train.MonitoredTrainingSession(
         master=server.target, is_chief=config.is_chief, hooks=hooks,
         config=cluster.session_config(config), ...) as session:
       ...
   finally:
     cluster.signal_done(config, server)
"""

import atexit
import collections
import json
import os
import socket
import sys
import threading
import time

# Messages a worker sends to the ps queues: (worker task, kind).
_HEARTBEAT = 0
_DONE = 1
_STOPPED = 2

HEARTBEAT_SECS = 10
STARTUP_TIMEOUT_SECS = 30 * 60
SILENCE_TIMEOUT_SECS = 5 * 60
OPERATION_TIMEOUT_SECS = 10 * 60
# A message is a tiny RPC; longer than this and the ps counts as unreachable.
_MESSAGE_TIMEOUT_SECS = 10
# How often run_ps wakes up to look at the clock.
_POLL_SECS = 1.0
# Room for the heartbeats of many workers between two reads of the ps.
_QUEUE_CAPACITY = 4096
_JOBS = ('ps', 'worker')


class ClusterConfig(
    collections.namedtuple('ClusterConfig', [
        'job_name', 'task', 'num_workers', 'num_ps_tasks', 'is_chief',
        'cluster_spec', 'master'
    ])):
  """This process's place in a ps/worker cluster.

  Attributes:
    job_name: 'ps' or 'worker'.
    task: this task's index in its job.
    num_workers: number of worker tasks (`--worker_replicas`).
    num_ps_tasks: number of ps tasks.
    is_chief: whether this is worker 0, which initializes the variables and
      writes checkpoints and summaries.
    cluster_spec: the whole cluster as a tf.train.ClusterSpec (jobs 'ps' and
      'worker'), or None when it comes from --master alone.
    master: '' when this process starts its own server (TF_CONFIG or the
      host flags); with --master, the gRPC address of the server to use.
  """
  __slots__ = ()


# --- describing the cluster ---------------------------------------------------


def _split_address(address, what):
  """('host', port) of 'host:port' or '[v6]:port'; ValueError names `what`."""
  host, sep, port = address.rpartition(':')
  if host.startswith('[') and host.endswith(']'):
    host = host[1:-1]
  if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise ValueError('%s: %r is not host:port' % (what, address))
  return host, int(port)


def _host_list(value, what):
  """A list of 'host:port' from a comma-separated string or a list."""
  if value is None:
    return []
  if isinstance(value, str):
    value = value.split(',')
  hosts = [str(item).strip() for item in value if str(item).strip()]
  for host in hosts:
    _split_address(host, what)
  return hosts


def _from_tf_config(text):
  """(job, task, ps hosts, worker hosts) from TF_CONFIG's JSON text."""
  try:
    parsed = json.loads(text)
  except ValueError as error:
    raise ValueError('TF_CONFIG is not valid JSON: %s' % error) from None
  if not isinstance(parsed, dict):
    raise ValueError('TF_CONFIG must be a JSON object with "cluster" and '
                     '"task", got %s' % type(parsed).__name__)
  spec = parsed.get('cluster')
  task = parsed.get('task')
  if not isinstance(spec, dict) or not spec:
    raise ValueError('TF_CONFIG has no "cluster" object (e.g. {"ps": '
                     '["host:port"], "worker": ["host:port", ...]})')
  if not isinstance(task, dict) or 'type' not in task:
    raise ValueError('TF_CONFIG has no "task" object (e.g. {"type": '
                     '"worker", "index": 0})')
  jobs = {}
  for job, hosts in spec.items():
    if job not in ('ps', 'worker', 'chief', 'master'):
      raise ValueError(
          'TF_CONFIG cluster has the job %r: slimnets train runs "ps", '
          '"worker" and one "chief" (`slimnets eval` evaluates)' % job)
    if not isinstance(hosts, list):
      raise ValueError('TF_CONFIG cluster job %r must be a list of '
                       '"host:port", got %s' % (job, json.dumps(hosts)))
    jobs[job] = _host_list(hosts, 'TF_CONFIG cluster job %r' % job)
  if 'chief' in jobs and 'master' in jobs:
    raise ValueError('TF_CONFIG cluster has both a "chief" and a "master" '
                     'job: give one')
  chief_job = 'chief' if 'chief' in jobs else 'master'
  chief = jobs.get(chief_job, [])
  if len(chief) > 1:
    raise ValueError('TF_CONFIG cluster job %r has %d tasks: one chief at '
                     'most' % (chief_job, len(chief)))
  job = task.get('type')
  index = task.get('index', 0)
  if not isinstance(index, int) or isinstance(index, bool) or index < 0:
    raise ValueError('TF_CONFIG task index must be an integer 0 or more, '
                     'got %s' % json.dumps(index))
  if job not in jobs:
    hint = (' (`slimnets eval` evaluates)' if job == 'evaluator' else '')
    raise ValueError('TF_CONFIG task type %s is not a job of its cluster '
                     '(%s)%s' % (json.dumps(job), ', '.join(sorted(jobs)),
                                 hint))
  if index >= len(jobs[job]):
    raise ValueError('TF_CONFIG task index %d is out of range: the cluster '
                     'has %d %r task(s)' % (index, len(jobs[job]), job))
  workers = chief + jobs.get('worker', [])
  if job in ('chief', 'master'):
    job = 'worker'
  elif job == 'worker':
    index += len(chief)
  return job, index, jobs.get('ps', []), workers


def _check_counts(num_ps_tasks, worker_replicas, ps_hosts, worker_hosts,
                  source):
  """--num_ps_tasks / --worker_replicas left at 0 / 1, or equal to the lists."""
  if num_ps_tasks and num_ps_tasks != len(ps_hosts):
    raise ValueError('--num_ps_tasks=%d but %s lists %d ps host(s)' %
                     (num_ps_tasks, source, len(ps_hosts)))
  if worker_replicas != 1 and worker_replicas != len(worker_hosts):
    raise ValueError('--worker_replicas=%d but %s lists %d worker host(s)' %
                     (worker_replicas, source, len(worker_hosts)))


def from_flags(master='', task=0, worker_replicas=1, num_ps_tasks=0,
               job_name=None, ps_hosts=None, worker_hosts=None, environ=None):
  """The cluster of this process from train's flags and TF_CONFIG.

  Args:
    master: --master: '' or the gRPC address ('grpc://host:port') of a
      server started by other means (upstream slim's way).
    task: --task: this task's index in its job.
    worker_replicas: --worker_replicas: number of worker tasks (1: taken
      from the host list or TF_CONFIG).
    num_ps_tasks: --num_ps_tasks: number of ps tasks (0: taken from the host
      list or TF_CONFIG).
    job_name: --job_name: 'ps' or 'worker' (None: 'worker') with the host
      lists.
    ps_hosts: --ps_hosts: comma-separated 'host:port' of the ps tasks (or a
      list), or None.
    worker_hosts: --worker_hosts: the same for the worker tasks.
    environ: the environment to read TF_CONFIG from (default os.environ).

  Returns:
    A ClusterConfig, or None for one process with nothing distributed (no
    TF_CONFIG or host lists, --worker_replicas 1 and --num_ps_tasks 0; a
    --master then is just the session's target, and worth `check_master`).
    A TF_CONFIG or host lists of one worker and no ps also give None.

  Raises:
    ValueError: inconsistent input, in one line naming the flag or TF_CONFIG.
  """
  environ = os.environ if environ is None else environ
  master = (master or '').strip()
  if task is None:
    task = 0
  if task < 0:
    raise ValueError('--task=%d: must be 0 or more' % task)
  if worker_replicas < 1:
    raise ValueError('--worker_replicas=%d: must be 1 or more' %
                     worker_replicas)
  if num_ps_tasks < 0:
    raise ValueError('--num_ps_tasks=%d: must be 0 or more' % num_ps_tasks)
  if job_name is not None and job_name not in _JOBS:
    raise ValueError('--job_name=%s: must be ps or worker' % job_name)
  ps_list = _host_list(ps_hosts, '--ps_hosts')
  worker_list = _host_list(worker_hosts, '--worker_hosts')
  tf_config = environ.get('TF_CONFIG', '').strip()

  if tf_config:
    given = [flag for flag, value in (('--master', master),
                                      ('--job_name', job_name),
                                      ('--ps_hosts', ps_list),
                                      ('--worker_hosts', worker_list))
             if value]
    if given:
      raise ValueError('TF_CONFIG and %s both describe the cluster: give '
                       'one of them' % '/'.join(given))
    job, index, ps_list, worker_list = _from_tf_config(tf_config)
    if task and task != index:
      raise ValueError('--task=%d but TF_CONFIG says task %d' % (task, index))
    _check_counts(num_ps_tasks, worker_replicas, ps_list, worker_list,
                  'TF_CONFIG')
    source = 'TF_CONFIG'
  elif ps_list or worker_list:
    if master:
      raise ValueError('--master and --ps_hosts/--worker_hosts both describe '
                       'the cluster: give one of them')
    job = job_name or 'worker'
    if not worker_list:
      raise ValueError('--worker_hosts is required with --ps_hosts')
    hosts = ps_list if job == 'ps' else worker_list
    if task >= len(hosts):
      raise ValueError('--task=%d is out of range: --%s_hosts lists %d '
                       'host(s)' % (task, job, len(hosts)))
    _check_counts(num_ps_tasks, worker_replicas, ps_list, worker_list,
                  '--ps_hosts/--worker_hosts')
    index = task
    source = '--ps_hosts/--worker_hosts'
  else:
    if job_name == 'ps':
      raise ValueError('--job_name=ps needs the cluster: --ps_hosts and '
                       '--worker_hosts, or TF_CONFIG')
    if worker_replicas == 1 and num_ps_tasks == 0:
      return None
    if not master:
      raise ValueError(
          '--worker_replicas=%d --num_ps_tasks=%d need the cluster: '
          '--ps_hosts and --worker_hosts, TF_CONFIG, or --master=grpc://'
          'host:port of a running server' % (worker_replicas, num_ps_tasks))
    _grpc_address(master)
    if task >= worker_replicas:
      raise ValueError('--task=%d is out of range: --worker_replicas=%d' %
                       (task, worker_replicas))
    if num_ps_tasks < 1:
      raise ValueError('--worker_replicas=%d needs ps tasks to share the '
                       'variables: --num_ps_tasks=0' % worker_replicas)
    return ClusterConfig(job_name='worker', task=task,
                         num_workers=worker_replicas,
                         num_ps_tasks=num_ps_tasks, is_chief=task == 0,
                         cluster_spec=None, master=master)

  if not ps_list:
    if len(worker_list) == 1:
      return None  # one worker and no ps: nothing distributed
    raise ValueError('%s has %d workers and no ps: the workers share the '
                     'variables through ps tasks' % (source, len(worker_list)))
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return ClusterConfig(
      job_name=job, task=index, num_workers=len(worker_list),
      num_ps_tasks=len(ps_list), is_chief=(job == 'worker' and index == 0),
      cluster_spec=tf.train.ClusterSpec({'ps': ps_list,
                                         'worker': worker_list}),
      master='')


def _grpc_address(master):
  """(host, port) of 'grpc://host:port'; ValueError naming the master."""
  if not master.startswith('grpc://'):
    raise ValueError('master %s is not grpc://host:port' % master)
  return _split_address(master[len('grpc://'):], 'master %s' % master)


def check_master(master, timeout_seconds=10):
  """Checks that something listens at the gRPC master `master`.

  A TCP connection with a timeout: TensorFlow itself would wait for an
  absent master forever.

  Args:
    master: 'grpc://host:port' (or '' for in-process, nothing to check).
    timeout_seconds: how long to try to connect.

  Raises:
    ValueError: "master grpc://h:p is unreachable: <reason>" (one line), or
      the master is not grpc://host:port.
  """
  if not master:
    return
  address = _grpc_address(master)
  try:
    socket.create_connection(address, timeout=timeout_seconds).close()
  except OSError as error:
    reason = error.strerror or str(error) or type(error).__name__
    if isinstance(error, socket.timeout):
      reason = 'no answer within %g s' % timeout_seconds
    raise ValueError('master %s is unreachable: %s' %
                     (master, ' '.join(reason.split()))) from None


# --- servers ------------------------------------------------------------------


class _ExistingServer:
  """Stands for the server --master names (started by other means)."""

  def __init__(self, target):
    self.target = target

  def join(self):
    raise ValueError('the server at %s is not this process\'s' % self.target)


def _server_spec(config):
  """The ClusterSpec this task's server is started with.

  A ps knows everyone (it fetches gradients from the workers). A worker
  knows the ps tasks and itself only, so its master never waits for, or
  talks to, another worker.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  jobs = config.cluster_spec.as_dict()
  if config.job_name == 'worker':
    jobs['worker'] = {config.task: jobs['worker'][config.task]}
  return tf.train.ClusterSpec(jobs)


def _task_address(config):
  return config.cluster_spec.task_address(config.job_name, config.task)


def start_server(config):
  """Starts this task's gRPC server; its `.target` is the session master.

  For a worker it also starts the heartbeat thread (see the module
  docstring). With --master (`config.master`) nothing is started: the
  master is checked to answer and stands in for the server.

  Args:
    config: a ClusterConfig.

  Returns:
    A tf.distribute.Server (with --master, an object with the same `target`).

  Raises:
    ValueError: the server cannot start (port in use, an address not of this
      machine) or the --master is unreachable (one line).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if config.cluster_spec is None:
    check_master(config.master)
    server = _ExistingServer(config.master)
  else:
    address = _task_address(config)
    try:
      server = tf.distribute.Server(_server_spec(config),
                                    job_name=config.job_name,
                                    task_index=config.task, protocol='grpc',
                                    start=True)
    except tf.errors.OpError as error:
      if config.job_name == 'worker':
        # This worker will not come: the ps tasks need not wait for it.
        _messenger(config).finish()
      raise ValueError(
          'cannot start the %s %d server at %s (port in use, or not an '
          'address of this machine?): %s' %
          (config.job_name, config.task, address,
           ' '.join(error.message.split()))) from None
  if config.job_name == 'worker':
    messenger = _messenger(config)
    messenger.target = server.target
    messenger.start_heartbeats()
  return server


def session_config(config, base=None,
                   operation_timeout_secs=OPERATION_TIMEOUT_SECS):
  """A worker's session ConfigProto: device filters and an operation timeout.

  Args:
    config: a ClusterConfig of a worker.
    base: a tf.compat.v1.ConfigProto to start from (copied), or None.
    operation_timeout_secs: the longest a session run may block (a step, a
      checkpoint save or restore); None or 0 for no limit.

  Returns:
    A tf.compat.v1.ConfigProto whose device filters let this worker see the
    ps tasks and itself only.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  proto = tf.compat.v1.ConfigProto()
  if base is not None:
    proto.CopyFrom(base)
  del proto.device_filters[:]
  proto.device_filters.extend(['/job:ps', '/job:worker/task:%d' % config.task])
  if operation_timeout_secs:
    proto.operation_timeout_in_ms = int(operation_timeout_secs * 1000)
  return proto


def placement_line(variables):
  """'variables on /job:ps/task:0 (12), /job:ps/task:1 (11)': where they live.

  Args:
    variables: tf.Variables (e.g. tf.compat.v1.global_variables()).

  Returns:
    One line counting the variables per job and task of their devices
    (devices without a job count as 'this process').
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  counts = collections.Counter()
  for variable in variables:
    spec = tf.DeviceSpec.from_string(variable.device or '')
    # ('~',) sorts after the jobs.
    counts[('~', 0) if spec.job is None else (spec.job, spec.task or 0)] += 1
  return 'variables on %s' % (', '.join(
      '%s (%d)' % ('this process' if job == '~' else '/job:%s/task:%d' %
                   (job, task), count)
      for (job, task), count in sorted(counts.items()))
                              or 'nothing (no variables)')


# --- the ps queues ------------------------------------------------------------


def _log(message):
  print(message, file=sys.stderr, flush=True)


def _one_line(error):
  text = getattr(error, 'message', None) or str(error)
  return ' '.join(text.split()) or type(error).__name__


def _queue(ps_task):
  """The message queue of ps `ps_task`, in the default graph.

  Every process builds it with the same shared name, capacity and types,
  on the ps device, so they all reach one queue resource there.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  with tf.device('/job:ps/task:%d' % ps_task):
    return tf.queue.FIFOQueue(
        _QUEUE_CAPACITY, [tf.int32, tf.int32], shapes=[[], []],
        shared_name='slimnets_cluster_messages_ps%d' % ps_task,
        name='slimnets_cluster_messages_ps%d' % ps_task)


def _plain_config(device_filters, timeout_secs):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  proto = tf.compat.v1.ConfigProto(device_filters=device_filters)
  if timeout_secs:
    proto.operation_timeout_in_ms = int(timeout_secs * 1000)
  # Nothing to optimize in a one-op graph.
  proto.graph_options.rewrite_options.disable_meta_optimizer = True
  return proto


def run_ps(config, server, startup_timeout_secs=None,
           silence_timeout_secs=None):
  """Serves the variables until every worker is done, then returns.

  Reads this ps's message queue (see the module docstring) and logs one line
  on stderr as each worker connects and finishes.

  Args:
    config: a ClusterConfig of a ps task.
    server: its server (`start_server(config)`).
    startup_timeout_secs: how long to wait for a worker never heard from
      (counted from the call); default STARTUP_TIMEOUT_SECS.
    silence_timeout_secs: how long a worker may go without a heartbeat;
      default SILENCE_TIMEOUT_SECS.

  Raises:
    TimeoutError: the workers not yet done have all been silent too long
      (one line naming them).
    ValueError: `config` is not a ps's.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if config.job_name != 'ps':
    raise ValueError('run_ps needs a ps task, got %s %d' %
                     (config.job_name, config.task))
  if startup_timeout_secs is None:
    startup_timeout_secs = STARTUP_TIMEOUT_SECS
  if silence_timeout_secs is None:
    silence_timeout_secs = SILENCE_TIMEOUT_SECS
  graph = tf.Graph()
  with graph.as_default():
    dequeue = _queue(config.task).dequeue()
  name = 'ps %d' % config.task
  session = tf.compat.v1.Session(
      server.target, graph=graph,
      config=_plain_config(['/job:ps/task:%d' % config.task], None))
  poll = tf.compat.v1.RunOptions(timeout_in_ms=int(_POLL_SECS * 1000))
  started = time.monotonic()
  last_heard = {}
  finished = {}
  try:
    while len(finished) < config.num_workers:
      now = time.monotonic()
      waiting = [w for w in range(config.num_workers) if w not in finished]
      silent = [
          w for w in waiting
          if (w in last_heard and now - last_heard[w] > silence_timeout_secs)
          or (w not in last_heard and now - started > startup_timeout_secs)
      ]
      if silent == waiting:
        never = [w for w in silent if w not in last_heard]
        raise TimeoutError(
            '%s: gave up on worker(s) %s: %s' %
            (name, ', '.join(map(str, silent)), '; '.join(
                part for part in (
                    'never heard from in %g s' % startup_timeout_secs
                    if never else '',
                    'silent for %g s' % silence_timeout_secs
                    if len(never) < len(silent) else '') if part)))
      try:
        worker, kind = session.run(dequeue, options=poll)
      except tf.errors.DeadlineExceededError:
        continue
      worker, kind = int(worker), int(kind)
      if not 0 <= worker < config.num_workers:
        _log('%s: ignored a message from worker %d: the cluster has %d' %
             (name, worker, config.num_workers))
        continue
      if worker not in last_heard:
        _log('%s: worker %d connected' % (name, worker))
      last_heard[worker] = time.monotonic()
      if kind in (_DONE, _STOPPED) and worker not in finished:
        finished[worker] = kind
        _log('%s: worker %d %s (%d of %d)' %
             (name, worker, 'done' if kind == _DONE else
              'stopped before the end of training', len(finished),
              config.num_workers))
  finally:
    session.close()
  _log('%s: every worker has finished; stopping' % name)


# --- the workers' side --------------------------------------------------------


class _Messenger:
  """Sends a worker's messages to the ps queues, and its heartbeats.

  One session per ps, straight to that ps's server (its master), so a ps
  that is gone only delays the messages to itself by the timeout. With
  --master there are no ps addresses: one session on that master.
  """

  def __init__(self, config, target=None):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    self._tf = tf
    self._config = config
    self.target = target  # this worker's session master, when known
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._kind = tf.compat.v1.placeholder(tf.int32, [])
      worker = tf.constant(config.task, tf.int32)
      self._enqueues = [
          _queue(k).enqueue((worker, self._kind))
          for k in range(config.num_ps_tasks)
      ]
    if config.cluster_spec is not None:
      self._targets = [
          ('grpc://' + config.cluster_spec.task_address('ps', k),
           ['/job:ps/task:%d' % k]) for k in range(config.num_ps_tasks)
      ]
    else:
      self._targets = [(target or config.master,
                        ['/job:ps', '/job:worker/task:%d' % config.task])
                      ] * config.num_ps_tasks
    self._sessions = [None] * config.num_ps_tasks
    self._lock = threading.Lock()
    self._finished = False
    self.completed = False  # set by worker_done_hook's end
    self._stop = threading.Event()
    self._thread = None
    self._last_reached = [None] * config.num_ps_tasks
    self._started = time.monotonic()

  def _send_to(self, k, kind):
    """Sends `kind` to ps `k`; returns None or the error."""
    tf = self._tf
    if self._sessions[k] is None:
      target, filters = self._targets[k]
      self._sessions[k] = tf.compat.v1.Session(
          target, graph=self._graph,
          config=_plain_config(filters, _MESSAGE_TIMEOUT_SECS))
    try:
      self._sessions[k].run(
          self._enqueues[k], feed_dict={self._kind: kind},
          options=tf.compat.v1.RunOptions(
              timeout_in_ms=int(_MESSAGE_TIMEOUT_SECS * 1000)))
    except tf.errors.OpError as error:
      # A fresh session next time: this one may belong to a ps that restarted.
      try:
        self._sessions[k].close()
      except tf.errors.OpError:
        pass
      self._sessions[k] = None
      return error
    self._last_reached[k] = time.monotonic()
    return None

  def send(self, kind):
    """Sends `kind` to every ps; returns {ps task: error} for the failures."""
    with self._lock:
      return {
          k: error for k, error in (
              (k, self._send_to(k, kind))
              for k in range(self._config.num_ps_tasks)) if error is not None
      }

  def finish(self):
    """Sends DONE (or STOPPED if not `completed`) once; stops the beats."""
    self._stop.set()
    with self._lock:
      if self._finished:
        return
      self._finished = True
    kind = _DONE if self.completed else _STOPPED
    failures = self.send(kind)
    for k, error in sorted(failures.items()):
      _log('worker %d: could not tell ps %d it has %s: %s' %
           (self._config.task, k, 'finished' if kind == _DONE else 'stopped',
            _one_line(error)))

  def start_heartbeats(self):
    if self._thread is None:
      # The last word if signal_done is never called.
      atexit.register(self.finish)
      self._thread = threading.Thread(target=self._beat, daemon=True,
                                      name='slimnets-cluster-heartbeat')
      self._thread.start()

  def _beat(self):
    while not self._stop.is_set():
      self.send(_HEARTBEAT)
      self._watch()
      self._stop.wait(HEARTBEAT_SECS)

  def _watch(self):
    """Ends the process when a ps has been unreachable too long.

    The main thread may be blocked in TensorFlow's session creation, which
    waits for a lost ps forever and cannot be interrupted: only an exit
    ends it.
    """
    now = time.monotonic()
    for k, reached in enumerate(self._last_reached):
      if reached is None:
        limit, since = STARTUP_TIMEOUT_SECS, self._started
        what = 'never reached in'
      else:
        limit, since = SILENCE_TIMEOUT_SECS, reached
        what = 'unreachable for'
      if now - since > limit and not self._stop.is_set():
        address = (self._config.cluster_spec.task_address('ps', k)
                   if self._config.cluster_spec is not None else
                   self._config.master)
        _log('worker %d: error: ps %d at %s %s %g s; exiting' %
             (self._config.task, k, address, what, limit))
        os._exit(1)  # pylint: disable=protected-access


_MESSENGERS = {}
_MESSENGERS_LOCK = threading.Lock()


def _messenger(config, server=None):
  """This process's messenger for `config` (one per worker task)."""
  key = (config.job_name, config.task, config.num_ps_tasks, config.master,
         None if config.cluster_spec is None else
         json.dumps(config.cluster_spec.as_dict(), sort_keys=True))
  with _MESSENGERS_LOCK:
    if key not in _MESSENGERS:
      _MESSENGERS[key] = _Messenger(
          config, getattr(server, 'target', None) if server else None)
    return _MESSENGERS[key]


def worker_done_hook(config, sync_optimizer=None):
  """A SessionRunHook that marks this worker done when training ends well.

  Its `end` records that training finished without an error, so that
  `signal_done` (after the session is closed) tells the ps tasks "done"
  rather than "stopped". On a non-chief worker its `begin` waits until the
  chief has initialized the variables (see the module docstring). Put it
  last in the hooks, so its `end` follows the others'.

  Args:
    config: a ClusterConfig of a worker.
    sync_optimizer: with --sync_replicas, the chief's
      tf.compat.v1.train.SyncReplicasOptimizer: at the end the chief then
      puts tokens in its token queue, so that the other workers, who may be
      waiting for one when the chief stops its queue runner, take their last
      step and see the global step at its end.

  Returns:
    A tf.compat.v1.train.SessionRunHook.
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  class WorkerDoneHook(tf.compat.v1.train.SessionRunHook):
    """Marks the worker done when training ends without an error."""

    def __init__(self):
      self._wake = None

    def begin(self):
      if sync_optimizer is not None and config.is_chief:
        # Two tokens per worker: a worker may fetch a stale global step in
        # its last run and take one more step before it stops.
        self._wake = sync_optimizer.get_init_tokens_op(
            num_tokens=2 * config.num_workers)
        # At the end the chief's queue runner waits for gradients that no
        # longer come, until closing the session cancels its step; let it
        # end quietly then, as on its queue's closing, instead of printing
        # a CancelledError traceback from its thread.
        runner = sync_optimizer.get_chief_queue_runner()
        closed = getattr(runner, '_queue_closed_exception_types', None)
        if isinstance(closed, tuple) and tf.errors.CancelledError not in closed:
          runner._queue_closed_exception_types = closed + (  # pylint: disable=protected-access
              tf.errors.CancelledError,)
      if not config.is_chief:
        _wait_for_chief(config, tf.compat.v1.report_uninitialized_variables(
            tf.compat.v1.global_variables()))

    def end(self, session):
      if self._wake is not None:
        try:
          session.run(self._wake)
        except tf.errors.OpError as error:
          _log('worker %d: could not release the other workers\' sync '
               'tokens: %s' % (config.task, _one_line(error)))
      # Said by signal_done (or at exit), once the session is closed: a ps
      # that stopped now would leave the closing session waiting for steps
      # in flight on it (the sync chief's queue runner).
      _messenger(config).completed = True

  return WorkerDoneHook()


def _wait_for_chief(config, not_ready, timeout_secs=None):
  """Waits until the chief has initialized the variables (polls every 0.5 s).

  A worker's MonitoredSession checks that on its own, but sleeps 30 s after
  each check that fails (SessionManager's fixed recovery_wait_secs), so a
  worker starting with its chief would begin half a minute late.

  Args:
    config: a ClusterConfig of a worker.
    not_ready: a report_uninitialized_variables tensor of the graph.
    timeout_secs: how long to wait (default STARTUP_TIMEOUT_SECS).

  Raises:
    TimeoutError: the variables are still not initialized (one line).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  target = _messenger(config).target
  if target is None:
    return  # no server started here: leave it to MonitoredSession
  timeout_secs = STARTUP_TIMEOUT_SECS if timeout_secs is None else timeout_secs
  deadline = time.monotonic() + timeout_secs
  session = tf.compat.v1.Session(
      target, graph=not_ready.graph,
      config=session_config(config, operation_timeout_secs=None))
  said = False
  try:
    while True:
      try:
        if session.run(not_ready).size == 0:
          return
      except (tf.errors.UnavailableError, tf.errors.AbortedError,
              tf.errors.DeadlineExceededError):
        pass  # a ps not up yet: as not initialized
      if time.monotonic() > deadline:
        raise TimeoutError('worker %d: the chief has not initialized the '
                           'variables within %g s' %
                           (config.task, timeout_secs))
      if not said:
        _log('worker %d: waiting for the chief to initialize the variables' %
             config.task)
        said = True
      time.sleep(0.5)
  finally:
    session.close()


def signal_done(config, server=None):
  """Tells every ps this worker has finished: "done", or "stopped".

  Call it in a finally around the worker's training, after the training
  session is closed: "done" if `worker_done_hook`'s `end` ran, else
  "stopped" (an error), so the ps tasks need not wait for this worker
  either way. It also stops the heartbeats. Only the first call sends;
  errors reaching a ps are logged (one line each), not raised.

  Args:
    config: a ClusterConfig of a worker (None or a ps's: nothing to do).
    server: this worker's server (`start_server(config)`), or None.
  """
  if config is None or config.job_name != 'worker':
    return
  _messenger(config, server).finish()
