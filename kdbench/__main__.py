"""``python -m kdbench``: the same as the ``kdbench`` command."""

from kdbench.bench.cli import main

raise SystemExit(main())
