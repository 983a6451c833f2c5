"""Editors' marks on comments: urgent (opens a case) or not urgent, kept as labels for retraining."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from bot.cases import OPEN_STATUSES, CaseBook, CaseError, open_case
from bot.clock import iso
from bot.store import Store


@dataclass(frozen=True)
class Marked:
    comment_id: str
    urgent: bool
    case_id: int | None
    message: str


def write_label(db: Database, comment_id: str, *, urgent: bool, editor: str, at: str) -> None:
    """Upsert the editor's label for ``comment_id`` (inside the caller's transaction)."""
    row = db.execute("select category from classifications where comment_id = ?",
                     [comment_id]).fetchone()
    db.table("labels").upsert(
        {"comment_id": comment_id, "urgent": 1 if urgent else 0,
         "category": (row[0] if row else "") or "", "editor": editor, "at": at},
        pk="comment_id",
    )


def mark_urgent(store: Store, cases: CaseBook, comment_id: str, *, editor: str) -> Marked:
    """Open a P2 case in review for a comment the classifier missed, and label it urgent."""
    comment = store.comment(comment_id)
    if comment is None:
        raise CaseError("找不到这条留言")
    at = iso(store.clock())
    with store.transaction() as db:
        existed = db.execute("select id from cases where comment_id = ?", [comment_id]).fetchone()
        case_id = open_case(db, comment, at=at, priority="P2", status="review", actor=editor,
                            note="编辑标记为紧急")
        write_label(db, comment_id, urgent=True, editor=editor, at=at)
    if existed:
        case = cases.get(case_id)
        if case["status"] in ("false_positive", "closed_no_response"):
            cases.set_status(case_id, "review", actor=editor, note="编辑重新标记为紧急")
            return Marked(comment_id, True, case_id, f"已重新打开案件 #{case_id}")
        return Marked(comment_id, True, case_id, f"已标记为紧急（案件 #{case_id} 已存在）")
    return Marked(comment_id, True, case_id, f"已标记为紧急，并开立案件 #{case_id}")


def mark_not_urgent(store: Store, cases: CaseBook, comment_id: str, *, editor: str) -> Marked:
    """Label a comment not urgent; an open case on it becomes a false positive."""
    if store.comment(comment_id) is None:
        raise CaseError("找不到这条留言")
    with store.transaction() as db:
        write_label(db, comment_id, urgent=False, editor=editor, at=iso(store.clock()))
    rows = store.query("select id, status from cases where comment_id = ?", [comment_id])
    if rows and rows[0]["status"] in OPEN_STATUSES:
        case_id = int(rows[0]["id"])
        cases.set_status(case_id, "false_positive", actor=editor, note="编辑标记为不紧急")
        return Marked(comment_id, False, case_id, f"已标记为不紧急，案件 #{case_id} 记为误报")
    return Marked(comment_id, False, None, "已标记为不紧急")


__all__ = ["Marked", "mark_not_urgent", "mark_urgent", "write_label"]
