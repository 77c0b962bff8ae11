"""``kdbench data``: prepare a dataset (fetch, parse, encode, split, cache), list sources and cache, show one
(with the training recipe that fits it), remove prepared ones.

Each subcommand is a thin parser over a keyword-only function (``prepare_dataset``, ``list_datasets``,
``dataset_info``, ``remove_datasets``) that tests call directly.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from kdbench.bench.errors import DatasetError
from kdbench.bench.io import output_console

__all__ = [
    "dataset_info",
    "export_split",
    "list_datasets",
    "prepare_dataset",
    "register",
    "remove_datasets",
    "schema_from_flags",
    "split_from_flags",
]


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser(
        "data",
        help="prepare, list and inspect datasets",
        description="Fetch, parse, encode, split and cache datasets under $KDBENCH_HOME/datasets.",
    )
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    data.set_defaults(func=lambda args: _help(data))

    p = commands.add_parser(
        "prepare",
        help="prepare (or load from the cache) a dataset and describe it",
        description="Prepare a source once; then train and sweep on it by name: `kdbench train --dataset "
        "NAME`. Your own table: `kdbench data prepare csv --path FILE --schema SCHEMA.yaml` (or the flags "
        "below). The schema format, every numeric rule, the split and the cache: docs/datasets.md.",
        epilog="Schema format and examples: docs/datasets.md",
    )
    p.add_argument(
        "name",
        nargs="?",
        default="ml-100k",
        help="source: ml-100k (default), movielens-1m, criteo, avazu, csv, parquet (or a prepared NAME)",
    )
    p.add_argument("--path", help="raw data file or folder (required except for ml-100k)")
    p.add_argument("--schema", help="csv/parquet: schema YAML (docs/datasets.md), or the flags below")
    p.add_argument(
        "--name",
        dest="dataset_name",
        help="the dataset's name: csv/parquet (default: the file's stem), criteo, avazu, movielens-1m "
        "(default: the source's name), so train/sweep/regress take --dataset NAME",
    )
    for role in ("train", "valid", "test"):
        p.add_argument(
            f"--{role}",
            metavar="FILE",
            help=f"csv/parquet with a given split: the {role} rows' file (give all three, no --path)",
        )
    p.add_argument(
        "--split",
        dest="split_rule",
        metavar="time:COLUMN",
        help="csv/parquet: a time-ordered 8:1:1 split, sorted by COLUMN (numbers or ISO date/times) instead "
        "of the seeded random split",
    )
    p.add_argument("--label", help="csv/parquet: the label column")
    p.add_argument("--positive", help="csv/parquet: the label value that means 1 (default: a 0/1 label)")
    p.add_argument("--categorical", help="csv/parquet: comma-separated categorical columns")
    p.add_argument(
        "--numeric",
        help="csv/parquet: comma-separated COLUMN[:RULE], RULE = quantile (10 buckets; the default), "
        "quantile=K, identity, log_square, dense (the value itself, standardised on the training split) or "
        "edges=[E1,E2,...] (e.g. 'age:dense,wgt:quantile=20,gain:log_square')",
    )
    p.add_argument(
        "--min-count", type=int, help="csv/parquet: categorical and identity tokens seen fewer times -> 0"
    )
    p.add_argument("--missing", help="csv/parquet: comma-separated values read as missing (e.g. '?,NA')")
    p.add_argument("--sep", help="csv: field separator (default ,)")
    p.add_argument(
        "--split-seed",
        type=int,
        help="seed of the random 8:1:1 split (default 2022; for a prepared NAME: the one it was prepared "
        "with); not for a given or time-ordered split",
    )
    p.add_argument("--home", help="cache root (default $KDBENCH_HOME or ~/.cache/kdbench)")
    p.add_argument("--json", action="store_true", help="print the dataset's info as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_prepare)

    p = commands.add_parser("list", help="known sources and cached datasets")
    p.add_argument("--home", help="cache root (default $KDBENCH_HOME or ~/.cache/kdbench)")
    p.add_argument("--json", action="store_true", help="print one JSON document: sources and cached datasets")
    p.set_defaults(func=lambda args: list_datasets(home=args.home, as_json=args.json))

    p = commands.add_parser("info", help="describe cached datasets by name, source or fingerprint prefix")
    p.add_argument("name", help="dataset name, source or fingerprint (prefix)")
    p.add_argument("--home", help="cache root (default $KDBENCH_HOME or ~/.cache/kdbench)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document: an object, or a list when several entries match (one per split seed)",
    )
    p.set_defaults(func=lambda args: dataset_info(name=args.name, home=args.home, as_json=args.json))

    p = commands.add_parser(
        "remove",
        help="remove prepared datasets from the cache (by name, fingerprint, split seed, or stale ones)",
        description="Remove prepared datasets from the cache, with their cache keys. A NAME removes every "
        "entry prepared under it and frees the name; with --split-seed only that seed's entry. A "
        "fingerprint (6+ hex digits) removes that entry. --stale removes entries whose source file holds "
        "other bytes than when they were prepared (a file that is gone does not make its entry stale). "
        "Nothing is removed when a target matches nothing or a running process has an entry open.",
    )
    p.add_argument("targets", nargs="*", metavar="NAME", help="dataset names or fingerprints (prefixes)")
    p.add_argument("--split-seed", type=int, help="only the entries with this split seed")
    p.add_argument("--stale", action="store_true", help="only entries whose source file has changed since")
    p.add_argument("--dry-run", action="store_true", help="show what would be removed; remove nothing")
    p.add_argument("--home", help="cache root (default $KDBENCH_HOME or ~/.cache/kdbench)")
    p.set_defaults(func=_remove)

    p = commands.add_parser(
        "export-split",
        help="write a split's rows as raw values (CSV), e.g. to score them with `kdbench student predict`",
        description="Decode a prepared split's codes through its vocabularies back to raw values (code 0: an "
        "empty cell; a bucketed numeric field: a value inside its bucket), plus the 0/1 label column.",
    )
    p.add_argument("name", help="dataset name, source or fingerprint (prefix)")
    p.add_argument("--split", default="test", help="train, valid or test (default: test)")
    p.add_argument("--out", required=True, metavar="FILE", help="the CSV file to write")
    p.add_argument("--split-seed", type=int, help="the split's seed (default: 2022, or the name's)")
    p.add_argument("--home", help="cache root (default $KDBENCH_HOME or ~/.cache/kdbench)")
    p.set_defaults(func=_export_split)


def _export_split(args: argparse.Namespace) -> int:
    rows = export_split(
        name=args.name, split=args.split, out=args.out, split_seed=args.split_seed, home=args.home
    )
    print(f"wrote {rows:,} {args.split} rows of {args.name} to {args.out}")
    return 0


def export_split(
    *, name: str, split: str, out: str, split_seed: int | None = None, home: str | None = None
) -> int:
    """Write split ``split`` of dataset ``name`` as raw rows to the CSV ``out`` (atomically); returns the row
    count. See ``kdbench.bench.serve.split_rows``."""
    from kdbench.bench.data import SPLIT_NAMES, open_dataset
    from kdbench.bench.errors import UsageError
    from kdbench.bench.io import check_output_file, write_atomic
    from kdbench.bench.serve import split_rows

    if split not in SPLIT_NAMES:
        raise UsageError(f"--split {split!r} is not a split: use one of {', '.join(SPLIT_NAMES)}")
    target = check_output_file(out, "--out")
    dataset = open_dataset(name, split_seed=split_seed, home=home)
    frame = split_rows(dataset, split)
    write_atomic(target, lambda tmp: frame.to_csv(tmp, index=False), "--out")
    return len(frame)


def _remove(args: argparse.Namespace) -> int:
    return remove_datasets(
        targets=args.targets,
        split_seed=args.split_seed,
        stale=args.stale,
        dry_run=args.dry_run,
        home=args.home,
    )


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _prepare(args: argparse.Namespace) -> int:
    schema: Any = args.schema
    flags = schema_from_flags(
        label=args.label,
        categorical=args.categorical,
        numeric=args.numeric,
        min_count=args.min_count,
        sep=args.sep,
        positive=args.positive,
        missing=args.missing,
    )
    table = args.name in ("csv", "parquet")
    files = {role: getattr(args, role) for role in ("train", "valid", "test")}
    if flags is not None:
        if schema is not None:
            raise DatasetError(
                "give the schema either as --schema FILE or as --label/--categorical/... flags"
            )
        schema = flags
    elif schema is None and table and (args.path is not None or any(files.values())):
        raise DatasetError(
            f"{args.name} needs a schema: --schema FILE.yaml, or --label COLUMN with --categorical/--numeric "
            "COLUMNS (see docs/datasets.md)"
        )
    split = split_from_flags(args.name, files, args.split_rule, path=args.path)
    if split is not None:
        schema = _with_split(schema, split)
    if args.dataset_name is not None and args.name not in NAMEABLE:
        raise DatasetError(
            f"--name names a table or a raw-format file ({', '.join(NAMEABLE)}); {args.name} is always named "
            f"{args.name}"
        )
    prepare_dataset(
        name=args.name,
        path=args.path,
        schema=schema,
        split_seed=args.split_seed,
        home=args.home,
        progress=not args.quiet,
        as_json=args.json,
        dataset_name=args.dataset_name,
    )
    return 0


NAMEABLE = ("csv", "parquet", "criteo", "avazu", "movielens-1m")  # sources whose files --name can name


def split_from_flags(
    source: str, files: dict[str, str | None], rule: str | None, *, path: str | None = None
) -> dict[str, Any] | None:
    """The schema's ``split:`` block from ``--train/--valid/--test`` (resolved paths) or ``--split
    time:COLUMN``; None when neither is given. Refusals are one line naming the flag."""
    given = {role: file for role, file in files.items() if file is not None}
    if not given and rule is None:
        return None
    flags = ", ".join([*(f"--{role}" for role in given), *(["--split"] if rule is not None else [])])
    if source not in ("csv", "parquet"):
        raise DatasetError(f"{flags} split a csv or parquet table; {source} is always split at random 8:1:1")
    if given and rule is not None:
        raise DatasetError("give --train/--valid/--test (a given split) or --split time:COLUMN, not both")
    if rule is not None:
        kind, _, column = rule.partition(":")
        if kind != "time" or not column.strip():
            raise DatasetError(f"--split takes time:COLUMN (a time-ordered 8:1:1 split), got {rule!r}")
        return {"order_by": column.strip(), "ratios": [8, 1, 1]}
    missing = [f"--{role}" for role in files if files[role] is None]
    if missing:
        raise DatasetError(f"a given split needs --train, --valid and --test; {', '.join(missing)} missing")
    if path is not None:
        raise DatasetError("give the table as --path FILE or as --train/--valid/--test FILES, not both")
    return {role: str(Path(file).expanduser().resolve()) for role, file in given.items()}


def _with_split(schema: Any, split: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (a YAML path or a mapping) with the flags' split block; a schema with its own is refused."""
    from kdbench.bench.data import load_schema

    mapping = load_schema(schema).to_mapping()
    if "split" in mapping:
        raise DatasetError(
            "the schema has a split block already: drop --train/--valid/--test or --split, or its split:"
        )
    return {**mapping, "split": split}


