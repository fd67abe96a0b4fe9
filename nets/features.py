"""Any registered model as a feature extractor over its end points.

Slim nets return every intermediate activation in `end_points`; this module
picks some of them by name or pattern and says what they are: channels and
stride relative to the input (timm's `feature_info`, torchvision's
`IntermediateLayerGetter`, DeepLab's `networks_to_feature_maps`), for any
`output_stride` (atrous, dense features, [1] section 3.1).

End-point selectors are exact names or shell patterns, matched against the
full key ('resnet_v2_50/block4') and against the key without the network's
'<scope>/' prefix ('block4'). As in paths, '*' and '?' do not cross '/',
'**' does: 'block*' picks the four block outputs, 'block4/**' everything inside
block4, 'block*/unit_*/*' every unit's output, '**/conv2' every unit's 3x3
conv. The default is the block outputs
(end points whose last component is 'block<N>').

[1] Chen et al., "Rethinking Atrous Convolution for Semantic Image
    Segmentation", arXiv:1706.05587.

Typical use:

   from nets import features
   images = tf.compat.v1.placeholder(tf.float32, [None, 321, 321, 3])
   feats, info = features.extract_features(images, 'resnet_v2_50',
                                           endpoints=['block*'],
                                           output_stride=16,
                                           is_training=False)
   for f, i in zip(feats, info):
     print(i.name, i.channels, i.stride, f.shape)  # ...block4 2048 16 [?,21,21,2048]
   features.feature_info('resnet_v2_50', output_stride=16)
"""

import collections
import functools
import inspect
import math
import re

import tensorflow as tf

from nets import registry
from nets import runtime

FeatureInfo = collections.namedtuple('FeatureInfo',
                                     ['name', 'channels', 'stride'])
FeatureInfo.__doc__ = """One selected end point.

  name: the full end-point key, e.g. 'resnet_v2_50/block4'.
  channels: its channel count (None for a flattened map such as cifarnet's
    'Flatten', whose width depends on the input size).
  stride: input size / its spatial size (e.g. 32 for block4, 16 with
    output_stride 16), or None for globally pooled end points such as
    'global_pool' (and logits).
"""

# Strides come from two probe sizes: _PROBE_GROWTH is a multiple of every
# stride a network has (64 > 32), _PROBE_SIZE above every minimum size.
_PROBE_SIZE = 512
_PROBE_GROWTH = 64
_BLOCK_RE = re.compile(r'block\d+$')


def _glob_regex(pattern):
  """A compiled regex for a path-style glob ('*' within one component)."""
  out, i, n = [], 0, len(pattern)
  while i < n:
    c = pattern[i]
    if pattern.startswith('**', i):
      out.append('.*')
      i += 2
      continue
    if c == '*':
      out.append('[^/]*')
    elif c == '?':
      out.append('[^/]')
    elif c == '[':
      end = pattern.find(']', i + 2 if pattern[i + 1:i + 2] in '!]' else
                         i + 1)
      if end < 0:
        out.append(re.escape(c))
      else:
        body = pattern[i + 1:end]
        if body.startswith('!'):
          body = '^' + body[1:]
        out.append('[%s]' % body.replace('\\', '\\\\'))
        i = end
    else:
      out.append(re.escape(c))
    i += 1
  return re.compile(''.join(out) + r'\Z')


def _scope_prefix(names):
  """The network scope shared by the end-point keys ('resnet_v2_50/')."""
  heads = {name.split('/', 1)[0] for name in names if '/' in name}
  return heads.pop() + '/' if len(heads) == 1 else ''


def default_endpoints(names):
  """The block outputs among end-point `names` (in network order).

  Falls back to every end point when none is named 'block<N>'.
  """
  blocks = [n for n in names if _BLOCK_RE.match(n.rsplit('/', 1)[-1])]
  return blocks or list(names)


