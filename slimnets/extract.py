"""`slimnets extract` and `slimnets demo`: features of image files to disk.

`extract` reads JPEG/PNG/BMP/GIF files (folders are searched recursively),
decodes and preprocesses them in a parallel tf.data pipeline with the model's
convention (see `slimnets.preprocessing`), runs the network in a
`tf.compat.v1.Session` (weights restored from --checkpoint, or random) and
streams the chosen end points to disk batch by batch:

  OUT.npz          one NumPy archive: an array [N, ...] per end point, named
                   by its end-point key, plus 'paths' [N] (the image of each
                   row). `np.load(OUT)['global_pool']`.
  OUT.safetensors  the same tensors in one safetensors file; the paths are
                   a JSON list in the metadata entry 'paths'.
  --shard-size K   OUT_00000.npz, OUT_00001.npz, ... of K images each (same
                   keys per shard).

What is stored: by default the pooled feature vector ('global_pool', stored
as [N, C]; for a network without one, such as vgg_16, its last feature
layer, e.g. 'vgg_16/fc7'), the compact choice for retrieval and linear probes. --endpoints
picks end points by name or pattern ('block*', 'block4', see
`nets.features`); they are stored spatially [N, H, W, C] (their size is
image size / stride, see --output-stride), or averaged over H and W to
[N, C] with --pool.

Rows are written to per-end-point files in a temporary folder next to OUT as
they come and assembled into OUT at the end (so the features never all sit in
memory, but spatial features take twice their size on disk for a moment).
Nothing is left behind on failure, SIGINT or SIGTERM; an existing OUT is
refused without --force, even one a racing run publishes meanwhile (see
`slimnets.output_files`). Options may come before or after the IMAGES.

--precision bfloat16 runs the network through TensorFlow's oneDNN
auto-mixed-precision rewrite (CPUs with AMX / AVX-512-BF16; float16 is for
NVIDIA GPUs), --data-format NCHW runs it channels-first (the fast layout on
GPUs); see `nets.runtime`. The weights, checkpoints and stored features
(float32, NHWC) are the same either way.

An image that cannot be read or decoded is reported on stderr (path and
reason) and skipped; the summary counts them. With --strict the first one
stops the run with exit status 1 and no output.

`demo` (also `extract` with no arguments) runs the whole pipeline on
built-in defaults: it writes a few synthetic sample images (no images ship
with slimnets and nothing can be downloaded here), builds resnet_v2_50 with
random weights, prints the feature table and throughput, and writes
./slimnets-demo-features.npz.

Typical use:

   slimnets demo
   slimnets extract resnet_v2_50 --checkpoint resnet_v2_50.ckpt photos/ \\
       -o feats.npz
   slimnets extract resnet_v1_50 --checkpoint ckpt/ a.jpg b.png \\
       -o feats.safetensors --endpoints 'block*' --pool --output-stride 16
   slimnets extract resnet_v2_50 photos/ -o feats.npz --precision bfloat16

From Python: `extract(model, paths, output, ...)` returns the summary dict.
"""

import argparse
import glob
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import zipfile

import numpy as np

from slimnets import _errors
from slimnets import output_files

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.gif')
DEMO_MODEL = 'resnet_v2_50'
DEMO_OUTPUT = 'slimnets-demo-features.npz'
_COPY_CHUNK = 1 << 22


class ExtractError(ValueError):
  """Bad input to `extract` (unknown model, paths, checkpoint, output)."""


class ImageError(RuntimeError):
  """An unreadable image under strict=True."""


# --- inputs ------------------------------------------------------------------


def find_images(inputs):
  """Image files named by `inputs` (files, or folders searched recursively).

  Files given by name are kept whatever their extension; in folders only
  IMAGE_EXTENSIONS (any case) are picked, in sorted order.

  Raises:
    ExtractError: for a path that does not exist, or when nothing is found.
  """
  paths = []
  for item in inputs:
    if os.path.isdir(item):
      found = []
      for root, dirs, files in os.walk(item):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in sorted(files)
                     if f.lower().endswith(IMAGE_EXTENSIONS))
      paths.extend(found)
    elif os.path.lexists(item):
      # Even a dangling link: it is reported as unreadable like any file.
      paths.append(item)
    else:
      raise ExtractError('no such file or folder: %s' % item)
  if not paths:
    raise ExtractError('no images (%s) found in %s' %
                       ('/'.join(e[1:] for e in IMAGE_EXTENSIONS),
                        ', '.join(inputs)))
  return paths


