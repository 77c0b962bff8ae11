"""docs/regress.md's CI workflow files: each parses as YAML, every ``kdbench`` command in it parses with the
command line parser, and its steps are wired together (the A/B step writes the files the later steps read,
those steps run after a failing A/B step too, the cache holds ``$KDBENCH_HOME``)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from kdbench.bench.cli import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "regress.md"


def _workflow(heading: str) -> dict[str, Any]:
    """The first ```yaml block under ``### heading``."""
    text = DOC.read_text()
    section = text[text.index(f"### {heading}\n") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, f"no yaml block under {heading}"
    return yaml.safe_load(block.group(1))


def _kdbench_commands(script: str) -> list[list[str]]:
    """Each ``kdbench ...`` command of a shell script (continuation lines joined), as argv without
    ``kdbench``, CI variables replaced by placeholders."""
    script = re.sub(r"\$\{\{[^}]*\}\}", "X", script.replace("\\\n", " "))
    commands = []
    for line in script.splitlines():
        line = line.strip()
        if line.startswith("kdbench "):
            commands.append([re.sub(r"\$\{?\w+\}?", "X", word) for word in shlex.split(line)[1:]])
    return commands


def _parses(argv: list[str]) -> dict[str, Any]:
    try:
        return vars(build_parser().parse_args(argv))
    except SystemExit as e:  # argparse's way of refusing
        pytest.fail(f"`kdbench {' '.join(argv)}` does not parse: exit {e.code}")


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_the_github_workflow_runs_ab_on_pull_requests_and_reports_it() -> None:
    workflow = _workflow("GitHub Actions")
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert "pull_request" in triggers and "workflow_dispatch" in triggers
    ab = workflow["jobs"]["ab"]
    steps = ab["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert ab["env"]["KDBENCH_HOME"].endswith("/" + cache["with"]["path"])

    runs = [(i, argv) for i, s in enumerate(steps) for argv in _kdbench_commands(s.get("run", ""))]
    (at, argv), *_ = [(i, a) for i, a in runs if a[:2] == ["regress", "ab"]]
    assert _parses(argv)["func"].__name__ == "_ab_command"
    assert _option(argv, "--base") == "origin/X"  # origin/${{ github.base_ref }}: the target branch
    markdown, junit = _option(argv, "--markdown"), _option(argv, "--junit")
    later = steps[at + 1 :]
    assert all(s.get("if") == "always()" for s in later)  # the reports come out of a failing A/B too
    assert any(f'cat {markdown} >> "$GITHUB_STEP_SUMMARY"' in s.get("run", "") for s in later)
    assert any(f"--body-file {markdown}" in s.get("run", "") for s in later)
    assert any(s.get("with", {}).get("report_paths") == junit for s in later)

    refresh = workflow["jobs"]["refresh-baseline"]
    (baseline,) = [a for s in refresh["steps"] for a in _kdbench_commands(s.get("run", ""))]
    assert _parses(baseline)["func"].__name__ == "_baseline_command"
    uploaded = next(s for s in refresh["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert uploaded["with"]["path"] == _option(baseline, "--out") == "bench/baselines/smoke.json"


def test_the_gitlab_pipeline_runs_ab_on_merge_requests_and_reports_it() -> None:
    pipeline = _workflow("GitLab CI")
    assert pipeline["variables"]["GIT_DEPTH"] == "0"
    assert pipeline["variables"]["KDBENCH_HOME"] == "$CI_PROJECT_DIR/.kdbench"
    assert ".kdbench/" in pipeline["default"]["cache"]["paths"]
    job = pipeline["regress-ab"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    (argv,) = [a for line in job["script"] for a in _kdbench_commands(line)]
    assert _parses(argv)["func"].__name__ == "_ab_command"
    fetch = 'git fetch origin "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"'
    ab_line = next(i for i, line in enumerate(job["script"]) if line.startswith("kdbench regress ab"))
    assert job["script"].index(fetch) < ab_line  # the base ref exists before A/B looks it up
    assert _option(argv, "--base") == "origin/X"
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == _option(argv, "--junit")
    assert _option(argv, "--markdown") in job["artifacts"]["paths"]
    assert f"cat {_option(argv, '--markdown')}" in job["after_script"]
    assert f"body@{_option(argv, '--markdown')}" in job["after_script"][1]

    refresh = pipeline["refresh-baseline"]
    (baseline,) = [a for line in refresh["script"] for a in _kdbench_commands(line)]
    assert _parses(baseline)["func"].__name__ == "_baseline_command"
    assert refresh["artifacts"]["paths"] == [_option(baseline, "--out")]


def test_every_kdbench_command_in_the_guide_parses() -> None:
    """The plain command blocks too: what a reader copies must at least be a valid command line."""
    blocks, block, language = [], None, ""
    for line in DOC.read_text().splitlines():
        if line.startswith("```"):
            if block is None:
                block, language = [], line[3:]
            else:
                blocks += ["\n".join(block)] if language == "" else []
                block = None
        elif block is not None:
            block.append(re.sub(r"\s+# .*", "", line))
    commands = [argv for text in blocks for argv in _kdbench_commands(text)]
    assert len(commands) == 8  # the workflows are checked above
    for argv in commands:
        _parses(argv)
