"""The two engines under the store: an embedded SQLite file (the default) or a PostgreSQL server.

Both offer the same small interface, and both turn every driver error into :class:`StoreError`
(:class:`StoreBusy` when waiting and trying again can help) here, at one boundary:

* ``engine.transaction()`` — one atomic unit of work, yielding a :class:`Transaction`;
* ``Transaction.execute(sql, params)`` → :class:`Cursor` (``fetchone``, ``fetchall``,
  ``rowcount``, iteration); ``Transaction.query(sql, params)`` → ``list[dict]``;
* ``engine.query(sql, params)`` → ``list[dict]`` outside a transaction (inside one, on its
  connection, so a transaction reads its own writes).

SQL is written once, in the portable dialect both engines speak (see docs/architecture.md):
``?`` placeholders, which the PostgreSQL engine rewrites to ``%s``. Rows are :class:`Row`: a
tuple (``row[0]``, unpacking) that also answers ``row["column"]`` and ``dict(row)``.

Within one process, transactions run one at a time on both engines (SQLite allows one writer
anyway; on PostgreSQL it keeps the daemon's threads as ordered as they are on SQLite). Reads
outside a transaction never wait for it: each thread reads on a connection of its own (SQLite)
or one from the pool (PostgreSQL). A PostgreSQL connection that was lost (the server restarted)
is replaced by the pool; the unit of work that saw it fail gets :class:`StoreBusy`.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.errors import StoreBusy, StoreError

Params = Sequence[Any] | dict[str, Any]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def redact_url(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://…"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


class Row(tuple):  # type: ignore[type-arg]
    """A result row: a tuple that also answers ``row["column"]``, ``keys()`` and ``dict(row)``."""

    _index: dict[str, int]

    def __new__(cls, values: Iterable[Any], index: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._index = index
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                key = self._index[key]
            except KeyError:
                raise KeyError(key) from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)

    def get(self, key: str, default: Any = None) -> Any:
        i = self._index.get(key)
        return default if i is None else tuple.__getitem__(self, i)


def _index_of(description: Any) -> dict[str, int]:
    return {d[0]: i for i, d in enumerate(description or ())}


class Cursor:
    """The result of :meth:`Transaction.execute`: rows as :class:`Row`, and ``rowcount``."""

    def __init__(self, raw: Any, convert: Any) -> None:
        self._raw = raw
        self._convert = convert
        self._index = _index_of(raw.description)
        self.rowcount: int = int(raw.rowcount if raw.rowcount is not None else -1)

    @property
    def description(self) -> Any:
        return self._raw.description

    def _fetch(self, fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:
            raise self._convert(exc, "reading a result failed") from exc

    def fetchone(self) -> Any:  # Row | None (Any, like sqlite3's, for ``fetchone()[0]``)
        if self._raw.description is None:
            return None
        values = self._fetch(self._raw.fetchone)
        return None if values is None else Row(values, self._index)

    def fetchall(self) -> list[Row]:
        if self._raw.description is None:
            return []
        return [Row(v, self._index) for v in self._fetch(self._raw.fetchall)]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.fetchall())


class Transaction:
    """One unit of work on one connection. ``execute`` and ``query`` are its whole surface."""

    dialect = ""

    def __init__(self, engine: Engine, conn: Any) -> None:
        self.engine = engine
        self.conn = conn

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        return self.engine._execute(self.conn, sql, params)

    def executemany(self, sql: str, seq: Iterable[Params]) -> None:
        for params in seq:
            self.engine._execute(self.conn, sql, params)

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.execute(sql, params)]

    @contextmanager
    def savepoint(self, name: str = "one") -> Iterator[Transaction]:
        """A nested unit of this transaction whose writes are undone alone when it raises.

        ``SAVEPOINT`` / ``RELEASE SAVEPOINT`` / ``ROLLBACK TO SAVEPOINT`` mean the same on
        SQLite and PostgreSQL; on PostgreSQL the rollback also clears the aborted state a failed
        statement leaves, so the transaction goes on. A driver error is a :class:`StoreError`
        (from :meth:`execute`); every exception undoes the savepoint's writes and propagates.
        """
        if not name.isidentifier():
            raise ValueError(f"a savepoint name must be an identifier, not {name!r}")
        self.execute(f"SAVEPOINT {name}")
        try:
            yield self
        except BaseException:
            self.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self.execute(f"RELEASE SAVEPOINT {name}")



class SQLiteTransaction(Transaction):
    dialect = "sqlite"


class PostgresTransaction(Transaction):
    dialect = "postgres"


class Engine:
    """What the store needs from a database: transactions, reads, close."""

    dialect = ""
    description = ""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._local = threading.local()
        self._closed = False

    # -- the interface --------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        raise NotImplementedError
        yield  # pragma: no cover

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def table_names(self) -> list[str]:
        raise NotImplementedError

    def columns(self, table: str) -> list[str]:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------
    def current(self) -> Transaction | None:
        """This thread's open transaction, if any."""
        return getattr(self._local, "tx", None)

    def _execute(self, conn: Any, sql: str, params: Params) -> Cursor:
        raise NotImplementedError

    def error(self, exc: BaseException, what: str) -> StoreError:
        raise NotImplementedError


