"""Leases in the database (bot/store/leases.py) and the replica beat (bot/cluster.py), on an
injected clock: two holders, expiry, renewal, release, a dead holder's lease taken over."""

from __future__ import annotations

from store_clock import Clock

from bot.cluster import SCHEDULER, Cluster
from bot.store import Store, leases


def test_one_holder_at_a_time(store: Store) -> None:
    assert leases.acquire(store, "account:a", "r1", 15)
    assert not leases.acquire(store, "account:a", "r2", 15)
    assert leases.live(store, "account:") == {"account:a": "r1"}


def test_the_holder_renews_and_keeps_its_acquired_time(store: Store, clock: Clock) -> None:
    assert leases.acquire(store, "account:a", "r1", 15)
    first = leases.all_leases(store)[0]
    clock.advance(10)
    assert leases.acquire(store, "account:a", "r1", 15)  # a renewal
    clock.advance(10)  # 20 s after the first take, 10 s after the renewal
    assert not leases.acquire(store, "account:a", "r2", 15)
    row = leases.all_leases(store)[0]
    assert row["holder"] == "r1"
    assert row["acquired_at"] == first["acquired_at"]
    assert row["renewed_at"] > first["renewed_at"]


def test_a_dead_holders_lease_is_taken_over_after_one_period(store: Store, clock: Clock) -> None:
    assert leases.acquire(store, "account:a", "r1", 15)
    clock.advance(14)
    assert not leases.acquire(store, "account:a", "r2", 15)
    clock.advance(2)  # r1 never renewed: expired
    assert leases.live(store, "account:") == {}
    assert leases.acquire(store, "account:a", "r2", 15)
    assert leases.live(store, "account:") == {"account:a": "r2"}
    # the old holder cannot renew what it lost
    assert not leases.acquire(store, "account:a", "r1", 15)


def test_release_frees_at_once_and_only_for_the_holder(store: Store) -> None:
    assert leases.acquire(store, "account:a", "r1", 15)
    assert leases.acquire(store, "account:b", "r1", 15)
    assert not leases.release(store, "account:a", "r2")
    assert leases.release(store, "account:a", "r1")
    assert leases.acquire(store, "account:a", "r2", 15)
    assert leases.release_all(store, "r1") == 1  # account:b
    assert leases.live(store, "account:") == {"account:a": "r2"}


def test_live_filters_by_prefix(store: Store) -> None:
    leases.acquire(store, "replica:r1", "r1", 15)
    leases.acquire(store, "account:a", "r1", 15)
    assert leases.live(store, "replica:") == {"replica:r1": "r1"}


# -- the beat -------------------------------------------------------------------------------
ACCOUNTS = [f"acc{i}" for i in range(5)]


def _cluster(store: Store, clock: Clock, rid: str) -> Cluster:
    return Cluster(store, ACCOUNTS, replica_id=rid, lease_seconds=15, clock=clock)


def test_replicas_share_the_accounts_fairly_and_one_runs_the_scheduler(
        store: Store, clock: Clock) -> None:
    a, b = _cluster(store, clock, "a"), _cluster(store, clock, "b")
    a.beat()
    assert len(a.held_accounts()) == 5  # alone: everything
    assert a.is_scheduler()
    b.beat()  # two live replicas now: b takes what is free (nothing yet)
    a.beat()  # a sees two replicas and gives back above its share of 3
    b.beat()
    assert len(a.held_accounts()) == 3 and len(b.held_accounts()) == 2
    assert set(a.held_accounts()).isdisjoint(b.held_accounts())
    assert a.is_scheduler() and not b.is_scheduler()
    for _ in range(3):  # stable
        clock.advance(5)
        a.beat()
        b.beat()
    assert len(a.held_accounts()) + len(b.held_accounts()) == 5
    assert a.is_scheduler() and not b.is_scheduler()


def test_a_dead_replica_is_replaced_within_one_lease_period(store: Store, clock: Clock) -> None:
    a, b = _cluster(store, clock, "a"), _cluster(store, clock, "b")
    a.beat()
    b.beat()
    a.beat()
    b.beat()
    assert a.is_scheduler()
    # a dies (stops beating); b keeps beating every lease/3
    for _ in range(3):
        clock.advance(5)
        b.beat()
        assert len(b.held_accounts()) == 2  # a's leases are not expired yet
    clock.advance(5)  # 20 s after a's last renewal: expired
    b.beat()
    assert sorted(b.held_accounts()) == ACCOUNTS
    assert b.is_scheduler()
    assert not a.holds(ACCOUNTS[0]) and not a.is_scheduler()  # a's own view ran out too
    assert set(leases.live(store, "account:").values()) == {"b"}


def test_a_replica_that_cannot_renew_stops_polling(store: Store, clock: Clock) -> None:
    a = _cluster(store, clock, "a")
    a.beat()
    assert a.holds("acc0")
    clock.advance(16)  # no beat for a whole period (the database did not answer)
    assert not a.holds("acc0") and a.held_accounts() == []


def test_lost_lease_is_dropped_at_the_next_beat(store: Store, clock: Clock) -> None:
    a = _cluster(store, clock, "a")
    a.beat()
    clock.advance(16)
    assert leases.acquire(store, "account:acc0", "intruder", 15)
    a.beat()
    assert not a.holds("acc0")
    assert leases.live(store, "account:")["account:acc0"] == "intruder"


def test_clean_release_hands_over_at_the_next_beat(store: Store, clock: Clock) -> None:
    a, b = _cluster(store, clock, "a"), _cluster(store, clock, "b")
    a.beat()
    b.beat()
    a.release()
    clock.advance(1)
    b.beat()
    # a's heartbeat is gone too: b is alone, takes everything and the scheduler
    assert sorted(b.held_accounts()) == ACCOUNTS
    assert b.is_scheduler()
    assert leases.live(store, SCHEDULER) == {SCHEDULER: "b"}


def test_renew_all_renews_what_is_still_mine_in_one_go(store: Store, clock: Clock) -> None:
    for name in ("account:a", "account:b", "replica:r1"):
        assert leases.acquire(store, name, "r1", 15)
    assert leases.acquire(store, "account:c", "r2", 15)
    clock.advance(10)
    assert leases.renew_all(store, "r1", 15) == {"account:a", "account:b", "replica:r1"}
    clock.advance(10)  # 20 s after r2's take: r2's lease expired; r1's renewed ones did not
    assert leases.live(store, "account:") == {"account:a": "r1", "account:b": "r1"}
    clock.advance(10)  # r1 did not renew for 20 s: expired, and renew_all no longer renews
    assert leases.renew_all(store, "r1", 15) == set()
    assert leases.acquire(store, "account:a", "r1", 15)  # still free: taken back
