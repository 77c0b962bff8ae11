"""Leaderboard rows: seeds grouped, costs as a share of the teacher, one table per dataset."""

from __future__ import annotations

import re

import pytest

from kdbench.bench.store import ResultStore
from kdbench.reports._leaderboard import LEADERBOARD_ROW_COLUMNS, leaderboard_data
from kdbench.reports._params import config_label
from kdbench.reports._snapshot import dataset_labels, load_snapshot
from tests.reports import _factories as fx


@pytest.fixture
def tables(store: ResultStore):
    snapshot = load_snapshot(store)
    return {
        t.dataset_fingerprint: t
        for t in leaderboard_data(snapshot.leaderboard, snapshot.trials, dataset_labels(snapshot))
    }


def test_one_table_per_dataset_ranked_best_first(tables, store: ResultStore):
    assert set(tables) == set(store.leaderboard()["dataset_fingerprint"])
    rows = tables[fx.DATASET].rows
    assert list(rows.columns) == list(LEADERBOARD_ROW_COLUMNS)
    assert list(rows["rank"]) == list(range(1, len(rows) + 1))
    assert rows["auc_mean"].is_monotonic_decreasing
    assert tables[fx.DATASET].dataset == "ml-100k (ds-ml100)"


def test_seeds_of_a_configuration_are_one_row_with_mean_and_std(tables):
    rows = tables[fx.DATASET].rows
    repeated = rows[rows["n_seeds"] == len(fx.SEEDS_OF_REPEATED)]
    assert len(repeated) == 1
    row = repeated.iloc[0]
    aucs = [0.808 + 0.001 * i for i in range(3)]  # the factory's AUCs for the three seeds
    assert row["auc_mean"] == pytest.approx(sum(aucs) / 3)
    assert row["auc_std"] == pytest.approx(0.001)
    assert row["logloss_mean"] == pytest.approx(1.2 - sum(aucs) / 3)


def test_gap_and_cost_shares(tables):
    row = tables[fx.DATASET].rows.iloc[0]
    # tests/store/_factories: teacher AUC = student + 0.005, params 2,000 of 5,000, FLOPs 3,000 of 12,000
    assert row["gap"] == pytest.approx(-0.005)
    assert row["params_pct"] == pytest.approx(40.0) and row["flops_pct"] == pytest.approx(25.0)


def test_empty_leaderboard_has_no_table(store: ResultStore):
    snapshot = load_snapshot(store)
    assert leaderboard_data(snapshot.leaderboard.iloc[:0], snapshot.trials, {}) == []


def test_config_label():
    assert (
        config_label(
            {
                "param_teacher": "cin",
                "param_t_cin": [100, 50],
                "param_interaction": "inner",
                "param_depth": 2,
                "param_embedding_size": 8,
            }
        )
        == "cin[100,50] → inner DAGFM(depth 2), emb 8"
    )
    assert config_label({"param_teacher": "crossnet", "param_t_depth": 3}) == "crossnet(depth 3) → DAGFM"


def test_config_label_tells_dagfm_plus_and_the_new_teachers_apart():
    base = {"param_interaction": "outer", "param_depth": 3, "param_embedding_size": 16}
    plain = config_label({**base, "param_teacher": "dnn", "param_t_hidden": [400, 400, 400]})
    plus = config_label({**base, "param_teacher": "dnn", "param_t_hidden": [400, 400, 400],
                         "param_student_mlp": [64, 32]})  # fmt: skip
    assert plain == "dnn[400,400,400] → outer DAGFM(depth 3), emb 16"
    assert plus == "dnn[400,400,400] → outer DAGFM+(depth 3, mlp [64, 32]), emb 16"
    xdeepfm = config_label({**base, "param_teacher": "xdeepfm", "param_t_cin": [200, 200]})
    assert xdeepfm.startswith("xdeepfm[200,200] → ")
    assert config_label({**base, "param_teacher": "dcnv2", "param_t_depth": 2}).startswith("dcnv2(depth 2)")


def test_rows_with_one_label_read_apart_and_reruns_are_counted_as_runs(tmp_path):
    """Two configs that differ only in alpha and beta get the same label; their settings line tells them
    apart. The same config and seed run twice is one seed, two runs, and its AUC spread shows."""
    from kdbench.reports import build_site

    url = f"sqlite:///{tmp_path / 'board.db'}"
    with ResultStore(url) as store:
        env = store.record_environment(fx.f.environment())
        for auc, alpha, beta in ((0.81, 0.1, 921.6), (0.812, 0.1, 921.6), (0.805, 0.674, 2215.3)):
            store.record_trial(
                None, None, result=fx.f.result(auc=auc, alpha=alpha, beta=beta), environment_id=env
            )
        snapshot = load_snapshot(store)
    (table,) = leaderboard_data(snapshot.leaderboard, snapshot.trials, dataset_labels(snapshot))
    rows = table.rows.set_index("rank")
    assert rows.loc[1, "label"] == rows.loc[2, "label"]
    assert (rows.loc[1, "differs"], rows.loc[2, "differs"]) == (
        "alpha 0.1 · beta 922",
        "alpha 0.674 · beta 2215",
    )
    assert (rows.loc[1, "n_seeds"], rows.loc[1, "n_trials"]) == (1, 2)
    assert rows.loc[1, "auc_std"] == pytest.approx(0.0014142, abs=1e-6)
    html = build_site(url, tmp_path / "site").read_text()
    assert "alpha 0.1 · beta 922" in html and "1 (2 runs)" in html
    assert "0.8110 ± 0.0014" in html  # two runs of one seed: mean ± std over the runs
    # the deciding columns are always shown; the rest are behind "all columns"
    head = html[html.index('<table id="leaderboard-1"') : html.index("</thead>")]
    shown = re.findall(r'<th data-type="number"[^>]*>([^<]+)</th>|<th>([^<]+)</th>', head)
    assert [a or b for a, b in shown] == [
        "#", "configuration", "student AUC", "gap", "params %", "latency b1", "latency b4096", "seeds",
    ]  # fmt: skip
    assert head.count('<th class="extra"') == 7 and 'data-show-all="leaderboard-1"' in html
