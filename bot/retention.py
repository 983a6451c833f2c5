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

from loguru import logger

from bot import pii
from bot.clock import iso
from bot.store import Store
from bot.store import retention as retention_rows
from bot.store.retention import Cutoffs, Purged

CLOSED = ("resolved", "false_positive", "closed_no_response")


@dataclass(frozen=True)
class RetentionPolicy:
    comments_days: float = 90.0
    resolved_cases_days: float = 180.0
    contact_days: float = 30.0
    purge_every_minutes: float = 60.0


@dataclass
class PurgeReport(Purged):
    """What a purge did (the store's counts), or with ``dry_run`` what it would do."""

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


def purge(store: Store, policy: RetentionPolicy, *, now: datetime | None = None,
          dry_run: bool = False, session_idle_minutes: float = 120.0,
          session_absolute_hours: float = 12.0) -> PurgeReport:
    """Apply ``policy`` in one transaction (rolled back with ``dry_run``) and log the counts."""
    now = now or store.clock()
    cut = Cutoffs(
        contact=iso(now - timedelta(days=policy.contact_days)),
        case=iso(now - timedelta(days=policy.resolved_cases_days)),
        comment=iso(now - timedelta(days=policy.comments_days)),
        session_idle=iso(now - timedelta(minutes=session_idle_minutes)),
        session_absolute=iso(now - timedelta(hours=session_absolute_hours)),
        throttle=iso(now - timedelta(days=1)),
    )
    done = retention_rows.purge(store, cut, at=iso(now), mask=pii.mask, dry_run=dry_run)
    report = PurgeReport(dry_run=dry_run, **asdict(done))
    logger.info(report.summary())
    return report


__all__ = ["PurgeReport", "RetentionPolicy", "purge"]
