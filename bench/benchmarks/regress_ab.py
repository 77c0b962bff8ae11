"""How well `kdbench regress ab` tells a change from noise: `python -m kdbench.bench.benchmarks.regress_ab`.

Clones the repository (this folder's git repository, at HEAD) into a work folder and commits two planted
changes on top of HEAD, each appended to ``models/__init__.py``:

- ``slow``: the student's forward (``DAGFM.forward`` in training, ``FoldedStudent.forward`` in inference)
  spins for 20 % of its own duration after each call, so it takes 1.2x as long;
- ``quality``: the ``user_id`` field is zeroed (index 0, the unknown token) in every input the model sees,
  training and inference (-0.0060 student test AUC over the smoke suite's five seeds).

Then runs ``kdbench regress ab --suite S`` ``--runs`` times for each scenario, every run a fresh process:
``same`` (HEAD against itself: any regression is a false alarm), ``slow`` and ``quality`` (HEAD against the
planted commit: a run that finds no regression of the planted kind missed it). ``--ratio N`` then times N
pairs of ``kdbench regress run --suite S`` and ``regress ab`` of HEAD against itself back to back (a shared
machine's load moves both of a pair alike), for the wall-time ratio of one A/B run to one run; the exported
trees are cached by then, so building is excluded.
Prints one line per run and a summary per scenario; writes every run's JSON summary to the work folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["PLANTS", "main"]

PLANTS = {
    "slow": """
import time as _time

from ._folded import FoldedStudent as _FoldedStudent


def _slowed(forward):
    def slowed(self, *args, **kwargs):
        start = _time.perf_counter()
        out = forward(self, *args, **kwargs)
        until = _time.perf_counter() + 0.2 * (_time.perf_counter() - start)
        while _time.perf_counter() < until:  # busy, as compute is: 1.2x the forward's time
            pass
        return out

    return slowed


DAGFM.forward = _slowed(DAGFM.forward)
_FoldedStudent.forward = _slowed(_FoldedStudent.forward)
""",
    "quality": """
_PLANTED_FIELD = 0  # user_id: index 0 is every field's unknown token
_predict, _loss = KDDAGFM.predict, KDDAGFM.loss


def _zeroed(x):
    x = x.clone()
    x[:, _PLANTED_FIELD] = 0
    return x


KDDAGFM.predict = lambda self, x, phase, dense=None: _predict(self, _zeroed(x), phase, dense)
KDDAGFM.loss = lambda self, batch, phase, *a, **kw: _loss(self, (_zeroed(batch[0]), batch[1]), phase, *a,
                                                          **kw)
