"""Issue 12, items 1–10: failures at night that nobody saw. Each test failed before its fix."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_fakes import (
    FakeClock,
    FakeGroup,
    KeywordPredictor,
    PipelineWorld,
)

from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def caplog_loguru() -> Iterator[list[str]]:
    from loguru import logger

    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{level} {message}")
    yield lines
    logger.remove(sink)


class World(PipelineWorld):
    """Poller → pipeline → sender over an in-memory platform, with a configurable duty group."""


# -- item 3: the sender uses the configured duty group ------------------------------------
def test_sender_falls_back_to_the_configured_duty_group(store: Store, clock: FakeClock) -> None:
    duty = FakeGroup()
    world = World(store, clock, duty="值班", groups={"值班": duty})  # no hook for "nanshan"
    world.wechat.add("100", 0, "o_a", "老婆要住院，真的挺急")
    world.cycle()
    assert len(duty.messages) == 1, "the route has no robot: the duty group gets it"
    rows = store.query("select status, last_error from outbox where kind = 'notify'")
    assert [r["status"] for r in rows] == ["sent"]


# -- item 7: a wrong path never makes an empty database -----------------------------------
def _cli(*args: str, input: str | None = None) -> Any:
    from click.testing import CliRunner

    from bot.cli import main

    return CliRunner().invoke(main, list(args), input=input)


@pytest.mark.parametrize("command", [
    ["cases", "list"], ["cases", "show", "1"], ["cases", "export", "--csv"],
    ["cases", "note", "1", "x"], ["users", "list"], ["users", "unlock", "a"],
    ["users", "remove", "a"],
])
def test_read_only_commands_need_an_existing_database(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "typo.db"
    out = _cli(*command, "--db", str(typo))
    assert out.exit_code == 1, out.output
    assert f"no database at {typo}; pass --config or set DIANHUA_DB" in out.output
    assert "Traceback" not in out.output
    assert list(tmp_path.iterdir()) == [], "no file is created"


def test_the_stand_alone_desk_needs_an_existing_database(tmp_path: Path) -> None:
    from bot.config import Config
    from bot.errors import StoreError
    from bot.web import create_desk_app

    with pytest.raises(StoreError, match="no database at .*typo.db; pass --config"):
        create_desk_app(Config(db=tmp_path / "typo.db", rules=ROOT / "rules.yaml", log_file=None))
    assert list(tmp_path.iterdir()) == []


def test_users_add_into_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.db"
    out = _cli("users", "add", "小王", "--db", str(target), "--password-stdin",
               input="a-long-enough-password\n")
    assert out.exit_code == 1, out.output
    assert f"the folder {target.parent} does not exist" in out.output
    assert not (tmp_path / "nonexistent").exists()
    fine = _cli("users", "add", "小王", "--db", str(tmp_path / "new.db"), "--password-stdin",
                input="a-long-enough-password\n")
    assert fine.exit_code == 0, fine.output  # adding a user may create the file


# -- items 2 and 10: database errors are the database's, never the comment's ---------------
HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


class WriteLock:
    """An analyst in another process holding a write transaction (``BEGIN IMMEDIATE``)."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=30)


