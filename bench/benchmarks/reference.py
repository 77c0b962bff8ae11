"""kdbench against the reference implementations: ``python -m kdbench.bench.benchmarks.reference``.

**RecBole** (its ``KD_DAGFM``, the port of the paper's code): on ``ml-100k-recbole`` (RecBole's own rows,
fields and seed-2022 split, ``bench/data/_movielens.py``) both run the chain benchmark's settings: CrossNet
teacher (depth 3), outer DAGFM student (depth 3), embedding 16, batch 1024, Adam lr 3e-3, weight decay 1e-3,
alpha 0.1, beta 921.6, at most 40 epochs a phase, early stopping on validation AUC. RecBole's
``stopping_step`` 5 stops after 6 epochs without improvement (``cur_step > max_step``), so kdbench runs with
patience 6. Each model seed (``--seeds``, default 2022, 1, 2) is one fresh process a side; the split stays
RecBole's seed-2022 split (its driver seeds the data with 2022 and the model, init and batch order, with
the seed, as ``run_recbole`` does when the two are equal). Printed: teacher and student test AUC and the
epochs each phase ran (best epoch in brackets).

**FuxiCTR** (the library of the BARS leaderboards): DNN, DCN-V2, xDeepFM and AutoInt+ teachers on the same
split of ``--dataset`` (default ml-100k), exported with ``kdbench data export-split`` into FuxiCTR's CSV
format (raw tokens, a header, every field a categorical column; FuxiCTR builds its vocabularies from the
training file), same embedding size, layer sizes, lr, batch size and epochs (``FUXICTR_SHARED``,
``TEACHERS``); kdbench runs each as a trial's teacher phase. Test AUC, parameter counts and training
samples/s (validation excluded on both sides). ``--prepare-rows N`` also times ``kdbench data prepare`` on
a generated Criteo-format file of N rows against FuxiCTR's feature processor on the same rows.

Every training process of both sides runs with one torch thread (``torch.set_num_threads(1)``), one at a
time, pinned to one CPU together with every process it starts (``one_cpu``): FuxiCTR 2.3.10 loads its
batches through Ray Data, whose worker processes would otherwise take a second core, and which run at nice
15, so beside any other job they starve (seen here: FuxiCTR at 8 % of a core for 15 minutes). The CPU is
the last one this process may use: to run two benchmarks at once, start each under ``taskset -c N``.

The references live in their own interpreters, never in kdbench's environment. The lines that made them::

    python3 -m venv /work/peers/recbole-venv
    /work/peers/recbole-venv/bin/pip install torch==2.13.0
    /work/peers/recbole-venv/bin/pip install recbole==1.2.1 "numpy<2" "pandas<3" "scipy<1.14" \\
        "scikit-learn<1.6" "pyarrow<18" "ray<=2.6.3" tensorboard thop texttable tabulate colorlog==4.7.2 \\
        colorama==0.4.4
    python3 -m venv /work/peers/fuxictr-venv
    /work/peers/fuxictr-venv/bin/pip install torch==2.13.0
    /work/peers/fuxictr-venv/bin/pip install fuxictr==2.3.10 "polars<2"

(``torch==2.13.0`` first: the dev machines keep a CPU wheel of it; see the README. ``polars<2``: FuxiCTR
2.3.10 calls ``polars.scan_csv(dtypes=...)``, which polars 2 removed.) Then::

    python -m kdbench.bench.benchmarks.reference --recbole-python /work/peers/recbole-venv/bin/python \\
        --fuxictr-python /work/peers/fuxictr-venv/bin/python --prepare-rows 1000000

Figures and their reading: ``docs/reference.md``. ``--recbole-split-sample FILE`` writes the sample of
RecBole's split that ``tests/data`` checks ``ml-100k-recbole`` against (RecBole run once, in its
interpreter; the test never needs it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kdbench.bench.benchmarks.chain import RECBOLE_SETTINGS

__all__ = [
    "FUXICTR_EMBEDDING_INIT",
    "FUXICTR_SHARED",
    "SHARED",
    "TEACHERS",
    "export_splits",
    "kdbench_args",
    "main",
    "one_cpu",
    "prepare_times",
    "summarise",
    "table_lines",
]

SEEDS = (2022, 1, 2)
_RECBOLE_MARK = "RECBOLE_REFERENCE "
# The chain benchmark's settings (bench/benchmarks/chain.py), as kdbench config keys.
SHARED = {
    "teacher": "crossnet", "t_depth": 3, "interaction": "outer", "depth": 3, "embedding_size": 16,
    "alpha": 0.1, "beta": 921.6, "lr": 3e-3, "weight_decay": 1e-3, "batch_size": 1024, "max_epochs": 40,
    "patience": 6,  # RecBole's stopping_step 5: it stops at the 6th epoch without improvement
}  # fmt: skip

# FuxiCTR side by side: the teachers alone (kdbench's teacher_training phase), same settings both sides. No
# weight decay and lr 1e-3 (FuxiCTR's default): on ml-100k every teacher peaks within a few epochs, which
# keeps 24 runs affordable on one thread; CIN [32, 32, 32] rather than kdbench's default [200, 200, 200] for
# the same reason (both sides get the same sizes).
FUXICTR_SHARED = {
    "embedding_size": 16, "lr": 1e-3, "weight_decay": 0.0, "batch_size": 1024,
    "max_epochs": 10, "patience": 2,
}  # fmt: skip
TEACHERS: dict[str, dict[str, Any]] = {
    "DNN": {"teacher": "dnn", "t_hidden": [400, 400, 400]},
    "DCN-V2": {"teacher": "dcnv2", "t_depth": 3, "t_hidden": [400, 400, 400], "t_structure": "parallel"},
    "xDeepFM": {"teacher": "xdeepfm", "t_cin": [32, 32, 32], "t_hidden": [400, 400, 400]},
    "AutoInt+": {
        "teacher": "autoint", "t_attention_layers": 3, "t_heads": 2, "t_attention_dim": 32,
        "t_hidden": [400, 400, 400],
    },
}  # fmt: skip
# FuxiCTR's default embedding_initializer, normal(0, 1e-4): kdbench's with --fuxictr-init (it keeps RecBole's
# xavier-normal otherwise).
FUXICTR_EMBEDDING_INIT = 1e-4
_FUXICTR_MARK = "FUXICTR_REFERENCE "
DRIVERS = Path(__file__).parent  # _recbole_driver.py, _fuxictr_driver.py: run by the peers' Pythons


def one_cpu() -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins the child, and so every process it starts, to the last CPU this process
    may use: each side trains on the same single core (None where affinity cannot be set)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = max(os.sched_getaffinity(0))
    return lambda: os.sched_setaffinity(0, {cpu})


def _run_recbole(python: str, mode: str, seed: int, out: str = "-") -> dict[str, Any]:
    """RecBole's driver in a fresh process in a temporary folder (it writes logs and checkpoints there)."""
    env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "OMP_NUM_THREADS": "1"}
    settings = json.dumps(RECBOLE_SETTINGS)  # the chain benchmark's, so both benchmarks run one RecBole
    command = [python, str(DRIVERS / "_recbole_driver.py"), mode, str(seed), out, settings]
    with tempfile.TemporaryDirectory(prefix="kdbench-recbole-") as folder:
        child = subprocess.run(
            command, capture_output=True, text=True, cwd=folder, env=env, preexec_fn=one_cpu()
        )
    if child.returncode:
        sys.exit(f"RecBole failed (exit {child.returncode}):\n{child.stderr[-3000:]}")
    if mode == "split":
        return {}
    lines = [line for line in child.stdout.splitlines() if line.startswith(_RECBOLE_MARK)]
    return json.loads(lines[-1][len(_RECBOLE_MARK) :])


