"""``kdbench data``: prepare a dataset (fetch, parse, encode, split, cache), list sources and cache, show one
(with its source's training recipe).

Each subcommand is a thin parser over a keyword-only function (``prepare_dataset``, ``list_datasets``,
``dataset_info``) that tests call directly.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from bench.errors import DatasetError

__all__ = ["dataset_info", "list_datasets", "prepare_dataset", "register", "schema_from_flags"]


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser(
        "data",
        help="prepare, list and inspect datasets",
        description="Fetch, parse, encode, split and cache datasets under $KDBENCH_HOME/datasets.",
    )
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    data.set_defaults(func=lambda args: _help(data))

    p = commands.add_parser("prepare", help="prepare (or load from the cache) a dataset and describe it")
    p.add_argument("name", nargs="?", default="ml-100k", help="source: ml-100k (default), movielens-1m, ...")
    p.add_argument("--path", help="raw data file or folder (required except for ml-100k)")
    p.add_argument("--schema", help="schema YAML for csv/parquet (or use the flags below)")
    p.add_argument("--label", help="csv/parquet: the 0/1 label column")
    p.add_argument("--categorical", help="csv/parquet: comma-separated categorical columns")
    p.add_argument(
        "--numeric",
        help="csv/parquet: comma-separated COLUMN:RULE, RULE = identity | log_square (e.g. price:log_square)",
    )
    p.add_argument("--min-count", type=int, help="csv/parquet: categorical tokens seen fewer times -> 0")
    p.add_argument("--sep", help="csv: field separator (default ,)")
    p.add_argument("--split-seed", type=int, default=2022, help="seed of the 8:1:1 split (default 2022)")
    p.add_argument("--home", help="cache root (default $KDBENCH_HOME or ~/.cache/kdbench)")
    p.add_argument("--json", action="store_true", help="print the dataset's info as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_prepare)

    p = commands.add_parser("list", help="known sources and cached datasets")
    p.add_argument("--home", help="cache root (default $KDBENCH_HOME or ~/.cache/kdbench)")
    p.set_defaults(func=lambda args: list_datasets(home=args.home))

    p = commands.add_parser("info", help="describe cached datasets by name, source or fingerprint prefix")
    p.add_argument("name", help="dataset name, source or fingerprint (prefix)")
    p.add_argument("--home", help="cache root (default $KDBENCH_HOME or ~/.cache/kdbench)")
    p.add_argument("--json", action="store_true", help="print the info as JSON")
    p.set_defaults(func=lambda args: dataset_info(name=args.name, home=args.home, as_json=args.json))


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
    )
    if flags is not None:
        if schema is not None:
            raise DatasetError(
                "give the schema either as --schema FILE or as --label/--categorical/... flags"
            )
        schema = flags
    prepare_dataset(
        name=args.name,
        path=args.path,
        schema=schema,
        split_seed=args.split_seed,
        home=args.home,
        progress=not args.quiet,
        as_json=args.json,
    )
    return 0


def schema_from_flags(
    *,
    label: str | None = None,
    categorical: str | None = None,
    numeric: str | None = None,
    min_count: int | None = None,
    sep: str | None = None,
) -> dict[str, Any] | None:
    """A schema mapping from the CLI flags, or None when none was given."""
    if all(v is None for v in (label, categorical, numeric, min_count, sep)):
        return None
    schema: dict[str, Any] = {"label": label}
    if categorical:
        schema["categorical"] = [c.strip() for c in categorical.split(",") if c.strip()]
    if numeric:
        rules = {}
        for item in numeric.split(","):
            column, _, rule = item.strip().partition(":")
            rules[column] = rule or "identity"
        schema["numeric"] = rules
    if min_count is not None:
        schema["min_count"] = min_count
    if sep is not None:
        schema["sep"] = sep
    return schema


def prepare_dataset(
    *,
    name: str = "ml-100k",
    path: str | None = None,
    schema: Any = None,
    split_seed: int = 2022,
    home: str | None = None,
    progress: bool = True,
    as_json: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Prepare ``name`` (or load it from the cache), print its summary and return its info."""
    from bench.data import prepare

    console = console or Console()
    started = time.perf_counter()
    dataset = prepare(name, path=path, schema=schema, split_seed=split_seed, home=home, progress=progress)
    seconds = time.perf_counter() - started
    info = dataset.info()
    if as_json:
        extra = {
            "seconds": round(seconds, 3),
            "path": str(dataset.path),
            "recipe": _recipe_json(info["source"]),
        }
        console.print_json(json.dumps({**info, **extra}))
    else:
        _print_info(console, info, seconds=seconds, path=str(dataset.path))
    return info


