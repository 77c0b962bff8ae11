"""One read of the store: every frame the site needs, loaded once and shared by all pages."""

from __future__ import annotations

from typing import Any, NamedTuple

import pandas as pd

from bench.store import ResultStore

__all__ = ["Snapshot", "dataset_labels", "exact_params", "load_snapshot"]


class Snapshot(NamedTuple):
    sweeps: pd.DataFrame  # ResultStore.sweeps()
    sweep_details: dict[str, dict[str, Any]]  # name -> ResultStore.get_sweep(name) (space YAML included)
    trials: pd.DataFrame  # ResultStore.trials(): one row per trial, param_<key> columns
    phases: pd.DataFrame
    epochs: pd.DataFrame
    leaderboard: pd.DataFrame  # ranked by student test AUC
    datasets: pd.DataFrame
    environments: pd.DataFrame
    regression_runs: pd.DataFrame
    regression_cases: pd.DataFrame
    url: str  # the store's URL with its password hidden


def load_snapshot(store: ResultStore) -> Snapshot:
    """Read every frame once (reports never write). Queries return whole tables: cheaper than one query per
    page when a site has a thousand trial pages."""
    sweeps = store.sweeps()
    return Snapshot(
        sweeps=sweeps,
        sweep_details={name: store.get_sweep(name) or {} for name in sweeps["sweep"]},
        trials=exact_params(store.trials()),
        phases=store.phases(),
        epochs=store.epochs(),
        leaderboard=exact_params(store.leaderboard()),
        datasets=store.datasets(),
        environments=store.environments(),
        regression_runs=store.regression_runs(),
        regression_cases=store.regression_cases(),
        url=store.url_redacted,
    )


def exact_params(trials: pd.DataFrame) -> pd.DataFrame:
    """``param_<key>`` columns with the stored values as they are: pandas turns an int column with gaps
    (``t_depth``, absent on CIN trials) into floats, and a page would show ``3.0`` for a depth."""
    out = trials.copy()
    configs = [c if isinstance(c, dict) else {} for c in out["config"]]
    for column in out.columns:
        if column.startswith("param_"):
            key = column.removeprefix("param_")
            out[column] = pd.Series([c.get(key) for c in configs], index=out.index, dtype=object)
    return out


def dataset_labels(snapshot: Snapshot) -> dict[str, str]:
    """Fingerprint -> ``source (fingerprint[:8])``: readable, and distinct when one source has several
    fingerprints (another split seed or file)."""
    labels = {}
    for fingerprint, source in zip(
        snapshot.datasets["fingerprint"], snapshot.datasets["source"], strict=True
    ):
        labels[fingerprint] = f"{source} ({str(fingerprint)[:8]})"
    for fingerprint in snapshot.trials["dataset_fingerprint"].dropna().unique():
        labels.setdefault(fingerprint, str(fingerprint)[:16])  # trials on a dataset never recorded
    return labels
