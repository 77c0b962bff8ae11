"""The parts of one trial that stand apart from its training loop: metrics, the memory check before any
allocation and the default thread count. Entered through :mod:`kdbench.bench.trial`."""
