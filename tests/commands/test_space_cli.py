"""``kdbench space show`` / ``kdbench space sample``: the functions and the parsed command line."""

from __future__ import annotations

import io
import json

import pytest

from kdbench.bench.cli import main
from kdbench.bench.commands import space as space_command
from kdbench.bench.config import TrialConfig
from kdbench.bench.errors import KdbenchError, SearchSpaceError


def test_show_function_prints_the_table() -> None:
    out = io.StringIO()
    assert space_command.show(name="quick", out=out) == 0
    text = out.getvalue()
    assert text.startswith("space quick")
    assert "one of crossnet | dcnv2" in text and "teacher = crossnet" in text
    assert "student_mlp" in text and "seed" in text and "= 2022" in text


def test_show_yaml_prints_the_source() -> None:
    out = io.StringIO()
    space_command.show(name="ci", source=True, out=out)
    assert out.getvalue() == space_command.load("ci").text


def test_sample_function_prints_valid_json_lines() -> None:
    out = io.StringIO()
    assert space_command.sample(name="default", n=7, seed=3, out=out) == 0
    configs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(configs) == 7
    assert configs == space_command.load("default").sample(7, seed=3)
    for config in configs:
        TrialConfig.from_dict(config)


def test_sample_full_fills_in_defaults() -> None:
    out = io.StringIO()
    space_command.sample(name="ci", n=2, full=True, out=out)
    for line in out.getvalue().splitlines():
        config = json.loads(line)
        assert config == TrialConfig.from_dict(config).to_dict()
        assert "finetune" in config and "amp" in config


def test_cli_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "show", "default"]) == 0
    out = capsys.readouterr().out
    assert "space default" in out and "embedding_size" in out


def test_cli_sample_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "sample", "quick", "-n", "4", "--seed", "9"]) == 0
    first = capsys.readouterr().out
    assert main(["space", "sample", "quick", "-n", "4", "--seed", "9"]) == 0
    assert capsys.readouterr().out == first
    assert len(first.splitlines()) == 4


def test_cli_sample_from_a_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "params:\n  teacher: {choices: [cin]}\n  t_cin: {choices: [[3, 3]], when: {teacher: cin}}\n"
    )
    assert main(["space", "sample", str(path), "-n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x) for x in lines] == [{"teacher": "cin", "t_cin": [3, 3]}] * 2


def test_cli_reports_a_bad_space_in_one_line(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("params:\n  depth: {int: [4, 2]}\n")
    assert main(["space", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kdbench: error: ") and f"{path}:2: params.depth.int: low 4" in err


def test_cli_refuses_keys_a_trial_config_lacks(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text("params:\n  embeding_size: {choices: [8]}\n")
    assert main(["space", "sample", str(path)]) == 2
    err = capsys.readouterr().err
    assert "params.embeding_size: unknown key (valid keys: " in err and "embedding_size" in err


def test_cli_unknown_space(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "show", "nope"]) == 2
    assert "unknown search space 'nope'" in capsys.readouterr().err


def test_functions_raise_kdbench_errors() -> None:
    with pytest.raises(SearchSpaceError) as info:
        space_command.load("nope")
    assert isinstance(info.value, KdbenchError)


def test_negative_count_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["space", "sample", "ci", "-n", "-1"])
    assert info.value.code == 2
    assert "must be >= 0" in capsys.readouterr().err


def test_space_needs_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["space"])


@pytest.mark.parametrize("command", ["show", "sample"])
def test_a_space_no_trial_accepts_is_refused_in_one_line(
    command: str, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sweep's own check: a range end no trial config accepts, found only on the cin branch."""
    path = tmp_path / "wide.yaml"
    path.write_text(
        "params:\n  teacher: {choices: [crossnet, cin]}\n"
        "  embedding_size:\n"
        "    - {choices: [8, 16], when: {teacher: crossnet}}\n"
        "    - {int: [0, 64], step: 16, when: {teacher: cin}}\n"
    )
    assert main(["space", command, str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"kdbench: error: {path}:5: params.embedding_size: embedding_size = 0 "
        "(low end of int 0 .. 64 step 16) is not a valid trial config: embedding_size must be >= 1, got 0\n"
    )


def test_a_file_with_a_byte_order_mark_is_shown(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "windows.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: windows\r\nparams:\r\n  depth: {int: [1, 3]}\r\n")
    assert main(["space", "show", str(path)]) == 0
    assert capsys.readouterr().out.startswith("space windows  (sha256 ")


def test_a_non_utf8_file_is_one_line(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("description: Einbettungsgröße\nparams:\n  depth: {int: [1, 3]}\n".encode("latin-1"))
    assert main(["space", "sample", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"kdbench: error: {path}:1: not UTF-8 text (byte 0xf6): save it as UTF-8\n"
    )
