"""The Avazu source: id dropped, hour -> weekday + hour, threshold 5 (bench/data/_avazu.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from kdbench.bench.data import prepare
from kdbench.bench.data._avazu import FIELDS, weekday_hour
from kdbench.bench.errors import DatasetError
from tests.data._make import AVAZU_HEADER, avazu_row, write_avazu


def _decoded(d, field):
    x = np.concatenate([d.train.x, d.valid.x, d.test.x])
    tokens = d.vocabulary(field)
    return [None if c == 0 else tokens[c - 1] for c in x[:, d.field_names.index(field)]]


@pytest.mark.parametrize("hour", [14102100, 14102123, 14102917, 14103023, 15010100, 20022912])
def test_weekday_hour_matches_datetime(hour):
    weekday, hh = weekday_hour(np.array([hour]), "t")
    moment = dt.datetime.strptime(str(hour), "%y%m%d%H")
    assert weekday.to_pylist() == [moment.weekday()] and hh.to_pylist() == [moment.hour]


def test_bad_hour_is_an_error():
    with pytest.raises(DatasetError, match="14132100 is not a YYMMDDHH"):
        weekday_hour(np.array([14102100, 14132100]), "t")


def test_protocol(tmp_path):
    # 20 rows: site 'often' 5 times (kept), 'rare' 4 times (-> 0), 11 singletons; weekday/hour derived.
    sites = ["often"] * 5 + ["rare"] * 4 + [f"s{k}" for k in range(11)]
    hours = [14102100 + (k % 2) * 5 for k in range(20)]  # Tue 00:00 and Tue 05:00, 10 each
    rows = [avazu_row(1000 + k, k % 4 == 0, hours[k], site_id=sites[k]) for k in range(20)]
    d = prepare("avazu", path=write_avazu(tmp_path / "train.csv", rows))
    assert d.field_names == FIELDS and len(FIELDS) == 23 and "id" not in FIELDS
    assert d.field_names[:2] == ["weekday", "hour"]
    assert d.num_rows == 20 and d.positives == 5
    assert d.vocabulary("weekday") == [1]  # 2014-10-21 was a Tuesday
    assert d.vocabulary("hour") == [0, 5]
    assert d.vocabulary("site_id") == ["often"]
    site = _decoded(d, "site_id")
    assert site.count("often") == 5 and site.count(None) == 15
    assert d.vocabulary("C21") == ["x"]
    assert d.info()["protocol"]["min_count"] == 5


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        ("id,hour,C1", ["1,14102100,5"], "no click column"),
        ("a,b,c", ["1,2,3"], "not Avazu's"),
        (AVAZU_HEADER, [avazu_row(k, 2, 14102100) for k in range(12)], "must be 0 or 1"),
        (AVAZU_HEADER, [avazu_row(k, 0, 14102100) for k in range(11)] + ["1,0,14102100,1005"], "line 13"),
        (AVAZU_HEADER, [avazu_row(k, 0, 14999999) for k in range(11)], "not a YYMMDDHH"),
    ],
    ids=["test-csv", "other-csv", "label", "short-row", "bad-hour"],
)
def test_bad_files(tmp_path, header, rows, message):
    with pytest.raises(DatasetError, match=message):
        prepare("avazu", path=write_avazu(tmp_path / "train.csv", rows, header=header))