# Written next to slim checkpoints by checkpoints_tools' converter
# (checkpoints_tools.formats.slim.SIDECAR_SUFFIX): {'preprocessing': ...}.
_SIDECAR_SUFFIX = '.slimnets.json'


def checkpoint_convention(checkpoint):
  """The preprocessing recorded next to `checkpoint`, or None.

  Args:
    checkpoint: a resolved checkpoint prefix (or its `.index` file).

  Returns:
    The 'preprocessing' of `<prefix>.slimnets.json` when that file exists
    and names one of `slimnets.preprocessing.CONVENTIONS`, else None.
  """
  from slimnets import preprocessing  # pylint: disable=import-outside-toplevel
  if checkpoint.endswith('.index'):
    checkpoint = checkpoint[:-len('.index')]
  try:
    with open(checkpoint + _SIDECAR_SUFFIX) as f:
      convention = json.load(f).get('preprocessing')
  except (OSError, ValueError, AttributeError):
    return None
  return convention if convention in preprocessing.CONVENTIONS else None


def _with_convention(preprocess, convention):
  """`preprocess` (from preprocessing.for_model) with another convention."""
  from slimnets import preprocessing  # pylint: disable=import-outside-toplevel
  size = preprocess.image_size

  def preprocessing_fn(image):
    return preprocessing.preprocess(image, convention, size)

  preprocessing_fn.convention = convention
  preprocessing_fn.image_size = size
  return preprocessing_fn


def _resolve_checkpoint(checkpoint):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if os.path.isdir(checkpoint):
    found = tf.train.latest_checkpoint(checkpoint)
    if not found:
      raise ExtractError('no checkpoint in folder %s' % checkpoint)
    return found
  if not (os.path.exists(checkpoint + '.index') or
          os.path.exists(checkpoint)):
    raise ExtractError('no such checkpoint: %s' % checkpoint)
  return checkpoint


