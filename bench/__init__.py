"""Side-by-side benchmarks: slimnets against tf-slim's nets and Keras."""
