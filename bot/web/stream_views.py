"""The stream: recent comments with score and band, filters, and urgent / not-urgent marks."""

from __future__ import annotations

from urllib.parse import urlencode

from loguru import logger
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot import pii
from bot.cases import CaseError
from bot.store import desk_queries
from bot.web import queries
from bot.web.auth import Handler, signed_in
from bot.web.desk import Desk
from bot.web.marks import mark_duplicate, mark_not_urgent, mark_urgent, set_category

BAND_CHOICES = (("", "全部"), ("auto", "紧急（自动）"), ("review", "待审核"), ("below", "普通"),
                ("none", "未分类"))


def _filters(values: dict[str, str]) -> dict[str, str]:
    band = values.get("band", "")
    q = values.get("q", "").strip()[:100]
    if pii.mask(q) != q:  # no probing whether a phone or ID number was ever written
        q = ""
    return {
        "band": band if band in {b for b, _ in BAND_CHOICES} else "",
        "category": values.get("category", "")[:40],
        "q": q,
    }


def _may_label(desk: Desk, request: Request, comment_id: str) -> bool:
    """Only comments this person may see (their accounts and departments) can be marked."""
    scope = desk_queries.comment_scope(desk.store, comment_id)
    return scope is None or desk.account_of(request).sees(scope)


def routes(desk: Desk) -> dict[str, Handler]:
    guard = signed_in(desk)

    @guard
    async def stream_page(request: Request) -> Response:
        f = _filters(dict(request.query_params))
        rows = queries.stream(desk.store, band=f["band"], category=f["category"], text=f["q"],
                              visible=desk.account_of(request).sees)
        from classifiers.dataset import CATEGORIES

        return desk.render(request, "stream.html", title="留言流", rows=rows, filters=f,
                           bands=BAND_CHOICES, categories=queries.categories(desk.store),
                           all_categories=CATEGORIES,
                           back=urlencode({k: v for k, v in f.items() if v}))

    @guard
    async def label(request: Request) -> Response:
        form = await request.form()
        comment_id = str(form.get("comment_id") or "")
        mark = str(form.get("urgent") or "")
        urgent = mark == "1"
        editor = str(request.state.user)
        f = _filters({k: str(form.get(k) or "") for k in ("band", "category", "q")})
        back = "/stream" + ("?" + urlencode({k: v for k, v in f.items() if v}) if any(
            f.values()) else "")
        if not _may_label(desk, request, comment_id):
            desk.flash(request, "error", "找不到这条留言。")
            return RedirectResponse(back, status_code=303)
        if str(form.get("back") or "") == "/model":
            back = "/model"
        try:
            if mark == "dup":
                result = mark_duplicate(desk.store, desk.cases, comment_id, editor=editor)
            elif urgent:
                result = mark_urgent(desk.store, desk.cases, comment_id, editor=editor)
            else:
                result = mark_not_urgent(desk.store, desk.cases, comment_id, editor=editor)
        except CaseError as exc:
            desk.flash(request, "error", str(exc))
        else:
            logger.info("desk: {} marked a comment {}", editor,
                        "duplicate" if mark == "dup" else "urgent" if urgent else "not urgent")
            desk.flash(request, "ok", result.message)
        return RedirectResponse(back, status_code=303)

    @guard
    async def category(request: Request) -> Response:
        form = await request.form()
        comment_id = str(form.get("comment_id") or "")
        editor = str(request.state.user)
        back = str(form.get("back") or "/stream")
        if not back.startswith(("/stream", "/model")):
            back = "/stream"
        if not _may_label(desk, request, comment_id):  # only comments this person may see
            desk.flash(request, "error", "找不到这条留言。")
            return RedirectResponse(back, status_code=303)
        try:
            result = set_category(desk.store, comment_id, str(form.get("category_fix") or ""),
                                  editor=editor)
        except CaseError as exc:
            desk.flash(request, "error", str(exc))
        else:
            logger.info("desk: {} corrected a comment's category", editor)
            desk.flash(request, "ok", result.message)
        return RedirectResponse(back, status_code=303)

    return {"stream": stream_page, "label": label, "category": category}


__all__ = ["routes"]
