"""Issue 12 in headless Chromium: the desk on a phone, the P1 banner, the stream's attachments,
and every action from the case page (reply, raise to P1, hand off by name, notifications)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import PASSWORD, PHONE, Host, add_comment, open_urgent
from test_desk_browser import ARGS, CHROMIUM, LIVE_TIMEOUT_MS, _shot, live  # noqa: F401  (fixture)

from bot.cases import attach_comment, enqueue

pytestmark = pytest.mark.browser

PHONE_VIEW = {"width": 390, "height": 844}


def _sign_in(page: Any, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url + "/login")
    page.fill("input[name=name]", "小王")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("main h1")).to_contain_text("案件队列")


def _no_sideways_scroll(page: Any) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, "
                           "document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{page.url}: content is {widths[0]} px wide on a {widths[1]} px screen"


def _browser(p: Any) -> Any:
    return p.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def test_the_queue_on_a_phone_and_the_p1_banner_points_at_its_row(
    live: tuple[str, Host], tmp_path: Path,  # noqa: F811
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, host = live
    s = host.store
    for i in range(6):  # a queue with long comments and every column filled
        c = add_comment(s, 100 + i, "我爸每周三次透析，小区封控出不去，医院那边说要有通行证才能去，"
                        "已经两天没做了，腿都肿了，谁能帮帮我们，南山区粤海街道" * 2,
                        openid=f"oLong{i}", score=0.97)
        open_urgent(s, c, minutes_ago=10 + i)
    with s.transaction() as db:
        db.execute("update cases set contact_phone = ?, assignee = ? where id = 1",
                   [PHONE, "小王"])  # the signed-in editor: the assignee may reveal the number
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport=PHONE_VIEW, locale="zh-CN",
                                    timezone_id="Asia/Shanghai", is_mobile=True, has_touch=True)
            _sign_in(page, url)
            expect(page.locator("#queue-rows tr[data-id]")).to_have_count(6)
            header = page.locator("header.top")
            expect(header).to_be_in_viewport()
            expect(page.locator("header.top nav a", has_text="留言流")).to_be_in_viewport()
            _no_sideways_scroll(page)

            # a new P1 arrives: the banner names it and its link goes to the row
            fresh = add_comment(s, 200, "孕妇见红，医院要核酸结果，真的很急", openid="oNew", score=0.99)
            case_id = open_urgent(s, fresh)
            link = page.locator("#new-p1-link")
            expect(link).to_be_visible(timeout=LIVE_TIMEOUT_MS)
            expect(link).to_have_attribute("href", f"#case-{case_id}")
            expect(link).to_contain_text(f"#{case_id}")
            _no_sideways_scroll(page)
            _shot(page, tmp_path, "queue-phone.png")
            link.click()
            expect(page).to_have_url(re.compile(f"#case-{case_id}$"))
            expect(page.locator(f"#case-{case_id}")).to_be_in_viewport()

            # the case page and the stream fit the phone too; the number is a tel: link
            page.goto(f"{url}/case/1")
            phone = page.locator("#contact-phone")
            expect(phone).to_have_text("138****0000")  # masked until the assignee reveals it
            page.click("#reveal")
            expect(phone).to_have_attribute("href", f"tel:{PHONE}")
            _no_sideways_scroll(page)
            page.goto(f"{url}/stream")
            _no_sideways_scroll(page)
            page.goto(f"{url}/status")
            _no_sideways_scroll(page)
        finally:
            browser.close()


def test_stream_shows_attachments_and_mark_urgent_attaches_to_the_open_case(
    live: tuple[str, Host],  # noqa: F811
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, host = live
    s = host.store
    first = add_comment(s, 1, "我妈胸痛，在南山区，很急", openid="oMother01", score=0.96)
    case_id = open_urgent(s, first)
    follow = add_comment(s, 2, "还没人联系我吗", openid="oMother01", score=0.2, band="below")
    with s.transaction() as db:
        attach_comment(db, case_id, follow, at=s.now())
    missed = add_comment(s, 3, "她现在说不出话了", openid="oMother01", score=0.3, band="below")
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            _sign_in(page, url)
            page.goto(url + "/stream")
            row = page.locator(f"tr[data-comment='{follow['id']}']")
            expect(row.locator("td.case-cell")).to_contain_text(f"#{case_id}")
            expect(row.locator("td.case-cell")).to_contain_text("已并入")
            expect(row.locator("button", has_text="标为紧急")).to_have_count(0)

            # the comment the daemon did not attach: marking it urgent attaches it, no 2nd case
            page.locator(f"tr[data-comment='{missed['id']}'] button", has_text="标为紧急").click()
            expect(page.locator(".flash-ok")).to_contain_text("已并入该案件")
            expect(page.locator(f"tr[data-comment='{missed['id']}'] td.case-cell")).to_contain_text(
                f"#{case_id}")
        finally:
            browser.close()
    assert len(s.query("select * from cases")) == 1
    attached = s.query("select comment_id from case_events where kind = 'attach' and case_id = ?",
                       [case_id])
    assert {r["comment_id"] for r in attached} == {follow["id"], missed["id"]}
    assert s.query("select urgent from labels where comment_id = ?", [missed["id"]])[0]["urgent"] == 1


def test_every_action_from_the_case_page_in_chinese(live: tuple[str, Host]) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    url, host = live
    s = host.store
    comment = add_comment(s, 1, "孩子高烧三天，医院说要核酸结果才能看，南山区", openid="oKid01",
                          score=0.7, band="review")
    case_id = open_urgent(s, comment, priority="P2", status="review", reply=None)
    with s.transaction() as db:  # a group message that failed: the editor sees why, in Chinese
        enqueue(db, key="n1", comment_id=comment["id"], case_id=case_id, account="main",
                kind="notify", rule="urgent_review", params={"group": "duty", "text": "x"},
                at=s.now())
        db.execute("update outbox set status = 'failed', last_error = ? where key = 'n1'",
                   ["no webhook configured for group 'duty' nor for the duty group"])
    other = add_comment(s, 2, "同一个孩子，妈妈又发了一条", openid="oKid02", score=0.7, band="review")
    dup = open_urgent(s, other, priority="P2", status="review", reply=None)
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            _sign_in(page, url)
            page.goto(f"{url}/case/{case_id}")
            expect(page.locator("#notifies")).to_contain_text("值班组 · 发送失败")
            expect(page.locator("#notifies")).to_contain_text("没有配置机器人地址")
            expect(page.locator("#timeline")).to_contain_text("规则 urgent_auto 开案")

            # the public reply: the rule's text, edited, queued once
            expect(page.locator("#reply-text")).to_have_value("电话发我")
            page.fill("#reply-text", "您好，请把电话留在评论里，我们马上联系")
            page.click("#btn-reply")
            expect(page.locator(".flash-ok")).to_contain_text("公开回复已排队发送")
            expect(page.locator("#btn-reply")).to_have_count(0)

            # raise P2 → P1
            page.click("#btn-raise-p1")
            expect(page.locator(".bar .badge")).to_have_text("P1")
            expect(page.locator("#timeline")).to_contain_text("优先级 P2 → P1")

            # hand off by the group's name, and see the notification it queued
            options = page.locator("#handoff-group option").all_inner_texts()
            assert "南山区卫健局" in options and not any("nanshan" in o for o in options)
            page.select_option("#handoff-group", "nanshan")
            page.click("#btn-handoff")
            expect(page.locator(".flash-ok")).to_contain_text("已转交：南山区卫健局")
            expect(page.locator("#notifies")).to_contain_text("南山区卫健局 · 待发送")
            expect(page.locator("#timeline")).to_contain_text("转交南山区卫健局")

            # the other case is the same child: 重复, and no "not urgent" label
            page.goto(f"{url}/case/{dup}")
            page.fill("input[name=of]", str(case_id))
            page.click("#btn-duplicate")
            expect(page.locator(".bar .status")).to_have_text("重复")
            expect(page.locator(".bar .meta")).to_contain_text(f"与案件 #{case_id} 重复")
        finally:
            browser.close()
    reply = s.query("select * from outbox where case_id = ? and kind = 'reply'", [case_id])
    assert len(reply) == 1 and "马上联系" in reply[0]["params"]
    assert host.cases.get(case_id)["priority"] == "P1"
    assert host.cases.get(case_id)["status"] == "handed_off"
    assert s.query("select * from labels") == []


def test_chinese_renders_as_glyphs_not_boxes(live: tuple[str, Host]) -> None:  # noqa: F811
    """Issue 12 #19: without a CJK font every Chinese character is the same empty box.

    `make test` runs scripts/browser-deps.sh first, which installs one (fonts-wqy-zenhei).
    """
    from playwright.sync_api import sync_playwright

    url, _host = live
    with sync_playwright() as p:
        browser = _browser(p)
        try:
            page = browser.new_page()
            page.goto(url + "/login")
            pixels = page.evaluate("""() => ["电", "话", "急"].map((ch) => {
                const canvas = document.createElement("canvas");
                canvas.width = 40; canvas.height = 40;
                const ctx = canvas.getContext("2d");
                ctx.font = "32px sans-serif";
                ctx.fillText(ch, 2, 32);
                return Array.from(ctx.getImageData(0, 0, 40, 40).data).join(",");
            })""")
        finally:
            browser.close()
    assert len(set(pixels)) == 3, ("Chinese characters render as identical boxes: no CJK font; "
                                   "run scripts/browser-deps.sh (installs fonts-wqy-zenhei)")
