"""Issue 12 item 1 on the desk, in headless Chromium: a case whose department group was never
told is marked 群通知失败, in red, in the queue."""

from __future__ import annotations

import re

import pytest
from desk_helpers import PASSWORD, Host, add_comment, open_urgent
from test_desk_browser import ARGS, CHROMIUM, live  # noqa: F401  (the live server fixture)

from bot.cases import enqueue

pytestmark = pytest.mark.browser


def test_a_failed_group_notification_is_marked_in_red_in_the_queue(
    live: tuple[str, Host],  # noqa: F811
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, host = live
    store = host.store
    told = open_urgent(store, add_comment(store, 1, "孕妇急需核酸结果，真的挺急", openid="oA"))
    untold = open_urgent(store, add_comment(store, 2, "透析病人出不去小区，很急", openid="oB"))
    with store.transaction() as db:
        for case_id, status in ((told, "sent"), (untold, "failed")):
            enqueue(db, key=f"n{case_id}", comment_id="", case_id=case_id, account="main",
                    kind="notify", rule="urgent_auto", params={"group": "nanshan", "text": "x"},
                    at=store.now())
            db.execute("update outbox set status = ?, last_error = ? where key = ?",
                       [status, "BadRequest (errcode 93000)" if status == "failed" else "",
                        f"n{case_id}"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 820}, locale="zh-CN")
            page.goto(url + "/")
            page.fill("input[name=name]", "小王")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("main h1")).to_contain_text("案件队列")
            mark = page.locator(f"#queue-rows tr[data-id='{untold}'] .notify-failed")
            expect(mark).to_have_text("群通知失败")
            color = mark.evaluate("e => getComputedStyle(e).color")
            assert re.fullmatch(r"rgb\((\d+), (\d+), (\d+)\)", color)
            r, g, b = (int(x) for x in re.findall(r"\d+", color))
            assert r > 150 and g < 80 and b < 80, f"red, got {color}"
            expect(page.locator(f"#queue-rows tr[data-id='{told}'] .notify-failed")).to_have_count(0)
        finally:
            browser.close()
