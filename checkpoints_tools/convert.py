"""Converts weights between slim checkpoints and Keras / PyTorch / Paddle / npz.

Direction: any supported format to any other, through the slim variable
names of one registered model: source keys -> (source table, transform to
slim layout) -> slim tensor -> (destination table, transform to the
destination layout) -> destination keys. Tables and transforms: see
`checkpoints_tools.mappings` and `checkpoints_tools.transforms`.

Every check runs before anything is written: each source key must map to a
table row and each row to a key (no skipping, no matching by position),
every shape must convert to the shape the model expects. Tensors are then
streamed one at a time into a temporary file that replaces the destination
only once complete.

Classes: the output keeps the source's class count unless `num_classes`
asks for the other ImageNet convention: 1000 -> 1001 adds slim's background
class 0 (zero weights, bias `transforms.BACKGROUND_BIAS`), 1001 -> 1000
drops it.

Preprocessing: converted weights still expect their source's input
convention (a `slimnets.preprocessing.CONVENTIONS` name: Keras ResNetV2 and
Xception 'tf', Keras ResNet v1 'caffe', torchvision and Paddle 'torch', slim
resnet_v2 'inception'...; `mappings.preprocessing`), or the one recorded in
the source's metadata. The converter prints it and records it where the
output format has a place: safetensors metadata, and a
`<prefix>.slimnets.json` sidecar next to slim checkpoints (which
`slimnets extract --checkpoint` uses as its default preprocessing).

Typical use:

   from checkpoints_tools import convert
   summary = convert.convert('resnet50v2.h5', 'resnet_v2_50.ckpt',
                             model='resnet_v2_50', num_classes=1001)
   print(summary['messages'])
"""

import os
import re
import sys

import numpy as np

from checkpoints_tools import formats
from checkpoints_tools import mappings
from checkpoints_tools import transforms

NAMING_OF_FORMAT = {
    'slim': 'slim', 'npz': 'slim', 'keras': 'keras', 'keras3': 'keras3',
    'safetensors': 'torch', 'torch': 'torch', 'paddle': 'paddle'
}


class ConversionError(ValueError):
  """A conversion refused before anything was written (one line)."""


def parse_rename(text):
  """'FROM=TO' -> (compiled regex FROM, TO).

  Raises:
    ConversionError: without '=' or with a bad regex.
  """
  if '=' not in text:
    raise ConversionError('--rename takes FROM=TO, got %r' % text)
  pattern, replacement = text.split('=', 1)
  try:
    return re.compile(pattern), replacement
  except re.error as error:
    raise ConversionError('--rename %r: bad regex (%s)' % (text, error))


def source_keys(reader, exclude=None, renames=()):
  """{renamed key: original key} of `reader` after --exclude and --rename.

  Raises:
    ConversionError: when two keys are renamed to the same name, or
      `exclude` is not a valid regex.
  """
  keys = {}
  pattern = None
  if exclude:
    try:
      pattern = re.compile(exclude)
    except re.error as error:
      raise ConversionError('--exclude %r: bad regex (%s)' %
                            (exclude, error)) from None
  for key in reader.keys():
    if pattern is not None and pattern.search(key):
      continue
    new = key
    for regex, replacement in renames:
      new = regex.sub(replacement, new)
    if new in keys:
      raise ConversionError('--rename maps both %s and %s to %s' %
                            (keys[new], key, new))
    keys[new] = key
  return keys


def _misshaped(model, table, rows, shape_of):
  """The rows whose source shape does not give `model`'s variable.

  Args:
    model: a registered model (or variant) with a slim spec.
    table: its table in the source's naming.
    rows: the rows to check (their sources present); rows with a class
      axis are skipped, their class count may be either ImageNet
      convention.
    shape_of: a function source name -> shape.

  Returns:
    [(source name, its shape, the shape `model` expects in the source's
    layout)], in `rows` order.
  """
  # With classes: an auxiliary classifier exists only with logits.
  expected = dict(mappings.slim_variables(model, 1000))
  out = []
  for row in rows:
    if row.classes:
      continue
    transform = transforms.get(row.transform)
    shape = tuple(shape_of(row.source))
    try:
      fits = tuple(transform.shape_to_slim(shape)) == expected.get(row.slim)
    except ValueError:  # another rank than the transform takes
      fits = False
    if not fits:
      out.append((row.source, shape,
                   tuple(transform.shape_to_source(expected[row.slim]))))
  return out


