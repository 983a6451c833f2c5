"""Editors who sign in to the desk: the ``users`` table, the configuration as a fallback.

Sign-in (:meth:`UserBook.authenticate`) counts every attempt before checking it
(:mod:`bot.web.throttle`: back-off per name *and* client address, no lock an outsider can
trigger), answers an unknown name exactly like a wrong password, after the same scrypt work,
and re-hashes a password made with older scrypt parameters. Passwords follow
:func:`check_password`. Roles: ``editor`` (works the cases of their departments, sees the
number of the cases assigned to them), ``caller`` (may also see the full number of every case
they can see), ``admin`` (every case, every number). Time comes from an injected clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loguru import logger

from bot.clock import Clock, iso, utcnow
from bot.errors import DianhuaError
from bot.store import Store
from bot.store import sessions as session_store
from bot.store import users as user_store
from bot.web.passwords import (
    MAX_PASSWORD_BYTES,
    burn_time,
    hash_password,
    needs_rehash,
    verify_password,
)
from bot.web.throttle import WARN_USER_FAILURES, Throttle

MIN_PASSWORD = 12
ROLES = ("editor", "caller", "admin")
_NAME_RE = re.compile(r"^[^\s\x00-\x1f\x7f<>&\"'/\\,]{1,32}$")


class UserError(DianhuaError):
    """A user name or password that cannot be used."""


@dataclass(frozen=True)
class SignIn:
    """The result of one sign-in attempt: ``ok``, ``bad`` (unknown name or wrong password) or
    ``wait`` (too many wrong passwords from this address; ``retry_at`` says until when)."""

    outcome: str
    name: str = ""
    retry_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def check_name(name: str) -> str:
    name = name.strip()
    if not _NAME_RE.match(name):
        raise UserError(
            "a user name is 1 to 32 characters without spaces, quotes, slashes, commas or < > &"
        )
    return name


def check_password(name: str, password: str) -> None:
    """At least :data:`MIN_PASSWORD` characters, not only spaces, not the user name."""
    if not password.strip():
        raise UserError("the password may not be blank or only spaces")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise UserError(f"the password may have at most {MAX_PASSWORD_BYTES} bytes")
    folded = password.casefold()
    if name.casefold() in folded or len(set(folded)) < 4:
        raise UserError("the password may not contain the user name or repeat a few characters")


def _names(value: str | list[str] | tuple[str, ...] | None) -> str:
    if value is None:
        return ""
    items = value.split(",") if isinstance(value, str) else list(value)
    return ",".join(sorted({i.strip() for i in items if i.strip()}))


@dataclass(frozen=True)
class Account:
    """Who is signed in and what they may see."""

    name: str
    role: str = "editor"
    departments: tuple[str, ...] = ()  # empty: every department
    accounts: tuple[str, ...] = ()  # empty: every official account

    @property
    def may_call(self) -> bool:
        return self.role in ("caller", "admin")

    def sees(self, case: dict[str, Any]) -> bool:
        """May this person open ``case`` at all?"""
        if self.role == "admin":
            return True
        if self.accounts and str(case.get("account") or "") not in self.accounts:
            return False
        return not (self.departments and str(case.get("route") or "") not in self.departments and str(case.get("assignee") or "") != self.name)

    def sees_number(self, case: dict[str, Any]) -> bool:
        """May this person see the case's full phone and ID number?"""
        return self.sees(case) and (self.may_call or str(case.get("assignee") or "") == self.name)


