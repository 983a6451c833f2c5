"""Sign-in, sign-out, and the guard every other desk page goes through."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from loguru import logger
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from bot.clock import iso
from bot.web.desk import NO_STORE, Desk
from bot.web.render import local_time
from bot.web.security import CSRF_FIELD, csrf_ok, csrf_token
from bot.web.sessions import client_address

Handler = Callable[[Request], Awaitable[Response]]


def safe_next(target: str | None) -> str:
    """Only a path on this site (no ``//host`` or ``scheme:``) may be a redirect target."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def forbidden(desk: Desk, request: Request) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "csrf"}, status_code=403, headers=NO_STORE)
    return desk.render(request, "error.html", status_code=403, title="表单已失效",
                       message="表单已过期或来源不明（CSRF 校验失败）。请返回刷新页面后重试。")


def signed_in(desk: Desk) -> Callable[[Handler], Handler]:
    """Pages need a signed-in user; every POST needs the session's CSRF token."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: Request) -> Response:
            user = desk.user_of(request)
            if user is None:
                if request.url.path.startswith("/api/"):
                    return JSONResponse({"error": "请先登录"}, status_code=401, headers=NO_STORE)
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
            request.state.user = user
            if request.method == "POST":
                form = await request.form()
                if not csrf_ok(request.session, form.get(CSRF_FIELD)):
                    logger.warning("desk: CSRF check failed for {} on {}", user, request.url.path)
                    return forbidden(desk, request)
            return await handler(request)

        return guarded

    return decorate


def routes(desk: Desk) -> dict[str, Handler]:
    async def login_page(request: Request) -> Response:
        if desk.user_of(request):
            return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        return desk.render(request, "login.html", next=safe_next(request.query_params.get("next")),
                           error="", name="")

    async def login(request: Request) -> Response:
        form = await request.form()
        name = str(form.get("name") or "").strip()
        password = str(form.get("password") or "")
        target = safe_next(str(form.get("next") or ""))
        if not csrf_ok(request.session, form.get(CSRF_FIELD)):
            return desk.render(request, "login.html", status_code=403, next=target, name=name,
                               error="页面已过期，请重新输入后登录。")
        if not name or not password:
            return desk.render(request, "login.html", status_code=400, next=target, name=name,
                               error="请输入用户名和密码。")
        address = client_address(request.scope, desk.trusted_proxies)
        result = await run_in_threadpool(desk.users.authenticate, name, password, address)
        if result.outcome == "wait":
            until = local_time(iso(result.retry_at), "%H:%M:%S") if result.retry_at else ""
            return desk.render(request, "login.html", status_code=429, next=target, name=name,
                               error=f"尝试次数过多，请于 {until} 后再试。")
        if not result.ok:
            logger.info("desk: failed sign-in")
            return desk.render(request, "login.html", status_code=401, next=target, name=name,
                               error="用户名或密码错误。")
        desk.sessions.end(request.session.get("sid"))  # signing in again ends the old one
        request.session.clear()  # a new session: nothing from before sign-in carries over
        request.session["sid"] = desk.sessions.start(result.name, address)
        request.session["user"] = result.name
        request.session["since"] = iso(desk.now())
        csrf_token(request.session)
        logger.info("desk: {} signed in", result.name)
        return RedirectResponse(target, status_code=303)

    @signed_in(desk)
    async def logout(request: Request) -> Response:
        logger.info("desk: {} signed out", request.state.user)
        desk.sessions.end(request.session.get("sid"))
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    return {"login_page": login_page, "login": login, "logout": logout}


__all__ = ["forbidden", "routes", "safe_next", "signed_in"]
