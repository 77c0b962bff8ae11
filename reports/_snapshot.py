"""One read of the store: every frame the site needs, loaded once and shared by all pages."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pandas as pd

from kdbench.bench.store import ResultStore

__all__ = ["Snapshot", "dataset_labels", "exact_params", "load_snapshot"]


class Snapshot(NamedTuple):
    sweeps: pd.DataFrame  # ResultStore.sweeps()
    sweep_details: dict[str, dict[str, Any]]  # name -> ResultStore.get_sweep(name) (space YAML included)
    trials: pd.DataFrame  # ResultStore.trials(): one row per trial, param_<key> columns
    phases: pd.DataFrame
    epochs: pd.DataFrame
    leaderboard: pd.DataFrame  # ranked by student test AUC
    datasets: pd.DataFrame
    baselines: pd.DataFrame  # ResultStore.baselines(): one row per (dataset, baseline model)
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
        baselines=store.baselines(),
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
    """Fingerprint -> ``name (fingerprint[:8], split seed N)``: readable, and distinct when one source has
    several fingerprints (another split seed or file). The name is a table's own (``adult``), else the
    source; the split seed shows when the dataset row records it, ``given split`` or ``time split`` for a
    split that came with the data."""
    labels = {}
    protocols = (
        snapshot.datasets["protocol"] if "protocol" in snapshot.datasets else [None] * len(snapshot.datasets)
    )
    for fingerprint, source, protocol in zip(
        snapshot.datasets["fingerprint"], snapshot.datasets["source"], protocols, strict=True
    ):
        name, seed = _name_and_split_seed(protocol)
        split = f", {seed} split" if isinstance(seed, str) else "" if seed is None else f", split seed {seed}"
        labels[fingerprint] = f"{name or source} ({str(fingerprint)[:8]}{split})"
    for fingerprint in snapshot.trials["dataset_fingerprint"].dropna().unique():
        labels.setdefault(fingerprint, str(fingerprint)[:16])  # trials on a dataset never recorded
    return labels


def _name_and_split_seed(protocol: Any) -> tuple[str | None, int | str | None]:
    """A recorded protocol's (JSON text or mapping) dataset name and split seed, None where absent; for a
    split that came with the data its method (``given``, ``time``) instead of a seed."""
    if isinstance(protocol, str):
        try:
            protocol = json.loads(protocol)
        except ValueError:
            return None, None
    if not isinstance(protocol, dict):
        return None, None
    split = protocol.get("split")
    seed = split.get("seed") if isinstance(split, dict) else None
    if isinstance(split, dict) and split.get("method") not in (None, "random"):
        seed = split["method"]  # a split that came with the data: its method says more than a seed
    name = protocol.get("name")
    return (name if isinstance(name, str) else None), (seed if isinstance(seed, int) else None)
