"""Screenshots of a built report site, taken with headless Chromium: what a reviewer sees at a given width.

    python tools/screenshots.py kdbench-report --out shots [--width 1400] [--page index.html ...]

Without ``--page`` it shoots the leaderboard, the first sweep page, the regression index and the regression
history. Needs a Chromium binary (Debian: ``apt-get install chromium``; or set ``CHROMIUM``). Each page gets a
few seconds of virtual time so Plotly has drawn its charts before the picture is taken.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["default_pages", "find_chromium", "screenshot"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """``$CHROMIUM`` if set, else the first Chromium-like binary on the PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return next((found for name in _CANDIDATES if (found := shutil.which(name))), None)


def default_pages(site: Path) -> list[str]:
    """The pages a reviewer looks at first, those that exist in ``site``."""
    sweeps = sorted((site / "sweeps").glob("*.html"))
    pages = ["index.html", *(f"sweeps/{p.name}" for p in sweeps[:1])]
    pages += ["regressions/index.html", "regressions/history.html"]
    return [p for p in pages if (site / p).is_file()]


def screenshot(chromium: str, page: Path, out: Path, *, width: int, height: int) -> None:
    """Write a PNG of ``page`` at ``width`` x ``height`` CSS pixels to ``out``."""
    with tempfile.TemporaryDirectory(prefix="kdbench-shot-") as profile:  # no state from the user's browser
        subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--window-size={width},{height}",
                "--virtual-time-budget=4000", f"--screenshot={out}", page.resolve().as_uri(),
            ],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/screenshots.py", description=__doc__.split("\n")[0])
    parser.add_argument("site", type=Path, help="a folder written by kdbench report")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument(
        "--page", action="append", help="a page of the site (repeatable; default: the main ones)"
    )
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print(
            "screenshots: no Chromium found: install it (apt-get install chromium) or set CHROMIUM",
            file=sys.stderr,
        )
        return 2
    if not (args.site / "index.html").is_file():
        print(
            f"screenshots: {args.site} holds no report site (no index.html): run kdbench report",
            file=sys.stderr,
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for page in args.page or default_pages(args.site):
        target = args.out / (page.replace("/", "_").removesuffix(".html") + f"-{args.width}.png")
        screenshot(chromium, args.site / page, target, width=args.width, height=args.height)
        print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
