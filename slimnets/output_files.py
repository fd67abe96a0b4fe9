"""Output files that never replace one by accident and never leave debris.

One mechanism for every writer of slimnets: the converters' writers
(`checkpoints_tools.formats`) and `slimnets extract` (`slimnets.extract`).

* Each write goes to a private folder next to the destination,
  `.slimnets-tmp-<host>-<pid>-<label>-<random>/` (`TempDir`), so a failed
  or interrupted run is cleaned up by removing one folder, whatever the
  format wrote into it.
* `TempDir.publish` moves the finished files to their final names. Without
  force a file is hard-linked to its final name, which fails atomically
  when that name exists, so of two runs racing for the same new output
  exactly one wins and the other gets FileExistsError (a filesystem without
  hard links gets `renameat2(RENAME_NOREPLACE)` instead). With force,
  `os.replace`. Outputs of several files are published in the order given
  and, without force, withdrawn again when a later name is taken: the first
  name that two racing runs share decides between them (see
  docs/conversion.md and docs/features.md for the checkpoint and shard
  orders).
* A run killed outright (SIGKILL, power loss) leaves its folder behind. The
  folder's name carries the writer's host (a hash of the host name) and
  PID, and every new `TempDir` first removes the folders in the same
  directory whose writer was on this host and no longer exists; folders of
  live processes and of other hosts (shared filesystems) are left alone.
* `handle_signals` turns SIGINT and SIGTERM into an `Interrupted` exception,
  so they unwind like any error and the writers remove their folders.
  `publish` holds them back until it is done, so a signal never leaves half
  of a multi-file output published.
* `writing(path)` and `write_error` turn disk-full and other OS errors into
  an `OutputError` whose one-line message names the destination.

Typical use:

   temp = output_files.TempDir(os.path.dirname(out) or '.', 'extract')
   try:
     with output_files.writing(out):
       write_everything(temp.file('result'))
     temp.publish([(temp.file('result'), out)], force=False)
   finally:
     temp.remove()
"""

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import shutil
import signal
import socket
import tempfile
import threading

PREFIX = '.slimnets-tmp-'
# A hash, not the name itself: host names hold '-' and '.', which would
# make the fields of a temp name ambiguous.
_HOST = hashlib.sha1(socket.gethostname().encode('utf-8')).hexdigest()[:8]
_TEMP_NAME = re.compile(r'^%s(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-' %
                        re.escape(PREFIX))
# Room for mkdtemp's random part within a 255-byte file name.
_MAX_LABEL = 64
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_NAMES = {signal.SIGINT: 'interrupted (SIGINT)',
          signal.SIGTERM: 'terminated (SIGTERM)'}


class OutputError(OSError):
  """A destination that cannot be written; the message names it (one line)."""


class Interrupted(BaseException):
  """SIGINT or SIGTERM arrived (see `handle_signals`).

  A BaseException, like KeyboardInterrupt, so that `except Exception`
  clauses do not swallow it on its way out.

  Attributes:
    signum: the signal number; the conventional exit status is 128 + signum.
  """

  def __init__(self, signum):
    super().__init__(_NAMES.get(signum, 'signal %d' % signum))
    self.signum = signum


def _reason(error):
  """The cause of `error` in a few words (an OSError or a TF OpError)."""
  if isinstance(error, OSError) and error.errno:
    return os.strerror(error.errno)
  text = ' '.join(str(getattr(error, 'message', error)).split())
  # TensorFlow's file errors read '<file>; <strerror>' (plus ' [Op:SaveV2]'
  # in eager mode): keep the cause, the file is a temporary one.
  text = re.sub(r'\s*\[Op:\w+\]$', '', text)
  return text.rsplit('; ', 1)[-1] or type(error).__name__


def write_error(path, error):
  """An OutputError 'cannot write PATH: <reason>' for `error`.

  Args:
    path: the destination the user named (not a temporary file).
    error: the OSError or TensorFlow OpError that stopped the write.

  Returns:
    The OutputError (with `error`'s errno, when it has one).
  """
  result = OutputError('cannot write %s: %s' % (path, _reason(error)))
  result.errno = getattr(error, 'errno', None)
  return result


@contextlib.contextmanager
def writing(path):
  """Reraises an OSError of the block as `write_error(path, error)`.

  FileExistsError (an output that is taken) and OutputError pass unchanged.
  """
  try:
    yield
  except (FileExistsError, OutputError):
    raise
  except OSError as error:
    raise write_error(path, error) from None


def _alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except (PermissionError, OverflowError):
    # Another user's process (or not a PID of this system): keep its files.
    return True
  return True


