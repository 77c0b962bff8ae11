"""The trial page's command line re-runs the same config: kdbench train's own parser reads it back."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kdbench.bench.cli import build_parser
from kdbench.bench.config import TrialConfig, parse_overrides
from kdbench.reports._rerun import rerun_command, yaml_value


def _parsed_back(command: str) -> tuple[str, dict]:
    argv = shlex.split(command)
    assert argv[:2] == ["kdbench", "train"]
    args = build_parser().parse_args(argv[1:])
    return args.dataset, parse_overrides(args.overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"teacher": "cin", "t_cin": [200, 200, 200], "interaction": "inner"},
        {"lr": 1e-05, "weight_decay": 0.0, "beta": 921.6, "alpha": 0.1, "finetune": False, "amp": True},
    ],
)
def test_command_reproduces_the_config_exactly(overrides):
    config = TrialConfig.from_dict(overrides).to_dict()
    command = rerun_command("ml-100k", config)
    dataset, values = _parsed_back(command)
    assert dataset == "ml-100k"
    assert TrialConfig.from_dict(values).to_dict() == config
    assert list(values) == list(config)  # every key, in order


def test_lists_are_compact_and_quoted():
    command = rerun_command("ml-100k", {"t_cin": [200, 200, 200]})
    assert command.endswith("--set 't_cin=[200,200,200]'")


def _not_a_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return True
    return False


# kdbench train reads any number-like --set value as a float (quoted or not): config strings never look so
@given(
    st.one_of(
        st.text(max_size=30).filter(_not_a_number), st.floats(allow_nan=False), st.integers(), st.booleans()
    )
)
def test_any_scalar_round_trips_through_set(value):
    (key_value,) = parse_overrides([f"k={yaml_value(value)}"]).values()
    assert key_value == value and type(key_value) is type(value)


def test_hostile_source_is_quoted():
    command = rerun_command("$(rm -rf ~); x", {"seed": 1})
    assert shlex.split(command)[3] == "$(rm -rf ~); x"
