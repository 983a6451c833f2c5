"""What the desk needs from its host: the daemon, or a small stand-in for ``dianhua web``.

Any object with ``.store``, ``.cases`` and ``.config`` will do; ``.rules`` (a holder with
``.current`` and ``.last_error``), ``.model`` (with ``.card`` and ``.version``), ``.health()``
and ``.clock`` are used when present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from loguru import logger

from bot.cases import CaseBook
from bot.clock import Clock, iso, utcnow
from bot.config import Config, store_target
from bot.errors import DianhuaError
from bot.heartbeat import Heartbeat
from bot.heartbeat import read as read_heartbeat
from bot.store import Store


class DeskHost(Protocol):
    store: Store
    cases: CaseBook
    config: Config


@dataclass(frozen=True)
class ModelCard:
    """The model's card without loading the model (enough for the status page)."""

    card: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.card.get("version", ""))


class _Rules:
    """Rules for the stand-alone desk: the holder, re-checked at most every few seconds."""

    def __init__(self, holder: Any, clock: Clock, every: float = 5.0) -> None:
        self._holder = holder
        self._clock = clock
        self._every = every
        self._checked: datetime | None = None

    @property
    def current(self) -> Any:
        now = self._clock()
        if self._checked is None or (now - self._checked).total_seconds() >= self._every:
            self._checked = now
            try:
                self._holder.check()
            except Exception as exc:  # never let a status page take the desk down
                logger.warning("rules check from the desk failed: {}", exc)
        return self._holder.current

    @property
    def last_error(self) -> str | None:
        return getattr(self._holder, "last_error", None)


@dataclass
class StandaloneHost:
    """The desk's host for ``dianhua web``: the database, the cases, the rules, the model card."""

    config: Config
    clock: Clock = utcnow
    store: Store = field(init=False)
    cases: CaseBook = field(init=False)
    rules: Any = field(init=False, default=None)
    model: Any = field(init=False, default=None)
    rules_error: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.store = Store(store_target(self.config), clock=self.clock, must_exist=True)
        self.cases = CaseBook(self.store, self.config.cases)
        try:
            from bot.rules import RulesHolder

            self.rules = _Rules(RulesHolder(self.config.rules, clock=self.clock), self.clock)
        except (DianhuaError, OSError, ImportError) as exc:
            self.rules_error = str(exc)
            logger.warning("the desk runs without rules ({}): department groups come from the "
                           "configuration only", self.config.rules)
        self.model = _model_card(self.config)

    def daemon_heartbeat(self) -> Heartbeat | None:
        """The daemon's last heartbeat in the database (this process cannot ask the daemon)."""
        try:
            return read_heartbeat(self.store)
        except DianhuaError:
            return None

    @property
    def model_error(self) -> str | None:
        """Why the daemon runs on the keyword fallback, from its heartbeat (None: it does not)."""
        beat = self.daemon_heartbeat()
        return beat.model_error if beat else None

    def health(self) -> dict[str, Any]:
        """The desk's own health, and what the database says about the daemon (never "ok").

        Unauthenticated (``/healthz``): it says *that* rules are invalid, never why or where
        (the status page, behind sign-in, reads the details from ``rules.last_error``)."""
        beat = self.daemon_heartbeat()
        now = self.clock()
        daemon: dict[str, Any] = {"last_heartbeat_at": None, "heartbeat_age_seconds": None,
                                  "rules_version": None, "model_version": None}
        if beat is not None:
            daemon = {"last_heartbeat_at": iso(beat.at),
                      "heartbeat_age_seconds": round(beat.age(now), 1),
                      "heartbeat_stale": beat.stale(now),
                      "rules_version": beat.rules_version,
                      "rules_error": "rules invalid" if beat.rules_error else None,
                      "model_version": beat.model_version,
                      # *that* the model fell back, never why (a path, a file's contents)
                      "model": "keyword fallback (model unusable)" if beat.model_error else "ok",
                      "model_fallback": bool(beat.model_error)}
        error = self.rules_error or getattr(self.rules, "last_error", None)
        return {"status": "ok", "component": "desk", "daemon": daemon,
                "rules_version": _rules_version(self.rules),
                "rules_error": "rules invalid" if error else None}


def _rules_version(rules: Any) -> str:
    current = getattr(rules, "current", None)
    return str(getattr(current, "version", "") or "")


def _model_card(config: Config) -> ModelCard | None:
    try:
        from bot.limits import loads, read_file
        from classifiers.paths import DEFAULT_MODEL, card_path_for

        path = card_path_for(config.model or DEFAULT_MODEL)
        registry = getattr(config, "model_registry", None)
        if registry is not None:  # the promoted model, if any (models/live.json)
            from classifiers.registry import Registry

            reg = Registry(registry, bundled=config.model or DEFAULT_MODEL)
            path = card_path_for(reg.live_path())
        return ModelCard(loads(read_file(path, max_bytes=1024 * 1024).decode("utf-8")))
    except (ImportError, OSError, ValueError, DianhuaError) as exc:
        logger.warning("the desk could not read the model card: {}", exc)
        return None


__all__ = ["DeskHost", "ModelCard", "StandaloneHost"]
