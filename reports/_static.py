"""The site's static files: plotly.js written once for every page, our stylesheet and table script."""

from __future__ import annotations

from pathlib import Path

import plotly.offline

from kdbench.reports._paths import STATIC
from kdbench.reports._write import write_file

__all__ = ["PLOTLY_JS", "write_static"]

PLOTLY_JS = "plotly.min.js"
_OURS = Path(__file__).resolve().parent / "static"


def write_static(out: Path) -> None:
    """Copy our files into the site ``out``'s static folder and write plotly.js (skipped when the same
    bundle is already there as a plain file: it is ~4.7 MB). Written as every page is (``_write``)."""
    for source in sorted(_OURS.iterdir()):
        if source.is_file():
            write_file(out, f"{STATIC}/{source.name}", source.read_bytes())
    bundle = plotly.offline.get_plotlyjs().encode()
    target = out / STATIC / PLOTLY_JS
    same = target.is_file() and not target.is_symlink() and target.stat().st_size == len(bundle)
    if not (same and target.read_bytes() == bundle):
        write_file(out, f"{STATIC}/{PLOTLY_JS}", bundle)
