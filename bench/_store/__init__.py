"""Private pieces of :mod:`bench.store`: one idea per module, public names re-exported there."""
