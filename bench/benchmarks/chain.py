"""The whole ml-100k chain, kdbench against RecBole: ``python -m kdbench.bench.benchmarks.chain``.

Runs ``kdbench train --dataset ml-100k --no-teacher-cache`` (the recipe: CrossNet teacher, outer DAGFM
student, patience 5) and RecBole 1.2.1's ``KD_DAGFM`` with the same settings, alternately, ``--repeats``
times each, every run in a fresh process timed from spawn to exit, and prints each run's wall time, the
medians and their ratio. Each kdbench run is also broken down: interpreter start, imports, data load, model
and splits, = start-up to the first batch; the first step; each phase; latency and cost measurement; the
student artifact; the process's exit. ``--startup-only`` runs kdbench alone (``--max-epochs 1`` makes that
quick).

RecBole lives in a separate interpreter (``--recbole-python``), never in kdbench's environment, e.g.::

    python3 -m venv /tmp/recbole-venv
    /tmp/recbole-venv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    /tmp/recbole-venv/bin/pip install recbole==1.2.1 "numpy<2" "pandas<3" "scipy<1.14" "scikit-learn<1.6" \\
        "pyarrow<18" "ray<=2.6.3" "setuptools<81" tensorboard thop texttable tabulate colorlog==4.7.2 \\
        colorama==0.4.4
    python -m kdbench.bench.benchmarks.chain --recbole-python /tmp/recbole-venv/bin/python

(RecBole 1.2.1 predates NumPy 2 and pandas 3: pin them in its venv only; the ray it imports needs
``pkg_resources``, which setuptools 81 and later no longer ship.)

Without it (or when that interpreter cannot import recbole) the RecBole side is skipped with a line saying
so. RecBole's chain is its three ``run_recbole`` calls (teacher_training, distillation warm-started from the
teacher's checkpoint, finetuning from the student's) in one process, on the ml-100k atomic files its wheel
ships: rating 3 dropped, label rating >= 4, fields user_id, item_id, timestamp, age, gender, occupation,
zip_code, release_year (kdbench derives weekday and hour from the timestamp instead), random 8:1:1 split,
seed 2022, batch 1024, Adam lr 3e-3, weight decay 1e-3, at most 40 epochs a phase, early stopping on
validation AUC after 5 epochs without improvement, embedding 16, depth 3, alpha 0.1, beta 921.6. Both use
the same number of torch threads (``--threads``; default: kdbench's own default).
"""

from __future__ import annotations

PROCESS_START = __import__("time").perf_counter()  # before any other import: the child's clock starts here

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

__all__ = ["RECBOLE_SETTINGS", "first_batch", "main", "run_kdbench", "run_recbole", "startup_rows"]

HEAVY_MODULES = (
    "torch._dynamo", "sympy", "ray", "optuna", "plotly", "sqlalchemy", "sklearn", "scipy", "pandas",
    "pyarrow", "onnx", "onnxruntime",
)  # fmt: skip
_MARK = "KDBENCH_CHAIN "
_RECBOLE_MARK = "RECBOLE_CHAIN "

# RecBole's KD_DAGFM config mirroring the ml-100k recipe (module docstring), less the data path (inside
# RecBole's wheel), the epochs and the stopping step; the reference benchmark runs RecBole with it too.
RECBOLE_SETTINGS = {
    "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"],
                 "user": ["user_id", "age", "gender", "occupation", "zip_code"],
                 "item": ["item_id", "release_year"]},
    "val_interval": {"rating": "[0,3);(3,inf)"}, "threshold": {"rating": 4},
    "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "order": "RO", "group_by": None, "mode": "labeled"},
    "train_neg_sample_args": None, "metrics": ["AUC", "LogLoss"], "valid_metric": "AUC",
    "train_batch_size": 1024, "eval_batch_size": 4096,
    "learning_rate": 3e-3, "weight_decay": 1e-3, "seed": 2022, "reproducibility": True,
    "teacher": "CrossNet", "t_depth": 3, "type": "outer", "depth": 3, "embedding_size": 16,
    "alpha": 0.1, "beta": 921.6, "use_gpu": False, "show_progress": False, "state": "WARNING",
}  # fmt: skip

# RecBole's side, run by --recbole-python with argv: threads, max_epochs, patience, RECBOLE_SETTINGS as JSON.
# torch >= 2.6 loads checkpoints weights-only by default, which RecBole's (pickled config inside) cannot
# pass: TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 is set for it.
_RECBOLE_DRIVER = r"""
import glob, json, os, sys, tempfile, time, warnings
warnings.filterwarnings("ignore")
import torch
import recbole
from recbole.quick_start import run_recbole
threads, max_epochs, patience = (int(a) for a in sys.argv[1:4])
torch.set_num_threads(threads)
config = {
    "data_path": os.path.join(os.path.dirname(recbole.__file__), "dataset_example"),
    **json.loads(sys.argv[4]), "epochs": max_epochs, "stopping_step": patience,
}
phases, warm = {}, None
for phase in ("teacher_training", "distillation", "finetuning"):
    start = time.perf_counter()
    folder = os.path.join(os.getcwd(), "saved-" + phase)
    result = run_recbole(model="KD_DAGFM", dataset="ml-100k", config_dict={
        **config, "phase": phase, "checkpoint_dir": folder, **({"warm_up": warm} if warm else {})})
    warm = glob.glob(os.path.join(folder, "*.pth"))[0]
    phases[phase] = {"seconds": time.perf_counter() - start,
                     "test_auc": float(result["test_result"]["auc"])}
print(__MARK__ + json.dumps(phases), flush=True)
""".replace("__MARK__", repr(_RECBOLE_MARK))


# ---- kdbench ---------------------------------------------------------------------------------------------
def run_kdbench(train_argv: list[str]) -> dict[str, Any]:
    """Run ``kdbench TRAIN_ARGV`` in a fresh process; its wall time and the timed steps of its run."""
    command = [sys.executable, "-m", "kdbench.bench.benchmarks.chain", "--child", *train_argv]
    spawned, start = time.time(), time.perf_counter()
    child = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    lines = [line for line in child.stderr.splitlines() if line.startswith(_MARK)]
    if child.returncode or not lines:
        sys.exit(f"kdbench train failed (exit {child.returncode}):\n{child.stderr[-3000:]}")
    marks = json.loads(lines[-1][len(_MARK) :])
    marks["interpreter start"] = marks.pop("t0") - spawned
    marks["wall"] = wall
    return marks


def startup_rows(marks: dict[str, Any]) -> list[tuple[str, float]]:
    """(step, seconds) of one kdbench run, in order; they add up to the process's wall time. The teacher
    phase holds its optimizer's creation and the first step."""
    t0 = marks["interpreter start"]  # the child's clock counts from its first line; this came before
    at = {key: value + t0 for key, value in marks["at"].items()}  # seconds since the spawn
    phases = marks["phases"]
    latency, artifact = marks.get("latency", 0.0), marks.get("artifact", 0.0)
    rows = [
        ("interpreter start", t0),
        ("imports (torch, kdbench)", at["imports"] - t0),
        ("config, checks, until the data load", at["data load"] - at["imports"]),
        ("data load (cached)", at["data loaded"] - at["data load"]),
        ("model, splits", at["phases start"] - at["data loaded"]),
    ]
    rows += [(f"phase {name} ({p['epochs']} epochs)", p["seconds"]) for name, p in phases.items()]
    in_phases = sum(p["seconds"] for p in phases.values())
    rows += [
        ("latency and cost measurement", latency),
        ("student artifact", artifact),
        ("tables, the rest", at["end"] - at["phases start"] - in_phases - latency - artifact),
        ("interpreter exit", marks["wall"] - at["end"]),
    ]
    return rows


def first_batch(marks: dict[str, Any]) -> tuple[float, float, float]:
    """(wall seconds from the spawn to the first training batch, the process's CPU seconds until then, wall
    seconds of that first step: forward, backward, optimizer update) of one kdbench run. Start-up runs on one
    thread: on a shared machine its CPU time is what its wall time comes to on a quiet one."""
    at = marks["at"]
    wall = marks["interpreter start"] + at["first batch"]
    return wall, marks["cpu at the first batch"], at["second batch"] - at["first batch"]


