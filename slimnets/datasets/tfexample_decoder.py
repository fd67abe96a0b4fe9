"""Decoding tf.train.Example protos into items, with tf-slim's interface.

The same classes and arguments as `tf_slim.data.tfexample_decoder`
(`TFExampleDecoder(keys_to_features, items_to_handlers)`, the `Tensor`,
`Image`, `BoundingBox`, ... item handlers, `decode(serialized, items)`),
written on public TensorFlow 2 ops only. tf-slim's own decoder cannot be
used on TF 2.21: its `Image` handler picks the decoder with
`control_flow_ops.case` and `control_flow_ops.cond`, which TF removed from
that module, so every dataset with an image dies when its graph is built.

Here `Image` decodes JPEG, PNG, GIF and BMP with `tf.io.decode_image(...,
expand_animations=False)` (the encoded bytes name their own format, so one
op serves them all and no branch is needed), and 'raw' buffers with
`tf.io.decode_raw` when the handler knows the image shape. Works inside
`tf.data` functions and in graph mode with eager execution disabled.

Typical use:

   keys_to_features = {
       'image/encoded': tf.io.FixedLenFeature((), tf.string, ''),
       'image/format': tf.io.FixedLenFeature((), tf.string, 'jpeg'),
       'image/class/label': tf.io.FixedLenFeature((), tf.int64, -1),
   }
   items_to_handlers = {
       'image': tfexample_decoder.Image(),
       'label': tfexample_decoder.Tensor('image/class/label'),
   }
   decoder = tfexample_decoder.TFExampleDecoder(keys_to_features,
                                                items_to_handlers)
   image, label = decoder.decode(serialized_example, ['image', 'label'])
"""

import abc

import tensorflow as tf


class ItemHandler(abc.ABC):
  """Names the Example features an item needs and makes the item of them."""

  def __init__(self, keys):
    """Args: keys: the feature key, or a list of them, the item reads."""
    if not isinstance(keys, (tuple, list)):
      keys = [keys]
    self._keys = list(keys)

  @property
  def keys(self):
    return self._keys

  @abc.abstractmethod
  def tensors_to_item(self, keys_to_tensors):
    """Returns the item's tensor from {feature key: parsed tensor}."""


class ItemHandlerCallback(ItemHandler):
  """An item computed by `func({key: parsed tensor})`."""

  def __init__(self, keys, func):
    super().__init__(keys)
    self._func = func

  def tensors_to_item(self, keys_to_tensors):
    return self._func(keys_to_tensors)


def _dense(tensor, default_value=0):
  if isinstance(tensor, tf.SparseTensor):
    return tf.sparse.to_dense(tensor, default_value)
  return tensor


class Tensor(ItemHandler):
  """A parsed feature as it is, or reshaped.

  The shape is fixed (`shape`) or read from other features of the same
  Example (`shape_keys`, one per dimension or one holding the shape); a
  sparse feature is made dense with `default_value`.
  """

  def __init__(self, tensor_key, shape_keys=None, shape=None,
               default_value=0):
    if shape_keys and shape is not None:
      raise ValueError('Cannot specify both shape_keys and shape parameters.')
    if shape_keys and not isinstance(shape_keys, list):
      shape_keys = [shape_keys]
    self._tensor_key = tensor_key
    self._shape_keys = shape_keys
    self._shape = shape
    self._default_value = default_value
    super().__init__([tensor_key] + list(shape_keys or []))

  def tensors_to_item(self, keys_to_tensors):
    tensor = keys_to_tensors[self._tensor_key]
    shape = self._shape
    if self._shape_keys:
      dims = [_dense(keys_to_tensors[key]) for key in self._shape_keys]
      shape = tf.reshape(tf.stack(dims), [-1])
    if isinstance(tensor, tf.SparseTensor):
      if shape is not None:
        tensor = tf.sparse.reshape(tensor, shape)
      return tf.sparse.to_dense(tensor, self._default_value)
    if shape is not None:
      tensor = tf.reshape(tensor, shape)
    return tensor


