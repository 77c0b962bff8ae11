"""Baselines: what a plain model gets on a dataset's split, so a distilled student can be judged against it.

Two models, fitted on the train split, chosen on the valid split, scored on the test split, the students'
own splits (``kdbench.bench.data``): ``lr``, L2 logistic regression on the one-hot field codes (``C`` chosen
on a grid by validation log loss), and ``gbdt``, scikit-learn's ``HistGradientBoostingClassifier`` with
native categorical splits and early stopping on the valid split. Each :class:`BaselineResult` carries its
metrics, the hyperparameters chosen, its fit time and its serving latency (one thread, batch 1 and 4096).

- :func:`fit_baselines` fits them; :func:`baselines_for` returns them from this machine's file cache
  (``$KDBENCH_HOME/baselines/<fingerprint>.json``), fitting and caching them the first time;
  :func:`cached_baselines` only looks.
- The results store keeps them per (dataset fingerprint, model) (``ResultStore.record_baselines``) for the
  report's leaderboards.

Nothing here is imported by ``kdbench --help``: scikit-learn and SciPy load when a fit starts.
"""

from kdbench.bench._baselines._cache import baselines_for, baselines_path, cached_baselines
from kdbench.bench._baselines._features import MAX_BINS, MAX_FIT_ROWS
from kdbench.bench._baselines._fit import fit_baselines
from kdbench.bench._baselines._models import C_GRID, GBDT_MAX_ITER
from kdbench.bench._baselines._result import MODELS, BaselineResult

__all__ = [
    "C_GRID",
    "GBDT_MAX_ITER",
    "MAX_BINS",
    "MAX_FIT_ROWS",
    "MODELS",
    "BaselineResult",
    "baselines_for",
    "baselines_path",
    "cached_baselines",
    "fit_baselines",
]
