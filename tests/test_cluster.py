"""Tests of slimnets.deployment.cluster and of `slimnets train` on a cluster.

* from_flags / TF_CONFIG parsing and its one-line errors, check_master on a
  closed port, the session config, the placement line;
* tiny clusters of `tests/_cluster_driver.py` processes (1 ps + 2 workers
  on 127.0.0.1 ports): a counter on the ps advanced by both workers,
  asynchronously and with SyncReplicasOptimizer, every process ending by
  itself; a ps that no worker reaches, a worker that fails, a worker and a
  ps killed outright (the others end by themselves, within the timeouts);
* the loopback cluster of the issue: 1 ps + 2 `python -m slimnets train`
  processes training a tiny registered model on tiny TFRecords, async and
  --sync_replicas; both workers advance one global step (the chief's last
  checkpoint), the variables live on /job:ps/task:0, and every process ends
  by itself.

The time limits are bounds against hangs, not speed thresholds.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
_ROOT_DIR = os.path.dirname(_TESTS_DIR)
_DRIVER = os.path.join(_TESTS_DIR, '_cluster_driver.py')
# Each process imports TensorFlow (seconds) on 2 shared cores: generous.
_BOUND_SECS = 300

# pylint: disable=g-import-not-at-top


def _cluster():
  from slimnets.deployment import cluster
  return cluster


# --- from_flags ---------------------------------------------------------------

_PS = '127.0.0.1:2222'
_WORKERS = '127.0.0.1:2223,127.0.0.1:2224'


def _tf_config(cluster_dict, job, index):
  return {'TF_CONFIG': json.dumps({'cluster': cluster_dict,
                                   'task': {'type': job, 'index': index}})}


@pytest.mark.parametrize('kwargs, environ', [
    ({}, {}),
    ({'master': 'grpc://127.0.0.1:1'}, {}),
    ({'master': '', 'task': 0, 'worker_replicas': 1, 'num_ps_tasks': 0},
     {'TF_CONFIG': '  '}),
    ({}, _tf_config({'worker': ['h:1']}, 'worker', 0)),
    ({'ps_hosts': '', 'worker_hosts': 'h:1'}, {}),
])
def test_one_process_is_none(kwargs, environ):
  assert _cluster().from_flags(environ=environ, **kwargs) is None


def test_host_flags_worker():
  config = _cluster().from_flags('', 1, 1, 0, None, _PS, _WORKERS,
                                 environ={})
  assert (config.job_name, config.task, config.num_workers,
          config.num_ps_tasks, config.is_chief, config.master) == (
              'worker', 1, 2, 1, False, '')
  assert config.cluster_spec.as_dict() == {
      'ps': [_PS], 'worker': _WORKERS.split(',')}


def test_host_flags_ps_with_counts():
  config = _cluster().from_flags('', 0, 2, 1, 'ps', [_PS], _WORKERS,
                                 environ={})
  assert (config.job_name, config.task, config.is_chief) == ('ps', 0, False)


def test_tf_config_worker_and_ps():
  spec = {'ps': ['p:1', 'p:2'], 'worker': ['w:1', 'w:2', 'w:3']}
  config = _cluster().from_flags(environ=_tf_config(spec, 'worker', 2))
  assert (config.job_name, config.task, config.num_workers,
          config.num_ps_tasks, config.is_chief) == ('worker', 2, 3, 2, False)
  config = _cluster().from_flags(task=1, num_ps_tasks=2,
                                 environ=_tf_config(spec, 'ps', 1))
  assert (config.job_name, config.task) == ('ps', 1)


def test_tf_config_chief_is_worker_zero():
  spec = {'chief': ['c:1'], 'worker': ['w:1', 'w:2'], 'ps': ['p:1']}
  chief = _cluster().from_flags(environ=_tf_config(spec, 'chief', 0))
  worker = _cluster().from_flags(environ=_tf_config(spec, 'worker', 0))
  assert (chief.task, chief.is_chief, chief.num_workers) == (0, True, 3)
  assert (worker.task, worker.is_chief) == (1, False)
  assert worker.cluster_spec.job_tasks('worker') == ['c:1', 'w:1', 'w:2']


def test_master_names_an_existing_server():
  config = _cluster().from_flags('grpc://10.0.0.1:2222', 1, 2, 1,
                                 environ={})
  assert (config.job_name, config.task, config.num_workers,
          config.num_ps_tasks, config.is_chief, config.cluster_spec,
          config.master) == ('worker', 1, 2, 1, False, None,
                             'grpc://10.0.0.1:2222')


_SPEC = {'ps': ['p:1'], 'worker': ['w:1', 'w:2']}


@pytest.mark.parametrize('kwargs, environ, message', [
    ({'task': 2, 'ps_hosts': _PS, 'worker_hosts': _WORKERS}, {},
     '--task=2 is out of range: --worker_hosts lists 2 host'),
    ({'task': 1, 'job_name': 'ps', 'ps_hosts': _PS, 'worker_hosts': _WORKERS},
     {}, '--task=1 is out of range: --ps_hosts lists 1 host'),
    ({'num_ps_tasks': 2, 'ps_hosts': _PS, 'worker_hosts': _WORKERS}, {},
     '--num_ps_tasks=2 but --ps_hosts/--worker_hosts lists 1 ps host'),
    ({'worker_replicas': 3, 'ps_hosts': _PS, 'worker_hosts': _WORKERS}, {},
     '--worker_replicas=3 but --ps_hosts/--worker_hosts lists 2 worker'),
    ({'job_name': 'chief', 'ps_hosts': _PS, 'worker_hosts': _WORKERS}, {},
     '--job_name=chief: must be ps or worker'),
    ({'ps_hosts': 'localhost', 'worker_hosts': _WORKERS}, {},
     "--ps_hosts: 'localhost' is not host:port"),
    ({'ps_hosts': _PS}, {}, '--worker_hosts is required with --ps_hosts'),
    ({'worker_hosts': _WORKERS}, {},
     '--ps_hosts/--worker_hosts has 2 workers and no ps'),
    ({'master': 'grpc://h:1', 'ps_hosts': _PS, 'worker_hosts': _WORKERS}, {},
     '--master and --ps_hosts/--worker_hosts both'),
    ({'worker_replicas': 2, 'num_ps_tasks': 1}, {},
     '--worker_replicas=2 --num_ps_tasks=1 need the cluster'),
    ({'job_name': 'ps'}, {}, '--job_name=ps needs the cluster'),
    ({'master': 'h:2222', 'worker_replicas': 2, 'num_ps_tasks': 1}, {},
     'master h:2222 is not grpc://host:port'),
    ({'master': 'grpc://h:1', 'task': 2, 'worker_replicas': 2,
      'num_ps_tasks': 1}, {}, '--task=2 is out of range: --worker_replicas=2'),
    ({'master': 'grpc://h:1', 'worker_replicas': 2}, {},
     '--worker_replicas=2 needs ps tasks'),
    ({'task': -1}, {}, '--task=-1: must be 0 or more'),
    ({}, {'TF_CONFIG': '{"cluster": '}, 'TF_CONFIG is not valid JSON'),
    ({}, {'TF_CONFIG': '[1]'}, 'TF_CONFIG must be a JSON object'),
    ({}, {'TF_CONFIG': '{"task": {"type": "worker"}}'},
     'TF_CONFIG has no "cluster" object'),
    ({}, {'TF_CONFIG': json.dumps({'cluster': _SPEC})},
     'TF_CONFIG has no "task" object'),
    ({}, _tf_config(_SPEC, 'evaluator', 0),
     'TF_CONFIG task type "evaluator" is not a job of its cluster'),
    ({}, _tf_config(dict(_SPEC, evaluator=['e:1']), 'worker', 0),
     "TF_CONFIG cluster has the job 'evaluator'"),
    ({}, _tf_config(_SPEC, 'worker', 2),
     "TF_CONFIG task index 2 is out of range: the cluster has 2 'worker'"),
    ({}, _tf_config(_SPEC, 'worker', -1), 'TF_CONFIG task index must be'),
    ({}, _tf_config({'ps': 'p:1', 'worker': ['w:1']}, 'worker', 0),
     "TF_CONFIG cluster job 'ps' must be a list"),
    ({}, _tf_config(dict(_SPEC, chief=['c:1', 'c:2']), 'chief', 0),
     "TF_CONFIG cluster job 'chief' has 2 tasks"),
    ({'ps_hosts': _PS}, _tf_config(_SPEC, 'worker', 0),
     'TF_CONFIG and --ps_hosts both describe the cluster'),
    ({'task': 1}, _tf_config(_SPEC, 'worker', 0),
     '--task=1 but TF_CONFIG says task 0'),
    ({'num_ps_tasks': 3}, _tf_config(_SPEC, 'worker', 0),
     '--num_ps_tasks=3 but TF_CONFIG lists 1 ps host'),
    ({}, _tf_config({'worker': ['w:1', 'w:2']}, 'worker', 0),
     'TF_CONFIG has 2 workers and no ps'),
])
def test_bad_cluster_is_one_line(kwargs, environ, message):
  with pytest.raises(ValueError) as error:
    _cluster().from_flags(environ=environ, **kwargs)
  assert message in str(error.value)
  assert '\n' not in str(error.value)


# --- check_master, servers, session config ------------------------------------


def _free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  try:
    for sock in sockets:
      sock.bind(('127.0.0.1', 0))
    return [sock.getsockname()[1] for sock in sockets]
  finally:
    for sock in sockets:
      sock.close()


def test_check_master_closed_port():
  port, = _free_ports(1)
  master = 'grpc://127.0.0.1:%d' % port
  with pytest.raises(ValueError) as error:
    _cluster().check_master(master, timeout_seconds=2)
  message = str(error.value)
  assert message.startswith('master %s is unreachable: ' % master), message
  assert '\n' not in message


def test_check_master_listening_and_in_process():
  with socket.socket() as listener:
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    _cluster().check_master('grpc://127.0.0.1:%d' %
                            listener.getsockname()[1])
  _cluster().check_master('')  # in-process: nothing to check
  with pytest.raises(ValueError, match='master localhost:1 is not grpc://'):
    _cluster().check_master('localhost:1')


def test_start_server_port_in_use():
  cluster = _cluster()
  with socket.socket() as holder:
    holder.bind(('0.0.0.0', 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    config = cluster.from_flags('', 0, 1, 0, 'ps', '127.0.0.1:%d' % port,
                                '127.0.0.1:1,127.0.0.1:2', environ={})
    with pytest.raises(ValueError) as error:
      cluster.start_server(config)
  assert 'cannot start the ps 0 server at 127.0.0.1:%d' % port in str(
      error.value)
  assert '\n' not in str(error.value)


def test_worker_server_knows_the_ps_and_itself():
  cluster = _cluster()
  config = cluster.from_flags('', 1, 1, 0, None, 'p:1,p:2', 'w:1,w:2,w:3',
                              environ={})
  spec = cluster._server_spec(config)  # pylint: disable=protected-access
  assert spec.as_dict() == {'ps': ['p:1', 'p:2'], 'worker': {1: 'w:2'}}
  ps_config = cluster.from_flags('', 1, 1, 0, 'ps', 'p:1,p:2', 'w:1,w:2',
                                 environ={})
  assert cluster._server_spec(ps_config).as_dict() == {  # pylint: disable=protected-access
      'ps': ['p:1', 'p:2'], 'worker': ['w:1', 'w:2']}


def test_session_config():
  import tensorflow as tf
  cluster = _cluster()
  config = cluster.from_flags('', 1, 1, 0, None, _PS, _WORKERS, environ={})
  base = tf.compat.v1.ConfigProto(allow_soft_placement=True,
                                  device_filters=['/job:x'])
  proto = cluster.session_config(config, base=base, operation_timeout_secs=7)
  assert list(proto.device_filters) == ['/job:ps', '/job:worker/task:1']
  assert proto.allow_soft_placement
  assert proto.operation_timeout_in_ms == 7000
  assert list(base.device_filters) == ['/job:x']  # copied, not changed
  assert cluster.session_config(
      config, operation_timeout_secs=None).operation_timeout_in_ms == 0


def test_placement_line():
  import tensorflow as tf
  graph = tf.Graph()
  with graph.as_default():
    with tf.device('/job:ps/task:0'):
      tf.compat.v1.get_variable('a', [1], use_resource=True)
      tf.compat.v1.get_variable('b', [1], use_resource=True)
    with tf.device('/job:ps/task:1/device:CPU:0'):
      tf.compat.v1.get_variable('c', [1], use_resource=True)
    tf.compat.v1.get_variable('d', [1], use_resource=True)
    line = _cluster().placement_line(tf.compat.v1.global_variables())
  assert line == ('variables on /job:ps/task:0 (2), /job:ps/task:1 (1), '
                  'this process (1)')


# --- processes ----------------------------------------------------------------


def _environment(**extra):
  env = dict(os.environ)
  for name in ('TF_CONFIG', 'http_proxy', 'https_proxy', 'HTTP_PROXY',
               'HTTPS_PROXY', 'grpc_proxy', 'all_proxy', 'ALL_PROXY'):
    env.pop(name, None)  # gRPC would send 127.0.0.1 through a proxy
  env['TF_CPP_MIN_LOG_LEVEL'] = '3'
  env['PYTHONPATH'] = os.pathsep.join(
      [_ROOT_DIR] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep)
                     if p])
  env.update(extra)
  return env


class _Processes:
  """Started processes, their logs, and a kill of the survivors on exit."""

  def __init__(self, log_dir):
    self._log_dir = str(log_dir)
    self._procs = {}
    self._started = time.monotonic()

  def start(self, name, argv, env=None):
    out = open(os.path.join(self._log_dir, name + '.out'), 'w')
    err = open(os.path.join(self._log_dir, name + '.err'), 'w')
    self._procs[name] = (subprocess.Popen(argv, stdout=out, stderr=err,
                                          env=env or _environment(),
                                          cwd=self._log_dir), out, err)

  def log(self, name):
    """(stdout, stderr) of `name` so far."""
    texts = []
    for suffix in ('.out', '.err'):
      with open(os.path.join(self._log_dir, name + suffix)) as f:
        texts.append(f.read())
    return tuple(texts)

  def wait_for_line(self, name, pattern, timeout=_BOUND_SECS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
      if re.search(pattern, ''.join(self.log(name)), re.M):
        return
      if self._procs[name][0].poll() is not None:
        break
      time.sleep(0.2)
    raise AssertionError('%s never printed %r:\n%s' %
                         (name, pattern, '\n'.join(self.log(name))))

  def kill(self, name):
    self._procs[name][0].kill()
    self._procs[name][0].wait()

  def wait(self, bound=_BOUND_SECS):
    """{name: exit status}; fails if one is still running after `bound` s."""
    statuses = {}
    for name, (proc, _, _) in self._procs.items():
      remaining = bound - (time.monotonic() - self._started)
      try:
        statuses[name] = proc.wait(timeout=max(remaining, 1))
      except subprocess.TimeoutExpired:
        raise AssertionError('%s still runs after %d s:\n%s' % (
            name, bound, '\n'.join(self.log(name)))) from None
    return statuses

  def close(self):
    for proc, out, err in self._procs.values():
      if proc.poll() is None:
        proc.kill()
        proc.wait()
      out.close()
      err.close()

  def __enter__(self):
    return self

  def __exit__(self, *unused):
    self.close()


def _hosts(ports):
  return ('127.0.0.1:%d' % ports[0],
          ','.join('127.0.0.1:%d' % port for port in ports[1:]))


def _wait_for_port(address, timeout=_BOUND_SECS):
  host, port = address.rsplit(':', 1)
  deadline = time.monotonic() + timeout
  while True:
    try:
      socket.create_connection((host, int(port)), timeout=1).close()
      return
    except OSError:
      if time.monotonic() > deadline:
        raise
      time.sleep(0.2)


def _start_driver_cluster(procs, train_dir, common, per_task=None):
  """ps, worker0 and worker1 of the driver; returns the argv tail."""
  ps_hosts, worker_hosts = _hosts(_free_ports(3))
  per_task = per_task or {}
  flags = ['--ps_hosts=' + ps_hosts, '--worker_hosts=' + worker_hosts]
  flags += list(common)
  for name, job, task in (('ps', 'ps', 0), ('worker0', 'worker', 0),
                          ('worker1', 'worker', 1)):
    extra = ['--train_dir=%s' % train_dir] if name == 'worker0' else []
    procs.start(name, [sys.executable, _DRIVER, '--job_name=' + job,
                       '--task=%d' % task] + flags + extra +
                list(per_task.get(name, ())))


def _steps_run(text, task):
  match = re.search(r'^worker %d ran (\d+) steps$' % task, text, re.M)
  assert match, text
  return int(match.group(1))


def _checkpoint_values(train_dir):
  import tensorflow as tf
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(
      str(train_dir)))
  return int(reader.get_tensor('global_step')), int(
      reader.get_tensor('counter'))


@pytest.mark.parametrize('sync', [False, True], ids=['async', 'sync'])
def test_driver_cluster_shares_the_ps(tmp_path, sync):
  steps = 8 if sync else 20
  common = ['--steps=%d' % steps, '--sleep=%g' % (0.2 if sync else 0.05)]
  if sync:
    common.append('--sync')
  with _Processes(tmp_path) as procs:
    _start_driver_cluster(procs, tmp_path / 'train', common)
    statuses = procs.wait()
    logs = {name: '\n'.join(procs.log(name)) for name in statuses}
  assert statuses == {'ps': 0, 'worker0': 0, 'worker1': 0}, logs
  ran = [_steps_run(logs['worker%d' % task], task) for task in (0, 1)]
  assert min(ran) >= 1, logs  # both workers trained
  for task in (0, 1):
    assert 'variables on /job:ps/task:0 (3)' in logs['worker%d' % task]
  for task in (0, 1):
    assert 'ps 0: worker %d done' % task in logs['ps'], logs['ps']
  assert 'ps 0: every worker has finished; stopping' in logs['ps']
  # Each run of either worker adds one to the one counter on the ps: the
  # last value either saw is the sum of their runs.
  counts = [int(c) for c in re.findall(r'^worker \d step \d+ counter (\d+)$',
                                       logs['worker0'] + '\n' +
                                       logs['worker1'], re.M)]
  assert max(counts) == sum(ran), (counts, ran)
  # StopAtStepHook judges the global step from a read taken during the
  # step, which may predate the other worker's updates: each worker may
  # take one step too many, after the chief's last checkpoint or before.
  global_step, counter = _checkpoint_values(tmp_path / 'train')
  assert steps <= global_step <= steps + 2, global_step
  assert steps <= counter <= sum(ran), counter


def test_ps_gives_up_when_no_worker_comes(tmp_path):
  ps_hosts, worker_hosts = _hosts(_free_ports(3))
  with _Processes(tmp_path) as procs:
    procs.start('ps', [sys.executable, _DRIVER, '--job_name=ps', '--task=0',
                       '--ps_hosts=' + ps_hosts,
                       '--worker_hosts=' + worker_hosts,
                       '--startup_timeout=2'])
    statuses = procs.wait()
    out, err = procs.log('ps')
  assert statuses == {'ps': 1}, out + err
  assert ('error: ps 0: gave up on worker(s) 0, 1: never heard from in 2 s'
          in err), err


def test_failed_worker_is_not_waited_for(tmp_path):
  common = ['--steps=30', '--sleep=0.05']
  with _Processes(tmp_path) as procs:
    _start_driver_cluster(procs, tmp_path / 'train', common,
                          {'worker1': ['--fail_at_step=2']})
    statuses = procs.wait()
    logs = {name: '\n'.join(procs.log(name)) for name in statuses}
  assert statuses == {'ps': 0, 'worker0': 0, 'worker1': 1}, logs
  assert 'worker 1 fails on purpose' in logs['worker1']
  assert ('ps 0: worker 1 stopped before the end of training' in logs['ps'])
  assert 'ps 0: worker 0 done' in logs['ps']
  assert _checkpoint_values(tmp_path / 'train')[0] >= 30


def test_killed_worker_is_given_up(tmp_path):
  common = ['--steps=40', '--sleep=0.1', '--heartbeat=0.5',
            '--silence_timeout=4']
  with _Processes(tmp_path) as procs:
    _start_driver_cluster(procs, tmp_path / 'train', common)
    procs.wait_for_line('worker1', r'^worker 1 step \d+ ')
    procs.kill('worker1')
    statuses = procs.wait()
    logs = {name: '\n'.join(procs.log(name)) for name in statuses}
  assert statuses['ps'] == 1 and statuses['worker0'] == 0, logs
  assert 'ps 0: worker 0 done' in logs['ps']
  assert 'error: ps 0: gave up on worker(s) 1: silent for 4 s' in logs['ps']


def test_killed_ps_ends_the_workers(tmp_path):
  common = ['--steps=100000', '--sleep=0.1', '--heartbeat=0.5',
            '--silence_timeout=3', '--message_timeout=1']
  with _Processes(tmp_path) as procs:
    _start_driver_cluster(procs, tmp_path / 'train', common)
    for task in (0, 1):
      procs.wait_for_line('worker%d' % task, r'^worker %d step \d+ ' % task)
    procs.kill('ps')
    statuses = procs.wait()
    logs = {name: '\n'.join(procs.log(name)) for name in statuses}
  assert statuses['worker0'] == 1 and statuses['worker1'] == 1, logs
  for task in (0, 1):
    assert re.search(r'worker %d: error: ps 0 at 127\.0\.0\.1:\d+ unreachable '
                     r'for 3 s; exiting' % task, logs['worker%d' % task])


# --- the loopback cluster of `slimnets train` ---------------------------------

_SITECUSTOMIZE = '''\
"""Registers the tests' tiny model in every `python -m slimnets` process."""
import sys
sys.path.insert(0, %r)
import _training
_TINY = _training.tiny_model()  # kept: its exit would unregister the model
_TINY.__enter__()
'''

_DONE_LINE = re.compile(r'^Done: (\d+) steps \(global step -?\d+ to (\d+)\)',
                        re.M)
_PLACEMENT = re.compile(r'^worker (\d) of 2(?: \(chief\))?: variables on '
                        r'(.*)$', re.M)


@pytest.fixture(scope='module')
def loopback_setup(tmp_path_factory):
  """(dataset_dir, environment) for `python -m slimnets train` processes."""
  from _training import write_dataset
  root = tmp_path_factory.mktemp('loopback')
  write_dataset(root / 'data')
  site = root / 'site'
  site.mkdir()
  (site / 'sitecustomize.py').write_text(_SITECUSTOMIZE % _TESTS_DIR)
  return str(root / 'data'), _environment(PYTHONPATH=os.pathsep.join(
      [_ROOT_DIR, str(site)]))


@pytest.mark.parametrize('sync', [False, True], ids=['async', 'sync'])
def test_slimnets_train_loopback_cluster(tmp_path, loopback_setup, sync):
  from _training import TINY_MODEL, train_argv
  dataset_dir, env = loopback_setup
  max_steps = 30 if sync else 60
  ps_hosts, worker_hosts = _hosts(_free_ports(3))
  train_dir = tmp_path / 'train'
  argv = [sys.executable, '-m', 'slimnets'] + train_argv(
      dataset_dir, train_dir, '--model_name', TINY_MODEL,
      '--max_number_of_steps', str(max_steps), '--log_every_n_steps', '5')
  if sync:  # each update averages one gradient of each worker
    argv += ['--sync_replicas', '--replicas_to_aggregate', '2']
  cluster_spec = {'ps': ps_hosts.split(','),
                  'worker': worker_hosts.split(',')}
  with _Processes(tmp_path) as procs:
    for name, job, task in (('ps', 'ps', 0), ('worker0', 'worker', 0),
                            ('worker1', 'worker', 1)):
      if sync:  # the cluster from TF_CONFIG
        procs.start(name, argv, dict(env, **_tf_config(cluster_spec, job,
                                                       task)))
      else:  # from the host flags
        procs.start(name, argv + ['--job_name', job, '--task', str(task),
                                  '--ps_hosts', ps_hosts,
                                  '--worker_hosts', worker_hosts], env)
    statuses = procs.wait()
    outputs = {name: procs.log(name)[0] for name in statuses}
    logs = {name: '\n'.join(procs.log(name)) for name in statuses}
  assert statuses == {'ps': 0, 'worker0': 0, 'worker1': 0}, logs
  for task in (0, 1):
    assert 'ps 0: worker %d done' % task in logs['ps'], logs['ps']
  assert 'ps 0: every worker has finished; stopping' in logs['ps']
  ran, last_seen = [], []
  for task in (0, 1):
    out = outputs['worker%d' % task]
    placement = _PLACEMENT.search(out)
    assert placement and int(placement.group(1)) == task, out
    # Every variable, the global step among them, lives on the ps.
    assert re.fullmatch(r'/job:ps/task:0 \(\d+\)', placement.group(2)), out
    done = _DONE_LINE.search(out)
    assert done, out
    ran.append(int(done.group(1)))
    last_seen.append(int(done.group(2)))
    # Each worker saw the one global step reach the end.
    assert last_seen[-1] >= max_steps, out
  assert min(ran) >= 1, logs  # both workers trained
  import tensorflow as tf
  checkpoint = tf.train.latest_checkpoint(str(train_dir))
  global_step = int(tf.train.load_checkpoint(checkpoint).get_tensor(
      'global_step'))
  # StopAtStepHook judges the global step from a read taken during the
  # step, which may predate the other worker's updates: each worker may
  # take one step too many (the chief's last checkpoint may hold it or not).
  assert max_steps <= global_step <= max(last_seen) <= max_steps + 2, (
      global_step, last_seen, logs)
  if not sync:
    # Each step of either worker moved the one shared global step.
    assert sum(ran) == max(last_seen), (ran, last_seen)


def test_driver_with_master_of_a_running_server(tmp_path):
  """Upstream's --master: the worker's server is started by other means."""
  ps_hosts, worker_hosts = _hosts(_free_ports(2))
  hosts = ['--ps_hosts=' + ps_hosts, '--worker_hosts=' + worker_hosts]
  with _Processes(tmp_path) as procs:
    procs.start('ps', [sys.executable, _DRIVER, '--job_name=ps', '--task=0']
                + hosts)
    procs.start('server', [sys.executable, _DRIVER, '--job_name=worker',
                           '--task=0', '--serve_only'] + hosts)
    _wait_for_port(worker_hosts)
    procs.start('worker0', [sys.executable, _DRIVER,
                            '--master=grpc://' + worker_hosts, '--task=0',
                            '--worker_replicas=1', '--num_ps_tasks=1',
                            '--steps=5', '--train_dir=%s' % (tmp_path / 't')])
    procs.wait_for_line('ps', r'every worker has finished')
    procs.kill('server')  # a bare server never ends: its owner stops it
    statuses = procs.wait()
    logs = {name: '\n'.join(procs.log(name)) for name in statuses}
  assert statuses['ps'] == 0 and statuses['worker0'] == 0, logs
  assert 'variables on /job:ps/task:0 (3)' in logs['worker0']
  assert 'ps 0: worker 0 done (1 of 1)' in logs['ps']
  assert _checkpoint_values(tmp_path / 't') == (5, 5)
