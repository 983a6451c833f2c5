"""The case page and its lifecycle buttons: each action is an event with the editor's name."""

from __future__ import annotations

from typing import Any

from loguru import logger
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.cases import CLOSED_STATUSES, TRANSITIONS, CaseError
from bot.clock import iso
from bot.private import window_status
from bot.web import queries
from bot.web.auth import Handler, signed_in
from bot.web.desk import Desk
from bot.web.marks import write_label

MAX_TEXT = 2000
ACTIONS = ("contacted", "handoff", "resolve", "false_positive", "note", "assign_me", "reopen",
           "message")


def _text(form: Any, field: str) -> str:
    return str(form.get(field) or "").strip()[:MAX_TEXT]


def apply_action(desk: Desk, case_id: int, action: str, form: Any, editor: str) -> str:
    """Do one editor action on a case. Returns a message; raises CaseError when not possible."""
    book = desk.cases
    note = _text(form, "note")
    if action == "contacted":
        book.set_status(case_id, "contact_received", actor=editor, note=note or "编辑已联系上")
        return "已记录：已取得联系"
    if action == "handoff":
        group = _text(form, "group_other") or _text(form, "group")
        if not group:
            raise CaseError("请选择或填写要转交的部门")
        book.hand_off(case_id, group[:64], actor=editor, note=note)
        return f"已转交：{group[:64]}"
    if action == "resolve":
        outcome = _text(form, "outcome")
        if not outcome:
            raise CaseError("办结时请填写处理结果")
        book.set_status(case_id, "resolved", actor=editor, note=f"办结：{outcome}",
                        outcome=outcome)
        return "案件已办结"
    if action == "false_positive":
        book.set_status(case_id, "false_positive", actor=editor, note=note or "编辑判定为误报")
        case = book.get(case_id)
        with desk.store.transaction() as db:
            write_label(db, case["comment_id"], urgent=False, editor=editor, at=iso(desk.now()))
        return "已记为误报"
    if action == "note":
        if not note:
            raise CaseError("备注不能为空")
        book.note(case_id, note, actor=editor)
        return "备注已添加"
    if action == "assign_me":
        book.assign(case_id, editor, actor=editor)
        return "已认领"
    if action == "reopen":
        book.set_status(case_id, "review", actor=editor, note=note or "编辑重新打开")
        return "案件已重新打开"
    if action == "message":  # 私信回复: a customer-service message within the 48-hour window
        from bot.private import queue_answer

        queue_answer(desk.store, case_id, str(form.get("text") or ""), editor=editor,
                     now=desk.now())
        return "私信已排队发送"
    raise CaseError(f"未知操作：{action}")


def routes(desk: Desk) -> dict[str, Handler]:
    guard = signed_in(desk)

    @guard
    async def case_page(request: Request) -> Response:
        case_id = int(request.path_params["case_id"])
        try:
            detail = queries.case_detail(desk.store, desk.cases, case_id, desk.now())
        except CaseError:
            return desk.render(request, "error.html", status_code=404, title="找不到案件",
                               message=f"案件 #{case_id} 不存在。")
        status = detail["case"]["status"]
        allowed = TRANSITIONS.get(status, ())
        due = detail["due"]
        return desk.render(
            request, "case.html", title=f"案件 #{case_id}", **detail,
            allowed=allowed, closed=status in CLOSED_STATUSES, groups=desk.groups(),
            labels=dict(desk.groups()),
            seconds_left=(due[2] if due else None),
            private=window_status(desk.store, detail["case"], desk.now()),
        )

    @guard
    async def case_action(request: Request) -> Response:
        case_id = int(request.path_params["case_id"])
        form = await request.form()
        action = str(form.get("action") or "")
        editor = str(request.state.user)
        try:
            message = apply_action(desk, case_id, action, form, editor)
        except CaseError as exc:
            desk.flash(request, "error", str(exc))
        else:
            logger.info("desk: {} did {} on case #{}", editor, action, case_id)
            desk.flash(request, "ok", message)
        return RedirectResponse(f"/case/{case_id}", status_code=303)

    return {"case_page": case_page, "case_action": case_action}


__all__ = ["ACTIONS", "apply_action", "routes"]
