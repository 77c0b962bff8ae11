"""MovieLens (100K embedded, 100K from GroupLens, 1M) under the paper's MovieLens-1M protocol.

- Ratings of 3 are dropped; label = rating >= 4 (ml-100k: 72,855 rows, 76.0 % positive).
- Fields: user_id, item_id, weekday, hour, age, gender, occupation, zip_code, release_year.
- weekday (Monday = 0) and hour come from the unix timestamp in **UTC** (the reference code uses the machine's
  local time, which makes its encoding depend on where it ran).
- release_year: RecBole's ``release_year`` column, the year of GroupLens' release date (``01-Jan-1995`` →
  1995), or the ``(1995)`` ending an ML-1M title; anything that is not a 4-digit year is missing (→ 0).
- Every value is a token (no frequency threshold: the reference has none for MovieLens); zip codes are
  strings.
- Missing values (empty strings, a user or item absent from its file) → 0.

``ml-100k-recbole`` is RecBole 1.2.1's own view of the wheel's atomic files, for side-by-side runs with its
``KD_DAGFM`` (``bench/benchmarks/reference.py``):

- the same rows and labels (rating 3 dropped, label = rating >= 4, file order);
- RecBole's model fields: user_id, item_id, age, gender, occupation, zip_code, release_year. RecBole loads
  the timestamp as a float field, but a float field reaches a context model only when it is listed in
  ``numerical_features`` (empty by default), so its KD_DAGFM never sees it: 7 token fields (measured:
  ``num_feature_field`` 7);
- RecBole's split, row for row: ``eval_args`` order ``RO`` and split ``RS [0.8, 0.1, 0.1]`` shuffle the rows
  with ``torch.randperm(rows)`` right after ``torch.manual_seed(2022)`` and cut the permutation into train
  (first), valid and test, valid and test ``int(0.1 * rows)`` rows each (58,285 / 7,285 / 7,285).
  :func:`torch_randperm` reproduces torch's CPU permutation with NumPy's MT19937 (the same generator and
  seeding), so preparing it needs no torch. The split is fixed (seed 2022, RecBole's in the reference
  runs): ``--split-seed`` does not change it, and its vocabularies count the training rows only (a user or
  item seen only in valid or test is unknown, 0; RecBole gives it an id whose row is never trained).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from kdbench.bench.data._encode import Chunk
from kdbench.bench.data._fetch import WHEEL_SHA256, WHEEL_SPEC, override_wheel, recbole_wheel
from kdbench.bench.data._io import READ_ERRORS, file_identity, shown, stat_or_none, unreadable
from kdbench.bench.data._source import Recipe, Source
from kdbench.bench.errors import DatasetError, one_line

__all__ = [
    "FIELDS",
    "ML1M_RECIPE",
    "ML100K_RECBOLE_RECIPE",
    "ML100K_RECIPE",
    "RECBOLE_FIELDS",
    "RECBOLE_SEED",
    "open_ml1m",
    "open_ml100k",
    "open_ml100k_recbole",
    "recbole_split",
    "torch_randperm",
]

FIELDS = ["user_id", "item_id", "weekday", "hour", "age", "gender", "occupation", "zip_code", "release_year"]
ATOMIC_PREFIX = "recbole/dataset_example/ml-100k/ml-100k"
PROTOCOL = {
    "drop": "rating == 3",
    "label": "rating >= 4",
    "fields": FIELDS,
    "weekday_hour": "from the unix timestamp, UTC, Monday = 0",
    "release_year": "4-digit year, else missing",
    "min_count": 1,
    "missing": "-> 0",
}
ML1M_RECIPE = Recipe(
    "movielens-1m",
    {
        "teacher": "crossnet",
        "t_depth": 3,
        "interaction": "outer",
        "lr": 3e-3,
        "weight_decay": 1e-6,
        "max_epochs": 30,
        "patience": 3,
    },
    "The paper's MovieLens-1M settings (CrossNet teacher, outer DAGFM student, lr 3e-3, weight decay 1e-6). "
    "At lr 3e-3 and this weight decay every phase peaks within a few epochs and then overfits, so patience "
    "3 (the reference's 10 only adds epochs after the best), max_epochs 30.",
)
ML100K_RECIPE = Recipe(
    "ml-100k",
    {
        "teacher": "crossnet",
        "t_depth": 3,
        "interaction": "outer",
        "lr": 3e-3,
        "weight_decay": 1e-3,
        "max_epochs": 40,
        "patience": 5,
    },
    "MovieLens-100K is 14 times smaller than ML-1M: at the paper's ML-1M weight decay (1e-6) every phase "
    "overfits within a few epochs (student test AUC 0.855, mean 0.854 over five splits). Weight decay 1e-3 "
    "(measured; the ML-1M protocol otherwise) gives teacher 0.8611 / student 0.8643 on split seed 2022 and "
    "a student mean of 0.8624 over split seeds 2022, 1, 2, 3, 4 (RecBole's KD_DAGFM: 0.8585 / 0.8622). "
    "With this much weight decay the teacher improves slowly (best epochs 15 to 28): max_epochs 40; "
    "patience 5 stops at the same best states as 10 on split 2022, 15 epochs sooner.",
)
RECBOLE_FIELDS = ["user_id", "item_id", "age", "gender", "occupation", "zip_code", "release_year"]
RECBOLE_SEED = 2022  # the seed of the reference runs (and of the paper's code)
RECBOLE_RATIOS = (0.8, 0.1, 0.1)
RECBOLE_PROTOCOL = {
    "drop": "rating == 3",
    "label": "rating >= 4",
    "fields": RECBOLE_FIELDS,
    "timestamp": "not a model field (RecBole 1.2.1 feeds float fields only when in numerical_features)",
    "release_year": "4-digit year, else missing",
    "min_count": 1,
    "missing": "-> 0",
    "split": {
        "method": "recbole",
        "order": "RO: torch.randperm(rows) after torch.manual_seed(seed), rows in file order",
        "ratios": list(RECBOLE_RATIOS),
        "sizes": "valid and test int(0.1 * rows) each, train the rest (the permutation's head)",
        "seed": RECBOLE_SEED,
        "recbole": "1.2.1",
    },
}
ML100K_RECBOLE_RECIPE = Recipe(
    "ml-100k-recbole",
    {**ML100K_RECIPE.values, "patience": 6},
    "ml-100k's recipe, the settings RecBole's KD_DAGFM runs in the reference and chain benchmarks (CrossNet "
    "teacher, outer DAGFM student, lr 3e-3, weight decay 1e-3, at most 40 epochs a phase), with patience 6: "
    "RecBole's stopping_step 5 stops at the 6th epoch without improvement.",
)
_GROUPLENS = ("u.data", "u.user", "u.item")
_ML1M = ("ratings.dat", "users.dat", "movies.dat")


def _source(source: str, identity: dict[str, Any], read: Any) -> Source:
    return Source(source, source, FIELDS, [1] * len(FIELDS), PROTOCOL, identity, read)


def open_ml100k(path: str | os.PathLike[str] | None, schema: Any, home: Path) -> Source:
    """ml-100k from the recbole wheel (``path`` None), a GroupLens folder, or a wheel/zip file."""
    if schema is not None:
        raise DatasetError("ml-100k takes no --schema (its protocol is fixed)")
    if path is None:
        override = override_wheel()
        identity = (
            {"wheel": file_identity(override)} if override else {"wheel": WHEEL_SPEC, "sha256": WHEEL_SHA256}
        )
        return _source("ml-100k", identity, lambda bar, digests: _read_wheel(recbole_wheel(home), digests))
    p = Path(path).expanduser()
    hint = "GroupLens' ml-100k folder holding u.data, u.user and u.item"
    st = stat_or_none(p, "ml-100k", f"pass {hint}")
    if st is not None and stat.S_ISREG(st.st_mode):
        if not zipfile.is_zipfile(p):
            raise DatasetError(
                f"ml-100k: {shown(p)} is a file but not a readable zip or wheel (truncated or corrupt?); "
                f"download it again, or pass {hint}"
            )
        p = p.resolve()
        return _source("ml-100k", {"wheel": file_identity(p)}, lambda bar, digests: _read_wheel(p, digests))
    files = _folder(p, _GROUPLENS, "ml-100k", hint)
    return _source("ml-100k", _identity(files), lambda bar, digests: _read_grouplens(files, digests))


def open_ml100k_recbole(path: str | os.PathLike[str] | None, schema: Any, home: Path) -> Source:
    """ml-100k as RecBole 1.2.1's KD_DAGFM sees it (module docstring), from the recbole wheel only."""
    if schema is not None:
        raise DatasetError("ml-100k-recbole takes no --schema (its protocol is fixed)")
    if path is not None:
        raise DatasetError(
            f"ml-100k-recbole takes no --path: it reads RecBole's own atomic files from the {WHEEL_SPEC} "
            "wheel (KDBENCH_RECBOLE_WHEEL=/path/to/the.whl for an offline copy)"
        )
    override = override_wheel()
    identity = (
        {"wheel": file_identity(override)} if override else {"wheel": WHEEL_SPEC, "sha256": WHEEL_SHA256}
    )
    return Source(
        "ml-100k-recbole", "ml-100k-recbole", RECBOLE_FIELDS, [1] * len(RECBOLE_FIELDS), RECBOLE_PROTOCOL,
        identity, lambda bar, digests: _read_wheel(recbole_wheel(home), digests, recbole=True),
    )  # fmt: skip


