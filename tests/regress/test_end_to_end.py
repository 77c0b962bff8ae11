"""The tiny suite end to end through ``kdbench regress``: planted regressions exit 1 naming the case, the
unplanted run exits 0, a failed run exits 2 with one line; runs are recorded and serve as baselines."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from kdbench.bench.cli import main
from kdbench.bench.regress import IMPROVED, INFO, SAME, read_baseline_file, resolve_baseline
from kdbench.bench.store import ResultStore
from kdbench.models import KDDAGFM

CASE = "tiny-crossnet-inner"
ORIGINAL_LOSS = KDDAGFM.loss


@pytest.fixture(scope="module")
def baseline_file(tiny_suite: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baseline") / "tiny.json"
    assert main(["regress", "baseline", "--suite", str(tiny_suite), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def clean_run(
    tiny_suite: Path, baseline_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The unplanted run, compared with the baseline file and recorded with the tag ``clean``."""
    folder = tmp_path_factory.mktemp("clean")
    db, summary = f"sqlite:///{folder / 'results.db'}", folder / "run.json"
    code = main([
        "regress", "run", "--suite", str(tiny_suite), "--baseline", str(baseline_file), "--db", db,
        "--tag", "clean", "--json", str(summary), "--quiet", "--artifacts", str(folder / "students"),
        "--markdown", str(folder / "summary.md"), "--junit", str(folder / "report.xml"),
    ])  # fmt: skip
    return {
        "code": code,
        "db": db,
        "summary": json.loads(summary.read_text()),
        "students": folder / "students",
        "markdown": (folder / "summary.md").read_text(),
        "junit": (folder / "report.xml").read_bytes(),
    }


def test_the_unplanted_run_passes(clean_run: dict[str, Any]) -> None:
    assert clean_run["code"] == 0
    summary = clean_run["summary"]
    assert summary["status"] == "passed" and summary["regressions"] == []
    verdicts = {(r["figure"], r["verdict"]) for r in summary["rows"]}
    # Deterministic trials on one machine: the quality figures are identical, not merely close.
    quality = {f: v for f, v in verdicts if f.endswith(("_auc", "_logloss"))}
    assert set(quality.values()) == {SAME} and len(quality) == 4
    assert {v for _, v in verdicts} <= {SAME, IMPROVED, INFO}


def test_the_unplanted_run_writes_its_ci_summaries(clean_run: dict[str, Any], baseline_file: Path) -> None:
    from tests.regress._junit_schema import schema_problems

    assert schema_problems(clean_run["junit"]) == []
    cases = list(ET.fromstring(clean_run["junit"]).iter("testcase"))
    assert len(cases) == 8 and not any(c.find("failure") is not None or c.find("error") is not None
                                       for c in cases)  # fmt: skip
    markdown = clean_run["markdown"]
    assert "| case | figure | baseline | now | change | noise threshold | verdict |" in markdown
    assert f"compared with baseline {baseline_file}" in markdown
    assert markdown.strip().splitlines()[-1].startswith("**no regression: ")


def test_each_seed_keeps_its_student_where_artifacts_says(clean_run: dict[str, Any]) -> None:
    from kdbench.bench.serve import load_artifact

    kept = sorted(clean_run["students"].glob("student-*.pt"))
    assert len(kept) == 3  # the tiny suite's three seeds
    seeds = sorted(load_artifact(path)["config"]["seed"] for path in kept)
    assert seeds == [0, 1, 2]


def test_the_run_is_recorded_with_its_rows(clean_run: dict[str, Any], baseline_file: Path) -> None:
    with ResultStore(clean_run["db"], create=False) as store:
        run = store.regression_run("clean")
    assert run["suite"] == "tiny" and run["tag"] == "clean" and run["baseline"] == str(baseline_file)
    assert run["environment"]["python"] and run["summary"]["status"] == "passed"
    assert len(run["cases"]) == 8
    for row in run["cases"]:
        assert row["case"] == CASE and len(row["values"]) == 3 and row["seeds"] == [0, 1, 2]
        assert {"figure", "baseline", "now", "change", "verdict", "p_value", "unit"} <= set(row)


