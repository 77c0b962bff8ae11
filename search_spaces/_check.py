"""Refuse a space that can produce a config its caller refuses, before any trial runs.

The caller passes ``problems_of(config) -> [(keys, message), ...]`` (``kdbench`` passes
``TrialConfig.problems``; this package never imports ``bench``). The configs tried, all of which the space can
produce (so nothing valid is refused):

- every branch: each value of every parameter that some ``when`` names (every choice; both ends of an int
  range, each value a condition names and one value none names), nested as ``suggest`` nests them;
- in each branch, every other active parameter at each of its extremes (every choice, both ends of a range:
  low and high are both reachable, ``step`` divides the range), alone and in pairs, the rest held at their
  first extreme.

That finds every refusal which depends on at most two non-branch parameters (plus any branch and fixed values)
and whose accepted values of a range form an interval: ``TrialConfig``'s rules are thresholds on one key, the
teacher-only keys and "alpha and beta both 0". The refusal names the parameter (or fixed key), its value and
its line; ``problems_of``'s keys say which of the config's keys are at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from kdbench.search_spaces._errors import Problem, SearchSpaceError
from kdbench.search_spaces._params import Param, canonical, render

__all__ = ["MAX_CONFIGS", "ProblemsOf", "check_configs"]

ProblemsOf = Callable[[dict[str, Any]], Sequence[tuple[Sequence[str], str]]]
MAX_CONFIGS = 200_000  # ~20 us each through TrialConfig: a few seconds at worst
_FIXED = None  # origin of a fixed key (a Param otherwise)


def check_configs(
    params: Sequence[Param],
    fixed: Mapping[str, Any],
    problems_of: ProblemsOf,
    *,
    source: str,
    fixed_line: Callable[[str], int | None],
) -> None:
    """Raise :class:`SearchSpaceError` (one problem) at the first config tried that ``problems_of`` refuses.

    ``params`` in evaluation order (parents first), as :class:`SearchSpace` holds them.
    """
    for tried, (config, origins) in enumerate(_configs(params, fixed), start=1):
        if tried > MAX_CONFIGS:
            raise SearchSpaceError([
                Problem(source, None, "params", f"too many combinations to check (over {MAX_CONFIGS} configs "
                        "from its branches and choices): use fewer choices or conditional parameters")
            ])  # fmt: skip
        found = problems_of(config)
        if found:  # the first problem that blames a key the space set (the caller's defaults are valid)
            keys, message = next(((k, m) for k, m in found if any(x in origins for x in k)), found[0])
            raise SearchSpaceError([_problem(keys, message, config, origins, source, fixed_line)])


# ---- which configs ---------------------------------------------------------------------------------------
Origins = dict[str, Param | None]


def _configs(params: Sequence[Param], fixed: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], Origins]]:
    for branch, origins, free in _branches(params, fixed):
        ends = [_ends(p) for p in free]
        base = {**branch, **{p.key: e[0] for p, e in zip(free, ends, strict=True)}}
        yield dict(base), origins
        for i, p in enumerate(free):
            for v in ends[i][1:]:
                yield {**base, p.key: v}, origins
        for i, p in enumerate(free):
            for j in range(i + 1, len(free)):
                q = free[j]
                for v in ends[i][1:]:
                    for w in ends[j][1:]:
                        yield {**base, p.key: v, q.key: w}, origins


def _branches(
    params: Sequence[Param], fixed: Mapping[str, Any]
) -> Iterator[tuple[dict[str, Any], Origins, list[Param]]]:
    """``(branch config, origin of every key set, free active params)`` for each combination of branch values.

    The free params (no ``when`` names them) are in the origins but not yet in the config.

    Mirrors ``SearchSpace.suggest``: a parameter is active when its conditions hold on what is set so far and
    no earlier variant of its key was taken. Iterative, so many variants cannot exhaust Python's stack.
    """
    parents = {c.key for p in params for c in p.when}
    named: dict[str, list[Any]] = {}
    for p in params:
        for c in p.when:
            named.setdefault(c.key, []).extend(c.values)
    stack: list[tuple[int, dict[str, Any], Origins, list[Param]]] = [
        (0, dict(fixed), dict.fromkeys(fixed, _FIXED), [])
    ]
    while stack:
        i, config, origins, free = stack.pop()
        while i < len(params):
            p = params[i]
            i += 1
            if p.key in origins or not all(c.holds(config) for c in p.when):
                continue
            if p.key not in parents:
                free = [*free, p]
                origins = {**origins, p.key: p}
                continue
            values = _branch_values(p, named.get(p.key, []))
            # Depth first, in file order: the stack pops the first value next.
            for v in reversed(values[1:]):
                stack.append((i, {**config, p.key: v}, {**origins, p.key: p}, free))
            config, origins = {**config, p.key: values[0]}, {**origins, p.key: p}
        yield config, origins, free


def _ends(p: Param) -> list[Any]:
    """The values of ``p`` worth trying: every choice, or both ends of a range."""
    if p.kind == "choices":
        return [list(c) if isinstance(c, list) else c for c in p.choices]
    if p.kind == "value":
        return [list(p.value) if isinstance(p.value, list) else p.value]
    return [p.low] if p.low == p.high else [p.low, p.high]


def _branch_values(p: Param, named: list[Any]) -> list[Any]:
    """Every value that can change which parameters are active, plus both ends (floats are never parents)."""
    values = _ends(p)
    if p.kind != "int":
        return values
    seen = {canonical(v) for v in values}
    for v in named:
        if p.can_take(v) and canonical(v) not in seen:
            values.append(v)
            seen.add(canonical(v))
    # One value no condition names (the branch where none of them holds), if the range has one.
    wanted = {canonical(v) for v in named}
    v, high, step = p.int_range()
    for _ in range(len(wanted) + 1):
        if v > high:
            break
        if canonical(v) not in wanted:
            if canonical(v) not in seen:
                values.append(v)
            break
        v += step
    return values


# ---- the message -----------------------------------------------------------------------------------------
def _problem(
    keys: Sequence[str],
    message: str,
    config: dict[str, Any],
    origins: Origins,
    source: str,
    fixed_line: Callable[[str], int | None],
) -> Problem:
    # Blame the keys the space set (the rest are the caller's defaults), searched ones before fixed ones: the
    # range or choice that reaches the bad value is what to change.
    ours = sorted((k for k in keys if k in origins), key=lambda k: origins[k] is _FIXED)
    if not ours:
        return Problem(source, None, "", f"a config it gives is refused: {message}")
    key, others = ours[0], ours[1:]
    with_others = "".join(
        f" together with {k} = {_show(config[k])} ({_where(k, origins[k], fixed_line)})" for k in others
    )
    origin = origins[key]
    if origin is _FIXED:
        line, label, how = fixed_line(key), f"fixed.{key}", "fixed"
    else:
        line, label, how = origin.line, f"params.{key}", _how(origin, config[key])
    text = f"{key} = {_show(config[key])} ({how}){with_others} is not a valid trial config: {message}"
    return Problem(source, line, label, text)


def _how(p: Param, value: Any) -> str:
    if p.kind == "choices":
        return "a choice"
    if p.kind == "value":
        return "its value"
    end = "low" if canonical(value) == canonical(p.low) else "high"
    return f"{end} end of {p.distribution_label()}"


def _where(key: str, origin: Param | None, fixed_line: Callable[[str], int | None]) -> str:
    line = fixed_line(key) if origin is _FIXED else origin.line
    section = "fixed" if origin is _FIXED else "params"
    return f"{section}.{key}, line {line}" if line is not None else f"{section}.{key}"


def _show(value: Any) -> str:
    """A value on one line: strings quoted (and escaped), lists and numbers as YAML writes them."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return render(value)
