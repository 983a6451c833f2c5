"""The daemon's local HTTP endpoints: ``/healthz``, ``/metrics`` and (when built) the editors' desk."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from bot.daemon import Daemon


def create_app(daemon: Daemon) -> Starlette:
    async def healthz(_request: Request) -> Response:
        health = daemon.health()
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)

    async def metrics(_request: Request) -> Response:
        return Response(daemon.metrics.render(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    from bot.push import push_routes

    app = Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics),
                            *push_routes(getattr(daemon, "push", None))])
    try:
        from bot.web import mount_desk
    except ImportError:
        return app
    mount_desk(app, daemon)
    return app


__all__ = ["create_app"]
