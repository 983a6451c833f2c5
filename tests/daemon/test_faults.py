"""1,000 comments through the real daemon and the mock with 20% of API calls failing (-1) and
access tokens expiring every 30 s (of the daemon's clock): everything is processed, nothing twice."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from daemon_fakes import FakeClock

from bot.config import AccountConfig, Config, GroupConfig
from bot.daemon import Daemon
from bot.poller import PollSchedule
from connectors.mock import MockServer

ROOT = Path(__file__).resolve().parents[2]


def _texts(n: int) -> list[str]:
    rows = []
    for name in ("test.jsonl", "valid.jsonl", "train.jsonl"):
        with open(ROOT / "data" / name, encoding="utf-8") as fh:
            rows.extend(json.loads(line)["text"] for line in fh)
    return rows[:n]


@pytest.mark.slow
def test_thousand_comments_with_faults_and_token_expiry(tmp_path: Path, db_target: str) -> None:
    """On each engine: no comment lost, none answered twice."""
    from classifiers import load_model

    mock = MockServer(tmp_path / "mock.db", token_ttl=30).start()
    try:
        articles = [mock.state.add_article(f"通知 {i}") for i in range(20)]
        texts = _texts(1000)
        for i, text in enumerate(texts):
            mock.state.add_comment(*articles[i % 20], f"o_{i}", text)
        mock.faults.update({"error_rate": 0.2, "seed": 7, "webhook_per_minute": None})
        clock = FakeClock()
        config = Config(
            accounts=(AccountConfig(base_url=mock.url),),
            db=tmp_path / "d.db",
            db_url=db_target if db_target.startswith("postgresql") else "",
            rules=ROOT / "rules.yaml",
            polling=PollSchedule(fast_seconds=5, normal_seconds=5, slow_seconds=5),
            wecom_base_url=mock.url,
            groups={"duty": GroupConfig(key="duty")},
            http_enabled=False,
            log_file=None,
        )
        daemon = Daemon(config, clock=clock, model=load_model(), sleep=lambda s: None)
        while not daemon.store.articles():
            daemon.discover()  # discovery itself can hit an injected fault
        seconds = 0
        mock.state.expire_tokens()  # the token discovery fetched is gone before the first tick
        for _ in range(2000):
            daemon.tick()
            clock.advance(10)
            seconds += 10
            mock.state.expire_tokens()  # every tick: the senders drain a burst in a few
            busy = daemon.store.query(
                "select (select count(*) from comments where state = 'new') + (select count(*) "
                "from outbox where status in ('pending','inflight')) as n")[0]["n"]
            stored = daemon.store.query("select count(*) as n from comments")[0]["n"]
            if stored == 1000 and busy == 0:
                break
        q = daemon.store.query
        assert q("select count(*) as n from comments")[0]["n"] == 1000
        assert q("select count(*) as n from comments where state = 'processed'")[0]["n"] == 1000
        assert q("select count(*) as n from classifications")[0]["n"] == 1000
        replies = q("select comment_id, status from outbox where kind = 'reply'")
        per_comment = Counter(r["comment_id"] for r in replies)
        assert max(per_comment.values(), default=1) == 1
        assert {r["status"] for r in replies} <= {"sent"}
        on_platform = sum(
            1 for art in articles for c in mock.state.all_comments(*art) if c.get("reply")
        )
        assert on_platform == len(replies)
        assert daemon.clients["main"].token_refreshes >= 2  # tokens really expired underway
        daemon.shutdown()
    finally:
        mock.stop()
