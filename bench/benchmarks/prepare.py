"""Prepare throughput on a synthetic Criteo file, against a plain ``pandas.read_csv`` of the same file.

    python -m kdbench.bench.benchmarks.prepare [--rows 1000000] [--repeat 3] [--file PATH] [--json OUT]

Generates (once, then reuses) a Criteo-format file of ``--rows`` rows: a 25 % positive label, 13 integer
columns (log-normal counts, some negative, 5-41 % missing) and 26 hex categoricals (Zipf-distributed over
10 to 10^6 values, 0-8 % missing), about 258 bytes a row like the real day files. Then it alternates, in
fresh subprocesses, a cold ``kdbench.bench.data.prepare("criteo", ...)`` into an empty ``$KDBENCH_HOME`` and
``pandas.read_csv(path, sep="\\t", header=None)``, and reports the best wall time of each (rows/s), their CPU
time and peak resident memory, and the cached (second) prepare. A benchmark, not a test: results are data.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kdbench.bench.io import kdbench_home

__all__ = ["generate_criteo", "main"]

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex8(keys: np.ndarray) -> np.ndarray:
    """uint32 keys -> (n,) |S8 lowercase hex strings (vectorised)."""
    shifts = np.arange(28, -1, -4, dtype=np.uint32)
    digits = (keys[:, None] >> shifts) & 0xF
    return np.ascontiguousarray(_HEX[digits]).view("S8").ravel()


def generate_criteo(path: Path, rows: int, seed: int = 0, chunk: int = 250_000) -> None:
    """Write a synthetic Criteo Display Advertising Challenge file (see the module docstring)."""
    rng = np.random.default_rng(seed)
    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    tmp = path.with_name(path.name + ".part")
    with pa.OSFile(str(tmp), "wb") as out:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            columns = {"label": pa.array((rng.random(n) < 0.25).astype(np.int8))}
            for i in range(13):
                values = np.floor(rng.lognormal(1.0 + 0.3 * i, 1.5, n)).astype(np.int64) - (i == 1)
                columns[f"I{i + 1}"] = pa.array(values, mask=rng.random(n) < 0.05 + 0.03 * i)
            for j in range(26):
                ids = (rng.zipf(1.3, n) - 1) % 10 ** (1 + (j * 7) % 6)
                keys = (ids * 2654435761 + j * 97 + 1) % 2**32
                text = pa.array(_hex8(keys.astype(np.uint32)), type=pa.binary(8)).cast(pa.string())
                columns[f"C{j + 1}"] = _with_nulls(text, rng.random(n) < 0.02 * (j % 5))
            pacsv.write_csv(pa.table(columns), out, options)
    os.replace(tmp, path)


def _with_nulls(array: pa.Array, missing: np.ndarray) -> pa.Array:
    """``array`` with the ``missing`` positions set to null."""
    return pc.if_else(pa.array(missing), pa.scalar(None, array.type), array)


def _child(mode: str, path: str, home: str) -> dict[str, float]:
    """Runs in a fresh interpreter: one measured operation, then its wall/CPU time and peak RSS."""
    if mode == "pandas":
        import pandas as pd

        t0, c0 = time.perf_counter(), time.process_time()
        rows = len(pd.read_csv(path, sep="\t", header=None))
    else:
        from kdbench.bench.data import prepare

        t0, c0 = time.perf_counter(), time.process_time()
        rows = prepare("criteo", path=path, home=home).num_rows
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"rows": rows, "wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak}


def _run_child(mode: str, path: Path, home: Path) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kdbench.bench.benchmarks.prepare",
            "--child",
            mode,
            "--file",
            str(path),
            "--home",
            str(home),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kdbench.bench.benchmarks.prepare", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; the best wall time counts")
    parser.add_argument("--file", help="the Criteo file (default: $KDBENCH_HOME/bench/criteo-<rows>.txt)")
    parser.add_argument("--json", dest="json_path", help="also write the results to this JSON file")
    parser.add_argument("--child", choices=["pandas", "prepare"], help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.file, args.home)))
        return 0

    path = Path(args.file) if args.file else kdbench_home() / "bench" / f"criteo-{args.rows}.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.rows:,} rows into {path} ...", flush=True)
        t0 = time.perf_counter()
        generate_criteo(path, args.rows)
        print(f"  {path.stat().st_size / 2**20:,.0f} MiB in {time.perf_counter() - t0:.1f} s", flush=True)

    runs: dict[str, list[dict[str, float]]] = {"pandas": [], "prepare": []}
    cached: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kdbench-bench-") as tmp:
        for r in range(args.repeat):
            for mode in ("pandas", "prepare"):
                home = Path(tmp) / f"{mode}-{r}"
                runs[mode].append(_run_child(mode, path, home))
                print(f"  {mode:8s} run {r + 1}: {runs[mode][-1]['wall_s']:.2f} s", flush=True)
            if r == 0:
                cached = _run_child("prepare", path, Path(tmp) / "prepare-0")

    best = {mode: min(results, key=lambda x: x["wall_s"]) for mode, results in runs.items()}
    rows = best["prepare"]["rows"]
    report: dict[str, Any] = {
        "file": str(path),
        "bytes": path.stat().st_size,
        "rows": rows,
        "cpus": os.cpu_count(),
        "pandas_read_csv": {**best["pandas"], "rows_per_s": rows / best["pandas"]["wall_s"]},
        "prepare": {**best["prepare"], "rows_per_s": rows / best["prepare"]["wall_s"]},
        "prepare_cached": cached,
        "slowdown_vs_pandas": best["prepare"]["wall_s"] / best["pandas"]["wall_s"],
        "all_runs": runs,
    }
    print(
        f"\n{rows:,} rows, {report['bytes'] / 2**20:,.0f} MiB, {os.cpu_count()} CPUs (best of {args.repeat})"
    )
    print(f"{'':24s}{'wall s':>9s}{'rows/s':>12s}{'CPU s':>9s}{'peak RSS MiB':>14s}")
    for label, key in (("pandas read_csv", "pandas_read_csv"), ("kdbench prepare (cold)", "prepare")):
        b = report[key]
        print(
            f"{label:24s}{b['wall_s']:9.2f}{b['rows_per_s']:12,.0f}{b['cpu_s']:9.2f}{b['peak_rss_mib']:14,.0f}"
        )
    print(f"{'kdbench prepare (cached)':24s}{cached['wall_s']:9.3f}")
    print(f"prepare / read_csv wall time: {report['slowdown_vs_pandas']:.2f}x")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
