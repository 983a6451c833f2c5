"""Classification in worker processes (``[pipeline] workers``) and one transaction per batch.

The workers are real forked processes (bot/classify_pool.py); the platform, the rules and the
predictor are the in-memory fakes of daemon_fakes.py, the store is real SQLite.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from daemon_fakes import FakeClock, FakeRules, KeywordPredictor, PipelineWorld

from bot.classify_pool import ClassifyPool, auto_workers
from bot.config import load_config
from bot.errors import ConfigError, StoreBusy
from bot.store import Store, article_of, processing
from classifiers.prediction import Prediction

TEXTS = ["太急了，孕妇等核酸结果住院", "帮帮忙问一下", "谢谢通报", "急！老人透析做不了",
         "今天天气不错", "帮我看看", "急急急", "收到"] * 5


class Versioned(KeywordPredictor):
    """The keyword predictor under a version name (a stand-in for a promoted model)."""

    def __init__(self, version: str) -> None:
        self.version = version

    def predict_many(self, texts: Sequence[str], batch_size: int = 256) -> list[Prediction]:
        from dataclasses import replace

        return [replace(p, model_version=self.version) for p in super().predict_many(texts)]


class DiesInWorker(KeywordPredictor):
    """SIGKILLs the worker process it runs in on a text with 自毁: once (``once`` names a flag
    file), or every time. On the writer's own process it classifies normally."""

    def __init__(self, parent: int, once: Path | None) -> None:
        self.parent, self.once = parent, once

    def predict_many(self, texts: Sequence[str], batch_size: int = 256) -> list[Prediction]:
        in_worker = os.getpid() != self.parent and any("自毁" in t for t in texts)
        if in_worker and (self.once is None or not self.once.exists()):
            if self.once is not None:
                self.once.write_text("died once")
            os.kill(os.getpid(), signal.SIGKILL)
        return super().predict_many(texts)


class Holder:
    def __init__(self, model: Any) -> None:
        self.current = model

    def predict_many(self, texts: Sequence[str], batch_size: int = 256) -> list[Prediction]:
        return list(self.current.predict_many(texts))


@pytest.fixture
def pools() -> Iterator[list[ClassifyPool]]:
    made: list[ClassifyPool] = []
    yield made
    for pool in made:
        pool.close()


def _world(tmp_path: Path, name: str, model: Any, pool: ClassifyPool | None) -> PipelineWorld:
    clock = FakeClock()
    world = PipelineWorld(Store(tmp_path / f"{name}.db", clock=clock), clock)
    world.pipeline.model = model
    world.pipeline.workers = pool
    for i, text in enumerate(TEXTS):
        world.wechat.add("100", 0, f"o_{i}", text)
    return world


def _run(world: PipelineWorld, limit: int = 7) -> None:
    world.poller.poll_due()
    while world.pipeline.process_pending(limit):
        pass
    world.sender.drain()


def _decisions(store: Store) -> dict[str, Any]:
    q = store.query
    return {
        "classifications": q("select comment_id, score, band, model_version, matched_rules "
                             "from classifications order by comment_id"),
        "outbox": q("select key, kind, case_id, status from outbox order by key"),
        "cases": q("select comment_id, status, priority from cases order by comment_id"),
        "states": q("select state, count(*) as n from comments group by state"),
    }


def test_workers_record_what_the_writer_thread_records(tmp_path: Path,
                                                       pools: list[ClassifyPool]) -> None:
    model = KeywordPredictor()
    here = _world(tmp_path, "here", model, None)
    pools.append(ClassifyPool(lambda: model, 2))
    there = _world(tmp_path, "there", model, pools[0])
    _run(here)
    _run(there)
    assert _decisions(there.store) == _decisions(here.store)
    assert _decisions(there.store)["states"] == [{"state": "processed", "n": len(TEXTS)}]
    assert len(there.wechat.replies) == len(here.wechat.replies) > 0
    assert pools[0].restarts == 0


