"""Every impossible or malformed space is refused with the file, line and key in the message."""

from __future__ import annotations

import textwrap

import pytest

from kdbench.search_spaces import SearchSpaceError, load_space, parse_space


def _error(text: str, **kwargs) -> SearchSpaceError:
    with pytest.raises(SearchSpaceError) as info:
        parse_space(textwrap.dedent(text), source="t.yaml", **kwargs)
    return info.value


# (YAML, line, key, words of the message)
CASES = {
    "low > high": (
        """\
        params:
          depth: {int: [5, 3]}
        """,
        2,
        "params.depth.int",
        "low 5 is greater than high 3",
    ),
    "float low > high": (
        """\
        params:
          teacher: {choices: [crossnet]}
          alpha:
            float: [1.0, 0.1]
        """,
        4,
        "params.alpha.float",
        "greater than high",
    ),
    "log with low 0": (
        """\
        params:
          lr: {float: [0.0, 1.0], log: true}
        """,
        2,
        "params.lr.float",
        "log scale needs low > 0",
    ),
    "log with negative int low": (
        """\
        params:
          depth: {int: [-1, 3], log: true}
        """,
        2,
        "params.depth.int",
        "log scale needs low > 0",
    ),
    "log and step": (
        """\
        params:
          lr:
            float: [0.1, 1.0]
            log: true
            step: 0.1
        """,
        5,
        "params.lr.step",
        "cannot be combined",
    ),
    "step not dividing the range": (
        """\
        params:
          depth: {int: [1, 4], step: 2}
        """,
        2,
        "params.depth.step",
        "not a multiple of step",
    ),
    "step <= 0": (
        """\
        params:
          alpha: {float: [0.1, 1.0], step: 0}
        """,
        2,
        "params.alpha.step",
        "step must be > 0",
    ),
    "float bound for int": (
        """\
        params:
          depth: {int: [1, 2.5]}
        """,
        2,
        "params.depth.int.1",
        "expected an integer",
    ),
    "string bound": (
        """\
        params:
          lr: {float: [low, 1.0]}
        """,
        2,
        "params.lr.float.0",
        "expected a number",
    ),
    "infinite bound": (
        """\
        params:
          beta: {float: [1.0, .inf]}
        """,
        2,
        "params.beta.float.1",
        "finite",
    ),
    "range of three": (
        """\
        params:
          depth: {int: [1, 2, 3]}
        """,
        2,
        "params.depth.int",
        "takes [low, high]",
    ),
    "log not a bool": (
        """\
        params:
          lr: {float: [0.1, 1.0], log: maybe}
        """,
        2,
        "params.lr.log",
        "true or false",
    ),
    "empty choices": (
        """\
        name: x
        params:
          teacher: {choices: []}
        """,
        3,
        "params.teacher.choices",
        "choices is empty",
    ),
    "repeated choice": (
        """\
        params:
          embedding_size:
            choices:
              - 8
              - 16
              - 8
        """,
        6,
        "params.embedding_size.choices.2",
        "repeats choice 8",
    ),
    "list choice colliding with its string": (
        """\
        params:
          t_cin: {choices: [[32, 32], "32-32"]}
        """,
        2,
        "params.t_cin.choices.1",
        "repeats choice [32, 32]",
    ),
    "nested list choice": (
        """\
        params:
          t_cin: {choices: [[[1]]]}
        """,
        2,
        "params.t_cin.choices.0",
        "list of scalars",
    ),
    "unknown distribution key": (
        """\
        params:
          depth: {int: [1, 3], lg: true}
        """,
        2,
        "params.depth.lg",
        "unknown key",
    ),
    "log on choices": (
        """\
        params:
          depth: {choices: [1, 2], log: true}
        """,
        2,
        "params.depth.log",
        "applies only to int and float",
    ),
    "no distribution": (
        """\
        params:
          depth: {low: 1, high: 3}
        """,
        2,
        "params.depth",
        "exactly one of choices, int, float, value (none given)",
    ),
    "two distributions": (
        """\
        params:
          depth: {int: [1, 3], choices: [1, 2]}
        """,
        2,
        "params.depth",
        "both choices and int",
    ),
    "spec not a mapping": (
        """\
        params:
          depth: 3
        """,
        2,
        "params.depth",
        "must be a mapping",
    ),
    "unknown top-level key": (
        """\
        name: x
        parms:
          depth: {int: [1, 3]}
        """,
        2,
        "parms",
        "unknown key",
    ),
    "duplicate param": (
        """\
        params:
          depth: {int: [1, 3]}
          alpha: {float: [0.1, 1.0]}
          depth: {int: [1, 5]}
        """,
        4,
        "params.depth",
        "duplicate key (first defined at line 2)",
    ),
    "duplicate key inside a spec": (
        """\
        params:
          depth:
            int: [1, 3]
            int: [1, 5]
        """,
        4,
        "params.depth.int",
        "duplicate key",
    ),
    "duplicate top-level key": (
        """\
        fixed: {seed: 1}
        params: {depth: {int: [1, 3]}}
        fixed: {seed: 2}
        """,
        3,
        "fixed",
        "duplicate key (first defined at line 1)",
    ),
    "fixed and searched": (
        """\
        fixed:
          depth: 3
        params:
          depth: {int: [1, 3]}
        """,
        4,
        "params.depth",
        "also fixed (fixed.depth, line 2)",
    ),
    "condition on a missing parameter": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          t_depth:
            int: [1, 3]
            when: {teachr: crossnet}
        """,
        5,
        "params.t_depth.when.teachr",
        "not a parameter",
    ),
    "condition on a value never taken": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          t_depth:
            int: [1, 3]
            when:
              teacher: dcn
        """,
        6,
        "params.t_depth.when.teacher",
        "teacher can never be dcn",
    ),
    "condition on an int outside its range": (
        """\
        params:
          depth: {int: [1, 3]}
          interaction: {choices: [inner, outer], when: {depth: {in: [2, 4]}}}
        """,
        3,
        "params.interaction.when.depth",
        "depth can never be 4",
    ),
    "condition on a fixed key with another value": (
        """\
        fixed: {teacher: cin}
        params:
          t_depth: {int: [1, 3], when: {teacher: crossnet}}
        """,
        3,
        "params.t_depth.when.teacher",
        "fixed at cin, never crossnet",
    ),
    "condition on a float": (
        """\
        params:
          alpha: {float: [0.1, 1.0]}
          beta: {float: [1.0, 2.0], when: {alpha: 0.5}}
        """,
        3,
        "params.beta.when.alpha",
        "conditions on floats are not supported",
    ),
    "empty when": (
        """\
        params:
          depth: {int: [1, 3], when: {}}
        """,
        2,
        "params.depth.when",
        "non-empty mapping",
    ),
    "bad when operator": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          depth: {int: [1, 3], when: {teacher: {not: cin}}}
        """,
        3,
        "params.depth.when.teacher",
        "{in: [v1, v2]}",
    ),
    "cycle": (
        """\
        params:
          a: {choices: [1, 2], when: {b: 1}}
          b: {choices: [1, 2], when: {a: 1}}
        """,
        2,
        "params.a",
        "cycle: a -> b -> a",
    ),
    "self condition": (
        """\
        params:
          a: {choices: [1, 2], when: {a: 1}}
        """,
        2,
        "params.a",
        "cycle: a -> a",
    ),
    "overlapping variants": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          depth: {choices: [1, 2]}
          lr:
            - {float: [0.001, 0.01], when: {teacher: crossnet}}
            - {float: [0.01, 0.1], when: {depth: 1}}
        """,
        6,
        "params.lr.1",
        "can both apply",
    ),
    "variant without a condition": (
        """\
        params:
          lr:
            - {float: [0.001, 0.01]}
        """,
        3,
        "params.lr.0",
        "needs a `when`",
    ),
    "conditions that never hold together": (
        """\
        params:
          teacher: {choices: [crossnet, cin]}
          t_depth: {int: [1, 3], when: {teacher: crossnet}}
          wide:
            choices: [true, false]
            when: {t_depth: 2, teacher: cin}
        """,
        6,
        "params.wide.when",
        "can never be active: its conditions on teacher conflict",
    ),
    "non-identifier key": (
        """\
        params:
          t-depth: {int: [1, 3]}
        """,
        2,
        "params.t-depth",
        "identifiers",
    ),
    "non-string key": (
        """\
        params:
          1: {int: [1, 3]}
        """,
        2,
        "params",
        "keys must be strings",
    ),
    "mapping as fixed value": (
        """\
        fixed:
          seed: {a: 1}
        """,
        2,
        "fixed.seed",
        "scalar or a list of scalars",
    ),
    "name not a word": (
        """\
        name: two words
        params: {depth: {int: [1, 3]}}
        """,
        1,
        "name",
        "name must be a word",
    ),
    "merge key": (
        """\
        base: &b {int: [1, 3]}
        params:
          depth: {<<: *b}
        """,
        3,
        "params.depth",
        "merge keys",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_problem_names_line_and_key(case: str) -> None:
    text, line, key, words = CASES[case]
    error = _error(text)
    message = str(error)
    assert f"t.yaml:{line}: {key}: " in message, message
    assert words in message, message
    assert any(p.line == line and p.key == key for p in error.problems)


def test_every_problem_is_reported_at_once() -> None:
    error = _error(
        """\
        params:
          depth: {int: [5, 3]}
          lr: {float: [0.0, 1.0], log: true}
          teacher: {choices: []}
        """
    )
    assert [p.line for p in error.problems] == [2, 3, 4]
    assert str(error).startswith("3 problems in search space:")


def test_known_keys_lists_the_valid_ones() -> None:
    error = _error(
        """\
        fixed: {sed: 1}
        params:
          depth: {int: [1, 3]}
          dept: {int: [1, 3]}
        """,
        known_keys=["depth", "seed"],
    )
    message = str(error)
    assert "t.yaml:4: params.dept: unknown key (valid keys: depth, seed)" in message
    assert "t.yaml:1: fixed.sed: unknown key (valid keys: depth, seed)" in message


def test_yaml_syntax_error_names_the_line() -> None:
    error = _error(
        """\
        params:
          depth: {int: [1, 3]
          alpha: 1
        """
    )
    assert "not valid YAML" in str(error)
    assert error.problems[0].line is not None


@pytest.mark.parametrize("text", ["", "# only a comment\n", "[1, 2]\n", "name: x\n"])
def test_empty_or_non_mapping_documents(text: str) -> None:
    with pytest.raises(SearchSpaceError, match=r"t\.yaml:1: "):
        parse_space(text, source="t.yaml")


def test_unknown_name_lists_the_shipped_spaces() -> None:
    with pytest.raises(SearchSpaceError, match=r"unknown search space 'nope'.*ci, default, quick"):
        load_space("nope")


def test_missing_file(tmp_path) -> None:
    with pytest.raises(SearchSpaceError, match="cannot read search space"):
        load_space(tmp_path / "absent.yaml")


def test_file_problems_name_the_path(tmp_path) -> None:
    path = tmp_path / "mine.yml"
    path.write_text("params:\n  depth: {int: [3, 1]}\n")
    with pytest.raises(SearchSpaceError, match=rf"{path}:2: params\.depth\.int: low 3"):
        load_space(str(path))


def test_error_is_a_value_error() -> None:
    assert issubclass(SearchSpaceError, ValueError)