# -- SQLite ---------------------------------------------------------------------------------
_TRANSIENT = ("locked", "busy", "disk i/o", "disk is full", "database or disk is full",
              "unable to open", "readonly", "read-only", "interrupted", "out of memory")
# SQLITE_BUSY, SQLITE_LOCKED, SQLITE_NOMEM, SQLITE_READONLY, SQLITE_INTERRUPT, SQLITE_IOERR,
# SQLITE_FULL, SQLITE_CANTOPEN (primary codes; extended codes keep them in the low byte)
_TRANSIENT_CODES = {5, 6, 7, 8, 9, 10, 13, 14}


def sqlite_error(exc: BaseException, what: str) -> StoreError:
    """The store's own error for a ``sqlite3.Error``: :class:`StoreBusy` when it may pass."""
    if isinstance(exc, StoreError):
        return exc
    text = str(exc)
    transient = isinstance(exc, sqlite3.OperationalError) and (
        any(word in text.lower() for word in _TRANSIENT)
        or (int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF) in _TRANSIENT_CODES
    )
    cls = StoreBusy if transient else StoreError
    return cls(f"{what}: {text}")


class SQLiteEngine(Engine):
    """One SQLite file (or ``:memory:``): one write connection serialised by a lock, WAL, and a
    read connection per thread so a reader never waits behind a writer."""

    dialect = "sqlite"

    def __init__(self, path: str, *, busy_timeout: float = 30.0) -> None:
        from sqlite_utils import Database

        super().__init__()
        self.path = path
        self.description = path
        self.busy_timeout = busy_timeout
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        conn = self._connect()
        if path != ":memory:":
            _wal(conn, busy_timeout)
        self.db = Database(conn)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=self.busy_timeout,
                               isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def error(self, exc: BaseException, what: str) -> StoreError:
        return sqlite_error(exc, what)

    def _execute(self, conn: Any, sql: str, params: Params) -> Cursor:
        try:
            raw = conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise sqlite_error(exc, f"a statement on {self.path} failed") from exc
        return Cursor(raw, sqlite_error)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, serialised across threads. A nested call joins the
        open transaction."""
        open_tx = self.current()
        if open_tx is not None:
            yield open_tx
            return
        with self._lock:
            conn = self.db.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise sqlite_error(exc, f"cannot start a transaction on {self.path}") from exc
            tx = SQLiteTransaction(self, conn)
            self._local.tx = tx
            try:
                yield tx
                conn.execute("COMMIT")
            except BaseException as exc:
                _sqlite_rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise sqlite_error(exc, f"a write to {self.path} failed") from exc
                raise
            finally:
                self._local.tx = None

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        try:
            if self.path == ":memory:" or self.current() is not None:
                with self._lock:
                    cur = self.db.conn.execute(sql, params)
            else:
                cur = self._reader().execute(sql, params)
            keys = [d[0] for d in cur.description or ()]
            return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
        except sqlite3.Error as exc:
            raise sqlite_error(exc, f"a read from {self.path} failed") from exc

    def _reader(self) -> sqlite3.Connection:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            reader = self._connect()
            self._local.reader = reader
            with self._readers_lock:  # not the write lock: a reader never waits for a writer
                self._readers.append(reader)
        return reader

    def table_names(self) -> list[str]:
        return [r["name"] for r in self.query(
            "select name from sqlite_master where type = 'table'")]

    def columns(self, table: str) -> list[str]:
        return [r["name"] for r in self.query(f'pragma table_info("{table}")')]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            with self._readers_lock:
                for conn in self._readers:
                    conn.close()
                self._readers.clear()
            self.db.close()


def _wal(conn: sqlite3.Connection, busy_timeout: float) -> None:
    """Switch a file to WAL. The switch takes a lock SQLite's busy handler does not wait for:
    stores opened at the same moment on a new file (replicas starting together) see "database
    is locked" at once, so it is tried again until ``busy_timeout``."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open (SQLite may already have rolled it back)."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


