"""`slimnets.output_files`: publishing never replaces, stale temps are cleaned.

Plain files and threads, no TensorFlow: the command-line behaviour built on
this module is tested in checkpoints_tools/test_ckpt_cli_faults.py.
"""

import errno
import os
import signal
import subprocess
import sys
import threading

import pytest

from slimnets import output_files


def _temp_with(directory, contents):
  """A TempDir in `directory` holding files {name: text}; returns it."""
  temp = output_files.TempDir(str(directory), 'test')
  for name, text in contents.items():
    with open(temp.file(name), 'w') as f:
      f.write(text)
  return temp


def _read(path):
  with open(path) as f:
    return f.read()


def test_publish_never_replaces_without_force(tmp_path):
  final = tmp_path / 'out.npz'
  final.write_text('first run')
  temp = _temp_with(tmp_path, {'out': 'second run'})
  with pytest.raises(FileExistsError, match='out.npz already exists.*--force'):
    temp.publish([(temp.file('out'), str(final))], force=False)
  assert _read(final) == 'first run'
  assert temp.publish([(temp.file('out'), str(final))], force=True) == [
      str(final)]
  assert _read(final) == 'second run'
  temp.remove()
  assert os.listdir(tmp_path) == ['out.npz']


def test_publish_withdraws_a_multi_file_output_when_a_name_is_taken(tmp_path):
  # As a checkpoint: data files first, the index last; another run owns the
  # index, so the data files published by this call must go again.
  (tmp_path / 'ckpt.index').write_text('other run')
  temp = _temp_with(tmp_path, {'data0': 'a', 'data1': 'b', 'index': 'c'})
  pairs = [(temp.file('data0'), str(tmp_path / 'ckpt.data-0')),
           (temp.file('data1'), str(tmp_path / 'ckpt.data-1')),
           (temp.file('index'), str(tmp_path / 'ckpt.index'))]
  with pytest.raises(FileExistsError, match='ckpt.index'):
    temp.publish(pairs, force=False)
  temp.remove()
  assert sorted(os.listdir(tmp_path)) == ['ckpt.index']
  assert _read(tmp_path / 'ckpt.index') == 'other run'


def test_racing_publishers_exactly_one_wins(tmp_path):
  final = str(tmp_path / 'out.npz')
  runs = 8
  temps = [_temp_with(tmp_path, {'out': 'run %d' % i}) for i in range(runs)]
  barrier = threading.Barrier(runs)
  results = [None] * runs

  def publish(i):
    barrier.wait()
    try:
      temps[i].publish([(temps[i].file('out'), final)], force=False)
      results[i] = 'won'
    except FileExistsError:
      results[i] = 'lost'

  threads = [threading.Thread(target=publish, args=(i,)) for i in range(runs)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert results.count('won') == 1, results
  assert _read(final) == 'run %d' % results.index('won')
  for temp in temps:
    temp.remove()
  assert os.listdir(tmp_path) == ['out.npz']


def test_without_hard_links_rename_no_replace_still_refuses(tmp_path,
                                                            monkeypatch):
  # FAT and some network filesystems have no hard links.
  def no_links(*unused):
    raise OSError(errno.EPERM, 'Operation not permitted')

  monkeypatch.setattr(os, 'link', no_links)
  final = tmp_path / 'out.npz'
  final.write_text('first run')
  temp = _temp_with(tmp_path, {'out': 'second run', 'new': 'new file'})
  with pytest.raises(FileExistsError, match='out.npz'):
    temp.publish([(temp.file('out'), str(final))], force=False)
  assert _read(final) == 'first run'
  temp.publish([(temp.file('new'), str(tmp_path / 'new.npz'))], force=False)
  assert _read(tmp_path / 'new.npz') == 'new file'
  temp.remove()


def _dead_pid():
  child = subprocess.Popen([sys.executable, '-c', 'pass'])
  child.wait()
  return child.pid


def test_remove_stale_removes_only_dead_processes_of_this_host(tmp_path):
  live_child = subprocess.Popen([sys.executable, '-c',
                                 'import time; time.sleep(60)'])
  try:
    host = output_files._HOST  # pylint: disable=protected-access
    other_host = 'f' * 8 if host != 'f' * 8 else '0' * 8
    names = {
        'dead': '%s%s-%d-x.npz-abc' % (output_files.PREFIX, host, _dead_pid()),
        'live child': '%s%s-%d-x.npz-abc' % (output_files.PREFIX, host,
                                             live_child.pid),
        'this process': '%s%s-%d-x.npz-abc' % (output_files.PREFIX, host,
                                               os.getpid()),
        'other host': '%s%s-%d-x.npz-abc' % (output_files.PREFIX, other_host,
                                             _dead_pid()),
        'pid 0': '%s%s-0-x.npz-abc' % (output_files.PREFIX, host),
        'not ours': '.x.npz.tmp%d' % _dead_pid(),
    }
    for name in names.values():
      os.mkdir(tmp_path / name)
      (tmp_path / name / 'partial').write_text('data')
    removed = output_files.remove_stale(str(tmp_path))
    assert removed == [str(tmp_path / names['dead'])]
    assert sorted(os.listdir(tmp_path)) == sorted(
        name for what, name in names.items() if what != 'dead')
    # A new TempDir cleans the same way before it is made.
    os.mkdir(tmp_path / names['dead'])
    output_files.TempDir(str(tmp_path), 'next').remove()
    assert not (tmp_path / names['dead']).exists()
  finally:
    live_child.kill()
    live_child.wait()


def test_a_signal_during_publish_waits_until_it_is_done(tmp_path):
  # Half of a checkpoint published would be a broken checkpoint: SIGTERM
  # arriving between two files is delivered after the last one.
  temp = _temp_with(tmp_path, {'data': 'a', 'index': 'b'})

  def pairs():
    yield temp.file('data'), str(tmp_path / 'ckpt.data')
    os.kill(os.getpid(), signal.SIGTERM)
    yield temp.file('index'), str(tmp_path / 'ckpt.index')

  restore = output_files.handle_signals()
  try:
    with pytest.raises(output_files.Interrupted) as raised:
      temp.publish(pairs(), force=False)
  finally:
    restore()
  assert raised.value.signum == signal.SIGTERM
  assert str(raised.value) == 'terminated (SIGTERM)'
  temp.remove()
  assert sorted(os.listdir(tmp_path)) == ['ckpt.data', 'ckpt.index']


def test_unwritable_folder_and_write_errors_name_the_path(tmp_path):
  with pytest.raises(output_files.OutputError,
                     match='cannot create a temporary folder in /proc: '):
    output_files.TempDir('/proc', 'x')
  error = output_files.write_error(
      '/data/x.npz', OSError(errno.ENOSPC, 'No space left on device'))
  assert str(error) == 'cannot write /data/x.npz: No space left on device'
  assert error.errno == errno.ENOSPC

  class OpError(Exception):  # what TensorFlow's file errors carry
    message = ('{{function_node __wrapped__SaveV2}} /data/.slimnets-tmp-x/'
               'shards/shard0.data-00000-of-00001.tempstate1; No space left '
               'on device [Op:SaveV2]')

  assert str(output_files.write_error('/data/x.ckpt', OpError())) == (
      'cannot write /data/x.ckpt: No space left on device')