def _describe_differences(model, unexpected, missing, misshaped):
  """One line of how a file differs from `model` (see `detect_model`)."""
  parts = []
  if unexpected:
    parts.append('%d unexpected: %s' %
                 (len(unexpected), mappings.few_names(unexpected, 3)))
  if missing:
    parts.append('%d missing: %s' %
                 (len(missing), mappings.few_names(missing, 3)))
  if misshaped:
    described = ['%s %s (%s: %s)' % (name, list(shape), model, list(want))
                 for name, shape, want in misshaped]
    parts.append('%d with another shape: %s' %
                 (len(misshaped), mappings.few_names(described, 3)))
  return '; '.join(parts)


def detect_model(keys, naming, shape_of=None, prefer=None):
  """The registered model whose `naming` table matches `keys` exactly.

  Args:
    keys: the source names, in the file's order (or {name: original}).
    naming: their naming (one of mappings.NAMINGS).
    shape_of: None, or a function key -> shape; then the shapes must fit
      too (torchvision's ResNet-50 and ResNeXt-50 share their names).
    prefer: a model to try first, or None: the one the file's metadata
      records (variants with the same tensors as their network, such as
      timm's and torchvision's MobileNets, are told apart only by it).

  Returns:
    The first model (slim naming: the one named by the keys' scope first)
    whose table maps every key, with every shape fitting.

  Raises:
    ConversionError: when no model matches. When at least half of the keys
      are names of one model's table, the message names the closest such
      model (fewest unexpected, missing and mis-shaped tensors) and a few
      of those tensors, with their counts.
  """
  keys = {key: key for key in keys} if not isinstance(keys, dict) else keys
  candidates = mappings.models(naming)
  # Slim names start with the model scope: try that model first.
  scopes = {k.split('/')[0] for k in keys} if naming == 'slim' else ()
  candidates = sorted(candidates,
                      key=lambda m: (m != prefer, m not in scopes))
  closest = None
  for model in candidates:
    table = mappings.get_table(model, naming)
    names = table.canonical(keys)
    rows, unexpected, missing = table.compare(names)
    misshaped = []
    if shape_of is not None:
      misshaped = _misshaped(
          model, table, [r for r in rows if r.source in names],
          lambda key, names=names: shape_of(names[key]))
    count = len(unexpected) + len(missing) + len(misshaped)
    if not count:
      return model
    # A model sharing under half of the file's names is no hint.
    if (2 * (len(names) - len(unexpected)) >= len(names) and
        (closest is None or count < closest[0])):
      # Messages name the file's own keys (Keras' unnamed layers are
      # renamed by position in `names`).
      closest = (count, model, _describe_differences(
          model, [names[k] for k in unexpected], missing,
          [(names[k], shape, want) for k, shape, want in misshaped]))
  if closest is not None:
    count, model, differences = closest
    raise ConversionError(
        'cannot tell the model from the %d tensors (%s naming): the '
        'closest, %s, differs in %d tensor(s): %s; fix the file (--exclude, '
        '--rename) or pass --model' % (len(keys), naming, model, count,
                                       differences))
  raise ConversionError(
      'cannot tell the model from the %d tensor names (%s naming, e.g. %s); '
      'pass --model (models with a %s mapping: %s)' %
      (len(keys), naming, sorted(keys)[0] if keys else 'none', naming,
       ', '.join(mappings.models(naming))))


def _classes_of(table, rows, shapes):
  """Class count of the source (its logits), or 0 when it has none."""
  for row in rows:
    if row.classes and row.slim.endswith('/biases'):
      return shapes[row.slim][-1]
  return 0