# -- PostgreSQL -----------------------------------------------------------------------------
_LITERAL = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")


@lru_cache(maxsize=2048)
def to_pyformat(sql: str) -> str:
    """Portable SQL (``?`` placeholders) as psycopg wants it: ``%s``, and ``%`` doubled."""
    parts = _LITERAL.split(sql)
    for i in range(0, len(parts), 2):  # outside quotes
        parts[i] = parts[i].replace("%", "%%").replace("?", "%s")
    for i in range(1, len(parts), 2):  # inside quotes: only the % needs escaping
        parts[i] = parts[i].replace("%", "%%")
    return "".join(parts)


# SQLSTATE classes that pass with time: connection exceptions, transaction rollbacks
# (serialization failures, deadlocks), insufficient resources, operator intervention (shutdown,
# cancelled statements), lock not available
_PG_TRANSIENT_CLASSES = ("08", "40", "53", "57")
_PG_TRANSIENT_STATES = ("55P03", "55006")


def postgres_error(exc: BaseException, what: str) -> StoreError:
    """The store's own error for a psycopg (or pool) error: :class:`StoreBusy` when it may pass."""
    if isinstance(exc, StoreError):
        return exc
    import psycopg
    from psycopg_pool import PoolTimeout

    state = str(getattr(exc, "sqlstate", "") or "")
    transient = (
        isinstance(exc, PoolTimeout | psycopg.OperationalError)
        or state.startswith(_PG_TRANSIENT_CLASSES)
        or state in _PG_TRANSIENT_STATES
    )
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    cls = StoreBusy if transient else StoreError
    return cls(f"{what}: {text}")


