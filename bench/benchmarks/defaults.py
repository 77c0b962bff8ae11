"""The defaults on diverse data: ``python -m kdbench.bench.benchmarks.defaults``.

Runs what ``kdbench train --dataset NAME`` runs with no other flag (the recipe :func:`recipe_for_data` picks
for the data) on ml-100k and on every table of :data:`kdbench.bench.benchmarks.tables.SUITE` (generated,
seeded, into ``$KDBENCH_HOME/benchmarks/tables``, then prepared like any csv), and beside it logistic
regression and gradient boosting on the same split (``kdbench.bench.baselines``). One row per dataset:
rows, fields, the chosen defaults, student / teacher / LR / GBDT test AUC, the oracle where known, the
student's margin over GBDT and its share of the way from GBDT to the oracle, the teacher's best epoch and
epochs run, and the wall time.

``--grid WD1,WD2,...`` instead trains every dataset once per weight decay (lr 3e-3, 40 epochs / patience 5)
and prints the teacher's and the student's **valid** AUC for each: how the size bands of
:func:`kdbench.bench.recipes.fitted_recipe` were measured (test AUCs are printed but never chosen by).

Each trial trains with ``--threads`` threads (default 1); ``--jobs N`` runs N datasets at once (largest
first), which shortens the benchmark but makes each wall time a shared machine's.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

__all__ = ["benchmark_datasets", "run_defaults", "run_grid"]


def benchmark_datasets(names: list[str] | None = None) -> list[tuple[str, float | None]]:
    """Prepare ml-100k and the suite's tables (generating missing ones); ``[(dataset name, oracle AUC)]``."""
    from kdbench.bench.benchmarks.tables import SUITE, generate_table
    from kdbench.bench.data import prepare
    from kdbench.bench.io import kdbench_home

    folder = Path(kdbench_home()) / "benchmarks" / "tables"
    out: list[tuple[str, float | None]] = []
    if names is None or "ml-100k" in names:
        prepare("ml-100k", progress=False)
        out.append(("ml-100k", None))
    for spec in SUITE:
        if names is not None and spec.name not in names:
            continue
        oracle_file = folder / f"{spec.name}.oracle.json"
        csv, schema = folder / f"{spec.name}.csv", folder / f"{spec.name}.yaml"
        if not (csv.exists() and schema.exists() and oracle_file.exists()):
            csv, schema, oracle = generate_table(spec, folder)
            oracle_file.write_text(json.dumps({"oracle_auc": oracle}), encoding="utf-8")
        oracle = json.loads(oracle_file.read_text(encoding="utf-8"))["oracle_auc"]
        prepare("csv", path=str(csv), schema=str(schema), progress=False)
        out.append((spec.name, oracle))
    return out


def _trial(name: str, layers: dict[str, Any], threads: int, *, fitted: bool = True) -> tuple[Any, Any, dict]:
    from kdbench.bench.data import prepare
    from kdbench.bench.recipes import build_config, recipe_for_data
    from kdbench.bench.trial import run_trial

    data = prepare(name, progress=False)
    recipe = recipe_for_data(data.info()) if fitted else None
    cfg = build_config(recipe, layers)
    result = run_trial(cfg, data, None, device="cpu", threads=threads, recipe=recipe, artifacts=False)
    return data, recipe, result.to_dict()


def run_defaults(names: list[str] | None, threads: int, jobs: int = 1) -> list[dict[str, Any]]:
    """One default trial and the baselines per dataset, ``jobs`` datasets at once (largest first); prints
    each row as it comes and returns them in the suite's order."""
    datasets = benchmark_datasets(names)
    if jobs <= 1:
        return [_default_row(name, oracle, threads) for name, oracle in datasets]
    from concurrent.futures import ProcessPoolExecutor

    from kdbench.bench.data import prepare

    largest_first = sorted(datasets, key=lambda d: -prepare(d[0], progress=False).num_rows)
    with ProcessPoolExecutor(jobs) as pool:
        futures = {name: pool.submit(_default_row, name, oracle, threads) for name, oracle in largest_first}
        return [futures[name].result() for name, _ in datasets]


