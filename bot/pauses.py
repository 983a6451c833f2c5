"""Accounts whose polls are paused, in the database: the poller, `dianhua accounts` and the
desk all read the same rows, so a pause is visible at once and an operator can lift it.

A pause has a reason (``daily quota (errcode 45009)``, ``credentials refused (errcode 40164)``,
…), the time polls resume by themselves (``until``) and, for a quota pause, when to ask the
platform next whether it answers again (``next_probe_at``). Lifting a pause is deleting its row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.clock import iso, parse_iso
from bot.store import Store
from bot.store import pauses as pause_rows


class PauseBook:
    def __init__(self, store: Store) -> None:
        self.store = store

    def pause(self, account: str, *, reason: str, errcode: int | None, until: datetime,
              next_probe_at: datetime, announced: bool = False) -> bool:
        """Record (or extend) a pause. True when the account was not paused before.

        ``announced``: the duty group was told, so it is told again when polling resumes.
        """
        return pause_rows.pause(self.store, account, reason=reason, errcode=errcode,
                                at=self.store.now(), until=iso(until),
                                next_probe_at=iso(next_probe_at), announced=announced)

    def probe_later(self, account: str, at: datetime) -> None:
        pause_rows.probe_later(self.store, account, iso(at))

    def resume(self, account: str) -> dict[str, Any] | None:
        """Lift the pause; the lifted row, or None when the account was not paused."""
        return pause_rows.lift(self.store, account)

    def all(self) -> dict[str, dict[str, Any]]:
        return {r["account"]: r for r in pause_rows.all_pauses(self.store)}

    def report(self) -> dict[str, dict[str, Any]]:
        """For /healthz and the desk: reason, since, until, next probe per paused account."""
        return {
            name: {"reason": r["reason"], "errcode": r["errcode"], "since": r["paused_at"],
                   "until": r["until"], "next_probe_at": r["next_probe_at"],
                   "probes": r["probes"]}
            for name, r in self.all().items()
        }


def until_of(row: dict[str, Any]) -> datetime:
    return parse_iso(row["until"])


__all__ = ["PauseBook", "until_of"]
