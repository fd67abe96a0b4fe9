"""The `slimnets` command line (also `python -m slimnets`).

Subcommands:

  list     the registered models: family, default image size, class count of
           their checkpoints and trainable parameters.
  summary  one model's end points, output shapes, parameters per end point,
           parameter totals and multiply-adds, from its graph alone (no
           weights needed).
  extract, demo
           features of image files (see slimnets/extract.py).
  dataset  a folder of class folders of images to slim's TFRecord format
           (slimnets/make_dataset.py).
  train, eval, export
           research/slim's train_image_classifier.py,
           eval_image_classifier.py and export_inference_graph.py with their
           flags (slimnets/train.py, evaluate.py, export.py).
  inspect, diff, convert, verify
           checkpoint conversion (checkpoints_tools/cli.py).

Typical use:

   slimnets list
   slimnets list 'resnet_v2*' --no-params
   slimnets summary resnet_v2_50
   slimnets summary resnet_v1_101 --image-size 321 --output-stride 16
   slimnets summary resnet_v2_50 --data-format NCHW

Each subcommand is found through `_SUBCOMMANDS`, a table of
"module:function" references to an `add_parser(subparsers)` function that
adds the subcommand's parser and sets its `run` default, a function
`run(args) -> exit status`. A new subcommand is a module with such a
function and one line in the table. A subcommand may also set the default
`extra_positionals` to the name of its list positional, whose values can
then follow options too (see `_parse`). Modules are imported when the
parser is built, so they must not import TensorFlow at import time:
`slimnets --help` stays fast, and `main` gets to quiet TensorFlow's startup
logging first.

Bad input (an unknown model, an image size or output stride the network
cannot take, an output that cannot be written) prints one line on stderr
and exits with status 2; SIGINT and SIGTERM remove the command's temporary
files, print one line and exit with status 130 and 143 (`run_command`).
"""

import argparse
import importlib
import os
import signal
import sys
import time

import nets
from slimnets import _errors
from slimnets import output_files

# In --help order. See the module docstring for the protocol.
_SUBCOMMANDS = (
    'slimnets.cli:_add_list_parser',
    'slimnets.cli:_add_summary_parser',
    'slimnets.extract:add_parser',
    'slimnets.extract:add_demo_parser',
    'slimnets.make_dataset:add_parser',
    'slimnets.train:add_parser',
    'slimnets.evaluate:add_parser',
    'slimnets.export:add_parser',
    'checkpoints_tools.cli:add_parsers',
)

_PROG = 'slimnets'
_USAGE_ERROR = 2


class CommandError(Exception):
  """Bad input to a subcommand: reported in one line, exit status 2."""


def _quiet_tensorflow():
  """Imports TensorFlow with its startup logging off; returns the module.

  Unless the user set TF_CPP_MIN_LOG_LEVEL (then TensorFlow logs as they
  asked), it is set to 3 and stderr is silenced while TensorFlow loads:
  TF 2.21's CUDA stub and oneDNN banners are printed by absl before
  TF_CPP_MIN_LOG_LEVEL takes effect, and would bury our one-line errors.
  GPU discovery happens here too, for the same reason. Level 3 also drops
  the C++ ERROR lines: each failure the commands meet reaches Python as an
  exception they report in one line, and the rest is noise, such as
  libjpeg's 'Premature end of JPEG data' next to extract's own 'skipped'
  line for the image. Only the entry point can choose: the level is read
  once, when TensorFlow loads.
  Python exceptions from the import are raised after stderr is restored.
  """
  if ('tensorflow' not in sys.modules and
      'TF_CPP_MIN_LOG_LEVEL' not in os.environ):
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
      import tensorflow  # pylint: disable=g-import-not-at-top
      # Device discovery logs a cuInit failure on machines without a GPU;
      # it runs once per process, so run it here, silenced.
      tensorflow.config.list_physical_devices('GPU')
    finally:
      os.dup2(saved, 2)
      os.close(saved)
      os.close(devnull)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.get_logger().setLevel('ERROR')
  return tf


