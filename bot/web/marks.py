"""Editors' marks on comments: urgent (opens a case), not urgent, or the right category;
kept as labels for retraining (``dianhua labels export``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.cases import OPEN_STATUSES, CaseBook, CaseError, attach_comment, open_case, write_label
from bot.clock import iso
from bot.store import Store
from bot.store import marks as stored


@dataclass(frozen=True)
class Marked:
    comment_id: str
    urgent: bool
    case_id: int | None
    message: str


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
    """Label a comment urgent; open a P2 case in review for it, unless its writer has an open
    case already: then the comment is attached to that case (one writer, one case)."""
    comment = store.comment(comment_id)
    if comment is None:
        raise CaseError("找不到这条留言")
    at = iso(store.clock())
    with store.transaction() as db:
        existed = stored.case_opened_by(db, comment_id) is not None
        writer_case = None if existed else _writer_open_case(db, comment)
        if writer_case is not None:
            if not stored.is_attached(db, writer_case, comment_id):
                attach_comment(db, writer_case, comment, at=at, actor=editor)
            write_label(db, comment_id, urgent=True, editor=editor, at=at)
            return Marked(comment_id, True, writer_case,
                          f"已标记为紧急；留言人已有案件 #{writer_case}，这条留言已并入该案件")
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


def _writer_open_case(db: Any, comment: dict[str, Any]) -> int | None:
    """The open case of the comment's writer on the same account (the newest), if any."""
    if not comment.get("openid"):
        return None
    return stored.writer_open_case(db, comment["account"], comment["openid"], OPEN_STATUSES)


def mark_not_urgent(store: Store, cases: CaseBook, comment_id: str, *, editor: str) -> Marked:
    """Label a comment not urgent; an open case on it becomes a false positive."""
    if store.comment(comment_id) is None:
        raise CaseError("找不到这条留言")
    with store.transaction() as db:
        write_label(db, comment_id, urgent=False, editor=editor, at=iso(store.clock()))
    case = stored.case_of_comment(store, comment_id)
    if case is not None and case["status"] in OPEN_STATUSES:
        case_id = int(case["id"])
        cases.set_status(case_id, "false_positive", actor=editor, note="编辑标记为不紧急")
        return Marked(comment_id, False, case_id, f"已标记为不紧急，案件 #{case_id} 记为误报")
    return Marked(comment_id, False, None, "已标记为不紧急")


def mark_duplicate(store: Store, cases: CaseBook, comment_id: str, *, editor: str) -> Marked:
    """Close the comment's open case as a duplicate of its writer's other case: no label (the
    comment was urgent; a "not urgent" label would teach the model the wrong thing)."""
    case = stored.case_of_comment(store, comment_id)
    if case is None or case["status"] not in OPEN_STATUSES:
        raise CaseError("这条留言没有未结案件，不需要标为重复")
    case_id = int(case["id"])
    other = stored.writer_other_case(store, case["account"], case["openid"], case_id)
    outcome = f"与案件 #{other} 重复" if other is not None else "重复案件"
    cases.set_status(case_id, "duplicate", actor=editor, outcome=outcome)
    return Marked(comment_id, True, case_id, f"案件 #{case_id} 已记为重复（{outcome}），未改动标注")


__all__ = ["Marked", "mark_duplicate", "mark_not_urgent", "mark_urgent", "set_category", "write_label"]