def check_checkpoint(checkpoint, variables):
  """Checks every variable is in `checkpoint` with the same shape and dtype.

  A Saver restores only the dtype a variable was created with: a float16
  checkpoint would fail inside the restore op.

  Args:
    checkpoint: a resolved checkpoint prefix.
    variables: the model's variables.

  Raises:
    ExtractError: naming the first missing or mismatched variable.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  try:
    reader = tf.train.load_checkpoint(checkpoint)
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
  except (tf.errors.OpError, ValueError) as error:
    raise ExtractError('cannot read checkpoint %s: %s' %
                       (checkpoint, str(error).splitlines()[0])) from None
  for variable in variables:
    name = variable.op.name
    shape = variable.shape.as_list()
    if name not in shapes:
      raise ExtractError(
          'checkpoint %s has no variable %s (shape %s) needed by the model '
          '(%d of its %d variables found)' %
          (checkpoint, name, shape,
           sum(v.op.name in shapes for v in variables), len(variables)))
    if list(shapes[name]) != shape:
      raise ExtractError('variable %s has shape %s in checkpoint %s but %s '
                         'in the model' % (name, list(shapes[name]),
                                           checkpoint, shape))
    dtype = variable.dtype.base_dtype
    if dtypes[name] != dtype:
      raise ExtractError(
          'variable %s has dtype %s in checkpoint %s but %s in the model; '
          '`slimnets convert %s NEW.ckpt` writes a %s copy' %
          (name, dtypes[name].name, checkpoint, dtype.name, checkpoint,
           dtype.name))


# --- outputs -----------------------------------------------------------------


def _shard_paths(output):
  stem = output[:-len('.npz')] if output.endswith('.npz') else output
  return stem + '_%05d.npz'


def _existing_outputs(output, shard_size):
  if shard_size:
    pattern = _shard_paths(output).replace('%05d', '[0-9]' * 5)
    return sorted(glob.glob(glob.escape(os.path.dirname(pattern) or '.') +
                            '/' + os.path.basename(pattern)))
  return [output] if os.path.lexists(output) else []


def _npy_header(shape, descr='<f4'):
  import io  # pylint: disable=import-outside-toplevel
  buf = io.BytesIO()
  np.lib.format.write_array_header_1_0(
      buf, {'descr': descr, 'fortran_order': False, 'shape': tuple(shape)})
  return buf.getvalue()


class _Writer:
  """Streams feature rows to a temporary folder; `finish` publishes them.

  The folder is a `slimnets.output_files.TempDir` next to the output; write
  errors (a full disk) raise `OutputError` naming the output.
  """

  def __init__(self, output, keys, shard_size, metadata):
    self.output = output
    self.keys = list(keys)
    self.shard_size = shard_size
    self.metadata = metadata
    self.format = ('safetensors' if output.endswith('.safetensors') else
                   'npz')
    self._temp = output_files.TempDir(os.path.dirname(output) or '.',
                                      'extract')
    self.tmp = self._temp.path
    self.paths = []
    self.rows = 0
    self.row_shapes = {}
    self._files = {}
    self._pending = []  # shard mode: (paths, {key: array}) not yet written
    self._shards = []

  def add(self, arrays, paths):
    """Appends one batch: `arrays` key -> [n, ...], `paths` n strings."""
    with output_files.writing(self.output):
      self._add(arrays, paths)

  def _add(self, arrays, paths):
    for key in self.keys:
      self.row_shapes.setdefault(key, arrays[key].shape[1:])
    self.paths.extend(paths)
    self.rows += len(paths)
    if self.shard_size:
      self._pending.append((list(paths), arrays))
      while sum(len(p) for p, _ in self._pending) >= self.shard_size:
        self._write_shard(self.shard_size)
      return
    for key in self.keys:
      if key not in self._files:
        self._files[key] = open(os.path.join(self.tmp, '%d.raw' %
                                             self.keys.index(key)), 'wb')
      self._files[key].write(
          np.ascontiguousarray(arrays[key], np.float32).tobytes())

  def _write_shard(self, count):
    paths, arrays = [], {k: [] for k in self.keys}
    while count and self._pending:
      p, a = self._pending[0]
      take = min(count, len(p))
      paths.extend(p[:take])
      for k in self.keys:
        arrays[k].append(a[k][:take])
      if take == len(p):
        self._pending.pop(0)
      else:
        self._pending[0] = (p[take:], {k: a[k][take:] for k in self.keys})
      count -= take
    name = os.path.join(self.tmp, 'shard_%05d.npz' % len(self._shards))
    np.savez(name, paths=np.array(paths, dtype=str),
             **{k: np.concatenate(v).astype(np.float32)
                for k, v in arrays.items()})
    self._shards.append(name)

  def _raw(self, key):
    return os.path.join(self.tmp, '%d.raw' % self.keys.index(key))

  def _copy_raw(self, key, out):
    with open(self._raw(key), 'rb') as src:
      shutil.copyfileobj(src, out, _COPY_CHUNK)

  def _assemble_npz(self, target):
    with zipfile.ZipFile(target, 'w', zipfile.ZIP_STORED,
                         allowZip64=True) as archive:
      for key in self.keys:
        shape = (self.rows,) + tuple(self.row_shapes[key])
        with archive.open(key + '.npy', 'w', force_zip64=True) as out:
          out.write(_npy_header(shape))
          self._copy_raw(key, out)
      with archive.open('paths.npy', 'w', force_zip64=True) as out:
        np.lib.format.write_array(out, np.array(self.paths, dtype=str))

  def _assemble_safetensors(self, target):
    header, offset = {}, 0
    for key in self.keys:
      shape = [self.rows] + list(self.row_shapes[key])
      size = int(np.prod(shape)) * 4
      header[key] = {'dtype': 'F32', 'shape': shape,
                     'data_offsets': [offset, offset + size]}
      offset += size
    meta = dict(self.metadata)
    meta['paths'] = json.dumps(self.paths)
    header['__metadata__'] = meta
    blob = json.dumps(header).encode('utf-8')
    blob += b' ' * (-len(blob) % 8)  # the format's 8-byte alignment
    with open(target, 'wb') as out:
      out.write(struct.pack('<Q', len(blob)))
      out.write(blob)
      for key in self.keys:
        self._copy_raw(key, out)

  def finish(self, force):
    """Writes the final file(s) in the temporary folder, then publishes them.

    Without `force` no existing file is replaced, even one another run
    published meanwhile (`output_files.TempDir.publish`): shards go out in
    order, and shard 0, which every run writes, decides a race.

    Returns:
      The list of files written.

    Raises:
      FileExistsError: an output appeared since the start (without force).
      OutputError: writing failed (disk full), naming the output.
    """
    with output_files.writing(self.output):
      return self._finish(force)

  def _finish(self, force):
    for f in self._files.values():
      f.close()
    if not self.rows:
      return []
    if self.shard_size:
      if self._pending:
        self._write_shard(sum(len(p) for p, _ in self._pending))
      pattern = _shard_paths(self.output)
      finals = [pattern % i for i in range(len(self._shards))]
      old = _existing_outputs(self.output, self.shard_size) if force else []
      self._temp.publish(list(zip(self._shards, finals)), force)
      for stale in set(old) - set(finals):
        os.remove(stale)  # Shards of the replaced output beyond ours.
      return finals
    target = os.path.join(self.tmp, 'assembled')
    if self.format == 'safetensors':
      self._assemble_safetensors(target)
    else:
      self._assemble_npz(target)
    return self._temp.publish([(target, self.output)], force)

  def cleanup(self):
    """Removes the temporary folder (what `finish` did not publish)."""
    for f in self._files.values():
      try:
        f.close()
      except OSError:
        pass  # Flushing fails again on a full disk; the folder goes anyway.
    self._temp.remove()


# --- the pipeline -------------------------------------------------------------


def _progress(total, enabled):
  if not enabled:
    return None
  try:
    import tqdm  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  return tqdm.tqdm(total=total, unit='img', file=sys.stderr,
                   dynamic_ncols=True, smoothing=0.1)


def build_pipeline(paths, model, endpoints=None, batch_size=32,
                   image_size=None, output_stride=None, pool=False,
                   data_format='NHWC', convention=None):
  """Builds the reading, preprocessing and network graph (current graph).

  Args:
    paths: image file paths.
    model: a registered model name.
    endpoints: end-point names/patterns (default: the pooled feature vector,
      `nets.features.pooled_endpoint`: 'global_pool' for most families).
    batch_size: images per batch.
    image_size: network input size (default: the model's).
    output_stride: None or e.g. 8 / 16 (dense features).
    pool: average every selected spatial end point over height and width.
    data_format: 'NHWC' or 'NCHW', the layout the network runs in (see
      `nets.runtime.data_format_scope`). Outputs are NHWC either way.
    convention: the input convention (`slimnets.preprocessing.CONVENTIONS`);
      default the model's.

  Returns:
    dict with 'index' (int32 [b], the row of `paths` of each image),
    'outputs' (key -> tensor [b, ...]), 'info' (FeatureInfo list),
    'check_path' and 'check' (a string placeholder and the decode of one
    file, to learn why it failed), 'image_size' and 'convention'.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from nets import features  # pylint: disable=import-outside-toplevel
  from nets import registry  # pylint: disable=import-outside-toplevel
  from slimnets import preprocessing  # pylint: disable=import-outside-toplevel
  from nets import runtime  # pylint: disable=import-outside-toplevel
  preprocess = preprocessing.for_model(model, image_size)
  if convention is not None and convention != preprocess.convention:
    preprocess = _with_convention(preprocess, convention)

  def load(index, path):
    image = tf.io.decode_image(tf.io.read_file(path), channels=3,
                               expand_animations=False)
    return index, preprocess(image)

  dataset = tf.data.Dataset.from_tensor_slices(
      (tf.range(len(paths), dtype=tf.int32), tf.constant(paths)))
  dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE,
                        deterministic=True)
  # Failed images vanish here; the gaps in 'index' tell which they were.
  dataset = dataset.ignore_errors()
  dataset = dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
  index, images = tf.compat.v1.data.make_one_shot_iterator(
      dataset).get_next()
  num_frames = registry.get_model(model).num_frames
  if num_frames:
    # A video model sees each image as a still clip, every frame the same
    # (the "boring video" of the I3D paper, arXiv:1705.07750).
    images = tf.tile(images[:, tf.newaxis], [1, num_frames, 1, 1, 1])
  if not endpoints:
    # The default feature vector is stored [N, C] even where the network
    # pools with a fixed kernel (inception_v1's 7x7, vgg's fc7), whose map
    # is 1x1 only at the default size.
    endpoints, pool = [features.pooled_endpoint(model)], True
  with runtime.data_format_scope(data_format):
    tensors, info = features.extract_features(
        images, model, list(endpoints),
        output_stride=output_stride, is_training=False, as_dict=True)
  spatial_axes = [2, 3] if data_format == 'NCHW' else [1, 2]
  outputs = {}
  for item in info:
    tensor = tensors[item.name]
    if tensor.shape.rank == 5 and (pool or item.stride is None):
      # Video features [N, T, H, W, C]: pooled over time and space.
      tensor = tf.reduce_mean(tensor, [1, 2, 3])
    elif tensor.shape.rank == 4 and (pool or item.stride is None):
      # Pooled vectors are stored [N, C], not [N, 1, 1, C].
      tensor = tf.reduce_mean(tensor, spatial_axes)
    elif tensor.shape.rank == 4 and data_format == 'NCHW':
      # Stored NHWC whatever the layout, so files interchange.
      tensor = tf.transpose(tensor, [0, 2, 3, 1])
    outputs[item.name] = tensor
  check_path = tf.compat.v1.placeholder(tf.string, [], name='check_path')
  check = preprocess(tf.io.decode_image(tf.io.read_file(check_path),
                                        channels=3, expand_animations=False))
  return {'index': index, 'outputs': outputs, 'info': info,
          'check_path': check_path, 'check': check,
          'image_size': preprocess.image_size,
          'convention': preprocess.convention}


