"""The retention purge's statements: erase contact details, delete closed cases, old comments,
private-message rows, expired sessions and sign-in counts (the policy is :mod:`bot.retention`).

Portable SQL (SQLite and PostgreSQL). Every cut-off is an ISO time computed by the caller and
compared as text; :func:`purge` runs in one transaction, rolled back for a dry run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.store.engine import Transaction

if TYPE_CHECKING:
    from bot.store import Store

_CLOSED_SQL = "status IN ('resolved', 'false_positive', 'closed_no_response')"
_CLOSED_AT = "coalesce(resolved_at, updated_at, opened_at)"


@dataclass(frozen=True)
class Cutoffs:
    """ISO times: rows older than these go (see :mod:`bot.retention`)."""

    contact: str  # contact details of cases closed before this (and after ``case``)
    case: str  # closed cases
    comment: str  # comments without a case, private-message rows
    session_idle: str  # sessions last seen before this
    session_absolute: str  # sessions created before this
    throttle: str  # sign-in counts not updated since


@dataclass
class Purged:
    contacts_erased: int = 0
    cases_deleted: int = 0
    comments_deleted: int = 0
    comments_emptied: int = 0
    messages_deleted: int = 0
    sessions_deleted: int = 0


class _DryRun(Exception):
    pass


def purge(store: Store, cut: Cutoffs, *, at: str, mask: Callable[[str], str],
          dry_run: bool = False) -> Purged:
    """Apply the cut-offs in one transaction (rolled back with ``dry_run``); the counts.

    ``mask`` hides phone and ID numbers in the texts kept (comments, event notes) when a
    case's contact details are erased; ``at`` dates the ``erased`` event.
    """
    done = Purged()
    try:
        with store.transaction() as db:
            _erase_contacts(db, cut, at, mask, done)
            _delete_closed_cases(db, cut, done)
            # comments without a case
            stale = [r[0] for r in db.execute(
                "SELECT id FROM comments WHERE received_at < ? AND state != 'new' AND id NOT IN "
                "(SELECT comment_id FROM cases) AND id NOT IN (SELECT comment_id FROM case_events "
                "WHERE comment_id IS NOT NULL) AND id NOT IN (SELECT comment_id FROM outbox "
                "WHERE status IN ('pending','inflight')) AND (content != '' OR openid != '')",
                [cut.comment])]
            for cid in stale:
                _drop_comment(db, cid, done)
            # private-message rows whose comment is gone, or that never had one (events)
            done.messages_deleted += int(db.execute(
                "DELETE FROM messages WHERE received_at < ? AND (comment_id = '' OR comment_id "
                "IS NULL OR comment_id NOT IN (SELECT id FROM comments WHERE content != '' OR "
                "openid != ''))", [cut.comment]).rowcount)
            # sessions and sign-in counts
            done.sessions_deleted = int(db.execute(
                "DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?",
                [cut.session_idle, cut.session_absolute]).rowcount)
            db.execute("DELETE FROM login_throttle WHERE updated_at < ?", [cut.throttle])
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return done


def _erase_contacts(db: Transaction, cut: Cutoffs, at: str, mask: Callable[[str], str],
                    done: Purged) -> None:
    """Contact details of cases closed long enough ago (not yet deleted)."""
    ids = [r[0] for r in db.execute(
        f"SELECT id FROM cases WHERE {_CLOSED_SQL} AND {_CLOSED_AT} < ? AND "
        f"{_CLOSED_AT} >= ? AND (contact_phone != '' OR contact_id != '' OR id NOT IN "
        "(SELECT case_id FROM case_events WHERE kind = 'erased'))",
        [cut.contact, cut.case])]
    for case_id in ids:
        db.execute("UPDATE cases SET contact_phone = '', contact_id = '' WHERE id = ?", [case_id])
        for cid, content in db.execute(
                "SELECT id, content FROM comments WHERE id IN (SELECT comment_id FROM "
                "cases WHERE id = ? UNION SELECT comment_id FROM case_events WHERE "
                "case_id = ? AND comment_id IS NOT NULL)", [case_id, case_id]).fetchall():
            masked = mask(content or "")
            if masked != content:
                db.execute("UPDATE comments SET content = ? WHERE id = ?", [masked, cid])
        for eid, note in db.execute("SELECT id, note FROM case_events WHERE case_id = ?",
                                    [case_id]).fetchall():
            masked = mask(note or "")
            if masked != (note or ""):
                db.execute("UPDATE case_events SET note = ? WHERE id = ?", [masked, eid])
        db.execute("INSERT INTO case_events (case_id, at, actor, kind, note) VALUES "
                   "(?, ?, 'bot', 'erased', 'contact details erased (retention)')",
                   [case_id, at])
    done.contacts_erased = len(ids)


def _delete_closed_cases(db: Transaction, cut: Cutoffs, done: Purged) -> None:
    """Closed cases, with everything that hangs off them."""
    old = [r[0] for r in db.execute(
        f"SELECT id FROM cases WHERE {_CLOSED_SQL} AND {_CLOSED_AT} < ?", [cut.case])]
    for case_id in old:
        comments = [r[0] for r in db.execute(
            "SELECT comment_id FROM cases WHERE id = ? UNION SELECT comment_id FROM "
            "case_events WHERE case_id = ? AND comment_id IS NOT NULL",
            [case_id, case_id])]
        db.execute("DELETE FROM case_events WHERE case_id = ?", [case_id])
        db.execute("DELETE FROM breaches WHERE case_id = ?", [case_id])
        db.execute("DELETE FROM outbox WHERE case_id = ? AND status NOT IN "
                   "('pending','inflight')", [case_id])
        db.execute("DELETE FROM cases WHERE id = ?", [case_id])
        for cid in comments:
            _drop_comment(db, cid, done)
    done.cases_deleted = len(old)


def _drop_comment(db: Transaction, cid: str, done: Purged) -> None:
    """Delete a comment and what hangs off it; under a still-polled article keep an empty
    tombstone instead, so a rescan never processes it again."""
    if db.execute("SELECT 1 FROM cases WHERE comment_id = ?", [cid]).fetchone():
        return  # still opens another case
    if db.execute("SELECT 1 FROM outbox WHERE comment_id = ? AND status IN "
                  "('pending','inflight')", [cid]).fetchone():
        return
    for table in ("traces", "labels", "label_history", "shadow_scores"):
        db.execute(f"DELETE FROM {table} WHERE comment_id = ?", [cid])
    done.messages_deleted += int(
        db.execute("DELETE FROM messages WHERE comment_id = ?", [cid]).rowcount)
    active = db.execute("SELECT 1 FROM comments c JOIN articles a ON a.id = c.article_id "
                        "WHERE c.id = ? AND a.active = 1", [cid]).fetchone()
    if active:
        cur = db.execute("UPDATE comments SET content = '', openid = '' WHERE id = ? AND "
                         "(content != '' OR openid != '')", [cid])
        done.comments_emptied += 1 if cur.rowcount else 0
        return
    db.execute("DELETE FROM classifications WHERE comment_id = ?", [cid])
    db.execute("DELETE FROM outbox WHERE comment_id = ?", [cid])
    done.comments_deleted += 1 if db.execute("DELETE FROM comments WHERE id = ?",
                                             [cid]).rowcount else 0


__all__ = ["Cutoffs", "Purged", "purge"]
