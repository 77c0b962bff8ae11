"""Criteo-size data end to end: ``python -m kdbench.bench.benchmarks.scale --rows 10000000`` (fewer rows for
a quick look).

Prints, measured side by side in one run on this machine: prepare rows/s against ``pandas.read_csv`` and
``pyarrow.csv.read_csv`` of the same file, each in a fresh process, with CPU time and peak RSS; the cache's
size on disk; cold and warm load times; training-loop samples/s against the bare model step on the same
batches (mapped splits); and the peak RSS and PSS of one trial (``kdbench train``) against a two-trial
``kdbench sweep --concurrency 2`` on the same data. The generated file is kept under ``--dir`` for the next
run; everything else is removed. A benchmark, not a test: results are data (``--json``).

The file comes from :func:`generate_planted_criteo`. Rows look like the Display Advertising Challenge's day
files (``label \\t I1..I13 \\t C1..C26``, about 250 bytes a row): 13 log-normal integer columns (some
negative, 5-41 % missing) and 26 hex categoricals drawn Zipf-like over 10 to 10^6 values (0-8 % missing).
The label is not noise: its logit is a sum of weights of value *pairs* of planted field pairs (second-order
interactions, no first-order signal of their own), so a model that learns interactions beats one that does
not, as on the real data.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = ["PLANTED_PAIRS", "generate_planted_criteo", "main"]

# (field a, field b): a categorical pair or a categorical with a bucketed integer field
PLANTED_PAIRS = (("C1", "C2"), ("C3", "C4"), ("C5", "I1"), ("C6", "C9"), ("C10", "I3"))
_TABLE = 4096  # weight buckets of a pair: a hash of the two values picks one
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex8(keys: np.ndarray) -> np.ndarray:
    """uint32 keys -> (n,) |S8 lowercase hex strings (vectorised)."""
    shifts = np.arange(28, -1, -4, dtype=np.uint32)
    digits = (keys[:, None] >> shifts) & 0xF
    return np.ascontiguousarray(_HEX[digits]).view("S8").ravel()


def _chunk(rng: np.random.Generator, weights: np.ndarray, n: int) -> pa.Table:
    ints = {}
    for i in range(13):
        values = np.floor(rng.lognormal(1.0 + 0.3 * i, 1.5, n)).astype(np.int64) - (i == 1)
        ints[f"I{i + 1}"] = (values, rng.random(n) < 0.05 + 0.03 * i)
    cats = {}
    for j in range(26):
        cardinality = 10 ** (1 + (j * 7) % 6)
        cats[f"C{j + 1}"] = ((rng.zipf(1.3, n) - 1) % cardinality, rng.random(n) < 0.02 * (j % 5))
    logit = np.full(n, -1.6)
    for p, (a, b) in enumerate(PLANTED_PAIRS):
        va = cats[a][0]
        vb = cats[b][0] if b in cats else np.minimum(np.log1p(np.maximum(ints[b][0], 0)).astype(np.int64), 9)
        logit += weights[p][(va * 7919 + vb * 104729 + p) % _TABLE]
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int8)
    columns: dict[str, pa.Array] = {"label": pa.array(label)}
    for name, (values, missing) in ints.items():
        columns[name] = pa.array(values, mask=missing)
    for j, (name, (ids, missing)) in enumerate(cats.items()):
        keys = ((ids * 2654435761 + j * 97 + 1) % 2**32).astype(np.uint32)
        text = pa.array(_hex8(keys), type=pa.binary(8)).cast(pa.string())
        columns[name] = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)
    return pa.table(columns)


def generate_planted_criteo(path: Path, rows: int, seed: int = 0, chunk: int = 250_000) -> Path:
    """Write ``rows`` rows to ``path`` (a ``.part`` file renamed at the end); deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    weights = np.random.default_rng(seed + 1).normal(0.0, 1.2, size=(len(PLANTED_PAIRS), _TABLE))
    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    tmp = path.with_name(path.name + ".part")
    with pa.OSFile(str(tmp), "wb") as out:
        for start in range(0, rows, chunk):
            pacsv.write_csv(_chunk(rng, weights, min(chunk, rows - start)), out, options)
    os.replace(tmp, path)
    return path


