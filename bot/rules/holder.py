"""Hot reload: keep the current :class:`RuleSet` and swap in a changed rules.yaml once it checks out.

The daemon calls :meth:`RulesHolder.check` every few seconds (a scheduler job). A changed file
is loaded and checked; if it is valid the holder switches to it in one assignment and logs the
new version; if not, every problem is logged once and the previous rules keep running.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from loguru import logger

from bot.clock import Clock, utcnow
from bot.errors import InputError, RulesError
from bot.limits import read_file
from bot.rules.loader import load_rules, version_of
from bot.rules.ruleset import RuleSet


class RulesHolder:
    """The live rules. ``holder.current`` is always a valid rule set."""

    def __init__(self, path: str | Path, *, clock: Clock = utcnow) -> None:
        """Load ``path`` now; raises :class:`RulesError` when it is invalid (nothing to fall back to)."""
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._current = load_rules(self.path)
        self._seen_version = self._current.version  # last file content looked at (valid or not)
        self.loaded_at: datetime = clock()
        self.checked_at: datetime = self.loaded_at
        self.last_error: str | None = None
        logger.info("rules loaded: {} version {} ({} rules)", self.path, self._current.version,
                    len(self._current.rules))

    @property
    def current(self) -> RuleSet:
        return self._current

    def check(self) -> bool:
        """Reload when the file changed and is valid. True when the rules were switched."""
        with self._lock:
            self.checked_at = self._clock()
            try:
                data = read_file(self.path)
            except InputError as exc:
                message = f"{exc}; keeping version {self._current.version}"
                if self.last_error != message:
                    logger.error("rules: {}", message)
                self.last_error = message
                self._seen_version = ""
                return False
            except OSError as exc:
                message = f"{self.path}: cannot be read ({exc.strerror or type(exc).__name__}); keeping version {self._current.version}"
                if self.last_error != message:
                    logger.error("rules: {}", message)
                self.last_error = message
                self._seen_version = ""
                return False
            version = version_of(data)
            if version == self._seen_version:
                return False
            self._seen_version = version
            if version == self._current.version:  # changed back to what is running
                self.last_error = None
                return False
            try:
                new = load_rules(self.path)
            except RulesError as exc:
                self.last_error = str(exc)
                logger.error("rules: {} is invalid ({} problems); keeping version {}",
                             self.path, len(exc.problems), self._current.version)
                for problem in exc.problems:
                    logger.error("rules: {}", problem)
                return False
            old = self._current
            self._current = new
            self.loaded_at = self.checked_at
            self.last_error = None
            logger.info("rules reloaded: {} version {} → {} ({} rules)", self.path, old.version,
                        new.version, len(new.rules))
            return True


__all__ = ["RulesHolder"]
