"""How long personal data is kept, and the purge that enforces it (``[retention]``).

* **Contact details** (a case's phone and ID number; numbers in its comments and notes, which
  are masked in place) are erased :attr:`RetentionPolicy.contact_days` after the case closed.
* **Closed cases** (resolved, false positive, no response) are deleted with their timeline,
  deadline breaches, outbox rows, labels and comments :attr:`RetentionPolicy.resolved_cases_days`
  after they closed.
* **Comments** without a case are deleted :attr:`RetentionPolicy.comments_days` after they
  arrived (with their classification, traces, labels, every editor's mark in ``label_history``,
  a shadowed model's score in ``shadow_scores`` and, for a private message, its ``messages``
  row). A comment deleted with its closed case takes the same rows with it.
* **Private-message rows** without a comment (events such as subscribe, non-text messages)
  are deleted :attr:`RetentionPolicy.comments_days` after they arrived; they carry the
  reader's openid and only serve the 48-hour window and the dedupe of the platform's retries. A comment under an article that is
  still polled is kept as an empty tombstone (no text, no writer) so a rescan never processes
  it a second time.
* Expired desk sessions and sign-in counts older than a day go too.

Open cases are never touched. The daemon runs :func:`purge` every
:attr:`RetentionPolicy.purge_every_minutes` (a scheduler job); ``dianhua purge --dry-run``
shows what it would do. Both log one line with the counts (no personal data).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from loguru import logger

from bot import pii
from bot.clock import iso
from bot.store import Store

CLOSED = ("resolved", "false_positive", "closed_no_response")
_CLOSED_SQL = "status in ('resolved', 'false_positive', 'closed_no_response')"
_CLOSED_AT = "coalesce(resolved_at, updated_at, opened_at)"


@dataclass(frozen=True)
class RetentionPolicy:
    comments_days: float = 90.0
    resolved_cases_days: float = 180.0
    contact_days: float = 30.0
    purge_every_minutes: float = 60.0


@dataclass
class PurgeReport:
    contacts_erased: int = 0
    cases_deleted: int = 0
    comments_deleted: int = 0
    comments_emptied: int = 0
    messages_deleted: int = 0
    sessions_deleted: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would erase" if self.dry_run else "erased"
        return (f"retention: {verb} contact details of {self.contacts_erased} closed case(s); "
                f"{'would delete' if self.dry_run else 'deleted'} {self.cases_deleted} closed "
                f"case(s), {self.comments_deleted} comment(s) ({self.comments_emptied} more "
                f"emptied), {self.messages_deleted} private-message row(s), "
                f"{self.sessions_deleted} expired session(s)")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class _DryRun(Exception):
    pass


def purge(store: Store, policy: RetentionPolicy, *, now: datetime | None = None,
          dry_run: bool = False, session_idle_minutes: float = 120.0,
          session_absolute_hours: float = 12.0) -> PurgeReport:
    """Apply ``policy`` in one transaction (rolled back with ``dry_run``) and log the counts."""
    now = now or store.clock()
    report = PurgeReport(dry_run=dry_run)
    contact_cut = iso(now - timedelta(days=policy.contact_days))
    case_cut = iso(now - timedelta(days=policy.resolved_cases_days))
    comment_cut = iso(now - timedelta(days=policy.comments_days))
    try:
        with store.transaction() as db:
            # 1. contact details of cases closed long enough ago
            ids = [r[0] for r in db.execute(
                f"select id from cases where {_CLOSED_SQL} and {_CLOSED_AT} < ? and "
                f"{_CLOSED_AT} >= ? and (contact_phone != '' or contact_id != '' or id not in "
                "(select case_id from case_events where kind = 'erased'))",
                [contact_cut, case_cut])]
            for case_id in ids:
                db.execute("update cases set contact_phone = '', contact_id = '' where id = ?",
                           [case_id])
                for cid, content in db.execute(
                        "select id, content from comments where id in (select comment_id from "
                        "cases where id = ? union select comment_id from case_events where "
                        "case_id = ? and comment_id is not null)", [case_id, case_id]).fetchall():
                    masked = pii.mask(content or "")
                    if masked != content:
                        db.execute("update comments set content = ? where id = ?", [masked, cid])
                for eid, note in db.execute("select id, note from case_events where case_id = ?",
                                            [case_id]).fetchall():
                    masked = pii.mask(note or "")
                    if masked != (note or ""):
                        db.execute("update case_events set note = ? where id = ?", [masked, eid])
                db.execute("insert into case_events (case_id, at, actor, kind, note) values "
                           "(?, ?, 'bot', 'erased', 'contact details erased (retention)')",
                           [case_id, iso(now)])
            report.contacts_erased = len(ids)
            # 2. closed cases, with everything that hangs off them
            old = [r[0] for r in db.execute(
                f"select id from cases where {_CLOSED_SQL} and {_CLOSED_AT} < ?", [case_cut])]
            for case_id in old:
                comments = [r[0] for r in db.execute(
                    "select comment_id from cases where id = ? union select comment_id from "
                    "case_events where case_id = ? and comment_id is not null",
                    [case_id, case_id])]
                db.execute("delete from case_events where case_id = ?", [case_id])
                db.execute("delete from breaches where case_id = ?", [case_id])
                db.execute("delete from outbox where case_id = ? and status not in "
                           "('pending','inflight')", [case_id])
                db.execute("delete from cases where id = ?", [case_id])
                for cid in comments:
                    _count(report, _drop_comment(db, cid, report))
            report.cases_deleted = len(old)
            # 3. comments without a case
            stale = [r[0] for r in db.execute(
                "select id from comments where received_at < ? and state != 'new' and id not in "
                "(select comment_id from cases) and id not in (select comment_id from case_events "
                "where comment_id is not null) and id not in (select comment_id from outbox "
                "where status in ('pending','inflight')) and (content != '' or openid != '')",
                [comment_cut])]
            for cid in stale:
                _count(report, _drop_comment(db, cid, report))
            # 4. private-message rows whose comment is gone, or that never had one (events)
            report.messages_deleted += int(db.execute(
                "delete from messages where received_at < ? and (comment_id = '' or comment_id "
                "is null or comment_id not in (select id from comments where content != '' or "
                "openid != ''))", [comment_cut]).rowcount)
            # 5. sessions and sign-in counts
            idle = iso(now - timedelta(minutes=session_idle_minutes))
            absolute = iso(now - timedelta(hours=session_absolute_hours))
            report.sessions_deleted = int(db.execute(
                "delete from sessions where last_seen_at < ? or created_at < ?",
                [idle, absolute]).rowcount)
            db.execute("delete from login_throttle where updated_at < ?",
                       [iso(now - timedelta(days=1))])
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    logger.info(report.summary())
    return report


def _count(report: PurgeReport, what: str) -> None:
    if what == "deleted":
        report.comments_deleted += 1
    elif what == "emptied":
        report.comments_emptied += 1


def _drop_comment(db: Any, cid: str, report: PurgeReport) -> str:
    """Delete a comment and what hangs off it; under a still-polled article keep an empty
    tombstone instead, so a rescan never processes it again."""
    if db.execute("select 1 from cases where comment_id = ?", [cid]).fetchone():
        return "kept"  # still opens another case
    if db.execute("select 1 from outbox where comment_id = ? and status in "
                  "('pending','inflight')", [cid]).fetchone():
        return "kept"
    for table in ("traces", "labels", "label_history", "shadow_scores"):
        db.execute(f"delete from {table} where comment_id = ?", [cid])
    report.messages_deleted += int(
        db.execute("delete from messages where comment_id = ?", [cid]).rowcount)
    active = db.execute("select 1 from comments c join articles a on a.id = c.article_id "
                        "where c.id = ? and a.active = 1", [cid]).fetchone()
    if active:
        cur = db.execute("update comments set content = '', openid = '' where id = ? and "
                         "(content != '' or openid != '')", [cid])
        return "emptied" if cur.rowcount else "kept"
    db.execute("delete from classifications where comment_id = ?", [cid])
    db.execute("delete from outbox where comment_id = ?", [cid])
    return "deleted" if db.execute("delete from comments where id = ?", [cid]).rowcount else "kept"


__all__ = ["PurgeReport", "RetentionPolicy", "purge"]
