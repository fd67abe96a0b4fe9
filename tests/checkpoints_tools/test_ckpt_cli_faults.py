"""`slimnets convert` and `extract` under faults, run as real processes.

Every fault must end in one line on stderr naming the path at fault, exit
status 2 (130 for SIGINT, 143 for SIGTERM) and nothing left behind; an
existing output is never replaced without --force, even by a racing run.

A full disk is a small tmpfs mounted over an empty folder in a private
mount namespace (`unshare --mount` as root, with `--user --map-root-user`
otherwise), so no mount outlives the test; where neither is allowed those
tests skip, saying so. (An LD_PRELOAD hook on write() is no substitute:
TensorFlow writes checkpoints through stdio's fwrite, whose writes inside
glibc do not pass through such a hook.)

Models stay small: extract runs resnet_v2_50 with random weights on 64x64
PNGs (at 32 to 128 pixels); convert reads a random-weight resnet_v1_50
.npz (100 MB, enough to be interrupted half-way and to fill any small
disk).
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import ckpt_helpers
from conftest import command_env
from slimnets import output_files

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
_TIMEOUT = 600
_MODEL = 'resnet_v2_50'


def _command(args):
  return [sys.executable, '-m', 'slimnets'] + [str(a) for a in args]


def _env():
  return command_env()


def _default_sigint():
  # A shell's background job inherits SIGINT ignored, which the command
  # line rightly keeps; the test wants to send it.
  signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(args):
  return subprocess.run(_command(args), cwd=_ROOT, env=_env(),
                        capture_output=True, text=True, timeout=_TIMEOUT,
                        check=False)


def _start(args, stderr_path):
  with open(stderr_path, 'w') as stderr:
    return subprocess.Popen(_command(args), cwd=_ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=stderr,
                            preexec_fn=_default_sigint)


def _one_line(stderr):
  lines = stderr.splitlines()
  assert len(lines) == 1, stderr
  return lines[0]


@pytest.fixture(scope='module')
def v1_npz(module_tmp_factory):
  """A resnet_v1_50 (1000 classes) random-weight .npz, slim names."""
  path = str(module_tmp_factory.mktemp('npz') / 'v1.npz')
  np.savez(path, **ckpt_helpers.random_values('resnet_v1_50', 1000))
  return path


@pytest.fixture(scope='module')
def v2_npz(module_tmp_factory):
  """A resnet_v2_50 (1001 classes) random-weight .npz: it has a Keras table."""
  path = str(module_tmp_factory.mktemp('npz2') / 'v2.npz')
  np.savez(path, **ckpt_helpers.random_values('resnet_v2_50', 1001))
  return path


@pytest.fixture(scope='module')
def images(module_tmp_factory):
  """16 random 64x64 PNGs; returns their folder."""
  folder = module_tmp_factory.mktemp('images')
  rng = np.random.RandomState(0)
  for i in range(16):
    Image.fromarray(rng.randint(0, 256, (64, 64, 3)).astype(np.uint8)).save(
        str(folder / ('img_%02d.png' % i)))
  return str(folder)


# --- a small filesystem -------------------------------------------------------

# Mounts a tmpfs over $1 with options $0, runs the command, lists $1 into
# $2 (the mount vanishes with the namespace), exits with the command's
# status; 125 when mounting failed.
_IN_SMALL_FS = ('mount -t tmpfs -o "$0" tmpfs "$1" || exit 125; dir=$1; '
                'listing=$2; shift 2; "$@"; status=$?; ls -A "$dir" > '
                '"$listing"; exit $status')


@pytest.fixture(scope='module')
def small_fs(module_tmp_factory):
  """Runs a command with a small or read-only tmpfs over one folder.

  Returns:
    run(args, folder, options) -> (exit status, stderr, names left in
    folder), where options are tmpfs mount options ('size=2m', 'ro').
  """
  unshare = shutil.which('unshare')
  base = [unshare, '--mount', '--propagation', 'private']
  if os.geteuid() != 0:
    base[1:1] = ['--user', '--map-root-user']
  probe = str(module_tmp_factory.mktemp('probe'))
  if unshare is None or subprocess.run(
      base + ['sh', '-c', _IN_SMALL_FS, 'size=64k', probe, os.devnull,
              'true'], capture_output=True, check=False).returncode != 0:
    pytest.skip('cannot mount a small tmpfs here: needs root, or user '
                'namespaces for unshare --user')

  def run(args, folder, options):
    listing = folder + '.listing'
    result = subprocess.run(
        base + ['sh', '-c', _IN_SMALL_FS, options, folder, listing] +
        _command(args), cwd=_ROOT, env=_env(), capture_output=True,
        text=True, timeout=_TIMEOUT, check=False)
    assert result.returncode != 125, result.stderr
    with open(listing) as f:
      return result.returncode, result.stderr, f.read().split()

  return run


@pytest.mark.parametrize('suffix', ['.npz', '.h5', '.ckpt', '.safetensors'])
def test_convert_on_a_full_disk(small_fs, v1_npz, v2_npz, tmp_path, suffix):
  full = str(tmp_path / 'full')
  os.mkdir(full)
  dst = os.path.join(full, 'x' + suffix)
  # Keras .h5 has a table for resnet_v2_50, not for slim's resnet_v1_50.
  args = (['convert', v2_npz, dst, '--num-classes', '1000'] if suffix == '.h5'
          else ['convert', v1_npz, dst])
  status, stderr, left = small_fs(args + ['--quiet'], full, 'size=2m')
  assert status == 2
  assert _one_line(stderr) == (
      'slimnets convert: error: cannot write %s: No space left on device' %
      dst)
  assert left == []


def test_extract_on_a_full_disk(small_fs, images, tmp_path):
  full = str(tmp_path / 'full')
  os.mkdir(full)
  out = os.path.join(full, 'feats.npz')
  # block1 of 16 images at 64: 16 x 8 x 8 x 256 floats, 1 MB.
  status, stderr, left = small_fs(
      ['extract', _MODEL, images, '-o', out, '--endpoints', 'block1',
       '--image-size', '64', '--no-progress'], full, 'size=256k')
  assert status == 2
  assert _one_line(stderr) == (
      'slimnets extract: error: cannot write %s: No space left on device' %
      out)
  assert left == []


def test_extract_into_a_read_only_folder(small_fs, images, tmp_path):
  folder = str(tmp_path / 'ro')
  os.mkdir(folder)
  status, stderr, left = small_fs(
      ['extract', _MODEL, images, '-o', os.path.join(folder, 'feats.npz'),
       '--no-progress'], folder, 'ro')
  assert status == 2
  assert _one_line(stderr) == (
      'slimnets extract: error: cannot create a temporary folder in %s: '
      'Read-only file system' % folder)
  assert left == []


# --- signals ------------------------------------------------------------------


def _wait_for_temp_file(folder, process):
  """Waits until a slimnets temp folder in `folder` holds a file.

  Returns:
    That temp folder's name.
  """
  deadline = time.time() + _TIMEOUT
  while time.time() < deadline:
    assert process.poll() is None, 'finished before it could be signalled'
    for name in os.listdir(folder):
      if name.startswith(output_files.PREFIX):
        path = os.path.join(folder, name)
        if any(files for _, _, files in os.walk(path)):
          return name
    time.sleep(0.01)
  pytest.fail('no temp file in %s' % folder)


def _interrupted_run(args, folder, signum, tmp_path):
  """Starts `args`, sends `signum` once it writes; returns (status, stderr).

  The commands are sized to run on for a second or more after their first
  temp file (extract: 16 images one by one at 128x128; convert: 100 MB in
  16 MB shards), so the signal finds them writing.
  """
  stderr_path = str(tmp_path / 'stderr')
  process = _start(args, stderr_path)
  try:
    _wait_for_temp_file(folder, process)
    process.send_signal(signum)
    status = process.wait(_TIMEOUT)
  finally:
    if process.poll() is None:
      process.kill()
      process.wait()
  with open(stderr_path) as f:
    return status, f.read()


@pytest.mark.parametrize('signum,status,line', [
    (signal.SIGTERM, 143, 'slimnets convert: terminated (SIGTERM)'),
    (signal.SIGINT, 130, 'slimnets convert: interrupted (SIGINT)'),
])
def test_convert_stopped_by_a_signal(v1_npz, tmp_path, signum, status, line):
  folder = str(tmp_path / 'out')
  os.mkdir(folder)
  got, stderr = _interrupted_run(
      ['convert', v1_npz, os.path.join(folder, 'x.ckpt'), '--quiet'], folder,
      signum, tmp_path)
  assert (got, _one_line(stderr)) == (status, line)
  assert os.listdir(folder) == []


def test_extract_stopped_by_sigterm(images, tmp_path):
  folder = str(tmp_path / 'out')
  os.mkdir(folder)
  got, stderr = _interrupted_run(
      ['extract', _MODEL, images, '-o', os.path.join(folder, 'feats.npz'),
       '--image-size', '128', '--batch-size', '1', '--no-progress'], folder,
      signal.SIGTERM, tmp_path)
  assert (got, _one_line(stderr)) == (
      143, 'slimnets extract: terminated (SIGTERM)')
  assert os.listdir(folder) == []


def _killed_run(args, folder, tmp_path):
  """Starts `args` and SIGKILLs it once it writes; returns its temp folder."""
  status, _ = _interrupted_run(args, folder, signal.SIGKILL, tmp_path)
  assert status == -signal.SIGKILL
  left = os.listdir(folder)
  assert len(left) == 1 and left[0].startswith(output_files.PREFIX), left
  return left[0]


def test_the_run_after_a_killed_convert_removes_its_temp_files(v1_npz,
                                                               tmp_path):
  folder = str(tmp_path / 'out')
  os.mkdir(folder)
  dst = os.path.join(folder, 'x.ckpt')
  _killed_run(['convert', v1_npz, dst, '--quiet'], folder, tmp_path)
  result = _run(['convert', v1_npz, dst, '--quiet'])
  assert result.returncode == 0, result.stderr
  left = sorted(os.listdir(folder))
  assert left[-2:] == ['x.ckpt.index', 'x.ckpt.slimnets.json']
  assert all(name.startswith('x.ckpt.data-') for name in left[:-2]), left


def test_the_run_after_a_killed_extract_removes_its_temp_files(images,
                                                               tmp_path):
  folder = str(tmp_path / 'out')
  os.mkdir(folder)
  args = ['extract', _MODEL, images, '-o', os.path.join(folder, 'feats.npz'),
          '--image-size', '128', '--batch-size', '1', '--no-progress']
  _killed_run(args, folder, tmp_path)
  result = _run(args[:3] + [os.path.join(images, 'img_00.png')] + args[3:])
  assert result.returncode == 0, result.stderr
  assert os.listdir(folder) == ['feats.npz']


# --- races --------------------------------------------------------------------


def _race(first, second):
  """Runs two commands at once; returns [(exit status, stderr)] of both."""
  processes = [subprocess.Popen(_command(args), cwd=_ROOT, env=_env(),
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
               for args in (first, second)]
  results = []
  for process in processes:
    _, stderr = process.communicate(timeout=_TIMEOUT)
    results.append((process.returncode, stderr))
  return results


def _winner(results, path):
  """Checks one run won and the other refused in one line naming `path`.

  Returns:
    The index of the winner in `results` (pairs from `_race`).
  """
  statuses = sorted(status for status, _ in results)
  assert statuses == [0, 2], results
  _, loser_stderr = next(r for r in results if r[0] == 2)
  line = _one_line(loser_stderr)
  assert line.startswith('slimnets ') and path in line and '--force' in line
  return [status for status, _ in results].index(0)


def test_two_converts_to_one_new_checkpoint(v1_npz, tmp_path):
  folder = str(tmp_path / 'out')
  os.mkdir(folder)
  dst = os.path.join(folder, 'x.ckpt')
  args = ['convert', v1_npz, dst, '--quiet']
  _winner(_race(args, args), dst)
  assert not [n for n in os.listdir(folder)
              if n.startswith(output_files.PREFIX)]
  ckpt_helpers.assert_same_tensors(v1_npz, dst)


def test_two_extracts_to_one_new_set_of_shards(images, tmp_path):
  # 6 and 4 images in shards of 2: a mix of both runs' shards would show.
  folder = str(tmp_path / 'out')
  os.mkdir(folder)
  out = os.path.join(folder, 'feats.npz')
  files = sorted(os.path.join(images, n) for n in os.listdir(images))
  runs = [files[:6], files[6:10]]
  winner = _winner(
      _race(*[['extract', _MODEL] + run + ['-o', out, '--shard-size', '2',
                                          '--image-size', '32',
                                          '--no-progress'] for run in runs]),
      os.path.join(folder, 'feats_00000.npz'))
  shards = sorted(os.listdir(folder))
  assert shards == ['feats_%05d.npz' % i for i in range(len(runs[winner]) // 2)]
  paths = []
  for shard in shards:
    with np.load(os.path.join(folder, shard)) as data:
      paths.extend(data['paths'])
  assert paths == runs[winner]


# --- TensorFlow's own log lines -----------------------------------------------


def test_one_line_per_skipped_image_and_no_tensorflow_noise(images,
                                                            tmp_path):
  # libjpeg logs 'Premature end of JPEG data' through TensorFlow's C++ log
  # for a truncated JPEG, twice: in the pipeline and when extract decodes
  # it again for the reason.
  jpeg = str(tmp_path / 'whole.jpg')
  Image.open(os.path.join(images, 'img_00.png')).save(jpeg)
  with open(jpeg, 'rb') as f:
    data = f.read()
  truncated = str(tmp_path / 'truncated.jpg')
  with open(truncated, 'wb') as f:
    f.write(data[:len(data) // 2])
  args = ['extract', _MODEL, os.path.join(images, 'img_00.png'), truncated,
          '-o', str(tmp_path / 'feats.npz'), '--image-size', '32',
          '--no-progress']
  result = _run(args)
  assert result.returncode == 0, result.stderr
  assert _one_line(result.stderr).startswith('skipped %s: ' % truncated)
  # A user's own level is theirs: with 0, TensorFlow's line is shown.
  os.remove(str(tmp_path / 'feats.npz'))
  env = dict(_env(), TF_CPP_MIN_LOG_LEVEL='0')
  result = subprocess.run(_command(args), cwd=_ROOT, env=env,
                          capture_output=True, text=True, timeout=_TIMEOUT,
                          check=False)
  assert result.returncode == 0, result.stderr
  assert 'Premature end of JPEG data' in result.stderr