def torch_randperm(n: int, seed: int) -> np.ndarray:
    """``(n,)`` int64: what ``torch.manual_seed(seed); torch.randperm(n)`` returns on the CPU.

    torch's CPU generator is MT19937 seeded as NumPy's legacy ``RandomState(seed)`` is, and for
    ``n < 2**32 / 20`` its ``randperm`` is a Fisher-Yates shuffle: for ``i = 0 .. n-2`` swap ``i`` with
    ``i + random() % (n - i)``, ``random()`` the generator's next 32-bit output.
    """
    if not 0 < n < (1 << 32) // 20:
        raise ValueError(f"torch_randperm reproduces torch for 0 < n < {(1 << 32) // 20:,}, got {n}")
    raw = np.random.RandomState(seed).randint(0, 1 << 32, size=n - 1, dtype=np.uint32)  # raw outputs
    steps = raw.astype(np.int64) % np.arange(n, 1, -1, dtype=np.int64)
    order = np.arange(n, dtype=np.int64)
    for i, step in enumerate(steps.tolist()):  # 0.03 s for ml-100k: not worth vectorising
        j = i + step
        order[i], order[j] = order[j], order[i]
    return order


def recbole_split(n: int, seed: int = RECBOLE_SEED) -> np.ndarray:
    """``(n,)`` int8, 0 train / 1 valid / 2 test per row in file order: RecBole 1.2.1's ``RO`` order and ``RS
    [0.8, 0.1, 0.1]`` split (``Dataset.shuffle`` then ``split_by_ratio``, ``_calcu_split_ids``'s counts)."""
    ratios = [r / sum(RECBOLE_RATIOS) for r in RECBOLE_RATIOS]
    counts = [int(r * n) for r in ratios]
    counts[0] = n - sum(counts[1:])
    for i in range(1, len(ratios)):  # RecBole gives a part that rounded to nothing one row
        if counts[0] <= 1:
            break
        if 0 < ratios[-i] * n < 1:
            counts[-i] += 1
            counts[0] -= 1
    assign = np.empty(n, dtype=np.int8)
    assign[torch_randperm(n, seed)] = np.repeat(np.arange(len(counts), dtype=np.int8), counts)
    return assign


