"""The measuring scripts, apart from the engine's rooms: each is ``python -m kdbench.bench.benchmarks.NAME``
(``trial``, ``prepare``, ``sweep``, ``search``, ``report``, ``zoo``, ``scale``, ``chain``) and prints figures
measured side by side; ``planted`` writes the seeded tables with planted interactions some of them use."""
