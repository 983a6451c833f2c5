"""The dashboard in headless Chromium: today's numbers, late cases first, plots drawn, and a
new comment written to the store (as the daemon would) shows up without a reload."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from desk_helpers import PASSWORD, Host, add_comment, open_urgent
from test_desk_browser import ARGS, CHROMIUM, LIVE_TIMEOUT_MS, live  # noqa: F401  (the live server fixture)

pytestmark = pytest.mark.browser


def test_the_dashboard_updates_live(live: tuple[str, Host], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    url, host = live
    s = host.store
    late = open_urgent(s, add_comment(s, 1, "我爸透析的医院不收了，南山区，很急", openid="oA", score=0.97),
                       minutes_ago=200)
    add_comment(s, 2, "核酸结果多久出", openid="oB", score=0.05, band="below", category="核酸检测")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page: Any = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN",
                                         timezone_id="Asia/Shanghai")
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url + "/dashboard")
            page.fill("input[name=name]", "小王")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("main h1")).to_contain_text("今日概况")
            expect(page.locator("#n-comments")).to_have_text("2")
            expect(page.locator("#dash-late tbody tr").first).to_have_attribute("data-id", str(late))
            page.wait_for_load_state("load")  # the load event waits for the images
            for name in ("hourly", "response", "categories"):
                img = page.locator(f"#plot-{name}")
                expect(img).to_be_visible()
                assert img.evaluate("el => el.complete ? el.naturalWidth : 0") > 300, name
            # the daemon stores two more urgent comments: the numbers follow without a reload
            open_urgent(s, add_comment(s, 3, "孩子高烧抽搐，很急", openid="oC", score=0.98))
            add_comment(s, 4, "孕妇没有核酸能进医院吗", openid="oD", score=0.7, band="review")
            expect(page.locator("#n-comments")).to_have_text("4", timeout=LIVE_TIMEOUT_MS)
            expect(page.locator("#n-urgent")).to_have_text("3")
            expect(page.locator("#dash-state")).to_contain_text("自动更新 · ")
            target = os.environ.get("DESK_SCREENSHOTS")
            if target:
                Path(target).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(target) / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
