"""``dianhua cases``: list, show and work cases from the terminal."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click

from bot import pii
from bot.cases import STATUS_LABELS
from bot.cli._common import config_option, load, plain_errors


def _book(config_path: Path | None, db: Path | None) -> Any:
    from bot.cases import CaseBook
    from bot.store import Store

    cfg = load(config_path)
    return CaseBook(Store(db or cfg.db), cfg.cases)


db_option = click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
                         help="SQLite file (default: from the configuration).")


def _left(due: Any) -> str:
    if not due:
        return "-"
    name, _at, seconds = due
    minutes = int(abs(seconds) // 60)
    return f"{name} {'LATE ' if seconds < 0 else ''}{minutes // 60}h{minutes % 60:02d}m"


@click.group()
def cases() -> None:
    """List, show and work cases."""


@cases.command("list")
@config_option
@db_option
@click.option("--status", help="Only this status (e.g. awaiting_contact, review).")
@click.option("--priority", type=click.Choice(["P1", "P2", "P3"]))
@click.option("--late", is_flag=True, help="Only open cases past a deadline.")
@click.option("--open", "open_only", is_flag=True, help="Only open cases.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def list_cmd(config_path: Path | None, db: Path | None, status: str | None, priority: str | None,
             late: bool, open_only: bool, as_json: bool) -> None:
    """List cases, most urgent first (phone numbers masked)."""
    with plain_errors():
        rows = _book(config_path, db).list_cases(status=status, priority=priority, late=late,
                                                 open_only=open_only)
    for row in rows:
        text = pii.mask(row.get("content") or "")
        if as_json:
            out = {k: row.get(k) for k in ("id", "status", "priority", "route", "assignee",
                                           "opened_at", "score", "band", "category")}
            out["comment"] = text
            out["contact_phone"] = pii.mask_phone(row["contact_phone"]) if row["contact_phone"] else ""
            out["next_deadline"] = row["due"]
            click.echo(json.dumps(out, ensure_ascii=False))
        else:
            click.echo(f"#{row['id']:<5} {row['priority']} {row['status']:<18} "
                       f"{_left(row['due']):<22} {row['route'] or '-':<10} {text[:40]}")
    if not rows and not as_json:
        click.echo("no cases")


@cases.command("show")
@config_option
@db_option
@click.argument("case_id", type=int)
def show(config_path: Path | None, db: Path | None, case_id: int) -> None:
    """Show one case and its timeline."""
    with plain_errors():
        book = _book(config_path, db)
        case = book.get(case_id)
        events = book.events(case_id)
        comment = book.store.comment(case["comment_id"]) or {}
    click.echo(f"case #{case['id']}  {case['priority']}  {case['status']} "
               f"({STATUS_LABELS.get(case['status'], '')})  route={case['route'] or '-'} "
               f"assignee={case['assignee'] or '-'}")
    click.echo(f"comment: {pii.mask(comment.get('content') or '')}")
    if case["contact_phone"]:
        click.echo(f"contact: {pii.mask_phone(case['contact_phone'])} (full number on the desk)")
    for ev in events:
        change = f" {ev['from_status'] or ''}→{ev['to_status']}" if ev["to_status"] else ""
        click.echo(f"  {ev['at'][:19]}  {ev['actor']:<10} {ev['kind']}{change}  {ev['note'] or ''}")


@cases.command("note")
@config_option
@db_option
@click.argument("case_id", type=int)
@click.argument("text")
@click.option("--by", "actor", default="editor", show_default=True, help="Your name.")
def note(config_path: Path | None, db: Path | None, case_id: int, text: str, actor: str) -> None:
    """Add a note to a case."""
    with plain_errors():
        _book(config_path, db).note(case_id, text, actor=actor)
    click.echo(f"noted on case #{case_id}")


@cases.command("assign")
@config_option
@db_option
@click.argument("case_id", type=int)
@click.argument("name")
@click.option("--by", "actor", default="editor", show_default=True, help="Your name.")
def assign(config_path: Path | None, db: Path | None, case_id: int, name: str, actor: str) -> None:
    """Assign a case to an editor."""
    with plain_errors():
        _book(config_path, db).assign(case_id, name, actor=actor)
    click.echo(f"case #{case_id} assigned to {name}")


@cases.command("set")
@config_option
@db_option
@click.argument("case_id", type=int)
@click.argument("status")
@click.option("--note", "note_text", default="", help="Why.")
@click.option("--outcome", default="", help="For resolved: what happened.")
@click.option("--by", "actor", default="editor", show_default=True, help="Your name.")
def set_status(config_path: Path | None, db: Path | None, case_id: int, status: str,
               note_text: str, outcome: str, actor: str) -> None:
    """Move a case to STATUS (e.g. contact_received, handed_off, resolved, false_positive)."""
    with plain_errors():
        _book(config_path, db).set_status(case_id, status, actor=actor, note=note_text,
                                          outcome=outcome)
    click.echo(f"case #{case_id} is now {status}")


@cases.command("export")
@config_option
@db_option
@click.option("--csv", "as_csv", is_flag=True, default=True, help="CSV to standard output.")
@click.option("--with-contact", is_flag=True,
              help="Include full phone and ID numbers (only for the people who call back).")
@click.option("--output", "output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (created 0600, owner only) instead of standard output.")
def export(config_path: Path | None, db: Path | None, as_csv: bool, with_contact: bool,
           output: Path | None) -> None:
    """Export every case as CSV (personal data masked unless --with-contact).

    Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or CR) are
    written with a leading ' so they stay text.
    """
    from bot.csvsafe import safe_row
    from bot.files import open_private

    with plain_errors():
        rows = _book(config_path, db).list_cases()
    fields = ["id", "status", "priority", "route", "assignee", "opened_at", "first_reply_at",
              "contact_at", "handed_off_at", "resolved_at", "outcome", "score", "band",
              "category", "contact_phone", "contact_id", "comment"]
    out = open_private(output, newline="") if output is not None else sys.stdout
    try:
        _write_csv(out, fields, rows, with_contact, safe_row)
    finally:
        if out is not sys.stdout:
            out.close()


def _write_csv(out: Any, fields: list[str], rows: list[dict[str, Any]], with_contact: bool,
               safe_row: Any) -> None:
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        row = dict(row)
        row["comment"] = row.get("content") or ""
        if not with_contact:
            row["comment"] = pii.mask(row["comment"])
            row["contact_phone"] = pii.mask_phone(row["contact_phone"]) if row["contact_phone"] else ""
            row["contact_id"] = pii.mask(row["contact_id"] or "")
        writer.writerow(safe_row(row))