def plan(reader, model=None, dst_naming='slim', exclude=None, renames=(),
         num_classes=None):
  """Checks a conversion of `reader` and returns what to write.

  Args:
    reader: a `formats.Reader`.
    model: a registered model name, or None to recognise it from the keys.
    dst_naming: the destination naming (one of mappings.NAMINGS).
    exclude: regex of source keys to leave out, or None.
    renames: (regex, replacement) pairs applied to the source keys in order.
    num_classes: None (keep), 1000 or 1001.

  Returns:
    A dict with 'model', 'src_table', 'dst_table', 'steps' (a list of
    (dst key, src key, src row, dst row, dst shape) in destination order),
    'src_classes', 'dst_classes', 'preprocessing' (and where it comes
    from, 'preprocessing_origin') and 'messages'.

  Raises:
    ConversionError: unmapped, missing or mis-shaped tensors, an unknown
      model, an impossible class count (one line).
  """
  src_naming = NAMING_OF_FORMAT[reader.format]
  keys = source_keys(reader, exclude, renames)
  if model is None:
    recorded = (getattr(reader, 'metadata', None) or {}).get('model')
    model = detect_model(keys, src_naming, reader.shape, prefer=recorded)
  try:
    src_table = mappings.get_table(model, src_naming)
    dst_table = mappings.get_table(model, dst_naming)
    # Layers the source names by creation count, renamed by position.
    keys = src_table.canonical(keys)
    rows = src_table.match(keys)
  except ValueError as error:
    raise ConversionError(str(error)) from None
  src_transform = {}
  slim_shapes = {}
  for row in rows:
    transform = transforms.get(row.transform)
    src_transform[row.slim] = transform
    shape = reader.shape(keys[row.source])
    try:
      slim_shapes[row.slim] = tuple(transform.shape_to_slim(shape))
    except ValueError as error:
      raise ConversionError('tensor %s (%s): %s' %
                            (keys[row.source], row.slim, error)) from None
  src_classes = _classes_of(src_table, rows, slim_shapes)
  dst_classes = src_classes
  messages = []
  if num_classes is not None and src_classes and num_classes != src_classes:
    if (src_classes, num_classes) not in ((1000, 1001), (1001, 1000)):
      raise ConversionError(
          'cannot change the class count from %d to %d (only 1000 <-> 1001, '
          "slim's background class 0)" % (src_classes, num_classes))
    dst_classes = num_classes
    messages.append(
        'classes: %d -> %d (%s)' % (src_classes, num_classes,
                                    'added background class 0: zero weights, '
                                    'bias %g' % transforms.BACKGROUND_BIAS
                                    if num_classes == 1001 else
                                    'dropped background class 0'))
  elif num_classes is not None and not src_classes:
    raise ConversionError('--num-classes %d: the source has no logits' %
                          num_classes)
  expected = dict(mappings.slim_variables(model, src_classes))
  for row in rows:
    if expected.get(row.slim) != slim_shapes[row.slim]:
      raise ConversionError(
          'tensor %s (%s): source shape %s gives slim shape %s, but %s '
          'expects %s' % (keys[row.source], row.slim,
                          list(reader.shape(keys[row.source])),
                          list(slim_shapes[row.slim]), model,
                          list(expected.get(row.slim, ()))))
  dtype_message = _check_dtypes(reader, keys, rows)
  if dtype_message:
    messages.append(dtype_message)
  used = {row.slim for row in rows}
  steps = []
  for dst_row in dst_table.rows:
    if dst_row.slim not in used:
      continue
    src_row = src_table.by_slim[dst_row.slim]
    shape = slim_shapes[dst_row.slim]
    if dst_row.classes and dst_classes != src_classes:
      shape = shape[:-1] + (dst_classes,)
    try:
      dst_shape = transforms.get(dst_row.transform).shape_to_source(shape)
    except ValueError as error:
      raise ConversionError('tensor %s: %s' % (dst_row.slim, error)) from None
    steps.append((dst_row.source, keys[src_row.source], src_row, dst_row,
                  tuple(dst_shape)))
  left_out = sorted(used - set(dst_table.by_slim))
  if left_out:
    messages.append('left out: %d tensor(s) that %s has no place for (%s)' % (
        len(left_out), dst_table.source_model or dst_table.model,
        mappings.few_names(left_out, 2)))
  if dst_table.variant:
    messages.append('variant: %s reproduces %s (%s)' % (
        dst_table.variant, dst_table.source_model, dst_table.notes[0]))
  if src_table.variant:
    messages.append('variant: build checkpoints_tools.variants.%s to '
                    'reproduce %s exactly (%s)' %
                    (src_table.variant, src_table.source_model,
                     src_table.notes[0]))
  for table in (src_table, dst_table):
    if table.bn_epsilon is not None:
      messages.append('batch-norm epsilon of %s: %g' %
                      (table.source_model, table.bn_epsilon))
  convention, origin = _preprocessing(reader, src_table)
  messages.append('preprocessing: %s (%s)' % (convention, origin))
  skipped = getattr(reader, 'skipped', ())
  if skipped:
    messages.append('not model tensors, left out: %d (%s)' %
                    (len(skipped), mappings.few_names(list(skipped), 3)))
  return {
      'model': model,
      'preprocessing': convention,
      'preprocessing_origin': origin,
      'src_table': src_table,
      'dst_table': dst_table,
      'steps': steps,
      'src_classes': src_classes,
      'dst_classes': dst_classes,
      'messages': messages,
  }


