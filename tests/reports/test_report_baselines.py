"""``kdbench report`` adds the baselines its leaderboards lack before it builds: fitted for datasets in this
machine's cache and recorded, a note for the others, nothing with ``--no-baselines``; the site builds
either way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kdbench.bench.cli import main
from kdbench.bench.data import prepare
from kdbench.bench.store import ResultStore
from tests.store import _factories as f
from tests.store._readonly import read_only

ELSEWHERE = "0123456789abcdef"  # a dataset prepared on another machine: not in this one's cache


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A $KDBENCH_HOME holding a prepared 1,500-row table, and a database with a completed trial on it and
    one on a dataset this machine does not have."""
    monkeypatch.setenv("KDBENCH_HOME", str(tmp_path / "home"))
    rng = np.random.default_rng(1)
    shop = rng.choice([f"s{k}" for k in range(30)], 1500)
    hour = rng.integers(0, 24, 1500)
    odds = 0.15 + 0.5 * np.isin(shop, ["s1", "s2", "s3"]) + 0.01 * hour
    frame = pd.DataFrame({"bought": (rng.random(1500) < odds).astype(int), "shop": shop, "hour": hour})
    frame.to_csv(tmp_path / "shops.csv", index=False)
    (tmp_path / "shops.yaml").write_text("label: bought\ncategorical: [shop, hour]\n")
    data = prepare("csv", path=tmp_path / "shops.csv", schema=tmp_path / "shops.yaml")
    url = f"sqlite:///{tmp_path / 'results.db'}"
    with ResultStore(url) as store:
        env = store.record_environment(f.environment())
        store.record_dataset(data.info())
        store.record_trial(
            None, None, result=f.result(auc=0.70, dataset=data.fingerprint), environment_id=env
        )
        store.record_trial(None, None, result=f.result(auc=0.80, dataset=ELSEWHERE), environment_id=env)
    return {"url": url, "data": data, "site": tmp_path / "site", "db": tmp_path / "results.db"}


def _report(world: dict, capsys, *extra: str) -> list[str]:
    assert main(["report", "--db", world["url"], "--out", str(world["site"]), *extra]) == 0
    return capsys.readouterr().out.splitlines()


def test_missing_baselines_are_computed_recorded_and_shown(world: dict, capsys) -> None:
    data = world["data"]
    lines = _report(world, capsys)
    computed = [line for line in lines if line.startswith("computed baselines for")]
    assert (
        len(computed) == 1
        and f"computed baselines for shops (fingerprint {data.fingerprint}) in " in computed[0]
    )
    note = next(line for line in lines if ELSEWHERE in line)
    assert "not in this machine's dataset cache" in note
    assert f"kdbench baseline --dataset {ELSEWHERE} --db {world['url']}" in note
    assert lines[-1].startswith("report written: ")
    with ResultStore(world["url"], create=False) as store:
        recorded = store.baselines()
    assert sorted(recorded["model"]) == ["gbdt", "lr"] and set(recorded["dataset_fingerprint"]) == {
        data.fingerprint
    }
    index = (world["site"] / "index.html").read_text()
    assert index.count('<tr class="baseline">') == 2

    again = _report(world, capsys)  # recorded now: nothing to compute, the other dataset still noted
    assert not any(line.startswith("computed") for line in again) and any(ELSEWHERE in line for line in again)


def test_no_baselines_only_reads_the_database(world: dict, capsys) -> None:
    lines = _report(world, capsys, "--no-baselines")
    assert len(lines) == 1 and lines[0].startswith("report written: ")
    with ResultStore(world["url"], create=False) as store:
        assert store.baselines().empty
    assert 'class="baseline"' not in (world["site"] / "index.html").read_text().split("</thead>", 1)[1]


def test_a_database_that_takes_no_writes_gets_a_note_and_a_site(world: dict, capsys) -> None:
    with read_only(world["db"]):
        lines = _report(world, capsys)
    assert any("no baselines added" in line and "takes no writes" in line for line in lines)
    assert (world["site"] / "index.html").is_file()
