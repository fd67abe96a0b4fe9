"""`slimnets export`: research/slim's export_inference_graph.py, and more.

Three forms of a registered model (`--format`):

  graphdef     (default) the inference GraphDef as export_inference_graph.py
               writes it: a float32 placeholder named 'input' [--batch_size,
               --image_size, --image_size, 3] and the network, no weights.
               Its variables are TF1 reference variables (VariableV2), as
               TF1 wrote them, so TensorFlow's freeze_graph and other tools of
               that workflow take it with a checkpoint. --write_text_graphdef
               writes the text form.
  frozen       a GraphDef with the weights of --checkpoint_path as constants
               (what freeze_graph makes of the one above), pruned to named
               outputs: 'input' in; 'logits', 'predictions' (softmax),
               'classes' (argmax) and the --endpoint end points out (nodes
               named by their short key, e.g. 'global_pool').
  saved_model  a SavedModel folder with the weights of --checkpoint_path and
               a 'serving_default' signature: input 'images' (float32
               [batch, size, size, 3], preprocessed as for evaluation),
               outputs 'logits', 'predictions', 'classes' and the --endpoint
               end points. `tf.saved_model.load(path).signatures[
               'serving_default'](images=x)` runs it in TF2 eager mode.

The class count is the dataset's (--dataset_name, as upstream; a folder
dataset needs --dataset_dir) minus --labels_offset, or --num_classes.
--moving_average_decay takes the weights from the checkpoint's moving
averages, as `slimnets eval` does. --quantize is refused (TensorFlow 2 has
no tf.contrib.quantize). See docs/export.md for loading each form.

Outputs are written in a temporary folder next to --output_file and
published when complete (a SavedModel folder in one rename); an existing
output is never replaced without --force, and an error, SIGINT or SIGTERM
leaves nothing (`slimnets.output_files`).

Typical use:

   slimnets export --model_name=resnet_v2_50 --output_file=/tmp/graph.pb
   slimnets export --model_name=resnet_v2_50 --dataset_name=flowers \\
       --dataset_dir=/tmp/flowers --image_size=128 --format=frozen \\
       --checkpoint_path=/tmp/train --output_file=/tmp/frozen.pb
   slimnets export --format=saved_model --checkpoint_path=/tmp/train \\
       --num_classes=5 --endpoint=global_pool --endpoint=block4 \\
       --output_file=/tmp/resnet_saved_model

From Python: `export(output_file, model_name=..., format=...)` returns a
dict describing what was written.
"""

import collections
import contextlib
import os
import sys

from slimnets import _errors
from slimnets import _flags
from slimnets import evaluate
from slimnets import output_files

FORMATS = ('graphdef', 'frozen', 'saved_model')
INPUT_NAME = 'input'  # export_inference_graph.py's placeholder
SIGNATURE_INPUT = 'images'
SIGNATURE_KEY = 'serving_default'
_FIXED_OUTPUTS = ('logits', 'predictions', 'classes')
# The pooled feature vector; for a net without 'global_pool' (vgg, cifarnet)
# build_model takes `nets.features.pooled_endpoint` when given this object.
DEFAULT_ENDPOINTS = ('global_pool',)

InputError = evaluate.InputError


def _dataset_classes(dataset_name, dataset_dir):
  """The class count of a dataset, without needing its TFRecord files.

  As upstream (which only built the Dataset object): a folder dataset's
  description in dataset_dir wins (see `slimnets.datasets.dataset_factory`),
  then the upstream datasets' constants.
  """
  from slimnets.datasets import dataset_factory  # pylint: disable=import-outside-toplevel
  from slimnets.datasets import folder  # pylint: disable=import-outside-toplevel
  if dataset_dir:
    try:
      metadata = folder.read_metadata(dataset_dir)
    except ValueError as error:
      raise InputError(_errors.one_line(error)) from None
    if metadata is not None and metadata['name'] == dataset_name:
      return metadata['num_classes']
  if dataset_name in dataset_factory.datasets_map:
    return dataset_factory.datasets_map[dataset_name].NUM_CLASSES
  # Unknown here: get_dataset says why (no dataset_dir, another dataset...).
  dataset = evaluate.get_dataset(dataset_name, 'train', dataset_dir or None)
  return dataset.num_classes