""",
}
# What a run must flag for its scenario to count as caught (the figures the plant moves).
EXPECTED = {"slow": ("student_latency", "train_throughput"), "quality": ("student_test_auc",)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="A/B runs per scenario (default 3)")
    parser.add_argument("--suite", default="smoke", help="the suite (default smoke)")
    parser.add_argument("--scenarios", default="same,slow,quality", help="comma-separated (default: all)")
    parser.add_argument(
        "--ratio", type=int, default=0, metavar="N", help="then time N (run, ab) pairs for the ab/run ratio"
    )
    parser.add_argument("--work", help="the work folder (default: a new temporary folder)")
    parser.add_argument("--repo", default=".", help="a folder in the repository to clone (default: this one)")
    args = parser.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="regress-ab-bench-"))
    repo = _fixture_repo(Path(args.repo), work)
    heads = {"same": "base", "slow": "slow", "quality": "quality"}
    scenarios = [s.strip() for s in args.scenarios.split(",")]
    print(f"work folder {work}; suite {args.suite}; {args.runs} run(s) per scenario", flush=True)
    results: dict[str, list[dict]] = {}
    for scenario in scenarios:
        for i in range(args.runs):
            out = work / f"{scenario}-{i}.json"
            code, wall = _kdbench(_ab_argv(repo, heads[scenario], args.suite, out))
            summary = json.loads(out.read_text()) if out.is_file() else {}
            flagged = sorted(f"{r['figure']} ({_change(r, summary)})" for r in summary.get("regressions", []))
            results.setdefault(scenario, []).append({"exit": code, "wall": wall, "flagged": flagged,
                                                     "summary": summary})  # fmt: skip
            named = ", ".join(flagged) or "-"
            print(f"{scenario} run {i + 1}: exit {code}, {wall:.0f} s, regressed: {named}", flush=True)
    pairs = [_timed_pair(args.suite, repo, work / f"pair-{i}") for i in range(args.ratio)]
    print()
    for scenario, runs in results.items():
        print(_scenario_line(scenario, runs))
    if pairs:
        ratios = [ab / run for run, ab in pairs]
        shown = ", ".join(f"{run:.0f} s / {ab:.0f} s" for run, ab in pairs)
        print(f"wall time (regress run / regress ab, cached trees): {shown}; ab/run ratio median "
              f"{statistics.median(ratios):.2f}, max {max(ratios):.2f}")  # fmt: skip
    return 0


def _fixture_repo(folder: Path, work: Path) -> Path:
    """A clone of ``folder``'s repository at HEAD with branches ``base`` (HEAD), ``slow`` and ``quality``."""
    source = _git(folder, "rev-parse", "--show-toplevel")
    repo = work / "repo"
    subprocess.run(["git", "clone", "-q", source, str(repo)], check=True)
    _git(repo, "checkout", "-q", "-b", "base")
    for name, code in PLANTS.items():
        _git(repo, "checkout", "-q", "-b", name, "base")
        with (repo / "models" / "__init__.py").open("a") as f:
            f.write(code)
        _git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-am",
             f"planted: {name}")  # fmt: skip
    _git(repo, "checkout", "-q", "base")
    return repo


def _timed_pair(suite: str, repo: Path, out: Path) -> tuple[float, float]:
    """Wall seconds of one ``regress run`` and, right after it, one ``regress ab`` of HEAD against itself."""
    _, run = _kdbench(["regress", "run", "--suite", suite, "--quiet", "--json", f"{out}-run.json"])
    _, ab = _kdbench(_ab_argv(repo, "base", suite, Path(f"{out}-ab.json")))
    print(f"regress run {run:.0f} s, regress ab {ab:.0f} s: ratio {ab / run:.2f}", flush=True)
    return run, ab


def _ab_argv(repo: Path, head: str, suite: str, out: Path) -> list[str]:
    ab = ["regress", "ab", "--repo", str(repo), "--base", "base", "--head", head]
    return [*ab, "--suite", suite, "--quiet", "--json", str(out)]


def _kdbench(argv: list[str]) -> tuple[int, float]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kdbench", *argv], capture_output=True, text=True)
    if done.returncode == 2:
        print(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "exit 2", flush=True)
    return done.returncode, time.perf_counter() - start


def _change(row: dict, summary: dict) -> str:
    key = (row["case"], row["figure"])
    full = next(r for r in summary.get("rows", []) if (r["case"], r["figure"]) == key)
    change = full["change"]
    return f"{change:+.4f}" if full["kind"] == "quality" else f"{100 * change:+.1f} %"


def _scenario_line(scenario: str, runs: list[dict]) -> str:
    codes = [r["exit"] for r in runs]
    if scenario == "same":
        clean = sum(r["exit"] == 0 for r in runs)
        return f"same (HEAD vs HEAD): {clean} of {len(runs)} runs without a regression (exit codes {codes})"
    expected = EXPECTED[scenario]
    caught = sum(r["exit"] == 1 and any(f.split()[0] in expected for f in r["flagged"]) for r in runs)
    wanted = ", ".join(expected)
    return f"{scenario}: caught in {caught} of {len(runs)} runs (exit codes {codes}; expected {wanted})"


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return out.stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())
