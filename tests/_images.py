"""Small real image folders for tests: learnable, deterministic, PIL-written.

`write_image_folder(root)` writes `root/<class>/<class>_<i>.<ext>`: JPEG and
PNG files of classes that a small network tells apart after a few steps.
Class c has its own colour (hues spread around the wheel) and its own
stripe direction and frequency; each image shifts the stripes by a random
phase and adds Gaussian noise, so images of one class differ. The same
seed gives the same bytes.

Typical use:

   from _images import write_image_folder
   folder = write_image_folder(tmp_path / 'photos', num_classes=3,
                               images_per_class=4, size=32)
   folder.class_names      # ['class0', 'class1', 'class2']
   folder.images           # [(path, label), ...] in class order

   # A slim TFRecord dataset of such images (`slimnets dataset`), for
   # get_dataset('shapes', 'train' / 'validation', dataset_dir):
   dataset_dir, folder = write_tfrecord_dataset(tmp_path, num_classes=3)
"""

import colorsys
import collections
import os

import numpy as np
from PIL import Image

ImageFolder = collections.namedtuple('ImageFolder',
                                     ['root', 'class_names', 'images'])


def class_image(label, num_classes, height, width, rng, noise=12.0,
                grayscale=False):
  """The uint8 array [height, width, 3] (or [h, w]) of one image of `label`."""
  hue = label / float(num_classes)
  colour = np.array(colorsys.hsv_to_rgb(hue, 0.8, 0.9)) * 255.0
  angle = np.pi * label / num_classes
  frequency = 2.0 + (label % 3)
  y, x = np.mgrid[0:height, 0:width].astype(np.float64)
  along = (x * np.cos(angle) + y * np.sin(angle)) / max(height, width)
  phase = rng.uniform(0, 2 * np.pi)
  stripes = 0.5 + 0.5 * np.sin(2 * np.pi * frequency * along + phase)
  image = colour[None, None, :] * (0.45 + 0.55 * stripes[:, :, None])
  image = image + rng.normal(0.0, noise, size=image.shape)
  image = np.clip(np.round(image), 0, 255).astype(np.uint8)
  if grayscale:
    image = np.round(image.mean(axis=2)).astype(np.uint8)
  return image


def write_image_folder(root, num_classes=3, images_per_class=4, size=32,
                       image_format='mixed', seed=0, class_names=None,
                       vary_size=False, grayscale=False, noise=12.0):
  """Writes a folder of class sub-folders of images.

  Args:
    root: the folder to create (its parents too).
    num_classes: the number of class sub-folders.
    images_per_class: images in each.
    size: the image height and width in pixels.
    image_format: 'jpeg', 'png', or 'mixed' (JPEG and PNG alternating).
    seed: the seed of the noise and phases.
    class_names: the sub-folder names (default 'class0', 'class1', ...).
    vary_size: make widths differ from image to image (size .. size + 8).
    grayscale: one-channel images (PNG 'L' / JPEG 'L').
    noise: the standard deviation of the pixel noise.

  Returns:
    ImageFolder(root, class_names, images [(path, label)]).
  """
  if image_format not in ('jpeg', 'png', 'mixed'):
    raise ValueError('image_format must be jpeg, png or mixed')
  rng = np.random.RandomState(seed)
  class_names = list(class_names or ['class%d' % c
                                     for c in range(num_classes)])
  root = str(root)
  images = []
  for label, class_name in enumerate(class_names):
    folder = os.path.join(root, class_name)
    os.makedirs(folder, exist_ok=True)
    for index in range(images_per_class):
      width = size + (rng.randint(0, 9) if vary_size else 0)
      pixels = class_image(label, len(class_names), size, width, rng,
                           noise=noise, grayscale=grayscale)
      fmt = image_format
      if fmt == 'mixed':
        fmt = ('jpeg', 'png')[(label + index) % 2]
      ext = 'jpg' if fmt == 'jpeg' else 'png'
      path = os.path.join(folder, '%s_%03d.%s' % (class_name, index, ext))
      picture = Image.fromarray(pixels, 'L' if grayscale else 'RGB')
      if fmt == 'jpeg':
        picture.save(path, format='JPEG', quality=95)
      else:
        picture.save(path, format='PNG')
      images.append((path, label))
  return ImageFolder(root, class_names, images)


def write_tfrecord_dataset(root, name='shapes', num_classes=3,
                           images_per_class=4, size=32, num_validation=None,
                           num_shards=2, seed=0, **image_kwargs):
  """Writes an image folder and converts it with `slimnets dataset`.

  Args:
    root: a folder for both (root/images, root/<name>).
    name: the dataset name (`--dataset_name`).
    num_classes, images_per_class, size, seed, **image_kwargs: see
      `write_image_folder`.
    num_validation: validation images (default: one per class).
    num_shards: shards per split.

  Returns:
    (dataset_dir, ImageFolder).
  """
  from slimnets import make_dataset  # pylint: disable=import-outside-toplevel
  images = write_image_folder(os.path.join(str(root), 'images'),
                              num_classes=num_classes,
                              images_per_class=images_per_class, size=size,
                              seed=seed, **image_kwargs)
  dataset_dir = os.path.join(str(root), name)
  make_dataset.make_dataset(
      images.root, dataset_dir, dataset_name=name,
      num_validation=num_classes if num_validation is None else
      num_validation, num_shards=num_shards, seed=seed)
  return dataset_dir, images
