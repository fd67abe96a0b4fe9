"""slimnets' applications: the `slimnets` command line and what it runs.

`nets/` holds what TF-Slim's `nets` holds (the models, `nets_factory`, their
utilities and layers); this package holds the workflow around them, one small
module per command, with research/slim's module names where it has them:

  slimnets.cli            the `slimnets` command (also `python -m slimnets`)
  slimnets.extract        `slimnets extract` / `demo`: features of images
  slimnets.preprocessing  pixel conventions and `preprocessing_factory`
  slimnets.output_files   temporary-then-publish outputs, signal handling

Moved here from `nets/` (0.1.0 -> 0.2.0): `nets.cli`, `nets.extract`,
`nets.preprocessing`, `nets.output_files` and `python -m nets`.
"""

from nets import __version__  # one version for both packages
