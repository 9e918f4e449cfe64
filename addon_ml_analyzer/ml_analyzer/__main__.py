"""`python -m ml_analyzer ...`."""

import sys

from ml_analyzer.cli import main

sys.exit(main(sys.argv[1:]))