def _child(train_argv: list[str]) -> int:
    """Run ``kdbench TRAIN_ARGV`` in this process, timing its steps, and print the times as one JSON line
    on stderr. The modules imported first are ones ``train`` imports before its first batch anyway."""
    import kdbench.bench.cli
    import kdbench.bench.data
    import kdbench.bench.trial
    import kdbench.models

    trial, data = kdbench.bench.trial, kdbench.bench.data

    def now() -> float:
        return time.perf_counter() - PROCESS_START

    marks: dict[str, Any] = {"t0": time.time() - now(), "at": {"imports": now()}, "phases": {}}
    at = marks["at"]

    def wrap(owner: Any, name: str, before: Any = None, after: Any = None) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = now()
            if before is not None:
                before(args, start)
            try:
                return original(*args, **kwargs)
            finally:
                if after is not None:
                    after(args, start, now() - start)

        setattr(owner, name, wrapper)

    def on_loss(args: Any, start: float) -> None:
        if "first batch" not in at:
            at["first batch"] = start
            marks["cpu at the first batch"] = time.process_time()  # this process's, since its exec
            marks["heavy at the first batch"] = [m for m in HEAVY_MODULES if m in sys.modules]
        else:
            at.setdefault("second batch", start)

    def on_phase_start(args: Any, start: float) -> None:
        at.setdefault("phases start", start)

    def on_phase(args: Any, start: float, took: float) -> None:
        trainer = args[0]
        epochs = sum(1 for e in trainer.epoch_log if e["phase"] == args[1])
        marks["phases"][args[1]] = {"seconds": took, "epochs": epochs}

    def add(key: str) -> Any:
        return lambda args, start, took: marks.__setitem__(key, marks.get(key, 0.0) + took)

    wrap(data, "open_dataset", lambda a, s: at.setdefault("data load", s), lambda a, s, t: at.setdefault(
        "data loaded", s + t))  # fmt: skip
    wrap(kdbench.models.KDDAGFM, "loss", on_loss)
    wrap(trial._PhaseTrainer, "run", on_phase_start, on_phase)
    wrap(trial, "_latencies", after=add("latency"))
    wrap(trial, "_keep_student", after=add("artifact"))
    sys.argv = ["kdbench", *train_argv]
    code = kdbench.bench.cli.main()  # as the program runs it (argv from sys.argv)
    at["end"] = now()
    marks["heavy at the end"] = [m for m in HEAVY_MODULES if m in sys.modules]
    print(_MARK + json.dumps(marks), file=sys.stderr, flush=True)
    return code


