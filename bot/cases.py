"""Where each person's request is now, who touched it, and what is late.

Lifecycle::

    awaiting_contact ──(follow-up with a phone number)──▶ contact_received ──▶ handed_off ──▶ resolved
          │                                                                                  ▲
          └──(no answer for N hours)──▶ closed_no_response          review ──(editor)────────┘
    any open status ──(editor)──▶ false_positive (labels the comment "not urgent")
    any open status ──(editor)──▶ duplicate (the writer's request is another case; no label)

A comment that already holds a phone number opens straight at ``contact_received``.
Editors' moves (the desk and ``dianhua cases``) all go through :meth:`CaseBook.set_status`.

Every change is a row in ``case_events`` with time, actor (``bot`` or an editor's name) and note.
Phone and ID numbers found in follow-ups are stored on the case (for the people who call back)
and masked in every event note, log line and export.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import pii
from bot.clock import iso, parse_iso
from bot.errors import DianhuaError
from bot.store import Store, Transaction
from bot.store import cases as case_rows
from bot.store import labels as label_rows
from bot.store.outbox import enqueue, has_public_reply
from bot.workdays import add_working_time

CASE_PAGE = 1_000  # open cases read at a time by the deadline check
OPEN_STATUSES = ("review", "awaiting_contact", "contact_received", "handed_off")
CLOSED_STATUSES = ("resolved", "false_positive", "duplicate", "closed_no_response")
STATUSES = OPEN_STATUSES + CLOSED_STATUSES
PRIORITIES = ("P1", "P2", "P3")

# Which status an editor may move a case to, from each status.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "review": (
        "awaiting_contact",
        "contact_received",
        "handed_off",
        "resolved",
        "false_positive",
        "duplicate",
    ),
    "awaiting_contact": (
        "contact_received",
        "handed_off",
        "resolved",
        "false_positive",
        "duplicate",
        "closed_no_response",
    ),
    "contact_received": ("handed_off", "resolved", "false_positive", "duplicate", "awaiting_contact"),
    "handed_off": ("resolved", "contact_received", "false_positive", "duplicate"),
    "resolved": ("review",),
    "false_positive": ("review",),
    "duplicate": ("review",),
    "closed_no_response": ("review", "contact_received"),
}
# Closing statuses that take an outcome (what happened); ``resolved`` requires one.
OUTCOME_STATUSES = ("resolved", "false_positive", "duplicate", "closed_no_response")
MAX_NOTE = 2000  # characters in a note, an outcome or a hand-off remark
MAX_REPLY = 300  # characters in a public reply posted from the desk

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
    db: Transaction,
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
    case_rows.insert_event(
        db,
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
    db: Transaction,
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
    existing = case_rows.case_for_comment(db, comment["id"])
    if existing is not None:
        return existing
    phones = pii.find_phones(comment.get("content") or "")
    ids = pii.find_ids(comment.get("content") or "")
    case_id = case_rows.insert_case(
        db,
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
            **({"contact_at": at} if status == "contact_received" else {}),
        }
    )
    add_event(
        db, case_id, at, actor, "opened", to_status=status,
        note="; ".join(n for n in (reason, note) if n), comment_id=comment["id"],
    )
    return case_id


def attach_comment(
    db: Transaction,
    case_id: int,
    comment: dict[str, Any],
    *,
    at: str,
    status: str = "",
    actor: str = "bot",
) -> None:
    """Attach a follow-up comment; extract contact numbers; optionally move the status forward
    (never back: a handed-off case stays handed off when the number arrives late)."""
    row = case_rows.case_fields(db, case_id, "status", "contact_phone", "contact_id")
    if row is None:
        raise CaseError(f"案件 #{case_id} 不存在 (case {case_id} does not exist)")
    current, phone, id_number = row["status"], row["contact_phone"], row["contact_id"]
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
    case_rows.update_case(db, case_id, updates)
    add_event(
        db,
        case_id,
        at,
        actor,
        "attach",
        note="follow-up attached" + (f" ({', '.join(found)})" if found else ""),
        comment_id=comment["id"],
    )
    if status and status != current and current in OPEN_STATUSES and not _is_back(current, status):
        _move(db, case_id, current, status, at=at, actor=actor, note="follow-up comment")


# How far an open case has come: a follow-up (a rule's ``attach_case: {status: ...}``) moves a
# case forward only, so a number that arrives after the hand-off leaves it with the department.
_PROGRESS = {"awaiting_contact": 1, "contact_received": 2, "handed_off": 3}


def _is_back(current: str, status: str) -> bool:
    return _PROGRESS.get(status, 0) < _PROGRESS.get(current, 0)


def _move(
    db: Transaction, case_id: int, current: str, status: str, *, at: str, actor: str, note: str
) -> None:
    updates: dict[str, Any] = {"status": status, "updated_at": at}
    col = _MILESTONES.get(status)
    if col:
        prev = case_rows.case_fields(db, case_id, col)
        if not (prev and prev[col]):
            updates[col] = at
    case_rows.update_case(db, case_id, updates)
    add_event(db, case_id, at, actor, "status", from_status=current, to_status=status, note=note)


def parse_status(word: str) -> str:
    """A status code from what an editor typed: the code (``resolved``) or its label (``已办结``).

    Raises :class:`CaseError` naming the closest status ("did you mean ...").
    """
    text = (word or "").strip()
    if text in STATUSES:
        return text
    by_label = {label: code for code, label in STATUS_LABELS.items()}
    if text in by_label:
        return by_label[text]
    folded = text.lower().replace("-", "_").replace(" ", "_")
    if folded in STATUSES:
        return folded
    close = difflib.get_close_matches(folded, STATUSES, n=1, cutoff=0.6)
    hint = f"（did you mean '{close[0]}'，{STATUS_LABELS[close[0]]}？）" if close else ""
    choices = "、".join(f"{c}（{STATUS_LABELS[c]}）" for c in STATUSES)
    raise CaseError(f"没有 {text!r} 这个状态 (unknown status){hint}；可用的状态：{choices}")


def status_name(status: str) -> str:
    """``已办结（resolved）``: the label editors know, with the code the CLI takes."""
    return f"“{STATUS_LABELS.get(status, status)}”（{status}）"


def write_label(db: Transaction, comment_id: str, *, urgent: bool | None, editor: str, at: str,
                category: str | None = None) -> None:
    """Upsert the editor's label for ``comment_id`` (inside the caller's transaction).

    ``urgent=None`` keeps the urgency already recorded (a category correction only); a
    ``category`` of None keeps the recorded one, else the classifier's. Every mark is also
    appended to ``label_history``, so two editors who disagree are both on record.
    """
    old = label_rows.current_label(db, comment_id)
    value = (old[0] if old else None) if urgent is None else 1 if urgent else 0
    cat = (category or (old[1] if old and old[1] else None)
           or label_rows.classified_category(db, comment_id) or "")
    label_rows.save_label(db, comment_id, urgent=value, category=cat, editor=editor, at=at,
                          kind="category" if urgent is None else "urgent",
                          marked=None if urgent is None else value)


def _bounded(text: str, what: str, limit: int = MAX_NOTE) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise CaseError(f"{what}太长：{len(text)} 字，最多 {limit} 字")
    return text


class CaseBook:
    """Editor-facing operations on cases (each its own transaction).

    The desk and ``dianhua cases`` both work cases through this class, so the same moves are
    allowed, the same fields are required and the same side effects happen (a hand-off
    notifies its group, a false positive is labelled "not urgent" for retraining).
    """

    def __init__(self, store: Store, policy: CasePolicy | None = None) -> None:
        self.store = store
        self.policy = policy or CasePolicy()

    def get(self, case_id: int) -> dict[str, Any]:
        case = case_rows.get_case(self.store, case_id)
        if case is None:
            raise CaseError(f"案件 #{case_id} 不存在 (case {case_id} does not exist)")
        return case

    def set_status(
        self,
        case_id: int,
        status: str,
        *,
        actor: str,
        note: str = "",
        outcome: str = "",
        group: str = "",
        group_label: str = "",
    ) -> bool:
        """Move a case. Returns False when it already had ``status``; raises CaseError when refused.

        ``resolved`` needs an ``outcome``; ``handed_off`` needs a ``group`` (and notifies it);
        ``false_positive`` also labels the comment "not urgent"; ``duplicate`` closes without
        a label (the comment was urgent, its writer already has a case).
        """
        status = parse_status(status)
        note = _bounded(note, "备注")
        outcome = _bounded(outcome, "处理结果")
        if status == "handed_off":
            if not group.strip():
                raise CaseError("转办时请选择要转交的部门群（命令行：--group）")
            if outcome:
                raise CaseError("转办时不填处理结果，办结时再填")
            return self.hand_off(case_id, group, actor=actor, note=note, label=group_label)
        if group:
            raise CaseError("只有转办（handed_off）时才选择部门群")
        if status == "resolved" and not outcome:
            raise CaseError("办结时请填写处理结果（命令行：--outcome \"...\"）")
        if outcome and status not in OUTCOME_STATUSES:
            raise CaseError(f"处理结果只在结案时填写，{status_name(status)}不是结案状态")
        with self.store.transaction() as db:
            current = self._current(db, case_id)
            if status == current:
                return False
            self._allowed(case_id, current, status)
            at = self.store.now()
            _move(db, case_id, current, status, at=at, actor=actor,
                  note=note or (f"结果：{outcome}" if outcome else ""))
            if outcome:
                case_rows.update_case(db, case_id, {"outcome": pii.mask(outcome)})
            if status == "false_positive":
                case = case_rows.case_fields(db, case_id, "comment_id")
                assert case is not None  # _current found it in this transaction
                write_label(db, case["comment_id"], urgent=False, editor=actor, at=at)
        return True

    def _current(self, db: Transaction, case_id: int) -> str:
        row = case_rows.case_fields(db, case_id, "status")
        if row is None:
            raise CaseError(f"案件 #{case_id} 不存在 (case {case_id} does not exist)")
        return str(row["status"])

    @staticmethod
    def _allowed(case_id: int, current: str, status: str) -> None:
        if status in TRANSITIONS.get(current, ()):
            return
        allowed = "、".join(status_name(s) for s in TRANSITIONS.get(current, ())) or "无"
        raise CaseError(f"案件 #{case_id} 现在是{status_name(current)}，不能改为{status_name(status)}；"
                        f"可以改为：{allowed}")

    def set_priority(self, case_id: int, priority: str, *, actor: str, note: str = "") -> bool:
        """Raise (or lower) a case's priority; an event records who and why."""
        if priority not in PRIORITIES:
            raise CaseError(f"优先级只能是 {'、'.join(PRIORITIES)}，不是 {priority!r}")
        note = _bounded(note, "备注")
        with self.store.transaction() as db:
            row = case_rows.case_fields(db, case_id, "priority", "status")
            if row is None:
                raise CaseError(f"案件 #{case_id} 不存在 (case {case_id} does not exist)")
            current, status = row["priority"], row["status"]
            if current == priority:
                return False
            if status in CLOSED_STATUSES:
                raise CaseError(f"案件 #{case_id} 已结案（{status_name(status)}），先重新打开再改优先级")
            at = self.store.now()
            case_rows.update_case(db, case_id, {"priority": priority, "updated_at": at})
            add_event(db, case_id, at, actor, "priority",
                      note=f"优先级 {current} → {priority}" + (f"：{note}" if note else ""))
        return True

    def note(self, case_id: int, text: str, *, actor: str) -> None:
        text = _bounded(text, "备注")
        if not text:
            raise CaseError("备注不能为空")
        with self.store.transaction() as db:
            self._current(db, case_id)
            add_event(db, case_id, self.store.now(), actor, "note", note=text)
            case_rows.update_case(db, case_id, {"updated_at": self.store.now()})

    def assign(self, case_id: int, name: str, *, actor: str) -> None:
        name = _bounded(name, "负责人", 64)
        with self.store.transaction() as db:
            self._current(db, case_id)
            case_rows.update_case(db, case_id, {"assignee": name, "updated_at": self.store.now()})
            add_event(db, case_id, self.store.now(), actor, "assign", note=f"assigned to {name}")

    def hand_off(
        self, case_id: int, group: str, *, actor: str, note: str = "", label: str = ""
    ) -> bool:
        """Move to ``handed_off``, record the group and queue a notification to it."""
        group = _bounded(group, "部门群", 64)
        if not group:
            raise CaseError("转办时请选择要转交的部门群（命令行：--group）")
        note = _bounded(note, "备注")
        shown = label or group
        with self.store.transaction() as db:
            current = self._current(db, case_id)
            case = case_rows.case_fields(db, case_id, "comment_id", "account", "route")
            assert case is not None  # _current found it in this transaction
            if current == "handed_off" and case["route"] == group:
                return False
            if current != "handed_off":
                self._allowed(case_id, current, "handed_off")
            at = self.store.now()
            case_rows.update_case(db, case_id, {"route": group})
            text = f"转交{shown}" + (f"：{note}" if note else "")
            if current == "handed_off":  # to another group: an event, no status change
                add_event(db, case_id, at, actor, "status", from_status=current,
                          to_status="handed_off", note=text)
                case_rows.update_case(db, case_id, {"updated_at": at})
            else:
                _move(db, case_id, current, "handed_off", at=at, actor=actor, note=text)
            enqueue(
                db,
                key=f"case:{case_id}:handoff:{group}:{at}",
                comment_id=case["comment_id"],
                case_id=case_id,
                account=case["account"],
                kind="notify",
                rule=f"editor:{actor}",
                params={"group": group, "group_label": shown, "template": HANDOFF_TEMPLATE,
                        "text": HANDOFF_TEMPLATE},
                at=at,
            )
        return True

    def post_reply(self, case_id: int, text: str, *, actor: str) -> None:
        """Queue the public reply to the case's comment (the sender posts it, once)."""
        text = _bounded(text, "回复", MAX_REPLY)
        if not text:
            raise CaseError("回复内容不能为空")
        if pii.find_phones(text) or pii.find_ids(text):
            raise CaseError("公开回复里不能有电话号码或身份证号")
        with self.store.transaction() as db:
            row = case_rows.case_fields(db, case_id, "comment_id", "account")
            if row is None:
                raise CaseError(f"案件 #{case_id} 不存在 (case {case_id} does not exist)")
            comment_id, account = row["comment_id"], row["account"]
            if has_public_reply(db, comment_id):
                raise CaseError("这条留言已经有公开回复（已发送或正在发送），每条留言只回复一次")
            at = self.store.now()
            enqueue(db, key=f"case:{case_id}:reply:{at}", comment_id=comment_id, case_id=case_id,
                    account=account, kind="reply", rule=f"editor:{actor}",
                    params={"text": text, "template": text}, at=at)
            add_event(db, case_id, at, actor, "reply", note=f"编辑发出公开回复：{text}")

    def events(self, case_id: int) -> list[dict[str, Any]]:
        self.get(case_id)
        return case_rows.case_events(self.store, case_id)

    def list_cases(
        self,
        *,
        status: str | None = None,
        priority: str | None = None,
        late: bool = False,
        open_only: bool = False,
    ) -> list[dict[str, Any]]:
        found = case_rows.list_cases(self.store, status=status, priority=priority,
                                statuses=OPEN_STATUSES if open_only or late else ())
        now = self.store.clock()
        for row in found:
            row["due"] = self.next_deadline(row, now)
        if late:
            found = [r for r in found if r["due"] and r["due"][2] < 0]
        return found

    # -- deadlines ------------------------------------------------------------------------
    def next_deadline(self, case: dict[str, Any], now: datetime) -> tuple[str, str, float] | None:
        """(deadline name, due time ISO, seconds left — negative when late) or None."""
        for name, due in self._due(case):
            return name, iso(due), (due - now).total_seconds()
        return None

    def _due(self, case: dict[str, Any]) -> list[tuple[str, datetime]]:
        return due_dates(case, self.policy)

    def _open_cases(self) -> Iterator[dict[str, Any]]:
        """The open cases, read :data:`CASE_PAGE` at a time: a backlog of tens of thousands,
        read whole every 30 seconds, set the daemon's peak size (issue 16)."""
        after: int | None = None
        while True:
            page = case_rows.cases_in(self.store, OPEN_STATUSES, after_id=after, limit=CASE_PAGE)
            yield from page
            if len(page) < CASE_PAGE:
                return
            after = int(page[-1]["id"])

    def check_deadlines(self, now: datetime) -> list[tuple[int, str]]:
        """Record each new breach once and queue one notification to the duty group.

        Also closes ``awaiting_contact`` cases that waited longer than ``no_response_hours``.
        Returns the new breaches as (case id, deadline name).
        """
        new: list[tuple[int, str]] = []
        at = iso(now)
        for case in self._open_cases():
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
                    if not case_rows.record_breach(db, case["id"], name, iso(due), at):
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
    "duplicate": "重复",
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


__all__ = [
    "CLOSED_STATUSES",
    "DEADLINE_LABELS",
    "OPEN_STATUSES",
    "PRIORITIES",
    "MAX_NOTE",
    "OUTCOME_STATUSES",
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
    "parse_status",
    "status_name",
    "write_label",
]
