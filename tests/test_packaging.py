"""kdbench installs as one import namespace, ``kdbench``: no generic top-level names (``models``, ``bench``)
in site-packages, every sub-package listed for the wheel, and no module importing the folders by their bare
names (in a checkout that would load a second copy of a module beside ``kdbench.*``)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("models", "search_spaces", "bench", "reports")


def _packages_on_disk() -> set[str]:
    """Every folder under the namespace's folders: code (an ``__init__.py``) or data files alike."""
    found = {"kdbench"}
    for folder in FOLDERS:
        for path in [ROOT / folder, *(ROOT / folder).rglob("*")]:
            if path.is_dir() and path.name != "__pycache__" and any(p.is_file() for p in path.iterdir()):
                found.add(".".join(("kdbench", *path.relative_to(ROOT).parts)))
    return found


def test_every_sub_package_is_listed_for_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert listed == _packages_on_disk()


def _bare_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        bad += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n.split(".")[0] in FOLDERS]
    return bad


def test_no_module_imports_the_folders_by_their_bare_names():
    files = [p for folder in (*FOLDERS, "kdbench", "tests") for p in (ROOT / folder).rglob("*.py")]
    assert [line for path in files for line in _bare_imports(path)] == []


@pytest.mark.skipif(
    not os.environ.get("CI") and sys.prefix == sys.base_prefix, reason="needs the installed kdbench"
)
def test_outside_the_checkout_only_the_kdbench_namespace_imports(tmp_path: Path):
    """What a user's environment sees: ``import kdbench.models`` works, ``import models`` is theirs."""
    code = (
        "import importlib.util, kdbench.models, kdbench.bench.cli;"
        "print(all(importlib.util.find_spec(n) is None for n in"
        " ('models', 'bench', 'reports', 'search_spaces')))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
    main = subprocess.run(
        [sys.executable, "-m", "kdbench", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert main.returncode == 0 and "usage: kdbench" in main.stdout
    # files shipped inside the packages are found through the namespace (importlib.resources), not a checkout
    suites = subprocess.run(
        [sys.executable, "-m", "kdbench", "regress", "run", "--suite", "nosuchsuite"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert suites.returncode == 2 and "one of smoke, standard" in suites.stderr, suites.stderr
    space = subprocess.run(
        [sys.executable, "-m", "kdbench", "space", "show", "quick"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert space.returncode == 0 and "space quick" in space.stdout, space.stderr