def test_a_write_lock_held_by_another_process_delays_but_never_cancels_an_urgent_reply(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = Store(tmp_path / "lock.db", clock=clock, busy_timeout=0.05)
    world = World(store, clock)
    world.wechat.add("100", 0, "o_a", "老婆要住院，核酸结果没出，真的挺急")
    world.poller.poll_due()  # stored as new
    lock = WriteLock(tmp_path / "lock.db")
    try:
        assert world.pipeline.process_pending() == 0
        assert world.pipeline.process_pending() == 0  # backing off: not even tried
        state = store.query("select state from comments")[0]["state"]
        assert state == "new", "a locked database is not the comment's fault"
        assert store.query("select count(*) as n from cases")[0]["n"] == 0
        assert "locked" in (world.pipeline.last_store_error or "")
    finally:
        lock.release()
    clock.advance(1)
    assert world.pipeline.process_pending() == 1
    world.sender.drain()
    assert [r[3] for r in world.wechat.replies] == ["电话发我"]
    cases = world.book.list_cases()
    assert [(c["priority"], c["status"]) for c in cases] == [("P1", "awaiting_contact")]
    store.close()


def test_a_full_disk_inside_the_transaction_is_retried_not_blamed_on_the_comment(
    tmp_path: Path, clock: FakeClock, caplog_loguru: list[str]
) -> None:
    store = Store(tmp_path / "full.db", clock=clock)
    world = World(store, clock)
    for i in range(30):
        world.wechat.add("100", 0, f"o_{i}", f"老婆要住院，真的挺急 {'很长的说明' * 80}")
    world.poller.poll_due()
    pages = store.db.execute("pragma page_count").fetchone()[0]
    store.db.execute(f"pragma max_page_count = {pages}")  # the disk is full from now on
    world.pipeline.process_pending()  # a few may fit in the free pages; then the disk is full
    states = {r["state"] for r in store.query("select state from comments")}
    assert "new" in states and "error" not in states
    assert store.query("select count(*) as n from cases where status = 'review'")[0]["n"] == 0
    assert world.pipeline.process_pending() == 0  # backing off
    assert not any("opened review case" in line or "opened a review case" in line
                   for line in caplog_loguru)
    assert any("database trouble" in line and "full" in line for line in caplog_loguru)
    store.db.execute("pragma max_page_count = 1073741823")  # space again
    clock.advance(1)
    while world.pipeline.process_pending():
        pass
    assert {r["state"] for r in store.query("select state from comments")} == {"processed"}
    assert store.query("select count(*) as n from cases where status = 'review'")[0]["n"] == 0
    store.close()


def test_readers_do_not_wait_for_a_writer_of_the_same_store(store: Store) -> None:
    store.watch_article("main", "1", 0)
    inside, leave = threading.Event(), threading.Event()

    def writer() -> None:
        with store.transaction() as db:
            db.execute("update articles set title = 'x'")
            inside.set()
            leave.wait(30)

    t = threading.Thread(target=writer)
    t.start()
    assert inside.wait(30)
    result: list[Any] = []
    reader = threading.Thread(target=lambda: result.append(store.query("select title from articles")))
    reader.start()
    reader.join(30)
    leave.set()
    t.join(30)
    assert result == [[{"title": ""}]], "the desk reads the last committed state without waiting"


# -- item 6: one daemon per database ------------------------------------------------------
def _config(tmp_path: Path, **kw: Any) -> Any:
    from bot.config import AccountConfig, Config, GroupConfig

    defaults: dict[str, Any] = {
        "accounts": (AccountConfig(base_url="http://127.0.0.1:9", discover=False),),
        "groups": {"duty": GroupConfig(key="k-duty")},
        "db": tmp_path / "d.db", "rules": ROOT / "rules.yaml", "http_enabled": False,
        "log_file": None,
    }
    return Config(**{**defaults, **kw})


def test_a_second_daemon_on_the_same_database_exits_with_a_clear_message(tmp_path: Path) -> None:
    from bot.daemon import Daemon

    first = Daemon(_config(tmp_path), model=KeywordPredictor(), clock=FakeClock())
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'[storage]\ndb = "{tmp_path / "d.db"}"\n[rules]\npath = "{ROOT / "rules.yaml"}"\n'
                   '[log]\nfile = ""\n[http]\nenabled = false\n', encoding="utf-8")
    out = _cli("run", "--once", "--config", str(cfg))
    assert out.exit_code == 1, out.output
    assert f"another dianhua daemon (pid {os.getpid()}" in out.output
    assert "is already running on the database" in out.output
    first.shutdown()
    again = Daemon(_config(tmp_path), model=KeywordPredictor(), clock=FakeClock())  # lease freed
    again.shutdown()


def test_a_taken_http_port_stops_the_daemon_before_it_polls(tmp_path: Path) -> None:
    from bot.daemon import Daemon
    from bot.errors import DianhuaError

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    daemon = Daemon(_config(tmp_path, http_enabled=True, http_port=port),
                    model=KeywordPredictor(), clock=FakeClock())
    polled: list[int] = []
    daemon.discover = lambda: polled.append(1) or 0  # type: ignore[method-assign]
    stop = threading.Event()
    with pytest.raises(DianhuaError, match=f"cannot listen on 127.0.0.1:{port}"):
        daemon.run_forever(stop)
    assert polled == [] and daemon._scheduler is None
    assert not daemon.lease.held
    taken.close()


# -- item 4: rules whose examples fail are refused, on reload and at start-up --------------
def _rules_with_a_failing_example(path: Path) -> Path:
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    assert "reply_contains: 电话发我" in text
    path.write_text(text.replace("reply_contains: 电话发我", "reply_contains: 不会出现的话", 1),
                    encoding="utf-8")
    return path