class LookupTensor(Tensor):
  """A `Tensor` item mapped through `table` (a tf.lookup table)."""

  def __init__(self, tensor_key, table, shape_keys=None, shape=None,
               default_value=''):
    self._table = table
    super().__init__(tensor_key, shape_keys, shape, default_value)

  def tensors_to_item(self, keys_to_tensors):
    return self._table.lookup(super().tensors_to_item(keys_to_tensors))


class BackupHandler(ItemHandler):
  """`handler`'s item, or `backup`'s when that one has no elements."""

  def __init__(self, handler, backup):
    for role, value in (('Primary', handler), ('Backup', backup)):
      if not isinstance(value, ItemHandler):
        raise ValueError('%s handler is of type %s instead of ItemHandler' %
                         (role, type(value)))
    self._handler = handler
    self._backup = backup
    super().__init__(handler.keys + backup.keys)

  def tensors_to_item(self, keys_to_tensors):
    item = self._handler.tensors_to_item(keys_to_tensors)
    return tf.cond(
        tf.equal(tf.size(item), 0),
        lambda: self._backup.tensors_to_item(keys_to_tensors),
        lambda: item)


class BoundingBox(ItemHandler):
  """[num_boxes, 4] boxes (ymin, xmin, ymax, xmax) from four features."""

  def __init__(self, keys=None, prefix=''):
    if keys is None:
      keys = ['ymin', 'xmin', 'ymax', 'xmax']
    elif len(keys) != 4:
      raise ValueError('BoundingBox expects 4 keys but got %d' % len(keys))
    self._prefix = prefix
    self._full_keys = [prefix + key for key in keys]
    super().__init__(self._full_keys)

  def tensors_to_item(self, keys_to_tensors):
    sides = []
    for key in self._full_keys:
      side = keys_to_tensors[key]
      if isinstance(side, tf.SparseTensor):
        side = side.values
      sides.append(side)
    return tf.stack(sides, axis=1)


class SparseTensor(ItemHandler):
  """A SparseTensor whose last index comes from an 'indices' feature."""

  def __init__(self, indices_key=None, values_key=None, shape_key=None,
               shape=None, densify=False, default_value=0):
    self._indices_key = indices_key or 'indices'
    self._values_key = values_key or 'values'
    self._shape_key = shape_key
    self._shape = shape
    self._densify = densify
    self._default_value = default_value
    keys = [self._indices_key, self._values_key]
    if shape_key:
      keys.append(shape_key)
    super().__init__(keys)

  def tensors_to_item(self, keys_to_tensors):
    indices = keys_to_tensors[self._indices_key]
    values = keys_to_tensors[self._values_key]
    if self._shape_key:
      shape = _dense(keys_to_tensors[self._shape_key])
    elif self._shape:
      shape = self._shape
    else:
      shape = indices.dense_shape
    rank = tf.shape(indices.indices)[1]
    ids = tf.cast(indices.values, tf.int64)
    kept = tf.slice(indices.indices, [0, 0], tf.stack([-1, rank - 1]))
    new_indices = tf.concat([kept, tf.reshape(ids, [-1, 1])], 1)
    tensor = tf.SparseTensor(new_indices, values.values,
                             tf.cast(shape, tf.int64))
    if self._densify:
      tensor = tf.sparse.to_dense(tensor, self._default_value)
    return tensor