def schema_from_flags(
    *,
    label: str | None = None,
    categorical: str | None = None,
    numeric: str | None = None,
    min_count: int | None = None,
    sep: str | None = None,
    name: str | None = None,
    positive: str | None = None,
    missing: str | None = None,
) -> dict[str, Any] | None:
    """A schema mapping from the CLI flags, or None when none was given."""
    from kdbench.bench.data import parse_numeric_flag

    given = (label, categorical, numeric, min_count, sep, name, positive, missing)
    if all(v is None for v in given):
        return None
    schema: dict[str, Any] = {"label": label}
    if categorical:
        schema["categorical"] = [c.strip() for c in categorical.split(",") if c.strip()]
    if numeric:
        schema["numeric"] = parse_numeric_flag(numeric)
    if min_count is not None:
        schema["min_count"] = min_count
    if sep is not None:
        schema["sep"] = sep
    if name is not None:
        schema["name"] = name
    if positive is not None:
        schema["positive"] = positive
    if missing is not None:
        schema["missing"] = [v.strip() for v in missing.split(",") if v.strip()]
    return schema


def prepare_dataset(
    *,
    name: str = "ml-100k",
    path: str | None = None,
    schema: Any = None,
    split_seed: int | None = None,
    home: str | None = None,
    progress: bool = True,
    as_json: bool = False,
    console: Console | None = None,
    dataset_name: str | None = None,
) -> dict[str, Any]:
    """Prepare ``name`` (a source, or a prepared dataset's name or fingerprint) or load it from the cache,
    print its summary and return its info. ``dataset_name``: the name to prepare a source's file under
    (``--name``)."""
    from kdbench.bench.data import cached_datasets, prepare

    console = console or output_console()
    started = time.perf_counter()
    dataset = prepare(
        name, path=path, schema=schema, split_seed=split_seed, home=home, progress=progress, name=dataset_name
    )
    seconds = time.perf_counter() - started
    info = dataset.info()
    meta = next((m for m in cached_datasets(home) if m["fingerprint"] == dataset.fingerprint), info)
    if as_json:
        extra = {"seconds": round(seconds, 3), "path": str(dataset.path), **_provenance(meta)}
        console.print_json(json.dumps({**info, **extra, "recipe": _recipe_json(info)}))
    else:
        _print_info(console, meta, seconds=seconds, path=str(dataset.path))
    return info


