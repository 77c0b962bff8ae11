"""Seeded synthetic CTR tables of known difficulty: the datasets the defaults benchmark runs on.

Each :class:`TableSpec` describes a table (rows, categorical fields and their largest vocabulary, numeric
fields, and the *signal*: how the click depends on the features) and :func:`generate_table` writes it as CSV
beside the schema that prepares it (``kdbench data prepare csv --path T.csv --schema T.yaml``). The click is
drawn from a known probability, so the **oracle AUC** (rows scored by their true probability, over every
row of the table) bounds what any model can reach.

How a table is made:

- Categorical field ``c{i}`` has a vocabulary between 10 and ``max_vocab`` values (log-spaced over the
  fields) drawn Zipf-like, as real ids are: a few values are frequent, most are rare.
- Numeric field ``n{j}`` is log-normal with 5 % missing cells; half the numeric fields are fed as ``dense``
  values, the other half as the default 10 quantile buckets.
- The logit is a bias (so about a quarter of the rows click), plus a first-order weight per value and a
  smooth function of each numeric value, plus the signal's interaction terms. An interaction term over
  fields ``S`` is low-rank, as factorization machines assume: every value has a latent vector of rank 3
  and the term is ``scale * sum_k prod_{f in S} v_f[k] / sqrt(3)`` (unit variance before ``scale``), which
  no sum of first-order terms can express and which a model of feature interactions can learn.

Signals: ``first-order`` (strong first-order weights, no interactions: logistic regression's home ground),
``pairs`` (six planted field pairs and one triple over weak first-order terms), ``high-order`` (three
triples and two quadruples), ``noise`` (a faint first-order term and one weak pair: the oracle is barely
above chance, so anything that fits much better on valid than on test is overfitting).

Deterministic in the spec: the same spec writes the same bytes. ``python -m kdbench.bench.benchmarks.tables
DIR`` writes every table of :data:`SUITE` into ``DIR`` and prints their oracle AUCs.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SUITE", "TableSpec", "generate_table"]

SIGNALS = ("first-order", "pairs", "high-order", "noise")


@dataclass(frozen=True)
class TableSpec:
    """One synthetic table: its shape, its signal and the seed that fixes every byte."""

    name: str
    rows: int
    fields: int  # categorical columns c0 .. c{fields-1}
    max_vocab: int  # the largest categorical vocabulary (the smallest is 10)
    signal: str  # one of SIGNALS
    numeric: int = 0  # numeric columns n0 .. n{numeric-1}: even ones dense, odd ones quantile-bucketed
    seed: int = 0
    about: str = ""  # one line for the benchmark's table

    def __post_init__(self) -> None:
        if self.signal not in SIGNALS:
            raise ValueError(f"signal must be one of {', '.join(SIGNALS)}, got {self.signal!r}")
        if self.fields < 4 or (self.signal == "high-order" and self.fields < 8):
            raise ValueError(f"{self.name}: too few fields ({self.fields}) for signal {self.signal!r}")


# The benchmark's synthetic tables: 10^4 to 10^6 rows, 6 to 40 fields, vocabularies from tens to 10^5,
# categorical only or with numeric fields, and every kind of signal. Sized so the whole benchmark (with
# ml-100k) runs in well under an hour on two CPU cores.
SUITE: tuple[TableSpec, ...] = (
    TableSpec("syn-first-order-20k", 20_000, 6, 50, "first-order", seed=1,
              about="small, first-order only: logistic regression is near the oracle"),
    TableSpec("syn-noise-50k", 50_000, 20, 2_000, "noise", numeric=2, seed=2,
              about="many fields, faint signal: rewards not overfitting"),
    TableSpec("syn-high-order-100k", 100_000, 10, 100, "high-order", seed=3,
              about="third- and fourth-order interactions over small vocabularies"),
    TableSpec("syn-pairs-200k", 200_000, 12, 1_000, "pairs", numeric=4, seed=4,
              about="planted pairs and a triple, with dense and bucketed numbers"),
    TableSpec("syn-wide-300k", 300_000, 40, 100_000, "pairs", numeric=8, seed=5,
              about="Criteo-like: 48 fields, vocabularies up to 10^5"),
    TableSpec("syn-large-1m", 1_000_000, 12, 10_000, "pairs", numeric=2, seed=6,
              about="a million rows"),
)  # fmt: skip


def _vocabularies(spec: TableSpec) -> list[int]:
    """Log-spaced from 10 to ``max_vocab``, interleaved so neighbouring fields differ in size."""
    sizes = np.geomspace(10, max(spec.max_vocab, 10), num=spec.fields)
    order = [(i * 7) % spec.fields for i in range(spec.fields)]
    return [round(float(sizes[k])) for k in order]


def _interactions(spec: TableSpec) -> list[tuple[tuple[int, ...], float]]:
    """(field tuple, weight scale) of the signal's interaction terms."""
    f = spec.fields
    if spec.signal == "pairs":
        pairs = [(0, 1), (2, 3), (1, 4), (5, 6), (0, 7 % f), (3, 8 % f)]
        return [(p, 0.8) for p in pairs if len(set(p)) == 2] + [((2, 5, 7 % f), 1.0)]
    if spec.signal == "high-order":
        triples = [((0, 1, 2), 0.9), ((3, 4, 5), 0.9), ((1, 6, 7), 0.9)]
        return [*triples, ((0, 3, 6, 7), 1.0), ((2, 4, 5, 1), 1.0)]
    if spec.signal == "noise":
        return [((0, 1), 0.3)]
    return []