class Image(ItemHandler):
  """An image decoded from its encoded bytes (JPEG/PNG/GIF/BMP or 'raw').

  As tf-slim's `Image`: `shape` reshapes every image (give it only when all
  images have that shape; 'raw' buffers need it), `channels` is the channel
  count decoded to (grayscale images are expanded, alpha dropped), `dtype`
  the decoded depth, `repeated` decodes a 1-D list of images. `dct_method`
  ('INTEGER_FAST' / 'INTEGER_ACCURATE') is passed to the JPEG decoder.
  """

  def __init__(self, image_key=None, format_key=None, shape=None, channels=3,
               dtype=tf.uint8, repeated=False, dct_method=''):
    image_key = image_key or 'image/encoded'
    format_key = format_key or 'image/format'
    super().__init__([image_key, format_key])
    self._image_key = image_key
    self._format_key = format_key
    self._shape = shape
    self._channels = channels
    self._dtype = tf.as_dtype(dtype)
    self._repeated = repeated
    self._dct_method = dct_method

  def tensors_to_item(self, keys_to_tensors):
    image_buffer = keys_to_tensors[self._image_key]
    image_format = keys_to_tensors[self._format_key]
    if self._repeated:
      return tf.map_fn(lambda buffer: self._decode(buffer, image_format),
                       image_buffer,
                       fn_output_signature=self._dtype)
    return self._decode(image_buffer, image_format)

  def _decode_encoded(self, image_buffer):
    def decode_any():
      return tf.io.decode_image(image_buffer, channels=self._channels,
                                dtype=self._dtype, expand_animations=False)

    if not self._dct_method or self._dtype != tf.uint8:
      return decode_any()

    # decode_image takes no dct_method: only then is JPEG decoded apart.
    def decode_jpeg():
      return tf.io.decode_jpeg(image_buffer, channels=self._channels,
                               dct_method=self._dct_method)

    return tf.cond(tf.io.is_jpeg(image_buffer), decode_jpeg, decode_any)

  def _decode(self, image_buffer, image_format):
    if self._shape is None:
      # A raw buffer has no shape of its own: without `shape` it cannot be
      # an image, and decode_image names the bytes as an unknown format.
      image = self._decode_encoded(image_buffer)
    else:
      shape = self._shape

      def decode_raw():
        return tf.reshape(tf.io.decode_raw(image_buffer, self._dtype), shape)

      def decode_encoded():
        return tf.reshape(self._decode_encoded(image_buffer), shape)

      is_raw = tf.equal(tf.strings.lower(image_format), 'raw')
      return tf.cond(is_raw, decode_raw, decode_encoded)
    image.set_shape([None, None, self._channels])
    return image


class TFExampleDecoder:
  """Parses a serialized tf.train.Example and makes the asked items.

  Args (of the constructor):
    keys_to_features: {feature key: tf.io.FixedLenFeature or
      tf.io.VarLenFeature}, as for `tf.io.parse_single_example`.
    items_to_handlers: {item name: ItemHandler}.
  """

  def __init__(self, keys_to_features, items_to_handlers):
    self._keys_to_features = keys_to_features
    self._items_to_handlers = items_to_handlers

  @property
  def keys_to_features(self):
    return dict(self._keys_to_features)

  def list_items(self):
    """The names of the items `decode` can make."""
    return list(self._items_to_handlers)

  def decode(self, serialized_example, items=None):
    """Decodes one serialized Example.

    Args:
      serialized_example: a scalar string tensor.
      items: the item names to decode (default: all, in `list_items` order).

    Returns:
      A list of tensors, one per item, in the order of `items`.

    Raises:
      ValueError: an item no handler makes (naming the known ones).
    """
    items = list(items) if items else self.list_items()
    unknown = [item for item in items if item not in self._items_to_handlers]
    if unknown:
      raise ValueError('unknown item %s; the decoder has %s' %
                       (', '.join(map(repr, unknown)),
                        ', '.join(self.list_items())))
    # Parse only the features the asked items read.
    needed = set()
    for item in items:
      needed.update(self._items_to_handlers[item].keys)
    features = {key: value for key, value in self._keys_to_features.items()
                if key in needed}
    example = tf.io.parse_single_example(serialized_example, features)
    for key in sorted(features):
      feature = features[key]
      if isinstance(feature, tf.io.FixedLenFeature):
        example[key] = tf.reshape(example[key], feature.shape)
    outputs = []
    for item in items:
      handler = self._items_to_handlers[item]
      outputs.append(handler.tensors_to_item(
          {key: example[key] for key in handler.keys}))
    return outputs
