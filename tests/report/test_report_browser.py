"""The report of the demo's database, opened in headless Chromium (Debian's, via Playwright).

Runs ``dianhua demo`` (mock platform, real daemon, real model), then ``dianhua report`` on its
database, and checks the page as a reader sees it: the numbers, the three plots drawn, phone
numbers masked. Set REPORT_SCREENSHOT=docs/screenshots/report.png to refresh the docs' picture.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_the_demo_database_report_opens_in_chromium(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    demo = CliRunner().invoke(main, ["demo", "--speed", "40", "--workdir", str(tmp_path)])
    assert demo.exit_code == 0, demo.output
    html = tmp_path / "report.html"
    out = CliRunner().invoke(main, ["report", "--db", str(tmp_path / "dianhua.db"), "--since", "2000-01-01",
                                    "--out", str(html)])
    assert out.exit_code == 0, out.output
    text = html.read_text(encoding="utf-8")
    with sqlite3.connect(tmp_path / "dianhua.db") as db:  # the demo's own numbers
        n_comments = db.execute("select count(*) from comments").fetchone()[0]
        n_urgent = db.execute("select count(*) from classifications "
                              "where band in ('auto', 'review')").fetchone()[0]
    assert n_comments > 40 and n_urgent >= 8
    assert "13800000000" not in text and "138****0000" in text  # the demo's follow-ups, masked
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html.as_uri())
            sync_api.expect(page.locator("h1")).to_have_text("留言与案件报告")
            cards = page.locator("#totals .card")
            sync_api.expect(cards.first).to_contain_text(f"{n_comments}条留言")
            sync_api.expect(cards.nth(1)).to_contain_text(f"{n_urgent}条紧急")
            for name in ("hourly", "response", "categories"):
                width = page.eval_on_selector(f"#plot-{name}", "img => img.complete ? img.naturalWidth : 0")
                assert width > 300, name
            assert page.locator("text=<script>alert(1)</script>").count() == 1  # shown as text
            assert not errors
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            target = os.environ.get("REPORT_SCREENSHOT")
            if target:
                Path(target).write_bytes(shot.read_bytes())
        finally:
            browser.close()
