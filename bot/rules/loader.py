"""Load rules.yaml: read, check every part, and either return a :class:`RuleSet` or raise
:class:`~bot.errors.RulesError` carrying every problem found (never a traceback)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from bot.errors import InputError, Problem, RulesError
from bot.limits import read_file
from bot.rules._yaml import Checker, Node, join
from bot.rules.actions import compile_then
from bot.rules.conditions import compile_when
from bot.rules.examples import parse_examples
from bot.rules.model import GroupInfo, Rule, Settings
from bot.rules.ruleset import RuleSet
from bot.rules.safety_net import NAME as SAFETY_NET
from bot.rules.safety_net import parse_safety_net
from bot.rules.sections import parse_groups, parse_routes, parse_settings
from bot.rules.spikes import parse_spikes

TOP_KEYS = ("settings", "groups", "routes", "rules", "safety_net", "spikes", "examples")
RULE_KEYS = ("name", "description", "when", "then", "continue", "mode", "enabled")
MODES = ("live", "shadow")


def version_of(data: bytes) -> str:
    """The short sha256 that names a rules file's version in logs and traces."""
    return hashlib.sha256(data).hexdigest()[:12]


def load_rules(path: str | Path) -> RuleSet:
    """Load and check a rules file; raises :class:`RulesError` with every problem."""
    path = Path(path)
    name = str(path)
    try:
        data = read_file(path)
    except InputError as exc:
        raise RulesError(Problem(str(path), None, None, "", str(exc).removeprefix(f"{path}: "))) from None
    except FileNotFoundError:
        raise RulesError(Problem(str(path), None, None, "", "file not found")) from None
    except IsADirectoryError:
        raise RulesError(Problem(str(path), None, None, "", "is a folder, not a rules file")) from None
    except OSError as exc:
        raise RulesError(Problem(str(path), None, None, "", f"cannot be read ({exc.strerror or exc})")) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RulesError(
            Problem(name, line, column, "", "is not UTF-8 text; save the file as UTF-8")
        ) from None
    return _build(text, name, path, version_of(data))


def load_rules_text(text: str, filename: str = "rules.yaml", *, path: str | Path | None = None) -> RuleSet:
    """Load and check rules from a string (``filename`` is used in messages)."""
    if not isinstance(text, str):
        raise RulesError(Problem(filename, None, None, "", "rules must be text"))
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise RulesError(Problem(filename, None, None, "", "is not valid Unicode text")) from None
    return _build(text.removeprefix("\ufeff"), filename, Path(path) if path else None, version_of(data))


def _build(text: str, filename: str, path: Path | None, version: str) -> RuleSet:
    checker = Checker(filename)
    try:
        rs = _check(checker, text, path, version)
    except RecursionError:
        checker.add(None, "", "the file is nested too deeply to read")
        rs = None
    problems = checker.final_problems()
    if problems or rs is None:
        raise RulesError(problems or [Problem(filename, None, None, "", "cannot be loaded")])
    return rs


def _check(checker: Checker, text: str, path: Path | None, version: str) -> RuleSet | None:
    root = checker.parse(text)
    if root is None:
        return None
    keys = checker.mapping(root, "", allowed=TOP_KEYS, required=("groups", "routes", "rules"),
                           what="'settings:', 'groups:', 'routes:', 'rules:', 'safety_net:', 'spikes:' and "
                           "'examples:' sections")
    if keys is None:
        return None

    def section(name: str) -> Node | None:
        return keys[name][1] if name in keys else None

    settings = parse_settings(checker, section("settings"))
    groups = parse_groups(checker, section("groups")) if "groups" in keys else {}
    routes = parse_routes(checker, section("routes"), groups) if "routes" in keys else None
    rules = _parse_rules(checker, section("rules"), settings, groups) if "rules" in keys else ()
    net = parse_safety_net(checker, section("safety_net"), groups)
    spikes = parse_spikes(checker, section("spikes"), groups)
    names = [r.name for r in rules] + ([SAFETY_NET] if net is not None else [])
    examples = parse_examples(checker, section("examples"), names, groups)
    if routes is None or checker.problems:
        return None
    return RuleSet(version, checker.filename, path, settings, dict(groups), routes, rules, examples, net,
                   spikes)


def _parse_rules(
    checker: Checker, node: Node | None, settings: Settings, groups: dict[str, GroupInfo]
) -> tuple[Rule, ...]:
    if node is None:
        return ()
    items = checker.seq(node, "rules", what="a list of rules (each starting with '- name:')")
    if items is None:
        return ()
    rules: list[Rule] = []
    names: dict[str, int] = {}
    catch_all: Rule | None = None
    for i, item in enumerate(items):
        path = join("rules", i)
        name_node = _name_node(item)
        if name_node is not None:
            name = str(name_node.value)
            if name == SAFETY_NET:
                checker.add(name_node, join(path, "name"), f"'{SAFETY_NET}' is the name of the safety net "
                            "section (safety_net: at the top level); pick another rule name")
            elif name in names:
                checker.add(name_node, join(path, "name"), f"the name '{name}' is already used on line {names[name]}")
            else:
                names[name] = item.start_mark.line + 1
        rule = _parse_rule(checker, item, path, settings, groups)
        if rule is None:
            continue
        if catch_all is not None and rule.enabled:
            checker.add(item, path, f"rule '{rule.name}' can never run: rule '{catch_all.name}' "
                        f"(line {catch_all.line}) matches every comment and stops")
        if rule.enabled and not rule.shadow and not rule.conditions and (rule.stops or not rule.cont):
            catch_all = catch_all or rule
        rules.append(rule)
    return tuple(rules)


def _name_node(item: Node) -> Node | None:
    if not isinstance(item, yaml.MappingNode):
        return None
    for key, value in item.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "name" and isinstance(value, yaml.ScalarNode):
            return value
    return None


def _parse_rule(
    checker: Checker, node: Node, path: str, settings: Settings, groups: dict[str, GroupInfo]
) -> Rule | None:
    keys = checker.mapping(node, path, allowed=RULE_KEYS, required=("name", "then"),
                           what="a rule ('name:', 'when:', 'then:' lines)")
    if keys is None:
        return None
    c = checker
    name = c.word(keys["name"][1], join(path, "name"), what="a short rule name") if "name" in keys else None
    description = ""
    if "description" in keys:
        description = c.text(keys["description"][1], join(path, "description"), allow_empty=True, max_len=1000) or ""
    conditions = compile_when(c, keys["when"][1] if "when" in keys else None, join(path, "when"), settings, groups)
    actions = compile_then(c, keys["then"][1], join(path, "then"), groups) if "then" in keys else None
    cont: bool | None = False
    if "continue" in keys:
        cont = c.boolean(keys["continue"][1], join(path, "continue"))
    mode: str | None = "live"
    if "mode" in keys:
        mode = c.choice(keys["mode"][1], join(path, "mode"), MODES)
    enabled: bool | None = True
    if "enabled" in keys:
        enabled = c.boolean(keys["enabled"][1], join(path, "enabled"))
    if name is None or conditions is None or actions is None or cont is None or mode is None or enabled is None:
        return None
    kinds = [a.kind for a in actions]
    ok = True
    then_node = keys["then"][1]
    if cont and "stop" in kinds:
        c.add(keys["continue"][1], join(path, "continue"), "'continue: true' and 'stop' contradict each other; keep one")
        ok = False
    if "open_case" in kinds and "attach_case" in kinds:
        c.add(then_node, join(path, "then"), "a rule either opens a new case or attaches to the open one, not both")
        ok = False
    if "feature" in kinds and "unfeature" in kinds:
        c.add(then_node, join(path, "then"), "'feature' and 'unfeature' in the same rule contradict each other")
        ok = False
    if "attach_case" in kinds and not any(cond.label == "has_open_case: true" for cond in conditions):
        c.add(then_node, join(path, "then"),
              "'attach_case' needs 'has_open_case: true' under 'when:' (there must be a case to attach to)")
        ok = False
    if not ok:
        return None
    return Rule(
        name=name, conditions=conditions, actions=actions, cont=bool(cont), shadow=mode == "shadow",
        enabled=bool(enabled), description=description, line=node.start_mark.line + 1,
    )  # fmt: skip


__all__ = ["load_rules", "load_rules_text", "version_of"]
