"""Time-limited leases in the database, shared by the replicas of one cluster (issue 15).

A lease is a row ``leases(name, holder, expires_at, acquired_at, renewed_at)``. Names in use:
``account:<name>`` (who polls that account), ``cluster:scheduler`` (who runs the jobs that run
once per cluster) and ``replica:<id>`` (a replica's heartbeat: the live replicas are the
holders of unexpired ``replica:`` leases).

Taking and renewing are the same two portable statements: ``INSERT … ON CONFLICT (name) DO
NOTHING`` makes sure the row exists, then one conditional ``UPDATE … WHERE name = ? AND
(holder = ? OR expires_at < ?)`` takes it when it is ours or expired. On SQLite the
transaction is ``BEGIN IMMEDIATE`` (one writer); on PostgreSQL the second of two concurrent
UPDATEs waits for the first's row lock and re-checks the WHERE clause, so only one wins either
way: ``rowcount`` says who. Times are ISO strings from the caller's clock, compared as text.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import iso

if TYPE_CHECKING:
    from bot.store import Store


def acquire(store: Store, name: str, holder: str, seconds: float,
            now: datetime | None = None) -> bool:
    """Take or renew ``name`` for ``holder`` until ``now + seconds``; False when another
    holder's lease has not expired yet."""
    at = now or store.clock()
    stamp, until = iso(at), iso(at + timedelta(seconds=seconds))
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO leases (name, holder, expires_at, acquired_at, renewed_at) "
            "VALUES (?, '', '', ?, ?) ON CONFLICT (name) DO NOTHING",
            [name, stamp, stamp],
        )
        cur = tx.execute(
            "UPDATE leases SET acquired_at = CASE WHEN holder = ? THEN acquired_at ELSE ? END, "
            "holder = ?, expires_at = ?, renewed_at = ? "
            "WHERE name = ? AND (holder = ? OR expires_at < ?)",
            [holder, stamp, holder, until, stamp, name, holder, stamp],
        )
        return int(cur.rowcount) == 1


def renew_all(store: Store, holder: str, seconds: float,
              now: datetime | None = None) -> set[str]:
    """Renew every unexpired lease ``holder`` holds, in one statement; the names renewed.

    A replica with hundreds of accounts renews them all in one transaction per beat instead of
    one each. A lease that expired meanwhile is not renewed here (another replica may be taking
    it); :func:`acquire` takes it back when it is still free.
    """
    at = now or store.clock()
    stamp, until = iso(at), iso(at + timedelta(seconds=seconds))
    with store.transaction() as tx:
        tx.execute(
            "UPDATE leases SET expires_at = ?, renewed_at = ? "
            "WHERE holder = ? AND expires_at >= ?",
            [until, stamp, holder, stamp],
        )
        rows = tx.query("SELECT name FROM leases WHERE holder = ? AND expires_at = ?",
                        [holder, until])
    return {str(r["name"]) for r in rows}


def release(store: Store, name: str, holder: str) -> bool:
    """Give ``name`` up at once (only when ``holder`` holds it); True when it was released."""
    with store.transaction() as tx:
        cur = tx.execute(
            "UPDATE leases SET holder = '', expires_at = '' WHERE name = ? AND holder = ?",
            [name, holder],
        )
        return int(cur.rowcount) == 1


def release_all(store: Store, holder: str) -> int:
    """Give up every lease ``holder`` holds (a clean shutdown); returns how many."""
    with store.transaction() as tx:
        cur = tx.execute("UPDATE leases SET holder = '', expires_at = '' WHERE holder = ?",
                         [holder])
        return int(cur.rowcount)


def live(store: Store, prefix: str, now: datetime | None = None) -> dict[str, str]:
    """Unexpired leases whose name starts with ``prefix``: name -> holder."""
    at = iso(now or store.clock())
    rows = store.query(
        "SELECT name, holder FROM leases WHERE substr(name, 1, ?) = ? AND holder <> '' "
        "AND expires_at >= ? ORDER BY name",
        [len(prefix), prefix, at],
    )
    return {str(r["name"]): str(r["holder"]) for r in rows}


def all_leases(store: Store) -> list[dict[str, Any]]:
    """Every lease row, by name (for ``dianhua cluster`` style reports and tests)."""
    return list(store.query(
        "SELECT name, holder, expires_at, acquired_at, renewed_at FROM leases ORDER BY name"))


__all__ = ["acquire", "all_leases", "live", "release", "release_all", "renew_all"]