def _resolve(reference):
  module_name, function_name = reference.split(':')
  return getattr(importlib.import_module(module_name), function_name)


def build_parser():
  """The `slimnets` argument parser with every subcommand of the table."""
  parser = argparse.ArgumentParser(
      prog=_PROG,
      description='TF-Slim compatible image backbones on current '
      'TensorFlow.')
  parser.add_argument('--version', action='version',
                      version='%(prog)s ' + nets.__version__)
  subparsers = parser.add_subparsers(title='commands', dest='command',
                                     metavar='COMMAND')
  subparsers.required = True
  for reference in _SUBCOMMANDS:
    _resolve(reference)(subparsers)
  return parser


def main(argv=None):
  """Runs `slimnets` with `argv` (default sys.argv[1:]); returns the status."""
  return run_command(build_parser(), argv)


def _parse(parser, argv):
  """`parser.parse_args(argv)`, where IMAGES may also follow options.

  argparse gives all the positionals of a subcommand their values at the
  first run of them, so in `extract MODEL --checkpoint CK IMAGES -o OUT`
  the IMAGES are left over. A subcommand that sets the default
  `extra_positionals` to the name of its list positional gets such
  leftovers appended to it; leftover options are still an error.

  Returns:
    The argparse Namespace.
  """
  args, extras = parser.parse_known_args(argv)
  if extras:
    dest = getattr(args, 'extra_positionals', None)
    if dest is None or any(item.startswith('-') for item in extras):
      parser.error('unrecognized arguments: %s' % ' '.join(extras))
    getattr(args, dest).extend(extras)
  return args


def run_command(parser, argv=None):
  """Parses `argv` with `parser` and runs the subcommand; returns the status.

  The fault handling of every slimnets entry point: bad input
  (CommandError) is one line on stderr and status 2; SIGINT and SIGTERM
  unwind the command like an error, so its temporary files are removed
  (see slimnets.output_files), then print one line and give status 130 or 143.

  Args:
    parser: an ArgumentParser whose subcommands set `run` (see the module
      docstring) and `command`.
    argv: the arguments (default sys.argv[1:]).
  """
  # Before anything slow (importing TensorFlow takes seconds).
  restore_signals = output_files.handle_signals()
  who = _PROG  # 'slimnets convert' once the command is known
  try:
    args = _parse(parser, argv)
    who = '%s %s' % (_PROG, args.command)
    # Every subcommand builds graphs; load TensorFlow quietly before any of
    # them (or nets.registry) imports it.
    _quiet_tensorflow()
    return args.run(args) or 0
  except CommandError as error:
    print('%s: error: %s' % (who, _errors.one_line(error)), file=sys.stderr)
    return _USAGE_ERROR
  except output_files.Interrupted as signalled:
    print('%s: %s' % (who, signalled), file=sys.stderr)
    return 128 + signalled.signum
  except KeyboardInterrupt:  # raised by other code than our handler
    print('%s: interrupted' % who, file=sys.stderr)
    return 128 + signal.SIGINT
  except BrokenPipeError:
    # `slimnets list | head`: stop quietly when the reader goes away.
    sys.stderr.close()
    return 0
  finally:
    restore_signals()


# --- helpers shared by list and summary --------------------------------------


def _model_info(name):
  from nets import registry  # pylint: disable=g-import-not-at-top
  try:
    return registry.get_model(name)
  except ValueError as error:
    raise CommandError(error) from None


def _build(name, image_size, num_classes, batch_size=1, data_format='NHWC',
           **kwargs):
  """Builds `name` in a new graph, in inference mode, under its arg scope.

  With data_format 'NCHW' the network is built channels-first (see
  `nets.runtime.data_format_scope`); the input stays NHWC.

  Returns:
    (graph, net, end_points).

  Raises:
    CommandError: when the network rejects the arguments (one line).
  """
  tf = _quiet_tensorflow()
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  from nets import registry  # pylint: disable=g-import-not-at-top
  from nets import runtime  # pylint: disable=g-import-not-at-top
  graph = tf.Graph()
  with graph.as_default():
    network_fn = nets_factory.get_network_fn(name, num_classes=num_classes,
                                             is_training=False)
    # Video models take clips [batch, frames, height, width, 3].
    images = tf.compat.v1.placeholder(
        tf.float32, registry.input_shape(name, batch_size, image_size),
        name='images')
    try:
      # Graph only, never run here: build the layout asked for even where
      # this CPU could not run it (NCHW is the GPU layout).
      with runtime.data_format_scope(data_format, device='gpu'):
        net, end_points = network_fn(images, **kwargs)
    except (ValueError, TypeError) as error:
      raise CommandError('%s: %s' % (name, _errors.one_line(error))) from None
  return graph, net, end_points


def _variable_size(variable):
  return variable.shape.num_elements()


def _trainable_parameters(graph):
  return sum(_variable_size(v) for v in graph.get_collection(
      'trainable_variables'))


def _shape_str(shape):
  if shape.rank is None:
    return '?'
  return '[%s]' % ','.join('?' if d is None else str(d)
                           for d in shape.as_list())


def _int(text):
  # Ranges are checked by the subcommand, so that they are reported in one
  # line like the network's own errors (argparse adds its usage).
  try:
    return int(text)
  except ValueError:
    raise argparse.ArgumentTypeError('invalid int value: %r' % text) from None


# --- slimnets list -----------------------------------------------------------


def _add_list_parser(subparsers):
  parser = subparsers.add_parser(
      'list', help='list the registered models',
      description='Lists the registered models with their family, default '
      'image size, the class count of their usual ImageNet checkpoints '
      '(1001 with slim\'s background class) and their trainable parameters '
      '(batch-norm moving statistics excluded). Parameters come from '
      'building each graph at batch 1 and the default image size, which '
      'takes a few seconds per model; rows print as they are done.')
  parser.add_argument('pattern', nargs='?', default='*',
                      help="shell-style filter on the names, e.g. "
                      "'resnet_v2*' (default: all)")
  parser.add_argument('--no-params', action='store_true',
                      help='skip building the graphs (no parameter column)')
  parser.set_defaults(run=_run_list)


def _run_list(args):
  start = time.time()
  from nets import registry  # pylint: disable=g-import-not-at-top
  names = registry.list_models(args.pattern)
  if not names:
    raise CommandError('no model matches %r; known models: %s' %
                       (args.pattern, ', '.join(registry.list_models())))
  infos = [registry.get_model(name) for name in names]
  name_width = max(len('Model'), max(len(name) for name in names))
  family_width = max(len('Family'), max(len(i.family) for i in infos))
  header = '%-*s  %-*s  %5s  %7s' % (name_width, 'Model', family_width,
                                     'Family', 'Size', 'Classes')
  if not args.no_params:
    header += '  %12s' % 'Parameters'
  print(header)
  print('-' * len(header), flush=True)
  for info in infos:
    row = '%-*s  %-*s  %5d  %7d' % (name_width, info.name, family_width,
                                    info.family, info.default_image_size,
                                    info.num_classes)
    if not args.no_params:
      graph, _, _ = _build(info.name, info.default_image_size,
                           info.num_classes)
      row += '  %12s' % format(_trainable_parameters(graph), ',')
    print(row, flush=True)
  print('%d model%s in %.1f s' % (len(names), 's' if len(names) > 1 else '',
                                 time.time() - start))
  return 0


# --- slimnets summary --------------------------------------------------------