def test_a_killed_worker_means_its_batch_is_classified_again(tmp_path: Path,
                                                             pools: list[ClassifyPool]) -> None:
    model = DiesInWorker(os.getpid(), tmp_path / "died")
    pools.append(ClassifyPool(lambda: model, 1))
    before = pools[0].pids()
    world = _world(tmp_path, "w", model, pools[0])
    world.wechat.add("100", 0, "o_x", "自毁：急，等结果住院")
    _run(world)
    assert (tmp_path / "died").exists()  # a worker really died holding a batch
    assert pools[0].restarts == 1 and pools[0].pids() != before
    d = _decisions(world.store)
    assert d["states"] == [{"state": "processed", "n": len(TEXTS) + 1}]
    assert len(d["classifications"]) == len(TEXTS) + 1
    keys = [r["key"] for r in d["outbox"]]
    assert len(keys) == len(set(keys))
    assert len(world.wechat.replies) == len({r[2] for r in world.wechat.replies})  # one each


def test_a_batch_that_kills_every_worker_is_classified_by_the_writer(
        tmp_path: Path, pools: list[ClassifyPool]) -> None:
    model = DiesInWorker(os.getpid(), None)
    pools.append(ClassifyPool(lambda: model, 1))
    world = _world(tmp_path, "w", model, pools[0])
    world.wechat.add("100", 0, "o_x", "自毁")
    _run(world, limit=100)
    assert _decisions(world.store)["states"] == [{"state": "processed", "n": len(TEXTS) + 1}]
    assert pools[0].restarts >= 3


def test_a_model_switch_starts_workers_with_the_new_model(tmp_path: Path,
                                                          pools: list[ClassifyPool]) -> None:
    holder = Holder(Versioned("v1"))
    pools.append(ClassifyPool(lambda: holder.current, 1))
    world = _world(tmp_path, "w", holder, pools[0])
    world.poller.poll_due()
    assert world.pipeline.process_pending(5) == 5
    holder.current = Versioned("v2")  # what ModelHolder.check does: one assignment
    while world.pipeline.process_pending(5):
        pass
    versions = [r["model_version"] for r in world.store.query(
        "select model_version from classifications c join comments m on m.id = c.comment_id "
        "order by m.user_comment_id")]
    assert versions[:5] == ["v1"] * 5
    assert set(versions[5:]) <= {"v1", "v2"} and versions[-1] == "v2"
    # batches classified ahead by v1's workers are classified again by v2's: at most the
    # `ahead` batches in hand at the switch keep v1
    assert versions.count("v1") <= 5 + 2 * 5
    assert pools[0].restarts == 1


class FailsOn(FakeRules):
    """Raises on a text with 坏 (twice: the comment's own fault); with ``store`` on 库 (a
    database in trouble: never the comment's fault)."""

    def evaluate(self, ctx: Any, history: Any) -> Any:
        if "坏" in ctx.text:
            raise ValueError("this comment breaks the rules engine")
        if "库" in ctx.text and getattr(self, "store_trouble", False):
            raise StoreBusy("database is locked")
        return super().evaluate(ctx, history)


def test_one_bad_comment_is_quarantined_and_its_batch_neighbours_recorded(db_target: str) -> None:
    clock = FakeClock()
    world = PipelineWorld(Store(db_target, clock=clock), clock, rules=FailsOn())
    for i, text in enumerate(["急，住院等结果", "坏了", "帮帮忙", "急！透析"]):
        world.wechat.add("100", 0, f"o_{i}", text)
    _run(world, limit=10)
    states = {r["content"]: r["state"] for r in world.store.query(
        "select content, state from comments")}
    assert states == {"急，住院等结果": "processed", "坏了": "error", "帮帮忙": "processed",
                      "急！透析": "processed"}
    cases = world.store.query("select c.status, m.content from cases c join comments m "
                              "on m.id = c.comment_id order by c.id")
    assert {"status": "review", "content": "坏了"} in cases
    assert len(cases) == 4  # two urgent, one review, one quarantine
    # nothing of the bad comment's failed attempts was left behind
    assert world.store.query("select count(*) as n from classifications c join comments m "
                             "on m.id = c.comment_id where m.content = '坏了'")[0]["n"] == 0


