"""`python -m slimnets` runs the `slimnets` command line."""

import sys

from slimnets import cli

if __name__ == '__main__':
  sys.exit(cli.main())
