"""What every figure shares: a light layout, escaped text and embedding into a page.

Figures are drawn with ``plotly.graph_objects`` and embedded without plotly.js (the site holds one copy in
``static/``). Plotly renders a subset of HTML inside titles, labels and hover text, so every user-supplied
string goes through :func:`text` first: ``<script>`` then shows as text.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup

__all__ = [
    "COLORS",
    "PHASE_COLORS",
    "embed",
    "empty_figure",
    "integer_ticks",
    "new_figure",
    "plain_figure",
    "side_by_side",
    "text",
]

FigureDict = dict[str, Any]  # {"data": [trace dicts], "layout": {...}}

# Colour-blind-safe (Okabe-Ito); the same phase always has the same colour across pages.
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
PHASE_COLORS = {"teacher_training": "#D55E00", "distillation": "#0072B2", "finetuning": "#009E73"}
_LAYOUT: dict[str, Any] = {
    "template": "none",  # plotly's default template adds ~8 KB of JSON to every figure
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', sans-serif", "size": 12, "color": "#222"},
    "colorway": list(COLORS),
    "margin": {"l": 64, "r": 24, "t": 56, "b": 110},
    "hoverlabel": {"align": "left"},
    # Legend at the bottom of the figure, under the x-axis title (the bottom margin holds both).
    "legend": {
        "orientation": "h",
        "x": 0,
        "xref": "container",
        "y": 0,
        "yref": "container",
        "yanchor": "bottom",
    },
    "plot_bgcolor": "#fff",
    "paper_bgcolor": "#fff",
}
_AXIS: dict[str, Any] = {
    "gridcolor": "#e5e5e5",
    "zeroline": False,
    "automargin": True,
    "showline": True,
    "linecolor": "#888",
}


def text(value: Any) -> str:
    """User-supplied text made safe for a Plotly label or hover string (Plotly decodes the entities back)."""
    return html.escape(str(value), quote=True)


def new_figure(
    title: str, x_title: str, y_title: str, *, height: int = 420, legend: bool = True, **layout: Any
) -> go.Figure:
    """An empty figure with a title and axis labels (``title`` and labels are ours, not user text);
    without ``legend`` the bottom margin shrinks to the axis title."""
    return go.Figure(
        layout={
            **_LAYOUT,
            **({} if legend else {"showlegend": False, "margin": {**_LAYOUT["margin"], "b": 60}}),
            "title": {"text": title, "x": 0.01},
            "height": height,
            "xaxis": {**_AXIS, "title": {"text": x_title}},
            "yaxis": {**_AXIS, "title": {"text": y_title}},
            **layout,
        }
    )


def side_by_side(
    title: str, x_titles: list[str], y_title: str, *, subtitles: list[str] | None = None, height: int = 420
) -> dict[str, Any]:
    """The layout of panels in one row sharing the y axis, laid out by hand (``make_subplots`` costs ~30 ms
    a figure and trial pages draw one figure each). Traces name their axes ``x``/``y``, ``x2``/``y2``, ..."""
    n, gap = len(x_titles), 0.06
    width = (1 - gap * (n - 1)) / n
    layout: dict[str, Any] = {**_LAYOUT, "title": {"text": title, "x": 0.01}, "height": height}
    annotations = []
    for i, x_title in enumerate(x_titles):
        suffix = "" if i == 0 else str(i + 1)
        start = i * (width + gap)
        layout[f"xaxis{suffix}"] = {
            **_AXIS,
            "domain": [start, start + width],
            "anchor": f"y{suffix}",
            "title": {"text": x_title},
        }
        layout[f"yaxis{suffix}"] = {
            **_AXIS,
            "anchor": f"x{suffix}",
            "title": {"text": y_title if i == 0 else ""},
        }
        if subtitles:
            annotations.append(
                {
                    "text": subtitles[i],
                    "x": start + width / 2,
                    "y": 1.0,
                    "xref": "paper",
                    "yref": "paper",
                    "yanchor": "bottom",
                    "showarrow": False,
                    "font": {"size": 12},
                }
            )
    layout["annotations"] = annotations
    return layout


def plain_figure(traces: list[dict[str, Any]], layout: dict[str, Any]) -> FigureDict:
    """A figure as the plain dict Plotly accepts everywhere (``plotly.io.to_html``, ``go.Figure(d)``), for
    figures drawn once per trial: building a ``go.Figure`` validates every property (~10 ms even for a small
    figure, 10 s for a thousand trial pages) where this costs nothing. Tests build each such figure through
    ``go.Figure(d)`` once, so a wrong key still fails."""
    return {"data": traces, "layout": {**layout, "template": {}}}


def integer_ticks(largest: float, *, up_to: int = 12) -> dict[str, Any]:
    """Axis settings for counts (trial numbers, epochs): one tick per integer while there are few, instead of
    Plotly's 0.5 steps."""
    return {"dtick": 1, "tick0": 0} if largest <= up_to else {"tickformat": "d"}


def empty_figure(title: str, message: str, *, height: int = 240) -> go.Figure:
    """A figure that says why there is nothing to draw (``message`` is ours or already escaped)."""
    fig = new_figure(title, "", "", height=height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(
        text=message,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 14, "color": "#666"},
    )
    return fig


def embed(fig: go.Figure | FigureDict, div_id: str) -> Markup:
    """The figure as an HTML fragment that calls the page's shared plotly.js (``div_id`` fixed, so a rebuild
    of unchanged data writes the same bytes). Plotly writes its JSON with ``<``, ``>`` and ``/`` escaped."""
    if isinstance(fig, dict):
        height = fig["layout"].get("height") or 420
        fragment = pio.to_html(fig, validate=False, **_html_options(div_id, height))
    else:
        fragment = fig.to_html(**_html_options(div_id, fig.layout.height or 420))
    return Markup(f'<div class="figure">{fragment}</div>')


def _html_options(div_id: str, height: int) -> dict[str, Any]:
    return {
        "full_html": False,
        "include_plotlyjs": False,
        "div_id": div_id,
        "default_height": f"{height}px",
        "config": {"displaylogo": False, "responsive": True},
    }
