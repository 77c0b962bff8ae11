"""`kdbench data prepare | list | info` through the parser and through the plain functions."""

from __future__ import annotations

import gzip
import io
import json

import pytest
from rich.console import Console

from kdbench.bench.cli import main
from kdbench.bench.commands.data import dataset_info, list_datasets, prepare_dataset, schema_from_flags
from tests.data._make import criteo_row, write_criteo

pytestmark = pytest.mark.usefixtures("home")  # conftest: a fresh $KDBENCH_HOME per test


@pytest.fixture
def criteo(tmp_path):
    rows = [criteo_row(k % 4 == 0, ints=[k % 7], cats=["aaaaaaaa"]) for k in range(40)]
    return write_criteo(tmp_path / "train.txt", rows)


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=160, color_system=None), out


def test_prepare_prints_the_summary(criteo, capsys):
    assert main(["data", "prepare", "criteo", "--path", str(criteo), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "rows 40" in out and "(25.0 %)" in out and "train 32 / valid 4 / test 4" in out
    assert "I1" in out and "C26" in out and "fingerprint " in out


def test_prepare_function_returns_info(criteo):
    console, out = _console()
    info = prepare_dataset(name="criteo", path=str(criteo), progress=False, console=console)
    assert info["rows"] == 40 and info["fingerprint"] in out.getvalue()
    console, out = _console()
    prepare_dataset(name="criteo", path=str(criteo), progress=False, as_json=True, console=console)
    assert json.loads(out.getvalue())["fingerprint"] == info["fingerprint"]


def test_errors_are_one_line_and_exit_2(tmp_path, capsys, home):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["data", "prepare", "criteo", "--path", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kdbench: error: criteo:") and "\n" not in err
    assert main(["data", "prepare", "criteo", "--quiet"]) == 2
    assert "needs --path" in capsys.readouterr().err
    assert not (home / "datasets").exists()  # a failed prepare creates no cache folder


def test_csv_schema_flags(tmp_path, capsys):
    table = tmp_path / "logs.csv"
    table.write_text("click,site,price\n" + "".join(f"{k % 2},s{k % 3},{k}\n" for k in range(30)))
    args = ["data", "prepare", "csv", "--path", str(table), "--label", "click", "--categorical", "site"]
    assert main([*args, "--numeric", "price:log_square", "--min-count", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "logs (csv)" in out and "site" in out and "price" in out
    assert schema_from_flags() is None
    assert schema_from_flags(label="y", numeric="a:log_square,b") == {
        "label": "y",
        "numeric": {"a": "log_square", "b": {"quantile": 10}},  # a column without a rule: quantile
    }
    schema = tmp_path / "s.yaml"
    schema.write_text("label: click\ncategorical: [site]\n")
    assert (
        main(["data", "prepare", "csv", "--path", str(table), "--schema", str(schema), "--label", "x"]) == 2
    )
    assert "either as --schema FILE or as" in capsys.readouterr().err


def test_list_and_info(criteo, capsys):
    console, out = _console()
    assert list_datasets(console=console) == 0
    assert "ml-100k" in out.getvalue() and "no cached datasets yet" in out.getvalue()
    info = prepare_dataset(name="criteo", path=str(criteo), progress=False, console=_console()[0])
    console, out = _console()
    list_datasets(console=console)
    assert info["fingerprint"] in out.getvalue()
    console, out = _console()
    assert dataset_info(name=info["fingerprint"][:6], console=console) == 0
    assert "rows 40" in out.getvalue()
    assert main(["data", "info", "criteo", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 40
    assert main(["data", "info", "avazu"]) == 2
    assert "kdbench data prepare avazu" in capsys.readouterr().err
    assert main(["data", "list"]) == 0


def test_list_and_a_failed_info_create_no_cache_folder(capsys, home):
    assert main(["data", "list"]) == 0
    assert main(["data", "info", "criteo"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("kdbench: error: no cached dataset matches 'criteo'")
    assert not (home / "datasets").exists()


def test_a_truncated_gz_is_one_line_naming_the_file(tmp_path, capsys, home):
    day = tmp_path / "day_0.gz"
    rows = "".join(criteo_row(k % 2, ints=[k], cats=["68fd1e64"]) + "\n" for k in range(500))
    day.write_bytes(gzip.compress(rows.encode())[:-64])
    assert main(["data", "prepare", "criteo", "--path", str(day), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"kdbench: error: criteo: {day} is truncated or corrupt "
        "(Compressed file ended before the end-of-stream marker was reached); download it again\n"
    )
    assert not (home / "datasets").exists()


def test_info_and_prepare_show_the_recipe_that_fits_a_criteo_sample_and_why(criteo, tmp_path, capsys):
    assert main(["data", "prepare", "criteo", "--path", str(criteo), "--quiet"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the rationale, however rich wraps it
    assert "recipe fitted: lr=0.003 weight_decay=" in out
    assert "The criteo recipe is for its full data (10,000,000+ training rows); this one has" in out
    assert main(["data", "info", "criteo", "--json"]) == 0
    recipe = json.loads(capsys.readouterr().out)["recipe"]
    assert recipe["name"] == "fitted" and recipe["values"]["lr"] == 3e-3
    assert recipe["rationale"].startswith("The criteo recipe is for its full data")


def _prepare_clicks(tmp_path, rows: int) -> None:
    """`data prepare` of a `clicks` table of ``rows`` rows: a 0/1 click and a non-ASCII city."""
    table = tmp_path / "clicks.csv"
    table.write_text(
        "click,ville\n" + "".join(f"{k % 2},Zürich-{k % 3}\n" for k in range(rows)), encoding="utf-8"
    )
    args = ["data", "prepare", "csv", "--path", str(table), "--label", "click", "--categorical", "ville"]
    assert main([*args, "--quiet"]) == 0


def test_a_table_shows_the_recipe_fitted_to_its_shape(tmp_path, capsys):
    _prepare_clicks(tmp_path, 30)
    out = " ".join(capsys.readouterr().out.split())
    assert "recipe fitted: lr=0.003" in out
    assert "Fitted to the data: 24 training rows, 1 fields (0 dense)" in out
    assert main(["data", "info", "clicks", "--json"]) == 0
    recipe = json.loads(capsys.readouterr().out)["recipe"]
    assert recipe["name"] == "fitted"
    assert recipe["rationale"].startswith("Fitted to the data: 24 training rows")


def test_info_and_list_json_are_one_document_each_even_for_a_name_with_two_split_seeds(tmp_path, capsys):
    from kdbench.bench.data import open_dataset

    _prepare_clicks(tmp_path, 60)
    capsys.readouterr()
    assert main(["data", "info", "clicks", "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert isinstance(one, dict) and one["split_seed"] == 2022

    open_dataset("clicks", split_seed=7)  # `train --split-seed 7`: a second entry under the name
    assert main(["data", "info", "clicks", "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert isinstance(both, list) and sorted(e["split_seed"] for e in both) == [7, 2022]
    assert {e["name"] for e in both} == {"clicks"} and len({e["fingerprint"] for e in both}) == 2

    assert main(["data", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"ml-100k", "csv"} <= set(listed["sources"])
    assert sorted((e["name"], e["split_seed"]) for e in listed["cached"] if e["name"] == "clicks") == [
        ("clicks", 7),
        ("clicks", 2022),
    ]


def _click_files(folder, rows: int = 90):
    """train.csv, valid.csv, test.csv with a header, as BARS ships its x1 sets; a ``day`` column."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, role in enumerate(("train", "valid", "test")):
        lines = ["label,user,item,day"]
        lines += [f"{(j + k) % 2},u{j % 9},i{(j + 7 * k) % 11},2024-05-{1 + j % 28:02d}" for j in range(rows)]
        (folder / f"{role}.csv").write_text("\n".join(lines) + "\n")
    return {role: str(folder / f"{role}.csv") for role in ("train", "valid", "test")}


def test_given_and_time_splits_from_the_cli(tmp_path, capsys):
    files = _click_files(tmp_path / "Clicks_x1")
    given = ["--train", files["train"], "--valid", files["valid"], "--test", files["test"]]
    flags = ["--label", "label", "--categorical", "user,item"]
    assert main(["data", "prepare", "csv", *given, *flags, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert (
        "Clicks_x1 (csv)" in out
        and "split train 90 / valid 90 / test 90  (given (train, valid and test" in out
    )
    assert main(["data", "info", "Clicks_x1", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["split"] == "given (train, valid and test files)" and info["split_seed"] is None
    assert info["protocol"]["split"]["method"] == "given"

    timed = ["--path", files["train"], *flags, "--split", "time:day", "--name", "clicks-by-day", "--quiet"]
    assert main(["data", "prepare", "csv", *timed]) == 0
    assert "(time-ordered by day, 8:1:1)" in capsys.readouterr().out
    assert main(["data", "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.count(" given ") == 2  # the split seed column of both

    for argv in (["train", "--dataset", "Clicks_x1", "--split-seed", "3"],
                 ["train", "--dataset", "clicks-by-day", "--split-seeds", "1,2"]):  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "comes with its split" in err and "does not apply" in err


def test_a_named_criteo_day_from_the_cli(tmp_path, capsys):
    rows = [criteo_row(k % 4 == 0, ints=[k % 7], cats=["aaaaaaaa"]) for k in range(40)]
    day = write_criteo(tmp_path / "day_0", rows)
    assert main(["data", "prepare", "criteo", "--path", str(day), "--name", "day0", "--quiet"]) == 0
    assert "day0 (criteo)" in capsys.readouterr().out
    assert main(["data", "info", "criteo", "--json"]) == 0  # by source: the one entry
    assert json.loads(capsys.readouterr().out)["name"] == "day0"
    assert main(["data", "prepare", "criteo", "--quiet"]) == 0  # no --path: the one prepared Criteo file
    assert "day0 (criteo)" in capsys.readouterr().out
