"""``dianhua rules spikes``: replay a day of comments and list the spike alerts it would raise.

Nothing is sent or written: ``--data`` reads a JSON Lines file (as ``rules test`` does),
``--day`` reads the database read-only.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import click

from bot.cli._common import DatabaseParam, config_option, load, plain_errors
from bot.cli.rules_cmd import _comments, _load, _predictions, _rules_file
from bot.clock import SHANGHAI
from bot.config import store_target
from bot.rules.replay import _when
from bot.rules.spikes import SpikeEvent, SpikeWatch, event_from, replay, spike_line


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--data", type=click.Path(exists=True, dir_okay=False),
              help="A JSON Lines file of comments (text, created_at, band or a trained model, article_title).")
@click.option("--day", help="A day from the database, Beijing time (2026-12-01); earlier days give the baseline.")
@config_option
@click.option("--db", type=DatabaseParam(), default=None,
              help="With --day: SQLite file (opened read-only) or postgresql:// URL "
                   "(default: from the configuration).")
@click.pass_context
def spikes(ctx: click.Context, file: str | None, data: str | None, day: str | None,
           config_path: Path | None, db: Path | None) -> None:
    """List the spike alerts (spikes: in FILE) a day of comments would raise, and to which group.

    Each comment is checked as it arrives, with the cool-down, exactly as the daemon does.
    """
    if (data is None) == (day is None):
        raise click.UsageError("give either --data comments.jsonl or --day 2026-12-01")
    rs = _load(_rules_file(file))
    if not rs.spikes:
        click.echo(f"{rs.filename}: no 'spikes:' section; nothing to replay")
        return
    watch = SpikeWatch(rs.spikes, rs.groups)
    if data is not None:
        comments = _comments(None, data, None, None, None, None)
        predictions = _predictions(ctx, comments)
        events = [
            event_from(c.label, _when(c.record.get("created_at"), c.number), c.text, band=p.band,
                       category=p.category, article=str(c.record.get("article_title") or ""),
                       routes=rs.routes)
            for c, p in zip(comments, predictions, strict=True)
        ]
        start, stop = None, None
    else:
        assert day is not None
        try:
            start = datetime.combine(datetime.fromisoformat(day).date(), time(0), tzinfo=SHANGHAI)
        except ValueError:
            raise click.BadParameter(f"{day!r} is not a date like 2026-12-01", param_hint="--day") from None
        stop = start + timedelta(days=1)
        with plain_errors():
            events = _db_events(db or store_target(load(config_path)), start - watch.lookback, stop, rs)
    alerts = [a for a in replay(watch, events) if start is None or (stop is not None and start <= a.at < stop)]
    for alert in alerts:
        click.echo(spike_line(alert, rs.groups))
        click.echo(f"    {alert.text}")
    shown = len([e for e in events if start is None or (stop is not None and start <= e.at < stop)])
    click.echo(f"{shown} comments; {len(alerts)} spike alert{'s' if len(alerts) != 1 else ''} "
               f"({len(watch.rules)} spike rules, rules version {rs.version})")


def _db_events(db: Path | str, since: datetime, until: datetime, rs: object) -> list[SpikeEvent]:
    from bot.clock import from_unix
    from bot.report.data import open_readonly, spike_events

    query, close = open_readonly(db)
    try:
        rows = spike_events(query, since, until)
    finally:
        close()
    routes = rs.routes  # type: ignore[attr-defined]
    return [event_from(r["id"], from_unix(float(r["create_time"])), r["content"] or "", band=r["band"] or "below",
                       category=r["category"] or "", article=r["article"] or "", routes=routes,
                       account=r["account"] or "") for r in rows]


__all__ = ["spikes"]
