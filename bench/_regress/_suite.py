"""Regression suites: YAML files of named cases, loaded and validated strictly.

A suite file (``bench/suites/<name>.yaml`` or any path)::

    description: one line shown in the report      # optional
    seeds: 3                 # per case: N (seeds 0..N-1, N >= 2) or a list of >= 2 distinct ints
    threads: 2               # optional: torch CPU threads for every case (comparable across machines)
    figures: [student_test_auc, train_throughput]  # optional: tracked figures (default: all)
    defaults: {embedding_size: 8, max_epochs: 2}   # optional: trial config keys shared by every case
    cases:
      - name: crossnet-outer                       # unique; letters, digits, '-', '_', '.'
        dataset: ml-100k                           # a source name, a prepared dataset's name or
                                                   # fingerprint, or {source, path, schema, split_seed}
                                                   # (paths are relative to the suite file)
        config: {teacher: crossnet, interaction: outer}  # merged over defaults; validated by TrialConfig
        seeds: 3                                   # optional: overrides the suite's
        figures: [...]                             # optional: overrides the suite's

Unknown keys, a missing dataset, a bad config key and fewer than two seeds are :class:`RegressionError`\\ s
naming the file and the key. The seed is not a config key here: ``seeds`` sets it per run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kdbench.bench._regress._figures import FIGURES
from kdbench.bench.config import TrialConfig
from kdbench.bench.errors import ConfigError, RegressionError, one_line
from kdbench.bench.io import read_text

__all__ = ["CaseSpec", "DatasetSpec", "Suite", "available_suites", "load_suite", "parse_suite"]

_SUITE_KEYS = {"description", "seeds", "threads", "figures", "defaults", "cases"}
_CASE_KEYS = {"name", "dataset", "config", "seeds", "figures"}
_DATASET_KEYS = {"source", "path", "schema", "split_seed"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What ``kdbench.bench.data.open_dataset`` is called with; ``path`` and a schema file are absolute.
    ``source``
    may also be a prepared dataset's name or fingerprint (resolved when the run prepares its datasets)."""

    source: str
    path: str | None = None
    schema: Any = None  # a schema file path, a mapping, or None
    split_seed: int | None = None  # None: 2022, or a prepared name's own

    @property
    def label(self) -> str:
        label = self.source if self.path is None else f"{self.source}:{Path(self.path).name}"
        return label if self.split_seed is None else f"{label}@split{self.split_seed}"

    def hashed(self) -> dict[str, Any]:
        """What the suite hash covers: a split seed only when given (older suites keep their hash)."""
        out = dataclasses.asdict(self)
        if out["split_seed"] is None:
            del out["split_seed"]
        return out


@dataclasses.dataclass(frozen=True)
class CaseSpec:
    name: str
    dataset: DatasetSpec
    config: dict[str, Any]  # the effective trial config without the seed (TrialConfig.to_dict())
    seeds: tuple[int, ...]
    figures: tuple[str, ...]

    def trial_config(self, seed: int) -> TrialConfig:
        return TrialConfig.from_dict({**self.config, "seed": seed})

    @property
    def config_family(self) -> str:
        """The config's hash without the seed: a baseline case with another family is not comparable."""
        return self.trial_config(0).config_hash(include_seed=False)


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    description: str
    cases: tuple[CaseSpec, ...]
    threads: int | None
    source: str  # where it was loaded from

    @property
    def hash(self) -> str:
        """16 hex chars of the validated content (comments and key order do not change it)."""
        payload = {
            "threads": self.threads,
            "cases": [
                {"name": c.name, "dataset": c.dataset.hashed(), "config": c.config,
                 "seeds": list(c.seeds), "figures": list(c.figures)}
                for c in self.cases
            ],
        }  # fmt: skip
        canonical = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def available_suites() -> list[str]:
    """Names of the suites shipped in ``bench/suites``."""
    folder = resources.files("kdbench.bench") / "suites"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_suite(name_or_path: str | Path) -> Suite:
    """A shipped suite by name (``smoke``) or a suite file by path; validated (see the module docstring)."""
    text_ref = str(name_or_path)
    path = Path(text_ref)
    if path.suffix in (".yaml", ".yml") or path.exists() or "/" in text_ref:
        if not path.is_file():
            raise RegressionError(f"suite file {text_ref} not found")
        name = path.stem
    else:
        name = text_ref
        shipped = resources.files("kdbench.bench") / "suites" / f"{name}.yaml"
        if not shipped.is_file():
            raise RegressionError(
                f"unknown suite {name!r}: give a suite file path or one of {', '.join(available_suites())}"
            )
        path = Path(str(shipped))
    text = read_text(path, "suite file", RegressionError)
    return parse_suite(text, name=name, base_dir=path.parent, source=str(path))