def class_count(dataset_name='imagenet', dataset_dir=None, labels_offset=0,
                num_classes=None):
  """The logits size: `num_classes`, or the dataset's minus the offset.

  Returns:
    (class count, the text saying where it comes from).

  Raises:
    InputError: unknown dataset, or no class left.
  """
  if num_classes is None:
    dataset_classes = _dataset_classes(dataset_name, dataset_dir)
    num_classes = dataset_classes - labels_offset
    source = 'dataset %s has %d classes, --labels_offset %d' % (
        dataset_name, dataset_classes, labels_offset)
  else:
    source = '--num_classes %d' % num_classes
  if num_classes < 1:
    raise InputError('no classes to export: %s' % source)
  return num_classes, source


def _short_key(key, end_points):
  prefix = [k.split('/', 1)[0] for k in end_points if '/' in k]
  head = prefix[0] + '/' if prefix else ''
  return key[len(head):] if head and key.startswith(head) else key


def _output_keys(selected, end_points):
  """Output name of each selected end point: its key without the scope.

  The full key when the short one is taken (e.g. 'logits').
  """
  keys = collections.OrderedDict()
  taken = set(_FIXED_OUTPUTS) | {SIGNATURE_INPUT, INPUT_NAME}
  for key in selected:
    short = _short_key(key, end_points)
    name = short if short not in taken else key
    taken.add(name)
    keys[key] = name
  return keys


def _input_shape(model_name, image_size, batch_size, num_frames):
  """The placeholder's shape: [batch, (frames,) size, size, 3].

  Raises:
    InputError: --is_video_model (num_frames given) for an image model, or
      none for a video model.
  """
  from nets import registry  # pylint: disable=import-outside-toplevel
  video = model_name in registry.list_models() and (
      registry.get_model(model_name).num_frames)
  if num_frames is None:
    if video:
      raise InputError('--model_name=%s is a video model: pass '
                       '--is_video_model (and --num_frames, default %d)' %
                       (model_name, registry.get_model(model_name).num_frames))
    return [batch_size, image_size, image_size, 3]
  if not video:
    raise InputError('--is_video_model: %s takes images, not clips' %
                     model_name)
  if num_frames < 1:
    raise InputError('--num_frames must be at least 1, got %d' % num_frames)
  return [batch_size, num_frames, image_size, image_size, 3]


