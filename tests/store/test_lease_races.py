"""Two replicas (two stores on one database, two threads) racing for the same lease, the same
outbox row and the same comment at the same moment: exactly one wins each race, on both
engines."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.cases import enqueue
from bot.store import Store, claims, leases, processing

ROUNDS = 20


@pytest.fixture
def stores(db_target: str) -> Iterator[tuple[Store, Store]]:
    a, b = Store(db_target), Store(db_target)
    yield a, b
    a.close()
    b.close()


def race(fa: Callable[[], Any], fb: Callable[[], Any]) -> list[Any]:
    start = threading.Barrier(2)
    out: list[Any] = [None, None]

    def run(i: int, fn: Callable[[], Any]) -> None:
        start.wait()
        out[i] = fn()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate((fa, fb))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_one_winner_per_lease(stores: tuple[Store, Store]) -> None:
    a, b = stores
    for i in range(ROUNDS):
        name = f"account:race{i}"
        won = race(lambda n=name: leases.acquire(a, n, "a", 15),
                   lambda n=name: leases.acquire(b, n, "b", 15))
        assert sorted(won) == [False, True]
        assert leases.live(a, name) == {name: "a" if won[0] else "b"}


def test_one_claimant_per_outbox_row(stores: tuple[Store, Store]) -> None:
    a, b = stores
    with a.transaction() as db:
        for i in range(ROUNDS):
            enqueue(db, key=f"k{i}", comment_id=f"c{i}", case_id=None, account="main",
                    kind="reply", rule="r", params={"text": "电话发我"}, at=a.now())
    ids = [int(r["id"]) for r in a.query("select id from outbox order by id")]
    for row_id in ids:
        got = race(lambda r=row_id: claims.claim(a, r, "a", 60),
                   lambda r=row_id: claims.claim(b, r, "b", 60))
        assert sum(g is not None for g in got) == 1


def test_one_replica_processes_a_comment(stores: tuple[Store, Store]) -> None:
    a, b = stores
    with a.transaction() as db:
        for i in range(ROUNDS):
            db.execute("insert into comments (id, account, state) values (?, 'main', 'new')",
                       [f"main:1:0:{i}"])

    def claim(store: Store, cid: str) -> bool:
        with store.transaction() as db:
            return processing.claim_new_comment(db, cid)

    for i in range(ROUNDS):
        cid = f"main:1:0:{i}"
        got = race(lambda c=cid: claim(a, c), lambda c=cid: claim(b, c))
        assert sorted(got) == [False, True]
