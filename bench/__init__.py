"""kdbench: datasets, KD trials, sweeps, the results store, regressions and the CLI."""

__version__ = "0.1.0"
