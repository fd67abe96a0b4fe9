"""Side-by-side benchmarks: slimnets against tf-slim's nets and Keras."""

import os

# XLA auto-clustering on CPUs needs this flag before TensorFlow starts; it
# only affects sessions that ask for XLA (nets.runtime.session_config).
os.environ.setdefault('TF_XLA_FLAGS', '--tf_xla_cpu_global_jit')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
