"""The daemon follows the registry: promote → switch without restart; a broken model is refused;
shadow scores are recorded and never acted on. Real mock over HTTP, real SQLite, tiny models."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_fakes import FakeClock
from loop_helpers import ROOT, fixture_split, shuffled_copy, train_into

from bot.config import AccountConfig, Config
from bot.daemon import Daemon
from bot.poller import PollSchedule
from classifiers.registry import Registry
from connectors.mock import MockServer


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    base = tmp_path_factory.mktemp("loop")
    split = fixture_split(base / "split")
    reg = base / "models"
    reg.mkdir()
    good = train_into(reg, split)
    bad = train_into(reg, shuffled_copy(split, base / "shuffled"))
    return reg, good, bad


@pytest.fixture
def setup(tmp_path: Path, models: tuple[Path, str, str]) -> Iterator[tuple[Daemon, MockServer,
                                                                           Registry, str, str]]:
    src, good, bad = models
    shutil.copytree(src, tmp_path / "models")
    reg = Registry(tmp_path / "models")
    reg.set_live(good, by="test")
    mock = MockServer(tmp_path / "mock.db").start()
    mock.state.add_article("关于核酸检测安排的通知")
    rules = tmp_path / "rules.yaml"
    shutil.copy(ROOT / "rules.yaml", rules)
    cfg = Config(accounts=(AccountConfig(name="main", base_url=mock.url),), db=tmp_path / "d.db",
                 rules=rules, model_registry=reg.root, wecom_base_url=mock.url,
                 polling=PollSchedule(fast_seconds=1, normal_seconds=1, slow_seconds=1),
                 http_enabled=False, log_file=None)
    daemon = Daemon(cfg, clock=FakeClock(), sleep=lambda s: None)
    daemon.discover()
    yield daemon, mock, reg, good, bad
    daemon.shutdown()
    mock.stop()


TEXTS = ["孕妇见红了医院不收 求帮忙", "谢谢小编", "我爸透析被停了 小区出不去", "健康码黄了怎么办",
         "孩子高烧抽搐 120打不通", "今天天气不错"]


def test_promote_switches_models_without_restart_and_no_comment_is_lost_or_redone(
    setup: tuple[Daemon, MockServer, Registry, str, str]
) -> None:
    daemon, mock, reg, good, bad = setup
    (art,) = mock.state.articles()
    article = (art["msg_data_id"], art["index"])
    clock = daemon.clock

    def post_and_run(texts: list[str], prefix: str) -> None:
        for i, t in enumerate(texts):
            mock.state.add_comment(*article, f"o{prefix}{i}", t)
        for _ in range(2):
            daemon.tick()
            clock.advance(2)  # type: ignore[attr-defined]

    assert daemon.model.version == good
    post_and_run(TEXTS, "a")
    reg.set_shadow(bad, by="test")
    post_and_run(TEXTS, "b")
    post_and_run([], "-")  # the shadow job scores what the last tick classified
    shadow = daemon.store.query("select * from shadow_scores")
    assert len(shadow) == len(TEXTS) and {r["model_version"] for r in shadow} == {bad}
    assert {r["live_version"] for r in shadow} == {good}
    assert any(r["band"] != r["live_band"] for r in shadow)  # disagreements to show
    assert daemon.health()["shadow_model"] == bad

    reg.set_live(bad, by="test")
    post_and_run(TEXTS, "c")
    assert daemon.model.version == bad and daemon.store.get_meta("model_live") == bad

    # a promoted model that does not load: the daemon keeps the one it has
    broken = reg.root / "0.0.0+broken.s1"
    shutil.copytree(reg.folder(good), broken)
    (broken / "urgent.skops").write_bytes(b"not a model")
    (reg.root / "live.json").write_text('{"version": "0.0.0+broken.s1"}', encoding="utf-8")
    post_and_run(TEXTS, "d")
    assert daemon.model.version == bad
    assert "keeping " + bad in str(daemon.health()["model_error"])

    rows = daemon.store.query(
        "select m.id, m.state, cl.model_version from comments m "
        "left join classifications cl on cl.comment_id = m.id order by m.user_comment_id")
    assert len(rows) == 4 * len(TEXTS) and {r["state"] for r in rows} == {"processed"}
    versions = [r["model_version"] for r in rows]
    assert versions == [good] * 12 + [bad] * 12  # each comment scored once, by the live model
    assert daemon.store.query(
        "select count(*) as n from (select key from outbox group by key having count(*) > 1)"
    )[0]["n"] == 0


def test_the_running_scheduler_switches_the_model_in_the_background(
    tmp_path: Path, models: tuple[Path, str, str]
) -> None:
    """The real thing: daemon.start() (APScheduler jobs, real clock); promote; it switches."""
    import threading

    src, good, bad = models
    shutil.copytree(src, tmp_path / "models")
    reg = Registry(tmp_path / "models")
    reg.set_live(good, by="test")
    mock = MockServer(tmp_path / "mock.db").start()
    article = mock.state.add_article("关于核酸检测安排的通知")
    rules = tmp_path / "rules.yaml"
    shutil.copy(ROOT / "rules.yaml", rules)
    cfg = Config(accounts=(AccountConfig(name="main", base_url=mock.url),), db=tmp_path / "d.db",
                 rules=rules, model_registry=reg.root, wecom_base_url=mock.url,
                 polling=PollSchedule(fast_seconds=1, normal_seconds=1, slow_seconds=1),
                 tick_seconds=0.2, rules_reload_seconds=0.2, http_enabled=False, log_file=None)
    seen: list[tuple[str, str]] = []
    counts = {3: threading.Event(), 6: threading.Event()}
    switched = threading.Event()

    def on_outcome(outcome: object, row: dict) -> None:  # type: ignore[type-arg]
        seen.append((row["id"], outcome.prediction.model_version))  # type: ignore[attr-defined]
        if len(seen) in counts:
            counts[len(seen)].set()

    daemon = Daemon(cfg, on_outcome=on_outcome)
    recorded = daemon.models._on_switch
    daemon.models._on_switch = lambda old, new: (recorded(old, new) if recorded else None,
                                                 switched.set())
    try:
        daemon.start()
        for i, t in enumerate(TEXTS[:3]):
            mock.state.add_comment(*article, f"oRun{i}", t)
        assert counts[3].wait(60), "the first comments were not processed"
        reg.set_live(bad, by="test")
        assert switched.wait(60), "the daemon did not pick up the promoted model"
        for i, t in enumerate(TEXTS[3:]):
            mock.state.add_comment(*article, f"oRun{i + 3}", t)
        assert counts[6].wait(60), "the later comments were not processed"
    finally:
        daemon.stop()
        daemon.shutdown()
        mock.stop()
    assert [v for _, v in seen] == [good] * 3 + [bad] * 3
    assert len({c for c, _ in seen}) == 6  # none processed twice
    assert daemon.store.get_meta("model_live") == bad
