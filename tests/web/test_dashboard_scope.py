"""The dashboard (今日概况) keeps an editor to the accounts they are given (issues 15 and 17)."""

from __future__ import annotations

from typing import Any

from desk_helpers import PASSWORD, Host, add_comment, open_urgent, sign_in

from bot.web.users import UserBook


def test_an_editor_of_one_account_sees_its_numbers_and_late_cases_only(client: Any,
                                                                      host: Host) -> None:
    s = host.store
    mine = add_comment(s, 1, "孩子高烧不退，很急", openid="oA", score=0.97, account="south")
    theirs = add_comment(s, 2, "透析的医院不收了", openid="oB", score=0.97, account="north")
    late_mine = open_urgent(s, mine, minutes_ago=200)
    late_theirs = open_urgent(s, theirs, minutes_ago=200)
    UserBook(s, clock=host.clock).add("小南", PASSWORD, accounts="south")
    data = sign_in(client, "小南").get("/api/dashboard").json()
    assert data["late"] == [late_mine]
    assert data["totals"]["comments"] == 1
    assert late_theirs not in data["late"] and "透析" not in data["html"]


def test_an_editor_of_every_account_sees_everything(editor: Any, host: Host) -> None:
    s = host.store
    for uid, account in ((1, "south"), (2, "north")):
        open_urgent(s, add_comment(s, uid, "很急", openid=f"o{uid}", score=0.97,
                                   account=account), minutes_ago=200)
    data = editor.get("/api/dashboard").json()
    assert len(data["late"]) == 2 and data["totals"]["comments"] == 2
