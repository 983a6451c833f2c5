"""Sign-in, lock-out (with an injected clock), CSRF, sessions, password hashes, escaping."""

from __future__ import annotations

import pytest
from desk_helpers import (
    PASSWORD,
    XSS,
    FakeClock,
    Host,
    add_comment,
    csrf_of,
    make_host,
    open_urgent,
    sign_in,
)
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.web import hash_password, mount_desk, passwords, verify_password
from bot.web.auth import safe_next
from bot.web.security import session_secret
from bot.web.throttle import FREE_PAIR
from bot.web.users import UserBook, UserError


def login(client: TestClient, name: str, password: str, next_: str = "/") -> object:
    page = client.get("/login")
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf": csrf_of(page.text), "next": next_},
                       follow_redirects=False)


# -- passwords ----------------------------------------------------------------------------
def test_password_hash_is_salted_scrypt_in_one_string() -> None:
    a, b = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert a != b and a.startswith(f"scrypt${passwords.N}$8$1$") and a.count("$") == 5
    assert verify_password("s3cret-pass", a) and not verify_password("s3cret-pasS", a)
    for bad in ("", "plain", "scrypt$1$1$1$x$y", "md5$abc", "scrypt$16384$8$1$!!$!!"):
        assert not verify_password("s3cret-pass", bad)


def test_user_names_and_passwords_are_checked(host: Host) -> None:
    book = UserBook(host.store)
    with pytest.raises(UserError):
        book.add("bad name", PASSWORD)
    with pytest.raises(UserError):
        book.add("<b>", PASSWORD)
    with pytest.raises(UserError):
        book.add("ok", "short")
    row = host.store.query("select * from users where name = '小王'")[0]
    assert row["password_hash"].startswith("scrypt$") and PASSWORD not in row["password_hash"]


