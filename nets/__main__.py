"""`python -m nets` runs the `slimnets` command line."""

import sys

from nets import cli

if __name__ == '__main__':
  sys.exit(cli.main())
