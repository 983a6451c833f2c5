"""Suite-wide fixtures. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

_ENV_PREFIXES = ("DIANHUA_",)

# Read before _clean_environ hides every DIANHUA_* variable from the tests themselves.
PG_URL = os.environ.get("DIANHUA_TEST_PG_URL", "")
REQUIRE_PG = os.environ.get("DIANHUA_REQUIRE_PG", "") == "1"
PG_RESTART = os.environ.get("DIANHUA_TEST_PG_RESTART", "")  # set by scripts/pg-test-cluster.sh
PG_SKIP_REASON = ("PostgreSQL tests skipped: no server (run `make test`, which starts one, "
                  "or set DIANHUA_TEST_PG_URL)")
_pg_state: dict[str, str] = {}


def _pg_server() -> str:
    """The test server's URL, checked once per session; skips (or fails under
    DIANHUA_REQUIRE_PG=1, as `make test` and CI set it) when there is none."""
    if "url" not in _pg_state:
        problem = ""
        if not PG_URL:
            problem = PG_SKIP_REASON
        else:
            try:
                import psycopg

                with psycopg.connect(PG_URL, connect_timeout=10, autocommit=True) as conn:
                    conn.execute("select 1")
            except Exception as exc:  # noqa: BLE001 - any reason is reported as it is
                problem = f"PostgreSQL tests skipped: cannot reach DIANHUA_TEST_PG_URL: {exc}"
        _pg_state["url"], _pg_state["problem"] = ("" if problem else PG_URL), problem
    if _pg_state["problem"]:
        if REQUIRE_PG:
            pytest.fail(_pg_state["problem"].replace("tests skipped", "tests cannot run") +
                        " — DIANHUA_REQUIRE_PG=1 forbids skipping them", pytrace=False)
        pytest.skip(_pg_state["problem"])
    return _pg_state["url"]


def pg_schema_url(url: str, schema: str) -> str:
    """``url`` with every connection's search_path set to ``schema``."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL of the test PostgreSQL server on a fresh, empty schema of its own (dropped after)."""
    import psycopg

    base = _pg_server()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    try:
        yield pg_schema_url(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"drop schema if exists {schema} cascade")


@pytest.fixture
def pg_restart(pg_url: str) -> list[str]:
    """The command that restarts the test server (``make test`` exports it); skips without."""
    import shlex

    if not PG_RESTART:
        pytest.skip("no DIANHUA_TEST_PG_RESTART: the server was not started by make test")
    return shlex.split(PG_RESTART)


@pytest.fixture(params=["sqlite", "postgres"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's store lives, once per engine: a SQLite file, or a fresh PostgreSQL schema.
    ``Store(db_target)`` opens it; the same test runs against both engines."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "t.db")


def pytest_collection_modifyitems(config: Any, items: list[pytest.Item]) -> None:
    """Tests that need the PostgreSQL server carry the ``postgres`` marker (``-m postgres``).
    Browser tests drive the desk on SQLite only (the desk's queries run on PostgreSQL in the
    page tests already, and a browser costs seconds per test), and so do ``sqlite_only`` tests."""
    keep, dropped = [], []
    for item in items:
        names = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        on_pg = "pg_url" in names or (
            callspec is not None and callspec.params.get("db_target") == "postgres")
        sqlite_only = item.get_closest_marker("sqlite_only") is not None
        browser = item.get_closest_marker("browser") is not None
        if on_pg and (browser or sqlite_only) and "pg_url" not in names:
            dropped.append(item)
            continue
        if on_pg:
            item.add_marker(pytest.mark.postgres)
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's DIANHUA_* settings."""
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(autouse=True)
def _cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Desk passwords hash with N = 2^12 in tests (the real 2^17 costs 128 MiB and ~0.3 s per
    check); tests/web/test_desk_security.py checks the real parameters and the re-hash."""
    from bot.web import passwords

    monkeypatch.setattr(passwords, "N", 2**12)
