"""Hot reload: keep the current :class:`RuleSet` and swap in a changed rules.yaml once it checks out.

The daemon calls :meth:`RulesHolder.check` every few seconds (a scheduler job). A changed file
is loaded and checked, and its ``examples:`` are run (as ``dianhua rules check`` does); if it is
valid and every example holds, the holder switches to it in one assignment and logs the new
version; if not, every problem (or failing example) is logged once and the previous rules keep
running. At start-up there is nothing to fall back to: a file whose examples fail is refused
like an invalid one (:class:`RulesError`), so the daemon does not start on it.

Examples without ``band:`` need the classifier: pass ``predict``; without it they are skipped.
The emergency brake ``replies_enabled: false`` is never refused because of an example: the
examples are run as if replies were on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from loguru import logger

from bot.clock import Clock, utcnow
from bot.errors import InputError, Problem, RulesError
from bot.limits import read_file
from bot.rules.loader import load_rules, version_of
from bot.rules.ruleset import RuleSet
from classifiers.prediction import Prediction


class RulesHolder:
    """The live rules. ``holder.current`` is always a valid rule set."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock = utcnow,
        predict: Callable[[str], Prediction] | None = None,
        examples: bool = True,
    ) -> None:
        """Load ``path`` now; raises :class:`RulesError` when it is invalid or an example fails
        (nothing to fall back to)."""
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._predict = predict
        self._examples = examples
        self._current = self._load()
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
            except (InputError, OSError) as exc:
                why = (str(exc) if isinstance(exc, InputError) else
                       f"{self.path}: cannot be read ({exc.strerror or type(exc).__name__})")
                message = f"{why}; keeping version {self._current.version}"
                if self.last_error != message:  # logged once, not every few seconds
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
                new = self._load()
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

    def _load(self) -> RuleSet:
        """Load and check the file, then run its examples; :class:`RulesError` on any problem."""
        rs = load_rules(self.path)
        if not self._examples or not rs.examples:
            return rs
        runnable = rs if self._predict is not None else replace(
            rs, examples=tuple(e for e in rs.examples if e.band is not None))
        if not rs.settings.replies_enabled:
            # the emergency brake is never refused: the examples test the rules as if replies
            # were on (an example expecting a reply would otherwise block the switch)
            runnable = replace(runnable, settings=replace(rs.settings, replies_enabled=True))
        failures = runnable.run_examples(self._predict)
        if failures:
            failed = len({(f.line, f.field) for f in failures})
            summary = Problem(rs.filename, None, None, "examples",
                              f"{failed} of {len(runnable.examples)} examples fail; the file is "
                              "refused as if it were invalid (run `dianhua rules check`)")
            raise RulesError([summary, *failures])
        return rs


__all__ = ["RulesHolder"]