def remove_stale(directory):
  """Removes the temp folders of dead slimnets processes of this host.

  Args:
    directory: the folder to clean (the destination's folder).

  Returns:
    The paths removed. A folder whose PID is alive (whatever that process
    is now), or that another host wrote, is kept.
  """
  try:
    names = os.listdir(directory)
  except OSError:
    return []
  removed = []
  for name in names:
    match = _TEMP_NAME.match(name)
    if not match or match.group('host') != _HOST:
      continue
    pid = int(match.group('pid'))
    # PID 0 would make os.kill signal our own process group.
    if pid <= 0 or pid == os.getpid() or _alive(pid):
      continue
    path = os.path.join(directory, name)
    if os.path.isdir(path) and not os.path.islink(path):
      shutil.rmtree(path, ignore_errors=True)
    else:
      try:
        os.unlink(path)
      except OSError:
        pass  # Another run cleaned it first.
    removed.append(path)
  return removed


class TempDir:
  """A private folder next to the output(s), published from and removed.

  Attributes:
    path: the folder, `<directory>/.slimnets-tmp-<host>-<pid>-<label>-*`.
  """

  def __init__(self, directory, label):
    """Creates the folder, after removing the stale ones (`remove_stale`).

    Args:
      directory: where the outputs go (the folder must be on their
        filesystem for `publish`).
      label: a word for the folder's name, e.g. the output's base name.

    Raises:
      OutputError: the folder cannot be created (read-only, not a real
        directory...), naming `directory`.
    """
    remove_stale(directory)
    label = re.sub(r'[^\w.+-]', '_', label)[:_MAX_LABEL]
    prefix = '%s%s-%d-%s-' % (PREFIX, _HOST, os.getpid(), label)
    try:
      self.path = tempfile.mkdtemp(prefix=prefix, dir=directory)
    except OSError as error:
      raise OutputError('cannot create a temporary folder in %s: %s' %
                        (directory, _reason(error))) from None

  def file(self, name):
    """The path of `name` inside the folder."""
    return os.path.join(self.path, name)

  def publish(self, pairs, force):
    """Moves finished files of the folder to their final names, in order.

    Args:
      pairs: (file in this folder, final path) in publishing order (any
        iterable).
      force: replace existing finals (`os.replace`); otherwise a final that
        exists, even one another run published a moment ago, is never
        replaced.

    Returns:
      The final paths.

    Raises:
      FileExistsError: (without force) a final name is taken; the files
        this call had already published are removed again, so the other
        run's output stays whole and nothing of this one is left.
      OutputError: another failure, naming the final path (without force,
        likewise withdrawn).
    """
    done, final = [], None
    with _signals_held():
      try:
        for temp, final in pairs:
          if force:
            os.replace(temp, final)
          else:
            _link_no_replace(temp, final)
          done.append(final)
      except BaseException as error:
        if not force:
          for published in done:
            _unlink_quietly(published)
        if isinstance(error, FileExistsError):
          taken = FileExistsError('%s already exists (another run wrote it '
                                  'meanwhile?); pass --force to replace it'
                                  % final)
          taken.errno = errno.EEXIST
          raise taken from None
        if isinstance(error, OSError) and not isinstance(error, OutputError):
          raise write_error(final, error) from None
        raise
    return done

  def remove(self):
    """Removes the folder and everything still in it."""
    shutil.rmtree(self.path, ignore_errors=True)


def publish_directory(temp, final, force):
  """Moves the finished folder `temp` (inside a TempDir) to `final`, whole.

  Without force, renameat2(RENAME_NOREPLACE): a `final` that exists, even
  one another run published a moment ago, is never replaced. With force,
  an existing `final` is swapped with `temp` in one step
  (renameat2(RENAME_EXCHANGE); moved aside first where the filesystem
  cannot exchange) and then removed, so a reader of `final` sees the old
  output or the new one, never a mix. SIGINT and SIGTERM wait until done.

  Args:
    temp: the finished folder, in a TempDir next to `final`.
    final: the output's path.
    force: replace an existing `final` (folder or file).

  Returns:
    `final`.

  Raises:
    FileExistsError: (without force) `final` exists.
    OutputError: another failure, naming `final`.
  """
  with _signals_held():
    try:
      if force and os.path.lexists(final):
        code = _renameat2(temp, final, _RENAME_EXCHANGE)
        if code in (errno.EINVAL, errno.ENOSYS):
          os.rename(final, temp + '.replaced')
          os.rename(temp, final)
          temp += '.replaced'
        elif code == errno.ENOENT:  # `final` went away meanwhile
          _rename_no_replace(temp, final)
        elif code:
          raise OSError(code, os.strerror(code), final)
        # `temp` now holds the replaced output.
        if os.path.isdir(temp) and not os.path.islink(temp):
          shutil.rmtree(temp, ignore_errors=True)
        else:
          _unlink_quietly(temp)
      else:
        _rename_no_replace(temp, final)
    except FileExistsError:
      taken = FileExistsError('%s already exists (another run wrote it '
                              'meanwhile?); pass --force to replace it' %
                              final)
      taken.errno = errno.EEXIST
      raise taken from None
    except OSError as error:
      if isinstance(error, OutputError):
        raise
      raise write_error(final, error) from None
  return final