def test_a_reload_whose_examples_fail_is_refused_and_shown(tmp_path: Path) -> None:
    from bot.daemon import Daemon

    rules = tmp_path / "rules.yaml"
    rules.write_text((ROOT / "rules.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    daemon = Daemon(_config(tmp_path, rules=rules), model=KeywordPredictor(), clock=FakeClock())
    try:
        before = daemon.rules.current.version
        _rules_with_a_failing_example(rules)
        daemon.reload_rules()
        assert daemon.rules.current.version == before, "the old rules keep running"
        health = daemon.health()
        # /healthz says *that* (issue 17: never the text or path); the desk shows why
        assert health["rules_error"] == "rules invalid"
        assert re.search(r"1 of \d+ examples fail", daemon.rules.last_error or "")
        assert health["status"] == "degraded"
        assert health["problems"] == [
            "the rules file was refused; the previous rules are still running"]
    finally:
        daemon.shutdown()


def test_a_start_on_rules_whose_examples_fail_is_refused(tmp_path: Path) -> None:
    from bot.daemon import Daemon
    from bot.errors import RulesError

    rules = _rules_with_a_failing_example(tmp_path / "rules.yaml")
    with pytest.raises(RulesError, match=r"1 of \d+ examples fail"):
        Daemon(_config(tmp_path, rules=rules), model=KeywordPredictor(), clock=FakeClock())


# -- item 1: a notification that fails is impossible to miss ------------------------------
def test_config_check_fails_when_the_duty_group_has_no_robot_key(tmp_path: Path) -> None:
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'[rules]\npath = "{ROOT / "rules.yaml"}"\n', encoding="utf-8")
    out = _cli("config", "check", "--config", str(cfg))
    assert out.exit_code == 1, out.output
    assert "the duty group 'duty' has no robot key" in out.output
    assert "DIANHUA_WECOM_KEY_DUTY=<key>" in out.output
    from click.testing import CliRunner

    from bot.cli import main

    ok = CliRunner().invoke(main, ["config", "check", "--config", str(cfg)],
                            env={"DIANHUA_WECOM_KEY_DUTY": "k"})
    assert ok.exit_code == 0, ok.output
    assert "WARNING: group 'nanshan' in the rules has no robot key" in ok.output
    assert "DIANHUA_WECOM_KEY_NANSHAN=<key>" in ok.output


class BrokenRobot(FakeGroup):
    """A department robot whose key was revoked: WeCom answers 93000 (a final error)."""

    def send_text(self, content: str, mentioned_list: list[str] | None = None) -> None:
        from bot.errors import BadRequest

        raise BadRequest("webhook/send: errcode 93000 (invalid webhook url)", errcode=93000)


def test_a_failed_department_notification_reaches_the_duty_group_healthz_and_the_queue(
    store: Store, clock: FakeClock
) -> None:
    from bot.config import Config, GroupConfig
    from bot.health import notification_problems
    from bot.web.queries import queue

    duty = FakeGroup()
    world = World(store, clock, groups={"nanshan": BrokenRobot(), "duty": duty})
    world.wechat.add("100", 0, "o_a", "老婆要住院，真的挺急")
    world.cycle()
    world.sender.drain()  # the duty group's message about the failure
    assert [r[3] for r in world.wechat.replies] == ["电话发我"]
    case_id = world.book.list_cases()[0]["id"]
    assert len(duty.messages) == 1 and "【群通知失败】" in duty.messages[0]
    assert f"案件 #{case_id}" in duty.messages[0] and "nanshan" in duty.messages[0]
    world.cycle()
    assert len(duty.messages) == 1, "told once"
    cfg = Config(groups={"nanshan": GroupConfig(key="k1"), "duty": GroupConfig(key="k2")})
    health = notification_problems(store, cfg, clock())
    assert health["failed"] == 1
    assert health["problems"] == ["1 group notification(s) failed in the last 24 h (1 case(s)); "
                                  "the desk marks them 群通知失败"]
    rows = queue(world.book, clock())
    assert [r["notify_failed"] for r in rows] == [True]


def test_healthz_degrades_when_the_duty_group_has_no_robot(tmp_path: Path) -> None:
    from bot.daemon import Daemon

    daemon = Daemon(_config(tmp_path, groups={}), model=KeywordPredictor(), clock=FakeClock())
    try:
        health = daemon.health()
        assert health["status"] == "degraded"
        assert any("the duty group 'duty' has no robot key" in p for p in health["problems"])
    finally:
        daemon.shutdown()


def test_the_desk_shows_every_health_problem_and_the_failed_notification(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from bot.daemon import Daemon
    from bot.http import create_app
    from bot.web.users import UserBook

    daemon = Daemon(_config(tmp_path, groups={}, web_secret="s" * 32), model=KeywordPredictor(),
                    clock=FakeClock())
    try:
        UserBook(daemon.store).add("小王", "long-enough-pw")
        row = {"id": "main:1:0:1", "account": "main", "article_id": "main:1:0", "openid": "o",
               "content": "急"}
        daemon.store.watch_article("main", "1", 0)
        daemon.store.store_comments(daemon.store.articles()[0], [
            {"user_comment_id": 1, "openid": "o", "content": "急", "create_time": 1}],
            new_cursor=1, next_poll_at=daemon.clock())
        from bot.cases import enqueue, open_case

        with daemon.store.transaction() as db:
            case_id = open_case(db, row, at=daemon.store.now(), route="nanshan")
            enqueue(db, key="k", comment_id=row["id"], case_id=case_id, account="main",
                    kind="notify", rule="r", params={"group": "nanshan", "text": "x"},
                    at=daemon.store.now())
        daemon.send()  # no robot at all: failed, nobody told
        with TestClient(create_app(daemon)) as c:
            assert c.get("/healthz").status_code == 503
            page = c.get("/login")
            import re

            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf
            c.post("/login", data={"name": "小王", "password": "long-enough-pw",
                                   "csrf": csrf.group(1)})
            status = c.get("/status").text
            assert 'id="health-problems"' in status
            assert "the duty group &#39;duty&#39; has no robot key" in status
            assert "1 group notification(s) failed" in status
            queue = c.get("/").text
            assert 'class="tag notify-failed"' in queue and "群通知失败" in queue
    finally:
        daemon.shutdown()


# -- items 5 and 9: replies never wait behind a robot; skipped turns are one line ---------
class SlowRobot(FakeGroup):
    """A group robot that hangs until released (a slow WeCom call and its retries)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def send_text(self, content: str, mentioned_list: list[str] | None = None) -> None:
        self.entered.set()
        self.release.wait(30)
        super().send_text(content, mentioned_list)


def test_public_replies_never_wait_behind_a_group_robot(store: Store, clock: FakeClock) -> None:
    from bot.sender import GROUP_LANE, PUBLIC_LANE

    robot = SlowRobot()
    world = World(store, clock, groups={"nanshan": robot, "duty": FakeGroup()})
    world.wechat.add("100", 0, "o_a", "老婆要住院，真的挺急")
    world.poller.poll_due()
    world.pipeline.process_pending()
    groups = threading.Thread(target=world.sender.drain, kwargs={"kinds": GROUP_LANE})
    groups.start()
    try:
        assert robot.entered.wait(30), "the notification is in flight and stuck"
        assert world.sender.drain(kinds=PUBLIC_LANE) == 1
        assert [r[3] for r in world.wechat.replies] == ["电话发我"], "the reply went out meanwhile"
        assert robot.messages == []
    finally:
        robot.release.set()
        groups.join(30)
    assert len(robot.messages) == 1


def test_the_daemon_runs_replies_and_notifications_as_two_jobs(tmp_path: Path) -> None:
    from bot.daemon import Daemon

    daemon = Daemon(_config(tmp_path), model=KeywordPredictor(), clock=FakeClock())
    daemon.discover = lambda: 0  # type: ignore[method-assign]
    try:
        daemon.start()
        assert daemon._scheduler is not None
        assert {"send", "notify"} <= set(daemon._scheduler.job_ids)
    finally:
        daemon.shutdown()


def test_skipped_turns_become_one_rate_limited_warning(caplog_loguru: list[str]) -> None:
    import logging

    from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent

    from bot.scheduler import Job, Scheduler, SkipReporter

    now = [0.0]
    reporter = SkipReporter(every=60, monotonic=lambda: now[0])
    Scheduler([Job("poll", lambda: None, 1)], reporter=reporter)
    raw: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            raw.append(record)

    handler = Keep()
    aps = logging.getLogger("apscheduler.scheduler")
    aps.addHandler(handler)
    try:
        for _ in range(121):  # what APScheduler says twice a second under load
            aps.warning('Execution of job "%s" skipped: maximum number of running instances '
                        "reached (%d)", "poll (trigger: interval[0:00:01])", 1)
            reporter.on_event(JobEvent(EVENT_JOB_MAX_INSTANCES, "poll", "default"))
            now[0] += 0.5
    finally:
        aps.removeHandler(handler)
    assert raw == [], "APScheduler's own lines are dropped"
    lines = [line for line in caplog_loguru if "job poll is slower than its interval" in line]
    assert len(lines) == 2  # the first at once, then one a minute
    assert "(still running): 120 turn(s) skipped in the last 60 s" in lines[1]


def test_the_poll_lag_limit_is_configurable_and_reported(tmp_path: Path) -> None:
    from bot.config import load_config
    from bot.daemon import Daemon

    cfg = tmp_path / "d.toml"
    cfg.write_text("[polling]\nmax_lag_seconds = 90\n", encoding="utf-8")
    assert load_config(cfg).max_poll_lag_seconds == 90
    clock = FakeClock()
    daemon = Daemon(_config(tmp_path, max_poll_lag_seconds=90), model=KeywordPredictor(),
                    clock=clock)
    try:
        daemon.store.watch_article("main", "1", 0)
        clock.advance(89)
        assert daemon.health()["status"] == "ok"
        clock.advance(20)  # WeChat unreachable for 109 s
        health = daemon.health()
        assert health["status"] == "degraded" and health["poll_lag_limit_seconds"] == 90
        assert health["problems"] == [
            "account main: no successful poll for 109 s (limit 90 s, [polling] max_lag_seconds)"]
    finally:
        daemon.shutdown()


# -- item 8 (also): who hears of a pause ---------------------------------------------------
def test_refused_credentials_are_told_once_and_a_minute_throttle_not_at_all(
    store: Store, clock: FakeClock
) -> None:
    from bot.errors import AuthError, RateLimited

    told: list[tuple[str, str]] = []
    world = World(store, clock)
    world.poller.on_pause = lambda account, what, details: told.append((account, what))
    world.wechat.add("100", 0, "o_a", "你好")
    world.wechat.fail_next = [AuthError("comment/list: errcode 40164", errcode=40164)] * 3
    for _ in range(3):  # refused at every retry, five minutes apart
        world.poller.poll_due()
        assert "main" in world.poller.pauses_report()
        clock.advance(5 * 60 + 1)
    world.poller.poll_due()  # the secret was fixed: a good poll lifts the pause
    assert world.poller.pauses_report() == {}
    assert told == [("main", "paused"), ("main", "resumed")]
    told.clear()
    world.wechat.fail_next = [RateLimited("comment/list: errcode 45011", retry_after=30,
                                          errcode=45011)]
    clock.advance(10)
    world.poller.poll_due()
    assert "main" in world.poller.pauses_report()
    clock.advance(31)
    world.poller.poll_due()
    assert world.poller.pauses_report() == {} and told == []


def test_each_job_always_runs_on_one_thread_of_its_own() -> None:
    """A job pinned to one thread keeps its working set in one malloc arena and one SQLite
    read connection (issue 16: with a shared pool every thread grew to the poll job's size)."""
    from bot.scheduler import Job, Scheduler

    seen: dict[str, set[int]] = {"a": set(), "b": set()}
    runs = {"a": 0, "b": 0}
    done = threading.Event()

    def job(name: str) -> Callable[[], None]:
        def run() -> None:
            seen[name].add(threading.get_ident())
            runs[name] += 1
            if min(runs.values()) >= 6:
                done.set()
        return run

    sched = Scheduler([Job("a", job("a"), 0.01), Job("b", job("b"), 0.01)])
    sched.start()
    try:
        assert done.wait(60), "the jobs did not run six times each"
    finally:
        sched.shutdown()
    assert len(seen["a"]) == 1 and len(seen["b"]) == 1
    assert seen["a"] != seen["b"]


def test_a_jobs_own_executor_lines_are_dropped_too() -> None:
    import logging

    from bot.scheduler import Job, Scheduler

    Scheduler([Job("poll", lambda: None, 1)])
    log = logging.getLogger("apscheduler.executors.poll")
    record = log.makeRecord(log.name, logging.WARNING, __file__, 1,
                            'Run time of job "poll" was missed by 0:00:02', (), None)
    assert not log.filter(record)
