"""`dianhua users add/list/remove/unlock` and `dianhua web --help`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.store import Store
from bot.web.users import UserBook


def run(args: list[str], input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, input=input)
    return result.exit_code, result.output


def test_users_add_from_stdin_list_remove(tmp_path: Path) -> None:
    db = str(tmp_path / "u.db")
    code, out = run(["users", "add", "小李", "--db", db, "--password-stdin"],
                    input="a-long-password\n")
    assert code == 0 and "added 小李" in out and "a-long-password" not in out
    code, out = run(["users", "add", "小李", "--db", db, "--password-stdin"],
                    input="another-password\n")
    assert code == 0 and "password changed for 小李" in out
    code, out = run(["users", "list", "--db", db])
    assert code == 0 and "小李" in out and "scrypt" not in out
    store = Store(db)
    assert UserBook(store).authenticate("小李", "another-password").ok
    store.close()
    code, out = run(["users", "remove", "小李", "--db", db])
    assert code == 0 and "removed 小李" in out
    code, out = run(["users", "remove", "小李", "--db", db])
    assert code == 1 and "no user" in out


def test_users_add_prompts_twice_and_hides_the_password(tmp_path: Path) -> None:
    db = str(tmp_path / "u.db")
    code, out = run(["users", "add", "editor", "--db", db], input="pass-word-12\npass-word-12\n")
    assert code == 0 and "added editor" in out and "pass-word-12" not in out
    code, out = run(["users", "add", "other", "--db", db],
                    input="pass-word-12\nmistyped-223\npass-word-12\npass-word-12\n")
    assert code == 0 and "added other" in out


def test_users_add_refuses_a_short_password_or_bad_name(tmp_path: Path) -> None:
    db = str(tmp_path / "u.db")
    code, out = run(["users", "add", "editor", "--db", db, "--password-stdin"], input="short\n")
    assert code == 1 and "at least 12 characters" in out
    code, out = run(["users", "add", "two words", "--db", db, "--password-stdin"],
                    input="long-enough-1\n")
    assert code == 1 and "user name" in out


def test_users_unlock(tmp_path: Path) -> None:
    db = str(tmp_path / "u.db")
    run(["users", "add", "editor", "--db", db, "--password-stdin"], input="long-enough-1\n")
    store = Store(db)
    book = UserBook(store)
    for _ in range(5):
        book.authenticate("editor", "wrong-one", "10.0.0.9")
    assert book.authenticate("editor", "long-enough-1", "10.0.0.9").outcome == "wait"
    code, out = run(["users", "list", "--db", db])
    assert "back-off until" in out and "(Beijing time)" in out
    locked = store.query("select locked_until from users where name = 'editor'")[0]["locked_until"]
    from bot.clock import beijing

    assert beijing(locked) in out and "T" not in out.split("back-off until")[1].split()[0]
    code, out = run(["users", "unlock", "editor", "--db", db])
    assert code == 0 and "unlocked editor" in out
    assert book.authenticate("editor", "long-enough-1", "10.0.0.9").ok
    store.close()


def test_web_help() -> None:
    code, out = run(["web", "--help"])
    assert code == 0 and "--host" in out and "--port" in out and "--config" in out
    code, out = run(["users", "--help"])
    assert code == 0 and "add" in out and "remove" in out and "list" in out
