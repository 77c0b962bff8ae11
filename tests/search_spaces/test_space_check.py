"""A space that can give a config no trial accepts is refused at load time, naming the parameter and value.

``parse_space(check=TrialConfig.problems)`` is what ``kdbench sweep`` and ``kdbench space`` run (through
``kdbench.bench.sweep.load_trial_space``); that a sweep refuses before starting anything: tests/sweep.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap

import pytest

from kdbench import search_spaces
from kdbench.bench.config import TrialConfig  # tests may import bench; the search_spaces package never does
from kdbench.search_spaces import SearchSpaceError, available_spaces, load_space, parse_space


def _refusal(text: str) -> SearchSpaceError:
    with pytest.raises(SearchSpaceError) as info:
        parse_space(textwrap.dedent(text), source="mine.yaml", check=TrialConfig.problems)
    return info.value


# name: (YAML, line, key, the words the one-line message must hold)
IMPOSSIBLE = {
    # ---- the four ----
    "fixed lr is a word": (
        """\
        fixed: {lr: "fast"}
        params:
          depth: {int: [1, 3]}
        """,
        1, "fixed.lr", ["lr = 'fast' (fixed)", "lr must be of type float, got 'fast'"],
    ),
    "teacher choice no trial knows": (
        """\
        params:
          teacher: {choices: [crossnet, rnn]}
        """,
        2, "params.teacher", ["teacher = 'rnn' (a choice)", "teacher must be one of"],
    ),
    "embedding size range below 1": (
        """\
        params:
          embedding_size: {int: [-4, 0]}
        """,
        2, "params.embedding_size", ["embedding_size = -4 (low end of int -4 .. 0)", "must be >= 1"],
    ),
    "fixed max_epochs is a word": (
        """\
        name: epochs-in-words
        fixed:
          patience: 3
          max_epochs: "two"
        """,
        4, "fixed.max_epochs", ["max_epochs = 'two'", "must be of type int"],
    ),
    # ---- one key, one rule ----
    "negative student depth": (
        """\
        params:
          depth: {int: [-2, 3]}
        """,
        2, "params.depth", ["depth = -2 (low end of int -2 .. 3)"],
    ),
    "negative alpha": (
        """\
        params:
          alpha: {float: [-0.5, 0.5]}
        """,
        2, "params.alpha", ["alpha = -0.5", "alpha must be a finite number >= 0"],
    ),
    "unknown interaction": (
        """\
        params:
          interaction: {choices: [inner, outer, sideways]}
        """,
        2, "params.interaction", ["interaction = 'sideways'", "interaction must be one of"],
    ),
    "patience 0": (
        """\
        params:
          patience: {int: [0, 10], step: 5}
        """,
        2, "params.patience", ["patience = 0 (low end of int 0 .. 10 step 5)", "patience must be >= 1"],
    ),
    "batch size as a float range": (
        """\
        params:
          batch_size: {float: [512, 4096], log: true}
        """,
        2, "params.batch_size", ["batch_size = 512 (low end of float 512 .. 4096 (log))", "of type int"],
    ),
    "lr from zero": (
        """\
        params:
          lr: {float: [0.0, 1.0e-2]}
        """,
        2, "params.lr", ["lr = 0 (low end", "lr must be a finite number > 0"],
    ),
    "negative weight decay among choices": (
        """\
        params:
          weight_decay: {choices: [1.0e-6, 1.0e-4, -1.0e-3]}
        """,
        2, "params.weight_decay", ["weight_decay = -0.001 (a choice)"],
    ),
    "finetune as a word": (
        """\
        params:
          finetune: {value: "yes"}
        """,
        2, "params.finetune", ["finetune = 'yes' (its value)", "finetune must be of type bool"],
    ),
    "amp as 1": (
        """\
        fixed:
          amp: 1
        """,
        2, "fixed.amp", ["amp = 1 (fixed)", "amp must be of type bool"],
    ),
    "seed as a float": (
        """\
        fixed: {seed: 2022.5}
        """,
        1, "fixed.seed", ["seed = 2022.5 (fixed)"],
    ),
    "an unknown teacher as the fixed value": (
        """\
        fixed: {teacher: DCNv2}
        """,
        1, "fixed.teacher", ["teacher = 'DCNv2'"],
    ),
    # ---- list choices (t_cin) on their branch ----
    "a t_cin layer of zero": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          t_cin:
            choices: [[200, 200], [200, 0]]
            when: {teacher: cin}
        """,
        3, "params.t_cin", ["t_cin = [200, 0] (a choice)", "layer sizes >= 1"],
    ),
    "an empty t_cin": (
        """\
        params:
          teacher: {choices: [cin]}
          t_cin: {value: [], when: {teacher: cin}}
        """,
        3, "params.t_cin", ["t_cin = [] (its value)", "non-empty list"],
    ),
    "t_cin as an int range": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          t_cin: {int: [8, 64], when: {teacher: cin}}
        """,
        3, "params.t_cin", ["t_cin = 8 (low end of int 8 .. 64)", "of type list of int"],
    ),
    "t_cin of strings": (
        """\
        fixed: {teacher: cin}
        params:
          t_cin: {choices: [[64, 64], ["64", "64"]], when: {teacher: cin}}
        """,
        3, "params.t_cin", ["t_cin = ['64', '64'] (a choice)"],
    ),
    "a crossnet depth of zero on its branch": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          t_depth: {value: 0, when: {teacher: crossnet}}
        """,
        3, "params.t_depth", ["t_depth = 0 (its value)", "t_depth must be >= 1"],
    ),
    # ---- keys that depend on each other ----
    "t_cin on every branch": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          t_cin: {choices: [[32, 32]]}
        """,
        3, "params.t_cin",
        ["t_cin = [32, 32] (a choice) together with teacher = 'crossnet' (params.teacher, line 2)",
         "'t_cin' applies only to teacher 'cin' or 'xdeepfm', not 'crossnet'"],
    ),
    "t_cin without a teacher (the default is crossnet)": (
        """\
        params:
          t_cin: {choices: [[32, 32], [64, 64]]}
        """,
        2, "params.t_cin", ["'t_cin' applies only to teacher 'cin' or 'xdeepfm', not 'crossnet'"],
    ),
    "t_depth on the cin branch": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          t_depth: {int: [1, 3], when: {teacher: cin}}
        """,
        3, "params.t_depth",
        ["together with teacher = 'cin'", "'t_depth' applies only to teacher 'crossnet'"],
    ),
    "alpha and beta both reach 0": (
        """\
        params:
          alpha: {choices: [0.1, 1.0, 0.0]}  # each 0 is fine alone: only the pair is refused
          beta: {choices: [1000.0, 0.0]}
        """,
        2, "params.alpha",
        ["alpha = 0 (a choice) together with beta = 0 (params.beta, line 3)", "alpha and beta are both 0"],
    ),
    "alpha fixed at 0, beta's range starts at 0": (
        """\
        fixed:
          alpha: 0
        params:
          beta: {float: [0.0, 10.0]}
        """,
        4, "params.beta", ["beta = 0 (low end", "together with alpha = 0 (fixed.alpha, line 2)"],
    ),
    # ---- reached only through conditions ----
    "a bad value reached only when an int parent takes a middle value": (
        """\
        params:
          depth: {int: [1, 5]}
          embedding_size:
            - {choices: [8, 16], when: {depth: {in: [1, 5]}}}
            - {choices: [8, 0], when: {depth: 3}}
        """,
        5, "params.embedding_size", ["embedding_size = 0 (a choice)"],
    ),
    "a bad variant of lr on one teacher's branch": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          lr:
            - {float: [1.0e-4, 1.0e-2], log: true, when: {teacher: crossnet}}
            - {float: [0.0, 1.0e-2], when: {teacher: cin}}
        """,
        5, "params.lr", ["lr = 0 (low end of float 0 .. 0.01)"],
    ),
    "a branch opened by a fixed key": (
        """\
        fixed: {teacher: cin}
        params:
          t_cin: {choices: [[16], [-16]], when: {teacher: cin}}
        """,
        3, "params.t_cin", ["t_cin = [-16] (a choice)"],
    ),
    "a grandchild two conditions deep": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          t_depth: {choices: [1, 2], when: {teacher: crossnet}}
          depth: {choices: [1, 2]}
          patience: {choices: [3, -3], when: {t_depth: 2}}
        """,
        5, "params.patience", ["patience = -3 (a choice)"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(IMPOSSIBLE), ids=list(IMPOSSIBLE))