def open_ml1m(path: str | os.PathLike[str] | None, schema: Any, home: Path) -> Source:
    if schema is not None:
        raise DatasetError("movielens-1m takes no --schema (its protocol is fixed)")
    files = _folder(
        path, _ML1M, "movielens-1m", "the ml-1m folder holding ratings.dat, users.dat, movies.dat"
    )
    return _source("movielens-1m", _identity(files), lambda bar, digests: _read_ml1m(files, digests))


def _folder(path: Any, names: tuple[str, ...], what: str, hint: str) -> dict[str, Path]:
    if path is None:
        raise DatasetError(f"{what} needs --path: {hint}")
    folder = Path(path).expanduser()
    st = stat_or_none(folder, what, f"pass {hint}")
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise DatasetError(f"{what}: {shown(folder)} is not a folder; pass {hint}")
    files = {name: (folder / name).resolve() for name in names}
    missing = [name for name, file in files.items() if not file.is_file()]
    if missing:
        raise DatasetError(f"{what}: {shown(folder)} has no {', '.join(missing)}; pass {hint}")
    empty = [name for name, file in files.items() if file.stat().st_size == 0]
    if empty:
        raise DatasetError(f"{what}: {', '.join(empty)} in {shown(folder)} is empty; re-extract the dataset")
    return files


def _identity(files: dict[str, Path]) -> dict[str, Any]:
    return {name: file_identity(file) for name, file in files.items()}


def _read_bytes(files: dict[str, Path], digests: dict[str, str], what: str) -> dict[str, bytes]:
    data = {}
    for name, file in files.items():
        try:
            data[name] = file.read_bytes()
        except OSError as e:
            raise unreadable(what, file, e) from e
    digests.update({name: hashlib.sha256(raw).hexdigest() for name, raw in data.items()})
    return data


