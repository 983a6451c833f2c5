"""``dianhua web`` (the editors' desk on its own) and ``dianhua users`` (who may sign in)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot.cli._common import (
    DB_HELP,
    DatabaseParam,
    config_option,
    load,
    plain_errors,
    stdin_line,
    utf8_text,
)
from bot.clock import beijing
from bot.config import store_target

db_option = click.option("--db", type=DatabaseParam(), default=None,
                         help=DB_HELP)


@click.command()
@config_option
@click.option("--host", default=None, help="Address to listen on (default: http.host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: http.port, 8080).")
def web(config_path: Path | None, host: str | None, port: int | None) -> None:
    """Serve the editors' desk on its own, over the daemon's database.

    The daemon (`dianhua run`) already serves the desk on its HTTP port; use this to run the
    desk on another machine or port. Sign-in users come from `dianhua users add`.
    """
    from bot import logs

    with plain_errors():
        config = load(config_path)
        logs.setup(level=config.log_level, file=config.log_file, rotation=config.log_rotation,
                   retention=config.log_retention)
        import uvicorn

        from bot.web import create_desk_app

        app = create_desk_app(config)
        listen_host = host or config.http_host
        listen_port = port if port is not None else config.http_port
        if not app.state.desk.users.list():
            click.echo("note: nobody can sign in yet; add an editor with `dianhua users add NAME`",
                       err=True)
        click.echo(f"editors' desk on http://{listen_host}:{listen_port}/ (Ctrl-C to stop)")
        uvicorn.run(app, host=listen_host, port=listen_port, log_level="warning",
                    access_log=False, lifespan="off")


def _users(config_path: Path | None, db: Path | None, *, create: bool = False) -> Any:
    """The users of the database; only ``users add`` may create the file (not its folder)."""
    from bot.store import Store
    from bot.web.users import UserBook

    config = load(config_path)
    store = Store(db or store_target(config), must_exist=not create, create_dirs=False)
    return UserBook(store, dict(config.web_users))


@click.group()
def users() -> None:
    """Manage the editors who can sign in to the desk."""


@users.command("add")
@config_option
@db_option
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts).")
@click.option("--role", type=click.Choice(["editor", "caller", "admin"]), default=None,
              help="editor (default for a new user): works the cases of their departments; "
                   "caller: may also see full phone numbers; admin: every case.")
@click.option("--departments", default=None,
              help="Comma-separated group names (from rules.yaml) whose cases they see; "
                   "empty = every department.")
@click.option("--accounts", default=None,
              help="Comma-separated official-account names; empty = every account.")
def add(config_path: Path | None, db: Path | None, name: str, password_stdin: bool,
        role: str | None, departments: str | None, accounts: str | None) -> None:
    """Add editor NAME, or set a new password for them.

    A new password ends every session of NAME and clears their sign-in back-off.
    Passwords: at least 12 characters, not only spaces, not containing the user name.
    """
    from bot.web.users import MIN_PASSWORD, UserError

    name = utf8_text(name, "NAME")
    if password_stdin:
        password = stdin_line("the password")
    else:
        password = click.prompt(f"password for {name} (at least {MIN_PASSWORD} characters)",
                                hide_input=True, confirmation_prompt="repeat the password")
    with plain_errors():
        book = _users(config_path, db, create=True)
        try:
            existed = any(u["name"] == name and u["source"] == "database" for u in book.list())
            book.add(name, password, role=role, departments=departments, accounts=accounts)
        except UserError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{'password changed for' if existed else 'added'} {name}")


@users.command("list")
@config_option
@db_option
def list_cmd(config_path: Path | None, db: Path | None) -> None:
    """List editors (never their password hashes)."""
    with plain_errors():
        rows = _users(config_path, db).list()
    if not rows:
        click.echo("no users; add one with `dianhua users add NAME`")
    for row in rows:
        state = (f"back-off until {beijing(row['locked_until'])} (Beijing time)"
                 if row["locked_until"] else
                 f"{row['failed_logins']} failed sign-in(s)" if row["failed_logins"] else "ok")
        scope = row.get("departments") or "all departments"
        click.echo(f"{row['name']:<20} {row.get('role') or 'editor':<7} {scope:<20} "
                   f"{row['source']:<9} {beijing(row['created_at'], empty='-'):<20} {state}")


@users.command("remove")
@config_option
@db_option
@click.argument("name")
def remove(config_path: Path | None, db: Path | None, name: str) -> None:
    """Remove editor NAME (they are signed out at their next click)."""
    with plain_errors():
        book = _users(config_path, db)
        removed = book.remove(name)
    if not removed:
        raise click.ClickException(f"no user {name!r} in the database")
    if name in book.config_users:
        click.echo(f"removed {name} from the database; they are also in the configuration's "
                   "[web.users] and can still sign in until you delete them there", err=True)
    click.echo(f"removed {name}")


@users.command("set")
@config_option
@db_option
@click.argument("name")
@click.option("--role", type=click.Choice(["editor", "caller", "admin"]), default=None)
@click.option("--departments", default=None, help="Comma-separated group names; '' = all.")
@click.option("--accounts", default=None, help="Comma-separated account names; '' = all.")
def set_cmd(config_path: Path | None, db: Path | None, name: str, role: str | None,
            departments: str | None, accounts: str | None) -> None:
    """Change NAME's role, departments or accounts (their sessions end)."""
    from bot.web.users import UserError

    with plain_errors():
        try:
            ok = _users(config_path, db).set_access(name, role=role, departments=departments,
                                                    accounts=accounts)
        except UserError as exc:
            raise click.ClickException(str(exc)) from exc
    if not ok:
        raise click.ClickException(f"no user {name!r} in the database")
    click.echo(f"updated {name}; their sessions have ended")


@users.command("revoke")
@config_option
@db_option
@click.argument("name")
def revoke(config_path: Path | None, db: Path | None, name: str) -> None:
    """End every desk session of NAME now (a copied cookie stops working too)."""
    with plain_errors():
        book = _users(config_path, db)
        count = _revoke(book, name)
    click.echo(f"ended {count} session(s) of {name}")


def _revoke(book: Any, name: str) -> int:
    from bot.web.sessions import Sessions

    return Sessions(book.store, book.clock).revoke(name)


@users.command("unlock")
@config_option
@db_option
@click.argument("name")
def unlock(config_path: Path | None, db: Path | None, name: str) -> None:
    """Clear NAME's sign-in back-off (from every address) after too many wrong passwords."""
    with plain_errors():
        ok = _users(config_path, db).unlock(name)
    if not ok:
        raise click.ClickException(f"no user {name!r}")
    click.echo(f"unlocked {name}")


__all__ = ["users", "web"]
