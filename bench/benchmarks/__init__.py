"""The measuring scripts, apart from the engine's rooms: each is ``python -m kdbench.bench.benchmarks.NAME``
(``trial``, ``prepare``, ``sweep``, ``report``, ``zoo``, ``scale``, ``chain``) and prints figures measured
side by side."""