# ---- kdbench ---------------------------------------------------------------------------------------------
def kdbench_args(dataset: str, config: dict[str, Any], json_path: str) -> list[str]:
    """``kdbench train`` arguments for one run of ``config`` (every key set, no recipe) on one thread."""
    sets = [arg for key, value in config.items() for arg in ("--set", f"{key}={json.dumps(value)}")]
    return [
        "train", "--dataset", dataset, "--no-recipe", "--no-teacher-cache", "--no-baseline",
        "--no-artifacts", "--quiet", "--threads", "1", "--json", json_path, *sets,
    ]  # fmt: skip


def _run_kdbench(dataset: str, config: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kdbench-reference-") as folder:
        out = str(Path(folder) / "result.json")
        command = [sys.executable, "-m", "kdbench", *kdbench_args(dataset, config, out)]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        child = subprocess.run(command, capture_output=True, text=True, env=env, preexec_fn=one_cpu())
        if child.returncode:
            sys.exit(f"kdbench train failed (exit {child.returncode}):\n{child.stderr[-3000:]}")
        result = json.loads(Path(out).read_text())
    phases = {
        p["name"]: {"test_auc": p["test_auc"], "epochs": p["epochs"], "best_epoch": p["best_epoch"]}
        for p in result["phases"]
    }
    phases["teacher_training"]["params"] = result["teacher"]["params"]
    phases["teacher_training"]["samples_per_s"] = next(
        p["samples_per_s"] for p in result["phases"] if p["name"] == "teacher_training"
    )
    # The student kdbench hands on: finetuning's best, or the distilled one when finetuning never beat it.
    student = result["student"]
    phases["student"] = {
        "test_auc": student["test_auc"],
        "params": student["params"],
        "from": student["from_phase"],
    }
    return phases


# ---- the table ------------------------------------------------------------------------------------------
Row = tuple[str, dict[str, Any], dict[str, Any]]  # (model, kdbench's side, the reference's side)


def summarise(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sample standard deviation; 0 for one value) of ``values``."""
    values = list(values)
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def table_lines(rows: Sequence[Row]) -> list[str]:
    """The one table: model | kdbench AUC | reference AUC | diff | params each | samples/s each, from rows
    ``(model, ours, theirs)`` whose sides hold ``auc`` (a list over seeds), ``params`` and ``samples_per_s``
    (a list, or None where not measured). AUCs are mean ± std; diff is the difference of the means."""

    def auc(side: dict[str, Any]) -> str:
        mean, std = summarise(side["auc"])
        return f"{mean:.4f} ± {std:.4f}"

    def count(side: dict[str, Any]) -> str:
        return "-" if side.get("params") is None else f"{side['params']:,}"

    def speed(side: dict[str, Any]) -> str:
        values = side.get("samples_per_s")
        return "-" if not values else f"{statistics.median(values):,.0f}"

    header = ("model", "kdbench AUC", "reference AUC", "diff", "params (kd / ref)", "samples/s (kd / ref)")
    body = [
        (
            name, auc(ours), auc(theirs),
            f"{summarise(ours['auc'])[0] - summarise(theirs['auc'])[0]:+.4f}",
            f"{count(ours)} / {count(theirs)}", f"{speed(ours)} / {speed(theirs)}",
        )
        for name, ours, theirs in rows
    ]  # fmt: skip
    widths = [max(len(str(r[i])) for r in (header, *body)) for i in range(len(header))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in (header, *body)]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return lines


# ---- RecBole side by side -------------------------------------------------------------------------------
def recbole_side_by_side(python: str, seeds: Sequence[int]) -> list[Row]:
    """Both chains per seed, alternating; prints each run's phases; returns the table's rows."""
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    for seed in seeds:
        ours.append(_run_kdbench("ml-100k-recbole", {**SHARED, "seed": seed}))
        theirs.append(_run_recbole(python, "chain", seed))
        for side, run in (("kdbench", ours[-1]), ("RecBole", theirs[-1])):
            print(f"  seed {seed} {side:<8} {phase_text(run)}", flush=True)
    # RecBole's student is its finetuning phase's best; kdbench's the one it hands on (finetuning's best
    # unless finetuning never beat the distilled student on validation), and its finetuning phase's too.
    student = {"auc": [r["student"]["test_auc"] for r in ours], "params": ours[0]["student"]["params"]}
    return [
        ("KD_DAGFM teacher (CrossNet)", _side(ours, "teacher_training"), _side(theirs, "teacher_training")),
        ("KD_DAGFM student (finetuning)", _side(ours, "finetuning"), _side(theirs, "finetuning")),
        ("KD_DAGFM student (handed on)", student, _side(theirs, "finetuning")),
    ]


def phase_text(run: dict[str, Any]) -> str:
    """One run's phases: ``teacher_training 0.8650 (20 ep, best 14)  distillation ...``."""
    return "  ".join(
        f"{name} {p['test_auc']:.4f} ({p['epochs']} ep, best {p['best_epoch']})"
        for name, p in run.items()
        if "epochs" in p
    )


def _side(runs: list[dict[str, Any]], phase: str) -> dict[str, Any]:
    params = runs[0][phase].get("params", runs[0]["student"]["params"] if "student" in runs[0] else None)
    return {"auc": [r[phase]["test_auc"] for r in runs], "params": params}


# ---- FuxiCTR side by side ------------------------------------------------------------------------------
def _run_fuxictr(python: str, spec: dict[str, Any], pinned: bool = True) -> dict[str, Any]:
    """FuxiCTR's driver in a fresh process on one thread (on one CPU unless not ``pinned``: preparing, where
    kdbench's side is not pinned either); its JSON result."""
    with tempfile.TemporaryDirectory(prefix="kdbench-fuxictr-") as folder:
        path = Path(folder) / "spec.json"
        path.write_text(json.dumps(spec))
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        command = [python, str(DRIVERS / "_fuxictr_driver.py"), str(path)]
        child = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
            preexec_fn=one_cpu() if pinned else None,
        )
    lines = [line for line in child.stdout.splitlines() if line.startswith(_FUXICTR_MARK)]
    if child.returncode or not lines:
        sys.exit(f"FuxiCTR failed (exit {child.returncode}):\n{child.stderr[-3000:]}")
    return json.loads(lines[-1][len(_FUXICTR_MARK) :])


