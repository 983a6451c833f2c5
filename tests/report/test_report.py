"""``dianhua report``: the numbers of a period, read-only, masked, in Beijing time."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cases import CaseBook, enqueue, open_case
from bot.cli import main
from bot.clock import SHANGHAI, iso
from bot.store import Store, insert_row

# Tuesday 2026-12-01 in Beijing
DAY = datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now


def _comment(store: Store, uid: int, text: str, at: datetime, band: str, category: str, route: str) -> dict:
    key = store.watch_article("main", "2247483650", 0, title="透析患者就医指引")
    article = store.article(key)
    assert article is not None
    store.store_comments(article, [{"user_comment_id": uid, "openid": f"o{uid}", "content": text,
                                    "create_time": int(at.timestamp())}],
                         new_cursor=uid, next_poll_at=at)
    cid = f"{key}:{uid}"
    with store.transaction() as db:
        insert_row(db, "classifications", {
            "comment_id": cid, "score": 0.9, "band": band, "category": category, "category_score": 0.8,
            "top_terms": "[]", "model_version": "m-1", "rules_version": "r-1", "matched_rules": "[]",
            "route": route, "tags": "[]", "shadow_actions": "[]", "processed_at": iso(at)})
        db.execute("update comments set state = 'processed' where id = ?", [cid])
    comment = store.comment(cid)
    assert comment is not None
    return comment


def seeded(tmp_path: Path, target: str = "") -> Path:
    """A day's comments, cases and replies in ``target`` (default: a SQLite file)."""
    clock = Clock(DAY + timedelta(hours=20))
    path = tmp_path / "dianhua.db"
    store = Store(target or path, clock=clock)
    nine = DAY + timedelta(hours=9)
    _comment(store, 1, "核酸结果多久出", nine, "below", "核酸检测", "")
    _comment(store, 2, "谢谢", nine + timedelta(minutes=3), "below", "表扬感谢", "")
    urgent = _comment(store, 3, "我爸透析的医院不收了，南山区，很急，电话13800000000", nine + timedelta(minutes=5),
                      "auto", "寻医买药", "nanshan")
    review = _comment(store, 4, "孕妇能进医院吗", DAY + timedelta(hours=14), "review", "寻医买药", "duty")
    _comment(store, 5, "昨天的留言", DAY - timedelta(hours=2), "auto", "寻医买药", "nanshan")  # outside
    with store.transaction() as db:
        c1 = open_case(db, urgent, at=iso(nine + timedelta(minutes=5, seconds=2)), route="nanshan")
        enqueue(db, key="r1", comment_id=urgent["id"], case_id=c1, account="main", kind="reply",
                rule="urgent_auto", params={"text": "电话发我"}, at=iso(nine))
        db.execute("update outbox set status = 'sent', sent_at = ? where key = 'r1'",
                   [iso(nine + timedelta(minutes=5, seconds=40))])
        open_case(db, review, at=iso(DAY + timedelta(hours=14)), priority="P2", status="review", route="duty")
    clock.now = (nine + timedelta(hours=3)).astimezone(UTC)
    CaseBook(store).set_status(c1, "resolved", actor="小王", outcome="已安排透析", note="已联系 13800000000，已安排透析")
    clock.now = (DAY + timedelta(hours=20)).astimezone(UTC)
    CaseBook(store).check_deadlines(clock.now)  # the P2 review case is not late; nothing is
    store.close()
    return path


def test_the_numbers_of_a_day_as_json(tmp_path: Path, db_target: str) -> None:
    """On either engine (``--db`` is the file, or the PostgreSQL URL)."""
    seeded(tmp_path, db_target)
    out = CliRunner().invoke(main, ["report", "--db", db_target, "--since", "2026-12-01", "--until", "2026-12-01",
                                    "--format", "json"])
    assert out.exit_code == 0, out.output
    assert "13800000000" not in out.output
    r = json.loads(out.output)
    assert r["period"] == {"since": "2026-12-01 00:00", "until": "2026-12-02 00:00", "account": "",
                           "timezone": "Asia/Shanghai (北京时间)"}
    t = r["totals"]
    assert (t["comments"], t["urgent"], t["bands"], t["replies"]) == (4, 2, {"auto": 1, "review": 1, "below": 2}, 1)
    assert (t["cases_opened"], t["cases_resolved"], t["cases_late"]) == (2, 1, 0)
    assert r["reply_seconds"] == {"n": 1, "p50": 40.0, "p90": 40.0, "max": 40.0}
    assert r["resolve_seconds"]["p50"] == 3 * 3600 - 5 * 60 - 2
    assert [(c["name"], c["comments"], c["urgent"]) for c in r["by_category"]][0] == ("寻医买药", 2, 2)
    assert {c["name"]: c["cases"] for c in r["by_route"]} == {"nanshan": 1, "duty": 1, "（无）": 0}
    assert r["by_article"][0]["name"] == "透析患者就医指引"
    slow = r["slowest"][0]
    assert (slow["id"], slow["status_label"], slow["opened_at"]) == (2, "待审核", "2026-12-01 14:00")
    resolved = next(c for c in r["slowest"] if c["id"] == 1)
    assert [e["kind"] for e in resolved["timeline"]] == ["opened", "status"]
    assert "138****0000" in resolved["timeline"][1]["note"] and "138****0000" in resolved["text"]
    assert r["versions"]["model"][0]["version"] == "m-1" and r["versions"]["rules"][0]["version"] == "r-1"
    assert sum(h["comments"] for h in r["hourly"]) == 4
    assert r["hourly"][0]["hour"] == "2026-12-01 08:00"  # from an hour before the first comment


