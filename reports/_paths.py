"""Where each page lives in the site. File names come from ids and slugs, never from raw names: a sweep
named ``../../x`` or ``<script>`` must not choose a path or break a link."""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "INDEX",
    "PAGE_FOLDERS",
    "REGRESSIONS_INDEX",
    "REGRESSION_HISTORY",
    "STATIC",
    "compare_page",
    "regression_page",
    "relative_root",
    "slug",
    "sweep_page",
    "trial_page",
]

INDEX = "index.html"
STATIC = "static"
REGRESSIONS_INDEX = "regressions/index.html"
REGRESSION_HISTORY = "regressions/history.html"
PAGE_FOLDERS = ("sweeps", "trials", "compare", "regressions")  # rebuilt whole on every build
_UNSAFE = re.compile(r"[^a-z0-9]+")


def slug(text: str, *, max_length: int = 40) -> str:
    """Lowercase ASCII letters, digits and dashes, then 8 hex digits of the text's hash (distinct names that
    clean to the same letters still get distinct pages)."""
    cleaned = _UNSAFE.sub("-", str(text).lower()).strip("-")[:max_length].strip("-")
    digest = hashlib.sha256(str(text).encode()).hexdigest()[:8]
    return f"{cleaned}-{digest}" if cleaned else digest


def sweep_page(name: str) -> str:
    return f"sweeps/{slug(name)}.html"


def trial_page(trial_id: int) -> str:
    return f"trials/{int(trial_id)}.html"


def compare_page(dataset: str, by: str) -> str:
    return f"compare/{slug(dataset)}-{slug(by, max_length=12)}.html"


def regression_page(run_id: int) -> str:
    return f"regressions/{int(run_id)}.html"


def relative_root(page: str) -> str:
    """The prefix that leads from ``page`` back to the site root (``""`` or ``"../"``): links stay relative so
    the folder can be zipped, copied or published anywhere."""
    return "../" * page.count("/")
