"""Regression pages: generic tables over whatever keys the cases hold."""

from __future__ import annotations

from pathlib import Path

from reports._regression import case_columns, verdict_class


def test_case_columns_put_the_usual_keys_first():
    cases = [
        {"extra": 1, "verdict": "ok", "case": "a", "now": 1.0, "values": [0.8, 0.81]},
        {"baseline": 2.0, "other": "x", "case": "b", "values": None},
    ]
    assert case_columns(cases) == (["case", "baseline", "now", "verdict", "extra", "other"], ["values"])


def test_verdicts():
    assert [verdict_class(v) for v in ("regression", "FAIL", "ok", "improved", "noise", None)] == [
        "bad",
        "bad",
        "good",
        "good",
        "neutral",
        "neutral",
    ]


def test_regression_pages(site: Path):
    index = (site / "regressions" / "index.html").read_text()
    assert "smoke" in index and "v0.1" in index and 'class="verdict bad"' in index
    page = (site / "regressions" / "1.html").read_text()
    for text in (
        "crossnet-outer",
        "student_test_auc",
        "0.8123",
        "-0.0022",
        "p_value",
        "bench/baselines/smoke.json",
    ):
        assert text in page
    assert page.count('<td class="verdict bad">regression</td>') == 1
    assert "<summary>values, baseline_values</summary>" in page and "0.8099" in page  # nested: in details
    assert "<th>values</th>" not in page
