"""The model zoo on MovieLens-100K: ``python -m kdbench.bench.benchmarks.zoo``.

Every teacher (``models.TEACHERS``) distilled into the plain DAGFM student and into DAGFM+ (the DAGFM plus a
small MLP over the embeddings), over several seeds, from the dataset's recipe. Prints one row per teacher and
student: teacher and student test AUC (mean ± std over seeds), the gap, the student's share of the teacher's
multiply-adds and both serving latencies. ``--db URL`` also records every trial (sweep ``--name``), so
``kdbench report`` shows the same matrix on its leaderboard (seeds grouped per configuration).

Trials run in ``--jobs`` processes of one thread each, so latencies are one-thread figures measured alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
from concurrent.futures import ProcessPoolExecutor
from typing import Any

DAGFM_PLUS_MLP = (64, 32)  # small on purpose: the student must stay a fraction of its teacher


def run_one(
    teacher: str, mlp: tuple[int, ...], seed: int, dataset: str, max_epochs: int | None, cache: str
) -> dict:
    """One trial in this (worker) process, one thread; returns its TrialResult dict."""
    import torch

    from kdbench.bench.data import prepare
    from kdbench.bench.recipes import build_config, recipe_for
    from kdbench.bench.teacher_cache import TeacherCache
    from kdbench.bench.trial import run_trial

    torch.set_num_threads(1)
    overrides: dict[str, Any] = {"teacher": teacher, "student_mlp": list(mlp), "seed": seed}
    if max_epochs is not None:
        overrides["max_epochs"] = max_epochs
    recipe = recipe_for(dataset)
    cfg = build_config(recipe, overrides)
    data = prepare(dataset)
    return run_trial(
        cfg, data, device="cpu", threads=1, teacher_cache=TeacherCache(cache), recipe=recipe
    ).to_dict()


def _mean_std(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def summarise(results: list[dict]) -> list[dict[str, Any]]:
    """One row per (teacher, student) from the trials' result dicts."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in results:
        student = "DAGFM+" if r["config"].get("student_mlp") else "DAGFM"
        groups.setdefault((r["config"]["teacher"], student), []).append(r)
    rows = []
    for (teacher, student), trials in sorted(groups.items()):
        t_auc = [t["teacher"]["test_auc"] for t in trials]
        s_auc = [t["student"]["test_auc"] for t in trials]
        first = trials[0]
        rows.append({
            "teacher": teacher,
            "student": student,
            "seeds": len(trials),
            "teacher_auc": _mean_std(t_auc),
            "student_auc": _mean_std(s_auc),
            "gap": statistics.mean(s_auc) - statistics.mean(t_auc),
            "flops_pct": 100 * first["student"]["flops"] / first["teacher"]["flops"],
            "teacher_ms_b1": statistics.median(t["teacher"]["latency_ms_b1"] for t in trials),
            "student_ms_b1": statistics.median(t["student"]["latency_ms_b1"] for t in trials),
            "teacher_ms_b4096": statistics.median(t["teacher"]["latency_ms_b4096"] for t in trials),
            "student_ms_b4096": statistics.median(t["student"]["latency_ms_b4096"] for t in trials),
        })  # fmt: skip
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'teacher':<9} {'student':<7} {'seeds':>5}  {'teacher test AUC':>17}  {'student test AUC':>17}  "
        f"{'gap':>7}  {'MACs %':>6}  {'b1 ms t/s':>13}  {'b4096 ms t/s':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['teacher']:<9} {r['student']:<7} {r['seeds']:>5}  {r['teacher_auc']:>17}  "
            f"{r['student_auc']:>17}  {r['gap']:>+7.4f}  {r['flops_pct']:>6.1f}  "
            f"{r['teacher_ms_b1']:>6.3f}/{r['student_ms_b1']:<6.3f}  "
            f"{r['teacher_ms_b4096']:>6.2f}/{r['student_ms_b4096']:<6.2f}"
        )


def record(results: list[dict], db: str, name: str, dataset: str) -> None:
    from kdbench.bench.data import prepare
    from kdbench.bench.provenance import environment
    from kdbench.bench.store import open_writable

    with open_writable(db) as store:
        env_id = store.record_environment(environment())
        store.record_dataset(prepare(dataset).info())
        for number, result in enumerate(results):
            store.record_trial(name, number, result=result, environment_id=env_id)
    print(f"recorded {len(results)} trials as sweep {name!r} in {db}: `kdbench report --db {db}` shows them")


def main() -> None:
    from kdbench.models import TEACHERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--teachers", default=",".join(TEACHERS), help="comma-separated (default: all)")
    parser.add_argument("--seeds", default="2022,1,2", help="trial seeds (default: 2022,1,2)")
    parser.add_argument("--jobs", type=int, default=2, help="trials at once, one thread each (default: 2)")
    parser.add_argument("--max-epochs", type=int, help="cap every phase (default: the recipe's)")
    parser.add_argument("--db", help="also record every trial in this results database")
    parser.add_argument(
        "--teacher-cache", help="teacher cache folder (default: a fresh temporary one: teachers train here)"
    )
    parser.add_argument("--name", default=f"zoo-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}")
    args = parser.parse_args()

    teachers = [t for t in args.teachers.split(",") if t]
    unknown = sorted(set(teachers) - set(TEACHERS))
    if unknown:
        parser.error(f"unknown teachers {', '.join(unknown)} (known: {', '.join(TEACHERS)})")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    # Plain students first: their trials train the teachers that the DAGFM+ trials then take from the cache.
    work = [(t, mlp, s) for mlp in ((), DAGFM_PLUS_MLP) for t in teachers for s in seeds]
    print(f"{len(work)} trials on {args.dataset} ({args.jobs} at once, one thread each)", flush=True)
    scratch = tempfile.TemporaryDirectory(prefix="kdbench-zoo-")
    with scratch, ProcessPoolExecutor(args.jobs) as pool:
        cache = args.teacher_cache or scratch.name
        futures = [
            pool.submit(run_one, t, mlp, s, args.dataset, args.max_epochs, cache) for t, mlp, s in work
        ]
        results = []
        for (t, mlp, s), future in zip(work, futures, strict=True):
            result = future.result()
            student = "DAGFM+" if mlp else "DAGFM"
            print(
                f"  {t:<9} {student:<7} seed {s:<5} teacher {result['teacher']['test_auc']:.4f}  "
                f"student {result['student']['test_auc']:.4f}  {result['wall_seconds']:.0f} s",
                flush=True,
            )
            results.append(result)
    print()
    print_table(summarise(results))
    if args.db:
        record(results, args.db, args.name, args.dataset)


if __name__ == "__main__":
    main()
