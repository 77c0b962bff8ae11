"""One module per ``kdbench`` command group; see :mod:`kdbench.bench.cli`."""
