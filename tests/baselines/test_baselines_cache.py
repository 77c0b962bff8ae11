"""kdbench.bench.baselines' file cache: computed once per dataset fingerprint, written whole, unreadable files
refitted, a folder that takes no writes only a warning."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from kdbench.bench import baselines as b
from kdbench.bench._baselines import _cache
from tests.baselines._tables import wide_table
from tests.store._readonly import read_only


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KDBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The models each real fit was asked for."""
    calls: list[tuple[str, ...]] = []
    real = _cache.fit_baselines

    def counted(dataset, *, models, seed, threads):
        calls.append(tuple(models))
        return real(dataset, models=models, seed=seed, threads=threads)

    monkeypatch.setattr(_cache, "fit_baselines", counted)
    return calls


def test_computed_once_per_fingerprint_then_read_back(home: Path, fits) -> None:
    data = wide_table(rows=2000)
    first = b.baselines_for(data, threads=1)
    path = home / "baselines" / f"{data.fingerprint}.json"
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    assert b.baselines_for(data, threads=1) == first == b.cached_baselines(data.fingerprint)
    assert fits == [("lr", "gbdt")]
    stored = json.loads(path.read_text())
    assert stored["format"] == "kdbench-baselines" and stored["dataset_fingerprint"] == data.fingerprint
    assert [r["model"] for r in stored["results"]] == ["lr", "gbdt"]
    assert b.baselines_for(data, refresh=True, threads=1)[0].model == "lr" and fits[-1] == ("lr", "gbdt")


def test_only_the_missing_models_are_fitted(home: Path, fits) -> None:
    data = wide_table(rows=2000)
    (lr,) = b.baselines_for(data, models=("lr",), threads=1)
    assert b.baselines_for(data, compute=False) == [lr]  # gbdt not cached: not fitted either
    both = b.baselines_for(data, threads=1)
    assert fits == [("lr",), ("gbdt",)] and both[0] == lr and [r.model for r in both] == ["lr", "gbdt"]
    assert [r.model for r in b.cached_baselines(data.fingerprint)] == ["lr", "gbdt"]


@pytest.mark.parametrize(
    "content",
    [
        '{"format": "kdbench-baselines", "version": 1, "results": [{"model": "lr"}]}',
        "{truncated",
        "[]",
        '{"format": "kdbench-baselines", "version": 7, "results": []}',
    ],
    ids=["malformed-result", "truncated", "a-list", "another-version"],
)
def test_a_file_that_cannot_be_read_back_is_refitted(home: Path, fits, content: str, caplog) -> None:
    data = wide_table(rows=2000)
    path = home / "baselines" / f"{data.fingerprint}.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="kdbench.bench.baselines"):
        assert b.cached_baselines(data.fingerprint) is None
        results = b.baselines_for(data, threads=1)
    assert "ignoring the baseline file" in caplog.text and fits == [("lr", "gbdt")]
    assert b.cached_baselines(data.fingerprint) == results


def test_another_datasets_results_under_its_name_are_not_taken(home: Path, fits, caplog) -> None:
    data, other = wide_table(rows=2000), wide_table(rows=2000, seed=1)
    b.baselines_for(other, models=("lr",), threads=1)
    (home / "baselines" / f"{other.fingerprint}.json").rename(home / "baselines" / f"{data.fingerprint}.json")
    assert b.cached_baselines(data.fingerprint) is None and "another dataset" in caplog.text


def test_a_cache_folder_that_takes_no_writes_is_a_warning(home: Path, fits, caplog) -> None:
    data = wide_table(rows=2000)
    (home / "baselines").mkdir(parents=True)
    with read_only(home / "baselines"), caplog.at_level(logging.WARNING, logger="kdbench.bench.baselines"):
        results = b.baselines_for(data, models=("lr",), threads=1)
    assert [r.model for r in results] == ["lr"] and "cannot cache the baselines" in caplog.text
    assert b.cached_baselines(data.fingerprint) is None


def test_only_fingerprints_name_files(home: Path) -> None:
    assert b.baselines_path("f03ed3902d7e775c") == home / "baselines" / "f03ed3902d7e775c.json"
    for bad in ("../escape", "a/b", "", ".hidden", "x" * 200, "<script>"):
        assert b.baselines_path(bad) is None and b.cached_baselines(bad) is None
