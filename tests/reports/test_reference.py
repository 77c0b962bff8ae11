"""The default configuration as a reference: the warm-start trial found by its config hash, the best trial
compared with it, the dashed line on the history figures, and the sentence on the sweep page and index."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kdbench.bench.store import ResultStore
from kdbench.reports._history import ReferenceLine, history_data, history_figure
from kdbench.reports._objective import DEFAULT_OBJECTIVE, Objective
from kdbench.reports._paths import sweep_page, trial_page
from kdbench.reports._reference import (
    Reference,
    default_reference,
    reference_line,
    reference_note,
    vs_default,
    warm_start_of,
    warm_start_trial,
)
from tests.reports import _factories as fx

POSITIVE = "best: +0.0067 test AUC over the default configuration (trial 0, test AUC 0.8643)"
NEGATIVE = "best: -0.0012 test AUC over the default configuration (trial 0, test AUC 0.8643)"
DEFAULT_IS_BEST = "the default configuration (trial 0) is the best trial"


def _sweep(store: ResultStore, name: str) -> tuple[dict, pd.DataFrame]:
    return store.get_sweep(name)["settings"], store.trials(sweep=name)


def test_the_warm_start_trial_is_the_trial_with_its_config_hash(warm_store: ResultStore):
    settings, trials = _sweep(warm_store, fx.WARM)
    assert len(trials) == 16
    warm = warm_start_of(settings)
    assert warm.source == fx.WARM_SOURCE and warm.changes == tuple(fx.WARM_CHANGES)
    reference = default_reference(settings, trials)
    default_id = int(trials.loc[trials["number"] == 0, "trial_id"].iloc[0])
    assert reference == Reference(default_id, 0, "completed", 0.8668, 0.8643)
    assert reference.label == "default configuration (trial 0)"


def test_the_lowest_numbered_trial_with_the_hash_is_the_warm_start(warm_store: ResultStore):
    settings, trials = _sweep(warm_store, fx.WARM)
    default = trials[trials["number"] == 0]
    # the same config again later (a resumed sampler), listed first and better: still trial 0
    again = default.assign(trial_id=999, number=16, student_valid_auc=0.90, student_test_auc=0.89)
    reference = default_reference(settings, pd.concat([again, trials], ignore_index=True))
    assert (reference.number, reference.test_auc) == (0, 0.8643)
    # trial 0 hashed otherwise: the other trial with the hash is the warm start
    renamed = trials.assign(config_hash=np.where(trials["number"] == 0, "other", trials["config_hash"]))
    assert default_reference(settings, pd.concat([renamed, again], ignore_index=True)).number == 16


@pytest.mark.parametrize(
    ("status", "said"),
    [("stopped", "was stopped early"), ("failed", "failed"), ("running", "is still running")],
)
def test_a_default_that_did_not_complete_is_no_reference(warm_store: ResultStore, status: str, said: str):
    settings, trials = _sweep(warm_store, fx.WARM)
    unfinished = trials.assign(status=np.where(trials["number"] == 0, status, trials["status"]))
    assert default_reference(settings, unfinished) is None
    assert warm_start_trial(settings, unfinished).status == status
    assert vs_default(unfinished, default_reference(settings, unfinished)) is None
    assert reference_note(settings, unfinished) == (
        f"the default configuration (trial 0) {said}: no reference to compare with"
    )
    # completed, but without a validation AUC: no result either
    no_auc = trials.assign(student_valid_auc=trials["student_valid_auc"].where(trials["number"] != 0))
    assert default_reference(settings, no_auc) is None


@pytest.mark.parametrize(
    "settings",
    [
        None,
        float("nan"),
        {},
        {"implicit": True},
        {"warm_start": None},
        {"warm_start": {"source": "x"}},
        "text",
    ],
)
def test_sweeps_without_a_warm_start_have_no_reference(warm_store: ResultStore, settings):
    trials = warm_store.trials(sweep=fx.WARM)
    assert warm_start_of(settings) is None
    assert warm_start_trial(settings, trials) is None and default_reference(settings, trials) is None
    assert reference_note(settings, trials) is None
    assert vs_default(trials, None) is None
    assert reference_line(None, trials, DEFAULT_OBJECTIVE) is None


def test_a_warm_start_without_its_trial_yet(warm_store: ResultStore):
    settings, trials = _sweep(warm_store, fx.WARM)
    assert default_reference(settings, trials.iloc[:0]) is None
    later = trials[trials["number"] > 0]
    assert warm_start_trial(settings, later) is None
    note = reference_note(settings, later)
    assert note.startswith("the default configuration (config ") and note.endswith(
        "has no trial in this sweep yet"
    )


@pytest.mark.parametrize(
    ("sweep", "best", "delta", "text"),
    [
        (fx.WARM, 11, 0.0067, POSITIVE),  # trial 12 has the best test AUC, 11 the best validation AUC
        (fx.WARM_NEGATIVE, 1, -0.0012, NEGATIVE),
        (fx.WARM_DEFAULT_BEST, 0, 0.0, DEFAULT_IS_BEST),
    ],
)
def test_the_best_trial_by_validation_auc_against_the_default(
    warm_store: ResultStore, sweep: str, best: int, delta: float, text: str
):
    settings, trials = _sweep(warm_store, sweep)
    comparison = vs_default(trials, default_reference(settings, trials))
    assert comparison.best_number == best and comparison.delta == pytest.approx(delta, abs=1e-9)
    assert comparison.is_default == (best == 0)
    assert comparison.text == text and reference_note(settings, trials) == text


def test_the_reference_line_is_the_defaults_value_of_the_objective(warm_store: ResultStore):
    settings, trials = _sweep(warm_store, fx.WARM)
    reference = default_reference(settings, trials)
    assert reference_line(reference, trials, DEFAULT_OBJECTIVE) == ReferenceLine(
        0.8668, "default configuration (trial 0)"
    )
    logloss = Objective("student_test_logloss", False)
    assert reference_line(reference, trials, logloss).value == pytest.approx(1.2 - 0.8643)
    assert reference_line(reference, trials, Objective("no_such_column", True)) is None


@pytest.mark.parametrize("by", ["number", "elapsed_s"])
def test_history_figures_draw_the_reference_as_a_dashed_line(warm_store: ResultStore, by: str):
    settings, trials = _sweep(warm_store, fx.WARM)
    line = reference_line(default_reference(settings, trials), trials, DEFAULT_OBJECTIVE)
    history = history_data(trials, DEFAULT_OBJECTIVE)
    fig = history_figure({fx.WARM: history}, DEFAULT_OBJECTIVE, by=by, reference=line)
    (shape,) = fig.layout.shapes
    assert shape.y0 == shape.y1 == 0.8668 and shape.line.dash == "dash" and shape.showlegend
    assert shape.name.startswith("default configuration (trial 0)")
    assert (shape.xref, shape.x0, shape.x1) == ("x domain", 0, 1)  # across the plot, whatever the x range
    assert not history_figure({fx.WARM: history}, DEFAULT_OBJECTIVE, by=by).layout.shapes


def test_the_sweep_page_says_how_the_best_compares_with_the_default(warm_site: Path, warm_store: ResultStore):
    html = (warm_site / sweep_page(fx.WARM)).read_text()
    facts = re.search(r'<dd id="default-configuration">(.*?)</dd>', html, re.S).group(1)
    assert POSITIVE in facts and f"from {fx.WARM_SOURCE}, fitted to the search space:" in facts
    for change in fx.WARM_CHANGES:
        assert f"<li>{change}</li>" in facts.replace("&gt;", ">").replace("&#39;", "'")
    default_id = int(warm_store.trials(sweep=fx.WARM).query("number == 0")["trial_id"].iloc[0])
    assert trial_page(default_id).rsplit("/", 1)[-1] in facts
    assert html.count('class="tag"') == 1  # the default's row in the trials table
    assert html.count("default configuration (trial 0)") >= 2  # the dashed line on both history figures
    best = (warm_site / sweep_page(fx.WARM_DEFAULT_BEST)).read_text()
    assert DEFAULT_IS_BEST in best and "fitted to the search space" not in best
    stopped = (warm_site / sweep_page(fx.WARM_STOPPED)).read_text()
    assert "the default configuration (trial 0) was stopped early: no reference to compare with" in stopped
    assert fx.EVIL not in stopped and "&lt;script&gt;" in stopped  # a change's text is escaped
    plain = (warm_site / sweep_page(fx.NO_WARM)).read_text()
    assert "default configuration" not in plain and 'class="tag"' not in plain


def test_the_sweeps_table_shows_each_sweep_against_its_default(warm_site: Path):
    html = (warm_site / "index.html").read_text()
    sweeps = re.search(r'<table id="sweeps-table".*?</table>', html, re.S).group(0)
    assert ">vs default</th>" in sweeps

    def cell(name: str) -> str:
        row = re.search(rf'<tr>\s*<td><a href="[^"]*">{re.escape(name)}</a></td>.*?</tr>', sweeps, re.S)
        return re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row.group(0))[-2]  # before "created"

    assert cell(fx.WARM) == "+0.0067" and POSITIVE in sweeps  # the sentence as the cell's title
    assert cell(fx.WARM_NEGATIVE) == "-0.0012"
    assert cell(fx.WARM_DEFAULT_BEST) == "default is best"
    assert cell(fx.WARM_STOPPED) == cell(fx.NO_WARM) == "—"
