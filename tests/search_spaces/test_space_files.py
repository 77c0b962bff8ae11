"""Reading a space file: whatever the bytes, a bad file is one ``SearchSpaceError`` line naming the file (and
the line, where there is one), never a ``UnicodeDecodeError`` or ``yaml.reader.ReaderError``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdbench.search_spaces import SearchSpaceError, load_space
from kdbench.search_spaces._load import MAX_BYTES

GOOD = "name: mine\nparams:\n  depth: {int: [1, 3]}\n  alpha: {float: [0.01, 1.0], log: true}\n"

# name: (file bytes, line or None, words of the message)
BAD_BYTES = {
    "latin-1 byte on line 3": (
        b"params:\n  depth: {int: [1, 3]}\n  # caf\xe9\n", 3, "not UTF-8 text (byte 0xe9)"
    ),
    "UTF-16 with its BOM": ("params: {}\n".encode("utf-16"), 1, "not UTF-8 text (byte 0xff)"),
    "random binary": (bytes(range(256)) * 8, 2, "not UTF-8 text (byte 0x80)"),  # byte 10 ends line 1
    "NUL bytes (valid UTF-8, not YAML)": (
        b"params:\n  depth: {int: [1, 3]}\x00\x00\n", 2, "character U+0000 is not allowed in YAML"
    ),
    "a bell character": (b"name: mine\ndescription: ding\x07\n", 2, "U+0007 is not allowed"),
    "an escape sequence": (
        b"name: mine\nparams:\n  depth: {int: [1, \x1b[31m3]}\n", 3, "U+001B is not allowed"
    ),
    "empty": (b"", 1, "the file is empty"),
    "only comments": (b"# nothing here yet\n\n", 1, "the file is empty"),
    "a list": (b"- teacher\n- depth\n", 1, "a search space is a mapping"),
    "a scalar": (b"quick\n", 1, "a search space is a mapping"),
    "duplicate keys": (
        b"params:\n  depth: {int: [1, 3]}\n  depth: {int: [1, 5]}\n", 3,
        "params.depth: duplicate key (first defined at line 2)",
    ),
    "two documents": (
        b"name: a\n---\nname: b\n", 2,
        "not valid YAML: expected a single document in the stream, but found another document",
    ),
    "a tab for indentation": (b"params:\n\tdepth: {int: [1, 3]}\n", 2, "not valid YAML"),
    "an unclosed flow mapping": (b"params:\n  depth: {int: [1, 3]\n", 3, "not valid YAML: while parsing"),
    "an impossible date": (
        b"name: mine\ndescription: 2024-13-45\n", 2, "description: cannot read this value: month must be in"
    ),
    "a Python tag": (
        b"name: !!python/name:os.system\n", 1,
        "name: cannot read this value: could not determine a constructor",
    ),
    "broken base64": (
        b"name: mine\ndescription: !!binary 'xx'\n", 2, "cannot read this value: failed to decode base64"
    ),
    "an alias inside its own anchor": (b"params: &a {depth: *a}\n", None, "an alias refers to itself"),
    "an alias bomb": (
        b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
        None, "more than 100000 values",
    ),
    "nesting deeper than the stack": (b"[" * 3000 + b"]" * 3000, None, "nested too deeply"),
    "a non-string key": (b"params:\n  3: {int: [1, 3]}\n", 2, "keys must be strings, got '3'"),
}  # fmt: skip


def _refused(target: Path | str) -> str:
    with pytest.raises(SearchSpaceError) as info:
        load_space(target)
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    return message


@pytest.mark.parametrize("case", list(BAD_BYTES), ids=list(BAD_BYTES))
def test_a_bad_file_is_one_line_naming_file_and_line(tmp_path: Path, case: str) -> None:
    data, line, words = BAD_BYTES[case]
    path = tmp_path / "mine.yaml"
    path.write_bytes(data)
    message = _refused(path)
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert message.startswith(where) and words in message, message


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("description: " + "x" * MAX_BYTES + "\n")
    assert _refused(path) == f"search space {path} is larger than 1 MiB: a space is a short YAML file"


def test_a_folder_is_refused_with_or_without_the_yaml_suffix(tmp_path: Path) -> None:
    (tmp_path / "spaces.yaml").mkdir()
    (tmp_path / "spaces").mkdir()
    assert (
        _refused(tmp_path / "spaces.yaml")
        == f"search space {tmp_path / 'spaces.yaml'} is a folder, not a YAML file"
    )
    assert "is a folder: give a YAML file or a packaged name" in _refused(tmp_path / "spaces")


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    assert _refused(path) == f"cannot read search space {path}: No such file or directory"


def test_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.yaml"
    path.write_text(GOOD)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who reads everything (root)")
        assert _refused(path) == f"cannot read search space {path}: Permission denied"
    finally:
        path.chmod(0o600)


def test_a_file_name_that_is_not_printable_stays_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "two\nlines.yaml"
    path.write_bytes(b"params:\n  depth: {int: [3, 1]}\n")
    message = _refused(path)
    assert message == f"{tmp_path}/two\\nlines.yaml:2: params.depth.int: low 3 is greater than high 1"
    path.write_bytes(b"params:\n  depth: {int: [1, 3]}\n")
    assert load_space(path).name == "two-lines"  # no `name:`: the file names it, made a valid name


def test_a_byte_order_mark_is_accepted_and_not_part_of_the_text(tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.yaml", tmp_path / "marked.yaml"
    plain.write_text(GOOD, encoding="utf-8")
    marked.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    a, b = load_space(plain), load_space(marked)
    assert b.text == GOOD and b.hash == a.hash and [p.key for p in b.params] == ["depth", "alpha"]


def test_non_ascii_text_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "größe.yaml"
    path.write_text(
        "name: groesse\ndescription: Größe der Einbettung — 埋め込み\nparams:\n  depth: {int: [1, 2]}\n"
    )
    assert load_space(path).description == "Größe der Einbettung — 埋め込み"


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("x" * 5000 + ".yaml", "File name too long"),
        ("x" * 5000, "unknown search space"),
        ("mine\x00.yaml", "cannot read search space mine\\x00.yaml: embedded null byte"),
        ("mine\x00", "unknown search space 'mine\\\\x00'"),
        (
            "caf\udce9.yaml",
            "cannot read search space caf\\udce9.yaml: No such file or directory",
        ),  # argv bytes
    ],
    ids=["long file", "long name", "NUL in a file name", "NUL in a name", "undecodable file name"],
)
def test_odd_names_are_one_short_printable_line(target: str, words: str) -> None:
    message = _refused(target)
    assert words in message and message.isprintable() and len(message) < 400, message


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("n" * 101, "got 'nnnnnnnn"),
        ("n" * 100_000, "... (100000 characters)"),
        ('"quick\\n"', "got 'quick\\n'"),  # a regex `$` would let the newline through
    ],
    ids=["101 characters", "100000 characters", "trailing newline"],
)
def test_a_space_name_is_a_short_word(tmp_path: Path, name: str, shown: str) -> None:
    path = tmp_path / "named.yaml"
    path.write_text(f"name: {name}\nparams:\n  depth: {{int: [1, 2]}}\n")
    message = _refused(path)
    assert message.startswith(f"{path}:1: name: name must be a word of 1-100 letters") and shown in message
    assert len(message) < 300


def test_a_long_file_name_gives_a_valid_default_name(tmp_path: Path) -> None:
    path = tmp_path / ("s" * 150 + ".yaml")
    path.write_text("params:\n  depth: {int: [1, 2]}\n")
    assert load_space(path).name == "s" * 100