def build_model(model_name, num_classes, image_size=None, batch_size=None,
                is_training=False, ref_variables=False, endpoints=None,
                num_frames=None):
  """Builds the export graph of `model_name` in a new graph.

  Args:
    model_name: a registered model.
    num_classes: logits size.
    image_size: input height and width (default: the model's).
    batch_size: fixed batch size, or None for any.
    is_training: build the training form (batch statistics, dropout).
    ref_variables: TF1 reference variables (VariableV2) instead of resource
      variables.
    endpoints: None (the GraphDef form: no extra outputs), or end-point
      names/patterns (see `nets.features.select_endpoints`) to add as named
      outputs next to 'logits', 'predictions' and 'classes';
      DEFAULT_ENDPOINTS is the pooled feature vector ('global_pool', or
      `nets.features.pooled_endpoint` for a net without one).
    num_frames: clip length of a video model (--is_video_model); None for
      image models.

  Returns:
    A dict: 'graph', 'input' (the placeholder 'input'), 'logits',
    'end_points', 'image_size', 'outputs' (output name -> tensor, named
    after it in the graph; empty when `endpoints` is None).

  Raises:
    InputError: unknown model or end point, or an unusable image size.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from nets import features  # pylint: disable=import-outside-toplevel
  evaluate.check_image_size(image_size, 'image_size')
  if batch_size is not None and batch_size < 1:
    raise InputError('--batch_size must be at least 1, got %d' % batch_size)
  # The video check first: its refusal names --is_video_model.
  _input_shape(model_name, image_size, batch_size, num_frames)
  network = evaluate.network_fn(model_name, num_classes, is_training,
                                video=num_frames is not None)
  image_size = image_size or network.default_image_size
  shape = _input_shape(model_name, image_size, batch_size, num_frames)
  graph = tf.Graph()
  with graph.as_default():
    placeholder = tf.compat.v1.placeholder(tf.float32, shape, name=INPUT_NAME)
    with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(),
                                     use_resource=not ref_variables):
      try:
        logits, end_points = network(placeholder)
      except (ValueError, TypeError) as error:
        raise InputError('%s: %s' % (model_name, _errors.one_line(error))) from None
    evaluate.check_end_points(model_name, image_size, end_points,
                              'image_size')
    outputs = collections.OrderedDict()
    if endpoints is DEFAULT_ENDPOINTS and 'global_pool' not in end_points:
      endpoints = [features.pooled_endpoint(model_name)]
    if endpoints is not None:
      try:
        selected = features.select_endpoints(list(end_points), endpoints)
      except ValueError as error:
        raise InputError('--endpoint: %s' % _errors.one_line(error)) from None
      outputs['logits'] = tf.identity(logits, name='logits')
      outputs['predictions'] = tf.nn.softmax(logits, name='predictions')
      outputs['classes'] = tf.argmax(logits, 1, name='classes')
      for key, name in _output_keys(selected, end_points).items():
        outputs[name] = tf.identity(end_points[key], name=name)
  return {'graph': graph, 'input': placeholder, 'logits': logits,
          'end_points': end_points, 'image_size': image_size,
          'outputs': outputs}


def _restore_session(built, checkpoint, model_name, moving_average_decay,
                     classes_source):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  graph = built['graph']
  names_to_variables = evaluate.restore_map(graph, moving_average_decay)
  evaluate.check_checkpoint(checkpoint, names_to_variables, model_name,
                            classes_hint=classes_source)
  sess = tf.compat.v1.Session(graph=graph)
  try:
    evaluate.restore(sess, checkpoint, names_to_variables)
  except BaseException:
    sess.close()
    raise
  return sess


@contextlib.contextmanager
def _tf_write_errors(output_file):
  """TensorFlow's file errors (gfile: tf.io.write_graph, SavedModel) as
  OutputError naming the output."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  try:
    yield
  except tf.errors.OpError as error:
    raise output_files.write_error(output_file, error) from None


def _write_graph_def(graph_def, path, as_text):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if as_text:
    tf.io.write_graph(graph_def, os.path.dirname(path),
                      os.path.basename(path), as_text=True)
  else:
    with open(path, 'wb') as f:
      f.write(graph_def.SerializeToString())


def _frozen_graph_def(sess, built):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  names = [t.op.name for t in built['outputs'].values()]
  with built['graph'].as_default():
    frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
        sess, built['graph'].as_graph_def(), names)
  return frozen


def _save_model(sess, built, path, as_text):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  with built['graph'].as_default():
    signature = (tf.compat.v1.saved_model.signature_def_utils
                 .predict_signature_def(
                     inputs={SIGNATURE_INPUT: built['input']},
                     outputs=dict(built['outputs'])))
    builder = tf.compat.v1.saved_model.Builder(path)
    builder.add_meta_graph_and_variables(
        sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
        signature_def_map={SIGNATURE_KEY: signature},
        strip_default_attrs=True)
    builder.save(as_text=as_text)


def _size_of(path):
  if os.path.isdir(path):
    return sum(os.path.getsize(os.path.join(root, f))
               for root, _, files in os.walk(path) for f in files)
  return os.path.getsize(path)


