"""The ``then:`` part of a rule: a list of actions, each checked by its kind first.

Each entry is either a bare word (``feature``, ``unfeature``, ``attach_case``, ``stop``) or a
single ``kind: value`` line, e.g. ``reply: "电话发我"`` or
``open_case: {priority: P1, route: auto}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from bot.rules._yaml import Checker, Node, join, kind_of, suggest
from bot.rules.model import (
    ACTION_KINDS,
    ATTACH_STATUSES,
    OPEN_STATUSES,
    PRIORITIES,
    ActionSpec,
    GroupInfo,
)
from bot.rules.sections import check_group
from bot.rules.templates import check_template

_BARE_OK = ("feature", "unfeature", "attach_case", "stop")
_ONCE = ("reply", "open_case", "attach_case", "feature", "unfeature", "stop")

Parser = Callable[["_ThenCompiler", Node, str], dict[str, Any] | None]


class _ThenCompiler:
    def __init__(self, checker: Checker, groups: dict[str, GroupInfo]) -> None:
        self.c = checker
        self.groups = groups

    def compile(self, node: Node, path: str) -> tuple[ActionSpec, ...] | None:
        items = self.c.seq(node, path, what="a list of actions (lines starting with '- ')")
        if items is None:
            return None
        out: list[ActionSpec] = []
        ok = True
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            spec = self._one(item, join(path, i))
            if spec is None:
                ok = False
                continue
            if spec.kind in _ONCE and spec.kind in seen:
                self.c.add(item, join(path, i), f"'{spec.kind}' appears twice in one rule (first on line {seen[spec.kind]})")
                ok = False
                continue
            seen.setdefault(spec.kind, spec.line)
            out.append(spec)
        return tuple(out) if ok else None

    def _one(self, item: Node, path: str) -> ActionSpec | None:
        line = item.start_mark.line + 1
        if isinstance(item, yaml.ScalarNode):
            word = self.c.text(item, path)
            if word is None:
                return None
            if word not in ACTION_KINDS:
                self.c.add(item, path, f"unknown action '{word}'{suggest(word, ACTION_KINDS)}")
                return None
            if word not in _BARE_OK:
                self.c.add(item, path, f"'{word}' needs details: write '{word}: ...'")
                return None
            return ActionSpec(word, _BARE_DEFAULTS.get(word, {}), line)
        if not isinstance(item, yaml.MappingNode):
            self.c.add(item, path, f"an action must be a word or 'kind: value', got {kind_of(item)}")
            return None
        pairs = list(self.c.pairs(item, path))
        if len(pairs) != 1:
            if len(pairs) > 1:
                names = ", ".join(str(k.value) for k, _ in pairs)
                self.c.add(item, path, f"one action per '- ' line, found {names}; "
                           "indent the details under the action name")
            return None
        key_node, value = pairs[0]
        kind = str(key_node.value)
        if kind not in ACTION_KINDS:
            self.c.add(key_node, path, f"unknown action '{kind}'{suggest(kind, ACTION_KINDS)}")
            return None
        params = _PARSERS[kind](self, value, join(path, kind))
        return None if params is None else ActionSpec(kind, params, line)

    # -- kinds -------------------------------------------------------------------------------
    def _template(self, node: Node, path: str, *, public: bool) -> str | None:
        text = self.c.text(node, path, max_len=2000)
        if text is None:
            return None
        problems = check_template(text, public=public)
        for message in problems:
            self.c.add(node, path, message)
        return None if problems else text

    def reply(self, node: Node, path: str) -> dict[str, Any] | None:
        if isinstance(node, yaml.MappingNode):
            keys = self.c.mapping(node, path, allowed=("text", "phone_given", "in_quiet_hours"),
                                  required=("text",))
            if keys is None or "text" not in keys:
                return None
            text = self._template(keys["text"][1], join(path, "text"), public=True)
            phone_given = None
            if "phone_given" in keys:
                phone_given = self._template(keys["phone_given"][1], join(path, "phone_given"),
                                             public=True)
                if phone_given is None:
                    return None
            in_quiet = None
            if "in_quiet_hours" in keys:
                in_quiet = self.c.boolean(keys["in_quiet_hours"][1], join(path, "in_quiet_hours"))
                if in_quiet is None:
                    return None
            return None if text is None else {"template": text, "phone_given": phone_given,
                                              "in_quiet_hours": in_quiet}
        text = self._template(node, path, public=True)
        return None if text is None else {"template": text, "phone_given": None,
                                          "in_quiet_hours": None}

    def open_case(self, node: Node, path: str) -> dict[str, Any] | None:
        keys = self.c.mapping(node, path, allowed=("priority", "queue", "route", "status"),
                              required=("priority",), what="details such as {priority: P1, route: auto}")
        if keys is None or "priority" not in keys:
            return None
        priority = self.c.choice(keys["priority"][1], join(path, "priority"), PRIORITIES)
        queue: str | None = "editors"
        if "queue" in keys:
            queue = self.c.word(keys["queue"][1], join(path, "queue"), what="a short queue name")
        route: str | None = "auto"
        if "route" in keys:
            route = check_group(self.c, keys["route"][1], join(path, "route"), self.groups, also=("auto",))
        status: str | None = "awaiting_contact"
        if "status" in keys:
            status = self.c.choice(keys["status"][1], join(path, "status"), OPEN_STATUSES)
        if None in (priority, queue, route, status):
            return None
        return {"priority": priority, "queue": queue, "route": route, "status": status}

    def attach_case(self, node: Node, path: str) -> dict[str, Any] | None:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return {"status": ""}
        keys = self.c.mapping(node, path, allowed=("status",), what="details such as {status: contact_received}")
        if keys is None:
            return None
        status: str | None = ""
        if "status" in keys:
            status = self.c.choice(keys["status"][1], join(path, "status"), [s for s in ATTACH_STATUSES if s])
        return None if status is None else {"status": status}

    def notify(self, node: Node, path: str) -> dict[str, Any] | None:
        if not isinstance(node, yaml.MappingNode):
            text = self._template(node, path, public=False)
            return None if text is None else {"group": "route", "template": text}
        keys = self.c.mapping(node, path, allowed=("group", "text", "full_number"), required=("text",))
        if keys is None or "text" not in keys:
            return None
        group: str | None = "route"
        if "group" in keys:
            group = check_group(self.c, keys["group"][1], join(path, "group"), self.groups, also=("route",))
        text = self._template(keys["text"][1], join(path, "text"), public=False)
        full: bool | None = False
        if "full_number" in keys:
            full = self.c.boolean(keys["full_number"][1], join(path, "full_number"))
        if group is None or text is None or full is None:
            return None
        return {"group": group, "template": text, "full_number": full}

    def _bare(self, kind: str, node: Node, path: str) -> dict[str, Any] | None:
        if isinstance(node, yaml.ScalarNode) and (node.tag.endswith(":null") or node.tag.endswith(":bool")):
            if node.tag.endswith(":bool") and str(node.value).lower() not in ("true", "yes", "on"):
                self.c.add(node, path, f"to not {kind}, leave the '{kind}' line out")
                return None
            return {}
        self.c.add(node, path, f"'{kind}' takes no details; write just '- {kind}'")
        return None

    def feature(self, node: Node, path: str) -> dict[str, Any] | None:
        return self._bare("feature", node, path)

    def unfeature(self, node: Node, path: str) -> dict[str, Any] | None:
        return self._bare("unfeature", node, path)

    def stop(self, node: Node, path: str) -> dict[str, Any] | None:
        return self._bare("stop", node, path)

    def tag(self, node: Node, path: str) -> dict[str, Any] | None:
        items = self.c.text_list(node, path, max_len=40, max_items=20)
        if items is None:
            return None
        tags: list[str] = []
        for child, _raw in items:
            word = self.c.word(child, path, what="a tag")
            if word is None:
                return None
            if word not in tags:
                tags.append(word)
        return {"tags": tuple(tags)}


_BARE_DEFAULTS: dict[str, dict[str, Any]] = {"attach_case": {"status": ""}}
_PARSERS: dict[str, Parser] = {
    "reply": _ThenCompiler.reply,
    "open_case": _ThenCompiler.open_case,
    "attach_case": _ThenCompiler.attach_case,
    "notify": _ThenCompiler.notify,
    "feature": _ThenCompiler.feature,
    "unfeature": _ThenCompiler.unfeature,
    "tag": _ThenCompiler.tag,
    "stop": _ThenCompiler.stop,
}


def compile_then(checker: Checker, node: Node, path: str, groups: dict[str, GroupInfo]) -> tuple[ActionSpec, ...] | None:
    """The actions of one rule, or ``None`` when any is wrong (problems are in ``checker``)."""
    return _ThenCompiler(checker, groups).compile(node, path)


__all__ = ["compile_then"]
