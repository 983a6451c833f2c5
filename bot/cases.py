"""Where each person's request is now, who touched it, and what is late.

Lifecycle::

    awaiting_contact ──(follow-up with a phone number)──▶ contact_received ──▶ handed_off ──▶ resolved
          │                                                                                  ▲
          └──(no answer for N hours)──▶ closed_no_response          review ──(editor)────────┘
    any open status ──(editor)──▶ false_positive

Every change is a row in ``case_events`` with time, actor (``bot`` or an editor's name) and note.
Phone and ID numbers found in follow-ups are stored on the case (for the people who call back)
and masked in every event note, log line and export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot import pii
from bot.clock import iso, parse_iso
from bot.errors import DianhuaError
from bot.store import Store, dumps, insert_row
from bot.workdays import add_working_time

OPEN_STATUSES = ("review", "awaiting_contact", "contact_received", "handed_off")
CLOSED_STATUSES = ("resolved", "false_positive", "closed_no_response")
STATUSES = OPEN_STATUSES + CLOSED_STATUSES
PRIORITIES = ("P1", "P2", "P3")

# Which status an editor may move a case to, from each status.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "review": ("awaiting_contact", "contact_received", "handed_off", "resolved", "false_positive"),
    "awaiting_contact": (
        "contact_received",
        "handed_off",
        "resolved",
        "false_positive",
        "closed_no_response",
    ),
    "contact_received": ("handed_off", "resolved", "false_positive", "awaiting_contact"),
    "handed_off": ("resolved", "contact_received", "false_positive"),
    "resolved": ("review",),
    "false_positive": ("review",),
    "closed_no_response": ("review", "contact_received"),
}

# status -> timestamp column set when the case first reaches it
_MILESTONES = {
    "contact_received": "contact_at",
    "handed_off": "handed_off_at",
    "resolved": "resolved_at",
}


class CaseError(DianhuaError):
    """A case operation is not possible (unknown case, forbidden transition)."""


@dataclass(frozen=True)
class Deadlines:
    """Minutes allowed per stage, for one priority. ``None`` means no deadline."""

    first_reply: float | None = 5
    contact: float | None = 120
    handoff: float | None = 60
    resolution: float | None = 24 * 60


@dataclass(frozen=True)
class CasePolicy:
    deadlines: dict[str, Deadlines] = field(
        default_factory=lambda: {
            "P1": Deadlines(first_reply=5, contact=120, handoff=60, resolution=24 * 60),
            "P2": Deadlines(first_reply=None, contact=None, handoff=240, resolution=72 * 60),
            "P3": Deadlines(first_reply=None, contact=None, handoff=None, resolution=7 * 24 * 60),
        }
    )
    no_response_hours: float = 48.0
    duty_group: str = "duty"
    # Priorities whose deadlines count only working days (Chinese public holidays and adjusted
    # working days from bot/workdays.py), e.g. ("P2", "P3"); P1 runs on the wall clock.
    working_days_for: tuple[str, ...] = ()


def add_event(
    db: Database,
    case_id: int,
    at: str,
    actor: str,
    kind: str,
    *,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    comment_id: str = "",
) -> None:
    insert_row(
        db,
        "case_events",
        {
            "case_id": case_id,
            "at": at,
            "actor": actor,
            "kind": kind,
            "from_status": from_status,
            "to_status": to_status,
            "note": pii.mask(note),
            "comment_id": comment_id,
        }
    )


def open_case(
    db: Database,
    comment: dict[str, Any],
    *,
    at: str,
    priority: str = "P1",
    queue: str = "",
    route: str = "",
    status: str = "awaiting_contact",
    actor: str = "bot",
    note: str = "",
    reason: str = "",
) -> int:
    """Open a case for ``comment`` inside the caller's transaction. Idempotent per comment.

    ``reason`` says in words why the case was opened (e.g. the safety net's
    ``安全网：产妇 + 住院 + 等着``); it is kept on the case and shown to editors.
    """
    existing = db.execute("select id from cases where comment_id = ?", [comment["id"]]).fetchone()
    if existing:
        return int(existing[0])
    phones = pii.find_phones(comment.get("content") or "")
    ids = pii.find_ids(comment.get("content") or "")
    case_id = insert_row(
        db,
        "cases",
        {
            "comment_id": comment["id"],
            "account": comment["account"],
            "openid": comment.get("openid") or "",
            "article_id": comment["article_id"],
            "status": status,
            "priority": priority,
            "queue": queue,
            "route": route,
            "contact_phone": phones[0] if phones else "",
            "contact_id": ids[0] if ids else "",
            "assignee": "",
            "opened_at": at,
            "updated_at": at,
            "reason": pii.mask(reason),
        }
    )
    add_event(
        db, case_id, at, actor, "opened", to_status=status,
        note="; ".join(n for n in (reason, note) if n), comment_id=comment["id"],
    )
    return case_id


def attach_comment(
    db: Database,
    case_id: int,
    comment: dict[str, Any],
    *,
    at: str,
    status: str = "",
    actor: str = "bot",
) -> None:
    """Attach a follow-up comment; extract contact numbers; optionally move the status."""
    row = db.execute(
        "select status, contact_phone, contact_id from cases where id = ?", [case_id]
    ).fetchone()
    if row is None:
        raise CaseError(f"case {case_id} does not exist")
    current, phone, id_number = row
    text = comment.get("content") or ""
    phones = pii.find_phones(text)
    ids = pii.find_ids(text)
    updates: dict[str, Any] = {"updated_at": at}
    found = []
    if phones and not phone:
        updates["contact_phone"] = phones[0]
        found.append("phone " + pii.mask_phone(phones[0]))
    if ids and not id_number:
        updates["contact_id"] = ids[0]
        found.append("ID number")
    db.table("cases").update(case_id, updates)
    add_event(
        db,
        case_id,
        at,
        actor,
        "attach",
        note="follow-up attached" + (f" ({', '.join(found)})" if found else ""),
        comment_id=comment["id"],
    )
    if status and status != current and current in OPEN_STATUSES:
        _move(db, case_id, current, status, at=at, actor=actor, note="follow-up comment")


def _move(
    db: Database, case_id: int, current: str, status: str, *, at: str, actor: str, note: str
) -> None:
    updates: dict[str, Any] = {"status": status, "updated_at": at}
    col = _MILESTONES.get(status)
    if col:
        prev = db.execute(f"select {col} from cases where id = ?", [case_id]).fetchone()[0]
        if not prev:
            updates[col] = at
    db.table("cases").update(case_id, updates)
    add_event(db, case_id, at, actor, "status", from_status=current, to_status=status, note=note)


class CaseBook:
    """Editor-facing operations on cases (each its own transaction)."""

    def __init__(self, store: Store, policy: CasePolicy | None = None) -> None:
        self.store = store
        self.policy = policy or CasePolicy()

    def get(self, case_id: int) -> dict[str, Any]:
        rows = self.store.query("select * from cases where id = ?", [case_id])
        if not rows:
            raise CaseError(f"case {case_id} does not exist")
        return rows[0]

    def set_status(
        self, case_id: int, status: str, *, actor: str, note: str = "", outcome: str = ""
    ) -> None:
        if status not in STATUSES:
            raise CaseError(f"unknown status {status!r}; one of: {', '.join(STATUSES)}")
        with self.store.transaction() as db:
            row = db.execute("select status from cases where id = ?", [case_id]).fetchone()
            if row is None:
                raise CaseError(f"case {case_id} does not exist")
            current = row[0]
            if status == current:
                return
            if status not in TRANSITIONS.get(current, ()):
                allowed = ", ".join(TRANSITIONS.get(current, ())) or "none"
                raise CaseError(
                    f"case {case_id} is {current}; it can move to: {allowed} (not {status})"
                )
            _move(db, case_id, current, status, at=self.store.now(), actor=actor, note=note)
            if outcome:
                db.table("cases").update(case_id, {"outcome": pii.mask(outcome)})

    def note(self, case_id: int, text: str, *, actor: str) -> None:
        with self.store.transaction() as db:
            if db.execute("select 1 from cases where id = ?", [case_id]).fetchone() is None:
                raise CaseError(f"case {case_id} does not exist")
            add_event(db, case_id, self.store.now(), actor, "note", note=text)
            db.table("cases").update(case_id, {"updated_at": self.store.now()})

    def assign(self, case_id: int, name: str, *, actor: str) -> None:
        with self.store.transaction() as db:
            if db.execute("select 1 from cases where id = ?", [case_id]).fetchone() is None:
                raise CaseError(f"case {case_id} does not exist")
            db.table("cases").update(case_id, {"assignee": name, "updated_at": self.store.now()})
            add_event(db, case_id, self.store.now(), actor, "assign", note=f"assigned to {name}")

    def hand_off(self, case_id: int, group: str, *, actor: str, note: str = "") -> None:
        """Record a hand-off to ``group`` and queue a notification to that group."""
        case = self.get(case_id)
        with self.store.transaction() as db:
            current = case["status"]
            if "handed_off" not in TRANSITIONS.get(current, ()):
                raise CaseError(f"case {case_id} is {current}; it cannot be handed off")
            db.table("cases").update(case_id, {"route": group})
            _move(
                db,
                case_id,
                current,
                "handed_off",
                at=self.store.now(),
                actor=actor,
                note=f"handed off to {group}" + (f": {note}" if note else ""),
            )
            enqueue(
                db,
                key=f"case:{case_id}:handoff:{self.store.now()}",
                comment_id=case["comment_id"],
                case_id=case_id,
                account=case["account"],
                kind="notify",
                rule=f"editor:{actor}",
                params={"group": group, "template": HANDOFF_TEMPLATE, "text": HANDOFF_TEMPLATE},
                at=self.store.now(),
            )

    def events(self, case_id: int) -> list[dict[str, Any]]:
        self.get(case_id)
        return self.store.query(
            "select * from case_events where case_id = ? order by id", [case_id]
        )

    def list_cases(
        self,
        *,
        status: str | None = None,
        priority: str | None = None,
        late: bool = False,
        open_only: bool = False,
    ) -> list[dict[str, Any]]:
        where, params = [], []
        if status:
            where.append("c.status = ?")
            params.append(status)
        if priority:
            where.append("c.priority = ?")
            params.append(priority)
        if open_only or late:
            where.append("c.status in ({})".format(",".join("?" * len(OPEN_STATUSES))))
            params.extend(OPEN_STATUSES)
        sql = (
            "select c.*, m.content, m.create_time, cl.score, cl.band, cl.category "
            "from cases c left join comments m on m.id = c.comment_id "
            "left join classifications cl on cl.comment_id = c.comment_id"
        )
        if where:
            sql += " where " + " and ".join(where)
        sql += " order by c.priority, c.opened_at"
        rows = self.store.query(sql, params)
        now = self.store.clock()
        for row in rows:
            row["due"] = self.next_deadline(row, now)
        if late:
            rows = [r for r in rows if r["due"] and r["due"][2] < 0]
        return rows

    # -- deadlines ------------------------------------------------------------------------
    def next_deadline(self, case: dict[str, Any], now: datetime) -> tuple[str, str, float] | None:
        """(deadline name, due time ISO, seconds left — negative when late) or None."""
        for name, due in self._due(case):
            return name, iso(due), (due - now).total_seconds()
        return None

    def _due(self, case: dict[str, Any]) -> list[tuple[str, datetime]]:
        return due_dates(case, self.policy)

    def check_deadlines(self, now: datetime) -> list[tuple[int, str]]:
        """Record each new breach once and queue one notification to the duty group.

        Also closes ``awaiting_contact`` cases that waited longer than ``no_response_hours``.
        Returns the new breaches as (case id, deadline name).
        """
        new: list[tuple[int, str]] = []
        open_cases = self.store.query(
            "select * from cases where status in ({})".format(",".join("?" * len(OPEN_STATUSES))),
            list(OPEN_STATUSES),
        )
        at = iso(now)
        for case in open_cases:
            if case["status"] == "awaiting_contact" and self.policy.no_response_hours > 0:
                opened = parse_iso(case["opened_at"])
                if now - opened > timedelta(hours=self.policy.no_response_hours):
                    with self.store.transaction() as db:
                        _move(
                            db,
                            case["id"],
                            "awaiting_contact",
                            "closed_no_response",
                            at=at,
                            actor="bot",
                            note=f"no answer after {self.policy.no_response_hours:g} hours",
                        )
                    continue
            for name, due in self._due(case):
                if due > now:
                    continue
                with self.store.transaction() as db:
                    cur = db.execute(
                        "insert or ignore into breaches (case_id, deadline, due_at, recorded_at) "
                        "values (?, ?, ?, ?)",
                        [case["id"], name, iso(due), at],
                    )
                    if cur.rowcount != 1:
                        continue
                    add_event(
                        db,
                        case["id"],
                        at,
                        "bot",
                        "deadline",
                        note=f"{name} deadline missed (due {iso(due)})",
                    )
                    text = (
                        f"【超时提醒】案件 #{case['id']}（{case['priority']}）"
                        f"{DEADLINE_LABELS.get(name, name)}已超时，请值班同事跟进。"
                    )
                    enqueue(
                        db,
                        key=f"case:{case['id']}:breach:{name}",
                        comment_id=case["comment_id"],
                        case_id=case["id"],
                        account=case["account"],
                        kind="notify",
                        rule="deadline",
                        params={"group": self.policy.duty_group, "template": text, "text": text},
                        at=at,
                    )
                new.append((case["id"], name))
        return new


def due_dates(case: dict[str, Any], policy: CasePolicy) -> list[tuple[str, datetime]]:
    """The open deadlines of ``case`` under ``policy``, nearest first: ``[(name, due), ...]``."""
    d = policy.deadlines.get(case["priority"], Deadlines(None, None, None, None))
    if case["status"] not in OPEN_STATUSES:
        return []
    opened = parse_iso(case["opened_at"])
    out: list[tuple[str, datetime]] = []

    def after(start: datetime, minutes: float) -> datetime:
        if case["priority"] in policy.working_days_for:
            return add_working_time(start, timedelta(minutes=minutes))
        return start + timedelta(minutes=minutes)

    if (
        d.first_reply is not None
        and not case.get("first_reply_at")
        and case["status"] == "awaiting_contact"
    ):
        out.append(("first_reply", after(opened, d.first_reply)))
    if d.contact is not None and case["status"] == "awaiting_contact":
        out.append(("contact", after(opened, d.contact)))
    if d.handoff is not None and case["status"] == "contact_received":
        start = parse_iso(case["contact_at"]) if case.get("contact_at") else opened
        out.append(("handoff", after(start, d.handoff)))
    if d.resolution is not None:
        out.append(("resolution", after(opened, d.resolution)))
    out.sort(key=lambda item: item[1])
    return out


# Chinese labels for editors (the desk, the CLI, group messages): one place for all of them.
STATUS_LABELS = {
    "review": "待审核",
    "awaiting_contact": "等待留电话",
    "contact_received": "已取得联系",
    "handed_off": "已转办",
    "resolved": "已办结",
    "false_positive": "误报",
    "closed_no_response": "无回应关闭",
}
DEADLINE_LABELS = {
    "first_reply": "首次回复",
    "contact": "取得联系",
    "handoff": "转交部门",
    "resolution": "办结",
}

HANDOFF_TEMPLATE = (
    "【转办】案件 #{case_id}：{summary}\n联系电话：{phone}\n请尽快联系并反馈处理结果。"
)


def enqueue(
    db: Database,
    *,
    key: str,
    comment_id: str,
    case_id: int | None,
    account: str,
    kind: str,
    rule: str,
    params: dict[str, Any],
    at: str,
) -> None:
    """Add a side effect to the outbox (inside the caller's transaction); a repeat key is a no-op."""
    insert_row(
        db,
        "outbox",
        {
            "key": key,
            "comment_id": comment_id,
            "case_id": case_id,
            "account": account,
            "kind": kind,
            "rule": rule,
            "params": dumps(params),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "last_error": "",
            "created_at": at,
        },
        on_conflict="ignore",
    )


__all__ = [
    "CLOSED_STATUSES",
    "DEADLINE_LABELS",
    "OPEN_STATUSES",
    "PRIORITIES",
    "STATUSES",
    "STATUS_LABELS",
    "TRANSITIONS",
    "CaseBook",
    "CaseError",
    "CasePolicy",
    "Deadlines",
    "attach_comment",
    "due_dates",
    "enqueue",
    "open_case",
]