def list_datasets(*, home: str | None = None, as_json: bool = False, console: Console | None = None) -> int:
    """Print the known sources and every cached dataset (``as_json``: one JSON object, ``sources`` and
    ``cached``, each entry as ``data info --json`` shows it); returns 0."""
    from kdbench.bench.data import available_sources, cached_datasets

    console = console or output_console()
    if as_json:
        cached = [_info_json(meta) for meta in cached_datasets(home)]
        console.print_json(json.dumps({"sources": available_sources(), "cached": cached}))
        return 0
    sources = Table(title="sources", title_justify="left", box=box.SIMPLE)
    sources.add_column("name")
    sources.add_column("input")
    for source, description in available_sources().items():
        sources.add_row(source, description)
    console.print(sources)
    cached = cached_datasets(home)
    if not cached:
        console.print("no cached datasets yet: `kdbench data prepare` (ml-100k) makes the first")
        return 0
    table = Table(title="cached", title_justify="left", box=box.SIMPLE)
    table.add_column("fingerprint", overflow="fold")
    table.add_column("name", min_width=8, overflow="fold")
    table.add_column("source", overflow="fold")
    for column in ("rows", "positive", "fields", "split seed", "MiB"):
        table.add_column(column, justify="right", overflow="fold")
    table.add_column("from", min_width=12, overflow="fold")
    for meta in cached:
        provenance = _provenance(meta)
        table.add_row(
            meta["fingerprint"],
            meta["name"],
            meta["source"],
            f"{meta['rows']:,}",
            f"{100 * meta['positives'] / max(meta['rows'], 1):.1f} %",
            str(len(meta["fields"])),
            _seed_cell(provenance["split_seed"]),
            f"{meta['bytes'] / 2**20:,.1f}",
            provenance["file"] or "(embedded)",
        )
    console.print(table)
    console.print(
        "train on one: `kdbench train --dataset NAME` (or a fingerprint); details: `kdbench data info NAME`"
    )
    return 0