def parse_suite(text: str, *, name: str, base_dir: Path | None = None, source: str = "<string>") -> Suite:
    """Validate suite YAML ``text``; relative dataset paths resolve against ``base_dir``."""
    where = f"suite {source}"
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RegressionError(f"{where} is not valid YAML: {one_line(e, limit=None)}") from e
    if not isinstance(raw, dict):
        raise RegressionError(f"{where} must be a mapping with keys {sorted(_SUITE_KEYS)}")
    _no_unknown(raw, _SUITE_KEYS, where)
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise RegressionError(f"{where}: 'description' must be a string")
    threads = raw.get("threads")
    if threads is not None and (not _is_int(threads) or threads < 1):
        raise RegressionError(f"{where}: 'threads' must be an integer >= 1, got {threads!r}")
    seeds = _seeds(raw.get("seeds", 3), f"{where}: 'seeds'")
    figures = _figures(raw.get("figures", list(FIGURES)), f"{where}: 'figures'")
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, dict):
        raise RegressionError(f"{where}: 'defaults' must be a mapping of trial config keys")
    cases_raw = raw.get("cases")
    if not isinstance(cases_raw, list) or not cases_raw:
        raise RegressionError(f"{where}: 'cases' must be a non-empty list of cases")
    base = base_dir or Path.cwd()
    cases = [_case(c, i, defaults, seeds, figures, base, where) for i, c in enumerate(cases_raw)]
    names = [c.name for c in cases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RegressionError(f"{where}: duplicate case name(s) {', '.join(duplicates)}")
    return Suite(name=name, description=description, cases=tuple(cases), threads=threads, source=source)


def _case(
    raw: Any,
    index: int,
    defaults: dict[str, Any],
    seeds: tuple[int, ...],
    figures: tuple[str, ...],
    base_dir: Path,
    where: str,
) -> CaseSpec:
    if not isinstance(raw, dict):
        raise RegressionError(f"{where}: case {index + 1} must be a mapping with keys {sorted(_CASE_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise RegressionError(
            f"{where}: case {index + 1} needs a 'name' of letters, digits, '-', '_' or '.', got {name!r}"
        )
    at = f"{where}, case {name!r}"
    _no_unknown(raw, _CASE_KEYS, at)
    if "dataset" not in raw:
        raise RegressionError(
            f"{at}: missing 'dataset' (a source such as ml-100k, a prepared dataset's name, or {{source, "
            "path}})"
        )
    dataset = _dataset(raw["dataset"], base_dir, at)
    config = raw.get("config", {})
    if not isinstance(config, dict):
        raise RegressionError(f"{at}: 'config' must be a mapping of trial config keys")
    merged = {**defaults, **config}
    if "seed" in merged:
        raise RegressionError(f"{at}: 'seed' is not a config key in a suite: set 'seeds' instead")
    try:
        effective = TrialConfig.from_dict(merged).to_dict()
    except ConfigError as e:
        raise RegressionError(f"{at}: {e}") from e
    effective.pop("seed")
    return CaseSpec(
        name=name,
        dataset=dataset,
        config=effective,
        seeds=_seeds(raw["seeds"], f"{at}: 'seeds'") if "seeds" in raw else seeds,
        figures=_figures(raw["figures"], f"{at}: 'figures'") if "figures" in raw else figures,
    )


def _dataset(raw: Any, base_dir: Path, at: str) -> DatasetSpec:
    from kdbench.bench.data import available_sources, dataset_source

    spec = {"source": raw} if isinstance(raw, str) else raw
    if not isinstance(spec, dict):
        raise RegressionError(
            f"{at}: 'dataset' must be a source, a prepared dataset's name, or a mapping with keys "
            f"{sorted(_DATASET_KEYS)}"
        )
    _no_unknown(spec, _DATASET_KEYS, f"{at}: dataset")
    source = spec.get("source")
    sources = available_sources()
    if not isinstance(source, str) or dataset_source(source) not in sources:
        raise RegressionError(
            f"{at}: dataset source {source!r} is unknown: choose a source ({', '.join(sources)}) or a "
            "prepared dataset's name or fingerprint (`kdbench data list`)"
        )
    path = spec.get("path")
    if path is not None and not isinstance(path, str):
        raise RegressionError(f"{at}: dataset 'path' must be a string")
    schema = spec.get("schema")
    if isinstance(schema, str):
        schema = str(base_dir / schema)
    elif schema is not None and not isinstance(schema, dict):
        raise RegressionError(f"{at}: dataset 'schema' must be a schema file path or a mapping")
    split_seed = spec.get("split_seed")
    if split_seed is not None and (not _is_int(split_seed) or split_seed < 0):
        raise RegressionError(f"{at}: dataset 'split_seed' must be an integer >= 0, got {split_seed!r}")
    path = None if path is None else str(base_dir / path)
    return DatasetSpec(source=source, path=path, schema=schema, split_seed=split_seed)


def _seeds(raw: Any, at: str) -> tuple[int, ...]:
    if _is_int(raw):
        seeds = tuple(range(raw))
    elif isinstance(raw, list) and all(_is_int(s) for s in raw):
        seeds = tuple(raw)
    else:
        raise RegressionError(f"{at} must be a number of seeds or a list of integer seeds, got {raw!r}")
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise RegressionError(
            f"{at} must give at least 2 distinct seeds (the statistics need them), got {raw!r}"
        )
    return seeds


def _figures(raw: Any, at: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(f, str) for f in raw):
        raise RegressionError(f"{at} must be a non-empty list of figure names: {', '.join(FIGURES)}")
    unknown = [f for f in raw if f not in FIGURES]
    if unknown:
        raise RegressionError(f"{at}: unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    return tuple(dict.fromkeys(raw))


def _no_unknown(raw: dict[str, Any], allowed: set[str], at: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise RegressionError(
            f"{at}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
