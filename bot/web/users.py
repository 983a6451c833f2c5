"""Editors who sign in to the desk: the ``users`` table, the configuration as a fallback, lock-out.

After :data:`MAX_FAILURES` wrong passwords in a row a user is locked for :data:`LOCK_MINUTES`
(``users.failed_logins`` / ``users.locked_until``; in memory for users that exist only in the
configuration). Time comes from an injected clock.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from loguru import logger

from bot.clock import Clock, iso, parse_iso, utcnow
from bot.errors import DianhuaError
from bot.store import Store
from bot.web.passwords import burn_time, hash_password, verify_password

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 8
_NAME_RE = re.compile(r"^[^\s\x00-\x1f\x7f<>&\"'/\\]{1,32}$")


class UserError(DianhuaError):
    """A user name or password that cannot be used."""


@dataclass(frozen=True)
class SignIn:
    """The result of one sign-in attempt: ``ok``, ``bad`` (unknown name or wrong password) or
    ``locked`` (too many failures; ``locked_until`` says until when)."""

    outcome: str
    name: str = ""
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME_RE.match(name):
        raise UserError(
            "a user name is 1 to 32 characters without spaces, quotes, slashes or < > &"
        )
    return name


class UserBook:
    """Who may sign in, and whether they are locked out."""

    def __init__(
        self,
        store: Store,
        config_users: dict[str, str] | None = None,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.store = store
        self.config_users = dict(config_users or {})
        self.clock = clock
        self._memory: dict[str, tuple[int, datetime | None]] = {}
        self._lock = threading.Lock()

    # -- management (the `dianhua users` command) -------------------------------------------
    def add(self, name: str, password: str) -> None:
        """Create ``name`` or set a new password (which also clears a lock-out)."""
        name = check_name(name)
        if len(password) < MIN_PASSWORD:
            raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
        encoded = hash_password(password)
        with self.store.transaction() as db:
            exists = db.execute("select 1 from users where name = ?", [name]).fetchone()
            if exists:
                db.execute(
                    "update users set password_hash = ?, failed_logins = 0, locked_until = null "
                    "where name = ?",
                    [encoded, name],
                )
            else:
                db.table("users").insert(
                    {"name": name, "password_hash": encoded, "created_at": iso(self.clock()),
                     "failed_logins": 0, "locked_until": None}
                )

    def remove(self, name: str) -> bool:
        with self.store.transaction() as db:
            cur = db.execute("delete from users where name = ?", [name])
            return bool(cur.rowcount)

    def unlock(self, name: str) -> bool:
        with self._lock:
            self._memory.pop(name, None)
        with self.store.transaction() as db:
            cur = db.execute(
                "update users set failed_logins = 0, locked_until = null where name = ?", [name]
            )
            return bool(cur.rowcount) or name in self.config_users

    def list(self) -> list[dict[str, Any]]:
        rows = self.store.query(
            "select name, created_at, failed_logins, locked_until from users order by name"
        )
        out = [{**r, "source": "database"} for r in rows]
        known = {r["name"] for r in rows}
        for name in sorted(self.config_users):
            if name not in known:
                failed, until = self._memory.get(name, (0, None))
                out.append({"name": name, "created_at": "", "failed_logins": failed,
                            "locked_until": iso(until) if until else None, "source": "config"})
        return out

    def exists(self, name: str) -> bool:
        if name in self.config_users:
            return True
        return bool(self.store.query("select 1 from users where name = ?", [name]))

    # -- sign-in ------------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> SignIn:
        """Check a password, counting failures and locking the user out after too many."""
        now = self.clock()
        rows = self.store.query(
            "select password_hash, failed_logins, locked_until from users where name = ?", [name]
        )
        if rows:
            row = rows[0]
            encoded = row["password_hash"] or ""
            failed = int(row["failed_logins"] or 0)
            until = parse_iso(row["locked_until"]) if row["locked_until"] else None
            in_db = True
        elif name in self.config_users:
            encoded = self.config_users[name]
            failed, until = self._memory.get(name, (0, None))
            in_db = False
        else:
            burn_time(password)
            return SignIn("bad")
        if until is not None and now < until:
            burn_time(password)
            return SignIn("locked", name, until)
        if until is not None:  # the lock ran out: a fresh start
            failed, until = 0, None
        if verify_password(password, encoded):
            self._save(name, in_db, 0, None)
            return SignIn("ok", name)
        failed += 1
        if failed >= MAX_FAILURES:
            until = now + timedelta(minutes=LOCK_MINUTES)
            logger.warning("desk user {} locked for {} minutes after {} failed sign-ins",
                           name, LOCK_MINUTES, failed)
            self._save(name, in_db, failed, until)
            return SignIn("locked", name, until)
        self._save(name, in_db, failed, None)
        return SignIn("bad")

    def _save(self, name: str, in_db: bool, failed: int, until: datetime | None) -> None:
        if not in_db:
            with self._lock:
                self._memory[name] = (failed, until)
            return
        with self.store.transaction() as db:
            db.execute(
                "update users set failed_logins = ?, locked_until = ? where name = ?",
                [failed, iso(until) if until else None, name],
            )


__all__ = ["LOCK_MINUTES", "MAX_FAILURES", "SignIn", "UserBook", "UserError", "check_name"]
