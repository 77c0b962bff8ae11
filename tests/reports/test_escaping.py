"""User text never becomes markup: in pages, in Plotly figures and in file names."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kdbench.reports._paths import sweep_page
from tests.reports import _factories as fx

HOSTILE = ("<script>alert(", "<img src=x", "<b onmouseover")


def _figure_json(html: str) -> list:
    """The data and layout arguments of every Plotly.newPlot call on the page."""
    return [json.loads(m) for m in re.findall(r'Plotly\.newPlot\(\s*"[^"]+",\s*(\[.*?\]),\s*\{"', html, re.S)]


def test_no_page_holds_hostile_markup(site: Path):
    for page in site.rglob("*.html"):
        html = page.read_text()
        for needle in HOSTILE:
            assert needle not in html, f"{page.relative_to(site)} holds {needle!r}"


def test_hostile_names_show_as_text(site: Path):
    index = (site / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index  # the sweep and dataset names, escaped
    sweep = (site / sweep_page(fx.EVIL)).read_text()
    assert "&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in sweep  # the error text
    assert "&lt;b onmouseover=alert(4)&gt;" in sweep  # a config value in the trials table


def _strings(value, path=()):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, path)


def test_hostile_text_inside_figures_is_escaped_for_plotly(site: Path):
    sweep = (site / sweep_page(fx.EVIL)).read_text()
    traces = [t for data in _figure_json(sweep) for t in data]
    assert traces, "the page has figures"
    raw = [(t["type"], path) for t in traces for path, s in _strings(t) if "<b onmouseover" in s]
    # Plotly renders a tag in any string as markup, except parcoords tick text, which it draws as plain text
    assert raw == [("parcoords", ("dimensions", "ticktext"))]
    assert "&lt;b onmouseover=alert(4)&gt;" in json.dumps(traces)  # e.g. hover text of the trials


def test_page_file_names_never_come_from_raw_names(site: Path):
    for path in site.rglob("*"):
        assert re.fullmatch(r"[A-Za-z0-9._-]+", path.name), path