def remove_datasets(
    *,
    targets: list[str],
    split_seed: int | None = None,
    stale: bool = False,
    dry_run: bool = False,
    home: str | None = None,
    console: Console | None = None,
) -> int:
    """Remove the cached datasets ``targets`` name (see ``kdbench.bench.data.select_entries``); returns 0."""
    from kdbench.bench.data import datasets_root, remove_entries, select_entries, split_seed_of
    from kdbench.bench.io import kdbench_home

    console = console or output_console()
    root = datasets_root(kdbench_home(home, create=False))
    selection = select_entries(root, targets, split_seed=split_seed, stale=stale)
    if not selection.metas and not selection.names:
        console.print("nothing to remove: no cached dataset is stale" if stale else "nothing to remove")
        return 0
    table = Table(box=box.SIMPLE)
    for column in ("fingerprint", "name", "split seed", "MiB", "from"):
        table.add_column(
            column, justify="right" if column in ("split seed", "MiB") else "left", overflow="fold"
        )
    for meta in selection.metas:
        file = _provenance(meta)["file"]
        changed = " (changed since)" if stale else ""  # what --stale selected it for
        table.add_row(
            meta["fingerprint"], meta["name"], _seed_cell(split_seed_of(meta)),
            f"{meta['bytes'] / 2**20:,.1f}", f"{file}{changed}" if file else "(embedded)",
        )  # fmt: skip
    if selection.metas:
        console.print(table)
    total = sum(int(m["bytes"]) for m in selection.metas)
    names = ""
    if selection.names:  # another file may be prepared under them now
        names = (
            f"; {', '.join(selection.names)} {'is' if len(selection.names) == 1 else 'are'} free as a name"
        )
    count = f"{len(selection.metas)} dataset{'s' if len(selection.metas) != 1 else ''}"
    if dry_run:
        console.print(f"would remove {count}, {total / 2**20:,.1f} MiB{names} (dry run: nothing removed)")
        return 0
    freed = remove_entries(root, selection)
    console.print(f"removed {count}, {freed / 2**20:,.1f} MiB freed{names}")
    return 0