def _table(raw: bytes, sep: str, columns: int, what: str, encoding: str = "utf-8") -> pd.DataFrame:
    """A headerless separated file as strings ('' kept), exactly ``columns`` columns on every line."""
    if sep == "::":
        raw, sep = raw.replace(b"::", b"\x1f"), "\x1f"
    _check_column_counts(raw, sep.encode(), columns, what)
    try:
        frame = pd.read_csv(
            io.BytesIO(raw), sep=sep, header=None, dtype=str, keep_default_na=False, na_filter=False,
            quoting=csv.QUOTE_NONE, encoding=encoding, engine="c",
        )  # fmt: skip
    except UnicodeDecodeError as e:
        raise DatasetError(f"{what} is not {encoding} text ({one_line(e, 100)})") from e
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DatasetError(f"{what}: {one_line(e)}; expected {columns} columns per row") from e
    return frame


def _check_column_counts(raw: bytes, sep: bytes, columns: int, what: str) -> None:
    """DatasetError naming the first non-blank line without exactly ``columns`` fields (vectorised)."""
    text = np.frombuffer(raw if raw.endswith(b"\n") else raw + b"\n", dtype=np.uint8)
    ends = np.flatnonzero(text == ord("\n"))
    starts = np.concatenate([[0], ends[:-1] + 1])
    seps = np.concatenate([[0], np.cumsum(text == sep[0])])
    fields = seps[ends] - seps[starts] + 1
    blank = (ends - starts == 0) | ((ends - starts == 1) & (text[starts] == ord("\r")))
    bad = np.flatnonzero((fields != columns) & ~blank)
    if bad.size:
        line = int(bad[0])
        raise DatasetError(f"{what}: line {line + 1} has {int(fields[line])} column(s), expected {columns}")
    if blank.all():
        raise DatasetError(f"{what}: the file has no rows")