def _default_row(name: str, oracle: float | None, threads: int) -> dict[str, Any]:
    """The default trial on ``name`` (its wall time: teacher, distillation, finetuning, evaluation) and the
    baselines on its split."""
    from kdbench.bench.baselines import fit_baselines

    started = time.perf_counter()
    data, recipe, result = _trial(name, {}, threads)
    wall = time.perf_counter() - started
    baselines = {b.model: b for b in fit_baselines(data, threads=threads)}
    teacher = result["phases"][0]
    gbdt = baselines["gbdt"].test_auc
    student = result["student"]["test_auc"]
    row = {
        "dataset": name,
        "rows": data.num_rows,
        "fields": len(data.field_names),
        "dense": len(data.dense_fields),
        "values": sum(data.vocab_sizes),
        "recipe": recipe.name,
        "defaults": {k: recipe.values.get(k) for k in ("weight_decay", "max_epochs", "patience")},
        "student": student,
        "teacher": result["teacher"]["test_auc"],
        "lr": baselines["lr"].test_auc,
        "gbdt": gbdt,
        "oracle": oracle,
        "vs_gbdt": student - gbdt,
        "of_the_way": None if oracle is None else (student - gbdt) / (oracle - gbdt),
        "teacher_epochs": f"{teacher['best_epoch']}/{teacher['epochs']}",
        "wall_s": wall,
    }
    print(json.dumps(row), flush=True)
    return row


def run_grid(names: list[str] | None, weight_decays: list[float], threads: int) -> list[dict[str, Any]]:
    """Every dataset once per weight decay (no recipe: lr 3e-3, 40 epochs / patience 5); valid AUCs."""
    rows = []
    for name, _ in benchmark_datasets(names):
        for wd in weight_decays:
            layers = {"weight_decay": wd, "max_epochs": 40, "patience": 5}
            data, _, result = _trial(name, layers, threads, fitted=False)
            teacher = result["phases"][0]
            row = {
                "dataset": name,
                "train_rows": len(data.train),
                "weight_decay": wd,
                "teacher_valid": result["teacher"]["valid_auc"],
                "student_valid": result["student"]["valid_auc"],
                "student_test": result["student"]["test_auc"],
                "teacher_epochs": f"{teacher['best_epoch']}/{teacher['epochs']}",
            }
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def _print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        "| dataset | rows | fields (dense) | defaults | student | teacher | LR | GBDT | oracle | vs GBDT "
        "| of the way | teacher best/run | wall |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        d = r["defaults"]
        chosen = f"{r['recipe']}: wd {d['weight_decay']:g}, {d['max_epochs']}/{d['patience']}"
        oracle = "" if r["oracle"] is None else f"{r['oracle']:.4f}"
        way = "" if r["of_the_way"] is None else f"{100 * r['of_the_way']:.0f} %"
        print(
            f"| {r['dataset']} | {r['rows']:,} | {r['fields']} ({r['dense']}) | {chosen} "
            f"| {r['student']:.4f} | {r['teacher']:.4f} | {r['lr']:.4f} | {r['gbdt']:.4f} | {oracle} "
            f"| {r['vs_gbdt']:+.4f} | {way} | {r['teacher_epochs']} | {r['wall_s']:.0f} s |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated dataset names (default: ml-100k and the whole suite)")
    parser.add_argument("--grid", metavar="WD1,WD2,...", help="measure these weight decays instead")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per trial (default: 1)")
    parser.add_argument("--jobs", type=int, default=1, help="datasets at once, largest first (default: 1)")
    parser.add_argument("--json", dest="json_path", help="also write the rows to this JSON file")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else None
    if args.grid:
        rows = run_grid(names, [float(w) for w in args.grid.split(",")], args.threads)
    else:
        rows = run_defaults(names, args.threads, args.jobs)
        _print_table(rows)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
