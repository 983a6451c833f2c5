"""The desk's shared state: the host's store and cases, the users, the templates, the clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.clock import Clock, iso
from bot.web.render import make_env
from bot.web.security import csrf_token, session_secret
from bot.web.sessions import TRUSTED_PROXIES, Sessions
from bot.web.users import Account, UserBook

NO_STORE = {"Cache-Control": "no-store"}


class Desk:
    """One desk over one host (the daemon or :class:`bot.web.context.StandaloneHost`)."""

    def __init__(self, host: Any, *, clock: Clock | None = None) -> None:
        self.host = host
        self.store = host.store
        self.cases = host.cases
        self.config = host.config
        self.clock: Clock = clock or getattr(host, "clock", None) or self.store.clock
        self.users = UserBook(
            self.store, dict(getattr(self.config, "web_users", {}) or {}), clock=self.clock
        )
        self.env = make_env()
        self.secret = session_secret(str(getattr(self.config, "web_secret", "") or ""))
        self.sessions = Sessions(
            self.store, self.clock,
            idle_minutes=float(getattr(self.config, "web_idle_minutes", 120.0)),
            absolute_hours=float(getattr(self.config, "web_absolute_hours", 12.0)),
        )
        self.trusted_proxies: tuple[str, ...] = tuple(
            getattr(self.config, "web_trusted_proxies", TRUSTED_PROXIES))
        self.secure_cookie = str(getattr(self.config, "web_secure_cookie", "auto"))
        self.base_url = str(getattr(self.config, "web_base_url", "") or "")

    def now(self) -> datetime:
        return self.clock()

    # -- who is asking ------------------------------------------------------------------
    def user_of(self, request: Request) -> str | None:
        """The signed-in user: a live server-side session whose user still exists.

        The queue's background refresh (``/api/...``) does not count as activity.
        """
        token = request.session.get("sid")
        name = self.sessions.user(token, touch=not request.url.path.startswith("/api/"))
        if name is None:
            if request.session.get("user"):
                request.session.clear()
            return None
        if not self.users.exists(name):  # removed while signed in
            self.sessions.revoke(name)
            request.session.clear()
            return None
        return name

    def account_of(self, request: Request) -> Account:
        """Role and scope of the signed-in user (call after :meth:`user_of`)."""
        name = str(getattr(request.state, "user", "") or request.session.get("user") or "")
        return self.users.account(name) or Account(name)

    # -- optional parts of the host -------------------------------------------------------
    def rules_set(self) -> Any:
        rules = getattr(self.host, "rules", None)
        return getattr(rules, "current", None) if rules is not None else None

    def groups(self) -> list[tuple[str, str]]:
        """Department groups to hand off to: (name, label), from the rules and the config."""
        out: dict[str, str] = {}
        current = self.rules_set()
        for name, info in (getattr(current, "groups", None) or {}).items():
            out[str(name)] = str(getattr(info, "label", "") or name)
        for name in getattr(self.config, "groups", {}) or {}:
            out.setdefault(str(name), str(name))
        duty = getattr(getattr(self.config, "cases", None), "duty_group", "")
        if duty:
            out.setdefault(str(duty), "值班组")
        return sorted(out.items())

    def health(self) -> dict[str, Any] | None:
        fn = getattr(self.host, "health", None)
        if not callable(fn):
            return None
        try:
            result = fn()
        except Exception:  # the status page shows what it can
            return None
        return result if isinstance(result, dict) else None

    def system_alert(self) -> str:
        """A banner for every page when the bot runs degraded (the model fell back)."""
        if getattr(self.host, "model_error", None):
            return ("分类模型无法加载：正以关键词兜底运行，含紧急关键词的留言一律转人工审核，"
                    "不自动公开回复。详情见「运行状态」。")
        return ""

    # -- pages --------------------------------------------------------------------------
    def flash(self, request: Request, kind: str, text: str) -> None:
        messages = list(request.session.get("flash") or [])
        messages.append([kind, text])
        request.session["flash"] = messages[-5:]

    def render(
        self, request: Request, template: str, *, status_code: int = 200, **values: Any
    ) -> HTMLResponse:
        flashes = request.session.pop("flash", None) or []
        values.setdefault("system_alert", self.system_alert())
        html = self.env.get_template(template).render(
            user=values.pop("user", None) or request.session.get("user"),
            csrf=csrf_token(request.session),
            flashes=flashes,
            now=iso(self.now()),
            path=request.url.path,
            **values,
        )
        return HTMLResponse(html, status_code=status_code, headers=NO_STORE)

    def fragment(self, template: str, **values: Any) -> str:
        return self.env.get_template(template).render(**values)


__all__ = ["NO_STORE", "Desk"]