def test_an_impossible_space_is_refused_naming_the_parameter(case: str) -> None:
    text, line, key, words = IMPOSSIBLE[case]
    error = _refusal(text)
    message = str(error)
    assert len(error.problems) == 1 and len(message.splitlines()) == 1, message
    assert message.startswith(f"mine.yaml:{line}: {key}: "), message
    for word in words:
        assert word in message, message


# Spaces the check must let through: every config they can give is a valid trial config.
POSSIBLE = {
    "teacher fixed to cin, t_cin unconditional": """\
        fixed: {teacher: cin}
        params:
          t_cin: {choices: [[32, 32], [64, 64, 64]]}
        """,
    "a single teacher choice, t_cin unconditional": """\
        params:
          teacher: {choices: [cin]}
          t_cin: {choices: [[32, 32], [64, 64, 64]]}
          depth: {int: [1, 4]}
        """,
    "alpha may be 0 while beta never is": """\
        params:
          alpha: {float: [0.0, 1.0]}
          beta: {float: [10.0, 10000.0], log: true}
        """,
    "beta may be 0 while alpha never is": """\
        fixed: {alpha: 0.5}
        params:
          beta: {choices: [0.0, 100.0]}
        """,
    "zero-weight lr only where it never applies": """\
        params:
          teacher: {choices: [crossnet, cin]}
          t_depth: {int: [1, 4], when: {teacher: crossnet}}
          t_cin: {choices: [[100, 100], [200, 200, 200]], when: {teacher: cin}}
          patience: {choices: [1, 5], when: {t_depth: {in: [2, 3]}}}
          embedding_size:
            - {choices: [4, 8], when: {teacher: crossnet}}
            - {int: [8, 64], step: 8, when: {teacher: cin}}
        """,
    "ints for float keys": """\
        params:
          alpha: {int: [0, 1]}
          beta: {int: [1, 1000]}
          weight_decay: {value: 0}
        """,
}


