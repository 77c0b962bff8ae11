"""``python -m bench`` runs the same CLI as ``kdbench``."""

import sys

from bench.cli import main

sys.exit(main())
