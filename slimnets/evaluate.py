"""`slimnets eval`: research/slim's eval_image_classifier.py on TensorFlow 2.

Evaluates a checkpoint of a registered model on one split of a dataset
(`slimnets.datasets`) in graph mode: the split is read once, in order
(`dataset.read(shuffle=False, num_epochs=1)`), preprocessed for evaluation
(`slimnets.preprocessing.preprocessing_factory`, `is_training=False`),
batched (the last, partial batch included) and run through the network in a
`tf.compat.v1.Session` with the checkpoint's weights. Upstream's flags keep
their names, defaults and meanings (see `add_parser`); `--quantize` is
refused (TensorFlow 2 has no tf.contrib.quantize).

Metrics, with slim's names and definitions (`slim.metrics.streaming_*`):

  Accuracy   the fraction of images whose argmax logit is their label
             (`tf.compat.v1.metrics.accuracy`).
  Recall_5   the fraction whose label is among the 5 largest logits
             (`tf.math.in_top_k`, as slim's streaming_recall_at_k).

Labels are the dataset's minus --labels_offset (1 for checkpoints without
the background class, e.g. ResNet v1 on slim's 1001-class ImageNet). The
whole split is evaluated, or its first --max_num_batches batches. With
--moving_average_decay the model variables are restored from their
`ExponentialMovingAverage` shadows in the checkpoint (upstream's
`variables_to_restore`), the weights train_image_classifier.py averages.

The values are printed as upstream's tf.Print shows them
(`eval/Accuracy[0.75]`), then in one summary line, and written to --eval_dir
as a TensorBoard event file (tags `eval/Accuracy`, `eval/Recall_5`, at the
checkpoint's global step, with the graph). The event file is written in a
temporary folder and published when complete, so a failed or interrupted
run leaves nothing there (`slimnets.output_files`).

Bad input (an unknown model, dataset or split, missing, empty or corrupt
TFRecords, a missing checkpoint or one of another model) is one line on
stderr and exit status 2; the line names the first missing or mismatched
variable of a wrong checkpoint.

Typical use:

   slimnets eval --checkpoint_path=/tmp/train --dataset_name=flowers \\
       --dataset_split_name=validation --dataset_dir=/tmp/flowers \\
       --model_name=resnet_v2_50 --eval_image_size=128 --eval_dir=/tmp/eval

From Python: `evaluate(checkpoint_path=..., dataset_name=..., ...)` returns
a dict with 'Accuracy', 'Recall_5', 'images', 'batches', 'global_step'.
"""

import math
import os
import re
import sys
import time
import uuid

from slimnets import _errors
from slimnets import _flags
from slimnets import output_files

METRIC_NAMES = ('Accuracy', 'Recall_5')
_RECALL_K = 5
_EMA_SUFFIX = 'ExponentialMovingAverage'


class InputError(ValueError):
  """Bad input to eval or export (one line; exit status 2 on the CLI)."""


# --- checkpoints (shared with slimnets.export) --------------------------------

_DATA_SUFFIX = re.compile(r'\.data-\d{5}-of-\d{5}$')


