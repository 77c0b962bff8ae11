"""Find, read and validate a search-space YAML into a :class:`SearchSpace`."""

from __future__ import annotations

import hashlib
import re
import types
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path as FilePath
from typing import Any

from kdbench.search_spaces._check import ProblemsOf, check_configs
from kdbench.search_spaces._errors import Problem, SearchSpaceError
from kdbench.search_spaces._params import (
    Condition,
    Param,
    SpecError,
    canonical,
    check_plain,
    parse_param,
    render,
)
from kdbench.search_spaces._space import SearchSpace
from kdbench.search_spaces._yaml import Document, read_yaml

__all__ = ["MAX_BYTES", "NAME_MAX", "available_spaces", "load_space", "parse_space"]

MAX_BYTES = 1 << 20  # the shipped spaces are ~2 KB; a larger "space" is some other file

_TOP_KEYS = ("name", "description", "fixed", "params")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME_MAX = 100  # a space's name starts sweep names (and so Ray folder names): kept as short as those
_NAME = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{NAME_MAX - 1}}}")  # fullmatch: no trailing newline
Report = Callable[..., None]  # report(path, message, line=None): record one problem


def available_spaces() -> list[str]:
    """Names of the spaces shipped in this package (``load_space(name)`` takes any of them)."""
    return sorted(
        f.name[: -len(".yaml")] for f in resources.files(__package__).iterdir() if f.name.endswith(".yaml")
    )


def load_space(
    name_or_path: str | FilePath,
    known_keys: Iterable[str] | None = None,
    *,
    check: ProblemsOf | None = None,
) -> SearchSpace:
    """Load and validate a space: a packaged name (``"quick"``) or a YAML file (``.yaml``/``.yml``/existing).

    With ``known_keys`` every parameter and fixed key must be one of them (the sweep passes the trial
    config's field names). With ``check`` (``config -> [(keys, message), ...]``, the sweep passes
    ``TrialConfig.problems``) every branch, choice and range end is tried as a config (see ``_check``), and
    the first one refused is an error naming the parameter and value. Every problem found raises one
    :class:`SearchSpaceError` naming file, line and key. A file is UTF-8 (a BOM is fine), at most
    :data:`MAX_BYTES` long.
    """
    target = str(name_or_path)
    path = FilePath(target)
    shown = _shown(target)
    if target.endswith((".yaml", ".yml")) or _exists(path, "file"):
        text = _read(path, shown)
        # Without `name:` the file names the space: made a valid name, not an error the user never wrote.
        default = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.")[:NAME_MAX] or "space"
        return parse_space(text, source=shown, default_name=default, known_keys=known_keys, check=check)
    names = available_spaces()
    if target not in names:
        if _exists(path, "dir"):
            raise SearchSpaceError(f"search space {shown} is a folder: give a YAML file or a packaged name")
        raise SearchSpaceError(
            f"unknown search space {shown!r}: give a YAML file or one of {', '.join(names)}"
        )
    text = (resources.files(__package__) / f"{target}.yaml").read_text(encoding="utf-8")
    return parse_space(text, source=f"{target}.yaml", default_name=target, known_keys=known_keys, check=check)


def _shown(target: str) -> str:
    """The name as messages show it: one printable line of reasonable length (a path is user input)."""
    shown = target if target.isprintable() else ascii(target)[1:-1]
    return shown if len(shown) <= 200 else f"{shown[:120]}...{shown[-60:]}"


def _exists(path: FilePath, kind: str) -> bool:
    try:
        return path.is_file() if kind == "file" else path.is_dir()
    except (OSError, ValueError):  # a name too long, or with a NUL byte: no such file
        return False


