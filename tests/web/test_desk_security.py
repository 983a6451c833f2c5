"""Issue 17 on the desk: sign-in that holds, server-side sessions, the Secure cookie.

Each test reproduces one finding of the review (it failed before the fix).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator

import pytest
from desk_helpers import PASSWORD, FakeClock, Host, add_comment, csrf_of, open_urgent, sign_in
from starlette.applications import Starlette

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bot.config import store_target
from bot.web import passwords
from bot.web.security import SESSION_COOKIE
from bot.web.throttle import FREE_PAIR
from bot.web.users import UserBook, UserError


def login(client: TestClient, name: str, password: str, **headers: str) -> object:
    page = client.get("/login", headers=headers)
    return client.post("/login", data={"name": name, "password": password,
                                       "csrf": csrf_of(page.text), "next": "/"},
                       headers=headers, follow_redirects=False)


def _client(app: Starlette, base: str = "http://testserver", peer: str = "testclient") -> TestClient:
    return TestClient(app, base_url=base, client=(peer, 50000))


# -- sign-in ------------------------------------------------------------------------------
def test_parallel_wrong_passwords_are_all_counted_and_then_the_right_one_waits(
        host: Host, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    book = UserBook(host.store, clock=clock)
    checked = []
    real = passwords._scrypt

    def counting(*args: object, **kw: object) -> bytes:
        checked.append(1)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(passwords, "_scrypt", counting)
    results: list[str] = []
    barrier = threading.Barrier(40)

    def attempt() -> None:
        barrier.wait()
        results.append(book.authenticate("小王", "wrong-password", "203.0.113.7").outcome)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    row = host.store.query("select failures from login_throttle where key = ?",
                           ["pair\t小王\t203.0.113.7"])[0]
    # every attempt that got as far as the password check was counted first
    assert results.count("bad") == row["failures"] == len(checked) == FREE_PAIR
    assert results.count("wait") == 40 - FREE_PAIR
    assert book.authenticate("小王", PASSWORD, "203.0.113.7").outcome == "wait"


def test_an_outsider_cannot_lock_an_editor_out(app: Starlette, clock: FakeClock) -> None:
    with _client(app, peer="198.51.100.66") as outsider:
        for _ in range(30):
            login(outsider, "小王", "guess-guess-guess")
        assert login(outsider, "小王", PASSWORD).status_code == 429
    with _client(app, peer="192.0.2.10") as editor:
        assert login(editor, "小王", PASSWORD).status_code == 303


def test_an_unknown_name_gets_the_same_answer_and_the_same_work(
        app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    passwords.burn_time("warm up")  # the dummy hash is made once, on first use
    checks: list[int] = []
    real = passwords._scrypt
    monkeypatch.setattr(passwords, "_scrypt",
                        lambda *a, **k: checks.append(a[2]) or real(*a, **k))  # type: ignore[func-returns-value]
    answers = {}
    for name in ("小王", "nobody-here"):
        with _client(app, peer=f"192.0.2.{len(answers) + 20}") as c:
            codes = [login(c, name, "wrong-password-x").status_code for _ in range(FREE_PAIR + 1)]
            answers[name] = codes
    assert answers["小王"] == answers["nobody-here"] == [401] * FREE_PAIR + [429]
    assert checks == [passwords.N] * (2 * FREE_PAIR)  # one scrypt each, same parameters


@pytest.mark.parametrize("bad", [" " * 12, "\u3000" * 12, "short-pw", "小王的密码小王的密码abc",
                                 "aaaaaaaaaaaaaaaa"])
def test_password_policy(host: Host, bad: str) -> None:
    with pytest.raises(UserError):
        UserBook(host.store).add("小王", bad)


def test_scrypt_parameters_follow_owasp_and_old_hashes_are_rehashed(
        host: Host, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    assert passwords.OWASP == (2**17, 8, 1)
    monkeypatch.setattr(passwords, "N", 2**14)
    book = UserBook(host.store, clock=clock)
    book.add("老李", "an-older-password-1")
    assert host.store.query("select password_hash from users where name='老李'")[0][
        "password_hash"].startswith("scrypt$16384$8$1$")
    monkeypatch.setattr(passwords, "N", passwords.OWASP[0])
    assert book.authenticate("老李", "an-older-password-1", "192.0.2.1").ok
    encoded = host.store.query("select password_hash from users where name='老李'")[0][
        "password_hash"]
    assert encoded.startswith("scrypt$131072$8$1$")
    assert passwords.verify_password("an-older-password-1", encoded)


# -- sessions -----------------------------------------------------------------------------
@pytest.fixture
def seeded(host: Host) -> int:
    comment = add_comment(host.store, 1, "孕妇要住院，核酸结果还没出，很急")
    return open_urgent(host.store, comment)


def _copy(app: Starlette, cookie: str) -> TestClient:
    c = _client(app)
    c.cookies.set(SESSION_COOKIE, cookie)
    return c


def _replay_works(app: Starlette, cookie: str, case_id: int) -> bool:
    with _copy(app, cookie) as thief:
        if thief.get("/api/queue").status_code != 200:
            return False
        page = thief.get(f"/case/{case_id}")
        r = thief.post(f"/case/{case_id}", data={"action": "note", "note": "stolen",
                                                 "csrf": csrf_of(page.text)},
                       follow_redirects=False)
        return r.status_code == 303 and r.headers["location"] == f"/case/{case_id}"


def _signed_in(app: Starlette) -> Iterator[TestClient]:
    with _client(app) as c:
        yield sign_in(c)


def test_a_copied_cookie_dies_at_sign_out(app: Starlette, host: Host, seeded: int) -> None:
    with _client(app) as c:
        sign_in(c)
        cookie = c.cookies[SESSION_COOKIE]
        assert _replay_works(app, cookie, seeded)
        c.post("/logout", data={"csrf": csrf_of(c.get("/").text)})
    assert not _replay_works(app, cookie, seeded)
    notes = host.store.query("select count(*) as n from case_events where kind='note'")[0]["n"]
    assert notes == 1  # the one written while the session was alive


def test_a_password_change_and_users_revoke_end_sessions(app: Starlette, host: Host,
                                                          seeded: int) -> None:
    with _client(app) as c:
        sign_in(c)
        cookie = c.cookies[SESSION_COOKIE]
    UserBook(host.store).add("小王", "a-brand-new-password")
    assert not _replay_works(app, cookie, seeded)
    with _client(app) as c:
        sign_in(c, password="a-brand-new-password")
        cookie = c.cookies[SESSION_COOKIE]
    from click.testing import CliRunner

    from bot.cli import main

    result = CliRunner().invoke(main, ["users", "revoke", "小王", "--db", store_target(host.config)])
    assert result.exit_code == 0 and "ended 1 session" in result.output
    assert not _replay_works(app, cookie, seeded)


def test_idle_and_absolute_time_outs(app: Starlette, clock: FakeClock) -> None:
    with _client(app) as c:
        sign_in(c)
        clock.advance(119 * 60)
        assert c.get("/", follow_redirects=False).status_code == 200
        for _ in range(11):  # only the background refresh: not activity
            clock.advance(10 * 60)
            assert c.get("/api/queue").status_code == 200
        clock.advance(10 * 60)  # two hours since the last page
        assert c.get("/api/queue").status_code == 401
        assert c.get("/", follow_redirects=False).status_code == 303
    with _client(app) as c:
        sign_in(c)
        for _ in range(12):  # busy all day, but 12 hours is the limit
            clock.advance(3600 - 1)
            assert c.get("/", follow_redirects=False).status_code == 200
        clock.advance(12)
        assert c.get("/", follow_redirects=False).status_code == 303


def _cookie_header(r: object) -> str:
    return "; ".join(v for k, v in r.headers.multi_items() if k == "set-cookie")  # type: ignore[attr-defined]


def test_the_cookie_is_secure_over_https_and_behind_a_proxy_that_says_so(app: Starlette) -> None:
    with _client(app, base="https://testserver") as c:
        assert "secure" in _cookie_header(c.get("/login")).lower()
    with _client(app, peer="127.0.0.1") as c:  # a local reverse proxy terminating TLS
        r = c.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "secure" in _cookie_header(r).lower()
    with _client(app, peer="198.51.100.5") as c:  # anyone else cannot ask for it
        r = c.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "secure" not in _cookie_header(r).lower()
    with _client(app) as c:
        header = _cookie_header(c.get("/login")).lower()
        assert "httponly" in header and "samesite=strict" in header and "secure" not in header
