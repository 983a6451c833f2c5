"""Issue 17: who sees which case, and who sees the full number (every look is on the record)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from desk_helpers import PHONE, Host, add_comment, csrf_of, open_urgent, sign_in
from starlette.applications import Starlette

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bot.cases import attach_comment
from bot.cli import main
from bot.config import store_target
from bot.web.users import UserBook

PW = "a-good-long-password"
MASKED = "138****0000"


@pytest.fixture
def case_id(host: Host) -> int:
    """A nanshan case whose writer came back with a number (spelled with dots)."""
    s = host.store
    c = add_comment(s, 1, "孕妇要住院，核酸结果还没出，很急", openid="oW1")
    cid = open_urgent(s, c)
    follow = add_comment(s, 2, "电话 138.0000.0000 麻烦了", openid="oW1", score=0.1, band="below")
    with s.transaction() as db:
        attach_comment(db, cid, follow, at=s.now(), status="contact_received")
    book = UserBook(s)
    book.add("南山编辑", PW, role="editor", departments="nanshan")
    book.add("福田编辑", PW, role="editor", departments="futian")
    book.add("回访员", PW, role="caller", departments="nanshan")
    return cid


@pytest.fixture
def as_user(app: Starlette) -> Iterator[object]:
    clients: list[TestClient] = []

    def make(name: str) -> TestClient:
        c = TestClient(app, base_url="http://testserver")
        c.__enter__()
        clients.append(c)
        return sign_in(c, name, PW)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def _reveal(c: TestClient, case_id: int) -> object:
    page = c.get(f"/case/{case_id}")
    return c.post(f"/case/{case_id}", data={"action": "reveal", "csrf": csrf_of(page.text)},
                  follow_redirects=False)


def reveals(host: Host, case_id: int) -> list[str]:
    return [e["actor"] for e in host.store.query(
        "select actor from case_events where case_id = ? and kind = 'reveal'", [case_id])]


def test_another_department_cannot_see_the_case(as_user: object, case_id: int) -> None:
    c = as_user("福田编辑")  # type: ignore[operator]
    assert f"/case/{case_id}" not in c.get("/").text
    assert all(row["id"] != case_id for row in c.get("/api/queue").json()["cases"])
    assert c.get(f"/case/{case_id}").status_code == 404
    page = c.get("/")
    r = c.post(f"/case/{case_id}", data={"action": "note", "note": "x", "csrf": csrf_of(page.text)})
    assert r.status_code == 404
    assert "孕妇要住院" not in c.get("/stream").text


def test_an_editor_sees_the_number_masked_everywhere_until_assigned(
        as_user: object, host: Host, case_id: int) -> None:
    c = as_user("南山编辑")  # type: ignore[operator]
    html = c.get(f"/case/{case_id}").text
    assert MASKED in html and PHONE not in html and "0000.0000" not in html
    assert 'id="reveal"' not in html
    assert _reveal(c, case_id).status_code == 403  # type: ignore[attr-defined]
    assert reveals(host, case_id) == []
    page = c.get(f"/case/{case_id}")
    c.post(f"/case/{case_id}", data={"action": "assign_me", "csrf": csrf_of(page.text)})
    assert 'id="reveal"' in c.get(f"/case/{case_id}").text
    r = _reveal(c, case_id)
    assert r.status_code == 200 and PHONE in r.text  # type: ignore[attr-defined]
    assert reveals(host, case_id) == ["南山编辑"]
    assert PHONE not in c.get(f"/case/{case_id}").text  # shown once, for that look only


def test_a_caller_may_reveal_and_every_look_is_recorded(as_user: object, host: Host,
                                                         case_id: int) -> None:
    c = as_user("回访员")  # type: ignore[operator]
    assert PHONE not in c.get(f"/case/{case_id}").text
    for _ in range(2):
        r = _reveal(c, case_id)
        assert r.status_code == 200 and PHONE in r.text  # type: ignore[attr-defined]
    assert reveals(host, case_id) == ["回访员", "回访员"]


def test_shipped_rules_notify_masked_and_full_number_opt_in_warns(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "rules.yaml"
    text = shipped.read_text(encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["rules", "check", str(shipped), "--no-examples"])
    assert result.exit_code == 0 and "warning" not in result.output
    assert "{case_url}" in text and "\n          full_number: true" not in text
    opted = tmp_path / "rules.yaml"
    opted.write_text(text.replace("          group: route           # the group already handling",
                                  "          full_number: true\n          group: route           #",
                                  1), encoding="utf-8")
    result = runner.invoke(main, ["rules", "check", str(opted), "--no-examples"])
    assert result.exit_code == 0
    assert "warning: rule 'phone_followup' sends the FULL phone" in result.output


def test_users_cli_sets_roles_and_departments(host: Host) -> None:
    db = store_target(host.config)
    runner = CliRunner()
    r = runner.invoke(main, ["users", "add", "新人", "--db", db, "--password-stdin", "--role",
                             "caller", "--departments", "nanshan,futian"], input=PW + "\n")
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["users", "list", "--db", db])
    line = next(ln for ln in r.output.splitlines() if ln.startswith("新人"))
    assert "caller" in line and "futian,nanshan" in line
    r = runner.invoke(main, ["users", "set", "新人", "--db", db, "--role", "editor"])
    assert r.exit_code == 0
    account = UserBook(host.store).account("新人")
    assert account is not None and account.role == "editor" and not account.may_call


def test_no_probing_by_number_and_no_marks_outside_ones_departments(
        as_user: object, host: Host, case_id: int) -> None:
    c = as_user("南山编辑")  # type: ignore[operator]
    assert "电话 138****0000" in c.get("/stream").text
    rows = c.get("/stream").text.count("data-comment=")
    for probe in (PHONE, "138.0000.0000", "不存在的 13800000000"):
        html = c.get("/stream", params={"q": probe}).text
        # the search ignores a number: it neither filters nor echoes it
        assert html.count("data-comment=") == rows and probe not in html
    other = as_user("福田编辑")  # type: ignore[operator]
    page = other.get("/stream")
    comment_id = host.store.query("select comment_id from cases where id = ?", [case_id])[0][
        "comment_id"]
    other.post("/stream/label", data={"comment_id": comment_id, "urgent": "0",
                                      "csrf": csrf_of(page.text)})
    assert host.store.query("select count(*) as n from labels")[0]["n"] == 0


def test_a_caller_reveals_the_number_of_a_case_that_came_by_private_message(
        as_user: object, host: Host, case_id: int) -> None:
    """Issues 13 + 17: a case opened from a reader's private message, the number sent privately
    too: masked for the department's editor everywhere (case page, thread, stream, queue), shown
    to the caller once per look, each look on the record; another department sees nothing."""
    from bot.inbox import record_message
    from connectors.wechat.push import PushMessage

    s = host.store

    def push(msg_id: int, text: str) -> dict[str, object]:
        record_message(s, "main", PushMessage("gh_x", "oPrivate1", int(s.clock().timestamp()),
                                              "text", msg_id, text), s.now())
        row = s.comment(f"main:message:0:{msg_id}")
        assert row is not None
        return row

    first = push(11, "孩子高烧抽搐，医院不收，很急")
    private_case = open_urgent(s, first, reply=None)
    follow = push(12, "我的电话 138 0000 0000")
    with s.transaction() as db:
        attach_comment(db, private_case, follow, at=s.now(), status="contact_received")
    editor = as_user("南山编辑")  # type: ignore[operator]
    for page in (f"/case/{private_case}", "/stream", "/", "/api/queue"):
        html = editor.get(page).text
        assert PHONE not in html and "138 0000 0000" not in html, page
    assert MASKED in editor.get(f"/case/{private_case}").text
    assert _reveal(editor, private_case).status_code == 403  # type: ignore[attr-defined]
    other = as_user("福田编辑")  # type: ignore[operator]
    assert other.get(f"/case/{private_case}").status_code == 404
    caller = as_user("回访员")  # type: ignore[operator]
    r = _reveal(caller, private_case)
    assert r.status_code == 200 and PHONE in r.text  # type: ignore[attr-defined]
    assert reveals(host, private_case) == ["回访员"]
    assert PHONE not in caller.get(f"/case/{private_case}").text
