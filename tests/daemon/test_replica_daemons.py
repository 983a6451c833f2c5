"""Two replicas ([cluster]) on one database, over the real mock: each account is polled by one
replica, a dead replica's accounts and outbox rows are taken over, a reply is posted once.
On SQLite and on PostgreSQL (db_target)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from daemon_fakes import FakeClock

from bot.cluster import ClusterConfig
from bot.config import AccountConfig, ArticleConfig, Config, GroupConfig
from bot.daemon import Daemon
from bot.poller import PollSchedule
from bot.store import claims, leases
from connectors.mock import MockServer

ROOT = Path(__file__).resolve().parents[2]
STORY = "我老婆怀孕了，南山区医院让马上住院，但要核酸结果，已经超过12小时了还没出，能不能优先安排，因为真的挺急"
REPLY_PATH = "/cgi-bin/comment/reply/add"


class Cluster2:
    def __init__(self, tmp: Path, mock: MockServer, model: Any, target: str) -> None:
        # today's date: `dianhua accounts list` below reads the leases on the real clock
        self.mock, self.clock = mock, FakeClock(datetime.now(UTC))
        rules = tmp / "rules.yaml"
        shutil.copy(ROOT / "rules.yaml", rules)
        self.articles = {f"acc{i}": mock.state.add_article(f"通知 {i}") for i in range(4)}
        accounts = tuple(
            AccountConfig(name=name, base_url=mock.url, discover=False,
                          articles=(ArticleConfig(str(art[0]), art[1]),))
            for name, art in self.articles.items()
        )
        groups = {g: GroupConfig(key=f"k-{g}") for g in ("duty", "nanshan")}
        base = Config(accounts=accounts, db=tmp / "dianhua.db", rules=rules,
                      polling=PollSchedule(fast_seconds=1, normal_seconds=1, slow_seconds=1),
                      wecom_base_url=mock.url, groups=groups, http_enabled=False, log_file=None,
                      db_url=target if target.startswith("postgresql") else "")
        self.daemons = {
            rid: Daemon(replace(base, cluster=ClusterConfig(replica_id=rid, lease_seconds=15,
                                                            claim_seconds=30)),
                        clock=self.clock, model=model, sleep=lambda s: None)
            for rid in ("a", "b")
        }
        self.store = self.daemons["a"].store
        self.target = target if target.startswith("postgresql") else str(tmp / "dianhua.db")

    def run(self, rounds: int = 3, only: tuple[str, ...] = ("a", "b")) -> None:
        for _ in range(rounds):
            for rid in only:
                self.daemons[rid].tick()
            self.clock.advance(5)  # a beat every lease/3

    def holders(self) -> dict[str, str]:
        return leases.live(self.store, "account:", self.clock())

    def replies(self) -> dict[str, int]:
        out = {}
        for name, art in self.articles.items():
            out[name] = sum(1 for c in self.mock.state.all_comments(*art) if c.get("reply"))
        return out


@pytest.fixture
def two(tmp_path: Path, mock: MockServer, model: Any, db_target: str) -> Iterator[Cluster2]:
    c = Cluster2(tmp_path, mock, model, db_target)
    yield c
    for d in c.daemons.values():
        d.shutdown()


def test_accounts_are_shared_and_each_comment_answered_once(two: Cluster2) -> None:
    two.run(2)
    holders = two.holders()
    assert sorted(holders) == [f"account:acc{i}" for i in range(4)]
    assert sorted(holders.values()) == ["a", "a", "b", "b"]  # a fair share each
    assert [d.runs_cluster_jobs() for d in two.daemons.values()].count(True) == 1
    for d in two.daemons.values():  # a was alone at first (and polled everything)
        d._last_poll.clear()
    for i, art in enumerate(two.articles.values()):
        two.mock.state.add_comment(*art, f"o_{i}", STORY)
    two.run(3)
    assert two.replies() == {f"acc{i}": 1 for i in range(4)}
    assert two.store.query("select count(*) as n from cases")[0]["n"] == 4
    # each replica polled only its own accounts
    for rid, daemon in two.daemons.items():
        mine = {a.removeprefix("account:") for a, h in holders.items() if h == rid}
        assert set(daemon._last_poll) <= mine
    assert two.mock.stats.snapshot()["errcodes"].get(REPLY_PATH, {}) == {}
    # each replica's /healthz answers for the poll lag of its own accounts only
    for rid, daemon in two.daemons.items():
        mine = {a.removeprefix("account:") for a, h in two.holders().items() if h == rid}
        assert set(daemon.health()["poll_lag_seconds"]) == mine
    # `dianhua accounts list` says which replica polls each account
    from click.testing import CliRunner

    from bot.cli import main

    listed = CliRunner().invoke(main, ["accounts", "list", "--db", two.target])
    assert listed.exit_code == 0, listed.output
    for account, rid in holders.items():
        assert f"{account.removeprefix('account:'):<16} watched (replica {rid})" in listed.output
    # one token per account for every replica: stable_token, never cgi-bin/token (whose every
    # call would retire the other replicas' tokens)
    calls = two.mock.stats.snapshot()["calls"]
    assert calls.get("/cgi-bin/stable_token", 0) > 0 and "/cgi-bin/token" not in calls


def test_a_dead_replicas_accounts_and_outbox_rows_are_taken_over(two: Cluster2) -> None:
    two.run(2)
    a_accounts = [h.removeprefix("account:") for h, r in two.holders().items() if r == "a"]
    # replica a dies in the middle of a send: its reply reached the platform, the row is
    # still inflight and claimed by a
    name = a_accounts[0]
    cid = two.mock.state.add_comment(*two.articles[name], "o_mid", STORY)
    two.daemons["a"].poll()
    row = two.store.query("select id from outbox where kind = 'reply'")[0]
    assert claims.claim(two.store, int(row["id"]), "a", 30, two.clock()) is not None
    two.store.outbox_update(int(row["id"]), status="inflight", attempts=1)
    two.mock.state.add_reply(*two.articles[name], cid, "电话发我")
    # and a comment arrives on a's other account after the death
    other = two.mock.state.add_comment(*two.articles[a_accounts[1]], "o_after", STORY)
    two.run(2, only=("b",))  # 10 s: a's leases (15 s) and its claim (30 s) still stand
    assert all(r == "b" for h, r in two.holders().items() if h.removeprefix("account:")
               not in a_accounts)
    assert two.replies()[a_accounts[1]] == 0, "a's account is not polled by b yet"
    two.run(6, only=("b",))  # 40 s on: everything expired and taken over
    assert set(two.holders().values()) == {"b"} and len(two.holders()) == 4
    assert two.daemons["b"].runs_cluster_jobs()
    assert two.replies() == {n: (1 if n in a_accounts[:2] else 0) for n in two.articles}
    replies = two.store.query("select status, last_error from outbox where kind = 'reply'")
    assert [r["status"] for r in replies] == ["sent", "sent"]
    assert "found on the platform" in replies[0]["last_error"], "not posted a second time"
    assert two.mock.stats.snapshot()["errcodes"].get(REPLY_PATH, {}) == {}
    assert other  # answered above: a_accounts[1] has its one reply