def test_a_crippled_student_exits_1_naming_the_case(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_suite: Path,
    clean_run: dict[str, Any],
) -> None:
    def crippled(self: KDDAGFM, batch: Any, phase: str, alpha: float, beta: float, **kw: Any) -> Any:
        loss = ORIGINAL_LOSS(self, batch, phase, alpha, beta, **kw)
        return loss if phase == "teacher_training" else loss * 0.0  # the student never learns

    monkeypatch.setattr(KDDAGFM, "loss", crippled)
    # Against the stored unplanted run, by its tag.
    code = main(["regress", "run", "--suite", str(tiny_suite), "--baseline", "clean", "--db", clean_run["db"],
                 "--quiet"])  # fmt: skip
    assert code == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert f"REGRESSION in {CASE} student_test_auc" in last
    assert "teacher_test_auc" not in last  # the teacher is untouched


def test_a_slowed_training_step_exits_1_naming_the_throughput(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny_suite: Path, baseline_file: Path
) -> None:
    def slowed(self: KDDAGFM, batch: Any, phase: str, alpha: float, beta: float, **kw: Any) -> Any:
        time.sleep(0.004)  # a few times the step's own cost
        return ORIGINAL_LOSS(self, batch, phase, alpha, beta, **kw)

    monkeypatch.setattr(KDDAGFM, "loss", slowed)
    code = main(["regress", "run", "--suite", str(tiny_suite), "--baseline", str(baseline_file), "--quiet"])
    assert code == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert f"REGRESSION in {CASE} train_throughput" in last
    assert "_auc" not in last and "_logloss" not in last  # the same numbers, only slower


def test_a_stored_run_becomes_a_baseline_file(clean_run: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "from_run.json"
    assert main(["regress", "baseline", "--from", "clean", "--db", clean_run["db"], "--out", str(out)]) == 0
    with ResultStore(clean_run["db"], create=False) as store:
        stored = resolve_baseline("clean", store)
    written = read_baseline_file(out)
    assert written.measurement == stored.measurement and written.git_sha == stored.git_sha


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("bad_suite", "unknown key(s) repeat"),
        ("missing_baseline", "baseline file"),
        ("stored_ref_without_db", "give --db URL"),
        ("baseline_from_without_db", "give --db URL"),
        ("second_case_data_missing", "case second:"),
        ("json_in_missing_folder", "--json"),
        ("junit_in_missing_folder", "--junit"),
        ("baseline_out_is_a_folder", "--out"),
    ],
)
def test_a_bad_argument_exits_2_with_one_line_before_any_training(
    setup: str, message: str, tiny_suite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_suite.read_text() + "repeat: 2\n")
    second = tmp_path / "second.yaml"  # its first case is fine: it must not train before the second fails
    second.write_text(
        tiny_suite.read_text().replace("path: clicks.csv", f"path: {tiny_suite.parent / 'clicks.csv'}")
        .replace("schema: schema.yaml", f"schema: {tiny_suite.parent / 'schema.yaml'}")
        + "  - name: second\n    dataset: {source: csv, path: gone.csv, schema: schema.yaml}\n"
    )  # fmt: skip
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    argv = {
        "bad_suite": ["regress", "run", "--suite", str(bad)],
        "missing_baseline": [
            "regress",
            "run",
            "--suite",
            str(tiny_suite),
            "--baseline",
            str(tmp_path / "x.json"),
        ],
        "stored_ref_without_db": ["regress", "run", "--suite", str(tiny_suite), "--baseline", "main"],
        "baseline_from_without_db": ["regress", "baseline", "--from", "3", "--out", str(tmp_path / "b.json")],
        "second_case_data_missing": ["regress", "run", "--suite", str(second), "--db", fresh],
        "json_in_missing_folder": [
            "regress", "run", "--suite", str(tiny_suite), "--json", str(tmp_path / "no" / "s.json"),
        ],
        "junit_in_missing_folder": [
            "regress", "run", "--suite", str(tiny_suite), "--markdown", str(tmp_path / "s.md"),
            "--junit", str(tmp_path / "no" / "r.xml"),
        ],
        "baseline_out_is_a_folder": [
            "regress", "baseline", "--suite", str(tiny_suite), "--out", str(tmp_path),
        ],
    }[setup]  # fmt: skip
    before = sorted(tmp_path.rglob("*"))
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # failed before running anything
    assert sorted(tmp_path.rglob("*")) == before  # and wrote nothing (no fresh.db, no folder)
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("kdbench: error: ") and message in line


