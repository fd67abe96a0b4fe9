"""One-line error messages, the form every slimnets command reports in.

Typical use:

   except tf.errors.OpError as error:
     raise cli.CommandError('cannot read %s: %s' % (path,
                                                    _errors.one_line(error)))
"""


def one_line(error):
  """The reason of `error` (an exception or a message) in one line.

  A TensorFlow OpError raised by a session reads 'Graph execution error:',
  the Python stack of the failing op, the reason, then '[[node ...]]': its
  reason is the last plain line. Other messages are joined into one line.
  """
  text = str(getattr(error, 'message', None) or error)
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  if hasattr(error, 'op') and hasattr(error, 'message'):
    lines = [line for line in lines if not line.startswith('[[')][-1:]
  joined = ' '.join(' '.join(lines).split())
  if joined:
    return joined
  return type(error).__name__ if isinstance(error, BaseException) else (
      'unknown error')
