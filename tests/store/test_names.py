"""The sweep-name rule (bench/_store/_names.py): checked by the store and by a sweep before it starts."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from kdbench.bench._sweep._plan import SweepPlan, load_trial_space, validate_plan
from kdbench.bench.data import available_sources
from kdbench.bench.errors import StoreError, SweepError
from kdbench.bench.store import SWEEP_NAME_MAX, SWEEP_NAME_RULE, ResultStore, check_sweep_name
from kdbench.search_spaces import available_spaces

from . import _factories as f
from . import _real as real

GOOD = [
    "a",
    "7",
    "quick-ml-100k-20260115T101112",
    "v1.2_final-run",
    "A" * SWEEP_NAME_MAX,
    real.LONG_SWEEP_NAME,
]
BAD = {
    "": "is empty",
    "a" * (SWEEP_NAME_MAX + 1): "is 101 characters long",
    "s" * 300: "is 300 characters long",
    ".hidden": "starts with '.'",
    "-rf": "starts with '-'",
    "_x": "starts with '_'",
    "a/b": "holds '/'",
    "a\\b": "holds '\\\\'",
    "two words": "holds ' '",
    "regress:smoke": "holds ':'",
    f"Zürich-{real.NON_ASCII}": "holds ' ', 'ü'",
    "two\nlines": "holds '\\n'",
}


@pytest.mark.parametrize("name", GOOD)
def test_good_names_pass_unchanged(name: str) -> None:
    assert check_sweep_name(name) == name


def test_every_default_name_passes() -> None:
    # kdbench.bench.sweep's default: <space>-<dataset>-<UTC time>, for every shipped space and data source.
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    for space in available_spaces():
        for source in available_sources():
            check_sweep_name(f"{space}-{source}-{stamp}")


@pytest.mark.parametrize(("name", "problem"), BAD.items(), ids=range(len(BAD)))
def test_bad_names_give_one_line_with_the_rule(name: str, problem: str) -> None:
    with pytest.raises(StoreError) as excinfo:
        check_sweep_name(name)
    message = str(excinfo.value)
    assert "\n" not in message and problem in message and message.endswith(SWEEP_NAME_RULE)
    assert len(message) < 250  # a 300-character name is cut, not echoed whole


@pytest.mark.parametrize("name", [None, 5, b"bytes"])
def test_a_name_must_be_a_string(name: object) -> None:
    with pytest.raises(StoreError, match="must be a string"):
        check_sweep_name(name)


def test_the_store_refuses_a_bad_name_and_writes_nothing(store: ResultStore) -> None:
    env = store.record_environment(f.environment())
    for name in ("", "s" * 300, "a/b", real.NON_ASCII):
        with pytest.raises(StoreError, match="sweep name"):
            store.create_sweep(name, **f.sweep_kwargs())
        with pytest.raises(StoreError, match="sweep name"):  # record_trial creates a named sweep on the fly
            store.record_trial(name, None, result=f.result(), environment_id=env)
    assert store.sweeps().empty and store.trials().empty
    store.create_sweep(real.LONG_SWEEP_NAME, **f.sweep_kwargs())
    assert list(store.sweeps()["sweep"]) == [real.LONG_SWEEP_NAME]


def test_a_sweep_named_before_the_rule_is_still_written_to(store: ResultStore, db_url: str) -> None:
    store.create_sweep("legacy", **f.sweep_kwargs())
    old_name = "old sweep: Zürich"  # schema version 1 took any name up to 256 characters
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE kd_sweep SET name = :n"), {"n": old_name})
    engine.dispose()
    env = store.record_environment(f.environment())
    tid = store.record_trial(old_name, None, result=f.result(), environment_id=env)
    store.finish_sweep(old_name, "completed")
    assert store.trial(tid)["sweep"] == old_name and store.get_sweep(old_name)["status"] == "completed"


def _recipe(name: str) -> SweepPlan:
    return SweepPlan(name=name, space=load_trial_space("quick"), dataset={"source": "ml-100k"}, trials=4,
                  objective="auc", sampler="tpe", seed=0, scheduler="asha", grace_period=1,
                  reduction_factor=3.0)  # fmt: skip


@pytest.mark.parametrize(
    "name", ["", "s" * 300, "a/b", "two\nlines"], ids=["empty", "300", "slash", "newline"]
)
def test_a_sweep_refuses_a_bad_name_before_it_starts(name: str) -> None:
    with pytest.raises(SweepError) as excinfo:
        validate_plan(_recipe(name))
    assert str(excinfo.value).startswith("--name: sweep name ") and SWEEP_NAME_RULE in str(excinfo.value)
    validate_plan(_recipe(real.LONG_SWEEP_NAME))