_SUMMARY_HELP = """\
Builds the graph of one model (inference mode, under its arg scope; no weights
needed) and prints its end points with their output shape and the trainable
parameters each one owns, then the totals.

A variable belongs to the first end point, in end-point order, whose scope
contains it (its name, or its name below the network's scope, starts with
'<end point>/'). Slim collects inner end
points before the ones enclosing them, so a unit's convolutions own their own
weights and the unit keeps what is left (e.g. its 'preact' batch norm);
variables under no end point (e.g. 'postnorm') are listed on a last row. The
rows add up to the trainable total.

Multiply-adds count every Conv2D, Conv3D, DepthwiseConv2dNative and MatMul op
of the graph, per image: output elements x kernel height x width x input
channels per group (Conv2D), x kernel time x height x width x input channels
(Conv3D), x kernel height x width (depthwise), x inner dimension (MatMul).
Batch norm, biases, activations and pooling are not counted.

--data-format NCHW builds the network channels-first, as a GPU would run it:
the shapes shown are then the end points' real NCHW shapes ([batch, channels,
height, width]); the input is still NHWC images, transposed once at the
network's entry. Parameters and multiply-adds are the same in both layouts.
"""


def _add_summary_parser(subparsers):
  parser = subparsers.add_parser(
      'summary', help="one model's end points, parameters and multiply-adds",
      description=_SUMMARY_HELP,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('name', help="a model name (see 'slimnets list')")
  parser.add_argument('--image-size', type=_int, default=None,
                      help='input height and width (default: the model\'s '
                      'default image size)')
  parser.add_argument('--num-classes', type=_int, default=None,
                      help='logits size; 0 stops at the features (default: '
                      'the class count of its checkpoints)')
  parser.add_argument('--output-stride', type=_int, default=None,
                      help='input/output resolution ratio for dense '
                      'features, e.g. 8 or 16 (default: the nominal one)')
  parser.add_argument('--batch-size', type=_int, default=1,
                      help='batch size of the shapes shown (default 1); '
                      'multiply-adds are per image')
  parser.add_argument('--data-format', default='NHWC', metavar='{NHWC,NCHW}',
                      help='layout to build the network in; shapes are shown '
                      'in that layout (default NHWC)')
  parser.set_defaults(run=_run_summary)


def _owned_parameters(end_point_names, variables):
  """Trainable parameters owned by each end point, see _SUMMARY_HELP.

  Returns:
    (dict end point -> parameters, parameters under no end point,
     names of the scopes of those variables).
  """
  owned = dict.fromkeys(end_point_names, 0)
  orphans, orphan_scopes = 0, []
  for variable in variables:
    name = variable.op.name
    # Inception, I3D and NASNet name end points without the network's scope
    # ('Mixed_3b' for 'InceptionV1/Mixed_3b/...').
    unscoped = name.split('/', 1)[-1]
    owner = next((ep for ep in end_point_names
                  if name.startswith(ep + '/') or
                  unscoped.startswith(ep + '/')), None)
    if owner is None:
      orphans += _variable_size(variable)
      scope = name.rsplit('/', 1)[0]
      if scope not in orphan_scopes:
        orphan_scopes.append(scope)
    else:
      owned[owner] += _variable_size(variable)
  return owned, orphans, orphan_scopes


def multiply_adds(graph):
  """Multiply-adds of the Conv2D, Conv3D, depthwise and MatMul ops of `graph`.

  Args:
    graph: a `tf.Graph` whose shapes are fully known.

  Returns:
    The number of multiply-adds for the whole batch (see _SUMMARY_HELP).

  Raises:
    ValueError: when a counted op has an unknown shape.
  """
  total = 0
  for op in graph.get_operations():
    if op.type not in ('Conv2D', 'Conv3D', 'DepthwiseConv2dNative', 'MatMul'):
      continue
    outputs = op.outputs[0].shape.num_elements()
    kernel = op.inputs[1].shape
    if outputs is None or not kernel.is_fully_defined():
      raise ValueError('op %s has an unknown shape' % op.name)
    kernel = kernel.as_list()
    if op.type == 'Conv2D':
      # HWIO; for a grouped conv I is already input channels / groups.
      total += outputs * kernel[0] * kernel[1] * kernel[2]
    elif op.type == 'Conv3D':
      # DHWIO: time, height, width, input channels.
      total += outputs * kernel[0] * kernel[1] * kernel[2] * kernel[3]
    elif op.type == 'DepthwiseConv2dNative':
      total += outputs * kernel[0] * kernel[1]
    else:
      inner = (op.inputs[0].shape[0] if op.get_attr('transpose_a') else
               op.inputs[0].shape[-1])
      total += outputs * inner
  return total


def _run_summary(args):
  info = _model_info(args.name)
  image_size = (info.default_image_size if args.image_size is None else
                args.image_size)
  if image_size < 1:
    raise CommandError('--image-size must be at least 1, got %d' % image_size)
  if args.batch_size < 1:
    raise CommandError('--batch-size must be at least 1, got %d' %
                       args.batch_size)
  num_classes = (info.num_classes if args.num_classes is None else
                 args.num_classes)
  if num_classes < 0:
    raise CommandError('--num-classes must be 0 or more, got %d' %
                       num_classes)
  if args.data_format not in ('NHWC', 'NCHW'):
    raise CommandError("--data-format must be 'NHWC' or 'NCHW', got %r" %
                       args.data_format)
  kwargs = {}
  if args.output_stride is not None:
    kwargs['output_stride'] = args.output_stride
  graph, net, end_points = _build(info.name, image_size, num_classes,
                                  args.batch_size, args.data_format, **kwargs)
  for end_point, tensor in end_points.items():
    if 0 in (tensor.shape.as_list() if tensor.shape.rank else []):
      raise CommandError('%s: --image-size %d is too small: end point %s is '
                         'empty (shape %s)' % (info.name, image_size,
                                               end_point,
                                               _shape_str(tensor.shape)))
  trainable = graph.get_collection('trainable_variables')
  all_variables = graph.get_collection('variables')
  owned, orphans, orphan_scopes = _owned_parameters(list(end_points),
                                                    trainable)
  macs = multiply_adds(graph) // args.batch_size

  rows = [(name, _shape_str(tensor.shape), format(owned[name], ','))
          for name, tensor in end_points.items()]
  if orphans:
    rows.append(('(no end point: %s)' % ', '.join(orphan_scopes), '',
                 format(orphans, ',')))
  widths = [max(len(header), max(len(row[i]) for row in rows))
            for i, header in enumerate(('End point', 'Output shape',
                                        'Params'))]
  line = '%-*s  %-*s  %*s'
  header = line % (widths[0], 'End point', widths[1], 'Output shape',
                   widths[2], 'Params')
  trainable_total = sum(_variable_size(v) for v in trainable)
  other_total = sum(_variable_size(v) for v in all_variables) - trainable_total
  print('%s: %dx%d input, batch %d, %s%s%s' % (
      info.name, image_size, image_size, args.batch_size,
      '%d classes' % num_classes if num_classes else 'no logits',
      ', output_stride %d' % args.output_stride if args.output_stride else '',
      ', NCHW (shapes [batch,channels,height,width])'
      if args.data_format == 'NCHW' else ''))
  print(header)
  print('-' * len(header))
  for row in rows:
    print(line % (widths[0], row[0], widths[1], row[1], widths[2], row[2]))
  print('-' * len(header))
  print('Output shape:             %s' % _shape_str(net.shape))
  print('Trainable parameters:     %s' % format(trainable_total, ','))
  print('Non-trainable parameters: %s (batch-norm moving statistics)' %
        format(other_total, ','))
  print('Multiply-adds per image:  %s (%.2f G)' % (format(macs, ','),
                                                   macs / 1e9))
  return 0
