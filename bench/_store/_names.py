"""Sweep names: one rule, checked before anything is written or started.

A sweep name is 1 to 100 characters: ASCII letters, digits, ``.``, ``_`` and ``-``, starting with a letter or
a digit. Why:

- It names more than a row. It is the Optuna study name (Optuna's ``studies.study_name`` is a VARCHAR(512)),
  the folder Ray Tune writes under ``--ray-storage`` (with a ``-<YYYYmmddTHHMMSS>`` suffix, and Tune builds
  file names inside it), and a word users type after ``--resume`` and see in report headings. A file name
  may be 255 *bytes* on common file systems; 100 ASCII characters leave room for every suffix and path part
  Ray adds, where a 300-character name gave ``OSError: File name too long`` after Ray had started.
- ASCII only, so characters and bytes agree (the file system limit is in bytes) and no normalisation
  (NFC/NFD) can make two spellings of one name.
- No ``/`` or ``\\`` (path separators), no ``:`` (Windows paths, URIs), no spaces or shell characters (names
  are pasted into commands); a leading ``.`` would hide the folder or make ``..``; a leading ``-`` would read
  as an option after ``--resume``.

The default name ``<space>-<dataset>-<YYYYmmddTHHMMSS>`` passes. Databases written before this rule may hold
other names: they are read and resumed as they are; only new sweeps are checked.
"""

from __future__ import annotations

import re

from kdbench.bench.errors import StoreError, shorten

__all__ = ["SWEEP_NAME_MAX", "SWEEP_NAME_RULE", "check_sweep_name"]

SWEEP_NAME_MAX = 100
SWEEP_NAME_RULE = (
    f"1-{SWEEP_NAME_MAX} ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"
)
_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{SWEEP_NAME_MAX - 1}}}")


def check_sweep_name(name: object) -> str:
    """``name`` if it is a valid sweep name, else :class:`StoreError` with one line stating the rule."""
    if not isinstance(name, str):
        raise StoreError(f"a sweep name must be a string, got {type(name).__name__} (use {SWEEP_NAME_RULE})")
    if _PATTERN.fullmatch(name):
        return name
    if not name:
        problem = "is empty"
    elif len(name) > SWEEP_NAME_MAX:
        problem = f"is {len(name)} characters long"
    elif bad := sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "._-"))}):
        problem = f"holds {', '.join(map(repr, bad[:5]))}"
    else:
        problem = f"starts with {name[0]!r}"
    shown = shorten(name, 40)
    raise StoreError(f"sweep name {shown!r} {problem}: use {SWEEP_NAME_RULE}")
