"""Table formatting: AUC to 4 decimals, mean ± std only with several seeds, missing values as a dash."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kdbench.reports import _format as fmt


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, pd.NaT])
def test_missing_values_read_as_a_dash_everywhere(missing):
    for formatter in (
        fmt.auc,
        fmt.signed,
        fmt.integer,
        fmt.percent,
        fmt.milliseconds,
        fmt.duration,
        fmt.when,
    ):
        assert formatter(missing) == fmt.MISSING
    assert fmt.sort_value(missing) == ""


def test_numbers():
    assert fmt.auc(0.812345) == "0.8123"
    assert fmt.signed(-0.00312) == "-0.0031" and fmt.signed(0.001) == "+0.0010"
    assert fmt.integer(1234567) == "1,234,567"
    assert fmt.percent(21.456) == "21.5 %" and fmt.percent(0.6049) == "0.60 %"
    assert fmt.milliseconds(0.20345) == "0.203 ms"


def test_mean_std_only_when_several_seeds():
    assert fmt.mean_std(0.81, 0.0012, 3) == "0.8100 ± 0.0012"
    assert fmt.mean_std(0.81, float("nan"), 1) == "0.8100"
    assert fmt.mean_std(0.81, 0.01, 1) == "0.8100"


@pytest.mark.parametrize(("seconds", "text"), [(9.54, "9.5 s"), (125, "2 min 05 s"), (3725, "1 h 02 min")])
def test_duration(seconds, text):
    assert fmt.duration(seconds) == text


def test_when_is_utc_to_the_minute():
    stamp = pd.Timestamp("2025-03-04 05:06:59", tz="Europe/Paris")
    assert fmt.when(stamp) == "2025-03-04 04:06 UTC"
    assert fmt.when(dt.datetime(2025, 1, 2, 3, 4)) == "2025-01-02 03:04 UTC"


def test_cell_and_sort_value_of_stored_values():
    assert fmt.cell([200, 200]) == "[200,200]" and fmt.cell(True) == "true" and fmt.cell(1e-05) == "1e-05"
    assert fmt.sort_value(3) == "3.0" and fmt.sort_value("abc") == "abc" and fmt.sort_value(False) == "0"
    assert fmt.short_sha("0123456789abcdef", True) == "01234567+dirty"
