"""The desk in headless Chromium (Debian's chromium, driven by Playwright with executable_path).

A real uvicorn server over a real Store. Sign in, watch an urgent case written to the store
(as the daemon would) appear in the queue without a reload, work it to resolved, and check
that hostile comment text renders as text. Set DESK_SCREENSHOTS=docs/screenshots to write the
queue and case screenshots for the docs.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import PASSWORD, PHONE, XSS, Host, add_comment, make_host, open_urgent

from bot.cases import attach_comment, open_case
from bot.clock import utcnow
from bot.web import mount_desk
from bot.web.users import UserBook

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LIVE_TIMEOUT_MS = 15_000  # the queue polls every 4 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, Host]]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; no `playwright install`)")
    import uvicorn
    from starlette.applications import Starlette

    host = make_host(tmp_path, utcnow)  # type: ignore[arg-type]  # real time for a real browser
    UserBook(host.store).add("小王", PASSWORD, role="caller")  # may look at full numbers
    app = Starlette()
    mount_desk(app, host)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name="desk-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # startup only; everything after waits on events in the page
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the desk server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", host
    server.should_exit = True
    thread.join(timeout=10)
    host.store.close()


def _seed_background(host: Host) -> None:
    s = host.store
    c = add_comment(s, 1, "我爸每周三次透析，小区封控出不去，医院那边说要有通行证才能去，怎么办？",
                    openid="oDialysis01", score=0.97, category="就医")
    case = open_urgent(s, c, minutes_ago=40)
    follow = add_comment(s, 2, "联系电话 138****5678，麻烦了", openid="oDialysis01", score=0.1,
                         band="below")
    with s.transaction() as db:
        attach_comment(db, case, follow, at=s.now(), status="contact_received")
    c = add_comment(s, 3, "黄码了还能去医院做检查吗？孩子发烧三天了", openid="oFever01",
                    score=0.71, band="review", category="健康码")
    open_urgent(s, c, priority="P2", status="review", reply=None, minutes_ago=12)
    add_comment(s, 4, "请问核酸结果一般多久出？", openid="oQuestion1", score=0.08, band="below",
                category="检测结果")


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = os.environ.get("DESK_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(path.read_bytes())


def test_sign_in_watch_a_case_arrive_work_it_and_escape_hostile_text(
    live: tuple[str, Host], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, host = live
    store = host.store
    _seed_background(host)
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 820}, locale="zh-CN",
                                    timezone_id="Asia/Shanghai")
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))

            # sign in
            page.goto(url + "/")
            expect(page).to_have_url(re.compile(r"/login\?next="))
            page.fill("input[name=name]", "小王")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("main h1")).to_contain_text("案件队列")
            expect(page.locator("#queue-rows tr[data-id]")).to_have_count(2)
            page.click("#sound-toggle")  # a user gesture, so the P1 beep may play

            # an urgent comment arrives, as the daemon writes it: the queue shows it without reload
            comment = add_comment(
                store, 10, "我老婆怀孕了需要住院，医院要核酸结果，已经晚了12个小时，"
                "能不能优先安排，因为真的挺急", openid="oPregnant01", score=0.98)
            case_id = open_urgent(store, comment)
            row = page.locator(f"#queue-rows tr[data-id='{case_id}']")
            expect(row).to_be_visible(timeout=LIVE_TIMEOUT_MS)
            expect(page).to_have_title(re.compile("新 P1"))
            expect(page.locator("#new-p1")).to_be_visible()
            expect(row.locator(".left")).to_contain_text("剩余 00:0")
            _shot(page, tmp_path, "queue.png")

            # hostile text arrives through the same live path and stays text
            bad = add_comment(store, 20, "急 " + XSS, openid="oHostile01", score=0.93)
            bad_case = open_urgent(store, bad, priority="P2", status="review", reply=None)
            bad_row = page.locator(f"#queue-rows tr[data-id='{bad_case}'] td.text")
            expect(bad_row).to_contain_text("<script>alert(1)</script>", timeout=LIVE_TIMEOUT_MS)
            expect(bad_row).to_contain_text("<img src=x onerror=alert(1)>")
            assert page.locator("#queue-rows img, #queue-rows td.text script").count() == 0

            # the writer leaves a number; the daemon attaches it to the case
            follow = add_comment(store, 11, f"我的电话 {PHONE}", openid="oPregnant01",
                                 score=0.1, band="below")
            with store.transaction() as db:
                attach_comment(db, case_id, follow, at=store.now())

            # open it and work it to resolved
            row.locator("a").click()
            expect(page.locator("#contact-phone")).to_have_text("138****0000")  # masked first
            page.click("#reveal")  # a caller may look; the look goes on the record
            expect(page.locator("#contact-phone")).to_have_text(PHONE)
            expect(page.locator("#reveal-note")).to_be_visible()
            assert [e["actor"] for e in host.cases.events(case_id) if e["kind"] == "reveal"] \
                == ["小王"]
            expect(page.locator("#origin-text")).to_contain_text("因为真的挺急")
            _shot(page, tmp_path, "case.png")
            page.click("#btn-contacted")
            expect(page.locator(".bar .status")).to_have_text("已取得联系")
            page.select_option("#handoff-group", "nanshan")
            page.click("#btn-handoff")
            expect(page.locator(".bar .status")).to_have_text("已转办")
            page.fill("#outcome", "医院已查到样本，结果已出，已安排入院")
            page.click("#btn-resolve")
            expect(page.locator(".bar .status")).to_have_text("已办结")
            expect(page.locator("#timeline")).to_contain_text("小王")
            case = host.cases.get(case_id)
            assert case["status"] == "resolved"
            assert [e["to_status"] for e in host.cases.events(case_id)
                    if e["actor"] == "小王" and e["kind"] != "reveal"] == [
                        "contact_received", "handed_off", "resolved"]

            # the hostile comment on its case page and in the stream: text, no elements, no dialog
            page.goto(f"{url}/case/{bad_case}")
            expect(page.locator("#origin-text")).to_contain_text(
                "<script>alert(1)</script><img src=x onerror=alert(1)>")
            assert page.locator("#origin-text *").count() == 0
            page.goto(f"{url}/stream")
            expect(page.locator(f"tr[data-comment='{bad['id']}'] td.text")).to_contain_text(
                "<img src=x onerror=alert(1)>")
            assert page.locator("main img").count() == 0
            # a comment the classifier rated 'below' but the safety net caught: editors see why
            net = add_comment(store, 30, "产妇等着住院要核酸证明才能入住，什么时候能出结果啊？",
                              openid="oNet01", score=0.003, band="below", rules=("safety_net",))
            with store.transaction() as db:
                net_case = open_case(db, net, at=store.now(), priority="P2", route="nanshan",
                                     status="review", reason="安全网：产妇 + 住院 + 等着")
            page.goto(url + "/")
            expect(page.locator(f"#queue-rows tr[data-id='{net_case}'] .reason")).to_have_text(
                "安全网：产妇 + 住院 + 等着")
            page.goto(f"{url}/case/{net_case}")
            expect(page.locator("#case-reason")).to_be_visible()
            expect(page.locator("#case-reason")).to_contain_text("安全网：产妇 + 住院 + 等着")
            page.goto(f"{url}/status")
            expect(page.locator("#rules-version")).to_have_text("r-test1")
        finally:
            browser.close()
    assert dialogs == []
    assert errors == []


def test_a_copied_cookie_is_dead_after_sign_out_and_numbers_are_masked_in_any_spelling(
    live: tuple[str, Host],
) -> None:
    """Issue 17 in a real browser: server-side sessions, and masking of odd spellings."""
    from playwright.sync_api import expect, sync_playwright

    url, host = live
    store = host.store
    spelled = ("138.0000.0000", "138 - 0000 - 0000", "138\u200b0000\u200b0000", "一三八零零零零零零零零")
    for i, text in enumerate(spelled):
        c = add_comment(store, 30 + i, f"很急，电话 {text} 请联系", openid=f"oOdd{i}", score=0.97)
        open_urgent(store, c)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(locale="zh-CN", timezone_id="Asia/Shanghai")
            page.goto(url + "/login")
            page.fill("input[name=name]", "小王")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("#queue-rows tr[data-id]")).to_have_count(len(spelled))
            queue_text = page.locator("#queue-rows").inner_text()
            assert queue_text.count("138****0000") == len(spelled)
            assert "0000.0000" not in queue_text and "零零零零" not in queue_text
            stolen = page.context.cookies()
            page.click("form.who button")  # sign out
            expect(page).to_have_url(re.compile(r"/login"))

            thief = browser.new_context()
            thief.add_cookies(stolen)
            other = thief.new_page()
            response = other.goto(url + "/api/queue")
            assert response is not None and response.status == 401
            other.goto(url + "/")
            expect(other).to_have_url(re.compile(r"/login\?next="))
            thief.close()
        finally:
            browser.close()
