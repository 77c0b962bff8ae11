"""Every command, fed a bad input, exits 2 with one line naming the problem and writes nothing.

The cases live in ``_bad_inputs.py``. Each runs in-process through ``kdbench.bench.cli.main`` with its own
$KDBENCH_HOME (a prepared CSV dataset in its cache) and working directory (a real results database as
``kdbench.db``); a few run again as a real ``python -m kdbench`` process. Guards turn anything expensive a bad
input must never reach (starting Ray, training, fitting baselines, downloading ml-100k, serving) into a
failure naming the case.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kdbench.bench.cli import COMMAND_GROUPS, main
from tests.commands._bad_inputs import CASES, SUBPROCESS_IDS, Case, Work, World

REPO = Path(__file__).resolve().parents[2]
BY_ID = {c.id: c for c in CASES}


class Escaped(BaseException):
    """A bad input got as far as real work (BaseException: no ``except Exception`` on the way swallows it)."""


# ---- the world each case runs in ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good inputs (``fx``), a $KDBENCH_HOME with the CSV fixture prepared, and a results database."""
    from kdbench.bench.data import prepare
    from kdbench.bench.provenance import environment
    from kdbench.bench.store import ResultStore

    fx = tmp_path_factory.mktemp("bad_inputs_fx")
    rng = np.random.default_rng(3)
    rows = 3000
    user, item, noise = rng.integers(0, 60, rows), rng.integers(0, 40, rows), rng.integers(0, 9, rows)
    click = (rng.random(rows) < 1 / (1 + np.exp(-(user % 5 - item % 3 - 1.0)))).astype(int)
    lines = ["user,item,genre,noise,click"]
    lines += [f"u{u},i{i},g{i % 6},n{n},{c}" for u, i, n, c in zip(user, item, noise, click, strict=True)]
    (fx / "clicks.csv").write_text("\n".join(lines) + "\n")
    (fx / "schema.yaml").write_text("label: click\ncategorical: [user, item, genre]\n")
    (fx / "other-suite.json").write_text(json.dumps(_other_suite_baseline()))

    made = tmp_path_factory.mktemp("bad_inputs_template")
    dataset = prepare("csv", path=fx / "clicks.csv", schema=fx / "schema.yaml", home=made / "home")
    with ResultStore(f"sqlite:///{made / 'kdbench.db'}") as store:
        store.record_environment(environment())
        store.record_dataset(dataset.info())
    return {"fx": fx, "home": made / "home", "db": made / "kdbench.db"}


def _other_suite_baseline() -> dict:
    """A well-formed baseline of another suite: no case in common with any suite the cases build."""
    case = {
        "name": "elsewhere", "dataset": "ml-100k", "dataset_fingerprint": "0" * 16, "config": {},
        "config_family": "f" * 16, "seeds": [0, 1], "figures": {"student_test_auc": [0.8, 0.81]}, "raw": {},
        "reference_ms": [3.0, 3.1], "wall_seconds": 10.0,
    }  # fmt: skip
    measurement = {"suite": "other", "suite_hash": "a" * 16, "device": "cpu", "threads": 1,
                   "wall_seconds": 20.0, "cases": [case]}  # fmt: skip
    return {"format": "kdbench-regression-baseline", "version": 1, "suite": "other", "environment": {},
            "git_sha": None, "measurement": measurement}  # fmt: skip


