"""``python -m trackrun.cli``: the ``trackrun`` command."""

import sys

from trackrun.cli import main

sys.exit(main())