def _atomic(raw: bytes, what: str, required: list[str]) -> pd.DataFrame:
    """A RecBole atomic file (tab-separated, header ``name:type``): the ``required`` columns, as strings."""
    try:
        frame = pd.read_csv(
            io.BytesIO(raw),
            sep="\t",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            quoting=csv.QUOTE_NONE,
        )
    except UnicodeDecodeError as e:
        raise DatasetError(f"{what} is not UTF-8 text ({one_line(e, 100)})") from e
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise DatasetError(f"{what}: {one_line(e)}") from e
    frame.columns = [str(c).split(":", 1)[0] for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        has = one_line(", ".join(frame.columns), 120)
        raise DatasetError(f"{what}: no column {', '.join(missing)} (has {has})")
    return frame[required]


def _read_wheel(wheel: Path, digests: dict[str, str], *, recbole: bool = False) -> Iterator[Chunk]:
    members = {ext: f"{ATOMIC_PREFIX}.{ext}" for ext in ("inter", "user", "item")}
    try:
        with zipfile.ZipFile(wheel) as z:
            missing = [member for member in members.values() if member not in z.namelist()]
            if missing:
                raise DatasetError(f"ml-100k: {wheel} has no {missing[0]}; is it the {WHEEL_SPEC} wheel?")
            data = {ext: z.read(member) for ext, member in members.items()}
    # BadZipFile: CRC or header mismatch; zlib.error / EOFError: damaged or cut deflate data;
    # NotImplementedError, RuntimeError: an unsupported compression method, an encrypted member.
    except (*READ_ERRORS, zipfile.BadZipFile, NotImplementedError, RuntimeError) as e:
        raise DatasetError(
            f"ml-100k: {wheel} is truncated or corrupt ({one_line(e, 100)}); download it again"
        ) from e
    digests.update({ext: hashlib.sha256(raw).hexdigest() for ext, raw in data.items()})
    where = f"ml-100k: {wheel}: {ATOMIC_PREFIX}"
    inter = _atomic(data["inter"], f"{where}.inter", ["user_id", "item_id", "rating", "timestamp"])
    users = _atomic(data["user"], f"{where}.user", ["user_id", "age", "gender", "occupation", "zip_code"])
    items = _atomic(data["item"], f"{where}.item", ["item_id", "release_year"])
    yield _recbole_chunk(inter, users, items) if recbole else _chunk("ml-100k", inter, users, items)


def _read_grouplens(files: dict[str, Path], digests: dict[str, str]) -> Iterator[Chunk]:
    data = _read_bytes(files, digests, "ml-100k")
    where = {name: f"ml-100k: {file}" for name, file in files.items()}
    inter = _table(data["u.data"], "\t", 4, where["u.data"])
    inter.columns = ["user_id", "item_id", "rating", "timestamp"]
    users = _table(data["u.user"], "|", 5, where["u.user"])
    users.columns = ["user_id", "age", "gender", "occupation", "zip_code"]
    items = _table(data["u.item"], "|", 24, where["u.item"], encoding="latin-1")
    items = pd.DataFrame(
        {"item_id": items[0], "release_year": items[2].str.extract(r"^\d{1,2}-\w{3}-(\d{4})$", expand=False)}
    )
    yield _chunk("ml-100k", inter, users, items)


def _read_ml1m(files: dict[str, Path], digests: dict[str, str]) -> Iterator[Chunk]:
    data = _read_bytes(files, digests, "movielens-1m")
    where = {name: f"movielens-1m: {file}" for name, file in files.items()}
    inter = _table(data["ratings.dat"], "::", 4, where["ratings.dat"])
    inter.columns = ["user_id", "item_id", "rating", "timestamp"]
    users = _table(data["users.dat"], "::", 5, where["users.dat"], encoding="latin-1")
    users.columns = ["user_id", "gender", "age", "occupation", "zip_code"]
    items = _table(data["movies.dat"], "::", 3, where["movies.dat"], encoding="latin-1")
    items = pd.DataFrame(
        {"item_id": items[0], "release_year": items[1].str.extract(r"\((\d{4})\)\s*$", expand=False)}
    )
    yield _chunk("movielens-1m", inter, users, items)


def _numbers(column: pd.Series, what: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    if values.isna().any():
        bad = column[values.isna()].iloc[0]
        raise DatasetError(f"{what}: {bad!r} is not a number")
    return values.to_numpy()


def _unique(frame: pd.DataFrame, key: str, what: str) -> pd.DataFrame:
    duplicated = frame[key].duplicated()
    if duplicated.any():
        raise DatasetError(f"{what}: {key} {frame[key][duplicated].iloc[0]!r} appears more than once")
    return frame


def _chunk(what: str, inter: pd.DataFrame, users: pd.DataFrame, items: pd.DataFrame) -> Chunk:
    """Apply the protocol to ratings joined with user and item attributes (all columns as strings)."""
    rating = _numbers(inter["rating"], f"{what} ratings: rating")
    timestamp = _numbers(inter["timestamp"], f"{what} ratings: timestamp").astype(np.int64)
    keep = rating != 3
    labels = (rating[keep] >= 4).astype(np.int8)
    seconds = timestamp[keep]
    derived = {
        "weekday": (seconds // 86400 + 3) % 7,  # 1970-01-01 was a Thursday
        "hour": (seconds % 86400) // 3600,
    }
    joined = _joined(what, inter.loc[keep, ["user_id", "item_id"]].assign(**derived), users, items)
    return Chunk(labels, [_tokens(joined[name]) for name in FIELDS])


def _recbole_chunk(inter: pd.DataFrame, users: pd.DataFrame, items: pd.DataFrame) -> Chunk:
    """RecBole's rows and fields (no timestamp) with its split of the kept rows (module docstring)."""
    what = "ml-100k-recbole"
    rating = _numbers(inter["rating"], f"{what} ratings: rating")
    keep = rating != 3  # RecBole's val_interval "[0,3);(3,inf)"
    labels = (rating[keep] >= 4).astype(np.int8)
    joined = _joined(what, inter.loc[keep, ["user_id", "item_id"]], users, items)
    columns = [_tokens(joined[name]) for name in RECBOLE_FIELDS]
    return Chunk(labels, columns, split=recbole_split(len(labels)))


def _joined(what: str, inter: pd.DataFrame, users: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """``inter`` (in its order) with each row's user and item attributes; release_year a 4-digit year."""
    users = _unique(users, "user_id", f"{what} users")
    items = _unique(items.assign(release_year=_year(items["release_year"])), "item_id", f"{what} items")
    inter = inter.reset_index(drop=True)
    return inter.merge(users, on="user_id", how="left").merge(items, on="item_id", how="left")


def _year(column: pd.Series) -> pd.Series:
    text = column.fillna("").astype(str).str.strip()
    return text.where(text.str.fullmatch(r"\d{4}"), None)


def _tokens(column: pd.Series) -> pa.Array:
    """A field's tokens as an Arrow array; NaN and empty strings become nulls (missing)."""
    if column.dtype.kind in "iu":
        return pa.array(column.to_numpy())
    text = column.astype(object).where(column.notna(), None)
    text = text.where(text != "", None)
    return pa.array(text, type=pa.string(), from_pandas=True)
