"""Editors' marks on comments: urgent (opens a case), not urgent, or the right category;
kept as labels for retraining (``dianhua labels export``)."""

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


def write_label(db: Database, comment_id: str, *, urgent: bool | None, editor: str, at: str,
                category: str | None = None) -> None:
    """Upsert the editor's label for ``comment_id`` (inside the caller's transaction).

    ``urgent=None`` keeps the urgency already recorded (a category correction only); a
    ``category`` of None keeps the recorded one, else the classifier's. Every mark is also
    appended to ``label_history``, so two editors who disagree are both on record.
    """
    old = db.execute("select urgent, category from labels where comment_id = ?",
                     [comment_id]).fetchone()
    cls = db.execute("select category from classifications where comment_id = ?",
                     [comment_id]).fetchone()
    value = (old[0] if old else None) if urgent is None else 1 if urgent else 0
    cat = category or (old[1] if old and old[1] else None) or (cls[0] if cls else "") or ""
    db.table("labels").upsert(
        {"comment_id": comment_id, "urgent": value, "category": cat, "editor": editor, "at": at},
        pk="comment_id",
    )
    db.execute(
        "insert into label_history (comment_id, urgent, category, editor, at, kind) "
        "values (?, ?, ?, ?, ?, ?)",
        [comment_id, None if urgent is None else value, cat, editor, at,
         "category" if urgent is None else "urgent"],
    )


def set_category(store: Store, comment_id: str, category: str, *, editor: str) -> Marked:
    """An editor corrects what a comment is about (one of the labeling guide's categories)."""
    from classifiers.dataset import CATEGORIES

    if category not in CATEGORIES:
        raise CaseError(f"未知类别：{category}")
    if store.comment(comment_id) is None:
        raise CaseError("找不到这条留言")
    with store.transaction() as db:
        write_label(db, comment_id, urgent=None, editor=editor, at=iso(store.clock()),
                    category=category)
    return Marked(comment_id, False, None, f"类别已改为「{category}」")


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


__all__ = ["Marked", "mark_not_urgent", "mark_urgent", "set_category", "write_label"]