# ---- RecBole ---------------------------------------------------------------------------------------------
def recbole_version(python: str | None) -> tuple[str | None, str]:
    """(RecBole's version, "") when ``python`` can import recbole, else (None, why not)."""
    if not python:
        return None, "no --recbole-python given"
    try:
        probe = subprocess.run(
            [python, "-c", "import recbole; print(recbole.__version__)"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{python} cannot be run ({e})"
    if probe.returncode:
        last = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        return None, f"{python} cannot import recbole ({last})"
    return probe.stdout.strip(), ""


def run_recbole(python: str, threads: int, max_epochs: int, patience: int) -> dict[str, Any]:
    """RecBole's three KD_DAGFM phases in one fresh process (in a temporary folder: it writes logs and
    checkpoints under its working directory); its wall time and each phase's seconds and test AUC."""
    env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "OMP_NUM_THREADS": str(threads)}
    settings = json.dumps(RECBOLE_SETTINGS)
    command = [python, "-c", _RECBOLE_DRIVER, str(threads), str(max_epochs), str(patience), settings]
    with tempfile.TemporaryDirectory(prefix="kdbench-recbole-") as folder:
        start = time.perf_counter()
        child = subprocess.run(command, capture_output=True, text=True, cwd=folder, env=env)
        wall = time.perf_counter() - start
    lines = [line for line in child.stdout.splitlines() if line.startswith(_RECBOLE_MARK)]
    if child.returncode or not lines:
        sys.exit(f"RecBole failed (exit {child.returncode}):\n{child.stderr[-3000:]}")
    return {"wall": wall, "phases": json.loads(lines[-1][len(_RECBOLE_MARK) :])}


# ---- the side-by-side run ----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:  # the kdbench process this benchmark times
        sys.exit(_child(argv[1:]))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recbole-python", help="a Python with recbole==1.2.1 (not kdbench's environment)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, alternating (default: 3)")
    parser.add_argument("--max-epochs", type=int, default=40, help="cap per phase (the recipe's: 40)")
    parser.add_argument("--patience", type=int, default=5, help="early-stopping patience (the recipe's: 5)")
    parser.add_argument("--threads", type=int, help="torch threads of both (default: kdbench's default)")
    parser.add_argument("--startup-only", action="store_true", help="kdbench alone, no RecBole")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.max_epochs < 1 or args.patience < 1:
        parser.error("--repeats, --max-epochs and --patience must be >= 1")
    from kdbench.bench.trial import default_threads

    threads = args.threads or default_threads()
    version, why = (None, "--startup-only") if args.startup_only else recbole_version(args.recbole_python)
    # The data cache is prepared beforehand: every timed kdbench run loads the cached dataset, as every trial
    # of a sweep does (RecBole parses its atomic files each run: it keeps no cache by default).
    prepared = subprocess.run(
        [sys.executable, "-m", "kdbench", "data", "prepare", "ml-100k"], capture_output=True, text=True
    )
    if prepared.returncode:
        sys.exit(f"kdbench data prepare ml-100k failed:\n{prepared.stderr[-2000:]}")
    print(
        f"ml-100k chain, patience {args.patience}, at most {args.max_epochs} epochs a phase, {threads} torch "
        f"thread(s) each, {args.repeats} run(s) each, alternating; wall time from spawn to exit"
    )
    if version is None:
        print(f"RecBole: skipped ({why}; see this module's docstring for a RecBole venv)")
    else:
        print(f"RecBole {version}: {args.recbole_python}")
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    # The user's command as it stands: its student is kept under $KDBENCH_HOME/artifacts, the same file each
    # run (--artifacts DIR would import kdbench.bench.serve before the first batch to check the folder).
    train_argv = [
        "train", "--dataset", "ml-100k", "--no-teacher-cache", "--threads", str(threads),
        "--set", f"max_epochs={args.max_epochs}", "--set", f"patience={args.patience}",
    ]  # fmt: skip
    for i in range(args.repeats):
        ours.append(run_kdbench(train_argv))
        line = f"  run {i + 1}: kdbench {ours[-1]['wall']:6.2f} s"
        if version is not None:
            theirs.append(run_recbole(args.recbole_python, threads, args.max_epochs, args.patience))
            ratio = theirs[-1]["wall"] / ours[-1]["wall"]
            line += f"   RecBole {theirs[-1]['wall']:6.2f} s   ratio {ratio:.2f}"
        print(line, flush=True)
    _print_breakdown(ours)
    if theirs:
        _print_recbole(theirs)
        kd, rb = statistics.median(r["wall"] for r in ours), statistics.median(r["wall"] for r in theirs)
        pairs = [t["wall"] / o["wall"] for o, t in zip(ours, theirs, strict=True)]
        print(
            f"median wall time: kdbench {kd:.2f} s, RecBole {rb:.2f} s: kdbench {rb / kd:.2f}x faster "
            f"(per pair: {', '.join(f'{p:.2f}' for p in pairs)}; target >= 4.5x)"
        )


def _print_breakdown(runs: list[dict[str, Any]]) -> None:
    table = [startup_rows(marks) for marks in runs]
    print(f"kdbench train, where the time goes (median of {len(runs)}):")
    for i, (name, _) in enumerate(table[0]):
        seconds = statistics.median(rows[i][1] for rows in table)
        print(f"  {name:<42} {seconds:7.2f} s")
    print(f"  {'= process wall time':<42} {statistics.median(r['wall'] for r in runs):7.2f} s")
    wall, cpu, step = (statistics.median(f[i] for f in map(first_batch, runs)) for i in (0, 1, 2))
    print(f"  start-up to the first batch, from the spawn: {wall:.2f} s wall, {cpu:.2f} s CPU")
    print(f"  the first step (forward, backward, update):  {step:.3f} s")
    print(f"  heavy modules at the first batch: {', '.join(runs[0]['heavy at the first batch']) or 'none'}")
    print(f"  heavy modules at the end: {', '.join(runs[0]['heavy at the end']) or 'none'}")
    print("  targets (issue 14): start-up to the first batch <= 1.5 s; latency measurement <= 0.5 s")


def _print_recbole(runs: list[dict[str, Any]]) -> None:
    print(f"RecBole KD_DAGFM (median of {len(runs)}):")
    for name in runs[0]["phases"]:
        seconds = statistics.median(r["phases"][name]["seconds"] for r in runs)
        print(f"  phase {name:<35} {seconds:7.2f} s  test AUC {runs[0]['phases'][name]['test_auc']:.4f}")
    inside = statistics.median(sum(p["seconds"] for p in r["phases"].values()) for r in runs)
    wall = statistics.median(r["wall"] for r in runs)
    print(f"  {'start-up, imports and exit':<42} {wall - inside:7.2f} s")
    print(f"  {'= process wall time':<42} {wall:7.2f} s")


if __name__ == "__main__":
    main()
