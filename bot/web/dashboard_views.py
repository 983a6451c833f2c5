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
from bot.web.users import Account

PLOTS = ("hourly", "response", "categories")


def today(desk: Desk, viewer: Account | None = None) -> dict[str, Any]:
    """Today's report (midnight Beijing time → now), plus recent spike alerts.

    A ``viewer`` given some accounts only (issue 17) sees those accounts' late cases and
    alerts; with exactly one account the numbers are that account's too (with several, the
    numbers are the whole database's: the report counts one account or all).
    """
    now = desk.now()
    start = datetime.combine(now.astimezone(SHANGHAI).date(), time(0), tzinfo=SHANGHAI)
    scoped = viewer is not None and viewer.role != "admin" and bool(viewer.accounts)
    account = viewer.accounts[0] if scoped and viewer is not None and len(viewer.accounts) == 1 \
        else None
    report = data.collect(desk.store.query, data.Period(start, now + timedelta(seconds=1), account),
                          now, getattr(desk.config, "cases", None))
    alerts = data.recent_alerts(desk.store.query, now - timedelta(hours=24))
    if viewer is not None:
        report["late_now"] = [c for c in report["late_now"] if viewer.sees(c)]
        if scoped:
            alerts = [a for a in alerts if a["account"] in viewer.accounts]
    report["recent_alerts"] = alerts
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
        report = today(desk, desk.account_of(request))
        return desk.render(request, "dashboard.html", title="今日概况", body=body(report),
                           version=report["version"], plots=PLOTS)

    @guard
    async def api(request: Request) -> Response:
        report = today(desk, desk.account_of(request))
        return JSONResponse({"now": report["now"], "version": report["version"],
                             "late": [c["id"] for c in report["late_now"]],
                             "totals": report["totals"], "html": body(report)}, headers=NO_STORE)

    @guard
    async def plot(request: Request) -> Response:
        from bot.report import plots

        name = request.path_params["name"]
        if name not in PLOTS:
            return Response("not found", status_code=404)
        report = today(desk, desk.account_of(request))
        png = {"hourly": lambda: plots.hourly(report["hourly"]),
               "response": lambda: plots.response_times(report["reply_times"]),
               "categories": lambda: plots.categories(report["by_category"])}[name]()
        return Response(png, media_type="image/png", headers=NO_STORE)

    return {"dashboard": page, "dashboard_json": api, "dashboard_plot": plot}


__all__ = ["PLOTS", "routes", "today"]
