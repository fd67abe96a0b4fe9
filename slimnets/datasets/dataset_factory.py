"""The dataset factory of research/slim: a dataset split by its name.

`get_dataset(name, split_name, dataset_dir)` as upstream's, for its four
datasets (split sizes and class counts as upstream)

  name      splits (samples)                    classes  files in dataset_dir
  flowers   train 3320, validation 350          5        flowers_%s_*.tfrecord
  cifar10   train 50000, test 10000             10       cifar10_%s.tfrecord
  mnist     train 60000, test 10000             10       mnist_%s.tfrecord
  imagenet  train 1281167, validation 50000     1001     %s-*

and for any dataset folder written by `slimnets dataset` (see
`slimnets.datasets.folder`), under the name it was written with. When
dataset_dir holds such a folder's description for the name asked (also
'flowers' & co.), the description wins: its sizes and classes are the
folder's own.

Typical use:

   from slimnets.datasets import dataset_factory
   dataset = dataset_factory.get_dataset('flowers', 'train', '/data/flowers')
   dataset.check()
   images_and_labels = dataset.read(shuffle=True, seed=0)
"""

from slimnets.datasets import cifar10
from slimnets.datasets import dataset as dataset_lib
from slimnets.datasets import flowers
from slimnets.datasets import folder
from slimnets.datasets import imagenet
from slimnets.datasets import mnist

datasets_map = {
    'cifar10': cifar10,
    'flowers': flowers,
    'imagenet': imagenet,
    'mnist': mnist,
}


def _known():
  return ('%s, or the name of a dataset folder written by `slimnets dataset`'
          % ', '.join(sorted(datasets_map)))


def get_dataset(name, split_name, dataset_dir, file_pattern=None,
                reader=None):
  """The `Dataset` of split `split_name` of dataset `name`.

  Args:
    name: 'flowers', 'cifar10', 'mnist', 'imagenet', or the name of the
      folder dataset in dataset_dir.
    split_name: a split of that dataset, e.g. 'train'.
    dataset_dir: the folder of the dataset's files.
    file_pattern: the files of the split inside dataset_dir, with '%s' for
      the split name (default: the dataset's own).
    reader: a function from a file name to a tf.data.Dataset of its records
      (default `tf.data.TFRecordDataset`).

  Returns:
    A `slimnets.datasets.dataset.Dataset`.

  Raises:
    ValueError: (one line) an unknown dataset name (listing the known),
      an unknown split (listing the valid ones), no dataset_dir, or no file
      of the split in it.
  """
  if not dataset_dir and name not in datasets_map:
    raise ValueError('unknown dataset_name %r; known: %s (with its '
                     'dataset_dir)' % (name, _known()))
  dataset_lib.check_dataset_dir(dataset_dir, name)
  metadata = folder.read_metadata(dataset_dir)
  if metadata is not None and metadata['name'] == name:
    return folder.get_split(name, split_name, dataset_dir, file_pattern,
                            reader, metadata=metadata)
  if name in datasets_map:
    return datasets_map[name].get_split(split_name, dataset_dir,
                                        file_pattern=file_pattern,
                                        reader=reader)
  if metadata is None:
    raise ValueError('unknown dataset_name %r; known: %s (dataset_dir %s has '
                     'none: no %s)' % (name, _known(), dataset_dir,
                                       folder.METADATA_FILENAME))
  raise ValueError('unknown dataset_name %r; known: %s (dataset_dir %s holds '
                   '%r)' % (name, ', '.join(sorted(datasets_map)),
                            dataset_dir, metadata['name']))
