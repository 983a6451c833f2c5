"""``dianhua purge``: apply the retention policy now (the daemon also does it every hour)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.cli._common import DB_HELP, DatabaseParam, config_option, load, plain_errors
from bot.config import store_target


@click.command()
@config_option
@click.option("--db", type=DatabaseParam(), default=None,
              help=DB_HELP)
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="The counts as one JSON object.")
def purge(config_path: Path | None, db: Path | None, dry_run: bool, as_json: bool) -> None:
    """Erase contact details; delete closed cases, comments, messages and sessions past their time.

    \b
    Defaults ([retention] in the configuration):
      contact details   30 days after a case closed  (contact_days_after_resolution)
      closed cases     180 days after they closed    (resolved_cases_days)
      comments          90 days after they arrived   (comments_days; never one with an open case)
    A comment goes with its labels, label history, shadow scores and private-message row;
    message rows without a comment (events) go after comments_days too.
    Open cases are never touched. The run is logged (counts only).
    """
    from bot import logs
    from bot.retention import purge as run_purge
    from bot.store import Store

    with plain_errors():
        config = load(config_path)
        logs.setup(level="INFO", file=config.log_file, rotation=config.log_rotation,
                   retention=config.log_retention, stderr=False)
        store = Store(db or store_target(config), must_exist=True)  # a wrong path purges nothing: say so
        try:
            report = run_purge(store, config.retention, dry_run=dry_run,
                               session_idle_minutes=config.web_idle_minutes,
                               session_absolute_hours=config.web_absolute_hours)
        finally:
            store.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        click.echo(report.summary().removeprefix("retention: "))


__all__ = ["purge"]