def test_markdown_and_html_are_masked_and_the_database_is_untouched(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    out = CliRunner().invoke(main, ["report", "--db", str(db), "--since", "2026-12-01", "--until", "2026-12-01",
                                    "--format", "md"])
    assert out.exit_code == 0, out.output
    assert "- 留言 **4** 条，紧急 **2** 条（自动 1，审核 1）" in out.output
    assert "| 留言 → 公开回复 | 1 | 40秒 | 40秒 | 40秒 |" in out.output
    html = tmp_path / "report.html"
    out = CliRunner().invoke(main, ["report", "--db", str(db), "--since", "2026-12-01", "--until", "2026-12-01",
                                    "--out", str(html)])
    assert out.exit_code == 0, out.output
    text = html.read_text(encoding="utf-8")
    assert "13800000000" not in text and text.count("data:image/png;base64,") == 3
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_a_wrong_path_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "dianhua.db"
    out = CliRunner().invoke(main, ["report", "--db", str(missing)])
    assert out.exit_code == 1 and "no database at" in out.output
    assert not (tmp_path / "nope").exists()
    db = seeded(tmp_path)
    out = CliRunner().invoke(main, ["report", "--db", str(db), "--out", str(tmp_path / "no" / "r.html")])
    assert out.exit_code == 2 and "does not exist" in out.output
    out = CliRunner().invoke(main, ["report", "--db", str(db), "--since", "yesterday"])
    assert out.exit_code == 2 and "is not a date or time" in out.output
    out = CliRunner().invoke(main, ["report", "--db", str(db), "--account", "other"])
    assert out.exit_code == 1 and "no comments from account 'other'" in out.output and "accounts there: main" in out.output
    out = CliRunner().invoke(main, ["report", "--db", str(db), "--account", "main", "--since", "2026-12-01",
                                    "--until", "2026-12-01", "--format", "json"])
    assert out.exit_code == 0 and json.loads(out.output)["totals"]["comments"] == 4
    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello", encoding="utf-8")
    out = CliRunner().invoke(main, ["report", "--db", str(not_db)])
    assert out.exit_code == 1
    assert "cannot read the database" in out.output or "not a dianhua database" in out.output


def test_private_messages_are_counted_apart_and_private_answers_too(tmp_path: Path) -> None:
    """Issues 13 + 14: a reader's private messages are in the period's texts, said apart (私信),
    and the bot's private answers are counted next to the public replies."""
    from bot.inbox import record_message
    from connectors.wechat.push import PushMessage

    db = seeded(tmp_path)
    at = DAY + timedelta(hours=10)
    store = Store(db, clock=Clock(at))
    record_message(store, "main", PushMessage("gh_x", "oPrivate", int(at.timestamp()), "text", 77,
                                              "孩子发烧，医院不收，很急"), iso(at))
    cid = "main:message:0:77"
    with store.transaction() as db_:
        enqueue(db_, key="m1", comment_id=cid, case_id=None, account="main", kind="message",
                rule="urgent_auto", params={"text": "电话发我", "openid": "oPrivate"}, at=iso(at))
        db_.execute("update outbox set status = 'sent', sent_at = ? where key = 'm1'",
                    [iso(at + timedelta(seconds=3))])
    store.close()
    out = CliRunner().invoke(main, ["report", "--db", str(db), "--since", "2026-12-01", "--until",
                                    "2026-12-01", "--format", "json"])
    assert out.exit_code == 0, out.output
    t = json.loads(out.output)["totals"]
    assert t["comments"] == 5 and t["private_messages"] == 1
    assert t["replies"] == 1 and t["private_answers"] == 1
    md = CliRunner().invoke(main, ["report", "--db", str(db), "--since", "2026-12-01", "--until",
                                   "2026-12-01", "--format", "md"]).output
    assert "含私信 1 条" in md and "私信回复 1 条" in md
