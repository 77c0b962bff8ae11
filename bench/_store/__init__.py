"""Private pieces of :mod:`kdbench.bench.store`: one idea per module, public names re-exported there."""
