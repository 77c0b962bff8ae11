"""One module per ``kdbench`` command group; see :mod:`bench.cli`."""
