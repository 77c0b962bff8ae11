"""Small raw files in each source format, written into a test's tmp_path."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kdbench.bench.data._movielens import ATOMIC_PREFIX

CRITEO_INTS = 13
CRITEO_CATS = 26


def criteo_row(label: Any = 0, ints: Sequence[Any] = (), cats: Sequence[Any] = ()) -> str:
    """One Criteo line; ints/cats are padded with missing values ('' = missing, None too)."""
    ints = [*ints, *[None] * (CRITEO_INTS - len(ints))]
    cats = [*cats, *[None] * (CRITEO_CATS - len(cats))]
    cells = [label, *ints, *cats]
    return "\t".join("" if c is None else str(c) for c in cells)


def write_criteo(path: Path, rows: Sequence[str], header: bool = False) -> Path:
    lines = list(rows)
    if header:
        lines.insert(
            0, "\t".join(["label", *[f"I{i}" for i in range(1, 14)], *[f"C{i}" for i in range(1, 27)]])
        )
    path.write_text("".join(line + "\n" for line in lines))
    return path


AVAZU_HEADER = (
    "id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,"
    "device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21"
)


def avazu_row(row_id: int, click: Any, hour: Any, site_id: str = "s1", rest: str = "x") -> str:
    """One Avazu line: C1 and banner_pos fixed, site_id given, every other column ``rest``."""
    cells = [str(row_id), str(click), str(hour), "1005", "0", site_id] + [rest] * 18
    return ",".join(cells)


def write_avazu(path: Path, rows: Sequence[str], header: str = AVAZU_HEADER) -> Path:
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows))
    return path


# MovieLens: ratings (user, item, rating, timestamp), users (user, age, gender, occupation, zip),
# items (item, year or None)
Ratings = Sequence[tuple[int, int, int, int]]
Users = Sequence[tuple[int, int, str, str, str]]
Items = Sequence[tuple[int, int | None]]


def write_grouplens(folder: Path, ratings: Ratings, users: Users, items: Items) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ratings))
    (folder / "u.user").write_text("".join(f"{u}|{a}|{g}|{o}|{z}\n" for u, a, g, o, z in users))
    genres = "|".join("0" * 19)
    lines = []
    for item, year in items:
        date = f"01-Jan-{year}" if year else ""
        lines.append(f"{item}|Movie {item} ({year or ''})|{date}||http://example.org/{item}|{genres}\n")
    (folder / "u.item").write_bytes("".join(lines).encode("latin-1"))
    return folder


def atomic_files(ratings: Ratings, users: Users, items: Items) -> dict[str, str]:
    inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    inter += "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ratings)
    user = "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
    user += "".join(f"{u}\t{a}\t{g}\t{o}\t{z}\n" for u, a, g, o, z in users)
    item = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
    item += "".join(f"{i}\tMovie {i}\t{y if y else 'unkonwn'}\tDrama\n" for i, y in items)
    return {"inter": inter, "user": user, "item": item}


def write_recbole_wheel(path: Path, ratings: Ratings, users: Users, items: Items) -> Path:
    """A zip with the recbole wheel's inner paths of the ml-100k atomic files (a stand-in for the wheel)."""
    with zipfile.ZipFile(path, "w") as z:
        for ext, text in atomic_files(ratings, users, items).items():
            z.writestr(f"{ATOMIC_PREFIX}.{ext}", text)
        z.writestr("recbole/__init__.py", "")
    return path


def write_ml1m(folder: Path, ratings: Ratings, users: Users, items: Items) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_text("".join(f"{u}::{i}::{r}::{t}\n" for u, i, r, t in ratings))
    (folder / "users.dat").write_text("".join(f"{u}::{g}::{a}::{o}::{z}\n" for u, a, g, o, z in users))
    lines = [f"{i}::Movie {i}{f' ({y})' if y else ''}::Drama|Comedy\n" for i, y in items]
    (folder / "movies.dat").write_bytes("".join(lines).encode("latin-1"))
    return folder


# 12 ratings over 3 users and 3 items; ratings of 3 appear twice (dropped).
# Timestamps: 0 = Thu 1970-01-01 00:00 UTC; 345600 + 5 h = Mon 1970-01-05 05:00 UTC.
ML_RATINGS: list[tuple[int, int, int, int]] = [
    (1, 10, 5, 0),
    (1, 20, 3, 3600),
    (1, 30, 4, 345600 + 5 * 3600),
    (2, 10, 1, 7200),
    (2, 20, 2, 86400),
    (2, 30, 4, 90000),
    (3, 10, 5, 100000),
    (3, 20, 3, 200000),
    (3, 30, 1, 300000),
    (1, 10, 4, 400000),
    (2, 30, 5, 500000),
    (3, 10, 2, 600000),
    (1, 30, 5, 700000),
    (2, 10, 4, 800000),
]
ML_USERS: list[tuple[int, int, str, str, str]] = [
    (1, 24, "M", "technician", "01002"),
    (2, 53, "F", "other", "94043"),
    (3, 23, "M", "writer", "T8H1N"),
]
ML_ITEMS: list[tuple[int, int | None]] = [(10, 1995), (20, 1994), (30, None)]