class PostgresEngine(Engine):
    """A PostgreSQL database through psycopg 3 and a ``psycopg_pool.ConnectionPool``."""

    dialect = "postgres"

    def __init__(self, url: str, *, busy_timeout: float = 30.0, max_size: int = 8) -> None:
        super().__init__()
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise StoreError(f"PostgreSQL needs psycopg and psycopg_pool installed: {exc}") from exc
        self.url = url
        self.description = redact_url(url)
        self.busy_timeout = busy_timeout
        self._psycopg = psycopg
        lock_ms = int(busy_timeout * 1000)
        try:
            self.pool = ConnectionPool(
                url,
                min_size=1,
                max_size=max_size,
                kwargs={"autocommit": True, "connect_timeout": max(1, int(busy_timeout))},
                check=ConnectionPool.check_connection,
                configure=lambda conn: _configure(conn, lock_ms),
                timeout=busy_timeout,
                reconnect_timeout=max(busy_timeout, 60.0),
                name="dianhua",
                open=False,
            )
            self.pool.open(wait=True, timeout=max(1.0, busy_timeout))
        except Exception as exc:
            raise postgres_error(exc, f"cannot connect to {self.description}") from exc

    def error(self, exc: BaseException, what: str) -> StoreError:
        return postgres_error(exc, what)

    def _execute(self, conn: Any, sql: str, params: Params) -> Cursor:
        try:
            raw = conn.execute(to_pyformat(sql), _pg_params(params))
        except self._psycopg.Error as exc:
            raise postgres_error(exc, f"a statement on {self.description} failed") from exc
        return Cursor(raw, postgres_error)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """``BEGIN`` … ``COMMIT`` on a pooled connection, one at a time in this process. A nested
        call joins the open transaction."""
        open_tx = self.current()
        if open_tx is not None:
            yield open_tx
            return
        psycopg = self._psycopg
        with self._lock:
            if self._closed:
                raise StoreError(f"the store on {self.description} is closed")
            try:
                conn = self.pool.getconn()
            except Exception as exc:
                raise postgres_error(exc, f"cannot reach {self.description}") from exc
            try:
                try:
                    conn.execute("BEGIN")
                except psycopg.Error as exc:
                    raise postgres_error(exc, "cannot start a transaction on "
                                              f"{self.description}") from exc
                tx = PostgresTransaction(self, conn)
                self._local.tx = tx
                try:
                    yield tx
                except BaseException as exc:
                    _pg_rollback(conn)
                    if isinstance(exc, psycopg.Error):
                        raise postgres_error(exc, f"a write to {self.description} failed") from exc
                    raise
                else:
                    try:
                        conn.execute("COMMIT")
                    except psycopg.Error as exc:
                        _pg_rollback(conn)
                        raise postgres_error(exc, f"a write to {self.description} failed") \
                            from exc
                finally:
                    self._local.tx = None
            finally:
                try:
                    self.pool.putconn(conn)  # a broken connection is dropped and replaced
                except Exception:  # noqa: BLE001 - the pool is closing: nothing to return to
                    pass

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        tx = self.current()
        if tx is not None:
            return tx.query(sql, params)
        if self._closed:
            raise StoreError(f"the store on {self.description} is closed")
        try:
            with self.pool.connection() as conn:
                cur = conn.execute(to_pyformat(sql), _pg_params(params))
                keys = [d[0] for d in cur.description or ()]
                return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
        except self._psycopg.Error as exc:
            raise postgres_error(exc, f"a read from {self.description} failed") from exc
        except Exception as exc:
            from psycopg_pool import PoolTimeout

            if isinstance(exc, PoolTimeout):
                raise postgres_error(exc, f"a read from {self.description} failed") from exc
            raise

    def table_names(self) -> list[str]:
        return [r["table_name"] for r in self.query(
            "select table_name from information_schema.tables "
            "where table_schema = current_schema()")]

    def columns(self, table: str) -> list[str]:
        return [r["column_name"] for r in self.query(
            "select column_name from information_schema.columns "
            "where table_schema = current_schema() and table_name = ? order by ordinal_position",
            [table])]

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self.pool.close()


def _pg_rollback(conn: Any) -> None:
    """Roll back what is open on ``conn``; a connection that is gone has nothing to roll back."""
    try:
        if not conn.closed:
            conn.rollback()
    except Exception:  # noqa: BLE001 - the pool checks and replaces the connection
        pass


def _configure(conn: Any, lock_ms: int) -> None:
    """Every pooled connection: a lock waits at most ``busy_timeout`` (then StoreBusy), and
    ``numeric`` (``sum``, ``avg``) comes back as ``float``, as on SQLite, not ``Decimal``."""
    from psycopg.types.numeric import FloatLoader

    conn.adapters.register_loader("numeric", FloatLoader)
    conn.execute(f"set lock_timeout = {int(lock_ms)}")


def _pg_params(params: Params) -> Any:
    if isinstance(params, dict):
        raise StoreError("portable SQL takes ? placeholders and a list of values, not names")
    return list(params)


def open_engine(target: str, *, busy_timeout: float = 30.0) -> Engine:
    """The engine for ``target``: a ``postgresql://`` URL, else a SQLite file path."""
    if is_postgres_url(target):
        return PostgresEngine(target, busy_timeout=busy_timeout)
    return SQLiteEngine(target, busy_timeout=busy_timeout)


__all__ = ["Cursor", "Engine", "PostgresEngine", "Row", "SQLiteEngine", "Transaction",
           "is_postgres_url", "open_engine", "postgres_error", "redact_url", "sqlite_error",
           "to_pyformat"]
