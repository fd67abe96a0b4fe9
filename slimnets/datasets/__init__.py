"""slim's datasets on TensorFlow 2: TFRecords of image Examples via tf.data.

Modules, by their research/slim names:

  dataset_factory    get_dataset(name, split_name, dataset_dir) -> Dataset
  flowers, cifar10, mnist, imagenet
                     upstream's datasets (file names, split sizes, classes)
  folder             datasets written by `slimnets dataset`, any name
  dataset            the Dataset class: read() -> tf.data.Dataset, check()
  dataset_utils      image_to_tfexample, read/write_label_file, has_labels
  tfexample_decoder  tf-slim's TFExampleDecoder interface, working on TF 2.21

The modules import TensorFlow; this package file does not. See
docs/datasets.md.
"""
