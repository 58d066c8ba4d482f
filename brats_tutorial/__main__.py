"""``python -m brats_tutorial``: the same as the ``brats-tutorial`` command."""

import sys

from .cli import main

sys.exit(main())