def _preprocessing(reader, table):
  """(convention the source weights expect, where that comes from)."""
  from slimnets import preprocessing  # pylint: disable=g-import-not-at-top
  recorded = getattr(reader, 'metadata', None) or {}
  convention = recorded.get('preprocessing')
  if convention in preprocessing.CONVENTIONS:
    return convention, 'recorded in the source'
  return mappings.preprocessing(table), 'what %s weights expect' % (
      table.source_model or table.model)


# Output formats with a place for metadata (see the module docstring).
_METADATA_FORMATS = ('slim', 'safetensors')


def _metadata(steps, src_format):
  return {
      'model': steps['model'],
      'preprocessing': steps['preprocessing'],
      'classes': str(steps['dst_classes']),
      'converted_from': '%s (%s)' % (
          steps['src_table'].source_model or steps['model'], src_format),
  }


# Floating dtypes whose every value is a float32 value.
_EXACT_IN_FLOAT32 = ('float16', 'bfloat16')


def _check_dtypes(reader, keys, rows):
  """Checks the dtypes of the source tensors of `rows`.

  The nets' variables are float32, so floating sources are converted to it
  (see `_to_slim`); other dtypes are not weights.

  Args:
    reader: the source `formats.Reader`.
    keys: {table name: source key}.
    rows: the table rows to convert.

  Returns:
    One line saying which dtypes are converted to float32 and whether that
    is exact, or None when every tensor is float32.

  Raises:
    ConversionError: naming the first tensor that is not floating point.
  """
  counts = {}
  for row in rows:
    key = keys[row.source]
    dtype = np.dtype(reader.dtype(key))
    if dtype == np.float32:
      continue
    # ml_dtypes' bfloat16 is not a np.floating subtype.
    if not (np.issubdtype(dtype, np.floating) or
            dtype.name in _EXACT_IN_FLOAT32):
      raise ConversionError(
          'tensor %s (%s) has dtype %s: weights must be floating point '
          '(float16, bfloat16, float32 or float64)' % (key, row.slim, dtype))
    counts[dtype.name] = counts.get(dtype.name, 0) + 1
  if not counts:
    return None
  exact = all(name in _EXACT_IN_FLOAT32 for name in counts)
  return 'dtype: %s -> float32, the nets\' dtype (%s)' % (
      ', '.join('%d %s' % (n, name) for name, n in sorted(counts.items())),
      'values preserved exactly' if exact else
      'float64 rounded to the nearest float32')


