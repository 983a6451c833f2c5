"""Build the desk: routes, sessions, security headers; mount it on the daemon's app or run alone."""

from __future__ import annotations

from typing import Any

from loguru import logger
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.clock import Clock
from bot.errors import StoreError
from bot.store import monitoring
from bot.web import auth, case_views, dashboard_views, model_views, pages, stream_views
from bot.web.desk import Desk
from bot.web.render import STATIC
from bot.web.security import SESSION_COOKIE, SecurityHeaders
from bot.web.sessions import CookieSessions


def desk_routes(desk: Desk) -> list[BaseRoute]:
    a = auth.routes(desk)
    p = pages.routes(desk)
    c = case_views.routes(desk)
    s = stream_views.routes(desk)
    m = model_views.routes(desk)
    d = dashboard_views.routes(desk)
    return [
        Route("/", p["queue"], name="queue"),
        Route("/api/queue", p["queue_json"], name="queue_json"),
        Route("/status", p["status"], name="status"),
        Route("/dashboard", d["dashboard"], name="dashboard"),
        Route("/api/dashboard", d["dashboard_json"], name="dashboard_json"),
        Route("/dashboard/plot/{name}.png", d["dashboard_plot"], name="dashboard_plot"),
        Route("/case/{case_id:int}", c["case_page"], name="case"),
        Route("/case/{case_id:int}", c["case_action"], methods=["POST"], name="case_action"),
        Route("/stream", s["stream"], name="stream"),
        Route("/stream/label", s["label"], methods=["POST"], name="label"),
        Route("/stream/category", s["category"], methods=["POST"], name="category"),
        Route("/model", m["model"], name="model"),
        Route("/model/plot/{version}/{sub}/{name}", m["plot"], name="model_plot"),
        Route("/login", a["login_page"], name="login_page"),
        Route("/login", a["login"], methods=["POST"], name="login"),
        Route("/logout", a["logout"], methods=["POST"], name="logout"),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
    ]


def build_desk(host: Any, *, clock: Clock | None = None) -> tuple[Desk, Starlette]:
    """The desk as its own Starlette app (sessions and security headers included)."""
    desk = Desk(host, clock=clock)

    async def store_trouble(request: Request, exc: Exception) -> Response:
        """The database is locked, full or failing: say so (503), never a bare 500."""
        logger.warning("desk {} {}: {}", request.method, request.url.path, exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "数据库暂时不可用，请稍后重试"}, status_code=503)
        return desk.render(request, "error.html", status_code=503, title="数据库暂时不可用",
                           message="数据库正忙或出错（例如有人在 sqlite3 里占着写锁、磁盘已满）。"
                                   "这次操作没有保存，请稍后重试；机器人会自动重试，不会丢失留言。")

    app = Starlette(
        exception_handlers={StoreError: store_trouble},
        routes=desk_routes(desk),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(CookieSessions, secret_key=desk.secret, session_cookie=SESSION_COOKIE,
                       max_age=int(desk.sessions.absolute.total_seconds()),
                       secure=desk.secure_cookie, trusted_proxies=desk.trusted_proxies),
        ],
    )
    app.state.desk = desk
    return desk, app


def mount_desk(app: Starlette, ctx: Any, *, clock: Clock | None = None) -> None:
    """Serve the desk from ``app`` (the daemon's /healthz + /metrics app) at ``/``.

    ``ctx`` is the daemon or any object with ``.store``, ``.cases`` and ``.config`` (and,
    when present, ``.rules``, ``.model``, ``.health()`` and ``.clock``). Routes already on
    ``app`` keep working without sign-in; every response gets the security headers.
    """
    desk, sub = build_desk(ctx, clock=clock)
    app.state.desk = desk
    app.router.routes.append(Mount("/", app=sub, name="desk"))
    app.add_middleware(SecurityHeaders)


def create_desk_app(config: Any, *, clock: Clock | None = None) -> Starlette:
    """The desk on its own (``dianhua web``): the database, rules and model card from ``config``."""
    from bot.clock import utcnow
    from bot.web.context import StandaloneHost

    host = StandaloneHost(config, clock=clock or utcnow)

    async def healthz(_request: Request) -> Response:
        try:
            monitoring.ping(host.store)
        except Exception:
            return JSONResponse({"status": "error", "database": "unavailable"}, status_code=503)
        return JSONResponse(host.health())

    app = Starlette(routes=[Route("/healthz", healthz)])
    mount_desk(app, host, clock=clock)
    app.state.host = host
    return app


__all__ = ["build_desk", "create_desk_app", "mount_desk"]
