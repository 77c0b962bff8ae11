"""Two processes writing different sweeps into one database at once lose nothing."""

from __future__ import annotations

import multiprocessing as mp

from kdbench.bench.store import ResultStore

from . import _writers

N_TRIALS = 12
EPOCHS_PER_TRIAL = 6  # _factories.result(): 3 phases x 2 epochs


def test_two_writers_lose_nothing(db_url: str) -> None:
    ctx = mp.get_context("spawn")
    ready, halfway = ctx.Barrier(2), ctx.Barrier(2)
    writers = [
        ctx.Process(target=_writers.write_sweep, args=(db_url, f"sweep-{i}", N_TRIALS, ready, halfway))
        for i in (0, 1)
    ]
    for p in writers:
        p.start()
    for p in writers:
        p.join(240)
    assert [p.exitcode for p in writers] == [0, 0]

    with ResultStore(db_url) as store:
        sweeps = store.sweeps().set_index("sweep")
        assert sorted(sweeps.index) == ["sweep-0", "sweep-1"]
        assert list(sweeps["n_completed"]) == [N_TRIALS, N_TRIALS] and set(sweeps["status"]) == {"completed"}
        trials = store.trials()
        assert len(trials) == 2 * N_TRIALS and set(trials["status"]) == {"completed"}
        assert trials.groupby("sweep")["number"].apply(sorted).tolist() == [list(range(N_TRIALS))] * 2
        assert len(store.epochs()) == 2 * N_TRIALS * EPOCHS_PER_TRIAL
        assert len(store.phases()) == 2 * N_TRIALS * 3
        assert len(store.environments()) == 1 and len(store.datasets()) == 1
        # The two sweeps really were written at the same time (their write windows overlap: the halfway
        # barrier puts both first trials before both last ones).
        span = trials.groupby("sweep").agg(first=("started_at", "min"), last=("finished_at", "max"))
        assert span["first"].max() < span["last"].min()
