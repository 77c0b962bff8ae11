"""The two baseline models, each fitted on training rows and chosen on validation rows.

- ``lr``: L2 logistic regression on the one-hot codes (:class:`~._features.OneHot`), L-BFGS, over a grid of
  ``C`` from strong to weak regularisation; each fit starts from the previous one's weights (warm start),
  and the grid stops at the first ``C`` whose validation log loss is worse than the best so far (past the
  minimum, larger ``C`` only overfits more, and converges slowest). The model with the best validation log
  loss is kept: log loss, not AUC, since it also rewards calibrated probabilities and has no ties.
- ``gbdt``: scikit-learn's ``HistGradientBoostingClassifier`` with native categorical splits
  (:class:`~._features.Categories`) and early stopping on the validation rows' log loss (10 rounds without
  improvement, at most 1,000); sklearn keeps the model of the last round, so ``iterations`` counts those 10.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from kdbench.bench._baselines._features import Categories, OneHot, Rows

if TYPE_CHECKING:
    from kdbench.bench.data import Dataset

__all__ = ["C_GRID", "FITTERS", "GBDT_MAX_ITER", "LR_MAX_ITER", "Fitted", "fit_gbdt", "fit_lr"]

C_GRID = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
LR_MAX_ITER = 300  # L-BFGS iterations per grid point
GBDT_MAX_ITER = 1000
GBDT_PATIENCE = 10
GBDT_LEARNING_RATE = 0.1
GBDT_MAX_LEAF_NODES = 31

# codes (rows, fields), dense values (rows, dense fields) or None -> P(click) (rows,)
Predict = Callable[[np.ndarray, np.ndarray | None], np.ndarray]


class Fitted(NamedTuple):
    predict: Predict
    params: dict[str, Any]  # the chosen hyperparameters and how they were chosen (JSON-serialisable)


def fit_lr(train: Rows, valid: Rows, dataset: Dataset, *, seed: int) -> Fitted:
    from scipy.special import expit
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    encode = OneHot(train.x, dataset.vocab_sizes, dataset.dense_fields)
    features, valid_features = encode(train.x, train.dense), encode(valid.x, valid.dense)
    # L-BFGS stops when no gradient entry of the *mean* loss exceeds tol. sklearn's 1e-4 stopped a
    # warm-started fit at once on 10^6 rows (validation log loss 0.500, against 0.468 at 1e-6): one row's
    # share of the mean is the scale that still resolves the codes a single row carries.
    tol = min(1e-4, 1 / len(train.y))
    model = LogisticRegression(
        solver="lbfgs", max_iter=LR_MAX_ITER, tol=tol, warm_start=True, random_state=seed
    )
    curve: dict[str, float] = {}
    best: dict[str, Any] = {}
    for c in C_GRID:
        model.set_params(C=c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # recorded as "converged" instead
            model.fit(features, train.y)
        loss = float(log_loss(valid.y, model.predict_proba(valid_features)[:, 1], labels=[0, 1]))
        curve[f"{c:g}"] = loss
        if best and loss >= best["loss"]:
            break
        iterations = int(model.n_iter_[0])
        best = {"loss": loss, "C": c, "iterations": iterations, "converged": iterations < LR_MAX_ITER,
                "coef": model.coef_.ravel().copy(), "intercept": float(model.intercept_[0])}  # fmt: skip
    coef, intercept = best.pop("coef"), best.pop("intercept")
    del best["loss"]

    def predict(x: np.ndarray, dense: np.ndarray | None) -> np.ndarray:
        return expit(encode(x, dense) @ coef + intercept)

    params = {
        **best,
        "solver": "lbfgs",
        "tol": tol,
        "chosen_by": "valid log loss",
        "valid_logloss_by_C": curve,
    }
    return Fitted(predict, params)


def fit_gbdt(train: Rows, valid: Rows, dataset: Dataset, *, seed: int) -> Fitted:
    from sklearn.ensemble import HistGradientBoostingClassifier

    encode = Categories(train.x, dataset.vocab_sizes, dataset.dense_fields, dataset.field_names)
    model = HistGradientBoostingClassifier(
        learning_rate=GBDT_LEARNING_RATE, max_iter=GBDT_MAX_ITER, max_leaf_nodes=GBDT_MAX_LEAF_NODES,
        categorical_features=encode.is_categorical, early_stopping=True, scoring="loss",
        n_iter_no_change=GBDT_PATIENCE, random_state=seed,
    )  # fmt: skip
    model.fit(encode(train.x, train.dense), train.y, X_val=encode(valid.x, valid.dense), y_val=valid.y)

    def predict(x: np.ndarray, dense: np.ndarray | None) -> np.ndarray:
        return model.predict_proba(encode(x, dense))[:, 1]

    iterations = int(model.n_iter_)
    params = {
        "iterations": iterations,
        "early_stopped": iterations < GBDT_MAX_ITER,
        "max_iter": GBDT_MAX_ITER,
        "learning_rate": GBDT_LEARNING_RATE,
        "max_leaf_nodes": GBDT_MAX_LEAF_NODES,
        "early_stopping": f"valid log loss, {GBDT_PATIENCE} rounds without improvement",
        "capped_fields": encode.capped,
    }
    return Fitted(predict, params)


FITTERS: dict[str, Callable[..., Fitted]] = {"lr": fit_lr, "gbdt": fit_gbdt}
