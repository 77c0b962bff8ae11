"""The run's faces for CI systems: the Markdown summary (rendered as a job page or pull-request comment
renders it) and the JUnit XML (validated against the schema Jenkins' xunit plugin reads)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from markdown_it import MarkdownIt

from kdbench.bench.regress import (
    Baseline,
    CaseMeasurement,
    SuiteMeasurement,
    failed_junit,
    failed_markdown,
    run_junit,
    run_markdown,
    run_summary,
    verdict_rows,
)
from tests.regress._junit_schema import schema_problems


def _case(name: str, auc: list[float], throughput: list[float], family: str = "f1") -> CaseMeasurement:
    return CaseMeasurement(
        name=name, dataset="ml-100k", dataset_fingerprint="fp", config={}, config_family=family,
        seeds=[0, 1, 2], figures={"student_test_auc": auc, "train_throughput": throughput,
                                  "peak_memory": [10.0, 11.0, 10.5]},
        raw={}, reference_ms=[1.0, 1.0, 1.0], wall_seconds=3.0,
    )  # fmt: skip


def _suite(*cases: CaseMeasurement) -> SuiteMeasurement:
    return SuiteMeasurement("smoke", "h", "cpu", 1, list(cases), wall_seconds=12.5)


@pytest.fixture
def compared() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A run with every kind of row: a quality regression (in a case whose name has Markdown's and XML's own
    characters), an unchanged figure, memory as information, a case the baseline lacks and one it ran with
    another config."""
    weird = "crossnet|<b>&_*"
    base = _suite(
        _case(weird, [0.850, 0.851, 0.852], [100.0, 101.0, 99.0]),
        _case("other-config", [0.80, 0.81, 0.80], [100.0, 100.0, 100.0], family="f0"),
    )
    now = _suite(
        _case(weird, [0.840, 0.841, 0.842], [100.0, 100.5, 99.5]),
        _case("other-config", [0.80, 0.81, 0.80], [100.0, 100.0, 100.0]),
        _case("brand-new", [0.70, 0.71, 0.72], [50.0, 51.0, 52.0]),
    )
    baseline = Baseline("bench/baselines/smoke.json", base, None, "a" * 40)
    rows = verdict_rows(now, baseline)
    return run_summary(now, rows, baseline), rows


def _table(markdown: str) -> tuple[list[str], list[list[str]]]:
    """The rendered HTML table's header cells and body rows (cell texts), as a reader sees them."""
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    table = ET.fromstring(html[html.index("<table>") : html.index("</table>") + len("</table>")])
    header = ["".join(th.itertext()) for th in table.iter("th")]
    body = [["".join(td.itertext()) for td in tr.iter("td")] for tr in table.find("tbody")]
    return header, body


def test_the_markdown_table_renders_with_regressions_first(compared: tuple[dict, list]) -> None:
    summary, rows = compared
    markdown = run_markdown(summary, rows, title="smoke vs main", labels=("base", "head"), about="two shas")
    header, body = _table(markdown)
    assert header == ["case", "figure", "base", "head", "change", "noise threshold", "verdict"]
    assert len(body) == len(rows) == 9
    first = body[0]
    assert first[:2] == ["crossnet|<b>&_*", "student_test_auc"]  # escaped: one cell, shown as written
    assert first[2:5] == ["0.8510", "0.8410", "-0.0100 (worse)"] and first[6] == "regressed"
    assert first[5] == "±0.0020"  # twice the seeds' pooled standard deviation beat the 0.001 floor
    verdicts = [row[6] for row in body]
    assert verdicts.count("regressed") == 1 and set(verdicts[1:]) == {"same", "info", "new", "incomparable"}
    memory = next(row for row in body if row[1] == "peak_memory" and row[6] == "info")
    assert memory[5] == "-"  # information is never judged: no threshold to show
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<strong>REGRESSION in crossnet|&lt;b&gt;&amp;_* student_test_auc (-0.0100)</strong>" in html
    assert "not compared: other-config: the baseline ran another config" in html


def test_a_failed_run_has_a_markdown_summary_that_says_why() -> None:
    html = MarkdownIt("commonmark").render(failed_markdown("smoke", "case a, seed 0 failed: | boom"))
    assert (
        "<h3>smoke</h3>" in html and "<strong>the run failed</strong>: case a, seed 0 failed: | boom" in html
    )


def test_the_junit_report_follows_the_schema_and_maps_verdicts(compared: tuple[dict, list]) -> None:
    summary, rows = compared
    document = run_junit(summary, rows, properties={"base_git_sha": "a" * 40, "exit_status": 1})
    assert schema_problems(document) == []
    root = ET.fromstring(document)
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "kdbench regress smoke"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "9", "1", "0", "6",
    )  # fmt: skip
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("9", "1", "0")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    failure = cases[("smoke.crossnet|<b>&_*", "student_test_auc")].find("failure")
    assert failure.get("type") == "regression"
    assert failure.get("message").startswith("crossnet|<b>&_* student_test_auc regressed: -0.0100")
    assert cases[("smoke.brand-new", "student_test_auc")].find("skipped").get("message").startswith("new:")
    skipped = cases[("smoke.other-config", "train_throughput")].find("skipped").get("message")
    assert skipped.startswith("incomparable: the baseline ran another config")
    passed = cases[("smoke.crossnet|<b>&_*", "train_throughput")]
    assert passed.find("failure") is None and passed.find("system-out").text.startswith("same: baseline")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"base_git_sha": "a" * 40, "exit_status": "1"}


def test_a_failed_run_is_one_junit_error() -> None:
    document = failed_junit("smoke", "case a, seed 0 failed: RuntimeError: <boom>")
    assert schema_problems(document) == []
    suite = ET.fromstring(document).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "1")
    error = suite.find("testcase/error")
    assert error.get("message") == "case a, seed 0 failed: RuntimeError: <boom>"


def test_the_schema_check_refuses_what_the_schema_refuses() -> None:
    """The checker is not a rubber stamp: each broken document is caught, naming what is wrong."""

    def wrap(attributes: str = "", content: str = "") -> str:
        suite = f'<testsuite name="s" tests="1" failures="0" errors="0"{attributes}>{content}</testsuite>'
        return f"<testsuites>{suite}</testsuites>"

    assert schema_problems(wrap(content='<testcase name="t"/>').encode()) == []
    broken = {
        wrap().replace(' errors="0"', ""): "required attribute 'errors'",
        wrap(' time="1.5s"'): "'1.5s' is not a SUREFIRE_TIME",
        '<testsuites><testcase name="t"/></testsuites>': "<testcase> is not allowed in <testsuites>",
        wrap(' verdict="x"'): "attribute 'verdict' is not declared",
        wrap(content="text"): "text is not allowed",
        "<results/>": "<results> is not declared",
    }
    for document, problem in broken.items():
        problems = schema_problems(document.encode())
        assert len(problems) == 1 and problem in problems[0], (document, problems)
