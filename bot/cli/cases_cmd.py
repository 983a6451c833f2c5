"""``dianhua cases``: list, show and work cases from the terminal."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from bot import pii
from bot.cases import STATUS_LABELS, parse_status
from bot.cli._common import DB_HELP, DatabaseParam, config_option, load, plain_errors, utf8_text
from bot.clock import SHANGHAI, beijing, parse_iso
from bot.config import store_target


def _book(config_path: Path | None, db: Path | None) -> Any:
    from bot.cases import CaseBook
    from bot.store import Store

    cfg = load(config_path)
    return CaseBook(Store(db or store_target(cfg), must_exist=True), cfg.cases)


def _text_arg(value: str, what: str) -> str:
    return utf8_text(value, what)


def _groups(config_path: Path | None) -> dict[str, str]:
    """Known department groups, name -> label (from rules.yaml and the configuration)."""
    cfg = load(config_path)
    out: dict[str, str] = {}
    try:
        from bot.rules import load_rules

        out.update({name: info.label or name for name, info in load_rules(cfg.rules).groups.items()})
    except Exception:  # the groups are a convenience here; rules problems are `rules check`'s
        pass
    for name in cfg.groups:
        out.setdefault(name, name)
    out.setdefault(cfg.cases.duty_group, "值班组")
    return out


db_option = click.option("--db", type=DatabaseParam(), default=None,
                         help=DB_HELP)


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
@click.option("--status", help="Only this status (e.g. awaiting_contact, review, or 待审核).")
@click.option("--priority", type=click.Choice(["P1", "P2", "P3"]))
@click.option("--late", is_flag=True, help="Only open cases past a deadline.")
@click.option("--open", "open_only", is_flag=True, help="Only open cases.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def list_cmd(config_path: Path | None, db: Path | None, status: str | None, priority: str | None,
             late: bool, open_only: bool, as_json: bool) -> None:
    """List cases, most urgent first (phone numbers masked)."""
    with plain_errors():
        status = parse_status(status) if status else None
        rows = _book(config_path, db).list_cases(status=status, priority=priority, late=late,
                                                 open_only=open_only)
    for row in rows:
        text = pii.mask(row.get("content") or "")
        if as_json:
            out = {k: row.get(k) for k in ("id", "status", "priority", "route", "assignee",
                                           "opened_at", "score", "band", "category", "reason")}
            out["comment"] = text
            out["contact_phone"] = pii.mask_phone(row["contact_phone"]) if row["contact_phone"] else ""
            out["opened_at"] = _iso_beijing(row["opened_at"])
            due = row["due"]
            out["next_deadline"] = [due[0], _iso_beijing(due[1]), due[2]] if due else None
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
    if case.get("reason"):
        click.echo(f"reason: {pii.mask(case['reason'])}")
    if case["contact_phone"]:
        click.echo(f"contact: {pii.mask_phone(case['contact_phone'])} (full number on the desk)")
    if case.get("outcome"):
        click.echo(f"outcome: {case['outcome']}")
    click.echo("timeline (Beijing time):")
    for ev in events:
        change = f" {ev['from_status'] or ''}→{ev['to_status']}" if ev["to_status"] else ""
        click.echo(f"  {beijing(ev['at'])}  {ev['actor']:<10} {ev['kind']}{change}  {ev['note'] or ''}")


@cases.command("note")
@config_option
@db_option
@click.argument("case_id", type=int)
@click.argument("text")
@click.option("--by", "actor", default="editor", show_default=True, help="Your name.")
def note(config_path: Path | None, db: Path | None, case_id: int, text: str, actor: str) -> None:
    """Add a note to a case (at most 2,000 characters; numbers are masked in the timeline)."""
    text = _text_arg(text, "the note")
    actor = _text_arg(actor, "--by")
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
    name = _text_arg(name, "NAME")
    actor = _text_arg(actor, "--by")
    with plain_errors():
        _book(config_path, db).assign(case_id, name, actor=actor)
    click.echo(f"case #{case_id} assigned to {name}")


@cases.command("set")
@config_option
@db_option
@click.argument("case_id", type=int)
@click.argument("status")
@click.option("--note", "note_text", default="", help="Why.")
@click.option("--outcome", multiple=True,
              help="What happened (required for resolved; also for false_positive, duplicate).")
@click.option("--group", default="", help="For handed_off: the department group (notified).")
@click.option("--of", "duplicate_of", type=int, default=None,
              help="For duplicate: the case this one repeats.")
@click.option("--by", "actor", default="editor", show_default=True, help="Your name.")
def set_status(config_path: Path | None, db: Path | None, case_id: int, status: str,
               note_text: str, outcome: tuple[str, ...], group: str, duplicate_of: int | None,
               actor: str) -> None:
    """Move a case to STATUS, with the same rules as the desk.

    STATUS is a code or its Chinese name: review (待审核), awaiting_contact (等待留电话),
    contact_received (已取得联系), handed_off (已转办, needs --group, notifies the group),
    resolved (已办结, needs --outcome), false_positive (误报, labels the comment not urgent),
    duplicate (重复, no label), closed_no_response (无回应关闭).
    """
    if len(outcome) > 1:
        raise click.UsageError("--outcome was given more than once; give it once")
    text = _text_arg(outcome[0] if outcome else "", "--outcome")
    note_text = _text_arg(note_text, "--note")
    actor = _text_arg(actor, "--by")
    group = _text_arg(group, "--group")
    with plain_errors():
        status = parse_status(status)
        if duplicate_of is not None:
            if status != "duplicate":
                raise click.UsageError("--of goes with the status duplicate")
            text = text or f"与案件 #{duplicate_of} 重复"
        label = ""
        if group:
            known = _groups(config_path)
            by_label = {v: k for k, v in known.items()}
            group = by_label.get(group, group)
            label = known.get(group, "")
            if not label:
                import difflib

                close = difflib.get_close_matches(group, list(known), n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                click.echo(f"warning: '{group}' is not a group in rules.yaml or the configuration"
                           f"{hint}; the notification goes to the duty group if it has no robot",
                           err=True)
        changed = _book(config_path, db).set_status(
            case_id, status, actor=actor, note=note_text, outcome=text, group=group,
            group_label=label)
    shown = f"{status} ({STATUS_LABELS.get(status, '')})"
    if not changed:
        click.echo(f"case #{case_id} is already {shown}")
    elif status == "handed_off":
        click.echo(f"case #{case_id} is now {shown}; {label or group} will be notified")
    else:
        click.echo(f"case #{case_id} is now {shown}")


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
    """Export every case as CSV: UTF-8 with a BOM (Excel opens it), times in Beijing time,
    personal data masked unless --with-contact.

    Cells that a spreadsheet would run as a formula (starting with = + - @, a tab or CR) are
    written with a leading ' so they stay text.
    """
    from bot.files import open_private

    with plain_errors():
        rows = _book(config_path, db).list_cases()
    fields = ["id", "status", "status_zh", "priority", "route", "assignee", "opened_at",
              "first_reply_at", "contact_at", "handed_off_at", "resolved_at", "outcome", "score",
              "band", "category", "contact_phone", "contact_id", "comment"]
    out = io.StringIO(newline="")
    out.write("\ufeff")  # the BOM: Excel reads the file as UTF-8, not as GBK
    _write_csv(out, fields, rows, with_contact)
    if output is None:
        click.echo(out.getvalue().encode("utf-8"), nl=False)  # bytes: UTF-8 whatever the locale
        return
    with plain_errors(), open_private(output, newline="") as f:
        f.write(out.getvalue())


def _write_csv(out: Any, fields: list[str], rows: list[dict[str, Any]],
               with_contact: bool) -> None:
    from bot.csvsafe import safe_row

    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        row = dict(row)
        row["comment"] = row.get("content") or ""
        row["status_zh"] = STATUS_LABELS.get(row["status"], "")
        for key in ("opened_at", "first_reply_at", "contact_at", "handed_off_at", "resolved_at"):
            row[key] = beijing(row.get(key))
        if not with_contact:
            row["comment"] = pii.mask(row["comment"])
            row["contact_phone"] = pii.mask_phone(row["contact_phone"]) if row["contact_phone"] else ""
            row["contact_id"] = pii.mask(row["contact_id"] or "")
        writer.writerow(safe_row(row))


def _iso_beijing(value: str | None) -> str:
    if not value:
        return ""
    try:
        return parse_iso(value).astimezone(SHANGHAI).isoformat(timespec="seconds")
    except ValueError:
        return str(value)
