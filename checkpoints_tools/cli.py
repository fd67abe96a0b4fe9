"""`slimnets inspect | diff | convert | verify`: weights files from the shell.

  inspect FILE     tensors, shapes, dtypes, parameter count, and the
                   registered model the file matches (names and shapes).
  diff A B         names only in A / only in B, shape mismatches, and the
                   largest absolute difference of each common tensor; exit
                   status 1 when the files differ.
  convert SRC DST  any supported format to any other (see
                   docs/conversion.md), with a progress bar on stderr.
  verify SRC CONVERTED --model NAME
                   builds the source model in its own framework (tf_keras,
                   torch or paddle, when installed) from SRC and our network
                   from the slim checkpoint CONVERTED, runs both on the same
                   random images and reports the logit difference; exit
                   status 1 beyond the tolerance.
  Conversions print the input convention the weights expect ('tf', 'torch',
  ...; slimnets.preprocessing) and record it in safetensors metadata or a
  `<prefix>.slimnets.json` sidecar next to slim checkpoints.

Typical use:

   slimnets inspect resnet50v2.h5
   slimnets convert resnet50v2.h5 resnet_v2_50.ckpt --num-classes 1001
   slimnets verify resnet50v2.h5 resnet_v2_50.ckpt --model resnet_v2_50
   slimnets diff resnet_v2_50.ckpt other.npz

Each `add_*_parser(subparsers)` follows slimnets/cli.py's subcommand protocol;
`add_parsers`, registered in slimnets/cli.py's `_SUBCOMMANDS`, adds all four. Nothing here imports TensorFlow at import time.
"""

import argparse
import sys

_EXIT_DIFFERENT = 1


def _command_error(message):
  from slimnets import cli  # pylint: disable=g-import-not-at-top
  return cli.CommandError(message)


def _fail_cleanly(run):
  """Turns bad-input exceptions of `run(args)` into one-line CommandErrors."""

  def wrapped(args):
    from checkpoints_tools import formats  # pylint: disable=g-import-not-at-top
    try:
      return run(args)
    except (ValueError, KeyError, FileExistsError, formats.FormatError,
            OSError) as error:
      text = error.args[0] if isinstance(error, KeyError) and error.args else (
          error)
      raise _command_error(' '.join(str(text).split())) from None

  return wrapped


def add_parsers(subparsers):
  """Adds inspect, diff, convert and verify to `subparsers`."""
  add_inspect_parser(subparsers)
  add_diff_parser(subparsers)
  add_convert_parser(subparsers)
  add_verify_parser(subparsers)


def _format_arg(parser, flag, what):
  from checkpoints_tools.formats import FORMATS  # pylint: disable=g-import-not-at-top
  parser.add_argument(flag, choices=FORMATS, default=None,
                      help='format of %s (default: detected)' % what)


# --- inspect -----------------------------------------------------------------


def add_inspect_parser(subparsers):
  parser = subparsers.add_parser(
      'inspect', help="a weights file's tensors and the model it matches",
      description='Lists the tensors of a weights file (slim checkpoint, '
      '.npz, Keras .h5, .safetensors, .pdparams, .pt) with shapes and '
      'dtypes, the parameter count, and the registered model whose variable '
      'names and shapes it matches.')
  parser.add_argument('file')
  _format_arg(parser, '--format', 'FILE')
  parser.add_argument('--no-tensors', action='store_true',
                      help='print only the summary')
  parser.set_defaults(run=_fail_cleanly(_run_inspect))


def _match(reader):
  """The plan of converting `reader` to slim names, or (None, reason)."""
  from checkpoints_tools import convert  # pylint: disable=g-import-not-at-top
  try:
    return convert.plan(reader), None
  except ValueError as error:
    return None, ' '.join(str(error).split())