def select_endpoints(names, selectors=None):
  """End-point keys chosen by exact names or patterns, in network order.

  Args:
    names: the end-point keys of a network, in network order.
    selectors: None (the block outputs), a string or a list of names and
      patterns (see the module docstring).

  Returns:
    The selected keys, in network order, without duplicates.

  Raises:
    ValueError: when a selector matches no end point; lists the valid ones.
  """
  names = list(names)
  if selectors is None:
    return default_endpoints(names)
  if isinstance(selectors, str):
    selectors = [selectors]
  prefix = _scope_prefix(names)
  chosen = set()
  for selector in selectors:
    if not isinstance(selector, str) or not selector:
      raise ValueError('end-point selectors must be non-empty strings, got %r'
                       % (selector,))
    if selector in names:
      chosen.add(selector)
      continue
    if prefix + selector in names:
      chosen.add(prefix + selector)
      continue
    regex = _glob_regex(selector)
    hits = [n for n in names
            if regex.match(n) or (prefix and n.startswith(prefix) and
                                  regex.match(n[len(prefix):]))]
    if not hits:
      shown = [n[len(prefix):] if prefix and n.startswith(prefix) else n
               for n in names]
      raise ValueError(
          'end point %r matches no end point of the network; valid end '
          'points (%s): %s' %
          (selector, "'%s' prefix left out" % prefix if prefix else 'keys',
           ', '.join(shown)))
    chosen.update(hits)
  return [n for n in names if n in chosen]


