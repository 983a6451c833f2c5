"""``dianhua accounts``: which accounts are watched, which are paused, and lifting a pause."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli._common import DB_HELP, DatabaseParam, config_option, load, plain_errors
from bot.config import store_target

if TYPE_CHECKING:
    from bot.pauses import PauseBook

db_option = click.option("--db", type=DatabaseParam(), default=None,
                         help=DB_HELP)


def _book(config_path: Path | None, db: Path | None) -> tuple[PauseBook, list[str]]:
    from bot.pauses import PauseBook
    from bot.store import Store

    cfg = load(config_path)
    return PauseBook(Store(db or store_target(cfg), must_exist=True)), [a.name for a in cfg.accounts]


def _pollers(book: PauseBook) -> dict[str, str]:
    """With replicas: account -> the replica holding its lease now (empty without replicas)."""
    from bot.cluster import ACCOUNT
    from bot.store import leases

    return {name.removeprefix(ACCOUNT): holder
            for name, holder in leases.live(book.store, ACCOUNT).items()}


@click.group()
def accounts() -> None:
    """Show which accounts are watched or paused; resume a paused one."""


@accounts.command("list")
@config_option
@db_option
def list_cmd(config_path: Path | None, db: Path | None) -> None:
    """Every configured account: watched, or paused (why, until when, next probe); with
    replicas, which replica polls it now."""
    with plain_errors():
        book, names = _book(config_path, db)
        pauses = book.report()
        pollers = _pollers(book)
    for name in sorted(set(names) | set(pauses) | set(pollers)):
        p = pauses.get(name)
        by = f" (replica {pollers[name]})" if name in pollers else ""
        if p is None:
            click.echo(f"{name:<16} watched{by}")
        else:
            click.echo(f"{name:<16} PAUSED since {p['since'][:19]}: {p['reason']}; resumes by "
                       f"{p['until'][:19]}, next probe {p['next_probe_at'][:19]} (UTC){by}")


@accounts.command("resume")
@config_option
@db_option
@click.argument("name")
def resume(config_path: Path | None, db: Path | None, name: str) -> None:
    """Resume polling account NAME now (e.g. after `clear_quota`); the running daemon picks it up
    within a second. If the platform still refuses, it pauses again and says so."""
    with plain_errors():
        book, _names = _book(config_path, db)
        lifted = book.resume(name)
    if lifted is None:
        raise click.ClickException(f"account {name!r} is not paused (see `dianhua accounts list`)")
    click.echo(f"account {name}: pause lifted; the daemon polls it again at its next turn")


__all__ = ["accounts"]
