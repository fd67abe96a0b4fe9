"""slimnets: TF-Slim's image backbones on current TensorFlow.

Drop-in for `from nets import resnet_v2` pipelines: the same `Block` specs,
arg scopes, variable names, end points and checkpoints as TF-Slim's `nets`,
built on plain `tf.compat.v1` ops.
"""

__version__ = '0.2.0'
