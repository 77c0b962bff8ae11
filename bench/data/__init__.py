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

from kdbench.bench.data._avazu import AVAZU_RECIPE
from kdbench.bench.data._cache import datasets_root
from kdbench.bench.data._criteo import CRITEO_RECIPE, INTEGER_FIELDS
from kdbench.bench.data._dataset import SPLIT_NAMES, Dataset, Split
from kdbench.bench.data._movielens import ML1M_RECIPE, ML100K_RECBOLE_RECIPE, ML100K_RECIPE
from kdbench.bench.data._numeric import MISSING_DENSE, numeric_tokens, standardise
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
from kdbench.bench.data._remove import remove_entries, select_entries, split_seed_of
from kdbench.bench.data._schema import TableSchema, load_schema, parse_numeric_flag, rule_text
from kdbench.bench.data._shared import CachedDataset, share_dataset
from kdbench.bench.data._source import Recipe
from kdbench.bench.data._split import split_text

__all__ = [
    "AVAZU_RECIPE",
    "CRITEO_RECIPE",
    "DEFAULT_SOURCE",
    "DEFAULT_SPLIT_SEED",
    "INTEGER_FIELDS",
    "MISSING_DENSE",
    "ML1M_RECIPE",
    "ML100K_RECBOLE_RECIPE",
    "ML100K_RECIPE",
    "SPLIT_NAMES",
    "CachedDataset",
    "Dataset",
    "Recipe",
    "Split",
    "TableSchema",
    "available_sources",
    "cached_datasets",
    "dataset_source",
    "datasets_root",
    "default_split_seed",
    "load_schema",
    "numeric_tokens",
    "open_dataset",
    "parse_numeric_flag",
    "prepare",
    "remove_entries",
    "rule_text",
    "select_entries",
    "share_dataset",
    "split_seed_of",
    "split_text",
    "standardise",
]
