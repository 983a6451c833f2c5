"""The case page and its lifecycle buttons: each action is an event with the editor's name."""

from __future__ import annotations

from typing import Any

from loguru import logger
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot import pii
from bot.cases import CLOSED_STATUSES, TRANSITIONS, CaseError, add_event
from bot.clock import iso
from bot.web import queries
from bot.web.auth import Handler, signed_in
from bot.web.desk import Desk
from bot.web.marks import write_label

MAX_TEXT = 2000
ACTIONS = ("contacted", "handoff", "resolve", "false_positive", "note", "assign_me", "reopen")


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
    raise CaseError(f"未知操作：{action}")


def masked_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """The case page's data with the contact and every number in the texts masked."""
    case = dict(detail["case"])
    phone = case.get("contact_phone") or ""
    case["contact_phone"] = pii.mask_phone(phone) if phone else ""
    case["contact_id"] = pii.mask(case.get("contact_id") or "")
    comment = dict(detail["comment"] or {})
    if comment:
        comment["content"] = pii.mask(comment.get("content") or "")
    follow_ups = [{**f, "content": pii.mask(f.get("content") or "")} for f in detail["follow_ups"]]
    events = [{**e, "note": pii.mask(e.get("note") or "")} for e in detail["events"]]
    return {**detail, "case": case, "comment": comment, "follow_ups": follow_ups,
            "events": events}


def reveal(desk: Desk, case_id: int, editor: str) -> None:
    """Write the look at the full contact details into the case's audit trail."""
    with desk.store.transaction() as db:
        add_event(db, case_id, iso(desk.now()), editor, "reveal", note="查看了完整联系方式")
    logger.info("desk: {} revealed the contact details of case #{}", editor, case_id)


def routes(desk: Desk) -> dict[str, Handler]:
    guard = signed_in(desk)

    def not_found(request: Request, case_id: int) -> Response:
        return desk.render(request, "error.html", status_code=404, title="找不到案件",
                           message=f"案件 #{case_id} 不存在。")

    def render_case(request: Request, case_id: int, *, revealed: bool = False) -> Response:
        try:
            detail = queries.case_detail(desk.store, desk.cases, case_id, desk.now())
        except CaseError:
            return not_found(request, case_id)
        account = desk.account_of(request)
        if not account.sees(detail["case"]):  # as if it did not exist: no probing
            return not_found(request, case_id)
        may_reveal = account.sees_number(detail["case"])
        has_contact = bool(detail["case"].get("contact_phone") or detail["case"].get("contact_id"))
        if not (revealed and may_reveal):
            detail = masked_detail(detail)
            revealed = False
        status = detail["case"]["status"]
        allowed = TRANSITIONS.get(status, ())
        due = detail["due"]
        return desk.render(
            request, "case.html", title=f"案件 #{case_id}", **detail,
            allowed=allowed, closed=status in CLOSED_STATUSES, groups=desk.groups(),
            labels=dict(desk.groups()),
            seconds_left=(due[2] if due else None),
            revealed=revealed, may_reveal=may_reveal and has_contact,
        )

    @guard
    async def case_page(request: Request) -> Response:
        return render_case(request, int(request.path_params["case_id"]))

    @guard
    async def case_action(request: Request) -> Response:
        case_id = int(request.path_params["case_id"])
        form = await request.form()
        action = str(form.get("action") or "")
        editor = str(request.state.user)
        try:
            case = desk.cases.get(case_id)
        except CaseError:
            return not_found(request, case_id)
        account = desk.account_of(request)
        if not account.sees(case):
            return not_found(request, case_id)
        if action == "reveal":
            if not account.sees_number(case):
                return desk.render(request, "error.html", status_code=403, title="无权查看",
                                   message="只有案件负责人和回访专员可以查看完整号码。")
            reveal(desk, case_id, editor)
            return render_case(request, case_id, revealed=True)
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