def _read(path: FilePath, shown: str) -> str:
    """The file's text: one :class:`SearchSpaceError` for a folder, a missing, huge or non-UTF-8 file."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except IsADirectoryError as e:
        raise SearchSpaceError(f"search space {shown} is a folder, not a YAML file") from e
    except OSError as e:
        raise SearchSpaceError(f"cannot read search space {shown}: {e.strerror or e}") from e
    except ValueError as e:  # a NUL byte in the name
        raise SearchSpaceError(f"cannot read search space {shown}: {e}") from e
    if len(data) > MAX_BYTES:
        raise SearchSpaceError(
            f"search space {shown} is larger than {MAX_BYTES >> 20} MiB: a space is a short YAML file"
        )
    try:
        return data.decode("utf-8-sig")  # a BOM (some Windows editors write one) is not part of the text
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise SearchSpaceError([
            Problem(shown, line, "", f"not UTF-8 text (byte 0x{data[e.start]:02x}): save it as UTF-8")
        ]) from e  # fmt: skip


def parse_space(
    text: str,
    *,
    source: str = "<string>",
    default_name: str = "space",
    known_keys: Iterable[str] | None = None,
    check: ProblemsOf | None = None,
) -> SearchSpace:
    """Validate YAML ``text`` into a :class:`SearchSpace` (what :func:`load_space` does after reading)."""
    doc = read_yaml(text, source)
    problems: list[Problem] = []

    def report(path: tuple, message: str, line: int | None = None) -> None:
        problem = doc.problem(path, message)
        if line is not None:
            problem.line = line
        problems.append(problem)

    data = doc.data
    if not isinstance(data, dict):
        raise SearchSpaceError(
            [doc.problem((), f"a search space is a mapping with keys {', '.join(_TOP_KEYS)}")]
        )
    for key in data:
        if key not in _TOP_KEYS:
            report((key,), f"unknown key (a search space has: {', '.join(_TOP_KEYS)})")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = repr(name) if len(repr(name)) <= 80 else f"{repr(name)[:60]}... ({len(name)} characters)"
        report(("name",), f"name must be a word of 1-{NAME_MAX} letters, digits, '_', '.', '-', got {shown}")
    description = data.get("description", "")
    if not isinstance(description, str):
        report(("description",), f"description must be a string, got {description!r}")
    fixed = _parse_fixed(data.get("fixed", {}), report)
    params = _parse_params(doc, data.get("params", {}), report)
    if not params and not fixed and not problems:
        report((), "the space has neither params nor fixed values")
    if known_keys is not None:
        _check_known(params, fixed, set(known_keys), report)
    for key in fixed:
        if key in params:
            report(("params", key), f"is also fixed (fixed.{key}, line {doc.line(('fixed', key))}): keep one")
    if problems:
        raise SearchSpaceError(problems)
    _check_conditions(params, fixed, report)
    if problems:
        raise SearchSpaceError(problems)
    ordered = _order(params, report)
    if problems:
        raise SearchSpaceError(problems)
    _check_reachable(ordered, params, report)
    if problems:
        raise SearchSpaceError(problems)
    if check is not None:
        check_configs(ordered, fixed, check, source=source, fixed_line=lambda key: doc.line(("fixed", key)))
    return SearchSpace(
        name=name,
        description=description,
        text=text,
        hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=source,
        params=tuple(ordered),
        fixed=types.MappingProxyType(fixed),
    )


# ---- sections ----------------------------------------------------------------------------------------


def _parse_fixed(fixed: Any, report: Report) -> dict[str, Any]:
    if not isinstance(fixed, dict):
        report(("fixed",), f"fixed must be a mapping of key: value, got {fixed!r}")
        return {}
    out = {}
    for key, value in fixed.items():
        if not _KEY.match(key):
            report(("fixed", key), "keys must be identifiers (letters, digits, '_')")
            continue
        try:
            check_plain(value, ("fixed", key), "a fixed value")
        except SpecError as e:
            report(e.path, e.message)
            continue
        out[key] = value
    return out


def _parse_params(doc: Document, params: Any, report: Report) -> dict[str, list[Param]]:
    """``key -> [Param, ...]``: one spec, or a list of variants whose ``when`` conditions exclude each other.

    Dropped keys (with a problem reported) are left out of the result.
    """
    if not isinstance(params, dict):
        report(("params",), f"params must be a mapping of key: spec, got {params!r}")
        return {}
    out: dict[str, list[Param]] = {}
    for key, spec in params.items():
        path = ("params", key)
        if not _KEY.match(key):
            report(path, "keys must be identifiers (letters, digits, '_')")
            continue
        specs = spec if isinstance(spec, list) else [spec]
        if not specs:
            report(path, "an empty list of variants")
            continue
        parsed = []
        for i, one in enumerate(specs):
            where = (*path, i) if isinstance(spec, list) else path
            try:
                param = parse_param(doc, key, one, where)
            except SpecError as e:
                report(e.path, e.message)
                continue
            if isinstance(spec, list) and not param.when:
                report(where, "each variant of a parameter needs a `when` condition")
                continue
            parsed.append(param)
        if len(parsed) == len(specs):
            _check_exclusive(parsed, path, report)
            out[key] = parsed
    return out


def _check_exclusive(variants: list[Param], where: tuple, report: Report) -> None:
    for i, a in enumerate(variants):
        for b in variants[i + 1 :]:
            sets_a = {c.key: {canonical(v) for v in c.values} for c in a.when}
            if not any(
                c.key in sets_a and not sets_a[c.key] & {canonical(v) for v in c.values} for c in b.when
            ):
                report(
                    (*where, variants.index(b)),
                    f"variants at lines {a.line} and {b.line} can both apply: give them a condition on a "
                    "common parameter with different values",
                )


def _check_known(params: dict, fixed: dict, known: set[str], report: Report) -> None:
    valid = ", ".join(sorted(known))
    for section, keys in (("params", params), ("fixed", fixed)):
        for key in keys:
            if key not in known:
                report((section, key), f"unknown key (valid keys: {valid})")


def _check_conditions(params: dict[str, list[Param]], fixed: dict[str, Any], report: Report) -> None:
    """Every ``when`` names an existing parameter and values it can take."""
    for variants in params.values():
        for p in variants:
            for c in p.when:
                problem = _condition_problem(c, params, fixed)
                if problem:
                    report(("params", p.key, "when", c.key), problem, c.line)


def _condition_problem(c: Condition, params: dict[str, list[Param]], fixed: dict[str, Any]) -> str | None:
    if c.key in fixed:
        never = [v for v in c.values if not _same(v, fixed[c.key])]
        return f"{c.key} is fixed at {render(fixed[c.key])}, never {render(never[0])}" if never else None
    if c.key not in params:
        return (
            f"condition on {c.key!r}, which is not a parameter (parameters: {', '.join([*params, *fixed])})"
        )
    parents = params[c.key]
    if any(q.kind == "float" for q in parents):
        return f"{c.key} is a float range: conditions on floats are not supported"
    for v in c.values:
        if not any(q.can_take(v) for q in parents):
            return f"{c.key} can never be {render(v)} ({'; '.join(q.distribution_label() for q in parents)})"
    return None


def _same(a: Any, b: Any) -> bool:
    return canonical(a) == canonical(b)


def _order(params: dict[str, list[Param]], report: Report) -> list[Param]:
    """Parents before children (file order otherwise); a cycle of conditions is a problem."""
    deps = {
        key: [c.key for p in variants for c in p.when if c.key in params] for key, variants in params.items()
    }
    done: list[str] = []
    state: dict[str, str] = {}

    def visit(key: str, trail: list[str]) -> bool:
        if state.get(key) == "done":
            return True
        if state.get(key) == "active":
            cycle = [*trail[trail.index(key) :], key]
            report(("params", key), "conditions form a cycle: " + " -> ".join(cycle))
            return False
        state[key] = "active"
        ok = all(visit(parent, [*trail, key]) for parent in deps[key])
        state[key] = "done"
        done.append(key)
        return ok

    for key in params:
        if not visit(key, []):
            break
    return [p for key in done for p in params[key]]


def _check_reachable(ordered: list[Param], params: dict[str, list[Param]], report: Report) -> None:
    """A parameter whose conditions (its own plus its parents') can never hold together is an error.

    Parents with several variants are skipped (their requirements are a disjunction): a sound, partial check.
    """
    required: dict[str, dict[str, set]] = {}  # key -> parent key -> values it must hold
    for p in ordered:
        need: dict[str, set] = {}
        sources = [{c.key: {canonical(v) for v in c.values}} for c in p.when]
        sources += [required[c.key] for c in p.when if len(params.get(c.key, ())) == 1]
        for source in sources:
            for key, values in source.items():
                need[key] = need[key] & values if key in need else set(values)
                if not need[key]:
                    report(
                        ("params", p.key, "when"), f"can never be active: its conditions on {key} conflict"
                    )
                    return
        if len(params[p.key]) == 1:
            required[p.key] = need