def _run_inspect(args):
  from checkpoints_tools import formats  # pylint: disable=g-import-not-at-top
  with formats.open_reader(args.file, args.format) as reader:
    keys = reader.keys()
    total = 0
    rows = []
    for key in keys:
      shape = reader.shape(key)
      size = 1
      for d in shape:
        size *= d
      total += size
      rows.append((key, '[%s]' % ','.join(str(d) for d in shape),
                   str(reader.dtype(key))))
    if not args.no_tensors and rows:
      width = max(len(r[0]) for r in rows)
      swidth = max(len(r[1]) for r in rows)
      for key, shape, dtype in rows:
        print('%-*s  %-*s  %s' % (width, key, swidth, shape, dtype))
      print()
    print('file:       %s' % args.file)
    print('format:     %s' % reader.format)
    print('tensors:    %d' % len(keys))
    print('parameters: %s' % format(total, ','))
    skipped = getattr(reader, 'skipped', ())
    if skipped:
      print('not model tensors: %s' % ', '.join(skipped))
    plan, reason = _match(reader)
    if plan:
      print('model:      %s (%s)' % (plan['model'],
                                     '%d classes' % plan['src_classes']
                                     if plan['src_classes'] else 'no logits'))
      print('preprocessing: %s (%s)' % (plan['preprocessing'],
                                        plan['preprocessing_origin']))
    else:
      print('model:      no registered model matches (%s)' % reason)
  return 0


# --- diff --------------------------------------------------------------------


def add_diff_parser(subparsers):
  parser = subparsers.add_parser(
      'diff', help='compare two weights files tensor by tensor',
      description='Compares the tensors of A and B by name: names only in '
      'A, only in B, shape mismatches, and the largest absolute difference '
      'of the common tensors. Exit status 0 when identical, 1 otherwise. '
      'Names are compared as stored: convert first to compare files of '
      'different namings.')
  parser.add_argument('a')
  parser.add_argument('b')
  _format_arg(parser, '--format-a', 'A')
  _format_arg(parser, '--format-b', 'B')
  parser.add_argument('--atol', type=float, default=0.0,
                      help='largest absolute difference still equal '
                      '(default 0: bit-exact)')
  parser.set_defaults(run=_fail_cleanly(_run_diff))


def _run_diff(args):
  import numpy as np  # pylint: disable=g-import-not-at-top
  from checkpoints_tools import formats  # pylint: disable=g-import-not-at-top
  with formats.open_reader(args.a, args.format_a) as a, formats.open_reader(
      args.b, args.format_b) as b:
    keys_a, keys_b = set(a.keys()), set(b.keys())
    only_a = sorted(keys_a - keys_b)
    only_b = sorted(keys_b - keys_a)
    mismatched = []
    worst = (0.0, None)
    different = 0
    for key in sorted(keys_a & keys_b):
      if a.shape(key) != b.shape(key):
        mismatched.append('%s: %s vs %s' % (key, list(a.shape(key)),
                                            list(b.shape(key))))
        continue
      x, y = a.get(key), b.get(key)
      diff = float(np.max(np.abs(x.astype(np.float64) - y))) if x.size else 0.
      if diff > args.atol or x.dtype != y.dtype:
        different += 1
      if diff > worst[0] or worst[1] is None:
        worst = (diff, key)
  for name in only_a:
    print('only in A: %s' % name)
  for name in only_b:
    print('only in B: %s' % name)
  for line in mismatched:
    print('shape mismatch: %s' % line)
  common = len(keys_a & keys_b) - len(mismatched)
  print('%d common tensors, %d only in A, %d only in B, %d shape mismatches, '
        '%d with differences > %g' % (common, len(only_a), len(only_b),
                                      len(mismatched), different, args.atol))
  if worst[1] is not None:
    print('max abs difference: %g (%s)' % worst)
  same = not (only_a or only_b or mismatched or different)
  print('identical' if same else 'different')
  return 0 if same else _EXIT_DIFFERENT


# --- convert -----------------------------------------------------------------


