"""Seeded CTR tables with planted feature interactions: ``python -m kdbench.bench.benchmarks.planted``.

A table of ``fields`` categorical columns ``f0 .. f{n-1}`` (vocabularies from 10 to ``max_vocab`` values,
Zipf-like) and a 0/1 ``click`` column, written as CSV with the schema that prepares it
(``kdbench data prepare csv --path T.csv --schema T.yaml``). The click's logit is a sum of weights of
value pairs of planted field pairs (second order) and of value triples of one planted triple (third order),
plus a weak first-order term, so a model that learns interactions beats one that does not. The logit is
known, so the oracle AUC (scoring rows by their true click probability) is printed with the file.

Used by the search benchmark for data ten times the size of MovieLens-100K (``docs/sweeps.md``). Deterministic
in ``seed``: the same arguments write the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

__all__ = ["generate_planted_table"]

PAIRS = ((0, 1), (2, 3), (1, 4))
TRIPLE = (5, 6, 7)
_TABLE = 1024  # weight buckets of an interaction: a hash of its values picks one


def generate_planted_table(
    path: Path, rows: int, *, fields: int = 10, max_vocab: int = 1000, seed: int = 0
) -> tuple[Path, Path, float]:
    """Write ``path`` (CSV) and ``path.with_suffix('.yaml')`` (its schema); return both and the oracle AUC."""
    from sklearn.metrics import roc_auc_score

    if fields < 8:
        raise ValueError(f"fields must be >= 8 (the planted triple uses fields 5-7), got {fields}")
    rng = np.random.default_rng(seed)
    weights = np.random.default_rng(seed + 1)
    vocab = [int(10 ** (1 + (i * 7 % 5) * (np.log10(max_vocab) - 1) / 4)) for i in range(fields)]
    codes = np.stack([(rng.zipf(1.4, rows) - 1) % v for v in vocab], axis=1)
    logit = np.full(rows, -1.2)
    first = weights.normal(0.0, 0.15, size=(fields, max(vocab)))
    for i in range(fields):
        logit += first[i][codes[:, i]]
    for a, b in PAIRS:
        table = weights.normal(0.0, 0.9, _TABLE)
        logit += table[(codes[:, a] * 7919 + codes[:, b] * 104729 + a) % _TABLE]
    a, b, c = TRIPLE
    table = weights.normal(0.0, 1.1, _TABLE)
    logit += table[(codes[:, a] * 7919 + codes[:, b] * 104729 + codes[:, c] * 1299709) % _TABLE]
    p = 1.0 / (1.0 + np.exp(-logit))
    click = (rng.random(rows) < p).astype(np.int8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ",".join([*(f"f{i}" for i in range(fields)), "click"])
    table = np.concatenate([codes, click[:, None]], axis=1)
    np.savetxt(path, table, fmt="%d", delimiter=",", header=header, comments="")
    schema = path.with_suffix(".yaml")
    schema.write_text(
        f"name: {path.stem}\nlabel: click\ncategorical: [{', '.join(f'f{i}' for i in range(fields))}]\n"
        "min_count: 1\n",
        encoding="utf-8",
    )
    return path, schema, float(roc_auc_score(click, p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the CSV to write (its schema goes beside it, .yaml)")
    parser.add_argument("--rows", type=int, default=800_000)
    parser.add_argument("--fields", type=int, default=10)
    parser.add_argument("--max-vocab", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    csv, schema, oracle = generate_planted_table(
        Path(args.path), args.rows, fields=args.fields, max_vocab=args.max_vocab, seed=args.seed
    )
    print(f"wrote {csv} ({args.rows:,} rows, {args.fields} fields) and {schema}; oracle AUC {oracle:.4f}")


if __name__ == "__main__":
    main()
