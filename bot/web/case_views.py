"""The case page and its lifecycle buttons: each action is an event with the editor's name."""

from __future__ import annotations

from typing import Any

from loguru import logger
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot import pii
from bot.cases import CLOSED_STATUSES, MAX_NOTE, MAX_REPLY, TRANSITIONS, CaseError, add_event
from bot.clock import SHANGHAI, iso
from bot.private import window_status
from bot.rules.templates import render_template
from bot.web import queries
from bot.web.auth import Handler, signed_in
from bot.web.desk import Desk

MAX_TEXT = MAX_NOTE
ACTIONS = ("contacted", "handoff", "resolve", "false_positive", "duplicate", "note", "assign_me",
           "reopen", "reply", "raise_p1", "message")


def _text(form: Any, field: str) -> str:
    return str(form.get(field) or "").strip()


def apply_action(desk: Desk, case_id: int, action: str, form: Any, editor: str) -> str:
    """Do one editor action on a case through the case book (the same rules as `dianhua cases`).

    Returns a message; raises CaseError (in Chinese) when the move is refused.
    """
    book = desk.cases
    note = _text(form, "note")
    if action == "contacted":
        book.set_status(case_id, "contact_received", actor=editor, note=note or "编辑已联系上")
        return "已记录：已取得联系"
    if action == "handoff":
        group = _text(form, "group_other") or _text(form, "group")
        if not group:
            raise CaseError("请选择或填写要转交的部门")
        label = dict(desk.groups()).get(group, group)
        book.set_status(case_id, "handed_off", actor=editor, note=note, group=group,
                        group_label=label)
        return f"已转交：{label}，已通知该群"
    if action == "resolve":
        book.set_status(case_id, "resolved", actor=editor, outcome=_text(form, "outcome"))
        return "案件已办结"
    if action == "false_positive":
        book.set_status(case_id, "false_positive", actor=editor, note=note or "编辑判定为误报")
        return "已记为误报（标注为不紧急）"
    if action == "duplicate":
        of = _text(form, "of").lstrip("#")
        outcome = f"与案件 #{of} 重复" if of.isdigit() else "重复案件"
        book.set_status(case_id, "duplicate", actor=editor, note=note, outcome=outcome)
        return "已记为重复（不影响“紧急”标注）"
    if action == "note":
        book.note(case_id, note, actor=editor)
        return "备注已添加"
    if action == "assign_me":
        book.assign(case_id, editor, actor=editor)
        return "已认领"
    if action == "reopen":
        book.set_status(case_id, "review", actor=editor, note=note or "编辑重新打开")
        return "案件已重新打开"
    if action == "reply":
        book.post_reply(case_id, _text(form, "reply"), actor=editor)
        return "公开回复已排队发送"
    if action == "raise_p1":
        if not book.set_priority(case_id, "P1", actor=editor, note=note):
            return "已经是 P1"
        return "已升为 P1"
    if action == "message":  # 私信回复: a customer-service message within the 48-hour window
        from bot.private import queue_answer

        queue_answer(desk.store, case_id, str(form.get("text") or ""), editor=editor,
                     now=desk.now())
        return "私信已排队发送"
    raise CaseError(f"未知操作：{action}")


def default_reply(desk: Desk, detail: dict[str, Any]) -> str:
    """The text the reply box starts with: a held-back reply's text, or the rule's, or 电话发我."""
    for r in detail["replies"]:
        if r.get("text"):
            return str(r["text"])
    current = desk.rules_set()
    classification = detail.get("classification") or {}
    matched = classification.get("matched") or []
    case, article = detail["case"], detail.get("article") or {}
    variables = {  # the public variables a reply template may use
        "category": str(classification.get("category") or ""),
        "route_label": dict(desk.groups()).get(case.get("route") or "", case.get("route") or ""),
        "article_title": pii.mask(str(article.get("title") or "")),
        "time": desk.now().astimezone(SHANGHAI).strftime("%H:%M"),
    }
    for rule in getattr(current, "rules", ()) or ():
        if getattr(rule, "name", None) in matched:
            for spec in getattr(rule, "actions", ()):
                if getattr(spec, "kind", "") == "reply":
                    template = spec.params.get("template") or ""
                    if spec.params.get("phone_given") and pii.has_phone(
                            str(detail["comment"].get("content") or "")):
                        template = spec.params["phone_given"]
                    return render_template(str(template), variables)
    return DEFAULT_REPLY


DEFAULT_REPLY = "电话发我"


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
        replied = any(r["status"] in ("pending", "inflight", "sent") for r in detail["replies"])
        return desk.render(
            request, "case.html", title=f"案件 #{case_id}", **detail,
            allowed=allowed, closed=status in CLOSED_STATUSES, groups=desk.groups(),
            labels=dict(desk.groups()),
            seconds_left=(due[2] if due else None),
            can_reply=not replied, reply_text=default_reply(desk, detail),
            max_note=MAX_NOTE, max_reply=MAX_REPLY,
            private=window_status(desk.store, detail["case"], desk.now()),
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
