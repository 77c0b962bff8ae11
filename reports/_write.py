"""Writing the site's files inside its folder, and only there.

A site folder is rebuilt in place, so it may hold what someone else put there: a symbolic link at a page's
path (``index.html -> ~/.bashrc``) or a linked folder (``static -> /etc``). Writing through either would
change a file outside the site. So every file is written to a temporary file in its own folder and renamed
onto its path (a rename replaces a link, it never follows one), and a folder on the way that is a link is
refused: the site never writes outside ``--out``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path, PurePosixPath

from kdbench.bench.errors import ReportError
from kdbench.bench.io import unwritten

__all__ = ["check_no_linked_folder", "write_file"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # the temporary file's own name is never a link either


def check_no_linked_folder(out: Path, folders: tuple[str, ...]) -> None:
    """Refuse (:class:`ReportError`, one line) a symbolic link at any of ``folders`` (site paths) in
    ``out``: the site would write through it into another folder."""
    for folder in folders:
        path = out.joinpath(*PurePosixPath(folder).parts)
        if path.is_symlink():
            raise ReportError(
                f"--out {out}: {path} is a symbolic link (to {os.readlink(path)}); the site writes only "
                "inside its folder: remove the link, or choose another --out"
            )


def write_file(out: Path, page: str, data: bytes) -> None:
    """Write ``data`` to the site path ``page`` (``"trials/3.html"``) in ``out``, whole: through a temporary
    file beside it, renamed onto it. Folders on the way are made; one that is a symbolic link is refused
    (:class:`ReportError`). Other failures are ``OSError``s naming the file (and, for a full disk, the room it
    needed)."""
    parts = PurePosixPath(page).parts
    folders = tuple("/".join(parts[: i + 1]) for i in range(len(parts) - 1))
    check_no_linked_folder(out, folders)
    target = out.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except OSError as e:  # a full disk names no file: say which page, and the room it needed
        raise unwritten(e, target, len(data)) from e
    finally:
        tmp.unlink(missing_ok=True)
