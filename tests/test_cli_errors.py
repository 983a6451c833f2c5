"""Bad paths and bad bytes on the command line: one plain error line and exit ≠ 0, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

BINARY = bytes(range(128, 256)) * 3  # not UTF-8


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    path = tmp_path / "blob.bin"
    path.write_bytes(BINARY)
    return path


def run(args: list[str], input: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception)
    out = result.output
    assert "Traceback" not in out
    return result.exit_code, out


def test_classify_input_that_does_not_exist() -> None:
    code, out = run(["classify", "--input", "/nonexistent.jsonl"])
    assert code != 0 and "/nonexistent.jsonl" in out and "does not exist" in out


def test_classify_output_into_a_missing_folder(tmp_path: Path) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text('{"text": "核酸结果要多久"}\n', encoding="utf-8")
    code, out = run(["classify", "--input", str(data), "--output", "/nonexistent/dir/x"])
    assert code != 0 and "/nonexistent/dir" in out and "does not exist" in out


def test_demo_with_a_binary_scenario(binary: Path) -> None:
    code, out = run(["demo", "--scenario", str(binary)])
    assert code != 0 and str(binary) in out and "not UTF-8" in out


def test_eval_with_binary_keywords(binary: Path) -> None:
    code, out = run(["eval", "--keywords", str(binary), "--data", "data/valid.jsonl"])
    assert code != 0 and "--keywords" in out and "not UTF-8" in out


def test_users_add_with_a_binary_password(tmp_path: Path) -> None:
    db = tmp_path / "u.db"
    code, out = run(["users", "add", "小李", "--password-stdin", "--db", str(db)], input=BINARY)
    assert code != 0 and "not UTF-8" in out
