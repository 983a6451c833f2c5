"""The queue (and its JSON feed for live updates) and the status page."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.clock import iso
from bot.web import queries
from bot.web.auth import Handler, signed_in
from bot.web.desk import NO_STORE, Desk


def _card_rows(card: dict[str, Any]) -> list[tuple[str, str]]:
    """A model card flattened to (key, value) rows; nested values as compact JSON."""
    rows = []
    for key, value in card.items():
        if isinstance(value, dict | list):
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
            rows.append((str(key), text if len(text) <= 400 else text[:400] + " …"))
        else:
            rows.append((str(key), str(value)))
    return rows


def routes(desk: Desk) -> dict[str, Handler]:
    guard = signed_in(desk)

    def queue_payload(request: Request) -> dict[str, Any]:
        now = desk.now()
        rows = queries.queue(desk.cases, now, visible=desk.account_of(request).sees)
        return {
            "now": iso(now),
            "count": len(rows),
            "p1": [r["id"] for r in rows if r["priority"] == "P1"],
            "cases": [
                {"id": r["id"], "priority": r["priority"], "status": r["status"],
                 "due": r["due_name"], "due_at": r["due_at"], "seconds_left": r["seconds_left"]}
                for r in rows
            ],
            "rows": rows,
        }

    @guard
    async def queue(request: Request) -> Response:
        data = queue_payload(request)
        return desk.render(request, "queue.html", rows=data["rows"], p1=data["p1"],
                           labels=dict(desk.groups()), title="案件队列")

    @guard
    async def queue_json(request: Request) -> Response:
        data = queue_payload(request)
        data["html"] = desk.fragment("_queue_rows.html", rows=data.pop("rows"),
                                     labels=dict(desk.groups()))
        return JSONResponse(data, headers=NO_STORE)

    @guard
    async def status(request: Request) -> Response:
        now = desk.now()
        rules = getattr(desk.host, "rules", None)
        current = desk.rules_set()
        model = getattr(desk.host, "model", None)
        card = getattr(model, "card", None)
        health = desk.health() or {}
        lag = health.get("poll_lag_seconds") if isinstance(health, dict) else None
        rules_info = {
            "version": str(getattr(current, "version", "") or ""),
            "file": str(getattr(current, "filename", "") or getattr(desk.config, "rules", "")),
            "count": len(getattr(current, "rules", ()) or ()),
            "error": getattr(rules, "last_error", None)
            or getattr(desk.host, "rules_error", None) or health.get("rules_error"),
        }
        return desk.render(
            request, "status.html", title="运行状态",
            rules=rules_info,
            model_version=str(getattr(model, "version", "") or ""),
            model_error=getattr(desk.host, "model_error", None),
            card=_card_rows(card) if isinstance(card, dict) else [],
            polling=queries.polling(desk.store, now, lag if isinstance(lag, dict) else None),
            counts=queries.today_counts(desk.store, desk.cases, now),
            health=health,
            groups=desk.groups(),
        )

    return {"queue": queue, "queue_json": queue_json, "status": status}


__all__ = ["routes"]