def _shape_str(shape):
  if shape.rank is None:
    return '?'
  return '[%s]' % ','.join('?' if d is None else str(d)
                           for d in shape.as_list())


def export(output_file, model_name='resnet_v2_50', format='graphdef',  # pylint: disable=redefined-builtin
           checkpoint_path=None, is_training=False, image_size=None,
           batch_size=None, dataset_name='imagenet', dataset_dir=None,
           labels_offset=0, num_classes=None, write_text_graphdef=False,
           endpoints=None, moving_average_decay=None, force=False,
           num_frames=None):
  """Writes one form of `model_name` to `output_file` (module docstring).

  Args are the flags of `slimnets export` (see `add_parser`); `endpoints`
  None is the pooled feature vector (`nets.features.pooled_endpoint`:
  'global_pool' for most families); `num_frames` None exports an image model, a
  number a video model (--is_video_model).

  Returns:
    A dict: 'format', 'output', 'bytes', 'model', 'num_classes',
    'image_size', 'checkpoint', 'input' and each of 'outputs' (a list) as
    (name or signature key, graph tensor name, shape), 'text'.

  Raises:
    InputError: bad input (one line).
    FileExistsError, output_files.OutputError: the output is taken or cannot
      be written.
  """
  if format not in FORMATS:
    raise InputError('--format must be one of %s, got %r' %
                     (', '.join(FORMATS), format))
  if not output_file:
    raise InputError('You must supply the path to save to with --output_file')
  with_weights = format != 'graphdef'
  if with_weights and not checkpoint_path:
    raise InputError('--format=%s needs --checkpoint_path (the weights)' %
                     format)
  if not with_weights and checkpoint_path:
    raise InputError('--format=graphdef has no weights (as '
                     'export_inference_graph.py); pass --format=frozen or '
                     'saved_model to export those of --checkpoint_path')
  if not with_weights and endpoints:
    raise InputError("--endpoint adds outputs to --format=frozen or "
                     "saved_model; the graphdef is export_inference_graph.py's "
                     "(every end point is in it, under its graph name)")
  if not with_weights and moving_average_decay:
    raise InputError('--moving_average_decay needs --format=frozen or '
                     'saved_model')
  out_dir = os.path.dirname(os.path.abspath(output_file))
  if not os.path.isdir(out_dir):
    raise InputError('output folder does not exist: %s' % out_dir)
  if os.path.lexists(output_file) and not force:
    raise InputError('%s already exists; pass --force to replace it' %
                     output_file)
  # Now rather than after building the graph (read-only folder).
  output_files.check_writable(out_dir)
  checkpoint = evaluate.resolve_checkpoint(checkpoint_path) if (
      with_weights) else None
  num_classes, classes_source = class_count(dataset_name, dataset_dir,
                                            labels_offset, num_classes)
  built = build_model(
      model_name, num_classes, image_size=image_size, batch_size=batch_size,
      is_training=is_training, ref_variables=not with_weights,
      endpoints=((list(endpoints) if endpoints else DEFAULT_ENDPOINTS)
                 if with_weights else None), num_frames=num_frames)

  temp = output_files.TempDir(out_dir, 'export')
  sess = None
  try:
    if with_weights:
      sess = _restore_session(built, checkpoint, model_name,
                              moving_average_decay, classes_source)
    target = temp.file('saved_model' if format == 'saved_model' else
                       'graph.pb')
    with output_files.writing(output_file), _tf_write_errors(output_file):
      if format == 'graphdef':
        _write_graph_def(built['graph'].as_graph_def(), target,
                         write_text_graphdef)
      elif format == 'frozen':
        _write_graph_def(_frozen_graph_def(sess, built), target,
                         write_text_graphdef)
      else:
        _save_model(sess, built, target, write_text_graphdef)
      size = _size_of(target)
      if format == 'saved_model':
        output_files.publish_directory(target, output_file, force)
      else:
        temp.publish([(target, output_file)], force)
  finally:
    if sess is not None:
      sess.close()
    temp.remove()

  if with_weights:
    outputs = [(name, tensor.name, _shape_str(tensor.shape))
               for name, tensor in built['outputs'].items()]
  else:
    logits = built['logits']
    predictions = built['end_points'].get('predictions')
    outputs = [('logits', logits.name, _shape_str(logits.shape))]
    if predictions is not None:
      outputs.append(('predictions', predictions.name,
                      _shape_str(predictions.shape)))
  return {
      'format': format, 'output': output_file, 'bytes': size,
      'model': model_name, 'num_classes': num_classes,
      'image_size': built['image_size'], 'checkpoint': checkpoint,
      'input': (SIGNATURE_INPUT if format == 'saved_model' else INPUT_NAME,
                built['input'].name, _shape_str(built['input'].shape)),
      'outputs': outputs, 'text': bool(write_text_graphdef),
  }