# -- sign-in ------------------------------------------------------------------------------
def test_sign_in_goes_to_next_page_and_sign_out_ends_the_session(client: TestClient,
                                                                 host: Host) -> None:
    r = client.get("/stream?band=auto", follow_redirects=False)
    assert r.headers["location"] == "/login?next=%2Fstream%3Fband%3Dauto"
    r = login(client, "小王", PASSWORD, next_="/stream?band=auto")
    assert r.status_code == 303 and r.headers["location"] == "/stream?band=auto"
    assert client.get("/stream").status_code == 200
    home = client.get("/")
    assert "小王" in home.text
    out = client.post("/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_and_unknown_user_get_the_same_answer(client: TestClient) -> None:
    for name, pw in (("小王", "wrong-password"), ("nobody", PASSWORD)):
        r = login(client, name, pw)
        assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_the_session_changes_at_sign_in(client: TestClient) -> None:
    before = csrf_of(client.get("/login").text)
    sign_in(client)
    after = csrf_of(client.get("/").text)
    assert before != after


def test_next_is_never_another_site() -> None:
    for bad in ("//evil.example/x", "https://evil.example", "/\\evil", "", None, "javascript:1"):
        assert safe_next(bad) == "/"
    assert safe_next("/case/3") == "/case/3"


def test_back_off_after_three_failures_then_one_second(client: TestClient, host: Host,
                                                       clock: FakeClock) -> None:
    for _ in range(FREE_PAIR):
        assert login(client, "小王", "wrong-password").status_code == 401
    r = login(client, "小王", "wrong-password")
    assert r.status_code == 429 and "尝试次数过多" in r.text
    assert login(client, "小王", PASSWORD).status_code == 429  # even the right password, for now
    clock.advance(1)
    assert login(client, "小王", PASSWORD).status_code == 303
    row = host.store.query("select failed_logins from users where name='小王'")[0]
    assert row["failed_logins"] == 0


def test_success_resets_the_failure_count(client: TestClient, host: Host) -> None:
    for _ in range(FREE_PAIR - 1):
        login(client, "小王", "wrong-password")
    assert login(client, "小王", PASSWORD).status_code == 303
    client.cookies.clear()
    for _ in range(FREE_PAIR - 1):
        assert login(client, "小王", "wrong-password").status_code == 401


def test_config_users_can_sign_in_and_back_off_too(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    clock = FakeClock()
    host = make_host(tmp_path, clock, web_users={"值班": hash_password("from-config-1")})
    app = Starlette()
    mount_desk(app, host)
    with TestClient(app) as client:
        for _ in range(FREE_PAIR + 1):
            login(client, "值班", "nope-nope")
        assert login(client, "值班", "from-config-1").status_code == 429
        clock.advance(2)
        assert login(client, "值班", "from-config-1").status_code == 303
        assert client.get("/").status_code == 200
    host.store.close()


def test_a_removed_user_is_signed_out(editor: TestClient, host: Host) -> None:
    assert editor.get("/").status_code == 200
    UserBook(host.store).remove("小王")
    assert editor.get("/", follow_redirects=False).status_code == 303


# -- CSRF -----------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "", "forged-token-forged-token"])
def test_case_action_without_the_right_token_is_refused(editor: TestClient, host: Host,
                                                        token: str | None) -> None:
    case_id = open_urgent(host.store, add_comment(host.store, 1, "急"))
    data = {"action": "false_positive"}
    if token is not None:
        data["csrf"] = token
    r = editor.post(f"/case/{case_id}", data=data, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    assert host.cases.get(case_id)["status"] == "awaiting_contact"


def test_stream_label_and_logout_need_the_token(editor: TestClient, host: Host) -> None:
    c = add_comment(host.store, 1, "急")
    r = editor.post("/stream/label", data={"comment_id": c["id"], "urgent": "1", "csrf": "x"})
    assert r.status_code == 403
    assert host.store.query("select count(*) as n from labels")[0]["n"] == 0
    assert editor.post("/logout", data={}).status_code == 403
    assert editor.get("/").status_code == 200  # still signed in


def test_token_from_another_session_does_not_work(app: Starlette, host: Host) -> None:
    case_id = open_urgent(host.store, add_comment(host.store, 1, "急"))
    with TestClient(app) as a, TestClient(app) as b:
        sign_in(a)
        sign_in(b)
        token_a = csrf_of(a.get("/").text)
        r = b.post(f"/case/{case_id}", data={"csrf": token_a, "action": "note", "note": "x"},
                   follow_redirects=False)
        assert r.status_code == 403


def test_login_form_needs_the_token(client: TestClient) -> None:
    client.get("/login")
    r = client.post("/login", data={"name": "小王", "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 403 and "页面已过期" in r.text


# -- escaping ---------------------------------------------------------------------------------
def test_comment_markup_is_escaped_everywhere(editor: TestClient, host: Host) -> None:
    c = add_comment(host.store, 1, "急 " + XSS, category='<b onmouseover="x">类</b>',
                    top_terms=(("<i>", 1.0),), rules=("r<script>",))
    case_id = open_urgent(host.store, c, reply="<svg onload=alert(1)>")
    editor.post(f"/case/{case_id}", data={"csrf": csrf_of(editor.get("/").text),
                                          "action": "note", "note": "<script>alert(2)</script>"})
    for path in ["/", f"/case/{case_id}", "/stream", "/status", "/stream?q=%3Cscript%3E"]:
        html = editor.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert "<svg" not in html and "<b onmouseover" not in html and "<i>" not in html, path
    html = editor.get(f"/case/{case_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "<script>" not in editor.get("/api/queue").json()["html"]


# -- secret -----------------------------------------------------------------------------------
def test_empty_secret_means_a_random_one_and_a_warning() -> None:
    from loguru import logger

    messages: list[str] = []
    sink = logger.add(messages.append, level="WARNING")
    try:
        a, b = session_secret(""), session_secret("")
    finally:
        logger.remove(sink)
    assert a != b and len(a) >= 32
    assert any("secret_key is not set" in m for m in messages)
    assert session_secret("configured") == "configured"