def _takes_output_stride(name):
  parameters = inspect.signature(registry.get_model(name).fn).parameters
  return 'output_stride' in parameters or any(
      p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _model_kwargs(name, output_stride, kwargs):
  kwargs = dict(kwargs)
  if output_stride is not None:
    # Checked here: the model function itself would raise a TypeError.
    if name in registry.list_models() and not _takes_output_stride(name):
      raise ValueError(
          'model %s has no atrous variant and takes no output_stride (got '
          '%r); leave output_stride unset' % (name, output_stride))
    kwargs['output_stride'] = output_stride
  return kwargs


def build_end_points(images, name, output_stride=None, is_training=False,
                     num_classes=0, weight_decay=0.0, **kwargs):
  """Builds model `name` on `images` under its arg scope.

  Args:
    images: float tensor [batch, height, width, 3], preprocessed.
    name: a registered model name.
    output_stride: None or the wanted input/feature resolution ratio.
    is_training: batch norm mode.
    num_classes: logits size; 0 (default) stops at the features.
    weight_decay: for the arg scope.
    **kwargs: more model arguments (global_pool, scope, reuse, ...).

  Returns:
    (net, end_points) as the model returns them.
  """
  from nets import nets_factory  # pylint: disable=import-outside-toplevel
  network_fn = nets_factory.get_network_fn(name, num_classes=num_classes,
                                           weight_decay=weight_decay,
                                           is_training=is_training)
  return network_fn(images, **_model_kwargs(name, output_stride, kwargs))


def _height(tensor):
  """Spatial height of an image [B, H, W, C] or video [B, T, H, W, C] map."""
  shape = tensor.shape
  return shape[shape.rank - 3] if shape.rank in (4, 5) else None


def _info_from_shapes(small, large, growth):
  """FeatureInfo from the end points of two probes `growth` pixels apart.

  The stride is the input growth over the feature map's growth: exact for
  SAME and VALID padding alike (a VALID conv trims a fixed number of pixels,
  whatever the size), and for fixed-kernel heads such as VGG's fc6, which
  slide at their input's stride. A map that does not grow is globally pooled.
  """
  infos = collections.OrderedDict()
  for key, tensor in small.items():
    shape = tensor.shape
    channels = shape[-1] if shape.rank else None
    if channels != large[key].shape[-1]:
      channels = None  # a flattened map: its width depends on the input size
    stride = None
    if _height(tensor) is not None:
      grown = _height(large[key]) - _height(tensor)
      if grown > 0:
        stride = int(2 ** round(math.log2(growth / grown)))
    infos[key] = FeatureInfo(key, channels, stride)
  return infos


def _probe_end_points(name, size, output_stride, num_classes, kwargs):
  graph = tf.Graph()
  # NHWC whatever the caller's scope: the shapes are read as [B, H, W, C],
  # and the cache must not depend on the scope.
  with graph.as_default(), runtime.data_format_scope('NHWC'):
    images = tf.compat.v1.placeholder(
        tf.float32, registry.input_shape(name, 1, size), name='probe')
    _, end_points = build_end_points(images, name, output_stride,
                                     is_training=False,
                                     num_classes=num_classes, **kwargs)
  return end_points


@functools.lru_cache(maxsize=64)
def _probe(name, output_stride, num_classes, frozen_kwargs):
  kwargs = dict(frozen_kwargs)
  small, large = (
      _probe_end_points(name, size, output_stride, num_classes, kwargs)
      for size in (_PROBE_SIZE, _PROBE_SIZE + _PROBE_GROWTH))
  return _info_from_shapes(small, large, _PROBE_GROWTH)


def all_feature_info(name, output_stride=None, num_classes=0, **kwargs):
  """FeatureInfo of every end point of `name`, by key, in network order.

  Built once per argument set on 512x512 and 576x576 probe graphs (shapes
  only, no weights) and cached.

  Raises:
    ValueError: unknown model, or an output_stride the model cannot take.
  """
  return collections.OrderedDict(
      _probe(name, output_stride, num_classes,
             tuple(sorted(kwargs.items()))))


def pooled_endpoint(name, **kwargs):
  """The end point holding `name`'s image feature vector.

  'global_pool' where the network records one (ResNet, ResNeXt, Xception,
  Inception v4, MobileNet v2/v3, NASNet, ...), else the last end point of
  its feature network (num_classes=0): 'vgg_16/fc7', cifarnet's 'fc4',
  'AvgPool_1a' of inception_v3 and mobilenet_v1 (fixed-kernel pools, 1x1 at
  the default size). Read from the cached probe; `kwargs` are model
  arguments.
  """
  names = list(all_feature_info(name, **kwargs))
  return 'global_pool' if 'global_pool' in names else names[-1]


def feature_info(name, endpoints=None, output_stride=None, num_classes=0,
                 **kwargs):
  """What `extract_features` returns for the same arguments, without images.

  Args:
    name: a registered model name, e.g. 'resnet_v2_50'.
    endpoints: None (the block outputs), or names / patterns.
    output_stride: None (nominal) or e.g. 8 or 16 for atrous dense features.
    num_classes: 0 (default) for a network without logits.
    **kwargs: other model arguments (e.g. global_pool=False).

  Returns:
    A list of FeatureInfo(name, channels, stride) in network order.

  Raises:
    ValueError: unknown model or end point (listing the valid ones), or an
      output_stride the model cannot take.
  """
  infos = all_feature_info(name, output_stride, num_classes, **kwargs)
  return [infos[key] for key in select_endpoints(list(infos), endpoints)]


def extract_features(images, name, endpoints=None, output_stride=None,
                     is_training=False, as_dict=False, num_classes=0,
                     weight_decay=0.0, **kwargs):
  """Builds `name` on `images` and returns the chosen end points.

  Args:
    images: float tensor [batch, height, width, 3], preprocessed for the
      model (see `slimnets.preprocessing.for_model`).
    name: a registered model name.
    endpoints: None (the block outputs), a name/pattern or a list of them;
      'global_pool' gives the pooled features [batch, 1, 1, C].
    output_stride: None (nominal stride) or a smaller stride such as 8 or 16:
      later blocks turn atrous and keep the resolution.
    is_training: batch norm mode (False for feature extraction).
    as_dict: return an ordered dict key -> tensor instead of a list.
    num_classes: logits size; 0 (default) builds no logits.
    weight_decay: weight decay of the arg scope.
    **kwargs: more model arguments (scope, reuse, global_pool, ...).

  Returns:
    (features, info): the tensors (list, or dict when `as_dict`) and a list
    of FeatureInfo in the same order.

  Raises:
    ValueError: unknown model or end point (listing the valid ones), or an
      output_stride the model cannot take.
  """
  _, end_points = build_end_points(images, name, output_stride, is_training,
                                   num_classes, weight_decay, **kwargs)
  keys = select_endpoints(list(end_points), endpoints)
  probe_kwargs = {k: v for k, v in kwargs.items()
                  if k not in ('reuse', 'scope')}
  probe = all_feature_info(name, output_stride, num_classes, **probe_kwargs)
  info = []
  for key in keys:
    # With a custom scope the keys differ from the probe's; the structure
    # (and so the order) does not.
    probe_info = probe.get(key) or list(probe.values())[
        list(end_points).index(key)]
    info.append(FeatureInfo(key, probe_info.channels, probe_info.stride))
  if as_dict:
    return collections.OrderedDict((k, end_points[k]) for k in keys), info
  return [end_points[k] for k in keys], info
