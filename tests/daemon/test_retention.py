"""Issue 17: personal data is not kept forever ([retention], the purge job, `dianhua purge`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from daemon_fakes import FakeClock
from loguru import logger

from bot.cases import CaseBook, CasePolicy, open_case
from bot.cli import main
from bot.clock import utcnow
from bot.retention import RetentionPolicy, purge
from bot.store import Store

PHONE = "13800000000"
DAY = 86400


def _comment(store: Store, uid: int, text: str, *, msg: str = "100") -> dict[str, Any]:
    key = store.watch_article("main", msg, 0, title="t")
    article = store.article(key)
    assert article is not None
    store.store_comments(article, [{"user_comment_id": uid, "openid": f"o{uid}", "content": text,
                                    "create_time": 1641607200}], new_cursor=uid,
                         next_poll_at=store.clock())
    cid = f"{key}:{uid}"
    with store.transaction() as db:
        db.execute("update comments set state = 'processed' where id = ?", [cid])
    comment = store.comment(cid)
    assert comment is not None
    return comment


def _case(store: Store, comment: dict[str, Any], *, resolve: bool) -> int:
    with store.transaction() as db:
        case_id = open_case(db, comment, at=store.now(), route="nanshan")
    book = CaseBook(store, CasePolicy())
    if resolve:
        book.set_status(case_id, "resolved", actor="小王", note=f"已回电 {PHONE}", outcome="已办结")
    return case_id


def _world(store: Store, clock: FakeClock) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    ids["old_comment"] = _comment(store, 1, "谢谢小编", msg="old")["id"]
    ids["tombstone"] = _comment(store, 2, "请问几点开门", msg="live")["id"]
    ids["old_case"] = _case(store, _comment(store, 3, f"急，电话 {PHONE}", msg="old"), resolve=True)
    clock.advance(150 * DAY)
    ids["erase_case"] = _case(store, _comment(store, 4, "急，电话 138.0000.0000", msg="old"),
                              resolve=True)
    ids["open_case"] = _case(store, _comment(store, 5, f"孕妇 {PHONE}", msg="old"), resolve=False)
    clock.advance(20 * DAY)
    ids["recent_case"] = _case(store, _comment(store, 6, f"急 {PHONE}", msg="old"), resolve=True)
    with store.transaction() as db:
        db.execute("update cases set contact_phone = ?", [PHONE])
        db.execute("update articles set active = 0 where msg_data_id = 'old'")
    clock.advance(15 * DAY)  # now: old things 185 days, erase_case 35 days, recent_case 15 days
    return ids


def _snapshot(store: Store) -> list[Any]:
    return [store.query(f"select * from {t} order by 1") for t in
            ("comments", "cases", "case_events", "outbox")]


def test_purge_keeps_each_kind_of_data_only_as_long_as_the_policy_says(
        store: Store, clock: FakeClock) -> None:
    ids = _world(store, clock)
    before = _snapshot(store)
    dry = purge(store, RetentionPolicy(), dry_run=True)
    assert _snapshot(store) == before  # a dry run changes nothing…
    report = purge(store, RetentionPolicy())
    assert dry.as_dict() | {"dry_run": False} == report.as_dict()  # …and says the same
    assert report.cases_deleted == 1 and report.contacts_erased == 1
    assert report.comments_emptied == 1

    cases = {c["id"]: c for c in store.query("select * from cases")}
    assert ids["old_case"] not in cases  # closed 185 days ago: gone, with its comment and events
    assert not store.query("select 1 from case_events where case_id = ?", [ids["old_case"]])
    assert store.comment(ids["old_comment"]) is None
    erased = cases[ids["erase_case"]]  # closed 35 days ago: kept, without the number anywhere
    assert erased["contact_phone"] == "" and erased["contact_id"] == ""
    comment = store.comment(erased["comment_id"])
    assert comment is not None and "138****0000" in comment["content"]
    dump = str(store.query("select * from case_events where case_id = ?", [ids["erase_case"]]))
    assert PHONE not in dump and "erased" in dump
    assert cases[ids["open_case"]]["contact_phone"] == PHONE  # open cases are never touched
    assert cases[ids["recent_case"]]["contact_phone"] == PHONE  # closed 15 days ago
    tomb = store.comment(ids["tombstone"])  # an article still polled: an empty tombstone
    assert tomb is not None and tomb["content"] == "" and tomb["openid"] == ""
    assert purge(store, RetentionPolicy()).as_dict() == {**report.as_dict(), "cases_deleted": 0,
                                                         "contacts_erased": 0,
                                                         "comments_deleted": 0,
                                                         "comments_emptied": 0}


def test_dianhua_purge_dry_run_and_settings(tmp_path: Path) -> None:
    # the command reads the real clock: build the same world so that it ends today
    clock = FakeClock(utcnow() - timedelta(days=185))
    db = tmp_path / "p.db"
    store = Store(db, clock=clock)
    _world(store, clock)
    store.close()
    config = tmp_path / "dianhua.toml"
    config.write_text(f'[storage]\ndb = "{db}"\n[log]\nfile = "{tmp_path / "log.jsonl"}"\n'
                      "[retention]\ncomments_days = 90\nresolved_cases_days = 400\n"
                      "contact_days_after_resolution = 30\n", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(main, ["purge", "--config", str(config), "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    assert '"cases_deleted": 0' in r.output and '"dry_run": true' in r.output
    assert '"comments_deleted": 1' in r.output  # the comment without a case only
    logger.complete()  # the file sink writes from a queue (enqueue=True): wait for it
    assert "retention: would erase" in (tmp_path / "log.jsonl").read_text(encoding="utf-8")
    r = runner.invoke(main, ["purge", "--config", str(config)])
    assert r.exit_code == 0 and "erased contact details of" in r.output
    missing = tmp_path / "typo.db"  # a wrong path is an error; it never creates a database
    r = runner.invoke(main, ["purge", "--db", str(missing), "--dry-run"])
    assert r.exit_code == 1 and "no database at" in r.output and not missing.exists()
    bad = tmp_path / "bad.toml"
    bad.write_text("[retention]\ncomments_days = \"ninety\"\n", encoding="utf-8")
    r = runner.invoke(main, ["purge", "--config", str(bad), "--dry-run"])
    assert r.exit_code == 1 and "retention.comments_days" in r.output


def test_the_daemon_purges_with_its_settings_and_logs_the_counts(tmp_path: Path) -> None:
    from daemon_fakes import KeywordPredictor

    from bot.config import AccountConfig, Config
    from bot.daemon import Daemon

    clock = FakeClock()
    config = Config(accounts=(AccountConfig(base_url="http://127.0.0.1:9", discover=False),),
                    db=tmp_path / "d.db", http_enabled=False, log_file=None,
                    rules=Path(__file__).resolve().parents[2] / "rules.yaml",
                    retention=RetentionPolicy(comments_days=1))
    daemon = Daemon(config, model=KeywordPredictor(), clock=clock)
    _comment(daemon.store, 1, "谢谢小编", msg="old")
    with daemon.store.transaction() as db:
        db.execute("update articles set active = 0")
    clock.advance(2 * DAY)
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO", format="{message}")
    try:
        daemon.purge()
    finally:
        logger.remove(sink)
    assert daemon.store.query("select count(*) as n from comments")[0]["n"] == 0
    assert any("retention: erased" in line and "1 comment(s)" in line for line in lines)
    daemon.shutdown()


def test_purge_takes_private_messages_shadow_scores_and_label_history_with_their_comment(
        store: Store, clock: FakeClock) -> None:
    """The analysts' loop (label_history, shadow_scores) and the private channel (messages)
    keep rows per comment: they follow the comment's retention, and events without a comment
    follow comments_days."""
    from bot.inbox import record_message
    from connectors.wechat.push import PushMessage

    def push(msg_id: int | None, text: str, kind: str = "text") -> None:
        record_message(store, "main", PushMessage(
            to_user="gh_x", from_user="o-reader", create_time=1641607200, msg_type=kind,
            msg_id=msg_id, content=text, event="subscribe" if kind == "event" else ""),
            store.now())

    push(1, "谢谢")  # an old private message, no case
    push(None, "", "event")  # an old subscribe event
    push(2, f"急，电话 {PHONE}")  # an old private message on a case still open
    with store.transaction() as db:
        db.execute("update comments set state = 'processed'")
    old = store.comment("main:message:0:1")
    assert old is not None
    open_case_id = _case(store, store.comment("main:message:0:2") or {}, resolve=False)
    kept = _comment(store, 9, "谢谢小编", msg="old")
    with store.transaction() as db:
        for cid in (old["id"], kept["id"]):
            db.execute("insert into label_history (comment_id, urgent, category, editor, at, "
                       "kind) values (?, 0, '', '小王', ?, 'urgent')", [cid, store.now()])
            db.execute("insert into shadow_scores (comment_id, model_version, score, band, "
                       "category, live_version, live_score, live_band, at) values "
                       "(?, 'v2', 0.1, 'below', '', 'v1', 0.1, 'below', ?)",
                       [cid, store.now()])
        db.execute("update articles set active = 0")
    clock.advance(100 * DAY)
    with store.transaction() as db:  # a recent comment keeps its rows
        db.execute("update comments set received_at = ? where id = ?",
                   [store.now(), kept["id"]])

    report = purge(store, RetentionPolicy())

    assert report.messages_deleted == 2  # the old message and the event
    assert [r["id"] for r in store.query("select id from messages")] == ["main:2"]
    assert store.comment(old["id"]) is None
    for table in ("label_history", "shadow_scores"):
        assert [r["comment_id"] for r in store.query(f"select comment_id from {table}")] == \
            [kept["id"]], table
    assert store.query("select status from cases where id = ?", [open_case_id])
    assert "1 private-message row(s)" not in report.summary()
    assert "2 private-message row(s)" in report.summary()
