"""Build the whole site: read the store once, render every page, write the folder.

The folder holds ``index.html`` (leaderboard and sweeps), ``sweeps/``, ``trials/``, ``compare/``,
``regressions/`` and ``static/`` (plotly.js once, our CSS and table script). Links are relative: the folder
can be zipped, copied or published as static files. A rebuild replaces the page folders whole (a deleted
trial loses its page) and refuses a non-empty folder it did not write. Every file is written inside the
folder only (``_write``): a symbolic link at a file's path is replaced, one at a folder's is refused.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from kdbench.bench.errors import ReportError
from kdbench.bench.store import ResultStore
from kdbench.reports import _paths
from kdbench.reports._baselines import baseline_rows
from kdbench.reports._compare import comparisons, render_compare_page
from kdbench.reports._curves import trial_curves_data
from kdbench.reports._format import is_missing
from kdbench.reports._html import render
from kdbench.reports._leaderboard import leaderboard_data
from kdbench.reports._reference import default_reference, vs_default
from kdbench.reports._regression import render_regression_index, render_regression_page
from kdbench.reports._regression_history import render_regression_history
from kdbench.reports._snapshot import Snapshot, dataset_labels, load_snapshot
from kdbench.reports._static import write_static
from kdbench.reports._sweep_page import render_sweep_page
from kdbench.reports._trial_page import render_trial_page
from kdbench.reports._write import check_no_linked_folder, write_file

__all__ = ["MARKER", "build_site", "check_site_folder", "render_pages"]

MARKER = ".kdbench-site"  # says "kdbench report wrote this folder": only such a folder is rebuilt in place
_SITE_FOLDERS = (_paths.STATIC, *_paths.PAGE_FOLDERS)  # the folders the site writes into


def build_site(store_or_url: ResultStore | str | None, out_dir: str | Path) -> Path:
    """Write the report site of a results store into ``out_dir``; return the path of its ``index.html``.

    ``store_or_url``: an open :class:`ResultStore` (read only; left open) or a database URL (``None``: the
    default ``sqlite:///kdbench.db``), opened without creating anything. Raises :class:`ReportError` when
    ``out_dir`` cannot be written or holds files kdbench did not write, :class:`StoreError` when the store
    cannot be read.
    """
    out = Path(out_dir)
    check_site_folder(out)  # before the store is read: a bad --out fails at once
    with _opened(store_or_url) as store:
        snapshot = load_snapshot(store)
    _make_folder(out)  # only now: a store that cannot be read leaves no empty site folder behind
    try:
        # The marker first: a build that fails half-way leaves a folder the next build may still replace.
        write_file(out, MARKER, b"written by kdbench report; rebuilt in place by the next build\n")
        check_no_linked_folder(out, _SITE_FOLDERS)  # again: rmtree would fail on a link, writes follow it
        for folder in _paths.PAGE_FOLDERS:
            shutil.rmtree(out / folder, ignore_errors=True)
        write_static(out)
        for page, html in render_pages(snapshot):
            write_file(out, page, html.encode("utf-8"))
    except OSError as e:
        raise ReportError(f"cannot write the report to {out}: {e.strerror or e}") from e
    return out / _paths.INDEX


def render_pages(snapshot: Snapshot) -> Iterator[tuple[str, str]]:
    """Every ``(site path, html)`` of the site, index first."""
    labels = dataset_labels(snapshot)
    compares = comparisons(snapshot.trials)
    yield _paths.INDEX, _index(snapshot, labels, compares)
    trials_by_sweep = dict(iter(snapshot.trials.groupby("sweep", sort=False)))
    curves_by_trial = dict(iter(trial_curves_data(snapshot.epochs).groupby("trial_id", sort=False)))
    phases_by_trial: dict[int, list[dict]] = {}  # records once: DataFrame.to_dict per trial costs ~5 ms
    for phase in snapshot.phases.drop(columns=["sweep", "number"]).to_dict("records"):
        phases_by_trial.setdefault(phase["trial_id"], []).append(phase)
    empty_trials, empty_epochs = snapshot.trials.iloc[:0], snapshot.epochs.iloc[:0]
    for _, sweep in snapshot.sweeps.iterrows():
        trials = trials_by_sweep.get(sweep["sweep"], empty_trials)
        epochs = snapshot.epochs[snapshot.epochs["trial_id"].isin(trials["trial_id"])]
        label = labels.get(sweep["dataset_fingerprint"], _first_label(trials, labels))
        baselines = baseline_rows(snapshot.baselines, _one_dataset(sweep, trials))
        yield render_sweep_page(
            sweep, snapshot.sweep_details.get(sweep["sweep"], {}), trials, epochs, label, baselines
        )
    environments = dict(
        zip(snapshot.environments["environment_id"], snapshot.environments["data"], strict=True)
    )
    datasets = {d["fingerprint"]: d for d in snapshot.datasets.to_dict("records")}
    for _, trial in snapshot.trials.iterrows():
        trial_id = trial["trial_id"]
        yield render_trial_page(
            trial,
            phases_by_trial.get(trial_id, []),
            curves_by_trial.get(trial_id, empty_epochs),
            None if is_missing(trial["environment_id"]) else environments.get(trial["environment_id"]),
            datasets.get(trial["dataset_fingerprint"]),
            labels.get(trial["dataset_fingerprint"], "unknown dataset"),
            snapshot.url,
            baseline_rows(snapshot.baselines, trial["dataset_fingerprint"]),
        )
    for comparison in compares:
        yield render_compare_page(snapshot.trials, comparison, labels[comparison.dataset_fingerprint])
    if len(snapshot.regression_runs):
        yield render_regression_index(snapshot.regression_runs, snapshot.regression_cases)
        yield render_regression_history(snapshot.regression_runs, snapshot.regression_cases)
        cases = dict(iter(snapshot.regression_cases.groupby("run_id", sort=False)))
        for run in snapshot.regression_runs.to_dict("records"):
            env = None if is_missing(run["environment_id"]) else environments.get(run["environment_id"])
            yield render_regression_page(
                run, cases.get(run["run_id"], snapshot.regression_cases.iloc[:0]), env
            )


def _one_dataset(sweep: pd.Series, trials: pd.DataFrame) -> str | None:
    """The one dataset a sweep ran on (its own, else its trials' when they share one); None for several:
    baselines of one dataset would mislead among another's trials."""
    found = set(trials["dataset_fingerprint"].dropna().unique())
    if not is_missing(sweep["dataset_fingerprint"]):
        found.add(sweep["dataset_fingerprint"])
    return found.pop() if len(found) == 1 else None


def _first_label(trials: pd.DataFrame, labels: dict[str, str]) -> str:
    fingerprints = trials["dataset_fingerprint"].dropna().unique()
    return ", ".join(labels.get(f, str(f)) for f in fingerprints) or "—"


def _index(snapshot: Snapshot, labels: dict[str, str], compares: list) -> str:
    sweeps = []
    for row in snapshot.sweeps.to_dict("records"):
        row["page"] = _paths.sweep_page(row["sweep"])
        # implicit sweeps (kdbench train's "adhoc") name no dataset: their trials do
        own = snapshot.trials[snapshot.trials["sweep"] == row["sweep"]]
        row["dataset"] = labels.get(row["dataset_fingerprint"]) or _first_label(own, labels)
        row["vs_default"] = vs_default(own, default_reference(row["settings"], own))
        sweeps.append(row)
    return render(
        "index.html.j2",
        _paths.INDEX,
        title="kdbench leaderboard",
        tables=leaderboard_data(snapshot.leaderboard, snapshot.trials, labels, snapshot.baselines),
        sweeps=sweeps,
        compares=[
            {"page": c.page, "dataset": labels[c.dataset_fingerprint], "what": c.by, "n": len(c.groups)}
            for c in compares
        ],
        n_trials=len(snapshot.trials),
        n_regressions=len(snapshot.regression_runs),
        store_url=snapshot.url,
    )


def check_site_folder(out: Path) -> None:
    """Refuse (:class:`ReportError`) an ``out`` the site cannot go to, without creating anything: a file, a
    folder under a file or an unwritable one, a non-empty folder kdbench report did not write, a site
    folder whose ``static/`` or page folder is a symbolic link (the site would write through it)."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {out} exists and is not a folder: choose a folder for the site")
    if out.is_dir():
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise ReportError(
                f"--out {out} is not empty and was not written by kdbench report: "
                "choose a new or empty folder"
            )
        check_no_linked_folder(out, _SITE_FOLDERS)
        return
    existing = next(p for p in out.absolute().parents if p.exists())  # the folder it would be made in
    if not existing.is_dir():
        raise ReportError(f"cannot create the report folder {out}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ReportError(f"cannot create the report folder {out}: {existing} is not writable")


def _make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReportError(f"cannot create the report folder {out}: {e.strerror or e}") from e


@contextmanager
def _opened(store_or_url: ResultStore | str | None) -> Iterator[ResultStore]:
    if isinstance(store_or_url, ResultStore):
        yield store_or_url
        return
    with ResultStore(store_or_url, create=False) as store:
        yield store