@pytest.mark.parametrize("case", list(POSSIBLE), ids=list(POSSIBLE))
def test_a_possible_space_loads_and_its_samples_are_valid(case: str) -> None:
    space = parse_space(textwrap.dedent(POSSIBLE[case]), source="mine.yaml", check=TrialConfig.problems)
    for config in space.sample(200, seed=5):
        TrialConfig.from_dict(config)


@pytest.mark.parametrize("name", available_spaces())
def test_the_shipped_spaces_pass_the_check(name: str) -> None:
    load_space(name, known_keys=[f for f in TrialConfig.__dataclass_fields__], check=TrialConfig.problems)


def test_the_check_needs_no_bench_and_runs_only_when_asked() -> None:
    """Without ``check`` a space loads unchecked (the package knows nothing of TrialConfig)."""
    space = parse_space("params:\n  embedding_size: {int: [-4, 0]}\n")
    assert space.params[0].low == -4
    code = "import sys, kdbench.search_spaces; print(any(m.startswith('kdbench.bench') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---- which configs are tried ----
BRANCHY = """\
    params:
      teacher: {choices: [crossnet, cin]}
      t_depth: {choices: [1, 2], when: {teacher: crossnet}}
      t_cin: {choices: [[8], [16, 16]], when: {teacher: cin}}
      interaction: {choices: [inner, outer]}
      depth: {choices: [1, 2, 3]}
      amp: {value: true, when: {t_depth: 2}}
    """


def _key(config: dict) -> str:
    return json.dumps(config, sort_keys=True)


def test_every_config_tried_is_one_the_space_gives_and_every_pair_is_covered() -> None:
    """Only producible configs are tried (so nothing valid is refused), and within each branch every pair of
    values of two parameters meets in some tried config (so two-key rules are found)."""
    tried: list[dict] = []

    def record(config: dict) -> list:
        tried.append(dict(config))
        return []

    space = parse_space(textwrap.dedent(BRANCHY), check=record)
    given = {_key(c): c for c in space.sample(600, seed=0)}
    assert len(given) == 24  # 2 t_depth x 2 t_cin ... : crossnet 2*2*3, cin 2*2*3
    assert {_key(c) for c in tried} <= set(given)
    for config in given.values():
        for (k1, v1), (k2, v2) in itertools.combinations(config.items(), 2):
            assert any(t.get(k1) == v1 and t.get(k2) == v2 for t in tried), (k1, v1, k2, v2)
    assert len(tried) < len(given)  # pairs, not the whole product


def test_the_first_refusal_names_the_keys_the_caller_blames() -> None:
    """``problems_of`` says which keys are at fault; the message names those the space set, in its order."""

    def no_inner_with_depth_3(config: dict) -> list:
        if config.get("interaction") == "inner" and config.get("depth") == 3:
            return [(("depth", "interaction", "seed"), "inner students stop at depth 2")]
        return []

    with pytest.raises(SearchSpaceError) as info:
        parse_space(textwrap.dedent(BRANCHY), source="branchy.yaml", check=no_inner_with_depth_3)
    assert str(info.value) == (
        "branchy.yaml:6: params.depth: depth = 3 (a choice) together with interaction = 'inner' "
        "(params.interaction, line 5) is not a valid trial config: inner students stop at depth 2"
    )


def test_a_space_too_large_to_check_is_refused_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_spaces._check, "MAX_CONFIGS", 20)
    with pytest.raises(SearchSpaceError, match=r"default\.yaml: params: too many combinations to check"):
        load_space("default", check=TrialConfig.problems)