def dataset_info(
    *, name: str, home: str | None = None, as_json: bool = False, console: Console | None = None
) -> int:
    """Print every cached dataset whose name or source is ``name`` or whose fingerprint starts with it."""
    from kdbench.bench.data import available_sources, cached_datasets

    console = console or output_console()
    matches = [
        m
        for m in cached_datasets(home)
        if name in (m["name"], m["source"]) or (len(name) >= 4 and m["fingerprint"].startswith(name))
    ]
    if not matches:
        hint = f"`kdbench data prepare {name}`" if name in available_sources() else "`kdbench data list`"
        raise DatasetError(f"no cached dataset matches {name!r}; see {hint}")
    if as_json:  # one document: several entries (split seeds of one name) make a list
        shown = [_info_json(meta) for meta in matches]
        console.print_json(json.dumps(shown[0] if len(shown) == 1 else shown))
        return 0
    for meta in matches:
        _print_info(console, meta, path=meta["path"])
    return 0


def _info_json(meta: dict[str, Any]) -> dict[str, Any]:
    """A cache entry as ``data info --json`` prints it: its info, where it came from, and its recipe."""
    info = {k: meta[k] for k in ("fingerprint", "name", "source", "protocol", "rows", "positives", "fields")}
    info.update(vocab_sizes=meta["vocab_sizes"], split_sizes=meta["split_sizes"])
    if meta.get("dense_fields"):
        info["dense_fields"] = meta["dense_fields"]
    extra = {"path": meta["path"], "created": meta.get("created"), **_provenance(meta)}
    return {**info, **extra, "recipe": _recipe_json(meta)}


