"""Sign-in back-off: per user name *and* client address, counted atomically in the database.

Every attempt is counted *before* its password is checked, in one ``BEGIN IMMEDIATE``
transaction (so parallel attempts, even from two processes, cannot lose a count), and a
success clears the count afterwards. Two counters:

* ``pair``: one name from one address. After :data:`FREE_PAIR` wrong passwords each further
  attempt must wait 1 s, 2 s, 4 s … up to :data:`CAP_SECONDS`.
* ``addr``: one address, whatever the names (password spraying). After :data:`FREE_ADDRESS`.

Nothing here locks an account: an outsider who guesses from their own address only slows
themselves down; the editor, signing in from theirs, is not affected. Guessing from many
addresses is slowed by scrypt (at most :data:`bot.web.passwords.PARALLEL` checks at a time)
and logged loudly at every :data:`WARN_USER_FAILURES` wrong passwords for one name.
Unknown names are counted exactly like known ones, so the answers cannot tell them apart.
Counts older than :data:`FORGET_AFTER` are forgotten.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock, iso, parse_iso
from bot.store import Store
from bot.store import throttle as counters
from bot.store import users as user_store

FREE_PAIR = 3
FREE_ADDRESS = 10
CAP_SECONDS = 15 * 60
WARN_USER_FAILURES = 20
FORGET_AFTER = timedelta(hours=1)
_MAX_KEY = 200


def backoff_seconds(failures: int, free: int) -> float:
    """How long to wait after ``failures`` wrong passwords when ``free`` are allowed."""
    if failures < free:
        return 0.0
    return float(min(CAP_SECONDS, 2 ** min(failures - free, 20)))


def _pair(name: str, address: str) -> str:
    return f"pair\t{name}\t{address}"[:_MAX_KEY]


def _addr(address: str) -> str:
    return f"addr\t{address}"[:_MAX_KEY]


class Throttle:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def reserve(self, name: str, address: str) -> datetime | None:
        """Count one attempt. Returns None when it may go ahead, or the time to wait until."""
        now = self.clock()
        keys = ((_pair(name, address), FREE_PAIR), (_addr(address), FREE_ADDRESS))
        with self.store.transaction() as db:
            rows = {}
            for key, _free in keys:
                row = counters.get(db, key)
                failures, blocked, updated = (
                    (int(row["failures"] or 0), row["blocked_until"], row["updated_at"]) if row
                    else (0, None, None))
                if updated and now - parse_iso(updated) > FORGET_AFTER:
                    failures, blocked = 0, None
                if blocked and parse_iso(blocked) > now:
                    return parse_iso(blocked)
                rows[key] = failures
            for key, free in keys:
                failures = rows[key] + 1
                wait = backoff_seconds(failures, free)
                counters.save(db, key, failures,
                              iso(now + timedelta(seconds=wait)) if wait else None, iso(now))
            user_store.count_failure(db, name)
        return None

    def succeeded(self, name: str, address: str) -> None:
        """The password was right: this name's count from this address starts again."""
        with self.store.transaction() as db:
            counters.remove(db, _pair(name, address))
            # the address counted this attempt as a failure in advance; take it back
            counters.take_back_one(db, _addr(address))
            user_store.clear_failures(db, name)

    def forget(self, name: str) -> int:
        """Clear every count for ``name`` (``dianhua users unlock``)."""
        prefix = _pair(name, "")
        with self.store.transaction() as db:
            removed = counters.remove_prefix(db, prefix)
            user_store.clear_failures(db, name)
            return removed

    def waiting(self, name: str) -> datetime | None:
        """The latest time any address must wait until for ``name`` (for ``users list``)."""
        prefix = _pair(name, "")
        until = counters.latest_block(self.store, prefix)
        return parse_iso(until) if until and parse_iso(until) > self.clock() else None


__all__ = ["CAP_SECONDS", "FREE_ADDRESS", "FREE_PAIR", "Throttle", "backoff_seconds"]
