"""Suite YAML: the shipped suites load; every malformed suite is one error naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdbench.bench.errors import RegressionError
from kdbench.bench.regress import FIGURES, available_suites, load_suite, parse_suite

GOOD = """\
seeds: 2
defaults: {embedding_size: 4}
cases:
  - name: a
    dataset: ml-100k
    config: {teacher: cin, t_cin: [8, 8], interaction: inner}
"""


def test_shipped_suites_load_and_validate() -> None:
    assert {"smoke", "standard"} <= set(available_suites())
    smoke = load_suite("smoke")
    assert smoke.name == "smoke" and len(smoke.cases) == 1 and smoke.threads == 1
    assert all(len(c.seeds) >= 2 and c.dataset.source == "ml-100k" for c in smoke.cases)
    standard = load_suite("standard")
    pairs = {(c.config["teacher"], c.config["interaction"]) for c in standard.cases}
    assert pairs == {("crossnet", "inner"), ("crossnet", "outer"), ("cin", "inner"), ("cin", "outer")}


def test_a_good_suite_merges_defaults_and_tracks_every_figure() -> None:
    suite = parse_suite(GOOD, name="g")
    (case,) = suite.cases
    assert case.seeds == (0, 1)
    assert case.figures == tuple(FIGURES)
    assert case.config["embedding_size"] == 4 and case.config["t_cin"] == [8, 8]
    assert "seed" not in case.config and "t_depth" not in case.config
    assert case.trial_config(5).seed == 5


def test_the_hash_ignores_comments_but_not_content() -> None:
    commented = "# a comment\n" + GOOD
    assert parse_suite(commented, name="g").hash == parse_suite(GOOD, name="g").hash
    assert (
        parse_suite(GOOD.replace("seeds: 2", "seeds: 3"), name="g").hash != parse_suite(GOOD, name="g").hash
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + "retries: 3\n", "unknown key(s) retries"),
        (
            GOOD.replace("    dataset: ml-100k\n", "    dataset: ml-100k\n    datset: x\n"),
            "unknown key(s) datset",
        ),
        (GOOD.replace("    dataset: ml-100k\n", ""), "case 'a': missing 'dataset'"),
        (GOOD.replace("dataset: ml-100k", "dataset: ml-200k"), "dataset source 'ml-200k' is unknown"),
        (GOOD.replace("dataset: ml-100k", "dataset: {source: csv, pth: x.csv}"), "unknown key(s) pth"),
        (
            GOOD.replace("interaction: inner", "interacton: inner"),
            "case 'a': invalid trial config: unknown key",
        ),
        (GOOD.replace("interaction: inner", "interaction: inner, t_depth: 2"), "'t_depth' applies only"),
        (GOOD.replace("interaction: inner", "interaction: inner, seed: 3"), "'seed' is not a config key"),
        (GOOD.replace("seeds: 2", "seeds: 1"), "at least 2 distinct seeds"),
        (GOOD.replace("seeds: 2", "seeds: [4, 4]"), "at least 2 distinct seeds"),
        (GOOD.replace("seeds: 2", "seeds: two"), "'seeds' must be a number of seeds"),
        (GOOD + "figures: [student_auc]\n", "unknown figure(s) student_auc"),
        (GOOD + "threads: 0\n", "'threads' must be an integer >= 1"),
        (GOOD + "  - name: a\n    dataset: ml-100k\n", "duplicate case name(s) a"),
        (GOOD.replace("name: a", "name: 'a b'"), "needs a 'name'"),
        ("cases: []\n", "'cases' must be a non-empty list"),
        ("- just a list\n", "must be a mapping"),
        ("cases: [\n", "is not valid YAML"),
    ],
)
def test_a_malformed_suite_is_one_error_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(RegressionError) as info:
        parse_suite(text, name="bad", source="bad.yaml")
    assert message in str(info.value)
    assert "bad.yaml" in str(info.value)
    assert "\n" not in str(info.value)


def test_an_unknown_suite_name_lists_the_shipped_ones() -> None:
    with pytest.raises(RegressionError, match=r"unknown suite 'smok'.*smoke"):
        load_suite("smok")
    with pytest.raises(RegressionError, match=r"suite file nowhere/x\.yaml not found"):
        load_suite("nowhere/x.yaml")


def test_a_suite_file_that_is_not_utf8_text_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(GOOD.replace("name: a", "name: caf\xe9").encode("latin-1"))
    with pytest.raises(RegressionError, match=r"latin\.yaml is not UTF-8 text \(byte \d+\)"):
        load_suite(path)


def test_dataset_paths_are_relative_to_the_suite_file(tmp_path: Path) -> None:
    suite_file = tmp_path / "mine.yaml"
    suite_file.write_text(
        GOOD.replace("dataset: ml-100k", "dataset: {source: csv, path: data/c.csv, schema: s.yaml}")
    )
    suite = load_suite(suite_file)
    assert suite.name == "mine"
    assert suite.cases[0].dataset.path == str(tmp_path / "data" / "c.csv")
    assert suite.cases[0].dataset.schema == str(tmp_path / "s.yaml")
