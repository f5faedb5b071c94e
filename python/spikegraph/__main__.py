"""``python -m spikegraph`` is the ``spikegraph`` command."""

import sys

from .cli import main

sys.exit(main())
