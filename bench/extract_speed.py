"""Feature extraction speed: the whole `slimnets extract` pipeline vs the net.

On N generated 256x256 JPEGs, compares
  pipeline  `slimnets.extract.extract`: read, decode and preprocess in tf.data
            (parallel map, prefetch), network in a Session, features
            streamed to an .npz;
  network   the same network and fetches with `Session.run` on batches
            already decoded and preprocessed in memory (fed by feed_dict).
Both time every batch including the first (cold) one, after graph building
and weight initialization, and run alternately (pipeline, network, pipeline,
network) so that load from other processes hits both; the best of each is
kept. The goal is a pipeline within 10% of the network alone: decoding must
hide behind the convolutions.

Run: python -m bench.extract_speed [--quick] [--num-images N]
`run()` returns the numbers as a dict (for bench.run).
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

_HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.dirname(_HERE) not in sys.path:
  sys.path.insert(0, os.path.dirname(_HERE))

from slimnets import _sample_images  # pylint: disable=g-import-not-at-top
from slimnets import extract  # pylint: disable=g-import-not-at-top
from nets import features  # pylint: disable=g-import-not-at-top
from slimnets import preprocessing  # pylint: disable=g-import-not-at-top


def _preprocessed(paths, model, image_size):
  preprocess = preprocessing.for_model(model, image_size)
  return np.stack([
      preprocess(tf.io.decode_image(tf.io.read_file(p), channels=3,
                                    expand_animations=False)).numpy()
      for p in paths])


def _network_rate(inputs, model, batch_size, image_size):
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32,
                                      [None, image_size, image_size, 3])
    feats, _ = features.extract_features(images, model, ['global_pool'])
    pooled = tf.reduce_mean(feats[0], [1, 2])
    init = tf.compat.v1.global_variables_initializer()
  with tf.compat.v1.Session(graph=graph) as sess:
    sess.run(init)
    start = time.time()
    for i in range(0, len(inputs), batch_size):
      sess.run(pooled, {images: inputs[i:i + batch_size]})
    return len(inputs) / (time.time() - start)


def run(quick=False, num_images=None, model='resnet_v2_50', batch_size=32,
        image_size=224, rounds=None):
  """Measures both rates; returns a dict of the numbers."""
  num_images = num_images or (16 if quick else 128)
  rounds = rounds or (1 if quick else 2)
  folder = tempfile.mkdtemp(prefix='slimnets-bench-extract-')
  try:
    paths = _sample_images.write_sample_images(
        os.path.join(folder, 'images'), num_images, 256, 256,
        formats=('jpg',))
    inputs = _preprocessed(paths, model, image_size)
    pipeline, network = [], []
    for r in range(rounds):
      out = os.path.join(folder, 'features_%d.npz' % r)
      summary = extract.extract(model, [os.path.dirname(paths[0])], out,
                                batch_size=batch_size,
                                image_size=image_size, progress=False)
      pipeline.append(summary['images_per_second'])
      network.append(_network_rate(inputs, model, batch_size, image_size))
  finally:
    shutil.rmtree(folder, ignore_errors=True)
  best_pipeline, best_network = max(pipeline), max(network)
  return {
      'model': model, 'images': num_images, 'image_size': image_size,
      'source_size': 256, 'batch_size': batch_size,
      'pipeline_images_per_second': round(best_pipeline, 3),
      'network_images_per_second': round(best_network, 3),
      'pipeline_over_network': round(best_pipeline / best_network, 3),
      'pipeline_runs': [round(x, 3) for x in pipeline],
      'network_runs': [round(x, 3) for x in network],
      'cores': os.cpu_count(),
  }


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--quick', action='store_true')
  parser.add_argument('--num-images', type=int)
  parser.add_argument('--batch-size', type=int, default=32)
  parser.add_argument('--model', default='resnet_v2_50')
  args = parser.parse_args(argv)
  result = run(args.quick, args.num_images, args.model, args.batch_size)
  print(json.dumps(result, indent=1))
  return result


if __name__ == '__main__':
  main()
