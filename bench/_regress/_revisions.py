"""Git revisions of the current repository as runnable source trees, for ``kdbench regress ab``.

A ref is resolved to its commit sha, and the commit's tree is exported (``git archive``) once into
``$KDBENCH_HOME/regress-ab/<sha>/``: written into a temporary folder and renamed when complete, so a second
run (or a CI job with ``$KDBENCH_HOME`` cached) reuses it and an interrupted export leaves nothing behind.
An export, unlike ``git worktree add``, registers nothing in the repository's ``.git``: a cached tree stays
valid when the CI's clone is fresh, and the user's ``git worktree list`` stays theirs.

A tree runs in the current interpreter with its own folder first on ``PYTHONPATH`` (``kdbench``'s namespace
package reaches the checkout's folders from there), so both revisions share the installed dependencies and
neither sees the other's code. That is only sound when the current environment satisfies the revision's
``pyproject.toml`` (``requires-python`` and ``dependencies``): :func:`check_requirements` refuses a revision
that needs another version of a package, naming it.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import io
import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from kdbench.bench.errors import RegressionError

__all__ = ["Revision", "check_clean", "check_requirements", "export_tree", "repository_root", "resolve_ref"]

_MARKER = ".kdbench-ab.json"  # written last into an export: its presence means the tree is complete
_NEEDED = ("kdbench/__init__.py", "bench/regress.py", "models/__init__.py")


@dataclasses.dataclass(frozen=True)
class Revision:
    """A ref (as the user gave it), its commit, and the exported tree that runs it."""

    ref: str
    sha: str
    tree: Path
    reused: bool  # the tree was in the cache already

    @property
    def label(self) -> str:
        return f"{self.ref} ({self.sha[:10]})"


def repository_root(folder: str | os.PathLike[str]) -> Path:
    """The top folder of the git repository that ``folder`` is in; a RegressionError when there is none."""
    top = _git(folder, "rev-parse", "--show-toplevel", what=f"{folder} is not in a git repository")
    return Path(top)


def check_clean(repo: Path) -> None:
    """Refuse a working tree with uncommitted changes to tracked files: ``regress ab`` measures commits, and
    a user who edited HEAD would believe the edits were measured."""
    status = _git_bytes(repo, "status", "--porcelain", "-z", "--untracked-files=no", what="git status failed")
    entries = iter(status.decode(errors="replace").split("\0"))
    files = []
    for entry in entries:
        if len(entry) > 3:
            files.append(entry[3:])
            if entry[0] in "RC":  # a rename or copy: its source path follows as an entry of its own
                next(entries, None)
    if files:
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        raise RegressionError(
            f"the working tree of {repo} has uncommitted changes ({shown}): commit or stash them, "
            "regress ab measures commits"
        )


def resolve_ref(repo: Path, ref: str) -> str:
    """The commit sha ``ref`` names in ``repo``; an unknown ref is a one-line RegressionError."""
    if not ref.strip() or ref.startswith("-"):
        raise RegressionError(f"{ref!r} is not a git ref: give a branch, tag or commit")
    return _git(
        repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
        what=f"unknown git ref {ref!r} in {repo}: give a branch, tag or commit (`git fetch` it first in a "
        "shallow CI clone)",
    )  # fmt: skip


def export_tree(repo: Path, ref: str, sha: str, cache: Path) -> Revision:
    """The commit's tree under ``cache/<sha>``, exported now unless a complete one is there already."""
    tree = cache / sha
    if (tree / _MARKER).is_file():
        return Revision(ref, sha, tree, reused=True)
    archive = _git_bytes(repo, "archive", "--format=tar", sha)
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{sha[:12]}-", dir=cache))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: refuse links out of the tree, odd modes
                tar.extractall(staging, filter="data")
            else:  # git's own archive of a commit: its paths stay inside the tree
                tar.extractall(staging)
        missing = [name for name in _NEEDED if not (staging / name).is_file()]
        if missing:
            raise RegressionError(
                f"{ref} ({sha[:10]}) is not a kdbench checkout (no {', '.join(missing)}): regress ab runs "
                "kdbench's suites across commits of kdbench or a fork of it"
            )
        (staging / _MARKER).write_text(json.dumps({"sha": sha, "ref": ref}) + "\n")
        try:
            staging.rename(tree)
        except OSError:
            if not (tree / _MARKER).is_file():  # not another process's complete export: a real failure
                raise
    except OSError as e:
        raise RegressionError(f"cannot export {ref} into {tree}: {e.strerror or e}") from e
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Revision(ref, sha, tree, reused=False)


def check_requirements(revision: Revision) -> None:
    """Refuse a revision whose ``pyproject.toml`` asks for a Python or a package version that the current
    environment does not have (it would run against the wrong library, silently)."""
    where = f"{revision.label}'s pyproject.toml"
    try:
        project = tomllib.loads((revision.tree / "pyproject.toml").read_text()).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise RegressionError(f"cannot read {where}: {e}") from e
    problems = []
    python = project.get("requires-python")
    try:
        if python and not SpecifierSet(python).contains(platform.python_version(), prereleases=True):
            problems.append(f"Python {python} (this is {platform.python_version()})")
    except InvalidSpecifier as e:
        raise RegressionError(f"{where}: requires-python {python!r} is invalid: {e}") from e
    for line in project.get("dependencies", []):
        try:
            requirement = Requirement(line)
        except InvalidRequirement as e:
            raise RegressionError(f"{where}: dependency {line!r} is invalid: {e}") from e
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            have = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{requirement} (not installed)")
            continue
        if not requirement.specifier.contains(have, prereleases=True):
            problems.append(f"{requirement} (installed: {have})")
    if problems:
        raise RegressionError(
            f"{revision.label} needs {'; '.join(problems)}: regress ab runs every revision with this "
            "environment's packages, so install what it needs (or compare revisions with the same lock)"
        )


def _git(folder: str | os.PathLike[str], *args: str, what: str) -> str:
    return _git_bytes(folder, *args, what=what).decode().strip()


def _git_bytes(folder: str | os.PathLike[str], *args: str, what: str | None = None) -> bytes:
    try:
        out = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, check=False)
    except FileNotFoundError as e:
        raise RegressionError("git is not installed: regress ab builds revisions with git") from e
    if out.returncode != 0:
        detail = " ".join(out.stderr.decode(errors="replace").split())
        raise RegressionError(what or f"git {args[0]} failed: {detail}")
    return out.stdout
