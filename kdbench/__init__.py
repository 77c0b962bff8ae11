"""kdbench: hyperparameter search and benchmarking for KD-DAGFM.

One import namespace over the repository's folders: ``kdbench.models`` (pure PyTorch),
``kdbench.search_spaces``, ``kdbench.bench`` (data, trials, sweeps, store, CLI) and ``kdbench.reports``. An
installed wheel holds them under ``kdbench/``; in a checkout (and an editable install) they stay where they
are, at the repository's top level: this folder holds links to them (what editors and type checkers follow)
and this package's path reaches them there too (for a checkout made without symbolic links).
"""

from __future__ import annotations

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent
if (_CHECKOUT / "bench" / "cli.py").is_file() and (_CHECKOUT / "models" / "__init__.py").is_file():
    __path__.append(str(_CHECKOUT))
