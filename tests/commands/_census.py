"""A census-like ("adult") CSV for the dataset-name commands: a text label, categories that read like nulls
(NA, None, null), a non-ASCII category and numeric columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def census_csv(folder: Path, rows: int = 800, seed: int = 1) -> Path:
    """``folder/adult.csv`` (columns age, workclass, fnlwgt, income; ``>50K`` is the positive label)."""
    rng = np.random.default_rng(seed)
    work = rng.choice(["Private", "NA", "None", "null", "Gouvernement fédéral"], rows)
    age = rng.integers(17, 90, rows)
    weight = rng.lognormal(11, 0.5, rows).round()
    rich = (age > 40) & (work == "Private") | (rng.random(rows) < 0.1)
    lines = ["age,workclass,fnlwgt,income"] + [
        f"{a},{w},{f:.0f},{'>50K' if r else '<=50K'}"
        for a, w, f, r in zip(age, work, weight, rich, strict=True)
    ]
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "adult.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv
