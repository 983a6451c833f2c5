"""The ``safety_net:`` section of rules.yaml: words that must never be left without a human.

A comment that names a word from *every* word group (by default "person at risk" and "care
blocked or late") and that the rules above left without a case opens a case for an editor to
review, and any public reply the rules wanted is held back (reason ``safety_net``). The case
carries a reason made of the words found, e.g. ``安全网：产妇 + 住院 + 等着``.

The net runs after the rules, whatever their order, so an FAQ answer rule can never shadow it.
It does nothing when the rules already opened a case or attached the comment to one.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from bot.rules._yaml import Checker, Node, join
from bot.rules.actions import compile_then
from bot.rules.model import ActionSpec, GroupInfo, tidy

NAME = "safety_net"  # its name in traces, examples and `rules test`; no rule may use it
REASON_PREFIX = "安全网："
SECTION_KEYS = ("description", "enabled", "words", "then")
ALLOWED_ACTIONS = ("open_case", "notify", "tag")
MAX_REASON_WORDS = 8


@dataclass(frozen=True)
class WordGroup:
    """One named group of words; a comment must contain at least one of them."""

    name: str
    words: tuple[tuple[str, str], ...]  # (as written in the file, normalised)
    line: int = 0

    def found(self, text: str) -> list[str]:
        """The group's words found in the normalised ``text``, in file order, as written.

        A word inside a longer word that was also found is left out (不收 when 医院不收 is there).
        """
        hits = [(raw, norm) for raw, norm in self.words if norm in text]
        return [raw for raw, norm in hits if not any(norm != other and norm in other for _, other in hits)]


@dataclass(frozen=True)
class SafetyNet:
    groups: tuple[WordGroup, ...]
    actions: tuple[ActionSpec, ...]
    description: str = ""
    enabled: bool = True
    line: int = 0

    def match(self, text: str) -> list[tuple[str, list[str]]]:
        """``[(group name, words found), ...]`` for the normalised ``text``."""
        return [(group.name, group.found(text)) for group in self.groups]


def reason_of(found: list[tuple[str, list[str]]]) -> str:
    """``安全网：产妇 + 住院 + 等着`` from the words found in each group."""
    words = [w for _, ws in found for w in ws]
    shown = words[:MAX_REASON_WORDS] + (["…"] if len(words) > MAX_REASON_WORDS else [])
    return REASON_PREFIX + " + ".join(shown)


def parse_safety_net(checker: Checker, node: Node | None, groups: dict[str, GroupInfo]) -> SafetyNet | None:
    """The section, or ``None`` when it is absent or wrong (problems are in ``checker``)."""
    if node is None:
        return None
    c = checker
    keys = c.mapping(node, NAME, allowed=SECTION_KEYS, required=("words", "then"),
                     what="'words:' (the word groups) and 'then:' (what to do)")
    if keys is None or "words" not in keys or "then" not in keys:
        return None
    description = ""
    if "description" in keys:
        description = c.text(keys["description"][1], join(NAME, "description"), allow_empty=True, max_len=1000) or ""
    enabled: bool | None = True
    if "enabled" in keys:
        enabled = c.boolean(keys["enabled"][1], join(NAME, "enabled"))
    word_groups = _word_groups(c, keys["words"][1], join(NAME, "words"))
    actions = compile_then(c, keys["then"][1], join(NAME, "then"), groups)
    if actions is not None:
        actions = _check_actions(c, keys["then"][1], join(NAME, "then"), actions)
    if enabled is None or word_groups is None or actions is None:
        return None
    return SafetyNet(word_groups, actions, description, enabled, node.start_mark.line + 1)


def _word_groups(c: Checker, node: Node, path: str) -> tuple[WordGroup, ...] | None:
    if not isinstance(node, yaml.MappingNode):
        c.add(node, path, "must be word groups, each a name and a list of words, "
              "e.g. 'person at risk: [产妇, 孕妇]'")
        return None
    if not node.value:
        c.add(node, path, "needs at least one word group")
        return None
    out: list[WordGroup] = []
    ok = True
    for key_node, value_node in c.pairs(node, path):
        name = str(key_node.value).strip()
        gpath = join(path, name)
        if not name or len(name) > 40:
            c.add(key_node, gpath, "a word group needs a short name (at most 40 characters)")
            ok = False
            continue
        items = c.text_list(value_node, gpath, max_len=40)
        if items is None:
            ok = False
            continue
        words: list[tuple[str, str]] = []
        seen: dict[str, int] = {}
        for child, raw in items:
            norm = tidy(raw)
            if not norm:
                c.add(child, gpath, f"'{raw}' is empty once normalised")
                ok = False
            elif norm in seen:
                c.add(child, gpath, f"'{raw}' is already in this group (line {seen[norm]})")
                ok = False
            else:
                seen[norm] = child.start_mark.line + 1
                words.append((raw.strip(), norm))
        out.append(WordGroup(name, tuple(words), key_node.start_mark.line + 1))
    return tuple(out) if ok and out else None


def _check_actions(c: Checker, node: Node, path: str, actions: tuple[ActionSpec, ...]) -> tuple[ActionSpec, ...] | None:
    ok = True
    for i, spec in enumerate(actions):
        where = node.value[i] if isinstance(node, yaml.SequenceNode) and i < len(node.value) else node
        if spec.kind == "reply":
            c.add(where, join(path, i), "the safety net never replies in public; remove 'reply' "
                  "(an editor decides what to say)")
            ok = False
        elif spec.kind not in ALLOWED_ACTIONS:
            c.add(where, join(path, i), f"'{spec.kind}' is not allowed in the safety net "
                  f"(allowed: {', '.join(ALLOWED_ACTIONS)})")
            ok = False
        elif spec.kind == "open_case" and spec.params.get("status") != "review":
            c.add(where, join(path, i), "the safety net opens cases for an editor to review: "
                  "use 'status: review'")
            ok = False
    if ok and not any(s.kind == "open_case" for s in actions):
        c.add(node, path, "the safety net must open a case: add '- open_case: {priority: P2, status: review}'")
        ok = False
    return actions if ok else None


__all__ = ["NAME", "REASON_PREFIX", "SafetyNet", "WordGroup", "parse_safety_net", "reason_of"]
