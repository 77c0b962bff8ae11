"""Datasets: fetch, parse, encode, split, fingerprint and cache.

``prepare(source, path=..., schema=..., split_seed=2022)`` returns a :class:`Dataset` whose splits are
memory-mapped int32 codes and float32 labels; the second prepare of the same input, protocol and seed loads
from ``$KDBENCH_HOME/datasets/<fingerprint>/`` in milliseconds. Sources and their protocols: ml-100k
(embedded) and movielens-1m (``_movielens.py``), criteo (``_criteo.py``), avazu (``_avazu.py``), csv and
parquet with a schema (``_table.py``); every source shares the encoder (``_encode.py``, ``_build.py``), the
8:1:1 split (``_split.py``) and the cache (``_cache.py``). Each source module also declares its
:class:`Recipe` of training settings (``bench.recipes`` gathers them).
"""

from bench.data._dataset import Dataset, Split
from bench.data._prepare import DEFAULT_SOURCE, available_sources, cached_datasets, prepare
from bench.data._source import Recipe
from bench.data._table import TableSchema, load_schema

__all__ = [
    "DEFAULT_SOURCE",
    "Dataset",
    "Recipe",
    "Split",
    "TableSchema",
    "available_sources",
    "cached_datasets",
    "load_schema",
    "prepare",
]
