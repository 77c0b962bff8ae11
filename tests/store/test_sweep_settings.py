"""ResultStore.update_sweep_settings: a sweep's settings grow by top-level keys."""

from __future__ import annotations

import math
from pathlib import Path

from kdbench.bench.store import ResultStore


def test_update_sweep_settings_merges_top_level_keys(tmp_path: Path) -> None:
    with ResultStore(f"sqlite:///{tmp_path / 'kd.db'}") as store:
        store.create_sweep("s", space_name=None, space_yaml=None, dataset_fingerprint=None, objectives=[],
                           scheduler={}, searcher={}, study_name="s", num_trials=1,
                           settings={"a": 1, "runs": [1]})  # fmt: skip
        store.update_sweep_settings("s", {"runs": [1, 2], "pareto_front": [{"number": 0, "x": math.nan}]})
        assert store.get_sweep("s")["settings"] == {
            "a": 1, "runs": [1, 2], "pareto_front": [{"number": 0, "x": None}],
        }  # fmt: skip
