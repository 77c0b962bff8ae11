"""`kdbench demo` end to end on the session's Ray runtime, shrunk to the ``ci`` space."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kdbench.bench.commands.demo import demo
from kdbench.bench.store import ResultStore

pytestmark = pytest.mark.ray


def test_demo_sweeps_without_early_stopping_and_builds_the_site(ray_runtime, ml100k, tmp_path) -> None:
    out = io.StringIO()
    result = demo(out=str(tmp_path / "d"), trials=3, space="ci", quiet=True, console=Console(file=out))
    sweep = result["sweep"]
    # No scheduler by default: every trial runs to the end and gets a leaderboard row.
    assert sweep["status"] == "completed" and sweep["trials"] == {"completed": 3}
    with ResultStore(f"sqlite:///{tmp_path / 'd' / 'results.db'}", create=False) as store:
        assert store.get_sweep(sweep["name"])["scheduler"]["name"] == "none"
        assert len(store.leaderboard()) == 3
    index = tmp_path / "d" / "site" / "index.html"
    assert result["index"] == index or str(result["index"]) == str(index)
    page = index.read_text()
    assert sweep["name"] in page and "Leaderboard" in page
    assert "3/3 report" in out.getvalue()
    # the first trial is the default configuration, and the demo says how its best compares with it
    assert sweep["default_number"] is not None
    said = out.getvalue()
    if sweep["best_number"] == sweep["default_number"]:
        assert f"the default configuration (trial {sweep['default_number']}) is the best trial" in said
    else:
        gain = sweep["best_student_test_auc"] - sweep["default_student_test_auc"]
        assert f"best: {gain:+.4f} test AUC over the default configuration" in said
    assert "vs default" in page
