"""The scale benchmark's command line and report (the measurements themselves take minutes: not tested)."""

from __future__ import annotations

import pytest

from kdbench.bench.benchmarks import scale


def _report(memory: dict) -> dict:
    run = {"wall_s": 10.0, "cpu_s": 19.5, "peak_rss_mib": 900.0}
    return {"rows": 2_000_000, "file_bytes": 516_887_022, "cpus": 2, "prepare": run, "memory": memory}


def _trial(rss: float, pss: float, wall: float) -> dict:
    return {"peak_rss_mib": rss, "peak_pss_mib": pss, "wall_s": wall, "processes": {}}


def test_the_train_part_reports_one_light_trial(capsys):
    scale._print(_report({"one_trial": _trial(2304.0, 2191.0, 296.0)}))
    out = capsys.readouterr().out
    assert "one light trial (kdbench train, one epoch a phase): RSS 2,304 MiB  PSS 2,191 MiB  296 s" in out
    assert "2-trial sweep" not in out


def test_the_memory_part_compares_the_sweep_with_both_baselines(capsys):
    memory = {
        "one_trial": _trial(2304.0, 2191.0, 296.0),
        "one_trial_sweep": _trial(2500.0, 2400.0, 400.0),
        "two_trial_sweep": _trial(5054.0, 3125.0, 892.0),
    }
    scale._print(_report(memory))
    out = capsys.readouterr().out
    assert "2-trial sweep / kdbench train: RSS 2.19x, PSS 1.43x" in out
    assert "2-trial sweep / 1-trial sweep: RSS 2.02x, PSS 1.30x" in out


def test_an_unknown_part_is_one_clear_error(capsys):
    with pytest.raises(SystemExit) as err:
        scale.main(["--rows", "10", "--parts", "readers,läufe"])
    assert err.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--parts: unknown läufe; choose from readers, load, epoch, train, memory" in message
