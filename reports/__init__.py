"""Static HTML report site built read-only from the results store.

``build_site(store_or_url, out_dir) -> Path`` writes the site (leaderboard, a page per sweep, trial,
comparison and regression run) and returns its ``index.html``; ``serve(out_dir, port)`` serves it on
127.0.0.1. Reports read the store and never write it, and never train. ``check_site_folder(out_dir)`` refuses
a folder the site cannot go to, before any work (``kdbench demo`` checks its site folder up front).
``regression_change_points(store, suite=None)`` lists where the stored regression figures changed level
(what ``kdbench regress history`` prints and the history page marks).
"""

from kdbench.reports._regression_history import regression_change_points
from kdbench.reports._serve import HOST, make_server, serve
from kdbench.reports._site import build_site, check_site_folder

__all__ = ["HOST", "build_site", "check_site_folder", "make_server", "regression_change_points", "serve"]
