"""The reference benchmark's pure parts: the kdbench runs it asks for and the table it prints."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

from kdbench.bench.benchmarks.reference import (
    FUXICTR_EMBEDDING_INIT,
    FUXICTR_SHARED,
    SHARED,
    TEACHERS,
    kdbench_args,
    one_cpu,
    summarise,
    table_lines,
)
from kdbench.bench.config import parse_overrides
from kdbench.bench.recipes import build_config


def _train_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("--dataset")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--threads", type=int)
    parser.add_argument("--json")
    for flag in ("--no-recipe", "--no-teacher-cache", "--no-baseline", "--no-artifacts", "--quiet"):
        parser.add_argument(flag, action="store_true")
    return parser.parse_args(argv)


@pytest.mark.parametrize(
    "config",
    [
        {**SHARED, "seed": 1},
        *({**FUXICTR_SHARED, **teacher, "seed": 2, "finetune": False} for teacher in TEACHERS.values()),
        # --fuxictr-init: kdbench's table starts as FuxiCTR's
        {**FUXICTR_SHARED, **TEACHERS["DNN"], "embedding_init_std": FUXICTR_EMBEDDING_INIT, "seed": 2},
    ],
)
def test_kdbench_args_set_exactly_the_config(config):
    args = _train_args(kdbench_args("ml-100k-recbole", config, "out.json"))
    assert args.command == "train" and args.dataset == "ml-100k-recbole" and args.json == "out.json"
    assert args.threads == 1 and args.no_recipe and args.no_teacher_cache and args.no_baseline
    built = build_config(None, parse_overrides(args.overrides)).to_dict()  # what `kdbench train` builds
    for key, value in config.items():
        assert built[key] == value, key


def test_recbole_settings_are_the_chain_benchmarks():
    # chain.py's RecBole config; patience 6 = RecBole's stopping_step 5 (it stops when cur_step > 5)
    assert SHARED == {
        "teacher": "crossnet", "t_depth": 3, "interaction": "outer", "depth": 3, "embedding_size": 16,
        "alpha": 0.1, "beta": 921.6, "lr": 3e-3, "weight_decay": 1e-3, "batch_size": 1024,
        "max_epochs": 40, "patience": 6,
    }  # fmt: skip


def test_summarise():
    assert summarise([0.5]) == (0.5, 0.0)
    mean, std = summarise([0.86, 0.87, 0.88])
    assert mean == pytest.approx(0.87) and std == pytest.approx(0.01)


def test_table_lines():
    rows = [
        (
            "DNN",
            {"auc": [0.80, 0.82], "params": 379_201, "samples_per_s": [100.0, 300.0, 200.0]},
            {"auc": [0.81, 0.81], "params": 379_201, "samples_per_s": [50.0]},
        ),
        ("KD_DAGFM teacher", {"auc": [0.87], "params": None}, {"auc": [0.8642], "params": 38_081}),
    ]
    header, rule, dnn, teacher = table_lines(rows)
    assert [c.strip() for c in header.split("|")] == [
        "model", "kdbench AUC", "reference AUC", "diff", "params (kd / ref)", "samples/s (kd / ref)",
    ]  # fmt: skip
    assert set(rule) <= {"-", "+"}
    assert [c.strip() for c in dnn.split("|")] == [
        "DNN", "0.8100 ± 0.0141", "0.8100 ± 0.0000", "+0.0000", "379,201 / 379,201", "200 / 50",
    ]  # fmt: skip
    cells = [c.strip() for c in teacher.split("|")]
    assert cells[3] == "+0.0058"  # the difference of the means
    assert cells[4:] == ["- / 38,081", "- / -"]  # not measured
    assert len({len(line) for line in (header, rule, dnn, teacher)}) == 1  # columns line up


def test_unknown_teacher_is_refused_before_any_run(capsys):
    from kdbench.bench.benchmarks.reference import main

    with pytest.raises(SystemExit) as excinfo:
        main(["--fuxictr-python", "/nonexistent/python", "--teachers", "DNN,Wide&Deep"])
    assert excinfo.value.code == 2
    assert "unknown teacher(s) Wide&Deep" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")
def test_each_side_runs_on_one_cpu_with_every_process_it_starts():
    # The child starts a grandchild (as FuxiCTR starts Ray's data workers): both may use only the last CPU.
    grandchild = "import os; print(sorted(os.sched_getaffinity(0)))"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, preexec_fn=one_cpu(), check=True
    )
    assert done.stdout.strip() == str([max(os.sched_getaffinity(0))])