def test_database_trouble_mid_batch_leaves_the_whole_batch_new(db_target: str) -> None:
    clock = FakeClock()
    rules = FailsOn()
    rules.store_trouble = True  # type: ignore[attr-defined]
    world = PipelineWorld(Store(db_target, clock=clock), clock, rules=rules)
    for i, text in enumerate(["急，住院等结果", "帮帮忙", "库", "急！透析"]):
        world.wechat.add("100", 0, f"o_{i}", text)
    world.poller.poll_due()
    assert world.pipeline.process_pending(10) == 0
    q = world.store.query
    assert q("select state, count(*) as n from comments group by state") == [
        {"state": "new", "n": 4}]
    assert q("select count(*) as n from classifications")[0]["n"] == 0
    assert q("select count(*) as n from outbox")[0]["n"] == 0
    assert q("select count(*) as n from cases")[0]["n"] == 0
    rules.store_trouble = False  # type: ignore[attr-defined]
    clock.advance(2)  # past the back-off
    assert world.pipeline.process_pending(10) == 4
    assert q("select count(*) as n from cases")[0]["n"] == 3


def test_pipeline_workers_setting(tmp_path: Path) -> None:
    base = '[[accounts]]\nappid = "a"\nsecret = "s"\n'
    path = tmp_path / "d.toml"
    for text, want in [("", None), ('[pipeline]\nworkers = "auto"\n', None),
                       ("[pipeline]\nworkers = 0\n", 0), ("[pipeline]\nworkers = 3\n", 3)]:
        path.write_text(base + text, encoding="utf-8")
        assert load_config(path, env={}).pipeline_workers == want
    for bad in ('"many"', "-1", "true", "2.5"):
        path.write_text(base + f"[pipeline]\nworkers = {bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_config(path, env={})
        assert "pipeline.workers" in str(err.value) and "d.toml" in str(err.value)
    assert auto_workers(1) == 1 and auto_workers(2) == 1 and auto_workers(8) == 4


def test_reply_limit_counts_the_articles_replies_by_its_own_column(db_target: str) -> None:
    from datetime import timedelta

    from bot.cases import enqueue

    clock = FakeClock()
    store = Store(db_target, clock=clock)
    assert article_of("main:100:0:7") == "main:100:0"
    assert article_of("main:message:0:123456") == "main:message:0"
    assert article_of("") == ""
    with store.transaction() as db:
        for n, (comment, kind) in enumerate([("main:100:0:1", "reply"), ("main:100:0:2", "reply"),
                                             ("main:100:1:3", "reply"), ("main:100:0:4", "notify"),
                                             ("", "notify")]):
            enqueue(db, key=f"k{n}", comment_id=comment, case_id=None, account="main", kind=kind,
                    rule="r", params={}, at=store.now())
    since = clock() - timedelta(hours=1)
    assert store.replies_on_article_since("main", "100", 0, since) == 2
    assert store.replies_on_article_since("main", "100", 1, since) == 1
    assert store.replies_on_article_since("main", "100", 0, clock() + timedelta(seconds=1)) == 0
    store.close()


def test_a_comment_claimed_by_another_replica_mid_batch_is_skipped(db_target: str) -> None:
    """Each comment's savepoint starts with its claim (``UPDATE … WHERE state = 'new'``): a
    comment another replica processed after this batch was fetched is left to it, untouched,
    and its batch neighbours are recorded."""
    clock = FakeClock()
    world = PipelineWorld(Store(db_target, clock=clock), clock)
    for i, text in enumerate(["急，住院等结果", "帮帮忙", "急！透析"]):
        world.wechat.add("100", 0, f"o_{i}", text)
    world.poller.poll_due()
    rows = world.store.pending_comments(10)
    taken = rows[1]["id"]
    with world.store.transaction() as db:  # the other replica, between fetch and write
        assert processing.claim_new_comment(db, taken)
    predictions = world.pipeline.model.predict_many([r["content"] for r in rows])
    assert world.pipeline._write_batch(rows, predictions) == 2
    q = world.store.query
    assert q("select count(*) as n from classifications where comment_id = ?", [taken]) == [
        {"n": 0}]
    assert q("select count(*) as n from outbox where comment_id = ?", [taken]) == [{"n": 0}]
    assert q("select count(*) as n from classifications")[0]["n"] == 2
    assert q("select state, count(*) as n from comments group by state") == [
        {"state": "processed", "n": 3}]
    world.store.close()
