"""research/slim's script flags, by their names, on argparse.

`slimnets train`, `eval` and `export` take the flags of
train_image_classifier.py, eval_image_classifier.py and
export_inference_graph.py as those scripts spell them (absl style:
`--model_name=resnet_v2_50`, `--clone_on_cpu`, `--noclone_on_cpu`,
`--clone_on_cpu=false`), so a pipeline's command line moves over by changing
the program name. The dashed spelling (`--model-name`) is accepted too, as in
slimnets' other commands.

Typical use:

   from slimnets import _flags
   _flags.add(parser, 'batch_size', 32, 'The number of samples in each batch.')
   _flags.add_bool(parser, 'clone_on_cpu', False, 'Use CPUs to deploy clones.')
   _flags.add_model_flags(parser)
   _flags.add_dataset_flags(parser, split_default='train')
"""

_TRUE = ('1', 'true', 't', 'yes', 'y')
_FALSE = ('0', 'false', 'f', 'no', 'n')


def _spellings(name):
  dashed = name.replace('_', '-')
  return ['--' + name] + (['--' + dashed] if dashed != name else [])


def parse_bool(text):
  """absl's boolean values: true/false, t/f, yes/no, 1/0 (any case)."""
  lowered = str(text).strip().lower()
  if lowered in _TRUE:
    return True
  if lowered in _FALSE:
    return False
  raise ValueError('expected true or false, got %r' % text)


parse_bool.__name__ = 'boolean'  # argparse names the type in its message


def add(parser, name, default, help_text, type_=None, **kwargs):
  """Adds `--name=VALUE` (and `--name VALUE`, `--dashed-name`).

  Args:
    parser: an argparse parser or argument group.
    name: the flag's slim name, e.g. 'learning_rate'; also its `dest`.
    default: the default value; its type is the flag's type unless `type_`
      is given (a None default makes a string flag).
    help_text: the flag's help, as research/slim words it.
    type_: a conversion function, e.g. float for a None default.
    **kwargs: passed to `add_argument` (choices, metavar...).
  """
  if type_ is None and default is not None:
    type_ = type(default)
  parser.add_argument(*_spellings(name), dest=name, default=default,
                      type=type_, help=help_text, **kwargs)


def add_bool(parser, name, default, help_text):
  """Adds the absl boolean `--name`, `--name=false` and `--noname`."""
  parser.add_argument(*_spellings(name), dest=name, nargs='?', const=True,
                      default=default, type=parse_bool,
                      metavar='true|false', help=help_text)
  parser.add_argument(*_spellings('no' + name), dest=name,
                      action='store_false', help='Same as --%s=false.' % name)


def add_model_flags(parser, model_default='resnet_v2_50', model_help=None):
  """--model_name, --preprocessing_name, --labels_offset, --use_grayscale.

  Args:
    parser: an argparse parser or argument group.
    model_default: the default of --model_name.
    model_help: the help of --model_name, where a command words it its way.
  """
  add(parser, 'model_name', model_default, model_help or
      'The name of the architecture to use (`slimnets list` names them).')
  add(parser, 'preprocessing_name', None,
      'The name of the preprocessing to use. If left as `None`, then the '
      'model_name flag is used.')
  add(parser, 'labels_offset', 0,
      'An offset for the labels in the dataset. This flag is primarily used '
      'to evaluate the VGG and ResNet architectures which do not use a '
      'background class for the ImageNet dataset.')
  add_bool(parser, 'use_grayscale', False,
           'Whether to convert input images to grayscale.')


def add_dataset_flags(parser, split_default):
  """--dataset_name, --dataset_split_name, --dataset_dir."""
  add(parser, 'dataset_name', 'imagenet',
      'The name of the dataset to load (flowers, cifar10, mnist, imagenet, '
      'or the name of a folder dataset written by `slimnets dataset`).')
  add(parser, 'dataset_split_name', split_default,
      'The name of the split of the dataset.')
  add(parser, 'dataset_dir', None,
      'The directory where the dataset files are stored.')