def list_datasets(*, home: str | None = None, console: Console | None = None) -> int:
    """Print the known sources and every cached dataset; returns 0."""
    from bench.data import available_sources, cached_datasets

    console = console or Console()
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
    table.add_column("fingerprint", no_wrap=True)
    for column in ("name", "source"):
        table.add_column(column, no_wrap=True)
    for column in ("rows", "positive", "fields", "seed", "MiB"):
        table.add_column(column, justify="right", no_wrap=True)
    for meta in cached:
        table.add_row(
            meta["fingerprint"],
            meta["name"],
            meta["source"],
            f"{meta['rows']:,}",
            f"{100 * meta['positives'] / max(meta['rows'], 1):.1f} %",
            str(len(meta["fields"])),
            str(meta["protocol"].get("split", {}).get("seed", "")),
            f"{meta['bytes'] / 2**20:,.1f}",
        )
    console.print(table)
    return 0


def dataset_info(
    *, name: str, home: str | None = None, as_json: bool = False, console: Console | None = None
) -> int:
    """Print every cached dataset whose name or source is ``name`` or whose fingerprint starts with it."""
    from bench.data import available_sources, cached_datasets

    console = console or Console()
    matches = [
        m
        for m in cached_datasets(home)
        if name in (m["name"], m["source"]) or (len(name) >= 4 and m["fingerprint"].startswith(name))
    ]
    if not matches:
        hint = f"`kdbench data prepare {name}`" if name in available_sources() else "`kdbench data list`"
        raise DatasetError(f"no cached dataset matches {name!r}; see {hint}")
    for meta in matches:
        info = {
            k: meta[k] for k in ("fingerprint", "name", "source", "protocol", "rows", "positives", "fields")
        }
        info.update(vocab_sizes=meta["vocab_sizes"], split_sizes=meta["split_sizes"])
        if as_json:
            extra = {
                "path": meta["path"],
                "created": meta.get("created"),
                "recipe": _recipe_json(meta["source"]),
            }
            console.print_json(json.dumps({**info, **extra}))
        else:
            _print_info(console, info, path=meta["path"])
    return 0


def _print_info(console: Console, info: dict[str, Any], *, seconds: float | None = None, path: str) -> None:
    rows, positives = info["rows"], info["positives"]
    took = f" in {seconds:.2f} s" if seconds is not None else ""
    console.print(f"[bold]{info['name']}[/bold] ({info['source']}){took}  {path}")
    console.print(f"rows {rows:,}   positives {positives:,} ({100 * positives / max(rows, 1):.1f} %)")
    sizes = info["split_sizes"]
    console.print(f"split train {sizes['train']:,} / valid {sizes['valid']:,} / test {sizes['test']:,}")
    fields = Table(show_header=True, box=None, pad_edge=False)
    fields.add_column("field")
    fields.add_column("vocabulary", justify="right")
    for field, size in zip(info["fields"], info["vocab_sizes"], strict=True):
        fields.add_row(field, f"{size:,}")
    console.print(fields)
    console.print(f"fingerprint {info['fingerprint']}")
    _print_recipe(console, info["source"])


def _recipe_json(source: str) -> dict[str, Any] | None:
    from bench.recipes import recipe_for

    recipe = recipe_for(source)
    return None if recipe is None else {**recipe.to_dict(), "rationale": recipe.rationale}


def _print_recipe(console: Console, source: str) -> None:
    """The training settings `kdbench train` starts from on this source, and why."""
    from bench.recipes import recipe_for

    recipe = recipe_for(source)
    if recipe is None:
        console.print("recipe: none (`kdbench train` starts from the trial config defaults)")
        return
    values = " ".join(f"{key}={json.dumps(value)}" for key, value in recipe.to_dict()["values"].items())
    console.print(f"recipe {recipe.name}: {values}", highlight=False)
    console.print(f"  {recipe.rationale}", highlight=False)
