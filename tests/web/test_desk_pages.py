"""The desk over HTTP: every route, the queue and its JSON feed, the case page, stream, status."""

from __future__ import annotations

import re

import pytest
from desk_helpers import PHONE, XSS, FakeClock, Host, add_comment, csrf_of, open_urgent, sign_in
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.web import mount_desk
from bot.web.security import CSP
from bot.web.users import UserBook

PAGES = ["/", "/stream", "/status", "/case/1"]


def seed_case(host: Host, text: str = "孕妇急需核酸结果，能不能优先安排") -> int:
    return open_urgent(host.store, add_comment(host.store, 1, text))


# -- sign-in guard and headers ------------------------------------------------------------
@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_sign_in(client: TestClient, host: Host, path: str) -> None:
    seed_case(host)
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_json_feed_needs_sign_in(client: TestClient) -> None:
    r = client.get("/api/queue")
    assert r.status_code == 401
    assert r.json()["error"]


@pytest.mark.parametrize("path", ["/case/1", "/stream/label", "/logout"])
def test_posts_need_sign_in_and_change_nothing(client: TestClient, host: Host, path: str) -> None:
    case_id = seed_case(host)
    r = client.post(path, data={"action": "note", "note": "x", "comment_id": "main:2247483650:0:1",
                                "urgent": "0"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert [e["kind"] for e in host.cases.events(case_id)] == ["opened"]
    assert host.store.query("select count(*) as n from labels")[0]["n"] == 0


def test_healthz_and_metrics_of_the_host_app_stay_open(host: Host) -> None:
    async def healthz(_r: object) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/healthz", healthz), Route("/metrics", healthz)])
    mount_desk(app, host)
    with TestClient(app) as c:
        for path in ("/healthz", "/metrics"):
            r = c.get(path)
            assert r.status_code == 200 and r.json() == {"status": "ok"}
            assert r.headers["content-security-policy"] == CSP
        assert c.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/login", "/", "/static/desk.js", "/static/desk.css", "/nope"])
def test_csp_on_every_response(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'")
    assert r.headers["x-content-type-options"] == "nosniff"


def test_pages_have_no_inline_script_or_handlers(editor: TestClient, host: Host) -> None:
    case_id = seed_case(host)
    for path in ["/", "/stream", "/status", f"/case/{case_id}", "/login"]:
        html = editor.get(path).text
        assert "<script>" not in html and "style=" not in html
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_session_cookie_is_httponly_and_samesite_strict(client: TestClient) -> None:
    r = client.get("/login")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


# -- queue --------------------------------------------------------------------------------
def test_queue_orders_by_priority_then_deadline_and_masks_numbers(editor: TestClient,
                                                                  host: Host) -> None:
    p2 = open_urgent(host.store, add_comment(host.store, 1, "帮帮忙看看", band="review",
                                             score=0.6), priority="P2", status="review")
    host.clock.advance(60)
    p1_late = open_urgent(host.store, add_comment(host.store, 2, f"急 电话{PHONE}"))
    host.clock.advance(600)  # the first P1's 5-minute first-reply deadline has passed
    p1 = open_urgent(host.store, add_comment(host.store, 3, "急需住院"))
    closed = open_urgent(host.store, add_comment(host.store, 4, "急 已经好了"))
    host.cases.set_status(closed, "false_positive", actor="小王")
    html = editor.get("/").text
    ids = [int(x) for x in re.findall(r'<tr class="[^"]*" data-id="(\d+)"', html)]
    assert ids == [p1_late, p1, p2]
    assert PHONE not in html and "138****0000" in html
    assert "超时 00:05:00" in html and "剩余 00:05:00" in html and "剩余 2天 23:49:00" in html
    assert 'class="prio-P1 late"' in html


def test_queue_json_reports_new_p1_and_renders_rows(editor: TestClient, host: Host) -> None:
    first = editor.get("/api/queue").json()
    assert first["count"] == 0 and first["p1"] == [] and "暂无待办案件" in first["html"]
    case_id = seed_case(host, XSS)
    data = editor.get("/api/queue").json()
    assert data["count"] == 1 and data["p1"] == [case_id]
    assert data["cases"][0]["due"] == "first_reply" and data["cases"][0]["seconds_left"] == 300
    assert f'href="/case/{case_id}"' in data["html"]
    assert "<script>" not in data["html"] and "&lt;script&gt;" in data["html"]
    assert editor.get("/api/queue").headers["cache-control"] == "no-store"


# -- case page ----------------------------------------------------------------------------
def test_case_page_shows_thread_scores_rules_phone_and_timeline(editor: TestClient,
                                                                host: Host) -> None:
    origin = add_comment(host.store, 1, "孕妇急需核酸结果，能不能优先安排，因为真的挺急")
    case_id = open_urgent(host.store, origin)
    host.clock.advance(120)
    add_comment(host.store, 2, "我的手机 13800000000 谢谢", band="below", score=0.1)
    add_comment(host.store, 3, "别人的留言", openid="oSomeoneElse", band="below", score=0.1)
    with host.store.transaction() as db:
        db.execute("update cases set contact_phone = ? where id = ?", [PHONE, case_id])
    html = editor.get(f"/case/{case_id}").text
    assert "孕妇急需核酸结果" in html  # original comment
    assert "机器人回复" in html and "电话发我" in html  # the bot's reply from the outbox
    assert "我的手机 138****0000" in html and "别人的留言" not in html  # follow-ups: same writer
    assert "0.95" in html and "紧急（自动）" in html and "核酸" in html  # score, band, terms
    assert "urgent_auto" in html and "faq_health_code" in html  # rules fired / evaluated
    assert 'id="contact-phone">138****0000<' in html and PHONE not in html  # masked (issue 17)
    UserBook(host.store).set_access("小王", role="caller")  # a caller may look, on the record
    sign_in(editor)
    page = editor.get(f"/case/{case_id}")
    html = editor.post(f"/case/{case_id}", data={"csrf": csrf_of(page.text),
                                                 "action": "reveal"}).text
    assert f'id="contact-phone">{PHONE}<' in html  # the extracted phone, in full, only here
    assert "开案" in html and "bot" in html  # the timeline
    assert PHONE not in editor.get("/").text and PHONE not in editor.get("/stream").text


def test_unknown_case_is_404(editor: TestClient) -> None:
    r = editor.get("/case/999")
    assert r.status_code == 404 and "不存在" in r.text


def post_action(editor: TestClient, case_id: int, **form: str) -> str:
    page = editor.get(f"/case/{case_id}")
    r = editor.post(f"/case/{case_id}", data={"csrf": csrf_of(page.text), **form})
    assert r.status_code == 200  # after the 303 back to the case page
    return r.text


def test_work_a_case_to_resolved_every_step_is_an_event_with_the_editor(editor: TestClient,
                                                                        host: Host) -> None:
    case_id = seed_case(host)
    assert "已记录" in post_action(editor, case_id, action="contacted", note="已打通电话")
    post_action(editor, case_id, action="note", note=f"家属电话 {PHONE}，医院在查")
    post_action(editor, case_id, action="assign_me")
    html = post_action(editor, case_id, action="handoff", group="nanshan", note="请核查样本")
    assert "已转交：南山区卫健局" in html  # the display name, not the code
    assert "办结时请填写处理结果" in post_action(editor, case_id, action="resolve", outcome=" ")
    html = post_action(editor, case_id, action="resolve", outcome="结果已出，已入院")
    assert "案件已办结" in html
    case = host.cases.get(case_id)
    assert case["status"] == "resolved" and case["outcome"] == "结果已出，已入院"
    assert case["assignee"] == "小王" and case["route"] == "nanshan"
    events = host.cases.events(case_id)
    mine = [e for e in events if e["actor"] == "小王"]
    assert [e["kind"] for e in mine] == ["status", "note", "assign", "status", "status"]
    assert [e["to_status"] for e in mine if e["kind"] == "status"] == [
        "contact_received", "handed_off", "resolved"]
    assert PHONE not in " ".join(e["note"] for e in events)  # notes are masked
    notify = host.store.query("select * from outbox where case_id = ? and kind = 'notify'",
                              [case_id])
    assert len(notify) == 1 and '"group": "nanshan"' in notify[0]["params"]
    assert "重新打开" in html  # a closed case can be reopened


def test_hand_off_to_a_department_typed_in(editor: TestClient, host: Host) -> None:
    case_id = seed_case(host)
    post_action(editor, case_id, action="handoff", group="", group_other="福田区疾控中心")
    assert host.cases.get(case_id)["route"] == "福田区疾控中心"
    assert "请选择或填写" in post_action(editor, case_id, action="handoff", group="")


def test_false_positive_from_the_case_page_is_labelled(editor: TestClient, host: Host) -> None:
    case_id = seed_case(host)
    post_action(editor, case_id, action="false_positive")
    assert host.cases.get(case_id)["status"] == "false_positive"
    label = host.store.query("select * from labels")[0]
    assert label["urgent"] == 0 and label["editor"] == "小王"
    post_action(editor, case_id, action="reopen")
    assert host.cases.get(case_id)["status"] == "review"


def test_forbidden_transition_is_refused_in_plain_words(editor: TestClient, host: Host) -> None:
    case_id = seed_case(host)
    post_action(editor, case_id, action="resolve", outcome="好了")
    html = post_action(editor, case_id, action="contacted")
    assert "flash-error" in html and host.cases.get(case_id)["status"] == "resolved"
    assert "未知操作" in post_action(editor, case_id, action="explode")


# -- stream -------------------------------------------------------------------------------
def label_post(editor: TestClient, comment_id: str, urgent: str) -> str:
    page = editor.get("/stream")
    r = editor.post("/stream/label", data={"csrf": csrf_of(page.text), "comment_id": comment_id,
                                           "urgent": urgent, "band": "below"})
    assert r.status_code == 200 and str(r.url).endswith("/stream?band=below")
    return r.text


def test_stream_lists_and_filters_comments(editor: TestClient, host: Host) -> None:
    add_comment(host.store, 1, "急需核酸结果", category="检测结果")
    add_comment(host.store, 2, "黄码怎么办", band="review", score=0.6, category="健康码")
    add_comment(host.store, 3, f"谢谢 {PHONE}", band="below", score=0.05, category="其他")
    html = editor.get("/stream").text
    assert "急需核酸结果" in html and "黄码怎么办" in html and "138****0000" in html
    assert PHONE not in html
    assert "0.60" in html
    only_review = editor.get("/stream", params={"band": "review"}).text
    assert "黄码怎么办" in only_review and "急需核酸结果" not in only_review
    by_cat = editor.get("/stream", params={"category": "检测结果"}).text
    assert "急需核酸结果" in by_cat and "黄码怎么办" not in by_cat
    by_text = editor.get("/stream", params={"q": "黄码"}).text
    assert "黄码怎么办" in by_text and "急需核酸结果" not in by_text


def test_mark_urgent_opens_a_review_case_and_writes_a_label(editor: TestClient,
                                                            host: Host) -> None:
    c = add_comment(host.store, 1, "我爸透析被拒收了", band="below", score=0.2)
    html = label_post(editor, c["id"], "1")
    assert "开立案件" in html
    case = host.store.query("select * from cases where comment_id = ?", [c["id"]])[0]
    assert case["priority"] == "P2" and case["status"] == "review"
    opened = host.cases.events(case["id"])[0]
    assert opened["actor"] == "小王" and opened["kind"] == "opened"
    label = host.store.query("select * from labels where comment_id = ?", [c["id"]])[0]
    assert label["urgent"] == 1 and label["editor"] == "小王" and label["category"] == "检测结果"
    assert "已标记为紧急" in label_post(editor, c["id"], "1")  # twice: still one case
    assert host.store.query("select count(*) as n from cases")[0]["n"] == 1


def test_mark_not_urgent_labels_and_closes_the_open_case(editor: TestClient, host: Host) -> None:
    c = add_comment(host.store, 1, "急急急 抢购口罩")
    case_id = open_urgent(host.store, c)
    html = label_post(editor, c["id"], "0")
    assert f"案件 #{case_id} 记为误报" in html
    assert host.cases.get(case_id)["status"] == "false_positive"
    assert host.store.query("select urgent from labels")[0]["urgent"] == 0
    # marking it urgent again reopens the case for review
    assert "重新打开" in label_post(editor, c["id"], "1")
    assert host.cases.get(case_id)["status"] == "review"


def test_label_unknown_comment(editor: TestClient) -> None:
    assert "找不到这条留言" in label_post(editor, "main:1:0:404", "1")


# -- status -------------------------------------------------------------------------------
def test_status_shows_rules_model_polling_and_counts(editor: TestClient, host: Host) -> None:
    seed_case(host)
    host.rules.last_error = "rules.yaml:14:7 rules[2].when.min_score: must be between 0 and 1"
    html = editor.get("/status").text
    assert "r-test1" in html and "rules[2].when.min_score" in html
    assert "0.1.0+test" in html and "thresholds" in html
    # the model card is a table of plain values, not JSON (issue 12 #16)
    assert re.search(r"阈值：待审核 / 自动回复</th><td>0.5 / 0.9<", html)
    assert "<th>thresholds.review</th><td>0.5</td>" in html and "&#34;" not in html
    assert "main" in html and "3 秒" in html  # poll lag from the daemon's health()
    assert re.search(r"新开案件 P1 / P2 / P3</th><td>1 / 0 / 0", html)
    assert re.search(r"收到留言</th><td>1<", html)


def test_standalone_desk_app(tmp_path: object) -> None:
    from pathlib import Path

    from bot.config import Config
    from bot.store import Store
    from bot.web import create_desk_app
    from bot.web.users import UserBook

    assert isinstance(tmp_path, Path)
    cfg = Config(db=tmp_path / "d.db", rules=tmp_path / "missing.yaml",
                 web_secret="s" * 32)
    Store(cfg.db).close()  # the daemon made it; `dianhua web` never creates a database
    app = create_desk_app(cfg)
    UserBook(app.state.host.store).add("editor1", "long-enough-pw")
    with TestClient(app) as c:
        assert c.get("/healthz").json()["status"] == "ok"
        assert c.get("/status", follow_redirects=False).status_code == 303
        page = c.get("/login")
        c.post("/login", data={"name": "editor1", "password": "long-enough-pw",
                               "csrf": csrf_of(page.text)})
        html = c.get("/status").text
        assert "missing.yaml" in html  # no rules file here: still serving
        assert "dianhua urgent-request classifier" in html  # the bundled model's card
        assert "没有守护进程的心跳" in html  # no daemon ever wrote to this database: said so
        assert "守护进程状态：ok" not in html
    app.state.host.store.close()


def test_standalone_desk_shows_the_daemons_versions_and_heartbeat_age(tmp_path: object) -> None:
    """Issue 12 #17: `dianhua web` reads what the daemon wrote; it never claims the daemon is ok."""
    from datetime import timedelta
    from pathlib import Path

    from bot.config import Config
    from bot.heartbeat import publish
    from bot.store import Store
    from bot.web import create_desk_app
    from bot.web.users import UserBook

    assert isinstance(tmp_path, Path)
    clock = FakeClock()
    cfg = Config(db=tmp_path / "d.db", rules=Path("rules.yaml"), web_secret="s" * 32)
    daemon_store = Store(cfg.db, clock=clock)  # the daemon, another process, same database
    publish(daemon_store, at=clock() - timedelta(seconds=7), rules_version="live-rules-42",
            rules_error=None, model_version="0.9.9+live", started_at=clock() - timedelta(hours=3))
    app = create_desk_app(cfg, clock=clock)
    UserBook(app.state.host.store).add("editor1", "long-enough-pw")
    with TestClient(app) as c:
        health = c.get("/healthz").json()
        assert health["component"] == "desk" and health["daemon"]["rules_version"] == "live-rules-42"
        assert health["daemon"]["heartbeat_age_seconds"] == 7.0
        page = c.get("/login")
        c.post("/login", data={"name": "editor1", "password": "long-enough-pw",
                               "csrf": csrf_of(page.text)})
        html = c.get("/status").text
        assert 'id="rules-version">live-rules-42<' in html
        assert 'id="model-version">0.9.9+live<' in html
        assert "7 秒前" in html and "守护进程状态：ok" not in html
        clock.advance(600)  # the daemon stopped writing: the desk says so
        html = c.get("/status").text
        assert "607 秒前" in html and "守护进程可能没有运行" in html
    app.state.host.store.close()
    daemon_store.close()


def test_standalone_desk_shows_a_paused_account_and_the_daemons_model_fallback(
        tmp_path: object) -> None:
    """Issues 12 + 17 on `dianhua web`: the daemon (another process) paused an account that has
    no article yet and runs on the keyword fallback; the stand-alone desk says both, and its
    open /healthz says *that* the model fell back, never why."""
    from datetime import timedelta
    from pathlib import Path

    from bot.config import Config
    from bot.heartbeat import publish
    from bot.pauses import PauseBook
    from bot.store import Store
    from bot.web import create_desk_app
    from bot.web.users import UserBook

    assert isinstance(tmp_path, Path)
    clock = FakeClock()
    cfg = Config(db=tmp_path / "d.db", rules=Path("rules.yaml"), web_secret="s" * 32)
    daemon_store = Store(cfg.db, clock=clock)
    publish(daemon_store, at=clock(), rules_version="r1", rules_error=None,
            model_version="keywords", started_at=clock() - timedelta(hours=1),
            model_error="/var/lib/dianhua/models/x/urgent.skops: not a skops file")
    PauseBook(daemon_store).pause("second", reason="credentials refused (errcode 40164)",
                                  errcode=40164, until=clock() + timedelta(hours=1),
                                  next_probe_at=clock() + timedelta(minutes=5))
    app = create_desk_app(cfg, clock=clock)
    UserBook(app.state.host.store).add("editor1", "long-enough-pw")
    with TestClient(app) as c:
        daemon = c.get("/healthz").json()["daemon"]
        assert daemon["model_fallback"] is True and "skops" not in str(daemon)
        page = c.get("/login")
        c.post("/login", data={"name": "editor1", "password": "long-enough-pw",
                               "csrf": csrf_of(page.text)})
        html = c.get("/status").text
        assert "已暂停轮询：credentials refused (errcode 40164)" in html
        assert "dianhua accounts resume second" in html
        assert "正以关键词兜底运行" in html and "not a skops file" in html
        assert "分类模型无法加载" in c.get("/").text  # the banner on every page
    app.state.host.store.close()
    daemon_store.close()


def test_the_daemon_writes_its_heartbeat(tmp_path: object) -> None:
    from pathlib import Path

    from bot.config import Config
    from bot.daemon import Daemon
    from bot.heartbeat import read

    assert isinstance(tmp_path, Path)
    clock = FakeClock()

    class Model:
        version = "0.1.0+fake"

        def predict_many(self, texts: list[str], batch_size: int = 256) -> list[object]:
            return []

    daemon = Daemon(Config(db=tmp_path / "d.db", rules=Path("rules.yaml"), accounts=[],
                           http_enabled=False), clock=clock, model=Model())  # type: ignore[arg-type]
    daemon.tick()
    beat = read(daemon.store)
    assert beat is not None and beat.at == clock() and beat.model_version == "0.1.0+fake"
    assert beat.rules_version == daemon.rules.current.version
    # the daemon's own desk shows the daemon's state directly, not a heartbeat
    from starlette.applications import Starlette

    from bot.web import mount_desk
    from bot.web.users import UserBook

    app = Starlette()
    mount_desk(app, daemon)
    UserBook(daemon.store).add("editor1", "long-enough-pw")
    with TestClient(app) as c:
        page = c.get("/login")
        c.post("/login", data={"name": "editor1", "password": "long-enough-pw",
                               "csrf": csrf_of(page.text)})
        html = c.get("/status").text
    assert f'id="rules-version">{daemon.rules.current.version}<' in html
    assert "心跳" not in html and "守护进程状态" in html
    daemon.store.close()


def test_bot_http_create_app_mounts_the_desk(host: Host) -> None:
    from bot.http import create_app

    class Metrics:
        def render(self) -> bytes:
            return b"dianhua_up 1\n"

    class DaemonLike:
        def __init__(self, h: Host) -> None:
            self.store, self.cases, self.config, self.clock = h.store, h.cases, h.config, h.clock
            self.rules, self.model, self.metrics = h.rules, h.model, Metrics()
            self.health = h.health

    app = create_app(DaemonLike(host))  # type: ignore[arg-type]
    with TestClient(app) as c:
        assert c.get("/healthz").json()["status"] == "ok"
        assert c.get("/metrics").text == "dianhua_up 1\n"
        assert c.get("/metrics").headers["content-security-policy"] == CSP
        assert c.get("/", follow_redirects=False).headers["location"] == "/login?next=%2F"
        assert c.get("/login").status_code == 200


def test_public_reply_from_the_case_page_is_checked_and_sent_once(editor: TestClient,
                                                                  host: Host) -> None:
    """Issue 12 #16: a reply with a number is refused; a comment gets one reply."""
    comment = add_comment(host.store, 1, "孩子高烧，很急", openid="oKid")
    case_id = open_urgent(host.store, comment, reply=None)
    html = post_action(editor, case_id, action="reply", reply=f"请打 {PHONE}")
    assert "不能有电话号码" in html
    html = post_action(editor, case_id, action="reply", reply="电话发我，我们马上联系")
    assert "公开回复已排队发送" in html and 'id="btn-reply"' not in html
    assert "每条留言只回复一次" in post_action(editor, case_id, action="reply", reply="再来一次")
    rows = host.store.query("select * from outbox where kind = 'reply'")
    assert len(rows) == 1 and rows[0]["rule"] == "editor:小王"


def test_refused_moves_and_limits_are_in_chinese(editor: TestClient, host: Host) -> None:
    case_id = seed_case(host)
    assert "办结时请填写处理结果" in post_action(editor, case_id, action="resolve", outcome="")
    assert "备注太长" in post_action(editor, case_id, action="note", note="长" * 2001)
    post_action(editor, case_id, action="false_positive")
    html = post_action(editor, case_id, action="contacted")
    assert "不能改为“已取得联系”" in html and "Traceback" not in html


def test_stream_duplicate_closes_a_second_case_without_a_not_urgent_label(editor: TestClient,
                                                                          host: Host) -> None:
    """Issue 12 #12: 重复 instead of 不紧急 for the writer's second case."""
    first = add_comment(host.store, 1, "我妈胸痛，很急", openid="oMum")
    one = open_urgent(host.store, first)
    second = add_comment(host.store, 2, "还是胸痛，很急，快来人", openid="oMum")
    two = open_urgent(host.store, second)  # e.g. opened before the first was attached
    html = label_post(editor, second["id"], "dup")
    assert f"案件 #{two} 已记为重复（与案件 #{one} 重复）" in html
    assert host.cases.get(two)["status"] == "duplicate"
    assert host.cases.get(one)["status"] == "awaiting_contact"
    assert host.store.query("select * from labels") == []
    assert "没有未结案件" in label_post(editor, second["id"], "dup")