def _provenance(meta: dict[str, Any]) -> dict[str, Any]:
    """Where an entry came from: ``file`` (None: embedded), ``split_seed``, ``schema`` (tables) and
    ``learned`` (a table's quantile edges, dense means and stds), from its meta (entries from before
    ``prepared`` was recorded fall back on their identity and protocol)."""
    from kdbench.bench.data import split_text

    prepared = meta.get("prepared") or {}
    identity = meta.get("identity") or {}
    first = next(iter(identity.values()), None) if isinstance(identity, dict) else None
    file = prepared.get("path") or (first.get("path") if isinstance(first, dict) else None)
    protocol = meta.get("protocol") or {}
    return {
        "file": file,
        "split_seed": protocol.get("split", {}).get("seed"),
        "split": split_text(protocol.get("split")),
        "schema": prepared.get("schema"),
        "learned": meta.get("learned") or {},
    }


def _seed_cell(seed: int | None) -> str:
    """The split seed column: the seed, or ``given`` for a split that comes with the data (none)."""
    return "given" if seed is None else str(seed)


def _print_info(console: Console, meta: dict[str, Any], *, seconds: float | None = None, path: str) -> None:
    from kdbench.bench.data import rule_text

    rows, positives = meta["rows"], meta["positives"]
    provenance = _provenance(meta)
    took = f" in {seconds:.2f} s" if seconds is not None else ""
    console.print(f"[bold]{meta['name']}[/bold] ({meta['source']}){took}  {path}")
    if provenance["file"]:
        console.print(f"from {provenance['file']}", highlight=False)
    console.print(f"rows {rows:,}   positives {positives:,} ({100 * positives / max(rows, 1):.1f} %)")
    sizes = meta["split_sizes"]
    console.print(
        f"split train {sizes['train']:,} / valid {sizes['valid']:,} / test {sizes['test']:,}  "
        f"({provenance['split']})"
    )
    protocol = meta.get("protocol") or {}
    table = meta["source"] in ("csv", "parquet")
    if table:
        positive = protocol.get("positive", "1")
        missing = ", ".join(repr(v) for v in protocol.get("missing", {}).get("values", [""]))
        console.print(
            f"label {protocol.get('label')} (1 = {positive!r})   min_count {protocol.get('min_count', 1)} "
            f"(categorical and identity fields)   missing: {missing}",
            highlight=False,
        )
    numeric = protocol.get("numeric", {}) if table else {}
    edges = provenance["learned"].get("quantile_edges", {})
    dense = provenance["learned"].get("dense", {})
    fields = Table(show_header=True, box=None, pad_edge=False)
    fields.add_column("field")
    if table:
        fields.add_column("rule")
    fields.add_column("vocabulary", justify="right")
    for field, size in zip(meta["fields"], meta["vocab_sizes"], strict=True):
        if not table:
            fields.add_row(field, f"{size:,}")
            continue
        rule = rule_text(numeric[field]) if field in numeric else "categorical"
        if field in edges:
            rule += " (edges " + "|".join(f"{e:.4g}" for e in edges[field]) + ")"
        if field in dense:  # the value itself: a learned vector scaled by (v - mean) / std
            rule += f" (value scaled: mean {dense[field]['mean']:.4g}, std {dense[field]['std']:.4g})"
        fields.add_row(field, rule, f"{size:,}")
    console.print(fields)
    console.print(f"fingerprint {meta['fingerprint']}")
    _print_recipe(console, meta)


def _recipe_json(meta: dict[str, Any]) -> dict[str, Any]:
    from kdbench.bench.recipes import recipe_for_data

    return recipe_for_data(meta).to_dict()


def _print_recipe(console: Console, meta: dict[str, Any]) -> None:
    """The training settings `kdbench train` starts from on this dataset, and why."""
    from kdbench.bench.recipes import recipe_for_data

    recipe = recipe_for_data(meta)
    values = " ".join(f"{key}={json.dumps(value)}" for key, value in recipe.to_dict()["values"].items())
    console.print(f"recipe {recipe.name}: {values}", highlight=False)
    console.print(f"  {recipe.rationale}", highlight=False)
