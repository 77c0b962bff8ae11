"""The one error this package raises on purpose (``kdbench.bench.errors`` builds its ``SearchSpaceError`` on
it)."""

from __future__ import annotations

__all__ = ["Problem", "SearchSpaceError"]


class Problem:
    """One thing wrong with a space: where (source, line, dotted key) and what."""

    __slots__ = ("key", "line", "message", "source")

    def __init__(self, source: str, line: int | None, key: str, message: str) -> None:
        self.source, self.line, self.key, self.message = source, line, key, message

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


class SearchSpaceError(ValueError):
    """A search-space YAML is malformed or describes an impossible space.

    ``problems`` lists every :class:`Problem` found (each names the file, line and key); the message holds
    them all, one per line.
    """

    def __init__(self, problems: list[Problem] | str) -> None:
        self.problems: list[Problem] = [] if isinstance(problems, str) else list(problems)
        if isinstance(problems, str):
            message = problems
        elif len(self.problems) == 1:
            message = str(self.problems[0])
        else:
            message = f"{len(self.problems)} problems in search space:\n" + "\n".join(
                f"  {p}" for p in self.problems
            )
        super().__init__(message)
