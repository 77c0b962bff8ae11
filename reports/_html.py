"""The jinja2 environment: our templates, autoescape on for every template, the number filters."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

from kdbench.reports import _format, _paths

__all__ = ["render"]

TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name: sweep names and errors are user text
        undefined=jinja2.StrictUndefined,  # a typo in a template fails the build instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        auc=_format.auc,
        signed=_format.signed,
        integer=_format.integer,
        percent=_format.percent,
        ms=_format.milliseconds,
        duration=_format.duration,
        when=_format.when,
        cell=_format.cell,
        sort=_format.sort_value,
        pretty_json=_format.pretty_json,
    )
    env.globals.update(
        mean_std=_format.mean_std,
        short_sha=_format.short_sha,
        missing=_format.is_missing,
        dict_subset=lambda mapping, keys: {k: mapping[k] for k in keys if k in mapping},
        trial_page=_paths.trial_page,
        sweep_page=_paths.sweep_page,
    )
    return env


def render(template: str, page: str, **context: Any) -> str:
    """Render ``template`` for the page at site path ``page`` (its links are made relative to it)."""
    return _environment().get_template(template).render(page=page, root=_paths.relative_root(page), **context)
