"""The desk's dashboard (今日概况): today's numbers, late cases first, alerts, plots as PNGs."""

from __future__ import annotations

from typing import Any

from desk_helpers import PHONE, Host, add_comment, open_urgent

from bot.clock import iso
from bot.store import dumps, insert_row


def test_the_dashboard_needs_a_sign_in(client: Any) -> None:
    assert client.get("/api/dashboard").status_code == 401
    r = client.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert client.get("/dashboard/plot/hourly.png", follow_redirects=False).status_code == 303


def test_today_s_numbers_late_cases_first_alerts_and_plots(editor: Any, host: Host) -> None:
    s = host.store
    old = add_comment(s, 1, f"透析的医院不收了，电话 {PHONE}", openid="oA", score=0.97)
    late = open_urgent(s, old, minutes_ago=200)  # P1: contact due after 120 minutes
    fresh = add_comment(s, 2, "孩子高烧不退，很急", openid="oB", score=0.96)
    open_urgent(s, fresh, minutes_ago=1)
    add_comment(s, 3, "核酸结果多久出", openid="oC", score=0.05, band="below", category="核酸检测")
    with s.transaction() as db:
        insert_row(db, "alerts", {
            "key": "spike:dialysis_by_district:nanshan:x", "rule": "dialysis_by_district", "per": "route",
            "scope": "nanshan", "grp": "nanshan", "count": 6, "baseline": 0.4, "at": iso(host.clock()),
            "window_start": iso(host.clock()), "comment_ids": dumps([old["id"]]),
            "text": "【留言突增】处理部门 南山区卫健局：1 小时内 6 条留言提到透析", "account": "main"})
    page = editor.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert 'id="n-comments">3<' in html and 'id="n-urgent">2<' in html and 'id="n-late">1<' in html
    assert f'<tr class="late" data-id="{late}">' in html
    assert "南山区卫健局：1 小时内 6 条留言提到透析" in html
    assert PHONE not in html and "138****0000" in html
    assert '<script src="/static/dashboard.js" defer></script>' in html and "<script>" not in html
    assert "default-src 'self'" in page.headers["content-security-policy"]
    data = editor.get("/api/dashboard").json()
    assert data["late"] == [late] and data["totals"]["comments"] == 3
    assert 'id="n-comments">3<' in data["html"]
    for name in ("hourly", "response", "categories"):
        png = editor.get(f"/dashboard/plot/{name}.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert editor.get("/dashboard/plot/secret.png").status_code == 404