# ---- the benchmark ---------------------------------------------------------------------------------------
def _measured(action: Callable[[], Any]) -> dict[str, Any]:
    """Run ``action`` in this (child) process: its result, wall and CPU seconds and the process's peak RSS."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = action()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"result": result, "wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak}


def _child(mode: str, file: str, home: str, steps: int) -> dict[str, Any]:
    """One measured operation in a fresh interpreter (its peak RSS is its own)."""
    if mode == "pandas":  # chunked: the same C parser as one read_csv call, in bounded memory
        import pandas as pd

        return _measured(
            lambda: sum(len(f) for f in pd.read_csv(file, sep="\t", header=None, chunksize=1_000_000))
        )
    if mode == "pyarrow":
        names = ["label", *(f"I{i}" for i in range(1, 14)), *(f"C{i}" for i in range(1, 27))]
        read = pacsv.ReadOptions(column_names=names)
        parse = pacsv.ParseOptions(delimiter="\t", quote_char=False)
        return _measured(lambda: pacsv.read_csv(file, read_options=read, parse_options=parse).num_rows)
    from kdbench.bench.data import prepare

    if mode == "prepare":
        return _measured(lambda: prepare("criteo", path=file, home=home).num_rows)
    if mode == "load":
        return _load_times(lambda: prepare("criteo", path=file, home=home))
    if mode == "epoch":
        return _epoch_vs_bare(prepare("criteo", path=file, home=home), steps)
    raise ValueError(mode)


def _load_times(open_data: Callable[[], Any]) -> dict[str, Any]:
    """Open the cached entry and read every page of its arrays: cold (the entry's pages dropped from the page
    cache first, with posix_fadvise) and warm (right after)."""
    data = open_data()
    files = sorted(p for p in Path(data.path).iterdir() if p.suffix == ".npy")
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    times = {}
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        data = open_data()
        opened = time.perf_counter() - t0
        for split in (data.train, data.valid, data.test):
            for start in range(0, len(split), 1 << 20):  # touch every page, a block at a time
                int(split.x[start : start + (1 << 20)].sum()) + int(split.y[start : start + (1 << 20)].sum())
        times[label] = {"open_s": opened, "read_all_s": time.perf_counter() - t0}
    return {"result": times, "bytes": sum(p.stat().st_size for p in files)}


def _epoch_vs_bare(data: Any, steps: int) -> dict[str, Any]:
    """Training-loop samples/s (batches gathered by ``epoch_batches`` from the trial's splits) against the
    bare model step over the same batches pre-gathered in a list, alternating, medians of 3; per phase."""
    import itertools
    import statistics

    import torch

    from kdbench.bench.batches import epoch_batches, trial_splits
    from kdbench.bench.recipes import build_config, recipe_for
    from kdbench.bench.trial import _PhaseTrainer
    from kdbench.models import KDDAGFM

    torch.set_num_threads(1)  # as a sweep trial with --cpus-per-trial 1
    cfg = build_config(recipe_for("criteo"), {"max_epochs": 1})
    cpu = torch.device("cpu")
    torch.manual_seed(cfg.seed)
    model = KDDAGFM(
        data.vocab_sizes, cfg.embedding_size, cfg.teacher, cfg.teacher_kwargs(), cfg.student_kwargs()
    )
    splits = trial_splits({"train": data.train, "valid": data.valid, "test": data.test}, cpu)
    train = splits["train"]
    trainer = _PhaseTrainer(model, splits, cfg, cpu, None)
    out: dict[str, Any] = {"mapped": train.mapped, "batch_size": cfg.batch_size, "steps": steps}
    for phase in ("teacher_training", "finetuning"):
        trainer.current_phase = phase
        optimizer = torch.optim.Adam(model.set_phase(phase), lr=cfg.lr, fused=True)

        def step(x: torch.Tensor, y: torch.Tensor, phase: str = phase, optimizer: Any = optimizer) -> Any:
            loss = model.loss((x, y), phase, cfg.alpha, cfg.beta)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return loss.detach()

        def loop(seed: int) -> float:
            shuffle = torch.Generator().manual_seed(seed)
            t0 = time.perf_counter()
            total = torch.zeros(())
            for x, y in itertools.islice(epoch_batches(train, cfg.batch_size, generator=shuffle), steps):
                total += step(x, y) * y.shape[0]
            float(total)
            return steps * cfg.batch_size / (time.perf_counter() - t0)

        def bare(seed: int) -> float:
            shuffle = torch.Generator().manual_seed(seed)
            batches = list(itertools.islice(epoch_batches(train, cfg.batch_size, generator=shuffle), steps))
            t0 = time.perf_counter()
            for x, y in batches:
                step(x, y)
            return steps * cfg.batch_size / (time.perf_counter() - t0)

        loop(0)  # warm-up: allocator, page cache
        runs = [(loop(r + 1), bare(r + 1)) for r in range(3)]
        out[phase] = {
            "loop": statistics.median(r[0] for r in runs),
            "bare": statistics.median(r[1] for r in runs),
        }
    return {"result": out}


def _run_child(mode: str, file: Path, home: Path, steps: int = 0, env: dict[str, str] | None = None) -> Any:
    argv = [sys.executable, "-m", "kdbench.bench.benchmarks.scale", "--child", mode, "--file", str(file)]
    argv += ["--home", str(home), "--steps", str(steps)]
    out = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- memory of process trees -----------------------------------------------------------------------------
def _tree(root: int) -> list[int]:
    """``root`` and its descendants (from /proc/*/stat)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def _memory(pid: int) -> tuple[str, int, int] | None:
    """(command, RSS KiB, PSS KiB) of ``pid`` from /proc/<pid>/smaps_rollup; None once it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    values = {}
    for line in rollup.splitlines()[1:]:
        key, _, rest = line.partition(":")
        values[key] = int(rest.split()[0]) if rest.split() else 0
    return command.strip(), values.get("Rss", 0), values.get("Pss", 0)


class _Sampler(threading.Thread):
    """Samples a process tree every ``period`` s; keeps the peak of the summed RSS and PSS of the processes
    ``selected(command)`` picks, and the peak RSS / PSS each of them reached."""

    def __init__(self, root: int, selected: Callable[[str], bool], period: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.root, self.selected, self.period = root, selected, period
        self.peak_rss = self.peak_pss = 0
        self.per_process: dict[int, tuple[str, int, int]] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            rss = pss = 0
            for pid in _tree(self.root):
                found = _memory(pid)
                if found is None or not self.selected(found[0]):
                    continue
                rss, pss = rss + found[1], pss + found[2]
                old = self.per_process.get(pid, (found[0], 0, 0))
                self.per_process[pid] = (found[0][:60], max(old[1], found[1]), max(old[2], found[2]))
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.done.wait(self.period)


def _sampled(argv: list[str], selected: Callable[[str], bool], env: dict[str, str]) -> dict[str, Any]:
    """Run ``argv``; its wall time and the peak summed RSS / PSS (MiB) of the processes ``selected`` picks."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    sampler = _Sampler(proc.pid, selected)
    sampler.start()
    output, _ = proc.communicate()
    sampler.done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed ({proc.returncode}):\n{output[-3000:]}")
    return {
        "wall_s": time.perf_counter() - t0,
        "peak_rss_mib": sampler.peak_rss / 1024,
        "peak_pss_mib": sampler.peak_pss / 1024,
        "processes": {str(pid): [c, r / 1024, p / 1024] for pid, (c, r, p) in sampler.per_process.items()},
    }


# One epoch per phase, one thread a trial. A light model (memory is what is measured, and an epoch of the
# recipe's CrossNet over 8M rows takes over 20 minutes on one core): the data's footprint is the same.
_TRIAL = {"max_epochs": 1, "patience": 1, "embedding_size": 4, "t_depth": 1, "depth": 1, "batch_size": 4096}


def _one_trial_vs_sweep(file: Path, home: Path, work: Path, sweeps: bool = True) -> dict[str, Any]:
    """Peak memory of one trial, run by ``kdbench train`` and as a 1-trial sweep (its Ray worker), against a
    2-trial ``kdbench sweep --concurrency 2`` (its two workers summed); only the first without ``sweeps``."""
    env = {**os.environ, "KDBENCH_HOME": str(home), "OMP_NUM_THREADS": "1"}
    config = work / "trial.yaml"
    config.write_text("".join(f"{k}: {v}\n" for k, v in _TRIAL.items()))
    space = work / "space.yaml"
    space.write_text(
        "name: scale\ndescription: two trials of one fixed config\nfixed:\n"
        + "".join(f"  {k}: {v}\n" for k, v in _TRIAL.items() if k != "seed")
        + "params:\n  seed: {choices: [2022, 2023]}\n"
    )
    kdbench = [sys.executable, "-m", "kdbench"]
    common = ["--dataset", "criteo", "--path", str(file), "--no-teacher-cache"]
    one = _sampled(
        [*kdbench, "train", *common, "--config", str(config), "--threads", "1", "--device", "cpu", "--quiet"],
        lambda command: True,
        env,
    )
    if not sweeps:
        return {"one_trial": one}
    runs = {}
    for trials in (1, 2):
        runs[trials] = _sampled(
            [*kdbench, "sweep", *common, "--space", str(space), "--trials", str(trials),
             "--concurrency", str(trials), "--cpus-per-trial", "1", "--scheduler", "none",
             "--name", f"scale{trials}", "--quiet", "--db", f"sqlite:///{work / 'sweep.db'}",
             "--ray-storage", str(work / "ray")],
            lambda command: command.startswith("ray::"),  # the trial workers (not Ray's daemons)
            env,
        )  # fmt: skip
    return {"one_trial": one, "one_trial_sweep": runs[1], "two_trial_sweep": runs[2]}


# train: one light trial (kdbench train, one epoch per phase) and its peak memory; memory adds the sweeps
PARTS = ("readers", "load", "epoch", "train", "memory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kdbench.bench.benchmarks.scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--dir", help="where the generated file goes (default: $KDBENCH_HOME/bench)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each reader; the best wall time counts"
    )
    parser.add_argument(
        "--steps", type=int, default=300, help="training batches per measurement (default 300)"
    )
    parser.add_argument(
        "--parts",
        default=",".join(p for p in PARTS if p != "train"),
        help=f"what to measure, comma-separated, from {','.join(PARTS)} (default: all but train, which "
        "memory includes); prepare always runs",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the prepared cache (the file is always kept)"
    )
    parser.add_argument("--json", dest="json_path", help="also write every figure to this JSON file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    parts = {part.strip() for part in args.parts.split(",") if part.strip()}
    if parts - set(PARTS):
        parser.error(
            f"--parts: unknown {', '.join(sorted(parts - set(PARTS)))}; choose from {', '.join(PARTS)}"
        )
    if args.child:
        print(json.dumps(_child(args.child, args.file, args.home, args.steps)))
        return 0

    from kdbench.bench.io import kdbench_home

    folder = Path(args.dir) if args.dir else kdbench_home() / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"criteo-{args.rows}.txt"
    if not file.exists():
        print(f"generating {args.rows:,} rows into {file} ...", flush=True)
        t0 = time.perf_counter()
        generate_planted_criteo(file, args.rows)
        print(f"  {file.stat().st_size / 2**20:,.0f} MiB in {time.perf_counter() - t0:.0f} s", flush=True)
    work = Path(tempfile.mkdtemp(prefix="kdbench-scale-", dir=folder))
    home = work / "home"
    report: dict[str, Any] = {"rows": args.rows, "file_bytes": file.stat().st_size, "cpus": os.cpu_count()}
    try:
        modes = ("pandas", "pyarrow", "prepare") if "readers" in parts else ("prepare",)
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
        for r in range(args.repeat):
            for mode in runs:
                target = home if r == 0 else work / f"home-{r}"
                runs[mode].append(_run_child(mode, file, target))
                print(f"  {mode:8s} run {r + 1}: {runs[mode][-1]['wall_s']:.1f} s", flush=True)
        best = {mode: min(results, key=lambda x: x["wall_s"]) for mode, results in runs.items()}
        report.update(best)
        if "load" in parts:
            load = _run_child("load", file, home)
            report["cache_bytes"], report["load"] = load["bytes"], load["result"]
            print("  load times measured", flush=True)
        if "epoch" in parts:  # 1M rows (160 MB) are below the mapping threshold: map them anyway
            child = _run_child("epoch", file, home, args.steps, {"KDBENCH_MAP_ABOVE_BYTES": "0"})
            report["epoch"] = child["result"]
            print("  epoch throughput measured", flush=True)
        if "memory" in parts or "train" in parts:
            report["memory"] = _one_trial_vs_sweep(file, home, work, sweeps="memory" in parts)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    _print(report)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(report, indent=1))
    return 0


def _print(r: dict[str, Any]) -> None:
    rows, fields = r["rows"], 39
    encoded = rows * fields * 4 + rows * 4
    print(f"\n{rows:,} Criteo-format rows, {r['file_bytes'] / 2**20:,.0f} MiB, {r['cpus']} CPUs")
    print(f"{'':34s}{'wall s':>9s}{'rows/s':>12s}{'CPU s':>9s}{'peak RSS MiB':>14s}")
    for label, key in (
        ("pandas.read_csv (1M-row chunks)", "pandas"),
        ("pyarrow.csv.read_csv (whole file)", "pyarrow"),
        ("kdbench prepare (cold)", "prepare"),
    ):
        if key not in r:
            continue
        b = r[key]
        rate = rows / b["wall_s"]
        print(f"{label:34s}{b['wall_s']:9.1f}{rate:12,.0f}{b['cpu_s']:9.1f}{b['peak_rss_mib']:14,.0f}")
    p = r["prepare"]
    if "pandas" in r:
        print(
            f"prepare wall / pandas.read_csv wall: {p['wall_s'] / r['pandas']['wall_s']:.2f}x (target <= 1.0)"
        )
        print(f"prepare wall / pyarrow.csv.read_csv wall: {p['wall_s'] / r['pyarrow']['wall_s']:.2f}x")
    print(
        f"prepare peak RSS / encoded arrays ({encoded / 2**20:,.0f} MiB): "
        f"{p['peak_rss_mib'] * 2**20 / encoded:.2f}x (target <= 2)"
    )
    if "load" in r:
        _print_load(r)
    if "epoch" in r:
        _print_epoch(r["epoch"])
    if "memory" in r:
        _print_memory(r["memory"])


def _print_load(r: dict[str, Any]) -> None:
    print(f"cache on disk: {r['cache_bytes'] / 2**20:,.0f} MiB (.npy arrays; vocabularies besides)")
    for label in ("cold", "warm"):
        t = r["load"][label]
        print(
            f"{label} load: open {t['open_s'] * 1000:.1f} ms, open + read every page {t['read_all_s']:.2f} s"
        )


def _print_epoch(e: dict[str, Any]) -> None:
    how = "mapped from the cache" if e["mapped"] else "copied to memory"
    print(f"training loop vs bare model step ({how}; {e['steps']} batches of {e['batch_size']}, 1 thread):")
    for phase in ("teacher_training", "finetuning"):
        s = e[phase]
        print(
            f"  {phase:17s} loop {s['loop']:9,.0f} samples/s  bare {s['bare']:9,.0f} samples/s  "
            f"ratio {s['loop'] / s['bare']:.2f} (target >= 0.90)"
        )


def _print_memory(m: dict[str, Any]) -> None:
    if "two_trial_sweep" not in m:
        one = m["one_trial"]
        print(
            f"one light trial (kdbench train, one epoch a phase): RSS {one['peak_rss_mib']:,.0f} MiB  "
            f"PSS {one['peak_pss_mib']:,.0f} MiB  {one['wall_s']:.0f} s"
        )
        return
    two = m["two_trial_sweep"]
    print("peak memory of one trial vs a 2-trial sweep (--concurrency 2, its trial workers summed):")
    rows = (
        ("kdbench train", "one_trial"),
        ("1-trial sweep", "one_trial_sweep"),
        ("2-trial sweep", "two_trial_sweep"),
    )
    for label, key in rows:
        if key in m:
            rss, pss, wall = (m[key][k] for k in ("peak_rss_mib", "peak_pss_mib", "wall_s"))
            print(f"  {label}  RSS {rss:8,.0f} MiB  PSS {pss:8,.0f} MiB  {wall:5.0f} s")
    for label, key in rows[:2]:
        if key in m:
            one = m[key]
            print(
                f"  2-trial sweep / {label}: RSS {two['peak_rss_mib'] / one['peak_rss_mib']:.2f}x, "
                f"PSS {two['peak_pss_mib'] / one['peak_pss_mib']:.2f}x (target <= 1.3, on PSS)"
            )
    print(
        "  (RSS counts the shared page-cache pages of the mapped data once per process; PSS shares them out)"
    )


if __name__ == "__main__":
    sys.exit(main())
