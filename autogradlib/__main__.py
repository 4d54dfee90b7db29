"""`python -m autogradlib train` runs the command line."""

import sys

from autogradlib.cli import main

sys.exit(main())
