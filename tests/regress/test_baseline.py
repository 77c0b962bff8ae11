"""Baselines (files and stored runs) and the verdict rows of a whole run, on hand-made measurements."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from kdbench.bench.errors import RegressionError, StoreError
from kdbench.bench.regress import (
    AB_RULES,
    EXIT_OK,
    EXIT_REGRESSED,
    INCOMPARABLE,
    NEW,
    REGRESSED,
    SAME,
    Baseline,
    CaseMeasurement,
    SuiteMeasurement,
    exit_status,
    final_line,
    read_baseline_file,
    record_run,
    resolve_baseline,
    run_summary,
    verdict_rows,
    write_baseline_file,
)
from kdbench.bench.store import ResultStore

ENV = {"git_sha": "0123456789abcdef", "git_dirty": False, "python": "3.11", "host": "test"}


def measurement(
    auc: tuple[float, ...] = (0.85, 0.851, 0.849), throughput: float = 1000.0
) -> SuiteMeasurement:
    case = CaseMeasurement(
        name="c1", dataset="ml-100k", dataset_fingerprint="fp1", config={"teacher": "crossnet"},
        config_family="fam1", seeds=[0, 1, 2],
        figures={"student_test_auc": list(auc),
                 "train_throughput": [throughput, throughput * 1.02, throughput * 0.98]},
        raw={"train_throughput": [90000.0, 91000.0, 89000.0]}, reference_ms=[11.0, 11.1, 10.9],
        wall_seconds=12.0,
    )  # fmt: skip
    return SuiteMeasurement("smoke", "hash1", "cpu", 1, [case], 40.0)


def as_baseline(tmp_path: Path, m: SuiteMeasurement):
    return read_baseline_file(write_baseline_file(tmp_path / "b.json", m, environment=ENV, made_from="test"))


def test_a_baseline_file_round_trips(tmp_path: Path) -> None:
    m = measurement()
    path = write_baseline_file(tmp_path / "sub" / "smoke.json", m, environment=ENV, made_from="test")
    payload = json.loads(path.read_text())
    assert payload["format"] == "kdbench-regression-baseline" and payload["git_sha"] == ENV["git_sha"]
    baseline = read_baseline_file(path)
    assert baseline.measurement == m and baseline.environment == ENV and baseline.label == str(path)


def test_a_missing_or_foreign_baseline_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RegressionError, match=r"not found: make one with `kdbench regress baseline"):
        read_baseline_file(tmp_path / "none.json")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(RegressionError, match="is not a kdbench regression baseline"):
        read_baseline_file(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(RegressionError, match="is not valid JSON"):
        read_baseline_file(tmp_path / "broken.json")


def test_a_baseline_of_the_wrong_shape_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = write_baseline_file(tmp_path / "b.json", measurement(), environment=ENV, made_from="test")
    good = json.loads(path.read_text())
    for change, field in [
        (lambda m: m.update(cases="c1"), "measurement.cases must be a list"),
        (lambda m: m["cases"][0].update(figures=[0.85]), "measurement.cases[0].figures must be a dict"),
        (lambda m: m["cases"][0]["figures"].update(student_test_auc="high"), "figures.student_test_auc"),
        (lambda m: m["cases"][0]["figures"].update(train_throughput=[1000.0, None]), "train_throughput"),
        (lambda m: m["cases"][0].update(seeds=3), "measurement.cases[0].seeds must be a list"),
    ]:
        payload = copy.deepcopy(good)
        change(payload["measurement"])
        path.write_text(json.dumps(payload))
        with pytest.raises(RegressionError, match="is malformed") as info:
            read_baseline_file(path)
        assert field in str(info.value)
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(RegressionError, match="is not UTF-8 text"):
        read_baseline_file(path)


def test_the_same_values_pass_and_a_drop_is_named(tmp_path: Path) -> None:
    baseline = as_baseline(tmp_path, measurement())
    same = verdict_rows(measurement(), baseline)
    assert [r["verdict"] for r in same] == [SAME, SAME] and exit_status(same) == EXIT_OK
    worse = verdict_rows(measurement(auc=(0.80, 0.801, 0.799), throughput=400.0), baseline)
    assert [(r["figure"], r["verdict"]) for r in worse] == [
        ("student_test_auc", REGRESSED),
        ("train_throughput", REGRESSED),
    ]
    assert exit_status(worse) == EXIT_REGRESSED
    summary = run_summary(measurement(), worse, baseline)
    assert summary["status"] == "regressed" and summary["exit_status"] == 1
    line = final_line(summary, worse)
    assert (
        "REGRESSION" in line
        and "c1 student_test_auc (-0.0500)" in line
        and "c1 train_throughput (-60.0 %)" in line
    )
    row = worse[0]
    assert {"case", "figure", "baseline", "now", "change", "verdict", "p_value", "seeds", "unit"} <= set(row)


def test_without_a_baseline_every_figure_is_new_and_the_exit_is_zero() -> None:
    rows = verdict_rows(measurement(), None)
    assert {r["verdict"] for r in rows} == {NEW} and exit_status(rows) == EXIT_OK
    assert "no baseline given" in final_line(run_summary(measurement(), rows, None), rows)


def test_a_case_with_another_config_dataset_or_device_is_not_compared(tmp_path: Path) -> None:
    other = measurement()
    other.cases[0].config_family = "fam2"
    rows = verdict_rows(measurement(auc=(0.5, 0.5, 0.5)), as_baseline(tmp_path, other))
    assert {r["verdict"] for r in rows} == {INCOMPARABLE} and "another config" in rows[0]["note"]
    other = measurement()
    other.cases[0].dataset_fingerprint = "fp2"
    rows = verdict_rows(measurement(), as_baseline(tmp_path, other))
    assert {r["verdict"] for r in rows} == {INCOMPARABLE} and "other data" in rows[0]["note"]
    other = measurement()
    other.device = "cuda"
    rows = verdict_rows(measurement(), as_baseline(tmp_path, other))
    assert [r["verdict"] for r in rows] == [SAME, INCOMPARABLE]  # quality still compares across devices
    renamed = measurement()
    renamed.cases[0].name = "c0"
    rows = verdict_rows(measurement(), as_baseline(tmp_path, renamed))
    assert {r["verdict"] for r in rows} == {NEW}


def test_a_stored_run_serves_as_a_baseline_by_id_tag_and_sha(tmp_path: Path) -> None:
    m = measurement()
    rows = verdict_rows(m, None)
    with ResultStore(f"sqlite:///{tmp_path / 'r.db'}") as store:
        run_id = record_run(store, run_summary(m, rows, None), rows, environment=ENV, tag="main")
        for ref in (str(run_id), "main", "0123456"):
            baseline = resolve_baseline(ref, store)
            assert baseline.measurement == m, ref
            assert baseline.label == f"run {run_id} (smoke, tag main, git 0123456789)"
        stored = store.regression_cases(run_id)
        assert list(stored["name"]) == ["c1", "c1"]
        with pytest.raises(StoreError, match="no regression run matches 'nope'"):
            resolve_baseline("nope", store)
        foreign = store.record_regression_run(
            "smoke", environment_id=store.record_environment(ENV), summary={}, cases=[], tag="foreign"
        )
        with pytest.raises(RegressionError, match=f"regression run {foreign} was not recorded by"):
            resolve_baseline("foreign", store)


def test_a_stored_run_reference_without_a_database_says_to_give_one() -> None:
    with pytest.raises(RegressionError, match="give --db URL"):
        resolve_baseline("main", None)
    with pytest.raises(RegressionError, match="not found"):
        resolve_baseline("somewhere/none.json", None)


def test_summary_counts_every_verdict(tmp_path: Path) -> None:
    rows = verdict_rows(measurement(), as_baseline(tmp_path, copy.deepcopy(measurement())))
    summary = run_summary(measurement(), rows, None)
    assert summary["counts"]["same"] == 2 and sum(summary["counts"].values()) == len(rows)


def test_ab_judges_speed_in_pairs_only_when_both_sides_ran_the_same_seeds() -> None:
    # The machine's speed moved from seed to seed by 1.6x; head is 20 % slower in every pair.
    base = measurement()
    base.cases[0].figures["train_throughput"] = [1000.0, 1600.0, 1150.0]
    head = copy.deepcopy(base)
    head.cases[0].figures["train_throughput"] = [800.0, 1290.0, 915.0]
    rows = verdict_rows(head, Baseline("base main", base, None, "0" * 40), AB_RULES)
    (row,) = [r for r in rows if r["figure"] == "train_throughput"]
    assert row["verdict"] == REGRESSED and row["change"] == pytest.approx(-0.2, abs=0.01)
    head.cases[0].seeds = [3, 4, 5]  # other seeds: nothing pairs them, and the spread hides the change
    rows = verdict_rows(head, Baseline("base main", base, None, "0" * 40), AB_RULES)
    (row,) = [r for r in rows if r["figure"] == "train_throughput"]
    assert row["verdict"] == SAME


def test_ab_holds_training_throughput_to_a_wider_floor_than_latency() -> None:
    base = measurement()
    base.cases[0].figures["student_latency"] = [0.50, 0.80, 0.55]
    head = copy.deepcopy(base)
    head.cases[0].figures["train_throughput"] = [v * 0.88 for v in base.cases[0].figures["train_throughput"]]
    head.cases[0].figures["student_latency"] = [v * 1.13 for v in base.cases[0].figures["student_latency"]]
    rows = {r["figure"]: r for r in verdict_rows(head, Baseline("base", base, None, None), AB_RULES)}
    assert rows["student_latency"]["verdict"] == REGRESSED  # 13 % slower: past latency's 10 % floor
    assert rows["train_throughput"]["verdict"] == SAME  # 12 % fewer samples/s: inside its 20 % floor
    assert rows["train_throughput"]["threshold"] == pytest.approx(0.2)
