"""Datasets: fetch, parse, encode, split, fingerprint and cache.

``prepare(source, path=..., schema=..., split_seed=2022)`` returns a :class:`Dataset` whose splits are
memory-mapped int32 codes and float32 labels; the second prepare of the same input, protocol and seed loads
from ``$KDBENCH_HOME/datasets/<fingerprint>/`` in milliseconds. Sources and their protocols: ml-100k
(embedded) and movielens-1m (``_movielens.py``), criteo (``_criteo.py``), avazu (``_avazu.py``), csv and
parquet with a schema (``_schema.py``, ``_table.py``; ``docs/datasets.md``); a prepared table is found
again by its name or fingerprint (``_names.py``: ``prepare("adult")``). Every source shares the encoder
(``_encode.py``, ``_build.py``), the 8:1:1 split (``_split.py``) and the cache (``_cache.py``). Each
source module also declares its :class:`Recipe` of training settings (``kdbench.bench.recipes`` gathers them).
"""

from kdbench.bench.data._dataset import Dataset, Split
from kdbench.bench.data._prepare import (
    DEFAULT_SOURCE,
    DEFAULT_SPLIT_SEED,
    available_sources,
    cached_datasets,
    dataset_source,
    default_split_seed,
    open_dataset,
    prepare,
)
from kdbench.bench.data._schema import TableSchema, load_schema
from kdbench.bench.data._shared import CachedDataset, share_dataset
from kdbench.bench.data._source import Recipe
from kdbench.bench.data._split import split_text

__all__ = [
    "DEFAULT_SOURCE",
    "DEFAULT_SPLIT_SEED",
    "CachedDataset",
    "Dataset",
    "Recipe",
    "Split",
    "TableSchema",
    "available_sources",
    "cached_datasets",
    "dataset_source",
    "default_split_seed",
    "load_schema",
    "open_dataset",
    "prepare",
    "share_dataset",
    "split_text",
]
