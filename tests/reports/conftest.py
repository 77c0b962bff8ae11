"""Fixtures of the report tests: one filled store and the site built from it, shared by the session."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdbench.bench.store import ResultStore
from kdbench.bench.trial import run_trial
from tests.reports._factories import fill_store, fill_warm_start

TINY = {"embedding_size": 4, "depth": 2, "t_depth": 2, "max_epochs": 2, "patience": 1, "batch_size": 512}


@pytest.fixture(scope="session")
def real_results(synthetic) -> list[dict]:
    """Two real trials on the synthetic dataset (CrossNet and CIN teachers), as TrialResult dicts."""
    cin = {**{k: v for k, v in TINY.items() if k != "t_depth"}, "teacher": "cin", "t_cin": [4, 4]}
    return [
        run_trial(TINY, synthetic, device="cpu").to_dict(),
        run_trial(cin, synthetic, device="cpu").to_dict(),
    ]


@pytest.fixture(scope="session")
def store_url(tmp_path_factory: pytest.TempPathFactory, real_results, synthetic) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'results.db'}"
    info = {
        "fingerprint": synthetic.fingerprint,
        "source": "synthetic",
        "protocol": "8:1:1 in order",
        "rows": synthetic.num_rows,
        "positives": 0,
        "fields": synthetic.field_names,
        "vocab_sizes": synthetic.vocab_sizes,
        "split_sizes": {},
    }
    with ResultStore(url) as store:
        fill_store(store, real_results, info)
    return url


def _built_site(tmp_path_factory: pytest.TempPathFactory, url: str, name: str) -> Path:
    from kdbench.reports import build_site

    out = tmp_path_factory.mktemp(name)
    build_site(url, out)
    return out


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, store_url: str) -> Path:
    """The built site's folder."""
    return _built_site(tmp_path_factory, store_url, "site")


@pytest.fixture
def store(store_url: str):
    with ResultStore(store_url, create=False) as opened:
        yield opened


@pytest.fixture(scope="session")
def warm_store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store of warm-started sweeps (and one without a warm start) on one ml-100k dataset."""
    url = f"sqlite:///{tmp_path_factory.mktemp('warm') / 'results.db'}"
    with ResultStore(url) as store:
        fill_warm_start(store)
    return url


@pytest.fixture(scope="session")
def warm_site(tmp_path_factory: pytest.TempPathFactory, warm_store_url: str) -> Path:
    return _built_site(tmp_path_factory, warm_store_url, "warm-site")


@pytest.fixture
def warm_store(warm_store_url: str):
    with ResultStore(warm_store_url, create=False) as opened:
        yield opened
