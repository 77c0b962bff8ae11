"""The side-by-side chain benchmark: RecBole is optional (skipped with a reason), and its breakdown of a
kdbench run adds up to the run's wall time. No timings are asserted."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from kdbench.bench.benchmarks.chain import first_batch, recbole_version, startup_rows


def test_recbole_is_skipped_with_a_reason_when_no_python_is_given() -> None:
    assert recbole_version(None) == (None, "no --recbole-python given")


def test_recbole_is_skipped_when_that_python_lacks_it_or_cannot_run(tmp_path) -> None:
    if importlib.util.find_spec("recbole") is not None:  # kdbench's own environment should not hold it
        pytest.skip("recbole is importable in this interpreter")
    version, why = recbole_version(sys.executable)
    assert version is None and "cannot import recbole" in why and sys.executable in why
    missing = str(tmp_path / "no such dir é" / "python")
    version, why = recbole_version(missing)
    assert version is None and "cannot be run" in why and missing in why


def test_the_breakdown_of_a_run_adds_up_to_its_wall_time() -> None:
    marks = {
        "interpreter start": 0.05,
        "wall": 20.0,
        "at": {"imports": 1.2, "data load": 1.3, "data loaded": 1.35, "phases start": 1.4,
               "first batch": 1.41, "second batch": 1.43, "end": 19.5},
        "phases": {"teacher_training": {"seconds": 12.0, "epochs": 27},
                   "distillation": {"seconds": 3.0, "epochs": 12},
                   "finetuning": {"seconds": 2.0, "epochs": 7}},
        "latency": 0.3,
        "artifact": 0.02,
        "cpu at the first batch": 1.3,
    }  # fmt: skip
    rows = dict(startup_rows(marks))
    assert sum(rows.values()) == pytest.approx(20.0)
    assert rows["interpreter exit"] == pytest.approx(20.0 - 19.55)
    assert rows["phase teacher_training (27 epochs)"] == 12.0
    assert first_batch(marks) == pytest.approx((1.46, 1.3, 0.02))
