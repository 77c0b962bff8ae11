"""One module per ``kdbench`` command group; see :mod:`kdbench.bench.cli`."""

from __future__ import annotations

import argparse

__all__ = ["SPLIT_SEED_HELP", "add_dataset_arguments"]

SPLIT_SEED_HELP = "seed of the 8:1:1 split (default: 2022, or the one a prepared name was prepared with)"


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dataset`` (default ml-100k), ``--path`` and ``--schema``: how ``train`` and ``baseline`` name
    the data they open (``kdbench.bench.data.open_dataset``)."""
    parser.add_argument(
        "--dataset",
        default="ml-100k",
        help="a source (default: ml-100k), or a prepared dataset's name or fingerprint (`kdbench data list`)",
    )
    parser.add_argument("--path", help="raw data file or folder for sources that need one")
    parser.add_argument("--schema", help="schema YAML for csv/parquet sources (docs/datasets.md)")
