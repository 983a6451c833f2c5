"""The one template renderer: ``"已转{route_label}，请留意"`` + variables → text.

Syntax is deliberately tiny: ``{name}`` inserts a variable, ``{{`` and ``}}`` write a literal
brace. No expressions, no attribute access, no format specs. Which variables a template may
use is decided when rules.yaml is loaded (:func:`check_template`), so an unknown variable never
reaches a reader. Each variable has a length cap, so a template's worst-case length is known at
load time and a public reply can never run past the platform's limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot import pii
from bot.rules._yaml import suggest

REPLY_MAX_CHARS = 200  # WeChat comment replies: keep them short (88007 beyond the limit)
NOTIFY_MAX_BYTES = 2048  # WeCom robot text messages: 2048 bytes of UTF-8


@dataclass(frozen=True)
class Variable:
    name: str
    max_len: int
    public: bool  # may appear in a public reply
    meaning: str


VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in (
        Variable("category", 10, True, "the comment's category, e.g. 核酸检测"),
        Variable("route_label", 20, True, "the handling group's label, e.g. 南山区疾控"),
        Variable("article_title", 30, True, "the article's title (shortened to 30 characters)"),
        Variable("time", 5, True, "the time now in Beijing, e.g. 03:12"),
        Variable("route", 32, False, "the handling group's short name, e.g. nanshan"),
        Variable("account", 32, False, "the official account"),
        Variable("band", 6, False, "auto, review or below"),
        Variable("score", 4, False, "the classifier's score, e.g. 0.93"),
        Variable("priority", 2, False, "the case priority of this rule, e.g. P1"),
        Variable("case_id", 12, False, "the writer's open case number (empty for a new case)"),
        Variable("comment", 200, False, "the comment, phone and ID numbers masked"),
        Variable("phone", 20, False, "the case's phone number, masked (138****0000) unless the notify says full_number: true"),
        Variable("id_number", 20, False, "the case's ID number, masked unless the notify says full_number: true"),
        Variable("case_url", 200, False, "a link to the case on the desk ([web] base_url), empty when not set"),
    )
}
PERSONAL = frozenset({"phone", "id_number", "comment"})

_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|\{|\}")
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")


class TemplateSyntaxError(ValueError):
    """A template cannot be read; the message is for a person."""


def parse_template(template: str) -> list[str | tuple[str]]:
    """Split into literal strings and ``(name,)`` variable slots; raises :class:`TemplateSyntaxError`."""
    parts: list[str | tuple[str]] = []
    pos = 0
    for m in _TOKEN_RE.finditer(template):
        if m.start() > pos:
            parts.append(template[pos : m.start()])
        token = m.group(0)
        if token == "{{":
            parts.append("{")
        elif token == "}}":
            parts.append("}")
        elif token in ("{", "}"):
            raise TemplateSyntaxError(
                f"has a lone '{token}' at character {m.start() + 1}; write '{token}{token}' for a brace"
            )
        else:
            name = (m.group(1) or "").strip()
            if not _NAME_RE.match(name):
                raise TemplateSyntaxError(f"'{token}' is not a variable; variables look like {{route_label}}")
            parts.append((name,))
        pos = m.end()
    if pos < len(template):
        parts.append(template[pos:])
    return parts


def template_variables(template: str) -> list[str]:
    """The variable names a template uses, in order, without repeats (``[]`` if unreadable)."""
    try:
        parts = parse_template(template)
    except TemplateSyntaxError:
        return []
    out: list[str] = []
    for part in parts:
        if isinstance(part, tuple) and part[0] not in out:
            out.append(part[0])
    return out


def worst_case_length(template: str) -> int:
    """Characters the rendered text can have at most, with every variable at its cap."""
    total = 0
    for part in parse_template(template):
        if isinstance(part, tuple):
            var = VARIABLES.get(part[0])
            total += var.max_len if var else 0
        else:
            total += len(part)
    return total


def check_template(template: str, *, public: bool) -> list[str]:
    """Plain-words problems with a template; ``[]`` when it is fine.

    ``public=True`` is for replies under the article: no personal-data variables, no phone or
    ID number written into the text, and at most :data:`REPLY_MAX_CHARS` characters.
    """
    try:
        parts = parse_template(template)
    except TemplateSyntaxError as exc:
        return [str(exc)]
    problems: list[str] = []
    if not template.strip():
        problems.append("the text is empty")
    for part in parts:
        if not isinstance(part, tuple):
            continue
        name = part[0]
        if name not in VARIABLES:
            allowed = [v.name for v in VARIABLES.values() if v.public or not public]
            problems.append(f"unknown variable {{{name}}}{suggest(name, allowed)}")
        elif public and name in PERSONAL:
            problems.append(
                f"{{{name}}} may not appear in a public reply: personal data is never echoed back"
            )
        elif public and not VARIABLES[name].public:
            shown = ", ".join("{" + v.name + "}" for v in VARIABLES.values() if v.public)
            problems.append(f"{{{name}}} is for internal messages only; a reply may use {shown}")
    literal = "".join(p for p in parts if isinstance(p, str))
    if public and (pii.find_phones(literal) or pii.find_ids(literal) or pii.mask(literal) != literal):
        problems.append("the text contains what looks like a phone or ID number; replies never carry one")
    if problems:
        return problems
    longest = worst_case_length(template)
    if public and longest > REPLY_MAX_CHARS:
        problems.append(
            f"is too long for a comment reply: up to {longest} characters with its variables, "
            f"at most {REPLY_MAX_CHARS}"
        )
    if not public:
        size = len(literal.encode("utf-8")) + 3 * sum(
            VARIABLES[p[0]].max_len for p in parts if isinstance(p, tuple)
        )
        if size > NOTIFY_MAX_BYTES:
            problems.append(f"is too long for a group message: up to {size} bytes, at most {NOTIFY_MAX_BYTES}")
    return problems


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: max(limit - 1, 0)] + "…"


def render_template(template: str, variables: Mapping[str, str]) -> str:
    """Fill ``{name}`` slots from ``variables``; each value is cut to its variable's cap.

    Never raises: a template that cannot be read renders as itself, a missing variable as ``""``.
    Templates are checked when rules.yaml is loaded, so neither happens in practice.
    """
    try:
        parts = parse_template(template)
    except TemplateSyntaxError:
        return template
    out: list[str] = []
    for part in parts:
        if isinstance(part, tuple):
            name = part[0]
            value = variables.get(name, "")
            value = "" if value is None else str(value)
            var = VARIABLES.get(name)
            out.append(_clip(value, var.max_len) if var and name not in ("phone", "id_number") else value)
        else:
            out.append(part)
    return "".join(out)


__all__ = [
    "NOTIFY_MAX_BYTES",
    "PERSONAL",
    "REPLY_MAX_CHARS",
    "VARIABLES",
    "TemplateSyntaxError",
    "Variable",
    "check_template",
    "parse_template",
    "render_template",
    "template_variables",
    "worst_case_length",
]
