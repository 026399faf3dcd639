"""`python -m generator` is the same as the `modelops` console script."""
import sys

from generator.cli import main

sys.exit(main())
