"""The site's static files: plotly.js written once for every page, our stylesheet and table script."""

from __future__ import annotations

from pathlib import Path

import plotly.offline

__all__ = ["PLOTLY_JS", "write_static"]

PLOTLY_JS = "plotly.min.js"
_OURS = Path(__file__).resolve().parent / "static"


def write_static(folder: Path) -> None:
    """Copy our files and write plotly.js (skipped when the same bundle is already there: it is ~4.7 MB)."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted(_OURS.iterdir()):
        if source.is_file():
            (folder / source.name).write_bytes(source.read_bytes())
    bundle = plotly.offline.get_plotlyjs().encode()
    target = folder / PLOTLY_JS
    if not (target.exists() and target.stat().st_size == len(bundle) and target.read_bytes() == bundle):
        target.write_bytes(bundle)
