"""``kdbench regress history`` and the history page over a store of synthetic runs: a planted slow drift is
a change point, listed with the commits it happened between; flat noisy figures have none."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from kdbench.bench.cli import main
from kdbench.bench.store import ResultStore
from kdbench.reports import regression_change_points
from kdbench.reports._regression_history import render_regression_history

FLAT, DRIFTING = 10, 20  # runs before the drift, and runs over which it drifts


def _row(figure: str, kind: str, now: float) -> dict:
    return {
        "case": "ml100k", "figure": figure, "kind": kind, "unit": "AUC" if kind == "quality" else "ratio",
        "higher_is_better": True, "now": now, "values": [now], "verdict": "same", "baseline": None,
        "threshold": None, "change": None,
    }  # fmt: skip


@pytest.fixture(scope="module")
def drift_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """30 runs of suite ``smoke``, one a commit (sha ``c00..``, ``c01..``, ...): the student AUC is flat for
    10 commits, then drifts -0.0005 a commit for 20 (noise 0.0005); teacher AUC and throughput stay flat."""
    url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'runs.db'}"
    rng = np.random.default_rng(11)
    drift = np.r_[np.zeros(FLAT), -0.0005 * np.arange(1, DRIFTING + 1)]
    with ResultStore(url) as store:
        for commit in range(FLAT + DRIFTING):
            env = store.record_environment({"git_sha": f"c{commit:02d}" + "0" * 38, "git_dirty": False})
            rows = [
                _row("student_test_auc", "quality", 0.85 + drift[commit] + rng.normal(0, 0.0005)),
                _row("teacher_test_auc", "quality", 0.86 + rng.normal(0, 0.0005)),
                _row("train_throughput", "speed", 900.0 * np.exp(rng.normal(0, 0.05))),
            ]
            store.record_regression_run("smoke", environment_id=env, summary={}, cases=rows)
        other = store.record_environment({"git_sha": "f" * 40, "git_dirty": False})
        store.record_regression_run(
            "other", environment_id=other, summary={}, cases=[_row("x", "quality", 1)]
        )
    return url


def test_the_drift_is_a_change_point_between_drifting_commits(drift_db: str) -> None:
    with ResultStore(drift_db, create=False) as store:
        steps = regression_change_points(store, "smoke")
    assert len(steps) >= 1 and set(steps["figure"]) == {"student_test_auc"}  # the flat figures: none
    assert set(steps["direction"]) == {"worse"}
    for step in steps.itertuples():
        # run ids are 1..30 in commit order; the drift starts at commit 10, i.e. run 11
        assert FLAT + 1 <= step.run_before < step.run_after <= FLAT + DRIFTING
        assert step.git_sha_after.startswith(f"c{step.run_after - 1:02d}")
        assert step.change.startswith("-0.00")


def test_regress_history_lists_the_change_points(drift_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["regress", "history", "--db", drift_db, "--suite", "smoke"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "student_test_auc" in line]
    assert lines and all("worse" in line and re.search(r"c\d\d0{7}\.\.c\d\d0{7} ", line) for line in lines)
    assert "teacher_test_auc" not in out and "train_throughput" not in out
    assert re.search(r"\d+ change point\(s\), \d+ for the worse$", out.strip())


def test_the_history_page_marks_and_lists_the_change_points(drift_db: str) -> None:
    with ResultStore(drift_db, create=False) as store:
        _, html = render_regression_history(store.regression_runs(), store.regression_cases())
    smoke = html[html.index("smoke</span> · ml100k") :]
    table = smoke[: smoke.index("</table>")]
    assert table.count("<tr>") - 1 == table.count("student test AUC") >= 1  # one row per change point
    assert '<td class="verdict bad">worse</td>' in table
    assert '"name":"change point"' in html and '"name":"fitted level (change points)"' in html
    other = html[html.index("other</span> · ml100k") :]
    assert "No change points" in other[: other.index("</section>")]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--suite", "standard"], "no runs of suite 'standard'"),
        ([], None),
    ],
)
def test_regress_history_refuses_what_it_cannot_list(
    argv: list[str], message: str | None, drift_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    ResultStore(empty).close()
    db, expected = (drift_db, message) if message else (empty, "no regression runs in")
    assert main(["regress", "history", "--db", db, *argv]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("kdbench: error: ") and expected in line
    if message:
        assert "its suites are other, smoke" in line
