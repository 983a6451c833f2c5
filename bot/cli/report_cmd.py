"""``dianhua report``: what happened in a period, as HTML with plots, Markdown or JSON.

Read-only: the database is opened with ``mode=ro`` (safe while the daemon runs) and nothing is
written except the ``--out`` file, whose folder must already exist.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import click

from bot.cli._common import DatabaseParam, config_option, load, plain_errors
from bot.clock import SHANGHAI, utcnow
from bot.config import store_target

FORMATS = ("html", "md", "json")


def parse_when(value: str, *, end: bool = False) -> datetime:
    """``2026-12-01`` (midnight), ``2026-12-01 08:30`` (Beijing time) or ISO 8601 with an offset.

    With ``end`` a bare date means the end of that day (midnight of the next one).
    """
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(0), tzinfo=SHANGHAI)
        dt = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date or time; use 2026-12-01 or "
                                 "'2026-12-01 08:30' (Beijing time)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=SHANGHAI)


@click.command()
@config_option
@click.option("--db", type=DatabaseParam(), default=None,
              help="SQLite file (opened read-only) or postgresql:// URL (default: from the configuration).")
@click.option("--since", help="Start, Beijing time: 2026-12-01 or '2026-12-01 08:00' "
              "(default: today 00:00).")
@click.option("--until", help="End, Beijing time; a bare date includes that whole day (default: now).")
@click.option("--account", help="Only this account (its name in the configuration).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="html", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (its folder must exist) instead of standard output.")
def report(config_path: Path | None, db: Path | None, since: str | None, until: str | None,
           account: str | None, fmt: str, out: Path | None) -> None:
    """Comments, urgent ones, replies, cases and their times for a period, with plots.

    Phone and ID numbers are masked; times are Beijing time. Example:

        dianhua report --since 2026-12-01 --until 2026-12-01 --out report.html
    """
    from bot.report import build_report, render

    now = utcnow()
    start = parse_when(since) if since else datetime.combine(now.astimezone(SHANGHAI).date(), time(0), tzinfo=SHANGHAI)
    stop = parse_when(until, end=True) if until else now
    if stop <= start:
        raise click.BadParameter("--until must be after --since", param_hint="--until")
    if out is not None and not out.parent.is_dir():
        raise click.BadParameter(f"the folder {out.parent} does not exist", param_hint="--out")
    with plain_errors():
        cfg = load(config_path)
        data = build_report(db or store_target(cfg), start, stop, now=now, account=account, policy=cfg.cases)
        text = {"html": render.to_html, "md": render.to_markdown, "json": render.to_json}[fmt](data)
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    out.write_text(text, encoding="utf-8")
    t = data["totals"]
    click.echo(f"{out}: {t['comments']} comments, {t['urgent']} urgent, {t['replies']} replies, "
               f"{t['cases_opened']} cases opened, {t['cases_resolved']} resolved, {t['cases_late']} late "
               f"({data['period']['since']} – {data['period']['until']} Beijing time)", err=True)


__all__ = ["parse_when", "report"]
