"""The rules engine: rules.yaml → what should happen with each comment (pure, no I/O).

::

    rs = load_rules("rules.yaml")             # RulesError(problems=[...]) lists every problem
    decision = rs.evaluate(ctx, history)      # pure, deterministic, never raises
    holder = RulesHolder("rules.yaml")        # hot reload: holder.check(); holder.current

See docs/rules.md for the file format (written for the comms staff who edit it).
"""

from __future__ import annotations

from bot.rules.holder import RulesHolder
from bot.rules.loader import load_rules, load_rules_text, version_of
from bot.rules.model import Example, GroupInfo, RateLimit, RouteTable, Rule, Settings
from bot.rules.ruleset import RuleSet
from bot.rules.templates import REPLY_MAX_CHARS, VARIABLES, render_template, template_variables
from bot.rules.timewin import TimeWindow
from bot.rules.types import Action, CommentContext, Decision, History, RuleTrace, Writer

__all__ = [
    "REPLY_MAX_CHARS",
    "VARIABLES",
    "Action",
    "CommentContext",
    "Decision",
    "Example",
    "GroupInfo",
    "History",
    "RateLimit",
    "RouteTable",
    "Rule",
    "RuleSet",
    "RuleTrace",
    "RulesHolder",
    "Settings",
    "TimeWindow",
    "Writer",
    "load_rules",
    "load_rules_text",
    "render_template",
    "template_variables",
    "version_of",
]
