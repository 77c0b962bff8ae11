"""``fit_baselines``: fit the baseline models on a dataset's split, score them and time them."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from kdbench.bench._baselines._features import fit_rows
from kdbench.bench._baselines._models import FITTERS, Predict
from kdbench.bench._baselines._result import MODELS, BaselineResult
from kdbench.bench.errors import BaselineError

if TYPE_CHECKING:
    from kdbench.bench.data import Dataset, Split

__all__ = ["fit_baselines", "scores"]

CHUNK_ROWS = 262_144  # test rows scored at once: the features of a chunk, not of the split, in memory
LATENCY_BUDGET_S = 0.15  # as a trial's latency measurement of one model (kdbench.bench.latency)


def fit_baselines(
    dataset: Dataset, *, models: Sequence[str] = MODELS, seed: int = 0, threads: int | None = None
) -> list[BaselineResult]:
    """Fit each of ``models`` (``"lr"``, ``"gbdt"``) on ``dataset``'s train split, choose its hyperparameters
    on the valid split (``kdbench.bench._baselines._models`` says how) and score it on the test split.

    ``threads``: the BLAS/OpenMP threads fitting and scoring may use (default:
    :func:`~kdbench.bench.trial.default_threads`); latencies are measured on one thread, like a trial's.
    Splits above :data:`~kdbench.bench._baselines._features.MAX_FIT_ROWS` rows are sampled (seeded by
    ``seed``) for fitting and choosing, recorded in ``params`` as ``train_rows`` / ``valid_rows``; the test
    split is always scored whole. :class:`BaselineError` for an unknown model, bad ``threads``, an empty
    train or valid split, or a training split with one class.
    """
    models = _checked_models(models)
    threads = _checked_threads(threads)
    if len(dataset.train) == 0 or len(dataset.valid) == 0:
        raise BaselineError(
            f"dataset {dataset.name} has an empty train or valid split "
            f"({len(dataset.train)} / {len(dataset.valid)} rows): no baseline can be fitted"
        )
    # imported before the clock starts: fit_seconds is the fit's, not scikit-learn's first import
    import sklearn.ensemble
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    train, valid = fit_rows(dataset.train, seed), fit_rows(dataset.valid, seed + 1)
    if train.y.min() == train.y.max():
        raise BaselineError(f"the training split of {dataset.name} holds one class only: nothing to fit")
    results = []
    for model in models:
        start = time.perf_counter()
        with threadpool_limits(limits=threads):
            fitted = FITTERS[model](train, valid, dataset, seed=seed)
        fit_seconds = time.perf_counter() - start
        with threadpool_limits(limits=threads):
            valid_auc, valid_logloss = scores(valid.y, fitted.predict(valid.x, valid.dense))
            test_probabilities = _predict_split(fitted.predict, dataset.test)
            test_auc, test_logloss = scores(np.asarray(dataset.test.y), test_probabilities)
        b1, b4096 = _latencies(fitted.predict, dataset.test if len(dataset.test) else dataset.train)
        result = BaselineResult(
            model=model, dataset_fingerprint=dataset.fingerprint, valid_auc=valid_auc,
            valid_logloss=valid_logloss, test_auc=test_auc, test_logloss=test_logloss,
            params={**fitted.params, "train_rows": len(train.y), "valid_rows": len(valid.y)},
            fit_seconds=fit_seconds, latency_ms_b1=b1, latency_ms_b4096=b4096, versions=_versions(),
            seed=seed, latency_threads=1,
        )  # fmt: skip
        results.append(result)
    return results


def scores(labels: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    """(ROC AUC, log loss) of ``probabilities`` against 0/1 ``labels``: the AUC is NaN where one class only is
    present (undefined there, as in ``kdbench.bench.trial.auc``); both are NaN for no rows."""
    from sklearn.metrics import log_loss, roc_auc_score

    if len(labels) == 0:
        return math.nan, math.nan
    auc = math.nan if labels.min() == labels.max() else float(roc_auc_score(labels, probabilities))
    return auc, float(log_loss(labels, probabilities, labels=[0, 1]))


def _predict_split(predict: Predict, split: Split) -> np.ndarray:
    out = np.empty(len(split))
    for start in range(0, len(split), CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        dense = None if split.dense is None else np.asarray(split.dense[rows], dtype=np.float64)
        out[rows] = predict(np.asarray(split.x[rows]), dense)
    return out


def _latencies(predict: Predict, split: Split) -> tuple[float, float]:
    """Median ms of scoring 1 and 4096 rows of ``split`` (repeated if it has fewer) on one thread, with the
    students' harness (``kdbench.bench.latency``: two warm-up calls, at least 3 timed, within a budget)."""
    import torch
    from threadpoolctl import threadpool_limits

    from kdbench.bench.latency import BATCHES, median_ms

    head = slice(0, BATCHES[1])
    rows = np.arange(BATCHES[1]) % min(len(split), BATCHES[1])
    x = np.asarray(split.x[head])[rows]
    dense = None if split.dense is None else np.asarray(split.dense[head], dtype=np.float64)[rows]

    def forward(codes: np.ndarray, *values: np.ndarray) -> np.ndarray:
        return predict(codes, values[0] if values else None)

    def inputs(n: int) -> tuple[np.ndarray, ...]:
        return (x[:n],) if dense is None else (x[:n], dense[:n])

    cpu = torch.device("cpu")
    with threadpool_limits(limits=1):
        b1 = median_ms(forward, inputs(1), cpu, budget_s=LATENCY_BUDGET_S / 4)
        b4096 = median_ms(forward, inputs(BATCHES[1]), cpu, budget_s=LATENCY_BUDGET_S * 3 / 4)
    return b1, b4096


def _checked_models(models: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(models) if not isinstance(models, str) else (models,)
    unknown = [m for m in chosen if m not in MODELS]
    if unknown:
        raise BaselineError(f"unknown baseline model {unknown[0]!r}: choose from {', '.join(MODELS)}")
    if not chosen or len(set(chosen)) != len(chosen):
        got = ", ".join(chosen) or "none"
        raise BaselineError(f"baseline models are one or more distinct of {', '.join(MODELS)}, got {got}")
    return chosen


def _checked_threads(threads: int | None) -> int:
    if threads is None:
        from kdbench.bench.trial import default_threads  # here: the trial's face loads torch and the models

        return default_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise BaselineError(f"threads must be an integer >= 1, got {threads!r}")
    return threads


def _versions() -> dict[str, str]:
    import scipy
    import sklearn

    return {"scikit-learn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__}
