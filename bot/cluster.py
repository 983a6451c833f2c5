"""Several identical daemons sharing the work: who polls which account, who runs the once-per-
cluster jobs (issue 15).

Enabled by a ``[cluster]`` section in the configuration. Each replica, every
``lease_seconds / 3`` (:meth:`Cluster.beat`):

1. renews its heartbeat lease ``replica:<id>`` (the live replicas are the holders of unexpired
   heartbeat leases);
2. renews the ``account:<name>`` leases it holds; one it cannot renew is lost, and the account
   is no longer polled here from that moment;
3. takes free or expired account leases up to its fair share, ``ceil(accounts / live
   replicas)``, or gives back the ones above it (so a replica that starts gets work);
4. takes (or renews) ``cluster:scheduler`` when it is free: its holder alone runs deadlines,
   reminders, discovery, spikes, the briefing, the purge and shadow scoring.

A replica that dies stops renewing: its leases expire within one lease period and the others
take them at their next beat. A lease is believed held here only until its expiry as written
at the last renewal, so a replica cut off from the database stops polling by itself.
Polling the same account twice for a moment is harmless (stored comments are keyed; the
pipeline claims each comment with a conditional update); the leases are about sharing the work
and the platform's quota, not about correctness. The SQL is in :mod:`bot.store.leases`.
"""

from __future__ import annotations

import math
import os
import random
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from loguru import logger

from bot.clock import Clock, utcnow
from bot.store import Store, leases

SCHEDULER = "cluster:scheduler"
ACCOUNT = "account:"
REPLICA = "replica:"


def default_replica_id() -> str:
    """``host:pid``: unique on one machine and across machines."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class ClusterConfig:
    """``[cluster]``: run as one of several replicas sharing one database."""

    replica_id: str = ""  # empty: host:pid
    lease_seconds: float = 15.0
    claim_seconds: float = 60.0  # one outbox row's send may take this long before a take-over

    @property
    def beat_seconds(self) -> float:
        return self.lease_seconds / 3

    def resolved_id(self) -> str:
        return self.replica_id or default_replica_id()


class Cluster:
    def __init__(self, store: Store, accounts: Sequence[str], *, replica_id: str,
                 lease_seconds: float = 15.0, clock: Clock = utcnow,
                 rng: random.Random | None = None) -> None:
        self.store = store
        self.accounts = list(dict.fromkeys(accounts))
        self.id = replica_id
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._rng = rng or random.Random()
        self._held: dict[str, datetime] = {}  # lease name -> expiry believed here
        self._since: dict[str, datetime] = {}  # lease name -> when this replica took it
        self._lock = threading.Lock()
        self.live_replicas = 1

    # -- what this replica may do ---------------------------------------------------------
    def holds(self, account: str) -> bool:
        return self._valid(ACCOUNT + account)

    def held_accounts(self) -> list[str]:
        return [a for a in self.accounts if self.holds(a)]

    def held_since(self, account: str) -> datetime | None:
        """When this replica took ``account``'s lease (None when it does not hold it)."""
        with self._lock:
            return self._since.get(ACCOUNT + account) if ACCOUNT + account in self._held \
                else None

    def is_scheduler(self) -> bool:
        return self._valid(SCHEDULER)

    def _valid(self, name: str) -> bool:
        with self._lock:
            until = self._held.get(name)
        return until is not None and self.clock() < until

    # -- the beat -------------------------------------------------------------------------
    def beat(self) -> None:
        """Renew, rebalance, take the scheduler when free (see the module docstring)."""
        now = self.clock()
        renewed = leases.renew_all(self.store, self.id, self.lease_seconds, now)
        until = now + timedelta(seconds=self.lease_seconds)
        with self._lock:
            before = set(self._held)
            self._held = {name: until for name in renewed}
        for name in sorted(before - renewed):
            if name.startswith(ACCOUNT) and not self._take(name, now):
                logger.warning("replica {}: lost the lease on account {}; no longer polling it",
                               self.id, name.removeprefix(ACCOUNT))
        if REPLICA + self.id not in self._held:
            self._take(REPLICA + self.id, now)
        replicas = set(leases.live(self.store, REPLICA, now).values()) | {self.id}
        self.live_replicas = len(replicas)
        share = math.ceil(len(self.accounts) / len(replicas)) if self.accounts else 0
        mine = self.held_accounts()
        if len(mine) > share:
            for account in mine[share:]:
                self._give_back(ACCOUNT + account)
            logger.info("replica {}: {} live replica(s); gave back {} account(s) to keep a fair "
                        "share of {}", self.id, len(replicas), len(mine) - share, share)
        elif len(mine) < share:
            taken = leases.live(self.store, ACCOUNT, now)
            free = [a for a in self.accounts if ACCOUNT + a not in taken]
            self._rng.shuffle(free)
            got: list[str] = []
            for account in free:
                if len(mine) + len(got) >= share:
                    break
                if self._take(ACCOUNT + account, now):
                    got.append(account)
            if got:
                logger.info("replica {}: now polling {} ({} live replica(s), share {})",
                            self.id, ", ".join(sorted(got)), len(replicas), share)
        if SCHEDULER not in self._held and self._take(SCHEDULER, now):
            logger.info("replica {}: runs the cluster's scheduled jobs", self.id)

    def release(self) -> None:
        """Give every lease back (a clean shutdown): the others take over at their next beat."""
        with self._lock:
            self._held.clear()
        leases.release_all(self.store, self.id)

    def _take(self, name: str, now: datetime) -> bool:
        ok = leases.acquire(self.store, name, self.id, self.lease_seconds, now)
        with self._lock:
            if ok:
                if name not in self._held:
                    self._since[name] = now
                self._held[name] = now + timedelta(seconds=self.lease_seconds)
            else:
                self._held.pop(name, None)
        return ok

    def _give_back(self, name: str) -> None:
        with self._lock:
            self._held.pop(name, None)
        leases.release(self.store, name, self.id)


__all__ = ["ACCOUNT", "SCHEDULER", "Cluster", "ClusterConfig", "default_replica_id"]
