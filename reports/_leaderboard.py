"""The leaderboard: per dataset, the best configurations across all sweeps (seeds of a configuration
grouped: mean ± std), with what each costs next to its teacher, and the dataset's baselines (LR, GBDT)
ranked among them by test AUC."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from kdbench.reports._baselines import baseline_rows, between
from kdbench.reports._params import config_label, param_text

__all__ = ["LEADERBOARD_ROW_COLUMNS", "LeaderboardTable", "leaderboard_data"]

LEADERBOARD_ROW_COLUMNS = (
    "rank",
    "trial_id",
    "config_family",
    "label",
    "teacher",
    "interaction",
    "n_seeds",
    "n_trials",
    "differs",
    "auc_mean",
    "auc_std",
    "logloss_mean",
    "logloss_std",
    "teacher_auc",
    "gap",
    "params_pct",
    "flops_pct",
    "latency_ms_b1",
    "latency_ms_b4096",
    "wall_seconds",
    "sweep",
    "finished_at",
    "git_sha",
    "git_dirty",
    "kind",  # "student", or "baseline" for a plain model on the same split
    "position",  # where the row stands: a student's rank; a baseline between the ranks around it (3.5)
    "chosen",  # a baseline's hyperparameters in words
)


class LeaderboardTable(NamedTuple):
    dataset_fingerprint: str
    dataset: str  # label for people
    rows: pd.DataFrame  # LEADERBOARD_ROW_COLUMNS, best first


def leaderboard_data(
    leaderboard: pd.DataFrame,
    trials: pd.DataFrame,
    labels: dict[str, str],
    baselines: pd.DataFrame | None = None,
) -> list[LeaderboardTable]:
    """One table per dataset from ``ResultStore.leaderboard()`` (ranked by student test AUC; the best seed's
    trial stands for its configuration) and ``trials()`` (for the seed statistics of the other columns).

    ``gap`` is the mean student test AUC minus the mean teacher test AUC over the configuration's seeds;
    ``params_pct`` and ``flops_pct`` are the student's share of its teacher's (interaction layers only).
    ``baselines`` (``ResultStore.baselines()``) adds a row per baseline of the table's dataset (``kind``
    ``"baseline"``, no rank, ``auc_mean`` its test AUC), placed after the students whose mean test AUC is at
    least its own.
    """
    if leaderboard.empty:
        return []
    done = trials[trials["status"] == "completed"]
    stats = (
        done.groupby(["dataset_fingerprint", "config_family"], dropna=False)
        .agg(
            logloss_mean=("student_test_logloss", "mean"),
            logloss_std=("student_test_logloss", "std"),
            teacher_auc_mean=("teacher_test_auc", "mean"),
            wall_seconds_mean=("wall_seconds", "mean"),
        )
        .reset_index()
    )
    board = leaderboard.merge(stats, on=["dataset_fingerprint", "config_family"], how="left")
    rows = pd.DataFrame(
        {
            "rank": board["rank"],
            "trial_id": board["trial_id"],
            "config_family": board["config_family"],
            "label": [config_label(r) for r in board.to_dict("records")],
            "teacher": _column(board, "param_teacher"),
            "interaction": _column(board, "param_interaction"),
            "n_seeds": board["n_seeds"],
            "n_trials": board["n_trials"],
            "differs": "",
            "auc_mean": board["mean"],
            "auc_std": board["std"],
            "logloss_mean": board["logloss_mean"],
            "logloss_std": board["logloss_std"],
            "teacher_auc": board["teacher_auc_mean"],
            "gap": board["mean"] - board["teacher_auc_mean"],
            "params_pct": _share(board["student_params"], board["teacher_params"]),
            "flops_pct": _share(board["student_flops"], board["teacher_flops"]),
            "latency_ms_b1": board["student_latency_ms_b1"],
            "latency_ms_b4096": board["student_latency_ms_b4096"],
            "wall_seconds": board["wall_seconds_mean"],
            "sweep": board["sweep"],
            "finished_at": board["finished_at"],
            "git_sha": board["git_sha"],
            "git_dirty": board["git_dirty"],
            "kind": "student",
            "position": board["rank"].astype("float64"),
            "chosen": "",
            "dataset_fingerprint": board["dataset_fingerprint"],
        }
    )
    tables = []
    for fingerprint, group in rows.groupby("dataset_fingerprint", sort=True, dropna=False):
        group = group.assign(differs=_differences(board.loc[group.index]))
        group = group.sort_values("rank").drop(columns="dataset_fingerprint").reset_index(drop=True)
        group = _with_baselines(group, baseline_rows(baselines, fingerprint))
        tables.append(LeaderboardTable(str(fingerprint), labels.get(fingerprint, str(fingerprint)), group))
    return sorted(tables, key=lambda t: t.dataset)


def _with_baselines(group: pd.DataFrame, found: list[dict]) -> pd.DataFrame:
    """``group`` (students, by rank) with a row per baseline where its test AUC ranks it."""
    if not found:
        return group
    students = list(group["auc_mean"])
    rows = []
    for k, b in enumerate(found):
        after = between(students, b["test_auc"])
        rows.append(
            {
                "rank": pd.NA, "trial_id": pd.NA, "config_family": "", "label": b["label"], "teacher": None,
                "interaction": None, "n_seeds": pd.NA, "n_trials": pd.NA, "differs": "",
                "auc_mean": b["test_auc"], "auc_std": np.nan, "logloss_mean": b["test_logloss"],
                "logloss_std": np.nan, "teacher_auc": np.nan, "gap": np.nan, "params_pct": np.nan,
                "flops_pct": np.nan, "latency_ms_b1": b["latency_ms_b1"],
                "latency_ms_b4096": b["latency_ms_b4096"], "wall_seconds": b["fit_seconds"], "sweep": None,
                "finished_at": b["created_at"], "git_sha": None, "git_dirty": None, "kind": "baseline",
                "position": after + 0.5 + 0.01 * k, "chosen": b["chosen"],
            }
        )  # fmt: skip
    both = pd.concat([group.astype(object), pd.DataFrame(rows, columns=group.columns)], ignore_index=True)
    return both.sort_values("position", kind="stable").reset_index(drop=True).infer_objects()


# Config keys the label already shows (config_label), and the seed (grouped into the row).
_IN_LABEL = {"teacher", "t_depth", "t_cin", "t_hidden", "t_attention_layers", "interaction", "depth",
             "student_mlp", "embedding_size", "seed"}  # fmt: skip
_SHORT = {"weight_decay": "wd", "batch_size": "batch", "max_epochs": "epochs"}


def _differences(board: pd.DataFrame) -> list[str]:
    """Per row, the config values the label leaves out that differ between the rows of one table
    (``alpha 0.1 · beta 922 · lr 0.003``): two rows with the same label then still read differently."""
    keys = [
        c.removeprefix("param_")
        for c in board.columns
        if c.startswith("param_")
        and c.removeprefix("param_") not in _IN_LABEL
        and board[c].map(param_text).nunique() > 1
    ]
    return [
        " · ".join(f"{_SHORT.get(k, k)} {_short_value(row[f'param_{k}'])}" for k in keys)
        for row in board.to_dict("records")
    ]


def _short_value(value: object) -> str:
    if isinstance(value, float) and np.isfinite(value) and not value.is_integer():
        return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"  # beta 2215, not 2.22e+03
    return param_text(value)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series([None] * len(frame), index=frame.index)


def _share(part: pd.Series, whole: pd.Series) -> pd.Series:
    """``100 * part / whole``; missing where the whole is missing or zero."""
    part, whole = part.astype("float64"), whole.astype("float64")
    return (100 * part / whole.where(whole > 0)).replace([np.inf, -np.inf], np.nan)
