"""The house rules, read off the syntax tree of every module (nothing is imported):

- every package is entered through its face: a module may import another package's public modules and its
  face (``__init__``, or the sibling ``x.py`` over a private package ``_x/``), never its ``_private``
  modules;
- the layers point one way: ``models`` imports nothing of kdbench but itself, ``search_spaces`` nothing but
  itself, and ``reports`` reads the store without training (no trial, sweep, Ray or data preparation);
- the ``bench/`` root holds the engine's faces, not one-function helpers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"models": "kdbench.models", "search_spaces": "kdbench.search_spaces", "bench": "kdbench.bench",
           "reports": "kdbench.reports"}  # fmt: skip


def _modules() -> Iterator[tuple[Path, str, bool]]:
    """(file, dotted module name, is a package's ``__init__``) of every module of the namespace."""
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [package, *path.relative_to(ROOT / folder).with_suffix("").parts]
            is_init = parts[-1] == "__init__"
            yield path, ".".join(parts[:-1] if is_init else parts), is_init


def _imports(tree: ast.AST, module: str, is_init: bool) -> Iterator[tuple[str, int]]:
    """Every kdbench module path an import statement names, ``from a import b`` giving ``a`` and ``a.b``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module.split(".") if is_init else module.split(".")[:-1]
                base = ".".join(
                    package[: len(package) - node.level + 1] + ([node.module] if node.module else [])
                )
            yield base, node.lineno
            yield from ((f"{base}.{alias.name}", node.lineno) for alias in node.names)


def _file_of(dotted: str) -> Path | None:
    """The file or folder of a kdbench module path, or None (a name imported from a module, not a module)."""
    for folder, package in FOLDERS.items():
        if dotted == package or dotted.startswith(package + "."):
            path = (
                ROOT / folder / Path(*dotted[len(package) + 1 :].split("."))
                if dotted != package
                else ROOT / folder
            )
            if path.is_dir() or path.with_suffix(".py").is_file():
                return path
    return None


def _private_reach(importer: str, importer_package: str, target: str) -> bool:
    """Whether ``importer`` reaches into a package's private part it does not belong to."""
    parts = target.split(".")
    private = [i for i, part in enumerate(parts) if part.startswith("_") and not part.startswith("__")]
    if not private:
        return False
    i = private[0]
    owner, unit = ".".join(parts[:i]), ".".join(parts[: i + 1])
    unit_path = _file_of(unit)
    if unit_path is not None and unit_path.is_dir():  # a private package: its own modules and its face
        face = f"{owner}.{parts[i][1:]}"
        return not (importer in (unit, face) or importer.startswith(unit + "."))
    return importer_package != owner  # a private module: its package's modules only


def test_no_module_imports_another_packages_private_module() -> None:
    reaches = []
    for path, module, is_init in _modules():
        package = module if is_init else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target, line in _imports(tree, module, is_init):
            if target.startswith("kdbench.") and _file_of(target) and _private_reach(module, package, target):
                reaches.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert sorted(set(reaches)) == []


def test_the_private_reach_rule_itself() -> None:
    # the cases the test above relies on, so that it cannot pass by finding nothing to judge
    assert _private_reach(
        "kdbench.bench.commands.data", "kdbench.bench.commands", "kdbench.bench.data._cache"
    )
    assert _private_reach("kdbench.bench._sweep._plan", "kdbench.bench._sweep", "kdbench.bench._store._names")
    assert not _private_reach("kdbench.bench.store", "kdbench.bench", "kdbench.bench._store._names")
    assert not _private_reach(
        "kdbench.bench.data._prepare", "kdbench.bench.data", "kdbench.bench.data._cache"
    )
    assert not _private_reach("kdbench.bench.data", "kdbench.bench.data", "kdbench.bench.data._cache")
    assert not _private_reach("kdbench.bench.commands.data", "kdbench.bench.commands", "kdbench.bench.data")


def _kdbench_imports(folder: str) -> set[str]:
    found = set()
    for path, module, is_init in _modules():
        if module.startswith(FOLDERS[folder]):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found |= {target for target, _ in _imports(tree, module, is_init)}
    return found


def test_models_and_search_spaces_stand_on_their_own() -> None:
    for folder in ("models", "search_spaces"):
        others = {t for t in _kdbench_imports(folder) if t.startswith("kdbench.")}
        assert {t for t in others if not t.startswith(FOLDERS[folder])} == set(), folder
        third_party = {t.split(".")[0] for t in _kdbench_imports(folder)}
        assert not third_party & {"ray", "sqlalchemy", "pandas", "plotly"}, folder


def test_reports_read_the_store_and_never_train() -> None:
    imported = _kdbench_imports("reports")
    training = ("kdbench.bench.trial", "kdbench.bench.sweep", "kdbench.bench._sweep", "kdbench.models", "ray")
    assert sorted(t for t in imported if t.startswith(training)) == []


# The engine's faces (and the package's entry points); a helper goes behind one of them.
BENCH_ROOT = {
    "__init__", "__main__", "cli",  # the command
    "config", "recipes", "trial", "teacher_cache", "batches", "latency",  # one trial
    "sweep", "store", "regress", "baselines",  # sweeps, results, regression checks, LR/GBDT baselines
    "errors", "provenance",  # what every layer raises, and what every result records to be re-run
}  # fmt: skip


def test_the_bench_root_holds_the_engine_faces_only() -> None:
    assert {p.stem for p in (ROOT / "bench").glob("*.py")} == BENCH_ROOT
    assert not (ROOT / "bench" / "screenshots.py").exists()  # a developer tool: tools/, not the wheel


def test_the_reports_copy_of_the_phase_order_is_the_models() -> None:
    # reports draw phases in training order without importing the models (torch): their copy must agree
    from kdbench.models import PHASES
    from kdbench.reports._curves import PHASES as DRAWN

    assert DRAWN == PHASES


def test_the_checkout_links_the_namespace_to_its_folders() -> None:
    # what lets editors and mypy resolve kdbench.* in a checkout (CONTRIBUTING.md)
    for folder in FOLDERS:
        link = ROOT / "kdbench" / folder
        assert link.is_symlink() and link.resolve() == (ROOT / folder).resolve(), folder
