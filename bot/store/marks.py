"""What an editor's mark on a comment needs to know about cases (urgent, not urgent, duplicate).

Portable SQL (SQLite and PostgreSQL). Functions taking ``db`` run inside the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from bot.store import Store


def case_opened_by(db: Database, comment_id: str) -> int | None:
    """The id of the case this comment opened, if any."""
    rows = list(db.query("SELECT id FROM cases WHERE comment_id = ?", [comment_id]))
    return int(rows[0]["id"]) if rows else None


def is_attached(db: Database, case_id: int, comment_id: str) -> bool:
    """Whether ``comment_id`` was attached to case ``case_id`` already."""
    return bool(list(db.query(
        "SELECT 1 AS one FROM case_events WHERE case_id = ? AND kind = 'attach' "
        "AND comment_id = ?", [case_id, comment_id])))


def writer_open_case(db: Database, account: str, openid: str,
                     statuses: Sequence[str]) -> int | None:
    """The newest case of this writer on this account whose status is one of ``statuses``."""
    rows = list(db.query(
        "SELECT id FROM cases WHERE account = ? AND openid = ? AND status IN ({}) "
        "ORDER BY id DESC LIMIT 1".format(", ".join("?" for _ in statuses)),
        [account, openid, *statuses]))
    return int(rows[0]["id"]) if rows else None


def case_of_comment(store: Store, comment_id: str) -> dict[str, Any] | None:
    """The id, status, account and openid of the case this comment opened, if any."""
    rows = store.query("SELECT id, status, account, openid FROM cases WHERE comment_id = ?",
                       [comment_id])
    return rows[0] if rows else None


def writer_other_case(store: Store, account: str, openid: str, case_id: int) -> int | None:
    """The writer's first case other than ``case_id`` (none for a writer without openid)."""
    rows = store.query(
        "SELECT id FROM cases WHERE account = ? AND openid = ? AND id != ? AND openid != '' "
        "ORDER BY id LIMIT 1", [account, openid, case_id])
    return int(rows[0]["id"]) if rows else None


__all__ = ["case_of_comment", "case_opened_by", "is_attached", "writer_open_case",
           "writer_other_case"]