def _to_slim(array, src_row, dst_row, src_classes, dst_classes):
  # The nets' variables are float32 (`_check_dtypes` admits only floating
  # sources).
  array = np.asarray(array).astype(np.float32, copy=False)
  array = transforms.get(src_row.transform).to_slim(array)
  if dst_row.classes and dst_classes != src_classes:
    if dst_classes == 1001:
      array = transforms.add_background(array,
                                        is_bias=array.ndim == 1)
    else:
      array = transforms.drop_background(array)
  return array


def _exists(path, fmt):
  return os.path.exists(path + '.index' if fmt == 'slim' else path)


def convert(src, dst, src_format=None, dst_format=None, model=None,
            exclude=None, renames=(), num_classes=None, force=False,
            progress=False):
  """Converts the weights file `src` into `dst`.

  Args:
    src: the source file (or slim checkpoint prefix / directory).
    dst: the destination file (a prefix for slim).
    src_format: a `formats.FORMATS` name, or None to detect it.
    dst_format: a `formats.FORMATS` name, or None for dst's extension.
    model: a registered model name, or None to recognise it.
    exclude: regex of source keys to leave out.
    renames: (regex, replacement) pairs (see `parse_rename`).
    num_classes: None (keep the source's), 1000 or 1001.
    force: replace an existing destination.
    progress: show a tqdm progress bar on stderr.

  Returns:
    A dict: 'model', 'format' (source), 'dst_format', 'tensors',
    'parameters', 'src_classes', 'dst_classes', 'preprocessing' (the input
    convention the weights expect), 'messages'.

  Raises:
    ConversionError / formats.FormatError: bad input (nothing written).
    FileExistsError: `dst` exists and not `force` (also when another run
      published it while this one converted: nothing of this one is left).
    slimnets.output_files.OutputError: `dst` cannot be written (disk full,
      read-only folder), naming it; nothing is left.
  """
  dst_format = dst_format or formats.format_from_extension(dst)
  if dst_format not in formats.FORMATS:
    raise ConversionError('unknown format %r; known: %s' %
                          (dst_format, ', '.join(formats.FORMATS)))
  # Refuse before reading a large source.
  formats.check_destination(dst, force, _exists(dst, dst_format))
  with formats.open_reader(src, src_format) as reader:
    steps = plan(reader, model, NAMING_OF_FORMAT[dst_format], exclude,
                 renames, num_classes)
    parameters = 0
    bar = None
    if progress:
      from tqdm import tqdm  # pylint: disable=g-import-not-at-top
      bar = tqdm(total=len(steps['steps']), unit='tensor', file=sys.stderr,
                 desc='%s -> %s' % (reader.format, dst_format))
    writer_kwargs = {}
    if dst_format in _METADATA_FORMATS:
      writer_kwargs['metadata'] = _metadata(steps, reader.format)
    try:
      with formats.open_writer(dst, dst_format, force=force,
                               **writer_kwargs) as writer:
        for dst_key, src_key, src_row, dst_row, dst_shape in steps['steps']:
          array = _to_slim(reader.get(src_key), src_row, dst_row,
                           steps['src_classes'], steps['dst_classes'])
          array = transforms.get(dst_row.transform).to_source(array)
          if tuple(array.shape) != dst_shape:
            raise ConversionError('tensor %s: data shape %s, header shape %s'
                                  % (src_key, list(array.shape),
                                     list(dst_shape)))
          writer.add(dst_key, array)
          parameters += int(np.prod(array.shape))
          if bar is not None:
            bar.update()
    finally:
      if bar is not None:
        bar.close()
  return {
      'model': steps['model'],
      'format': reader.format,
      'dst_format': dst_format,
      'tensors': len(steps['steps']),
      'parameters': parameters,
      'src_classes': steps['src_classes'],
      'dst_classes': steps['dst_classes'],
      'preprocessing': steps['preprocessing'],
      'messages': steps['messages'],
  }
