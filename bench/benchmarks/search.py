"""Does the search beat its own default? ``python -m kdbench.bench.benchmarks.search``.

Anytime curves on one dataset and space: for every method and sampler seed, the test AUC of the best trial so
far (best by *validation* AUC, as a user would pick it) against wall time since the sweep started. Methods:

- ``default``: the default configuration alone (the dataset's recipe projected onto the space: the sweep's
  warm-start trial), one trial; deterministic, so it runs once and serves every seed;
- ``random``: random search; ``tpe``: TPE without a scheduler; ``tpe+asha``: TPE with ASHA early stopping.

Every search starts with the warm-start trial (the product's default), so the methods differ only in what they
try next. All runs share the space, the time budget (``--budget``; no trial starts after it, running ones
finish), the machine and a Ray started once; each gets a cold teacher cache. Runs alternate between methods
within each seed, so a slower stretch of a shared machine hurts none of them alone.

Prints, per method, the median [min, max] over seeds of the best-so-far test AUC at 25 / 50 / 100 % of the
budget and the time each first reaches the default's test AUC and the default + 0.002; then, from the runs
without a scheduler, the Spearman rank correlation of each candidate early-stopping signal with a trial's
final student validation AUC (what a scheduler's rung would have to predict). Writes ``search.html`` (the
curves, Plotly) and ``search.json`` (every trial's times and AUCs) to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

METHODS: dict[str, dict[str, Any]] = {  # name -> run_sweep options
    "default": {"trials": 1, "sampler": "random", "scheduler": "none"},
    "random": {"sampler": "random", "scheduler": "none"},
    "tpe": {"sampler": "tpe", "scheduler": "none"},
    "tpe+asha": {"sampler": "tpe", "scheduler": "asha"},
}
FRACTIONS = (0.25, 0.5, 1.0)
MARGIN = 0.002


# ---- curves (pure) ----------------------------------------------------------------------------------------
def anytime_curve(trials: pd.DataFrame, started: dt.datetime) -> pd.DataFrame:
    """Best-so-far by validation AUC over the completed trials, in finishing order: columns ``seconds``
    (since ``started``), ``valid`` and ``test`` (that trial's test AUC), ``number``; one row per change."""
    done = trials[(trials["status"] == "completed") & trials["student_valid_auc"].notna()]
    done = done.sort_values("finished_at")
    rows, best = [], -math.inf
    for _, t in done.iterrows():
        if t["student_valid_auc"] > best:
            best = float(t["student_valid_auc"])
            seconds = (t["finished_at"].to_pydatetime() - started).total_seconds()
            rows.append({"seconds": seconds, "valid": best, "test": float(t["student_test_auc"]),
                         "number": int(t["number"])})  # fmt: skip
    return pd.DataFrame(rows, columns=["seconds", "valid", "test", "number"])


def value_at(curve: pd.DataFrame, seconds: float) -> float:
    """The best-so-far trial's test AUC at ``seconds`` (NaN before the first trial finished)."""
    before = curve[curve["seconds"] <= seconds]
    return float(before["test"].iloc[-1]) if len(before) else math.nan


def first_reach(curve: pd.DataFrame, threshold: float) -> float | None:
    """Seconds until the best-so-far trial's test AUC first reaches ``threshold``; None if never."""
    hit = curve[curve["test"] >= threshold - 1e-12]
    return float(hit["seconds"].iloc[0]) if len(hit) else None


def spread(values: list[float]) -> str:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return "-"
    if len(finite) == 1:
        return f"{finite[0]:.4f}"
    return f"{statistics.median(finite):.4f} [{min(finite):.4f}, {max(finite):.4f}]"


def reach_text(times: list[float | None]) -> str:
    got = [t for t in times if t is not None]
    if not got:
        return f"never (0/{len(times)})"
    return f"{statistics.median(got):.0f} s ({len(got)}/{len(times)})"


def rung_signals(trials: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Spearman rank correlation of candidate early-stopping signals with each trial's final student
    validation AUC, over completed trials run without a scheduler: one row per signal (``signal``, ``rho``,
    ``trials``)."""
    done = trials[(trials["status"] == "completed") & trials["student_valid_auc"].notna()]
    final = done.set_index("trial_id")["student_valid_auc"]
    signals: dict[str, pd.Series] = {
        "teacher valid AUC (best)": done.set_index("trial_id")["teacher_valid_auc"]
    }
    distill = epochs[epochs["phase"] == "distillation"]
    for r in (1, 2, 3, 5, 10):
        at = distill[distill["epoch"] == r].set_index("trial_id")
        signals[f"student valid AUC, distillation epoch {r}"] = at["valid_auc"]
        if r in (1, 3):
            signals[f"distillation loss, epoch {r} (lower first)"] = -at["train_loss"]
    for step in (2, 6, 18):  # ASHA's rungs with grace 2, reduction 3, on student epochs
        at = (
            epochs[epochs["student_epoch"] == step]
            .drop_duplicates("trial_id", keep="last")
            .set_index("trial_id")
        )
        signals[f"student valid AUC at student epoch {step} (ASHA rung)"] = at["valid_auc"]
    rows = []
    for name, series in signals.items():
        both = pd.concat([series.rename("signal"), final.rename("final")], axis=1, join="inner").dropna()
        rho = both["signal"].rank().corr(both["final"].rank()) if len(both) >= 3 else math.nan
        rows.append({"signal": name, "rho": rho, "trials": len(both)})
    return pd.DataFrame(rows)


# ---- runs -------------------------------------------------------------------------------------------------
def run_one(method: str, seed: int, *, budget: float, work: Path, db: str, space: str, dataset: str,
            concurrency: int) -> dict[str, Any]:  # fmt: skip
    from kdbench.bench.store import ResultStore
    from kdbench.bench.sweep import run_sweep

    name = f"{method.replace('+', '-')}-s{seed}"
    options: dict[str, Any] = {"trials": None, "time_budget": budget, **METHODS[method]}
    if options["trials"] is not None:
        options["time_budget"] = None
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    summary = run_sweep(
        space=space, dataset=dataset, name=name, db=db, seed=seed, concurrency=concurrency, cpus_per_trial=1,
        teacher_cache=str(work / f"teachers-{name}"), progress="quiet", artifacts=False, **options,
    )  # fmt: skip
    wall = time.perf_counter() - clock
    with ResultStore(db, create=False) as store:
        trials = store.trials(sweep=name)
    curve = anytime_curve(trials, started)
    print(f"  {name}: {len(trials)} trials in {wall:.0f} s, best-by-valid test AUC "
          f"{summary.best_student_test_auc or math.nan:.4f}", flush=True)  # fmt: skip
    return {"method": method, "seed": seed, "sweep": name, "wall": wall, "trials": len(trials),
            "curve": curve.to_dict(orient="list"),
            "completed": int((trials["status"] == "completed").sum())}  # fmt: skip


def report(runs: list[dict[str, Any]], budget: float) -> tuple[str, float]:
    """The printed table (Markdown) and the default's test AUC."""
    curves = {(r["method"], r["seed"]): pd.DataFrame(r["curve"]) for r in runs}
    default_runs = [c for (m, _), c in curves.items() if m == "default" and len(c)]
    default = float(default_runs[0]["test"].iloc[-1]) if default_runs else math.nan
    head = "| method | completed trials | " + " | ".join(
        f"{int(f * 100)} % ({f * budget:.0f} s)" for f in FRACTIONS
    )
    head += f" | reaches default ({default:.4f}) | reaches default + {MARGIN} |"
    lines = [head, "|" + "---|" * (4 + len(FRACTIONS))]
    for method in METHODS:
        mine = [(r, curves[(r["method"], r["seed"])]) for r in runs if r["method"] == method]
        if not mine:
            continue
        cells = [spread([value_at(c, f * budget) for _, c in mine]) for f in FRACTIONS]
        trials = spread([float(r["completed"]) for r, _ in mine]).replace(".0000", "")
        lines.append(
            f"| {method} | {trials} | " + " | ".join(cells)
            + f" | {reach_text([first_reach(c, default) for _, c in mine])}"
            + f" | {reach_text([first_reach(c, default + MARGIN) for _, c in mine])} |"
        )  # fmt: skip
    return "\n".join(lines), default


def write_figure(path: Path, runs: list[dict[str, Any]], budget: float, default: float, title: str) -> None:
    """The anytime curves as a Plotly page at ``path``, with plotly.min.js beside it (readable offline)."""
    import plotly.graph_objects as go

    colors = {"default": "#555", "random": "#1f77b4", "tpe": "#d62728", "tpe+asha": "#2ca02c"}
    fig = go.Figure()
    for r in runs:
        c = pd.DataFrame(r["curve"])
        if c.empty:
            continue
        x = [*c["seconds"], budget]  # the best so far holds to the end of the budget
        y = [*c["test"], c["test"].iloc[-1]]
        fig.add_scatter(x=x, y=y, mode="lines", line={"shape": "hv", "color": colors.get(r["method"])},
                        name=f"{r['method']} (seed {r['seed']})", legendgroup=r["method"])  # fmt: skip
    if math.isfinite(default):
        fig.add_hline(y=default, line_dash="dash", line_color="#555", annotation_text="default configuration")
    fig.update_layout(
        title=title,
        xaxis_title="wall time since the sweep started (s)",
        yaxis_title="test AUC of the best trial so far (by valid AUC)",
        template="plotly_white",
    )
    fig.write_html(path, include_plotlyjs="directory", full_html=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="quick")
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--budget", default="150s", help="wall time per search run (default: 150s)")
    parser.add_argument("--seeds", default="2022,1,2", help="sampler seeds (default: 2022,1,2)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"of {', '.join(METHODS)}")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--out", default="search-benchmark", help="folder for search.html and search.json")
    args = parser.parse_args()

    import ray

    from kdbench.bench.store import ResultStore
    from kdbench.bench.sweep import parse_duration

    budget = parse_duration(args.budget, "--budget")
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}: use {', '.join(METHODS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="kdbench_bench_search_"))
    db = f"sqlite:///{work / 'search.db'}"
    ray.init(
        num_cpus=args.concurrency, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
    )
    runs = []
    common = {"budget": budget, "work": work, "db": db, "space": args.space, "dataset": args.dataset,
              "concurrency": args.concurrency}  # fmt: skip
    try:
        if "default" in methods:
            runs.append(run_one("default", seeds[0], **common))
        for seed in seeds:
            for method in (m for m in methods if m != "default"):
                runs.append(run_one(method, seed, **common))
    finally:
        ray.shutdown()
    table, default = report(runs, budget)
    print(f"\n{args.space} on {args.dataset}, budget {budget:.0f} s per run, seeds {args.seeds}, "
          f"concurrency {args.concurrency}: best-so-far (by valid AUC) test AUC, "
          "median [min, max] over seeds")  # fmt: skip
    print(table)
    with ResultStore(db, create=False) as store:
        sweeps = [r["sweep"] for r in runs if r["method"] == "tpe"] or [
            r["sweep"] for r in runs if r["method"] == "random"
        ]
        trials = pd.concat([store.trials(sweep=s) for s in sweeps]) if sweeps else pd.DataFrame()
        epochs = pd.concat([store.epochs(sweep=s) for s in sweeps]) if sweeps else pd.DataFrame()
    if len(trials):
        rungs = rung_signals(trials, epochs)
        print(f"\nearly-stopping signals vs final student valid AUC (Spearman, runs without a scheduler: "
              f"{', '.join(sweeps)})")  # fmt: skip
        print("| signal | rho | trials |\n|---|---|---|")
        for _, row in rungs.iterrows():
            print(f"| {row['signal']} | {row['rho']:.2f} | {row['trials']} |")
    (out / "search.json").write_text(
        json.dumps({"budget_s": budget, "runs": runs, "default": default}, indent=1)
    )
    title = f"Anytime search on {args.dataset}, space {Path(args.space).stem}, {budget:.0f} s per run"
    write_figure(out / "search.html", runs, budget, default, title)
    print(f"\nwrote {out / 'search.html'} and {out / 'search.json'}")


if __name__ == "__main__":
    main()
