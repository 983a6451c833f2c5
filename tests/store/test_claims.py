"""Outbox row claims (bot/store/claims.py): one replica per row, an expired claim re-claimed,
the row read again after the claim."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_clock import Clock

from bot.cases import enqueue
from bot.store import Store, claims


@pytest.fixture
def store(store: Store) -> Store:
    """conftest.py's store with three replies waiting."""
    with store.transaction() as db:
        for i in range(3):
            enqueue(db, key=f"k{i}", comment_id=f"c{i}", case_id=None, account="main",
                    kind="reply", rule="r", params={"text": "电话发我"}, at=store.now())
    return store


def _ids(rows: list[dict]) -> list[int]:
    return [int(r["id"]) for r in rows]


def test_one_replica_per_row(store: Store) -> None:
    row = claims.claim(store, 1, "r1", 60)
    assert row is not None and row["claimed_by"] == "r1"
    assert claims.claim(store, 1, "r2", 60) is None
    assert _ids(claims.due_unclaimed(store, store.clock(), "r2")) == [2, 3]
    assert _ids(claims.due_unclaimed(store, store.clock(), "r1")) == [1, 2, 3]


def test_an_expired_claim_is_taken_over_and_the_row_read_as_it_is(store: Store,
                                                                   clock: Clock) -> None:
    assert claims.claim(store, 1, "r1", 60) is not None
    store.outbox_update(1, status="inflight", attempts=1)  # r1 dies mid-send
    clock.advance(59)
    assert claims.claim(store, 1, "r2", 60) is None
    clock.advance(2)
    row = claims.claim(store, 1, "r2", 60)
    assert row is not None and row["status"] == "inflight" and row["claimed_by"] == "r2"


def test_unclaim_only_by_the_holder_and_finished_rows_are_not_claimed(store: Store) -> None:
    assert claims.claim(store, 1, "r1", 60) is not None
    claims.unclaim(store, 1, "r2")
    assert claims.claimed(store)[0]["claimed_by"] == "r1"
    claims.unclaim(store, 1, "r1")
    assert claims.claimed(store) == []
    store.outbox_update(2, status="sent")
    assert claims.claim(store, 2, "r1", 60) is None


def test_a_row_put_back_for_later_is_not_claimed_early(store: Store, clock: Clock) -> None:
    later = (clock() + timedelta(seconds=30)).isoformat(timespec="milliseconds")
    store.outbox_update(3, next_attempt_at=later)
    assert claims.claim(store, 3, "r1", 60) is None
    assert _ids(claims.due_unclaimed(store, clock(), "r1")) == [1, 2]
