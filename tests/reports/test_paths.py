"""Page paths come from ids and slugs: a hostile or odd name never picks the file name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kdbench.reports import _paths


@given(st.text(max_size=200))
def test_sweep_page_names_are_safe_and_distinct(name):
    page = _paths.sweep_page(name)
    folder, file = page.split("/")
    assert folder == "sweeps" and file.endswith(".html")
    stem = file.removesuffix(".html")
    assert stem and len(stem) <= 49 and all(c.isascii() and (c.isalnum() or c == "-") for c in stem)
    assert _paths.sweep_page(name + "x") != page


def test_slug_keeps_readable_names_readable():
    assert _paths.slug("My Sweep #1").startswith("my-sweep-1-")
    assert _paths.sweep_page("<script>alert(1)</script>").startswith("sweeps/script-alert-1-script-")
    assert _paths.slug("../../etc/passwd").startswith("etc-passwd-")


def test_relative_root():
    assert _paths.relative_root("index.html") == ""
    assert _paths.relative_root(_paths.trial_page(7)) == "../"
