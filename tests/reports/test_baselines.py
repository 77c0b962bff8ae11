"""Baselines on the site: rows among the students on the leaderboard and a sweep's trials table, ``vs GBDT``
on a trial's page, markers on the latency Pareto plot; datasets and sites without baselines still render.

The report fixture's ml-100k dataset (``fx.DATASET``) has a GBDT baseline between its configurations and an
LR baseline below them all; its other datasets have none, and the warm-start site has none at all."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from kdbench.bench.store import ResultStore
from kdbench.reports._baselines import baseline_rows, between, versus_gbdt
from kdbench.reports._leaderboard import leaderboard_data
from kdbench.reports._pareto import COSTS, pareto_baselines, pareto_data, pareto_figure
from kdbench.reports._paths import sweep_page, trial_page
from kdbench.reports._snapshot import dataset_labels, load_snapshot
from kdbench.reports._sweep_page import sweep_trial_rows
from tests.reports import _factories as fx


def _rows_text(table_html: str) -> list[str]:
    return [
        " ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr.*?</tr>", table_html, re.S)
    ]


def _figure_script(html: str, div_id: str) -> str:
    """The ``Plotly.newPlot`` call of one figure, spaces dropped: its traces' JSON as text."""
    start = re.search(rf'Plotly\.newPlot\(\s*"{div_id}"', html).start()
    return html[start : html.index("</script>", start)].replace(" ", "")


def _leaderboard_html(site: Path, dataset: str) -> str:
    html = (site / "index.html").read_text()
    heading = html.index(f"<h2>{dataset}")
    return html[heading : html.index("</table>", heading)]


# ---- data -----------------------------------------------------------------------------------------------
def test_baseline_rows_of_a_dataset_best_first(store: ResultStore) -> None:
    rows = baseline_rows(store.baselines(), fx.DATASET)
    assert [r["label"] for r in rows] == ["GBDT baseline", "LR baseline"]
    assert rows[0]["test_auc"] == pytest.approx(fx.GBDT_AUC)
    assert (
        rows[0]["chosen"] == "108 trees · 1 field capped to 255 categories" and rows[1]["chosen"] == "C 0.1"
    )
    assert baseline_rows(store.baselines(), fx.CACHED_DATASET) == []
    assert (
        baseline_rows(store.baselines().iloc[:0], fx.DATASET) == [] and baseline_rows(None, fx.DATASET) == []
    )


def test_a_baseline_goes_after_the_students_at_least_as_good() -> None:
    assert between([0.81, 0.80, 0.80, 0.79], 0.80) == 3 and between([0.81], 0.9) == 0
    assert between([0.81, None], 0.5) == 1 and between([0.81, 0.7], None) == 2


def test_versus_gbdt() -> None:
    rows = [{"model": "gbdt", "test_auc": 0.80}, {"model": "lr", "test_auc": 0.82}]
    found = versus_gbdt(0.8123, rows)
    assert found["delta"] == pytest.approx(0.0123) and found["lr_delta"] == pytest.approx(-0.0077)
    assert versus_gbdt(0.8123, rows[1:]) is None and versus_gbdt(None, rows) is None
    assert versus_gbdt(0.81, rows[:1])["lr"] is None


def test_the_leaderboard_ranks_the_baselines_among_the_students(store: ResultStore) -> None:
    snapshot = load_snapshot(store)
    tables = {
        t.dataset_fingerprint: t.rows
        for t in leaderboard_data(
            snapshot.leaderboard, snapshot.trials, dataset_labels(snapshot), snapshot.baselines
        )
    }
    rows = tables[fx.DATASET]
    students = rows[rows["kind"] == "student"]
    assert list(students["rank"]) == list(range(1, len(students) + 1))  # ranks are the students' own
    assert list(rows["position"]) == sorted(rows["position"])
    gbdt, lr = (rows[rows["label"] == label].iloc[0] for label in ("GBDT baseline", "LR baseline"))
    above = students[students["auc_mean"] >= fx.GBDT_AUC]
    assert gbdt["position"] == pytest.approx(len(above) + 0.5) and 0 < len(above) < len(students)
    assert rows.index[rows["label"] == "LR baseline"][0] == len(rows) - 1  # below every student
    assert lr["auc_mean"] == pytest.approx(fx.LR_AUC) and lr["latency_ms_b1"] == pytest.approx(0.03)
    assert pd.isna(gbdt["rank"]) and pd.isna(gbdt["gap"]) and gbdt["wall_seconds"] == pytest.approx(2.5)
    assert (tables[fx.CACHED_DATASET]["kind"] == "student").all()


