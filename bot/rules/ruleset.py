"""A loaded, checked rules.yaml: :class:`RuleSet`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.errors import Problem
from bot.rules import engine
from bot.rules import examples as _examples
from bot.rules.model import Example, GroupInfo, RouteTable, Rule, Settings
from bot.rules.safety_net import SafetyNet
from bot.rules.spikes import SpikeRule
from bot.rules.types import CommentContext, Decision, History


@dataclass(frozen=True)
class RuleSet:
    """Immutable: hot reload swaps whole rule sets, never edits one in place."""

    version: str  # short sha256 of the file's bytes
    filename: str
    path: Path | None
    settings: Settings
    groups: Mapping[str, GroupInfo]
    routes: RouteTable
    rules: tuple[Rule, ...]
    examples: tuple[Example, ...] = ()
    safety_net: SafetyNet | None = None  # runs after the rules; see bot/rules/safety_net.py
    spikes: tuple[SpikeRule, ...] = ()  # spike alerts; see bot/rules/spikes.py

    def evaluate(self, ctx: CommentContext, history: History) -> Decision:
        """What should happen with one comment. Pure, deterministic, never raises."""
        return engine.evaluate(self, ctx, history)

    def run_examples(self, predict: _examples.Predict | None = None) -> list[Problem]:
        """Every ``examples:`` entry that no longer holds (``[]`` when all pass).

        ``predict(text) -> Prediction`` scores examples that give no ``band``; without it
        those examples fail with a plain-words reason.
        """
        return _examples.run_examples(self, predict)

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rules)

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


__all__ = ["RuleSet"]