class UserBook:
    """Who may sign in, with which role, for which departments."""

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
        self.throttle = Throttle(store, clock)

    # -- management (the `dianhua users` command) -------------------------------------------
    def add(self, name: str, password: str, *, role: str | None = None,
            departments: str | list[str] | None = None,
            accounts: str | list[str] | None = None) -> None:
        """Create ``name`` or set a new password (which also ends their sessions and back-off)."""
        name = check_name(name)
        check_password(name, password)
        if role is not None and role not in ROLES:
            raise UserError(f"the role must be one of {', '.join(ROLES)}, got {role!r}")
        encoded = hash_password(password)
        with self.store.transaction() as db:
            exists = user_store.exists_in(db, name)
            if exists:
                user_store.set_password(db, name, encoded)
                session_store.remove_user(db, name)
            else:
                user_store.add(
                    db,
                    {"name": name, "password_hash": encoded, "created_at": iso(self.clock()),
                     "failed_logins": 0, "locked_until": None, "role": role or "editor",
                     "departments": _names(departments), "accounts": _names(accounts)}
                )
        if exists and (role is not None or departments is not None or accounts is not None):
            self.set_access(name, role=role, departments=departments, accounts=accounts)
        self.throttle.forget(name)

    def set_access(self, name: str, *, role: str | None = None,
                   departments: str | list[str] | None = None,
                   accounts: str | list[str] | None = None) -> bool:
        """Change a user's role, departments or accounts (their sessions end)."""
        if role is not None and role not in ROLES:
            raise UserError(f"the role must be one of {', '.join(ROLES)}, got {role!r}")
        sets: dict[str, str] = {}
        if role is not None:
            sets["role"] = role
        if departments is not None:
            sets["departments"] = _names(departments)
        if accounts is not None:
            sets["accounts"] = _names(accounts)
        with self.store.transaction() as db:
            if sets and not user_store.set_access(db, name, sets):
                return False
            session_store.remove_user(db, name)
        return True

    def remove(self, name: str) -> bool:
        with self.store.transaction() as db:
            session_store.remove_user(db, name)
            return user_store.remove(db, name)

    def unlock(self, name: str) -> bool:
        """Clear the sign-in back-off for ``name`` from every address."""
        self.throttle.forget(name)
        return self.exists(name)

    def list(self) -> list[dict[str, Any]]:
        rows = user_store.listing(self.store)
        out = [{**r, "source": "database"} for r in rows]
        known = {r["name"] for r in rows}
        for name in sorted(self.config_users):
            if name not in known:
                out.append({"name": name, "created_at": "", "failed_logins": 0, "role": "admin",
                            "departments": "", "accounts": "", "source": "config"})
        for row in out:
            until = self.throttle.waiting(row["name"])
            row["locked_until"] = iso(until) if until else None
        return out

    def exists(self, name: str) -> bool:
        if name in self.config_users:
            return True
        return user_store.exists(self.store, name)

    def account(self, name: str) -> Account | None:
        """The signed-in person's role and scope (configuration users are admins)."""
        r = user_store.access(self.store, name)
        if r is not None:
            return Account(name, r["role"] or "editor",
                           tuple(d for d in (r["departments"] or "").split(",") if d),
                           tuple(a for a in (r["accounts"] or "").split(",") if a))
        if name in self.config_users:
            return Account(name, "admin")
        return None

    # -- sign-in ------------------------------------------------------------------------
    def authenticate(self, name: str, password: str, address: str = "") -> SignIn:
        """Check a password from ``address``, with back-off; never says whether ``name`` exists."""
        name = name[:64]
        retry_at = self.throttle.reserve(name, address)
        if retry_at is not None:
            return SignIn("wait", name, retry_at)
        stored = user_store.password_hash(self.store, name)
        if stored is not None:
            encoded = stored
        elif name in self.config_users:
            encoded = self.config_users[name]
        else:
            burn_time(password)
            return SignIn("bad")
        if not verify_password(password, encoded):
            self._warn_if_many(name)
            return SignIn("bad")
        self.throttle.succeeded(name, address)
        if stored is not None and needs_rehash(encoded):
            user_store.rehash(self.store, name, encoded, hash_password(password))
            logger.info("desk user {}: password re-hashed with today's scrypt parameters", name)
        return SignIn("ok", name)

    def _warn_if_many(self, name: str) -> None:
        failed = user_store.failed_logins(self.store, name)
        if failed and failed % WARN_USER_FAILURES == 0:
            logger.warning("desk user {}: {} wrong passwords since the last sign-in (from any "
                           "address): someone may be guessing", name, failed)


__all__ = ["MIN_PASSWORD", "ROLES", "Account", "SignIn", "UserBook", "UserError", "check_name",
           "check_password"]