_DESCRIPTIONS = {
    'graphdef': 'inference GraphDef (no weights)',
    'frozen': 'frozen GraphDef',
    'saved_model': 'SavedModel',
}


def _print_summary(summary, out):
  print('Wrote %s %s (%.1f MB): %s, %d classes, %dx%d input%s' % (
      _DESCRIPTIONS[summary['format']], summary['output'],
      summary['bytes'] / 1e6, summary['model'], summary['num_classes'],
      summary['image_size'], summary['image_size'],
      ', weights of %s' % summary['checkpoint'] if summary['checkpoint']
      else ''), file=out)
  if summary['format'] == 'saved_model':
    print("signature '%s' (tf.saved_model.load(path).signatures['%s']), "
          'key, graph tensor, shape:' % (SIGNATURE_KEY, SIGNATURE_KEY),
          file=out)
  else:
    print('name, graph tensor, shape:', file=out)
  rows = [('in',) + summary['input']]
  rows += [('out',) + row for row in summary['outputs']]
  widths = [max(len(row[i]) for row in rows) for i in range(4)]
  for row in rows:
    print('  ' + '  '.join('%-*s' % (w, cell) for w, cell in zip(widths, row))
          .rstrip(), file=out)
  if summary['format'] == 'graphdef':
    print('freeze it with a checkpoint: slimnets export --format=frozen, or '
          'freeze_graph --input_graph=%s --input_binary=%s '
          '--output_node_names=%s' % (
              summary['output'],
              'false' if summary['text'] else 'true',
              summary['outputs'][-1][1].split(':')[0]), file=out)


# --- command line -------------------------------------------------------------


def _endpoint_list(values):
  if not values:
    return None
  names = []
  for value in values:
    names.extend(part for part in value.split(',') if part)
  return names


