"""Private pieces of :mod:`kdbench.bench.baselines`: one idea per module, public names re-exported there."""
