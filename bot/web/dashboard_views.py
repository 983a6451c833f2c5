"""The desk's dashboard: today's numbers (Beijing time), late cases first, spike alerts and the
report's plots, updated live by polling ``/api/dashboard`` (no inline script: the page loads
``/static/dashboard.js``). Plots are PNGs from ``/dashboard/plot/<name>.png`` (the CSP allows
images from the desk itself only, so no ``data:`` URIs here)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.clock import SHANGHAI, iso
from bot.report import data
from bot.web.auth import Handler, signed_in
from bot.web.desk import NO_STORE, Desk

PLOTS = ("hourly", "response", "categories")


def today(desk: Desk) -> dict[str, Any]:
    """Today's report (midnight Beijing time → now), plus recent spike alerts."""
    now = desk.now()
    start = datetime.combine(now.astimezone(SHANGHAI).date(), time(0), tzinfo=SHANGHAI)
    report = data.collect(desk.store.query, data.Period(start, now + timedelta(seconds=1)), now,
                          getattr(desk.config, "cases", None))
    report["recent_alerts"] = data.recent_alerts(desk.store.query, now - timedelta(hours=24))
    t = report["totals"]
    # changes whenever a number the plots show changes: the page then reloads the pictures
    report["version"] = f"{t['comments']}-{t['urgent']}-{t['replies']}-{report['reply_seconds']['n']}"
    report["now"] = iso(now)
    return report


def routes(desk: Desk) -> dict[str, Handler]:
    guard = signed_in(desk)

    def body(report: dict[str, Any]) -> str:
        return desk.fragment("_dashboard_body.html", r=report, t=report["totals"], dur=data.duration)

    @guard
    async def page(request: Request) -> Response:
        report = today(desk)
        return desk.render(request, "dashboard.html", title="今日概况", body=body(report),
                           version=report["version"], plots=PLOTS)

    @guard
    async def api(request: Request) -> Response:
        report = today(desk)
        return JSONResponse({"now": report["now"], "version": report["version"],
                             "late": [c["id"] for c in report["late_now"]],
                             "totals": report["totals"], "html": body(report)}, headers=NO_STORE)

    @guard
    async def plot(request: Request) -> Response:
        from bot.report import plots

        name = request.path_params["name"]
        if name not in PLOTS:
            return Response("not found", status_code=404)
        report = today(desk)
        png = {"hourly": lambda: plots.hourly(report["hourly"]),
               "response": lambda: plots.response_times(report["reply_times"]),
               "categories": lambda: plots.categories(report["by_category"])}[name]()
        return Response(png, media_type="image/png", headers=NO_STORE)

    return {"dashboard": page, "dashboard_json": api, "dashboard_plot": plot}


__all__ = ["PLOTS", "routes", "today"]
