"""The queue (and its JSON feed for live updates) and the status page."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.clock import iso
from bot.web import queries
from bot.web.auth import Handler, signed_in
from bot.web.desk import NO_STORE, Desk
from bot.web.render import local_time


def _card_rows(card: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Every field of a model card as (dotted key, plain value) rows: a table, never JSON."""
    rows: list[tuple[str, str]] = []
    for key, value in card.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_card_rows(value, name + "."))
        elif isinstance(value, list):
            if all(not isinstance(v, dict | list) for v in value):
                rows.append((name, "、".join(str(v) for v in value) or "—"))
            else:
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        rows.extend(_card_rows(item, f"{name}[{i}]."))
                    else:
                        rows.append((f"{name}[{i}]", "、".join(map(str, item))
                                     if isinstance(item, list) else str(item)))
        else:
            rows.append((name, _plain(value)))
    return rows


def _plain(value: Any) -> str:
    if value is True:
        return "是"
    if value is False:
        return "否"
    if value is None or value == "":
        return "—"
    return str(value)


# The rows an editor reads first: (label, dotted key in the card).
_CARD_SUMMARY = (
    ("版本", "version"),
    ("训练时间（北京时间）", "created_at"),
    ("训练集 条数 / 其中紧急", ("counts.train.n", "counts.train.urgent")),
    ("阈值：待审核 / 自动回复", ("thresholds.review", "thresholds.auto")),
    ("测试集 待审核档 查全率 / 查准率", ("metrics.test.review.recall", "metrics.test.review.precision")),
    ("测试集 自动档 查准率 / 查全率", ("metrics.test.auto.precision", "metrics.test.auto.recall")),
    ("测试集 漏报（待审核档）", "metrics.test.review.fn"),
    ("达到目标（测试集）", ("targets_met_on_test.review", "targets_met_on_test.auto")),
    ("scikit-learn 版本", "libraries.sklearn"),
)


def card_summary(card: dict[str, Any]) -> list[tuple[str, str]]:
    """The model card's key numbers with Chinese labels (rows whose fields are missing are left out)."""
    flat = dict(_card_rows(card))
    out = []
    for label, keys in _CARD_SUMMARY:
        names = (keys,) if isinstance(keys, str) else keys
        values = [flat.get(k) for k in names]
        if any(v is None for v in values):
            continue
        if names == ("created_at",):
            values = [local_time(values[0], "%Y-%m-%d %H:%M")]
        out.append((label, " / ".join(str(v) for v in values)))
    return out


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
        model_version = str(getattr(model, "version", "") or "")
        daemon = None
        read_beat = getattr(desk.host, "daemon_heartbeat", None)
        if callable(read_beat):  # the stand-alone desk: show what the daemon wrote, not our copy
            beat = read_beat()
            daemon = {"beat": beat, "age": beat.age(now) if beat else None,
                      "stale": beat.stale(now) if beat else True,
                      "card_version": model_version}
            rules_info["version"] = beat.rules_version if beat else ""
            rules_info["error"] = beat.rules_error if beat else None
            model_version = beat.model_version if beat else ""
        return desk.render(
            request, "status.html", title="运行状态",
            rules=rules_info,
            daemon=daemon,
            model_version=model_version,
            model_error=getattr(desk.host, "model_error", None),
            card=_card_rows(card) if isinstance(card, dict) else [],
            card_summary=card_summary(card) if isinstance(card, dict) else [],
            polling=queries.polling(desk.store, now, lag if isinstance(lag, dict) else None),
            counts=queries.today_counts(desk.store, desk.cases, now),
            health=health,
            groups=desk.groups(),
        )

    return {"queue": queue, "queue_json": queue_json, "status": status}


__all__ = ["routes"]