@pytest.mark.parametrize("failure", ["nan", "crash"])
def test_a_failing_trial_exits_2_not_1(
    failure: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_suite: Path,
    tmp_path: Path,
) -> None:
    def broken(self: KDDAGFM, batch: Any, phase: str, alpha: float, beta: float, **kw: Any) -> Any:
        if failure == "crash":
            raise RuntimeError("planted crash")
        return ORIGINAL_LOSS(self, batch, phase, alpha, beta, **kw) * float("nan")

    monkeypatch.setattr(KDDAGFM, "loss", broken)
    junit, markdown = tmp_path / "report.xml", tmp_path / "summary.md"
    argv = ["regress", "run", "--suite", str(tiny_suite), "--quiet", "--junit", str(junit), "--markdown",
            str(markdown)]  # fmt: skip
    assert main(argv) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert f"case {CASE}, seed 0 failed" in line
    # CI still shows why: the JUnit report has the run as an error, the summary says it failed
    (error,) = ET.parse(junit).getroot().iter("error")
    assert f"case {CASE}, seed 0 failed" in error.get("message")
    assert "**the run failed**" in markdown.read_text()
    assert (
        "TrialError: non-finite training loss" if failure == "nan" else "RuntimeError: planted crash"
    ) in line


def test_a_stale_baseline_that_matches_no_case_exits_2(
    tiny_suite: Path, baseline_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = json.loads(baseline_file.read_text())
    payload["measurement"]["cases"][0]["config_family"] = "0" * 16  # as if the suite's config had changed
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(payload))
    assert main(["regress", "run", "--suite", str(tiny_suite), "--baseline", str(stale), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before any training
    (line,) = captured.err.strip().splitlines()
    assert "has no case comparable with suite tiny" in line and "kdbench regress baseline" in line


def test_the_report_shows_each_figure_in_human_terms_and_its_history(
    monkeypatch: pytest.MonkeyPatch, tiny_suite: Path, tmp_path: Path
) -> None:
    """A clean run and a planted regression in one store: the run pages speak in % changes and noise
    thresholds, the history page draws every figure over both runs with the regression marked."""
    from kdbench.reports import build_site

    def crippled(self: KDDAGFM, batch: Any, phase: str, alpha: float, beta: float, **kw: Any) -> Any:
        loss = ORIGINAL_LOSS(self, batch, phase, alpha, beta, **kw)
        return loss if phase == "teacher_training" else loss * 0.0

    db = f"sqlite:///{tmp_path / 'history.db'}"
    assert main(["regress", "run", "--suite", str(tiny_suite), "--db", db, "--tag", "clean", "--quiet"]) == 0
    monkeypatch.setattr(KDDAGFM, "loss", crippled)
    assert (
        main(["regress", "run", "--suite", str(tiny_suite), "--baseline", "clean", "--db", db, "--quiet"])
        == 1
    )
    site = tmp_path / "site"
    build_site(db, site)

    index = (site / "regressions" / "index.html").read_text()
    # one case with eight figures, counted as such
    assert re.search(
        r'<td class="num" data-sort="1[.0]*">1</td><td class="num" data-sort="8[.0]*">8</td>', index
    )
    page = (site / "regressions" / "2.html").read_text()
    assert ">student test AUC</a>" in page and "p_value" not in page  # names for people, not keys
    regressed = page.split(">student test AUC</a>")[1].split("</tr>")[0]
    assert "(worse)" in regressed and '<td class="verdict bad">regressed' in regressed
    assert "±0.0" in regressed  # the noise threshold that decided it
    throughput = page.split(">train throughput</a>")[1].split("</tr>")[0]
    assert re.search(r'<td class="num change \w*">[+-]?\d+\.\d %', throughput)  # speed: a % change
    assert "static/plotly.min.js" in page and "Seed values" in page

    history = (site / "regressions" / "history.html").read_text()
    anchors = re.findall(r'<div id="(h-[a-z0-9-]+)">', history)
    assert len(anchors) == 8  # every figure of the case
    links = set(re.findall(r'href="history.html#(h-[a-z0-9-]+)"', page))
    assert links == set(anchors)  # each row of the run page leads to its figure's history
    auc_chart = history[history.index(next(a for a in anchors if "student-test-auc" in a)) :]
    auc_chart = auc_chart[: auc_chart.index("</script>")]
    assert '"name":"regressed"' in auc_chart and '"name":"baseline"' in auc_chart
    assert "noise band" in auc_chart and "run 2" in auc_chart