def check_writable(directory):
  """Raises OutputError now if no TempDir can be made in `directory`.

  For commands that would otherwise find out only after their expensive
  part; removes stale temp folders there on the way.
  """
  TempDir(directory, 'check').remove()


def _unlink_quietly(path):
  try:
    os.unlink(path)
  except OSError:
    pass


# Errors of os.link on filesystems without hard links (FAT, some network
# and FUSE filesystems).
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK,
             errno.ENOSYS)


def _link_no_replace(temp, final):
  """Gives `temp`'s file the name `final` unless that exists (atomically)."""
  try:
    os.link(temp, final)
  except OSError as error:
    if error.errno not in _NO_LINKS:
      raise
    _rename_no_replace(temp, final)
  else:
    _unlink_quietly(temp)  # Else TempDir.remove does it.


_RENAME_EXCHANGE = 2


def _renameat2(source, target, flags):
  """renameat2(source, target, flags): 0, or the errno (ENOSYS: no call)."""
  renameat2 = getattr(ctypes.CDLL(None, use_errno=True), 'renameat2', None)
  if renameat2 is None:
    return errno.ENOSYS
  at_fdcwd = -100
  if renameat2(at_fdcwd, os.fsencode(source), at_fdcwd, os.fsencode(target),
               flags) == 0:
    return 0
  return ctypes.get_errno()


def _rename_no_replace(temp, final):
  """renameat2(RENAME_NOREPLACE) (Linux 3.15+, glibc 2.28+)."""
  libc = ctypes.CDLL(None, use_errno=True)
  renameat2 = getattr(libc, 'renameat2', None)
  at_fdcwd, rename_noreplace = -100, 1
  if renameat2 is not None:
    if renameat2(at_fdcwd, os.fsencode(temp), at_fdcwd, os.fsencode(final),
                 rename_noreplace) == 0:
      return
    code = ctypes.get_errno()
    if code not in (errno.EINVAL, errno.ENOSYS):
      raise OSError(code, os.strerror(code), final)
  raise OutputError(
      'cannot publish %s without replacing an existing file: its filesystem '
      'has neither hard links nor rename without replace; pass --force' %
      final)


# --- signals ------------------------------------------------------------------

_held = []  # Signals that arrived while the main thread was publishing.
_holding = [0]  # How deep in _signals_held the main thread is.


def _on_signal(signum, unused_frame):
  if _holding[0]:
    _held.append(signum)
    return
  # Further signals would interrupt the cleanup this one starts.
  for other in _SIGNALS:
    signal.signal(other, signal.SIG_IGN)
  raise Interrupted(signum)


@contextlib.contextmanager
def _signals_held():
  """Delivers SIGINT/SIGTERM (see handle_signals) after the block."""
  if threading.current_thread() is not threading.main_thread():
    # Handlers run, and can be changed, in the main thread only.
    yield
    return
  _holding[0] += 1
  try:
    yield
  finally:
    _holding[0] -= 1
    if not _holding[0] and _held:
      signum = _held[0]
      del _held[:]
      for other in _SIGNALS:
        signal.signal(other, signal.SIG_IGN)
      # Also in place of an error of the block: the user's signal decides
      # the exit status, and the block has withdrawn its files already.
      raise Interrupted(signum)


def handle_signals():
  """Makes SIGINT and SIGTERM raise `Interrupted` in the main thread.

  A signal the process inherited as ignored (nohup, a background job of a
  non-interactive shell) stays ignored. After the first signal both are
  ignored, so the cleanup it starts runs to the end.

  Returns:
    A function that puts the previous handlers back.
  """
  previous = {}
  for signum in _SIGNALS:
    current = signal.getsignal(signum)
    if current == signal.SIG_IGN:
      continue
    # None: a handler set outside Python; SIG_DFL is the closest we can do.
    previous[signum] = signal.SIG_DFL if current is None else current
    signal.signal(signum, _on_signal)

  def restore():
    for signum, handler in previous.items():
      signal.signal(signum, handler)

  return restore
