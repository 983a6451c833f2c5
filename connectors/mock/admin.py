"""The mock's admin API under ``/_mock/``: seed articles and comments, read what the bot did,
inject faults, replay scenarios. Bad input gets a 4xx and ``{"error": "..."}``; nothing here can
crash the server. Documented in ``docs/mock.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from connectors.mock.pusher import Pusher
from connectors.mock.replay import Replayer, ScenarioError, load_scenario, parse_scenario
from connectors.mock.state import AdminError, MockState
from connectors.mock.wire import Faults, Request, Response, Stats, json_object

MAX_TITLE = 200


class Admin:
    """Routes ``/_mock/...`` requests."""

    def __init__(self, state: MockState, faults: Faults, stats: Stats, replayer: Replayer,
                 *, info: Callable[[], dict[str, Any]], pusher: Pusher | None = None) -> None:
        self.state = state
        self.faults = faults
        self.stats = stats
        self.replayer = replayer
        self._info = info
        self.pusher = pusher
        self._started = time.monotonic()
        self._routes: dict[tuple[str, str], Callable[[Request], Any]] = {
            ("GET", "/_mock/health"): lambda r: {"ok": True, **self._info()},
            ("GET", "/_mock/articles"): lambda r: {"articles": self.state.articles()},
            ("POST", "/_mock/articles"): self._add_article,
            ("GET", "/_mock/comments"): self._comments,
            ("POST", "/_mock/comments"): self._add_comment,
            ("GET", "/_mock/webhook/messages"): lambda r: {
                "messages": self.state.webhook_messages(r.query.get("key") or None)},
            ("GET", "/_mock/custom/messages"): lambda r: {"messages": self.state.custom_messages()},
            ("GET", "/_mock/messages"): lambda r: {"messages": self.state.user_messages()},
            ("POST", "/_mock/messages"): self._push_message,
            ("GET", "/_mock/push"): lambda r: {
                "target": self.pusher.target.public() if self.pusher and self.pusher.target
                else None},
            ("POST", "/_mock/push"): self._configure_push,
            ("GET", "/_mock/faults"): lambda r: self.faults.snapshot(),
            ("POST", "/_mock/faults"): self._faults,
            ("GET", "/_mock/replay"): lambda r: {
                "replays": [j.status() for j in self.replayer.jobs.values()]},
            ("POST", "/_mock/replay"): self._replay,
            ("GET", "/_mock/stats"): self._stats,
            ("POST", "/_mock/stats/reset"): self._reset_stats,
        }

    def handles(self, path: str) -> bool:
        return path == "/_mock" or path.startswith("/_mock/")

    def handle(self, req: Request) -> Response:
        route = self._routes.get((req.method, req.path))
        try:
            if route is None:
                allowed = sorted(m for m, p in self._routes if p == req.path)
                if allowed:
                    raise AdminError(405, f"{req.method} not allowed on {req.path}; use {allowed}")
                paths = sorted({p for _, p in self._routes})
                raise AdminError(404, f"no admin endpoint {req.path}; known: {paths}")
            return Response(200, route(req))
        except AdminError as exc:
            return Response(exc.status, {"error": exc.message})

    # ------------------------------------------------------------------ handlers
    def _add_article(self, req: Request) -> dict[str, Any]:
        body = json_object(req.body)
        _only(body, {"title", "msg_data_id"})
        title = body.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            raise AdminError(400, f"title must be a non-empty string of at most {MAX_TITLE} characters")
        existing = body.get("msg_data_id")
        if existing is not None:
            existing = _int_field(body, "msg_data_id")
            if not self.state.has_article(existing, 0):
                raise AdminError(404, f"no article msg_data_id={existing} to add an index to")
        msg_data_id, index = self.state.add_article(title, existing)
        return {"msg_data_id": msg_data_id, "index": index}

    def _comments(self, req: Request) -> dict[str, Any]:
        q = req.query
        if not q.get("msg_data_id"):
            out = []
            for art in self.state.articles():
                out.extend(self.state.all_comments(art["msg_data_id"], art["index"]))
            return {"comments": out}
        msg_data_id = _int_field(q, "msg_data_id")
        index = _int_field(q, "index") if q.get("index") else 0
        return {"msg_data_id": msg_data_id, "index": index,
                "comments": self.state.all_comments(msg_data_id, index)}

    def _add_comment(self, req: Request) -> dict[str, Any]:
        body = json_object(req.body)
        _only(body, {"msg_data_id", "index", "openid", "content", "create_time"})
        if "msg_data_id" not in body:
            raise AdminError(400, "msg_data_id is required")
        msg_data_id = _int_field(body, "msg_data_id")
        index = _int_field(body, "index") if body.get("index") is not None else 0
        openid = body.get("openid")
        if openid is not None and (not isinstance(openid, str) or len(openid) > 128):
            raise AdminError(400, "openid must be a string (at most 128 characters) or null")
        content = body.get("content")
        if not isinstance(content, str) or not content:
            raise AdminError(400, "content must be a non-empty string")
        create_time = _int_field(body, "create_time") if body.get("create_time") is not None else None
        cid = self.state.add_comment(msg_data_id, index, openid or None, content, create_time)
        return {"user_comment_id": cid}

    def _configure_push(self, req: Request) -> dict[str, Any]:
        if self.pusher is None:
            raise AdminError(404, "this mock has no message pusher")
        return {"target": self.pusher.configure(json_object(req.body))}

    def _push_message(self, req: Request) -> dict[str, Any]:
        if self.pusher is None:
            raise AdminError(404, "this mock has no message pusher")
        body = json_object(req.body)
        _only(body, {"openid", "content", "create_time"})
        openid, content = body.get("openid"), body.get("content")
        if not isinstance(openid, str) or not openid or len(openid) > 128:
            raise AdminError(400, "openid must be a non-empty string (at most 128 characters)")
        if not isinstance(content, str) or not content or len(content) > 2000:
            raise AdminError(400, "content must be a non-empty string (at most 2000 characters)")
        create_time = _int_field(body, "create_time") if body.get("create_time") is not None else None
        return self.pusher.push_text(openid, content, create_time)

    def _faults(self, req: Request) -> dict[str, Any]:
        body = json_object(req.body)
        self.faults.update(body)
        out = self.faults.snapshot()
        if body.get("expire_tokens") is True:
            out["expired_tokens"] = self.state.expire_tokens()
        return out

    def _replay(self, req: Request) -> dict[str, Any]:
        body = json_object(req.body)
        _only(body, {"file", "speed", "events"})
        speed = body.get("speed", 1.0)
        try:
            if "events" in body:
                if not isinstance(body["events"], list):
                    raise AdminError(400, "events must be a list of scenario objects")
                events, source = parse_scenario(body["events"]), "<events>"
            else:
                path = body.get("file")
                if not isinstance(path, str) or not path:
                    raise AdminError(400, "file must be the path of a scenario .jsonl file")
                events, source = load_scenario(path), path
        except ScenarioError as exc:
            raise AdminError(400, str(exc)) from exc
        return self.replayer.start(events, speed=speed, source=source).status()

    def _stats(self, req: Request) -> dict[str, Any]:
        return {**self.stats.snapshot(), "counts": self.state.counts(),
                "uptime_s": round(time.monotonic() - self._started, 3)}

    def _reset_stats(self, req: Request) -> dict[str, Any]:
        self.stats.reset()
        return self.stats.snapshot()


def _only(body: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise AdminError(400, f"unknown field(s) {unknown}; known: {sorted(known)}")


def _int_field(data: dict[str, Any] | dict[str, str], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool):
        raise AdminError(400, f"{name} must be an integer")
    if isinstance(value, int) and 0 <= value < 2**62:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    raise AdminError(400, f"{name} must be a non-negative integer")


__all__ = ["Admin"]