def export_splits(dataset: str, folder: Path) -> list[str]:
    """``kdbench data export-split`` of each split into ``folder/{split}.csv`` (raw tokens, a header, the
    label last): FuxiCTR's CSV input. Returns the field names."""
    for split in ("train", "valid", "test"):
        command = [sys.executable, "-m", "kdbench", "data", "export-split", dataset, "--split", split]
        done = subprocess.run(
            [*command, "--out", str(folder / f"{split}.csv")], capture_output=True, text=True
        )
        if done.returncode:
            sys.exit(f"kdbench data export-split failed:\n{done.stderr[-2000:]}")
    header = (folder / "train.csv").open().readline().strip().split(",")
    return [name for name in header if name != "label"]


def fuxictr_side_by_side(
    python: str, seeds: Sequence[int], dataset: str = "ml-100k", teachers: Sequence[str] = tuple(TEACHERS),
    max_epochs: int | None = None, fuxictr_init: bool = False,
) -> list[Row]:  # fmt: skip
    """Each of ``teachers`` per seed, kdbench then FuxiCTR, on ``dataset``'s split (``max_epochs``: a cap
    under ``FUXICTR_SHARED``'s, for big data; ``fuxictr_init``: kdbench's embedding table starts as
    FuxiCTR's does, ``FUXICTR_EMBEDDING_INIT``); returns the table's rows."""
    ours_only = {"embedding_init_std": FUXICTR_EMBEDDING_INIT} if fuxictr_init else {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="kdbench-fuxictr-data-") as folder:
        data = Path(folder)
        fields = export_splits(dataset, data)
        for name in teachers:
            teacher = TEACHERS[name]
            ours, theirs = [], []
            settings = {**FUXICTR_SHARED, **teacher}
            if max_epochs is not None:
                settings["max_epochs"] = max_epochs
            for seed in seeds:
                # finetune off: only the teacher is compared (distillation still runs, off the clock)
                run = _run_kdbench(dataset, {**settings, **ours_only, "seed": seed, "finetune": False})
                ours.append(run["teacher_training"])
                spec = {
                    "mode": "train", "data": str(data), "work": str(data / "fuxictr"), "fields": fields,
                    "model": teacher["teacher"], "seed": seed, "settings": settings,
                }  # fmt: skip
                theirs.append(_run_fuxictr(python, spec))
                print(
                    f"  {name} seed {seed}: kdbench {ours[-1]['test_auc']:.4f} ({ours[-1]['epochs']} ep, "
                    f"{ours[-1]['samples_per_s']:,.0f}/s)  FuxiCTR {theirs[-1]['test_auc']:.4f} "
                    f"({theirs[-1]['epochs']} ep, {theirs[-1]['samples_per_s']:,.0f}/s)",
                    flush=True,
                )
            rows.append((name, _teacher_side(ours), _teacher_side(theirs)))
    return rows


