"""``python -m kdbench.bench`` runs the same CLI as ``kdbench`` (and ``python -m kdbench``)."""

import sys

from kdbench.bench.cli import main

sys.exit(main())