def add_parser(subparsers):
  """Adds `slimnets export` to `subparsers` (sets its `run` default)."""
  import argparse  # pylint: disable=import-outside-toplevel
  parser = subparsers.add_parser(
      'export', help="export a model's inference GraphDef (research/slim's "
      'export_inference_graph.py), frozen GraphDef or SavedModel',
      description=__doc__.split('From Python:')[0],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  _flags.add(parser, 'model_name', 'resnet_v2_50',
             'The name of the architecture to save (`slimnets list` names '
             'them).')
  _flags.add_bool(parser, 'is_training', False,
                  'Whether to save out a training-focused version of the '
                  'model.')
  _flags.add(parser, 'image_size', None,
             'The image size to use, otherwise use the model '
             'default_image_size.', type_=int)
  _flags.add(parser, 'batch_size', None,
             'Batch size for the exported model. Defaulted to "None" so batch '
             'size can be specified at model runtime.', type_=int)
  _flags.add(parser, 'dataset_name', 'imagenet',
             'The name of the dataset to use with the model (its class '
             'count).')
  _flags.add(parser, 'labels_offset', 0,
             'An offset for the labels in the dataset. This flag is primarily '
             'used to evaluate the VGG and ResNet architectures which do not '
             'use a background class for the ImageNet dataset.')
  _flags.add(parser, 'output_file', '', 'Where to save the resulting file '
             'to (a folder for --format=saved_model).')
  _flags.add(parser, 'dataset_dir', '',
             'Directory of the dataset files (needed for the class count of '
             'a folder dataset written by `slimnets dataset`).')
  _flags.add_bool(parser, 'write_text_graphdef', False,
                  'Whether to write a text version of graphdef (of the '
                  'saved_model.pb for --format=saved_model).')
  _flags.add_bool(parser, 'use_grayscale', False,
                  'Whether to convert input images to grayscale (the '
                  'preprocessing does it; the input stays 3 channels).')
  _flags.add_bool(parser, 'quantize', False,
                  'whether to use quantized graph or not (refused: '
                  'TensorFlow 2 has no tf.contrib.quantize).')
  _flags.add_bool(parser, 'is_video_model', False,
                  'whether to use 5-D inputs for video model (i3d, s3dg).')
  _flags.add(parser, 'num_frames', None,
             'The number of frames to use. Only used if is_video_model is '
             'True (default: the model\'s, 64 for i3d and s3dg).', type_=int)
  group = parser.add_argument_group('slimnets additions')
  _flags.add(group, 'format', 'graphdef',
             'graphdef (as export_inference_graph.py: no weights), frozen '
             '(GraphDef with the weights of --checkpoint_path as constants) '
             'or saved_model (a SavedModel folder with a serving_default '
             'signature).', metavar='{graphdef,frozen,saved_model}')
  _flags.add(group, 'checkpoint_path', None,
             'The checkpoint (prefix, file or folder: its latest) whose '
             'weights --format=frozen and saved_model export.')
  _flags.add(group, 'endpoint', None,
             "End point(s) to output besides logits, predictions and classes "
             "(frozen, saved_model): names or patterns, e.g. 'global_pool', "
             "'block4' (repeat or comma-separate; default the pooled features: "
             "global_pool, or e.g. vgg_16/fc7 where a net has none).",
             action='append', metavar='ENDPOINT')
  _flags.add(group, 'num_classes', None,
             'Logits size, instead of the dataset\'s class count minus '
             '--labels_offset.', type_=int)
  _flags.add(group, 'moving_average_decay', None,
             'Export the moving averages of the weights (as slimnets eval '
             'with this flag); frozen and saved_model only.', type_=float)
  group.add_argument('--force', action='store_true',
                     help='replace an existing output')
  parser.set_defaults(run=run)


def _num_frames(args):
  """--num_frames of a --is_video_model export (default the model's)."""
  from nets import registry  # pylint: disable=import-outside-toplevel
  if not args.is_video_model:
    if args.num_frames is not None:
      raise InputError('--num_frames is only used with --is_video_model')
    return None
  if args.num_frames is not None:
    return args.num_frames
  if args.model_name in registry.list_models():
    return registry.get_model(args.model_name).num_frames or 1
  return 1


def run(args):
  """Runs `slimnets export`; returns the exit status."""
  from slimnets import cli  # pylint: disable=import-outside-toplevel
  try:
    evaluate.refuse_quantize(args)
    num_frames = _num_frames(args)
    summary = export(
        args.output_file, model_name=args.model_name, format=args.format,
        checkpoint_path=args.checkpoint_path, is_training=args.is_training,
        image_size=args.image_size, batch_size=args.batch_size,
        dataset_name=args.dataset_name, dataset_dir=args.dataset_dir,
        labels_offset=args.labels_offset, num_classes=args.num_classes,
        write_text_graphdef=args.write_text_graphdef,
        endpoints=_endpoint_list(args.endpoint),
        moving_average_decay=args.moving_average_decay, force=args.force,
        num_frames=num_frames)
  except (InputError, OSError) as error:  # OSError: OutputError, taken
    raise cli.CommandError(_errors.one_line(error)) from None
  _print_summary(summary, sys.stdout)
  return 0
