"""Baselines: what a run is compared against, from a committed JSON file or a run in the store.

A baseline file (``kdbench regress baseline``) holds every case's per-seed values (speed as ratios to the
reference workload, with the absolute values beside them) and the environment it was made in::

    {"format": "kdbench-regression-baseline", "version": 1, "suite": "smoke", "created_at": "...",
     "made_from": "...", "git_sha": "...", "git_dirty": false, "environment": {...},
     "measurement": {"suite", "suite_hash", "device", "threads", "wall_seconds",
                     "cases": [{"name", "dataset", "dataset_fingerprint", "config", "config_family",
                                "seeds", "figures": {figure: [per seed]}, "raw": {...}, "reference_ms",
                                "wall_seconds"}]}}

A stored run (``ResultStore.regression_run(ref)``) is read back into the same measurement from its summary
(case metadata) and its case rows (per-seed values), so ``--baseline`` takes either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from kdbench.bench._regress._run import SuiteMeasurement
from kdbench.bench.errors import RegressionError
from kdbench.bench.io import read_text

__all__ = [
    "FORMAT",
    "VERSION",
    "Baseline",
    "from_stored_run",
    "names_a_file",
    "read_baseline_file",
    "resolve_baseline",
    "write_baseline_file",
]

FORMAT = "kdbench-regression-baseline"
VERSION = 1


@dataclasses.dataclass
class Baseline:
    label: str  # how the report names it: a file path or "run 12 (tag, sha)"
    measurement: SuiteMeasurement
    environment: dict[str, Any] | None
    git_sha: str | None


def write_baseline_file(
    path: str | Path, measurement: SuiteMeasurement, *, environment: dict[str, Any], made_from: str
) -> Path:
    """Write ``measurement`` as a baseline file (parent folders created); returns the path."""
    out = Path(path)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "suite": measurement.suite,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "made_from": made_from,
        "git_sha": environment.get("git_sha"),
        "git_dirty": environment.get("git_dirty"),
        "environment": environment,
        "measurement": measurement.to_dict(),
    }
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    except OSError as e:
        raise RegressionError(f"cannot write baseline file {out}: {e.strerror}") from e
    return out


def read_baseline_file(path: str | Path) -> Baseline:
    """Read a baseline file; a missing, unreadable or malformed file is a one-line RegressionError."""
    source = Path(path)
    if not source.exists():
        raise RegressionError(
            f"baseline file {source} not found: make one with `kdbench regress baseline --suite NAME --out "
            f"{source}`"
        )
    text = read_text(source, "baseline file", RegressionError)
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as e:
        raise RegressionError(f"baseline file {source} is not valid JSON: {e}") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise RegressionError(f"{source} is not a kdbench regression baseline (no format {FORMAT!r})")
    if payload.get("version") != VERSION:
        raise RegressionError(
            f"baseline file {source} has version {payload.get('version')!r}; this kdbench reads {VERSION}: "
            "regenerate it with `kdbench regress baseline`"
        )
    problem = _shape_problem(payload.get("measurement"))
    if problem:
        raise RegressionError(f"baseline file {source} is malformed: {problem}; regenerate it")
    try:
        measurement = SuiteMeasurement.from_dict(payload["measurement"])
    except (KeyError, TypeError) as e:  # a field missing: the dataclasses name it
        raise RegressionError(f"baseline file {source} is malformed ({type(e).__name__}: {e})") from e
    return Baseline(str(source), measurement, payload.get("environment"), payload.get("git_sha"))


# What the comparison reads from a baseline's measurement, by type: a file edited by hand (or truncated, or
# from another tool) must fail here with one line, not as a TypeError half-way through the verdicts.
_MEASUREMENT_FIELDS = {"suite": str, "device": str, "cases": list}
_CASE_FIELDS = {"name": str, "dataset_fingerprint": str, "config_family": str, "seeds": list, "figures": dict}


def _shape_problem(measurement: Any) -> str | None:
    """What is wrong with a baseline's ``measurement`` dict, or None when the verdicts can read it."""
    if not isinstance(measurement, dict):
        return "'measurement' must be a mapping"
    for key, kind in _MEASUREMENT_FIELDS.items():
        if not isinstance(measurement.get(key), kind):
            return f"measurement.{key} must be a {kind.__name__}"
    for i, case in enumerate(measurement["cases"]):
        if not isinstance(case, dict):
            return f"measurement.cases[{i}] must be a mapping"
        for key, kind in _CASE_FIELDS.items():
            if not isinstance(case.get(key), kind):
                return f"measurement.cases[{i}].{key} must be a {kind.__name__}"
        if not isinstance(case.get("raw", {}), dict):
            return f"measurement.cases[{i}].raw must be a mapping"
        for group in ("figures", "raw"):
            for figure, values in case.get(group, {}).items():
                if not isinstance(values, list) or not all(_is_number(v) for v in values):
                    return f"measurement.cases[{i}].{group}.{figure} must be a list of numbers"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def from_stored_run(run: dict[str, Any]) -> Baseline:
    """A baseline from ``ResultStore.regression_run(ref)``'s dict (written by ``kdbench regress run``)."""
    summary = run.get("summary") or {}
    meta = summary.get("cases")
    if summary.get("format") != FORMAT or not isinstance(meta, dict):
        raise RegressionError(
            f"regression run {run.get('run_id')} was not recorded by `kdbench regress run`: it has no "
            "per-seed values to compare against"
        )
    cases = []
    for name, info in meta.items():
        rows = [r for r in run.get("cases", []) if r.get("case") == name]
        cases.append({
            **info,
            "name": name,
            "figures": {r["figure"]: r["values"] for r in rows},
            "raw": {r["figure"]: r["raw_values"] for r in rows if r.get("raw_values")},
        })  # fmt: skip
    measurement = SuiteMeasurement.from_dict({**summary["measurement"], "cases": cases})
    facts = [run["suite"]]
    facts += [f"tag {run['tag']}"] if run.get("tag") else []
    facts += [f"git {run['git_sha'][:10]}"] if run.get("git_sha") else []
    label = f"run {run['run_id']} ({', '.join(facts)})"
    return Baseline(label, measurement, run.get("environment"), run.get("git_sha"))


def names_a_file(ref: str) -> bool:
    """Whether ``--baseline ref`` means a file (an existing one, a ``.json`` name or a path), not a stored
    run's id, tag or git sha."""
    return Path(ref).is_file() or ref.endswith(".json") or "/" in ref


def resolve_baseline(ref: str, store: Any = None) -> Baseline:
    """``ref`` is a baseline file, or (with ``store``, a :class:`~kdbench.bench.store.ResultStore`) a stored
    run's
    id, tag or git sha prefix."""
    if names_a_file(ref):
        return read_baseline_file(ref)
    if store is None:
        raise RegressionError(
            f"--baseline {ref!r} is not a file; to compare with a stored run (id, tag or git sha), "
            "give --db URL"
        )
    return from_stored_run(store.regression_run(ref))