def _teacher_side(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "auc": [r["test_auc"] for r in runs],
        "params": runs[0]["params"],
        "samples_per_s": [r["samples_per_s"] for r in runs],
    }


def prepare_times(python: str, rows: int) -> tuple[float, float]:
    """(kdbench, FuxiCTR) wall seconds to prepare a generated Criteo-format file of ``rows`` rows: ``kdbench
    data prepare criteo`` in a fresh process and cache, against FuxiCTR's feature processor from the same rows
    as CSV (split 8:1:1 into train/valid/test with a header beforehand, untimed) to its parquet files."""
    import pandas as pd

    from kdbench.bench.benchmarks.prepare import generate_criteo

    with tempfile.TemporaryDirectory(prefix="kdbench-prepare-") as folder:
        root = Path(folder)
        raw = root / "criteo.txt"
        generate_criteo(raw, rows)
        env = {**os.environ, "KDBENCH_HOME": str(root / "home")}
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "kdbench", "data", "prepare", "criteo", "--path", str(raw)],
            capture_output=True, text=True, env=env,
        )  # fmt: skip
        ours = time.perf_counter() - start
        if done.returncode:
            sys.exit(f"kdbench data prepare failed:\n{done.stderr[-2000:]}")
        names = ["label", *(f"I{i}" for i in range(1, 14)), *(f"C{i}" for i in range(1, 27))]
        table = pd.read_csv(raw, sep="\t", header=None, names=names, dtype=str)
        cut = [int(len(table) * 0.8), int(len(table) * 0.9)]
        for split, part in zip(
            ("train", "valid", "test"),
            (table[: cut[0]], table[cut[0] : cut[1]], table[cut[1] :]),
            strict=True,
        ):
            part.to_csv(root / f"{split}.csv", index=False)
        del table
        spec = {"mode": "prepare", "data": str(root), "work": str(root / "fuxictr"), "fields": names[1:]}
        theirs = _run_fuxictr(python, spec, pinned=False)["seconds"]
    return ours, theirs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recbole-python", help="a Python with recbole==1.2.1 (not kdbench's environment)")
    parser.add_argument("--fuxictr-python", help="a Python with fuxictr==2.3.10 (not kdbench's environment)")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="model seeds (default: 2022,1,2)")
    parser.add_argument(
        "--recbole-split-sample", metavar="FILE", help="write RecBole's split sample (tests/data) and exit"
    )
    parser.add_argument("--dataset", default="ml-100k", help="FuxiCTR's dataset (default: ml-100k)")
    parser.add_argument(
        "--teachers", default=",".join(TEACHERS), help=f"FuxiCTR's teachers (default: {','.join(TEACHERS)})"
    )
    parser.add_argument("--max-epochs", type=int, help="cap FuxiCTR's comparison at N epochs (big data)")
    parser.add_argument(
        "--fuxictr-init", action="store_true",
        help="kdbench's embedding table starts as FuxiCTR's, normal(0, 1e-4) (embedding_init_std)",
    )  # fmt: skip
    parser.add_argument(
        "--prepare-rows", type=int, default=0, help="also time prepare on a Criteo-format file of N rows"
    )
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    unknown = sorted(set(args.teachers.split(",")) - set(TEACHERS))
    if unknown:
        parser.error(f"unknown teacher(s) {', '.join(unknown)}; known: {', '.join(TEACHERS)}")
    if args.recbole_split_sample:
        if not args.recbole_python:
            parser.error("--recbole-split-sample needs --recbole-python")
        _run_recbole(args.recbole_python, "split", 2022, str(Path(args.recbole_split_sample).resolve()))
        print(f"wrote {args.recbole_split_sample}")
        return
    rows: list[Row] = []
    if args.recbole_python:
        print(f"RecBole KD_DAGFM on ml-100k-recbole, seeds {seeds}, one torch thread each")
        rows += recbole_side_by_side(args.recbole_python, seeds)
    else:
        print("RecBole: skipped (no --recbole-python)")
    if args.fuxictr_python:
        print(f"FuxiCTR teachers on {args.dataset}, seeds {seeds}, one torch thread each")
        teachers = args.teachers.split(",")
        rows += fuxictr_side_by_side(
            args.fuxictr_python, seeds, args.dataset, teachers, args.max_epochs, args.fuxictr_init
        )
        if args.prepare_rows:
            ours, theirs = prepare_times(args.fuxictr_python, args.prepare_rows)
            print(
                f"prepare {args.prepare_rows:,} Criteo-format rows: kdbench {ours:.1f} s, "
                f"FuxiCTR {theirs:.1f} s ({ours / theirs:.2f}x; target <= 0.5x)"
            )
    else:
        print("FuxiCTR: skipped (no --fuxictr-python)")
    print("\n".join(table_lines(rows)) if rows else "nothing ran")


if __name__ == "__main__":
    main()