def test_the_sweep_table_is_ranked_with_the_baselines_among_the_trials(store: ResultStore) -> None:
    trials = store.trials(sweep=fx.MAIN)
    rows = sweep_trial_rows(
        trials, "student_test_auc", ["depth"], baseline_rows(store.baselines(), fx.DATASET)
    )
    kinds = [r["kind"] for r in rows]
    assert kinds.count("baseline") == 2 and len(rows) == len(trials) + 2
    aucs = [r["student_auc"] for r in rows if not pd.isna(r["student_auc"])]
    assert aucs == sorted(aucs, reverse=True)  # failed and stopped trials (no AUC) last
    gbdt = next(r for r in rows if r.get("label") == "GBDT baseline")
    assert gbdt["objective"] == pytest.approx(fx.GBDT_AUC) and gbdt["params"] == [""]
    plain = sweep_trial_rows(trials, "student_test_auc", ["depth"])
    assert [r["number"] for r in plain] == sorted(trials["number"])  # without baselines: trial order


def test_the_latency_pareto_plot_marks_the_baselines(store: ResultStore) -> None:
    found = baseline_rows(store.baselines(), fx.DATASET)
    assert pareto_baselines(found, COSTS["flops"]).empty  # baselines count no FLOPs
    marks = pareto_baselines(found, COSTS["latency"])
    assert marks[["label", "cost"]].values.tolist() == [["GBDT baseline", 3.1], ["LR baseline", 0.03]]
    trials = store.trials(sweep=fx.MAIN)
    fig = pareto_figure(pareto_data(trials, COSTS["latency"]), COSTS["latency"], marks)
    names = [trace.name for trace in fig.data]
    assert names == ["trial", "Pareto front", "GBDT baseline", "LR baseline"]
    assert {fig.data[2].marker.symbol, fig.data[3].marker.symbol} == {"diamond", "square-open"}
    assert fig.layout.xaxis.type == "log" and "log scale" in fig.layout.xaxis.title.text
    assert pareto_figure(pareto_data(trials, COSTS["latency"]), COSTS["latency"]).layout.xaxis.type != "log"


# ---- pages ----------------------------------------------------------------------------------------------
def test_the_index_leaderboard_shows_the_baseline_rows(site: Path) -> None:
    table = _leaderboard_html(site, "ml-100k")
    assert table.count('<tr class="baseline">') == 2
    rows = _rows_text(table)[1:]
    gbdt = next(i for i, r in enumerate(rows) if "GBDT baseline" in r)
    assert rows[gbdt].startswith("baseline GBDT baseline 108 trees") and f"{fx.GBDT_AUC:.4f}" in rows[gbdt]
    assert rows[gbdt - 1].startswith("4 ") and rows[gbdt + 1].startswith("5 ")  # between ranks 4 and 5
    assert "LR baseline" in rows[-1]
    assert 'class="baseline"' not in _leaderboard_html(site, "ds-cached")  # a dataset without baselines


def test_the_sweep_page_lists_and_plots_the_baselines(site: Path) -> None:
    html = (site / sweep_page(fx.MAIN)).read_text()
    trials = html[html.index('id="trials-table"') :]
    assert trials.count('<tr class="baseline">') == 2 and "Ranked by student test AUC" in html
    latency = _figure_script(html, "fig-pareto_latency")
    assert '"name":"GBDTbaseline"' in latency and '"name":"LRbaseline"' in latency
    assert "baseline" not in _figure_script(html, "fig-pareto_flops")
    cached = (site / sweep_page(fx.CACHED)).read_text()
    assert 'class="baseline"' not in cached and "Ranked by student test AUC" not in cached


def test_a_trial_page_says_how_the_student_does_against_gbdt(site: Path, store: ResultStore) -> None:
    trial = store.trials(sweep=fx.MAIN).query("status == 'completed'").iloc[0]
    html = (site / trial_page(trial["trial_id"])).read_text()
    vs = " ".join(re.sub(r"<[^>]+>", " ", html[html.index('id="vs-gbdt"') :].split("</dd>")[0]).split())
    delta = trial["student_test_auc"] - fx.GBDT_AUC
    assert f"{delta:+.4f} test AUC over the GBDT baseline ({fx.GBDT_AUC:.4f})" in vs
    assert f"over the LR baseline ({fx.LR_AUC:.4f})" in vs
    cached = store.trials(sweep=fx.CACHED).iloc[0]
    html = (site / trial_page(cached["trial_id"])).read_text()
    assert f"kdbench baseline --dataset {fx.CACHED_DATASET} --db" in html


def test_a_site_without_any_baseline_renders(warm_site: Path, warm_store: ResultStore) -> None:
    assert warm_store.baselines().empty
    assert 'class="baseline"' not in (warm_site / "index.html").read_text().split("</thead>", 1)[1]
    html = (warm_site / sweep_page(fx.WARM)).read_text()
    assert '<tr class="baseline">' not in html and "Ranked by student test AUC" not in html
    trial_id = int(warm_store.trials(sweep=fx.WARM)["trial_id"].iloc[0])
    assert "no GBDT baseline for this dataset" in (warm_site / trial_page(trial_id)).read_text()
    assert "baseline" not in _figure_script(html, "fig-pareto_latency")