@pytest.fixture
def world(template: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    home, work = tmp_path / "home", tmp_path / "work"
    shutil.copytree(template["home"], home)
    work.mkdir()
    shutil.copyfile(template["db"], work / "kdbench.db")
    monkeypatch.setenv("KDBENCH_HOME", str(home))
    monkeypatch.delenv("KDBENCH_RECBOLE_WHEEL", raising=False)
    monkeypatch.delenv("KDBENCH_DEBUG", raising=False)
    monkeypatch.chdir(work)
    w = World(root=tmp_path, home=home, work=work, fx=template["fx"])
    yield w
    for kept in w.keep:
        kept.close()


@pytest.fixture
def guards(monkeypatch: pytest.MonkeyPatch) -> None:
    def escaped(what: str):
        def refuse(*_args, **_kwargs):
            raise Escaped(what)

        return refuse

    # dotted paths: monkeypatch imports each module it patches
    monkeypatch.setattr("kdbench.bench._sweep._ray.connected", escaped("Ray would start"))
    monkeypatch.setattr("kdbench.bench.trial.run_trial", escaped("a trial would train"))
    monkeypatch.setattr("kdbench.bench._baselines._cache.fit_baselines", escaped("baselines would be fitted"))
    monkeypatch.setattr("kdbench.bench.data._fetch._pip_download", escaped("ml-100k would be downloaded"))
    monkeypatch.setattr("kdbench.reports.serve", escaped("the site would be served"))


# ---- checks ------------------------------------------------------------------------------------------------
def snapshot(w: World) -> dict[str, tuple]:
    """Every file and folder under the case's root and the shared inputs: {path: (size, sha256)}."""
    tree: dict[str, tuple] = {}
    for label, root in (("case", w.root), ("fx", w.fx)):
        for folder, dirs, files in os.walk(root):
            for d in dirs:
                tree[f"{label}/{Path(folder, d).relative_to(root)}/"] = ("folder",)
            for f in files:
                path = Path(folder, f)
                data = path.read_bytes()
                tree[f"{label}/{path.relative_to(root)}"] = (len(data), hashlib.sha256(data).hexdigest())
    return tree


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    added = [f"new {p}" for p in after.keys() - before.keys()]
    removed = [f"removed {p}" for p in before.keys() - after.keys()]
    changed = [f"changed {p}" for p in before.keys() & after.keys() if before[p] != after[p]]
    return sorted(added + removed + changed)


def short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def check_refusal(case: Case, status: object, out: str, err: str) -> None:
    lines = err.splitlines()
    assert "Traceback" not in out + err, f"{case.id}: a traceback:\n{short(err, 2000)}"
    assert status == 2, f"{case.id}: exit status {status}, stderr: {short(err)}"
    assert len(lines) == 1 and lines[0].strip(), f"{case.id}: stderr is not one line:\n{short(err, 2000)}"
    assert lines[0].startswith("kdbench") and "error" in lines[0], f"{case.id}: {short(lines[0])}"
    assert case.expect in lines[0], f"{case.id}: {case.expect!r} not named in: {short(lines[0])}"


def run_main(case: Case, argv: list[str]) -> object:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's usage errors
        return e.code
    except Escaped as e:
        pytest.fail(f"{case.id}: the bad input was not refused up front: {e}", pytrace=False)
    except BaseException as e:  # what main() lets escape is a traceback for the user
        pytest.fail(f"{case.id}: {type(e).__name__} escaped main(): {short(str(e))}", pytrace=False)


# ---- the tests ---------------------------------------------------------------------------------------------
def test_the_corpus_covers_every_command() -> None:
    commands = {c.id.split("-")[0] for c in CASES}
    assert commands == {*COMMAND_GROUPS, "export"}, "a command without bad-input cases, or an unknown one"
    assert len(CASES) >= 100


def test_the_checks_catch_a_command_that_succeeds_and_writes(world: World, guards, capsys) -> None:
    """The harness itself: a good ``kdbench report`` (exit 0, a new site folder) must fail both checks."""
    good = Case("good-report", "error", ("report --out", Work("site")))
    before = snapshot(world)
    status = run_main(good, good.build(world))
    out, err = capsys.readouterr()
    with pytest.raises(AssertionError, match="exit status 0"):
        check_refusal(good, status, out, err)
    assert "new case/work/site/index.html" in changes(before, snapshot(world))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    case: Case, world: World, guards, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = case.build(world)
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)
    before = snapshot(world)
    capsys.readouterr()
    status = run_main(case, argv)
    out, err = capsys.readouterr()
    check_refusal(case, status, out, err)
    assert not (diff := changes(before, snapshot(world))), f"{case.id}: files written: {diff[:10]}"


@pytest.mark.parametrize("case_id", SUBPROCESS_IDS)
def test_a_real_process_exits_2_with_one_line(case_id: str, world: World) -> None:
    case = BY_ID[case_id]
    argv = case.build(world)
    before = snapshot(world)
    env = {**os.environ, "PYTHONPATH": str(REPO), "KDBENCH_HOME": str(world.home), **world.env}
    done = subprocess.run(
        [sys.executable, "-m", "kdbench", *argv], cwd=world.work, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    check_refusal(case, done.returncode, done.stdout, done.stderr)
    assert not (diff := changes(before, snapshot(world))), f"{case.id}: files written: {diff[:10]}"
