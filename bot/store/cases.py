"""Cases, their timeline (``case_events``) and their deadline breaches: every statement.

The rules of a case (statuses, transitions, deadlines, masking) stay in :mod:`bot.cases`; this
module only reads and writes the rows. Portable SQL (SQLite and PostgreSQL). Functions taking
``db`` run inside the caller's transaction; functions taking ``store`` read outside one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.store import insert_row
from bot.store.engine import Transaction

if TYPE_CHECKING:
    from bot.store import Store

# Columns of ``cases`` that code reads or writes by name (the only ones interpolated into SQL).
CASE_COLUMNS = frozenset({
    "id", "comment_id", "account", "openid", "article_id", "status", "priority", "queue", "route",
    "contact_phone", "contact_id", "assignee", "opened_at", "updated_at", "first_reply_at",
    "contact_at", "handed_off_at", "resolved_at", "outcome", "reason",
})


def _columns(names: Sequence[str]) -> str:
    unknown = [n for n in names if n not in CASE_COLUMNS]
    if unknown or not names:
        raise ValueError(f"not columns of cases: {unknown or names!r}")
    return ", ".join(names)


def case_for_comment(db: Transaction, comment_id: str) -> int | None:
    """The id of the case ``comment_id`` opened, or None."""
    row = db.execute("SELECT id FROM cases WHERE comment_id = ?", [comment_id]).fetchone()
    return int(row[0]) if row is not None else None


def insert_case(db: Transaction, row: dict[str, Any]) -> int:
    """A new case row; returns its id."""
    return insert_row(db, "cases", row)


def case_fields(db: Transaction, case_id: int, *columns: str) -> dict[str, Any] | None:
    """``columns`` of one case (inside a transaction), or None when there is no such case."""
    rows = list(db.query(f"SELECT {_columns(columns)} FROM cases WHERE id = ?", [case_id]))
    return dict(rows[0]) if rows else None


def update_case(db: Transaction, case_id: int, fields: dict[str, Any]) -> None:
    """Set ``fields`` (column -> value) on one case."""
    _columns(list(fields))
    sets = ", ".join(f"{c} = ?" for c in fields)
    db.execute(f"UPDATE cases SET {sets} WHERE id = ?", [*fields.values(), case_id])


def insert_event(db: Transaction, row: dict[str, Any]) -> None:
    """One row of a case's timeline (``case_events``)."""
    insert_row(db, "case_events", row)


def record_breach(db: Transaction, case_id: int, deadline: str, due_at: str, at: str) -> bool:
    """Record a deadline breach; False when it was already recorded (each is recorded once)."""
    cur = db.execute(
        "INSERT INTO breaches (case_id, deadline, due_at, recorded_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (case_id, deadline) DO NOTHING",
        [case_id, deadline, due_at, at],
    )
    return int(cur.rowcount) == 1


def get_case(store: Store, case_id: int) -> dict[str, Any] | None:
    rows = store.query("SELECT * FROM cases WHERE id = ?", [case_id])
    return rows[0] if rows else None


def case_events(store: Store, case_id: int) -> list[dict[str, Any]]:
    """A case's timeline, oldest first."""
    return store.query("SELECT * FROM case_events WHERE case_id = ? ORDER BY id", [case_id])


def cases_in(store: Store, statuses: Sequence[str], *, after_id: int | None = None,
             limit: int | None = None) -> list[dict[str, Any]]:
    """Every case whose status is one of ``statuses``; with ``limit``, a page of them by id,
    those after ``after_id``."""
    marks = ", ".join("?" for _ in statuses)
    sql = f"SELECT * FROM cases WHERE status IN ({marks})"
    params: list[Any] = list(statuses)
    if after_id is not None:
        sql += " AND id > ?"
        params.append(int(after_id))
    if limit is not None:
        sql += " ORDER BY id LIMIT ?"
        params.append(int(limit))
    return store.query(sql, params)


def list_cases(
    store: Store,
    *,
    status: str | None = None,
    priority: str | None = None,
    statuses: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Cases with their comment and classification, by priority then age; filtered by
    ``status``, ``priority`` and (when given) ``statuses``."""
    where: list[str] = []
    params: list[Any] = []
    if status:
        where.append("c.status = ?")
        params.append(status)
    if priority:
        where.append("c.priority = ?")
        params.append(priority)
    if statuses:
        where.append(f"c.status IN ({', '.join('?' for _ in statuses)})")
        params.extend(statuses)
    sql = (
        "SELECT c.*, m.content, m.create_time, cl.score, cl.band, cl.category "
        "FROM cases c LEFT JOIN comments m ON m.id = c.comment_id "
        "LEFT JOIN classifications cl ON cl.comment_id = c.comment_id"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY c.priority, c.opened_at"
    return store.query(sql, params)


__all__ = [
    "CASE_COLUMNS",
    "case_events",
    "case_fields",
    "case_for_comment",
    "cases_in",
    "get_case",
    "insert_case",
    "insert_event",
    "list_cases",
    "record_breach",
    "update_case",
]
