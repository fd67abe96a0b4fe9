"""Deterministic synthetic sample images for the demo, tests and benchmarks.

No images ship with slimnets and nothing can be downloaded, so the demo makes
its own: gradients, checkerboards, discs, stripes and seeded noise of a few
sizes and aspect ratios, encoded by TensorFlow as PNG and JPEG (private).
"""

import os

import numpy as np

# (height, width) cycle: portrait, landscape, square, odd sizes.
_SIZES = ((240, 320), (320, 240), (256, 256), (200, 300), (333, 250))
_KINDS = ('gradient', 'checkerboard', 'discs', 'stripes', 'noise')


def sample_image(index, height=None, width=None):
  """The `index`-th sample image, uint8 [height, width, 3] (deterministic)."""
  if height is None or width is None:
    height, width = _SIZES[index % len(_SIZES)]
  kind = _KINDS[index % len(_KINDS)]
  y = np.linspace(0.0, 1.0, height)[:, None]
  x = np.linspace(0.0, 1.0, width)[None, :]
  phase = 0.37 * index
  if kind == 'gradient':
    rgb = [x + 0 * y, y + 0 * x, (x + y + phase) % 1.0]
  elif kind == 'checkerboard':
    cell = 8 + 4 * (index % 5)
    board = ((np.arange(height)[:, None] // cell +
              np.arange(width)[None, :] // cell) % 2).astype(np.float64)
    rgb = [board, 1.0 - board, 0.5 * board + 0.25]
  elif kind == 'discs':
    r = np.hypot(y - 0.5, x - 0.5)
    rgb = [(r < 0.3) * 1.0, ((r * 10 + phase) % 1.0), (r > 0.45) * 0.8]
  elif kind == 'stripes':
    s = 0.5 + 0.5 * np.sin(2 * np.pi * (6 + index % 7) * (x + 0.5 * y))
    rgb = [s, 1.0 - s, s * x + 0 * y]
  else:
    rng = np.random.RandomState(index)
    return rng.randint(0, 256, (height, width, 3)).astype(np.uint8)
  image = np.stack([np.broadcast_to(c, (height, width)) for c in rgb], -1)
  return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def write_sample_images(directory, count=8, height=None, width=None,
                        formats=('jpg', 'png')):
  """Writes `count` sample images into `directory` (created if needed).

  Args:
    directory: output folder.
    count: number of images.
    height, width: one size for all, or None for the built-in mix.
    formats: encodings cycled over ('jpg' and/or 'png').

  Returns:
    The written paths, sorted.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  os.makedirs(directory, exist_ok=True)
  paths = []
  for index in range(count):
    image = sample_image(index, height, width)
    fmt = formats[index % len(formats)]
    if fmt == 'png':
      data = tf.io.encode_png(image)
    elif fmt == 'jpg':
      data = tf.io.encode_jpeg(image, quality=90)
    else:
      raise ValueError('formats must be jpg or png, got %r' % (fmt,))
    path = os.path.join(directory, 'sample_%03d.%s' % (index, fmt))
    with open(path, 'wb') as f:
      f.write(data.numpy() if hasattr(data, 'numpy') else data)
    paths.append(path)
  return sorted(paths)