def generate_table(spec: TableSpec, folder: Path) -> tuple[Path, Path, float]:
    """Write ``folder/<name>.csv`` and its schema ``folder/<name>.yaml``; return both and the oracle AUC."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(spec.seed)
    weights = np.random.default_rng(spec.seed + 10_000)
    vocab = _vocabularies(spec)
    codes = np.stack([(rng.zipf(1.3, spec.rows) - 1) % v for v in vocab], axis=1)
    first_scale = {"first-order": 0.8, "noise": 0.05}.get(spec.signal, 0.15)
    logit = np.zeros(spec.rows)
    for i, v in enumerate(vocab):
        logit += weights.normal(0.0, first_scale, v)[codes[:, i]]
    rank = 3
    factors = [weights.normal(0.0, 1.0, (v, rank)) for v in vocab]
    for fields, scale in _interactions(spec):
        product = np.ones((spec.rows, rank))
        for i in fields:
            product *= factors[i][codes[:, i]]
        logit += scale * product.sum(axis=1) / np.sqrt(rank)
    numbers = rng.lognormal(0.0, 1.0, size=(spec.rows, spec.numeric))
    for j in range(spec.numeric):
        effect = weights.choice([-1.0, 1.0]) * 0.4 * np.tanh(np.log(numbers[:, j]))
        logit += effect * (1.0 if spec.signal != "noise" else 0.1)
    numbers[rng.random(numbers.shape) < 0.05] = np.nan
    # Centre so about a quarter of the rows click, whatever the signal's spread.
    logit += np.log(1 / 3) - np.median(logit)
    p = 1.0 / (1.0 + np.exp(-logit))
    click = (rng.random(spec.rows) < p).astype(np.int8)

    folder.mkdir(parents=True, exist_ok=True)
    csv, schema = folder / f"{spec.name}.csv", folder / f"{spec.name}.yaml"
    columns: dict[str, np.ndarray | pa.Array] = {f"c{i}": codes[:, i] for i in range(spec.fields)}
    for j in range(spec.numeric):  # a missing number is an empty cell
        columns[f"n{j}"] = pa.array(np.round(numbers[:, j], 4), mask=np.isnan(numbers[:, j]))
    columns["click"] = click
    pacsv.write_csv(pa.table(columns), csv)
    numeric = {f"n{j}": "dense" if j % 2 == 0 else "quantile" for j in range(spec.numeric)}
    schema.write_text(
        json.dumps(
            {
                "name": spec.name,
                "label": "click",
                "categorical": [f"c{i}" for i in range(spec.fields)],
                **({"numeric": numeric} if numeric else {}),
                "min_count": 1,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )  # JSON is YAML: the schema loader reads it as is
    return csv, schema, float(roc_auc_score(click, p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="where to write the tables and their schemas")
    parser.add_argument("--only", help="comma-separated table names (default: the whole suite)")
    args = parser.parse_args()
    wanted = set(args.only.split(",")) if args.only else {s.name for s in SUITE}
    for spec in SUITE:
        if spec.name in wanted:
            _, _, oracle = generate_table(spec, Path(args.folder))
            shape = f"{spec.rows:,} rows, {spec.fields} + {spec.numeric} fields"
            print(f"{spec.name}: {shape}, oracle {oracle:.4f}")


if __name__ == "__main__":
    main()