def extract(model, paths, output, endpoints=None, checkpoint=None,
            batch_size=32, image_size=None, output_stride=None, pool=False,
            strict=False, force=False, shard_size=None, progress=True,
            log=None, precision='float32', data_format='NHWC', config=None,
            preprocessing=None):
  """Extracts features of image files into `output` (see module docstring).

  Args:
    model: a registered model name.
    paths: image files or folders.
    output: '.npz' or '.safetensors' path (with shard_size: the shard stem).
    endpoints: end-point names/patterns; default the pooled feature vector
      ('global_pool' for most families, `nets.features.pooled_endpoint`).
    checkpoint: a checkpoint prefix or folder; None for random weights.
    batch_size: images per batch.
    image_size: network input size; default the model's.
    output_stride: None or a smaller stride (8, 16) for dense features.
    pool: store spatial end points averaged over height and width.
    strict: stop at the first unreadable image (ImageError).
    force: overwrite an existing output.
    shard_size: write .npz shards of this many images.
    progress: show a tqdm bar on stderr.
    log: stream for the skipped-image reports (default stderr).
    precision: 'float32', 'bfloat16' (oneDNN auto mixed precision, CPU) or
      'float16' (GPU only); see `nets.runtime.session_config`. The stored
      features are float32 either way.
    data_format: 'NHWC' (default) or 'NCHW' (the fast layout on NVIDIA
      GPUs); the stored features are NHWC either way.
    config: a `tf.compat.v1.ConfigProto` the precision settings are merged
      into (it is not modified).
    preprocessing: the input convention (`slimnets.preprocessing.CONVENTIONS`);
      default: the one recorded next to `checkpoint` by the converter
      (`<prefix>.slimnets.json`, see `checkpoint_convention`), else the
      model's.

  Returns:
    A summary dict: model, images, skipped (list of (path, reason)),
    seconds (extraction loop), build_seconds, images_per_second, outputs
    (files written), info (FeatureInfo list), stored shapes per key,
    precision and data_format.

  Raises:
    ExtractError: bad arguments, checkpoint mismatch or unreadable
      checkpoint, existing output, or no image could be read.
    ImageError: under strict, for the first unreadable image.
    FileExistsError: (without force) another run published the output
      while this one ran; this one's files are removed.
    output_files.OutputError: the output's folder cannot be written (disk
      full, read-only), naming the path.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from nets import registry  # pylint: disable=import-outside-toplevel
  from nets import runtime  # pylint: disable=import-outside-toplevel
  log = log or sys.stderr
  start = time.time()
  try:
    registry.get_model(model)
    session_config = runtime.session_config(precision, config=config)
    with runtime.data_format_scope(data_format):  # refuses what cannot run
      pass
  except ValueError as error:
    raise ExtractError(_errors.one_line(error)) from None
  for value, what in ((batch_size, 'batch size'), (image_size, 'image size'),
                      (shard_size, 'shard size')):
    if value is not None and value < 1:
      raise ExtractError('%s must be at least 1, got %d' % (what, value))
  if not (output.endswith('.npz') or output.endswith('.safetensors')):
    raise ExtractError('output must end in .npz or .safetensors, got %s' %
                       output)
  if shard_size and not output.endswith('.npz'):
    raise ExtractError('--shard-size writes .npz shards; output %s is not '
                       '.npz' % output)
  out_dir = os.path.dirname(output) or '.'
  if not os.path.isdir(out_dir):
    raise ExtractError('output folder does not exist: %s' % out_dir)
  existing = _existing_outputs(output, shard_size)
  if existing and not force:
    raise ExtractError('output %s already exists (use --force to replace '
                       'it)' % existing[0])
  # Now rather than after building the graph (read-only folder, /proc).
  output_files.check_writable(out_dir)
  files = find_images(paths)
  if checkpoint:
    checkpoint = _resolve_checkpoint(checkpoint)
  if preprocessing is None and checkpoint:
    preprocessing = checkpoint_convention(checkpoint)
  elif preprocessing is not None:
    from slimnets import preprocessing as conventions  # pylint: disable=import-outside-toplevel
    if preprocessing not in conventions.CONVENTIONS:
      raise ExtractError('preprocessing must be one of %s, got %r' %
                         (', '.join(conventions.CONVENTIONS), preprocessing))

  graph = tf.Graph()
  with graph.as_default():
    try:
      pipe = build_pipeline(files, model, endpoints, batch_size, image_size,
                            output_stride, pool, data_format, preprocessing)
    except (ValueError, TypeError) as error:
      raise ExtractError('%s: %s' % (model, _errors.one_line(error))) from None
    variables = graph.get_collection(
        tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
    if checkpoint:
      check_checkpoint(checkpoint, variables)
      saver = tf.compat.v1.train.Saver(variables)
    else:
      init = tf.compat.v1.variables_initializer(variables)
  graph.finalize()

  keys = list(pipe['outputs'])
  metadata = {'model': model, 'image_size': str(pipe['image_size']),
              'preprocessing': pipe['convention'],
              'checkpoint': checkpoint or '(random weights)',
              'precision': precision, 'data_format': data_format}
  writer = _Writer(output, keys, shard_size, metadata)
  skipped = []
  bar = None
  try:
    with tf.compat.v1.Session(graph=graph, config=session_config) as sess:
      if checkpoint:
        try:
          saver.restore(sess, checkpoint)
        except tf.errors.OpError as error:  # e.g. a truncated data file
          raise ExtractError('cannot restore checkpoint %s: %s' % (
              checkpoint, _errors.one_line(error))) from None
      else:
        sess.run(init)
      build_seconds = time.time() - start
      bar = _progress(len(files), progress)
      fetches = (pipe['index'], pipe['outputs'])
      loop_start = time.time()
      expected = 0

      def skip_until(stop):
        for i in range(expected, stop):
          try:
            sess.run(pipe['check'], {pipe['check_path']: files[i]})
            reason = 'failed in the input pipeline'
          except tf.errors.OpError as error:
            reason = _errors.one_line(error)
          if strict:
            raise ImageError('cannot read image %s: %s' % (files[i], reason))
          print('skipped %s: %s' % (files[i], reason), file=log)
          skipped.append((files[i], reason))

      while True:
        try:
          index, arrays = sess.run(fetches)
        except tf.errors.OutOfRangeError:
          break
        # The pipeline keeps the order, so a gap is a skipped image.
        for i in index:
          skip_until(i)
          expected = i + 1
        writer.add(arrays, [files[i] for i in index])
        if bar is not None:
          bar.update(writer.rows + len(skipped) - bar.n)
      skip_until(len(files))
      seconds = time.time() - loop_start
      if bar is not None:
        bar.update(len(files) - bar.n)
        bar.close()
        bar = None
    if not writer.rows:
      raise ExtractError('none of the %d images could be read' % len(files))
    written = writer.finish(force)
  finally:
    if bar is not None:
      bar.close()
    writer.cleanup()
  return {
      'model': model, 'images': writer.rows, 'skipped': skipped,
      'seconds': seconds, 'build_seconds': build_seconds,
      'images_per_second': writer.rows / seconds if seconds else 0.0,
      'outputs': written, 'info': pipe['info'],
      'shapes': {k: (writer.rows,) + tuple(writer.row_shapes[k])
                 for k in keys},
      'image_size': pipe['image_size'],
      'precision': precision, 'data_format': data_format,
      'preprocessing': pipe['convention'],
  }


# --- printing ------------------------------------------------------------------


def format_info_table(info, image_size, stored_shapes=None):
  """The end-point table: name, channels, stride, spatial size, stored shape.

  Returns:
    A list of lines.
  """
  rows = []
  for item in info:
    if item.stride:
      side = (image_size + item.stride - 1) // item.stride
      spatial = '%dx%d' % (side, side)
    else:
      spatial = 'pooled'
    row = [item.name, str(item.channels or '-'), str(item.stride or '-'),
           spatial]
    if stored_shapes is not None:
      row.append('[%s]' % ','.join(str(d) for d in stored_shapes[item.name]))
    rows.append(row)
  headers = ['End point', 'Channels', 'Stride', 'Size']
  if stored_shapes is not None:
    headers.append('Stored')
  widths = [max(len(h), max(len(r[i]) for r in rows))
            for i, h in enumerate(headers)]
  fmt = '  '.join(['%-*s'] + ['%*s'] * 3 + (['%-*s'] if stored_shapes is not
                                             None else []))

  def line(cells):
    flat = []
    for width, cell in zip(widths, cells):
      flat.extend([width, cell])
    return (fmt % tuple(flat)).rstrip()

  header = line(headers)
  return [header, '-' * len(header)] + [line(r) for r in rows]


def _print_summary(summary, out):
  skipped = len(summary['skipped'])
  modes = [mode for mode, default in ((summary.get('precision'), 'float32'),
                                      (summary.get('data_format'), 'NHWC'))
           if mode and mode != default]
  print('%d images, %d skipped, %.1f s (+ %.1f s graph and weights), '
        '%.1f images/s%s -> %s' % (
            summary['images'], skipped, summary['seconds'],
            summary['build_seconds'], summary['images_per_second'],
            ' (%s)' % ', '.join(modes) if modes else '',
            ', '.join(summary['outputs'])), file=out)


# --- command line ----------------------------------------------------------------


def _int(text):
  try:
    return int(text)
  except ValueError:
    raise argparse.ArgumentTypeError('invalid int value: %r' % text) from None


def add_runtime_arguments(parser):
  """Adds --precision and --data-format to `parser`.

  Values are checked by `nets.runtime`, not argparse, so a bad one is a
  one-line error (exit 2) like every other bad input.
  """
  parser.add_argument(
      '--precision', default='float32', metavar='{float32,bfloat16,float16}',
      help='bfloat16: TensorFlow\'s oneDNN auto mixed precision on CPUs '
      '(fastest with AMX / AVX-512-BF16); float16: CUDA auto mixed '
      'precision, GPU only. Variables and stored features stay float32 '
      '(default float32)')
  parser.add_argument(
      '--data-format', default='NHWC', metavar='{NHWC,NCHW}',
      help='layout the network runs in: NCHW is the fast one on NVIDIA GPUs, '
      'same variables as NHWC (default NHWC)')


def add_parser(subparsers):
  """Adds `slimnets extract` to `subparsers` (sets its `run` default)."""
  parser = subparsers.add_parser(
      'extract', help='extract features of image files to .npz/.safetensors',
      description=__doc__.split('Typical use:')[0],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('model', nargs='?',
                      help="a model name (see 'slimnets list'); with no "
                      "arguments at all, runs 'slimnets demo'")
  parser.add_argument('images', nargs='*', metavar='IMAGES',
                      help='image files or folders (searched recursively)')
  parser.add_argument('-o', '--output', help='.npz or .safetensors file')
  parser.add_argument('--checkpoint',
                      help='checkpoint prefix or folder (default: random '
                      'weights)')
  parser.add_argument('--preprocessing', default=None,
                      metavar='{vgg,inception,caffe,tf,torch}',
                      help="input convention (default: the one `slimnets "
                      "convert` recorded next to --checkpoint, else the "
                      "model's)")
  parser.add_argument('--endpoints', nargs='+', metavar='ENDPOINT',
                      help="end-point names or patterns, e.g. 'block*' "
                      "(default: global_pool)")
  parser.add_argument('--pool', action='store_true',
                      help='store spatial end points averaged over height '
                      'and width, [N, C]')
  parser.add_argument('--batch-size', type=_int, default=32,
                      help='images per batch (default 32)')
  parser.add_argument('--image-size', type=_int,
                      help="network input size (default: the model's)")
  parser.add_argument('--output-stride', type=_int,
                      help='dense features: input/feature size ratio, e.g. '
                      '8 or 16 (atrous)')
  parser.add_argument('--shard-size', type=_int,
                      help='write OUT_00000.npz, ... of this many images')
  parser.add_argument('--strict', action='store_true',
                      help='stop at the first unreadable image (exit 1)')
  parser.add_argument('--force', action='store_true',
                      help='replace an existing output')
  parser.add_argument('--no-progress', action='store_true',
                      help='no progress bar')
  add_runtime_arguments(parser)
  # IMAGES may also come after options (`... --checkpoint CK IMAGES -o
  # OUT`): see slimnets.cli.run_command.
  parser.set_defaults(run=run, extra_positionals='images')


def add_demo_parser(subparsers):
  """Adds `slimnets demo` to `subparsers` (sets its `run` default)."""
  parser = subparsers.add_parser(
      'demo', help='extract features of generated sample images with '
      'resnet_v2_50 (random weights)',
      description='Writes a few synthetic images (gradients, checkerboards, '
      'discs, stripes, noise) to a temporary folder, builds resnet_v2_50 '
      'with random weights (no weights can be downloaded), prints its '
      'feature table and throughput, and writes the pooled features to '
      './%s (replaced if it exists) or -o.' % DEMO_OUTPUT)
  parser.add_argument('-o', '--output', default=None,
                      help='output .npz/.safetensors (default ./%s)' %
                      DEMO_OUTPUT)
  parser.add_argument('--num-images', type=_int, default=8,
                      help='sample images to generate (default 8)')
  parser.add_argument('--force', action='store_true',
                      help='replace an existing -o output')
  parser.add_argument('--no-progress', action='store_true',
                      help='no progress bar')
  add_runtime_arguments(parser)
  parser.set_defaults(run=run_demo)


def _command_error(error):
  from slimnets import cli  # pylint: disable=import-outside-toplevel
  return cli.CommandError(_errors.one_line(error))


def run(args):
  """Runs `slimnets extract`; returns the exit status."""
  if args.model is None:
    print('no model given: running the demo (see slimnets demo --help)',
          file=sys.stderr)
    demo_args = argparse.Namespace(output=args.output, num_images=8,
                                   force=args.force,
                                   no_progress=args.no_progress,
                                   precision=args.precision,
                                   data_format=args.data_format)
    return run_demo(demo_args)
  if not args.images:
    raise _command_error('no IMAGES given (files or folders)')
  if not args.output:
    raise _command_error('-o/--output is required (.npz or .safetensors)')
  _quiet_tensorflow()
  _check_runtime_arguments(args)
  try:
    summary = extract(
        args.model, args.images, args.output, endpoints=args.endpoints,
        checkpoint=args.checkpoint, batch_size=args.batch_size,
        image_size=args.image_size, output_stride=args.output_stride,
        pool=args.pool, strict=args.strict, force=args.force,
        shard_size=args.shard_size, progress=not args.no_progress,
        precision=args.precision, data_format=args.data_format,
        preprocessing=args.preprocessing)
  except (ExtractError, OSError) as error:  # OSError: OutputError, taken
    raise _command_error(error) from None
  except ImageError as error:
    print('slimnets extract: error: %s (--strict: nothing written)' %
          _errors.one_line(error), file=sys.stderr)
    return 1
  for line in format_info_table(summary['info'], summary['image_size'],
                                summary['shapes']):
    print(line)
  _print_summary(summary, sys.stdout)
  return 0


def _quiet_tensorflow():
  from slimnets import cli  # pylint: disable=import-outside-toplevel
  return cli._quiet_tensorflow()  # pylint: disable=protected-access


def _check_runtime_arguments(args):
  """Raises CommandError for a bad --precision or --data-format."""
  from nets import runtime  # pylint: disable=import-outside-toplevel
  try:
    runtime.session_config(args.precision)
  except ValueError as error:
    raise _command_error('--precision %s: %s' %
                         (args.precision, error)) from None
  if args.data_format not in runtime.DATA_FORMATS:
    raise _command_error("--data-format must be 'NHWC' or 'NCHW', got %r" %
                         (args.data_format,))
  try:
    with runtime.data_format_scope(args.data_format):
      pass
  except ValueError as error:
    raise _command_error('--data-format %s: %s' %
                         (args.data_format, error)) from None


def run_demo(args):
  """Runs `slimnets demo`; returns the exit status."""
  from slimnets import _sample_images  # pylint: disable=import-outside-toplevel
  _quiet_tensorflow()
  output = args.output or DEMO_OUTPUT
  force = args.force or args.output is None
  if args.num_images < 1:
    raise _command_error('--num-images must be at least 1, got %d' %
                         args.num_images)
  _check_runtime_arguments(args)
  folder = tempfile.mkdtemp(prefix='slimnets-demo-')
  try:
    _sample_images.write_sample_images(folder, args.num_images)
    print('%s with random weights (no pretrained weights can be downloaded '
          'here; pass --checkpoint to slimnets extract for real features) '
          'on %d generated sample images in %s' %
          (DEMO_MODEL, args.num_images, folder))
    from nets import features  # pylint: disable=import-outside-toplevel
    size = 224
    table = features.feature_info(DEMO_MODEL, endpoints=['block*',
                                                         'global_pool'])
    for line in format_info_table(table, size):
      print(line)
    try:
      summary = extract(DEMO_MODEL, [folder], output,
                        batch_size=min(8, args.num_images), force=force,
                        progress=not args.no_progress,
                        precision=args.precision,
                        data_format=args.data_format)
    except (ExtractError, OSError) as error:
      raise _command_error(error) from None
  finally:
    shutil.rmtree(folder, ignore_errors=True)
  stored = summary['shapes']
  print('stored: %s' % ', '.join('%s [%s]' % (k, ','.join(map(str, v)))
                                 for k, v in stored.items()))
  _print_summary(summary, sys.stdout)
  return 0
