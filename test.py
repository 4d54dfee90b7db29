#!/usr/bin/env python3
"""The seed's executable: trains the reference experiment (same as `autogradlib train`)."""

import sys

from autogradlib.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
