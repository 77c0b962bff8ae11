"""Read a YAML document into plain Python values *and* the line of every key.

PyYAML's ``safe_load`` silently keeps the last of two equal keys and forgets where values came from, so we
compose the node tree ourselves: duplicate keys become problems, and every mapping key's 1-based line is kept
under its path (a tuple of keys and list indices). YAML 1.1 reads ``1e-3`` as a string; our loader reads it as
the float everyone means.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from kdbench.search_spaces._errors import Problem, SearchSpaceError

__all__ = ["Document", "read_yaml"]

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader plus floats without a dot (``1e-3``, ``5E+2``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


class Document:
    """Plain values (``data``) plus the line where each path starts (``line(path)``)."""

    def __init__(self, source: str, data: Any, lines: dict[Path, int]) -> None:
        self.source, self.data, self._lines = source, data, lines

    def line(self, path: Path) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return self._lines.get((), None)

    def problem(self, path: Path, message: str) -> Problem:
        return Problem(self.source, self.line(path), ".".join(str(p) for p in path), message)


MAX_VALUES = 100_000  # a space holds a few hundred; aliases could otherwise expand to billions


def read_yaml(text: str, source: str) -> Document:
    """Parse ``text``; raise :class:`SearchSpaceError` (naming the line where YAML gives one) for syntax
    errors, characters YAML refuses, values it cannot build, duplicate or non-string keys, nesting deeper than
    Python's stack and aliases that expand beyond :data:`MAX_VALUES` values."""
    try:
        loader = _Loader(text)  # refuses control characters here, before any parsing
    except yaml.reader.ReaderError as e:
        raise SearchSpaceError([_reader_problem(e, text, source)]) from e
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        parts = [getattr(e, "context", None), getattr(e, "problem", None)]
        reason = ", ".join(p for p in parts if p) or str(e).splitlines()[0]
        raise SearchSpaceError([Problem(source, line, "", f"not valid YAML: {reason}")]) from e
    except RecursionError as e:
        raise SearchSpaceError([Problem(source, None, "", "not valid YAML here: nested too deeply")]) from e
    finally:
        loader.dispose()
    if node is None:
        raise SearchSpaceError([Problem(source, 1, "", "the file is empty")])
    lines: dict[Path, int] = {(): node.start_mark.line + 1}
    problems: list[Problem] = []
    budget = [MAX_VALUES]
    try:
        data = _convert(loader, node, (), lines, problems, source, budget)
    except RecursionError as e:  # deep nesting, or an alias inside its own anchor (``&a [*a]``)
        problem = Problem(source, None, "", "nested too deeply (or an alias refers to itself)")
        raise SearchSpaceError([problem]) from e
    if problems:
        raise SearchSpaceError(problems)
    return Document(source, data, lines)


def _reader_problem(e: yaml.reader.ReaderError, text: str, source: str) -> Problem:
    line = text.count("\n", 0, e.position) + 1 if isinstance(e.position, int) else None
    char = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or "?")
    return Problem(source, line, "", f"character U+{char:04X} is not allowed in YAML (is this a text file?)")


def _construct(loader: _Loader, node: yaml.Node, path: Path, problems: list[Problem], source: str) -> Any:
    """The Python value of a scalar node, or a problem (``2001-13-01`` is a bad date, ``!!python/...``)."""
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as e:
        reason = getattr(e, "problem", None) or str(e).splitlines()[0]
        where = ".".join(str(p) for p in path)
        problems.append(Problem(source, node.start_mark.line + 1, where, f"cannot read this value: {reason}"))
        return None


def _convert(
    loader: _Loader,
    node: yaml.Node,
    path: Path,
    lines: dict[Path, int],
    problems: list[Problem],
    source: str,
    budget: list[int],
) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        # No line: the node where the count ran out sits inside some anchor, not where the aliases are.
        raise SearchSpaceError(
            [Problem(source, None, "", f"more than {MAX_VALUES} values (aliases expanding?)")]
        )
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            where = ".".join(str(p) for p in path)
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(source, line, where, "merge keys ('<<') are not supported"))
                continue
            known = len(problems)
            key = (
                _construct(loader, key_node, path, problems, source)
                if isinstance(key_node, yaml.ScalarNode)
                else None
            )
            if len(problems) > known:  # the key itself could not be read
                continue
            if not isinstance(key, str):
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else key_node.tag
                problems.append(Problem(source, line, where, f"keys must be strings, got {shown!r}"))
                continue
            if key in out:
                first = lines[(*path, key)]
                label = ".".join(str(p) for p in (*path, key))
                problems.append(
                    Problem(source, line, label, f"duplicate key (first defined at line {first})")
                )
                continue
            lines[(*path, key)] = line
            out[key] = _convert(loader, value_node, (*path, key), lines, problems, source, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            items.append(_convert(loader, item, (*path, i), lines, problems, source, budget))
        return items
    return _construct(loader, node, path, problems, source)