def add_convert_parser(subparsers):
  parser = subparsers.add_parser(
      'convert', help='convert weights between slim and Keras/PyTorch/Paddle',
      description='Converts SRC into DST through the slim variable names of '
      'one registered model (see docs/conversion.md). Every tensor of SRC '
      'must map to the model and every model tensor must be present; all '
      'shapes are checked before anything is written. DST is written to a '
      'temporary file next to it and moved into place when complete.')
  parser.add_argument('src', help='source file or slim checkpoint prefix')
  parser.add_argument('dst', help='destination (a prefix for slim)')
  _format_arg(parser, '--from', 'SRC')
  from checkpoints_tools.formats import FORMATS  # pylint: disable=g-import-not-at-top
  parser.add_argument('--to', choices=FORMATS, default=None,
                      help='format of DST (default: by extension; slim '
                      'without a known one)')
  parser.add_argument('--model', default=None,
                      help='registered model (default: recognised from the '
                      'tensor names)')
  parser.add_argument('--exclude', default=None, metavar='REGEX',
                      help='leave out source tensors matching REGEX, e.g. '
                      "'/Momentum$' for optimizer slots")
  parser.add_argument('--rename', action='append', default=[],
                      metavar='FROM=TO',
                      help='regex substitution on source names before '
                      'mapping (repeatable, applied in order)')
  parser.add_argument('--num-classes', type=int, choices=(1000, 1001),
                      default=None,
                      help="class count of DST: 1001 adds slim's background "
                      'class 0, 1000 drops it (default: as SRC)')
  parser.add_argument('--force', action='store_true',
                      help='replace DST if it exists')
  parser.add_argument('--quiet', action='store_true',
                      help='no progress bar')
  parser.set_defaults(run=_fail_cleanly(_run_convert))


def _run_convert(args):
  from checkpoints_tools import convert  # pylint: disable=g-import-not-at-top
  renames = [convert.parse_rename(r) for r in args.rename]
  summary = convert.convert(
      args.src, args.dst, src_format=getattr(args, 'from'),
      dst_format=args.to, model=args.model, exclude=args.exclude,
      renames=renames, num_classes=args.num_classes, force=args.force,
      progress=not args.quiet)
  for message in summary['messages']:
    print(message)
  print('%s (%s) -> %s (%s): %s, %d tensors, %s parameters, expects %r '
        'preprocessing' % (
            args.src, summary['format'], args.dst, summary['dst_format'],
            summary['model'], summary['tensors'],
            format(summary['parameters'], ','), summary['preprocessing']))
  return 0


# --- verify ------------------------------------------------------------------


def add_verify_parser(subparsers):
  parser = subparsers.add_parser(
      'verify', help='compare a converted checkpoint with its source model',
      description='Builds the source model in its framework (tf_keras for '
      'Keras .h5, torch with torchvision or timm for .safetensors/.pt, '
      'paddle for '
      '.pdparams, each in a child process where needed, when installed) '
      'with the weights of SRC, and our network (or the variant that '
      'reproduces the source, e.g. keras_resnet_v2_50) restored from the '
      'slim checkpoint CONVERTED; feeds both the same random images and '
      'prints the max absolute and relative logit difference and the top-1 '
      'agreement. Exit status 1 when the relative difference exceeds '
      '--tolerance.')
  parser.add_argument('src')
  parser.add_argument('converted', help='the slim checkpoint')
  parser.add_argument('--model', required=True)
  _format_arg(parser, '--from', 'SRC')
  parser.add_argument('--image-size', type=int, default=224)
  parser.add_argument('--batch-size', type=int, default=4)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--tolerance', type=float, default=1e-4,
                      help='largest max|ours - source| / max|source| '
                      '(default 1e-4)')
  parser.set_defaults(run=_fail_cleanly(_run_verify))


def _run_verify(args):
  from checkpoints_tools import verify  # pylint: disable=g-import-not-at-top
  result = verify.verify(args.src, args.converted, args.model,
                         src_format=getattr(args, 'from'),
                         image_size=args.image_size,
                         batch_size=args.batch_size, seed=args.seed)
  for message in result['messages']:
    print(message)
  print('max abs logit difference:      %.3g' % result['max_abs'])
  print('max relative logit difference: %.3g (tolerance %g)' %
        (result['max_rel'], args.tolerance))
  print('top-1 agreement:               %d/%d' % (result['top1_agree'],
                                                  result['batch']))
  ok = result['max_rel'] <= args.tolerance
  print('OK' if ok else 'FAILED')
  if not ok:
    print('slimnets verify: relative difference %.3g > %g' %
          (result['max_rel'], args.tolerance), file=sys.stderr)
  return 0 if ok else _EXIT_DIFFERENT


def main(argv=None):
  """`python -m checkpoints_tools.cli ...`: the same as `slimnets ...`."""
  from slimnets import cli  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(prog='slimnets')
  subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
  subparsers.required = True
  add_parsers(subparsers)
  return cli.run_command(parser, argv)


if __name__ == '__main__':
  sys.exit(main())