def resolve_checkpoint(path):
  """The checkpoint prefix that `path` names.

  Args:
    path: a checkpoint prefix (`model.ckpt-100`), one of its files
      (`.index`, `.meta`, `.data-00000-of-00001`), or a folder (its latest
      checkpoint, as upstream's `tf.train.latest_checkpoint`).

  Returns:
    The prefix.

  Raises:
    InputError: no checkpoint there (one line).
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if not path:
    raise InputError('--checkpoint_path is required')
  if os.path.isdir(path):
    found = tf.train.latest_checkpoint(path)
    if not found:
      raise InputError('no checkpoint in folder %s (its "checkpoint" file '
                       'is missing or names a checkpoint that is gone)' % path)
    return found
  prefix = path
  if prefix.endswith('.index') or prefix.endswith('.meta'):
    prefix = prefix.rsplit('.', 1)[0]
  prefix = _DATA_SUFFIX.sub('', prefix)
  if os.path.exists(prefix + '.index'):
    return prefix
  if os.path.isfile(path):  # a V1 checkpoint is a single file
    return path
  raise InputError('no such checkpoint: %s' % path)


def restore_map(graph, moving_average_decay=None):
  """Checkpoint name -> variable of `graph`, as upstream restores them.

  Without `moving_average_decay`, every global variable under its own name.
  With it, the model variables from their moving averages
  (`<name>/ExponentialMovingAverage`, upstream's
  `ExponentialMovingAverage.variables_to_restore(slim.get_model_variables())`)
  and the other global variables under their own names. The global step is
  left out: `restore` reads it when the checkpoint has one.

  Args:
    graph: the graph holding the model.
    moving_average_decay: None/0, or the decay (only its truth matters: the
      shadow variables' names do not depend on it).

  Returns:
    An ordered dict, in variable creation order.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  with graph.as_default():
    step = tf.compat.v1.train.get_global_step()
    variables = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
    model_variables = set(v.ref() for v in graph.get_collection(
        tf.compat.v1.GraphKeys.MODEL_VARIABLES))
  result = {}
  for variable in variables:
    if step is not None and variable is step:
      continue
    name = variable.op.name
    if moving_average_decay and variable.ref() in model_variables:
      name = '%s/%s' % (name, _EMA_SUFFIX)
    result[name] = variable
  return result


def check_checkpoint(checkpoint, names_to_variables, model_name,
                     classes_hint=None):
  """Checks that `checkpoint` has every variable, same shape and dtype.

  Args:
    checkpoint: a resolved checkpoint prefix.
    names_to_variables: checkpoint name -> variable (`restore_map`).
    model_name: the model, for the messages.
    classes_hint: text saying where the model's class count comes from, added
      to the message of a mismatched logits shape.

  Raises:
    InputError: naming the first missing or mismatched variable.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  try:
    reader = tf.train.load_checkpoint(checkpoint)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
  except (tf.errors.OpError, ValueError) as error:
    raise InputError('cannot read checkpoint %s: %s' %
                     (checkpoint, _errors.one_line(error))) from None
  found = sum(name in shapes for name in names_to_variables)
  for name, variable in names_to_variables.items():
    shape = variable.shape.as_list()
    if name not in shapes:
      if name.endswith('/' + _EMA_SUFFIX) and name[:-len(_EMA_SUFFIX) - 1] in (
          shapes):
        raise InputError(
            'checkpoint %s has no moving average %s (--moving_average_decay '
            'restores the averages: was the model trained with '
            '--moving_average_decay?)' % (checkpoint, name))
      heads = sorted({key.split('/', 1)[0] for key in shapes
                      if '/' in key and not key.startswith('global_step')})
      hint = ''
      if not found and heads:
        hint = '; is it a checkpoint of another model? its variables are ' \
               'under %s' % ', '.join(h + '/' for h in heads[:3])
      raise InputError(
          'checkpoint %s has no variable %s (shape %s) needed by %s (%d of '
          'its %d variables found)%s' %
          (checkpoint, name, shape, model_name, found,
           len(names_to_variables), hint))
    if list(shapes[name]) != shape:
      hint = ''
      if classes_hint and '/logits/' in '/' + name:
        hint = ' (%s)' % classes_hint
      raise InputError(
          'variable %s has shape %s in checkpoint %s but %s in %s%s' %
          (name, list(shapes[name]), checkpoint, shape, model_name, hint))
    dtype = variable.dtype.base_dtype
    if dtypes[name] != dtype:
      raise InputError(
          'variable %s has dtype %s in checkpoint %s but %s in %s' %
          (name, dtypes[name].name, checkpoint, dtype.name, model_name))


def restore(sess, checkpoint, names_to_variables):
  """Restores the variables, and the global step when the checkpoint has it.

  Variables `names_to_variables` leaves out (the global step of a checkpoint
  without one) are initialized.

  Returns:
    The global step (0 when the checkpoint has none).

  Raises:
    InputError: the checkpoint cannot be read (e.g. a truncated data file).
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  graph = sess.graph
  with graph.as_default():
    step = tf.compat.v1.train.get_global_step()
    var_list = dict(names_to_variables)
    if step is not None and tf.train.load_checkpoint(checkpoint).has_tensor(
        step.op.name):
      var_list[step.op.name] = step
    restored = set(v.ref() for v in var_list.values())
    rest = [v for v in graph.get_collection(
        tf.compat.v1.GraphKeys.GLOBAL_VARIABLES) if v.ref() not in restored]
    saver = tf.compat.v1.train.Saver(var_list)
    sess.run(tf.compat.v1.variables_initializer(rest))
    try:
      saver.restore(sess, checkpoint)
    except tf.errors.OpError as error:
      raise InputError('cannot restore checkpoint %s: %s' %
                       (checkpoint, _errors.one_line(error))) from None
  return int(sess.run(step)) if step is not None else 0


def get_dataset(dataset_name, split_name, dataset_dir):
  """`dataset_factory.get_dataset`, its ValueErrors as InputError."""
  from slimnets.datasets import dataset_factory  # pylint: disable=import-outside-toplevel
  try:
    return dataset_factory.get_dataset(dataset_name, split_name, dataset_dir)
  except ValueError as error:
    raise InputError(_errors.one_line(error)) from None


def check_image_model(model_name):
  """Raises ValueError for a video model: the commands read image datasets.

  (An unknown name passes; the factory lists the known ones.)
  """
  from nets import registry  # pylint: disable=import-outside-toplevel
  if (model_name in registry.list_models() and
      registry.get_model(model_name).num_frames):
    raise ValueError(
        '--model_name=%s is a video model (clips [batch, frames, height, '
        'width, 3]); train, eval and export read image datasets. Build it '
        'from Python (nets.%s), or run `slimnets extract` on still images'
        % (model_name, registry.get_model(model_name).family))


def network_fn(model_name, num_classes, is_training=False, video=False):
  """`nets_factory.get_network_fn`; an unknown name, or a video model unless
  `video` (export's --is_video_model), as InputError."""
  from nets import nets_factory  # pylint: disable=import-outside-toplevel
  try:
    if not video:
      check_image_model(model_name)
    return nets_factory.get_network_fn(model_name, num_classes=num_classes,
                                       is_training=is_training)
  except ValueError as error:
    raise InputError(_errors.one_line(error)) from None


def check_image_size(image_size, flag):
  """Refuses an image size below 1 (None: the model's default)."""
  if image_size is not None and image_size < 1:
    raise InputError('--%s must be at least 1, got %d' % (flag, image_size))


def check_end_points(model_name, image_size, end_points, flag):
  """Refuses an input size at which an end point is empty."""
  for name, tensor in end_points.items():
    dims = tensor.shape.as_list() if tensor.shape.rank else []
    if 0 in dims:
      raise InputError('%s: --%s %d is too small: end point %s is empty '
                       '(shape %s)' % (model_name, flag, image_size, name,
                                       dims))


# --- evaluation ---------------------------------------------------------------


def _format_value(value):
  """A float32 as tf.Print shows it: its shortest round-trip digits."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  return np.format_float_positional(np.float32(value), trim='-')


def _progress(total, enabled):
  if not enabled:
    return None
  try:
    import tqdm  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  return tqdm.tqdm(total=total, unit='batch', file=sys.stderr,
                   dynamic_ncols=True, leave=False)


def _check_master(master):
  if not master:
    return
  from slimnets.deployment import cluster  # pylint: disable=import-outside-toplevel
  try:
    cluster.check_master(master)
  except ValueError as error:
    raise InputError(_errors.one_line(error)) from None


def build_eval_graph(dataset, model_name, batch_size=100,
                     max_num_batches=None, labels_offset=0,
                     preprocessing_name=None, eval_image_size=None,
                     use_grayscale=False, num_preprocessing_threads=4):
  """Builds the input pipeline, the network and the metrics (current graph).

  Args:
    dataset: a `slimnets.datasets` Dataset.
    model_name, batch_size, max_num_batches, labels_offset,
      preprocessing_name, eval_image_size, use_grayscale,
      num_preprocessing_threads: as the flags (see `add_parser`).

  Returns:
    A dict: 'logits', 'labels' (minus the offset), 'count' (images in the
    batch), 'outside' (labels outside [0, classes) in the batch), 'values'
    and 'updates' (metric name -> tensor / update op), 'image_size',
    'num_classes', 'end_points'.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from slimnets.preprocessing import preprocessing_factory  # pylint: disable=import-outside-toplevel
  num_classes = dataset.num_classes - labels_offset
  if num_classes < 1:
    raise InputError('dataset %s has %d classes: --labels_offset %d leaves '
                     'none' % (dataset.name, dataset.num_classes,
                               labels_offset))
  network = network_fn(model_name, num_classes)
  image_size = eval_image_size or network.default_image_size
  try:
    preprocess = preprocessing_factory.get_preprocessing(
        preprocessing_name or model_name, is_training=False,
        use_grayscale=use_grayscale)
  except ValueError as error:
    raise InputError(_errors.one_line(error)) from None

  def prepare(item):
    image = preprocess(item['image'], image_size, image_size)
    return image, item['label'] - labels_offset

  data = dataset.read(shuffle=False, num_epochs=1)
  data = data.map(prepare, num_parallel_calls=max(1, num_preprocessing_threads),
                  deterministic=True)
  # Not drop_remainder: upstream runs ceil(num_samples / batch_size) batches.
  data = data.batch(batch_size)
  if max_num_batches:
    data = data.take(max_num_batches)
  data = data.prefetch(2)
  images, labels = tf.compat.v1.data.make_one_shot_iterator(data).get_next()
  labels = tf.reshape(labels, [-1])
  try:
    logits, end_points = network(images)
  except (ValueError, TypeError) as error:
    raise InputError('%s: %s' % (model_name, _errors.one_line(error))) from None
  check_end_points(model_name, image_size, end_points, 'eval_image_size')
  predictions = tf.argmax(logits, 1)
  # The metric scopes get slim's names (aggregate_metric_map's keys).
  accuracy = tf.compat.v1.metrics.accuracy(labels, predictions,
                                           name='Accuracy')
  in_top_k = tf.math.in_top_k(labels, logits, _RECALL_K)
  recall = tf.compat.v1.metrics.mean(tf.cast(in_top_k, tf.float32),
                                     name='Recall_%d' % _RECALL_K)
  outside = tf.reduce_sum(tf.cast(
      tf.logical_or(labels < 0, labels >= num_classes), tf.int32))
  return {
      'logits': logits, 'labels': labels, 'count': tf.size(labels),
      'outside': outside, 'end_points': end_points,
      'values': {'Accuracy': accuracy[0], 'Recall_5': recall[0]},
      'updates': {'Accuracy': accuracy[1], 'Recall_5': recall[1]},
      'image_size': image_size, 'num_classes': num_classes,
  }


def _check_eval_dir(eval_dir):
  """Raises OutputError now, not after the evaluation, if it is unwritable."""
  existing = os.path.abspath(eval_dir)
  while not os.path.isdir(existing):
    if os.path.lexists(existing):
      raise output_files.OutputError('cannot write %s: %s is not a folder' %
                                     (eval_dir, existing))
    existing = os.path.dirname(existing)
  output_files.check_writable(existing)


def _write_summaries(eval_dir, graph, values, global_step):
  """An event file with eval/<metric> at `global_step`, published whole."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  try:
    os.makedirs(eval_dir, exist_ok=True)
  except OSError as error:
    raise output_files.write_error(eval_dir, error) from None
  temp = output_files.TempDir(eval_dir, 'eval')
  try:
    with output_files.writing(eval_dir), graph.as_default():
      # A unique suffix: two runs in the same second on this host would
      # otherwise name their files alike.
      writer = tf.compat.v1.summary.FileWriter(
          temp.path, graph=graph,
          filename_suffix='.%d.%s' % (os.getpid(), uuid.uuid4().hex[:6]))
      summary = tf.compat.v1.Summary(value=[
          tf.compat.v1.Summary.Value(tag='eval/%s' % name,
                                     simple_value=float(value))
          for name, value in values.items()])
      writer.add_summary(summary, global_step)
      writer.close()
      names = [n for n in os.listdir(temp.path) if 'tfevents' in n]
      pairs = [(temp.file(n), os.path.join(eval_dir, n)) for n in names]
      return temp.publish(pairs, force=False)[0]
  finally:
    temp.remove()


def evaluate(checkpoint_path, dataset_name, dataset_dir,
             dataset_split_name='test', model_name='resnet_v2_50',
             batch_size=100, max_num_batches=None, master='',
             eval_dir=None, num_preprocessing_threads=4, labels_offset=0,
             preprocessing_name=None, moving_average_decay=None,
             eval_image_size=None, use_grayscale=False, progress=False,
             log=None):
  """Evaluates a checkpoint on a dataset split (see the module docstring).

  Args are the flags of `slimnets eval` (see `add_parser`); `eval_dir` None
  writes no event file; `progress` shows a progress bar on stderr; `log`
  gets the printed lines (default stdout).

  Returns:
    A dict: 'Accuracy', 'Recall_5' (floats), 'images', 'batches',
    'global_step', 'checkpoint', 'event_file' (or None), 'seconds'.

  Raises:
    InputError: bad input (one line).
    output_files.OutputError: eval_dir cannot be written.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  log = log or sys.stdout
  start = time.time()
  if not dataset_dir:
    raise InputError('You must supply the dataset directory with '
                     '--dataset_dir')
  if batch_size < 1:
    raise InputError('--batch_size must be at least 1, got %d' % batch_size)
  if max_num_batches is not None and max_num_batches < 0:
    raise InputError('--max_num_batches must be 0 (all) or more, got %d' %
                     max_num_batches)
  check_image_size(eval_image_size, 'eval_image_size')
  checkpoint = resolve_checkpoint(checkpoint_path)
  graph = tf.Graph()
  with graph.as_default():
    # In the graph: the decoder's default values are tensors made here.
    dataset = get_dataset(dataset_name, dataset_split_name, dataset_dir)
    try:
      dataset.check()
    except ValueError as error:
      raise InputError(_errors.one_line(error)) from None
    if eval_dir:
      _check_eval_dir(eval_dir)
    _check_master(master)
    tf.compat.v1.train.get_or_create_global_step()
    pipe = build_eval_graph(
        dataset, model_name, batch_size=batch_size,
        max_num_batches=max_num_batches, labels_offset=labels_offset,
        preprocessing_name=preprocessing_name,
        eval_image_size=eval_image_size, use_grayscale=use_grayscale,
        num_preprocessing_threads=num_preprocessing_threads)
    names_to_variables = restore_map(graph, moving_average_decay)
    check_checkpoint(
        checkpoint, names_to_variables, model_name,
        classes_hint='%d classes: dataset %s has %d, --labels_offset %d' %
        (pipe['num_classes'], dataset_name, dataset.num_classes,
         labels_offset))
    local_init = tf.compat.v1.local_variables_initializer()
  if max_num_batches:
    num_batches = max_num_batches
  else:
    num_batches = int(math.ceil(dataset.num_samples / float(batch_size)))

  images = batches = outside = 0
  bar = None
  with tf.compat.v1.Session(target=master, graph=graph) as sess:
    global_step = restore(sess, checkpoint, names_to_variables)
    sess.run(local_init)
    print('Evaluating %s' % checkpoint, file=log, flush=True)
    bar = _progress(num_batches, progress)
    fetches = (pipe['count'], pipe['outside'], list(pipe['updates'].values()))
    try:
      while True:
        try:
          count, out, _ = sess.run(fetches)
        except tf.errors.OutOfRangeError:
          break
        images += int(count)
        outside += int(out)
        batches += 1
        if bar is not None:
          bar.update(1)
    except tf.errors.OpError as error:
      raise InputError('cannot evaluate %s/%s (%s): %s' % (
          dataset_name, dataset_split_name, dataset_dir,
          _errors.one_line(error))) from None
    finally:
      if bar is not None:
        bar.close()
    if not images:
      raise InputError('dataset %s/%s in %s has no images' %
                       (dataset_name, dataset_split_name, dataset_dir))
    values = sess.run(pipe['values'])
  seconds = time.time() - start
  if outside:
    print('note: %d of %d labels fall outside [0, %d) after --labels_offset '
          '%d: counted as wrong' % (outside, images, pipe['num_classes'],
                                    labels_offset), file=sys.stderr)
  if not max_num_batches and images != dataset.num_samples:
    print('note: read %d images, the dataset says %s/%s has %d' %
          (images, dataset_name, dataset_split_name, dataset.num_samples),
          file=sys.stderr)
  for name in METRIC_NAMES:
    print('eval/%s[%s]' % (name, _format_value(values[name])), file=log)
  event_file = None
  if eval_dir:
    event_file = _write_summaries(eval_dir, graph, values, global_step)
  print('%s on %s/%s: Accuracy %.4f, Recall_5 %.4f over %d images (%d '
        'batch%s), step %d, %.1f s%s' % (
            model_name, dataset_name, dataset_split_name,
            values['Accuracy'], values['Recall_5'], images, batches,
            'es' if batches != 1 else '', global_step, seconds,
            '; summaries in %s' % eval_dir if eval_dir else ''), file=log)
  result = {name: float(values[name]) for name in METRIC_NAMES}
  result.update(images=images, batches=batches, global_step=global_step,
                checkpoint=checkpoint, event_file=event_file,
                seconds=seconds)
  return result


# --- command line -------------------------------------------------------------


def add_parser(subparsers):
  """Adds `slimnets eval` to `subparsers` (sets its `run` default)."""
  import argparse  # pylint: disable=import-outside-toplevel
  parser = subparsers.add_parser(
      'eval', help="evaluate a checkpoint on a dataset split (research/"
      "slim's eval_image_classifier.py)",
      description=__doc__.split('From Python:')[0],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  _flags.add(parser, 'batch_size', 100,
             'The number of samples in each batch.')
  _flags.add(parser, 'max_num_batches', None,
             'Max number of batches to evaluate by default use all.',
             type_=int)
  _flags.add(parser, 'master', '',
             'The address of the TensorFlow master to use.')
  _flags.add(parser, 'checkpoint_path', '/tmp/tfmodel/',
             'The directory where the model was written to or an absolute '
             'path to a checkpoint file.')
  _flags.add(parser, 'eval_dir', '/tmp/tfmodel/',
             'Directory where the results are saved to.')
  _flags.add(parser, 'num_preprocessing_threads', 4,
             'The number of threads used to create the batches.')
  _flags.add_dataset_flags(parser, split_default='test')
  _flags.add_model_flags(parser)
  _flags.add(parser, 'moving_average_decay', None,
             'The decay to use for the moving average. If left as None, then '
             'moving averages are not used.', type_=float)
  _flags.add(parser, 'eval_image_size', None, 'Eval image size', type_=int)
  _flags.add_bool(parser, 'quantize', False,
                  'whether to use quantized graph or not (refused: '
                  'TensorFlow 2 has no tf.contrib.quantize).')
  parser.add_argument('--no-progress', dest='progress', action='store_false',
                      help='no progress bar (default: one on a terminal)')
  parser.set_defaults(run=run, progress=None)


def refuse_quantize(args):
  if getattr(args, 'quantize', False):
    raise InputError(
        '--quantize needs tf.contrib.quantize, which TensorFlow 2 removed; '
        'quantize the exported model with the TFLite converter instead')


def run(args):
  """Runs `slimnets eval`; returns the exit status."""
  from slimnets import cli  # pylint: disable=import-outside-toplevel
  progress = args.progress
  if progress is None:
    progress = sys.stderr.isatty()
  try:
    refuse_quantize(args)
    evaluate(
        checkpoint_path=args.checkpoint_path,
        dataset_name=args.dataset_name,
        dataset_dir=args.dataset_dir,
        dataset_split_name=args.dataset_split_name,
        model_name=args.model_name, batch_size=args.batch_size,
        max_num_batches=args.max_num_batches, master=args.master,
        eval_dir=args.eval_dir,
        num_preprocessing_threads=args.num_preprocessing_threads,
        labels_offset=args.labels_offset,
        preprocessing_name=args.preprocessing_name,
        moving_average_decay=args.moving_average_decay,
        eval_image_size=args.eval_image_size,
        use_grayscale=args.use_grayscale, progress=progress)
  except (InputError, OSError) as error:  # OSError: OutputError
    raise cli.CommandError(_errors.one_line(error)) from None
  return 0
