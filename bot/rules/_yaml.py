"""Read rules.yaml as YAML nodes that remember where they are, and check them in plain words.

PyYAML's ``compose`` gives a node tree in which every node carries its line and column. The
:class:`Checker` walks that tree the way a schema would, but it speaks like a person
(``must be between 0 and 1, got 1.5``), suggests the key that was probably meant, and collects
every problem instead of stopping at the first.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterator

import yaml

from bot.errors import Problem

Node = yaml.Node
MAX_PROBLEMS = 200
MAX_FILE_BYTES = 1_000_000

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, "tag:yaml.org,2002:timestamp"}
_TRUE = {"true", "yes", "on", "y"}
_FALSE = {"false", "no", "off", "n"}

_YAML_HINTS = (
    ("found character '\\t'", "a tab is used for indenting; YAML needs spaces"),
    ("mapping values are not allowed here", "there is a ':' in a value; put the value in quotes"),
    ("could not find expected ':'", "a line is missing its ':' or is indented wrongly"),
    ("expected a single document", "only one document is allowed; remove the extra '---'"),
    ("found undefined alias", "an '*alias' points to an '&anchor' that does not exist"),
    ("while scanning a quoted scalar", "a quote is opened and never closed"),
    ("found duplicate anchor", "the same '&anchor' name is used twice"),
    ("expected <block end>", "the indentation is inconsistent"),
    ("while parsing a flow", "a '[' or '{' is not closed"),
)


def join(path: str, key: str | int) -> str:
    """``join("rules[2]", "when")`` → ``rules[2].when``; ints become ``[i]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def kind_of(node: Node) -> str:
    """How a node looks to a person: ``a list``, ``text``, ``a number`` ..."""
    if isinstance(node, yaml.MappingNode):
        return "a set of 'key: value' lines"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = node.tag
    if tag == _NULL:
        return "nothing"
    if tag == _BOOL:
        return f"true/false ({node.value})"
    if tag in (_INT, _FLOAT):
        return f"a number ({node.value})"
    return f"text ({_short(str(node.value))})"


def _short(text: str, n: int = 40) -> str:
    text = text.replace("\n", " ")
    return repr(text if len(text) <= n else text[: n - 1] + "…")


def suggest(word: str, choices: Collection[str]) -> str:
    """`` (did you mean 'min_score'?)`` or a list of what is allowed, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if word and (word.lower() == c.lower())]
    if close:
        return f" (did you mean '{close[0]}'?)"
    if 0 < len(choices) <= 16:
        return " (allowed: " + ", ".join(sorted(choices)) + ")"
    return ""


class Checker:
    """Collects :class:`Problem` s for one file, each pointing at a node."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[Problem] = []
        self.truncated = 0

    # -- reporting ---------------------------------------------------------------------------
    def add(self, where: Node | yaml.Mark | None, path: str, message: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.truncated += 1
            return
        mark = where.start_mark if isinstance(where, Node) else where
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        self.problems.append(Problem(self.filename, line, column, path, message))

    def final_problems(self) -> list[Problem]:
        out = sorted(self.problems, key=lambda p: (p.line or 0, p.column or 0))
        if self.truncated:
            out.append(
                Problem(self.filename, None, None, "", f"... and {self.truncated} more problems")
            )
        return out

    # -- parsing -----------------------------------------------------------------------------
    def parse(self, text: str) -> Node | None:
        """The document's root node, or ``None`` (with a problem recorded)."""
        if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
            self.add(None, "", f"the file is too big (over {MAX_FILE_BYTES // 1000} kB)")
            return None
        if self._full_width(text):
            return None
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            self.add(exc.problem_mark or exc.context_mark, "", _yaml_message(exc))
            return None
        except yaml.YAMLError as exc:
            self.add(None, "", f"this is not valid YAML: {exc}")
            return None
        except (RecursionError, ValueError, TypeError, UnicodeError) as exc:
            self.add(None, "", f"this is not valid YAML ({type(exc).__name__})")
            return None
        if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == _NULL):
            self.add(yaml.Mark(self.filename, 0, 0, 0, "", 0), "",
                     "the file is empty; it needs at least 'groups', 'routes' and 'rules'")
            return None
        return root

    def _full_width(self, text: str) -> bool:
        """Report a full-width colon or space where YAML needs ':' or ' ' (a Chinese input
        method types them); YAML itself would only say something confusing. True if found."""
        found = False
        for number, line in enumerate(text.splitlines()):
            indent = len(line) - len(line.lstrip(" \t\u3000"))
            if "\u3000" in line[:indent]:
                self.add(yaml.Mark(self.filename, 0, number, line.index("\u3000"), "", 0), "",
                         "全角空格 in the indentation — use ordinary spaces (a full-width space "
                         "'\u3000' was typed)")
                found = True
                continue
            m = _FULL_WIDTH_KEY.match(line)
            if m:
                column = m.start("sep")
                what = ("全角冒号 '：'" if "：" in m.group("sep") else "全角空格 after ':'")
                self.add(yaml.Mark(self.filename, 0, number, column, "", 0), m.group("key"),
                         f"{what} — use ':' (an ordinary colon) followed by an ordinary space")
                found = True
        return found

    # -- shapes ------------------------------------------------------------------------------
    def mapping(
        self,
        node: Node | None,
        path: str,
        *,
        allowed: Collection[str],
        required: Collection[str] = (),
        what: str = "",
    ) -> dict[str, tuple[Node, Node]] | None:
        """Check a mapping's keys; return ``{key: (key_node, value_node)}`` for the known keys."""
        if node is None:
            return None
        if not isinstance(node, yaml.MappingNode):
            shape = what or "a set of 'key: value' lines"
            self.add(node, path, f"must be {shape}, got {kind_of(node)}")
            return None
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in self.pairs(node, path):
            key = str(key_node.value)
            if key not in allowed:
                self.add(key_node, join(path, key), f"unknown key '{key}'{suggest(key, allowed)}")
                continue
            out[key] = (key_node, value_node)
        for key in required:
            if key not in out and key in allowed:
                self.add(node, path, f"missing '{key}'")
        return out

    def pairs(self, node: yaml.MappingNode, path: str) -> Iterator[tuple[Node, Node]]:
        """Key/value node pairs with plain-text keys; reports odd and repeated keys."""
        seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                what = "'<<' (YAML merge)" if key_node.tag == _MERGE else kind_of(key_node)
                self.add(key_node, path, f"keys must be plain words, not {what}")
                continue
            key = str(key_node.value)
            if key in seen:
                first = seen[key].start_mark.line + 1
                self.add(key_node, join(path, key), f"'{key}' appears twice (first on line {first})")
                continue
            seen[key] = key_node
            yield key_node, value_node

    def seq(self, node: Node, path: str, *, what: str = "a list", allow_empty: bool = False) -> list[Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.add(node, path, f"must be {what}, got {kind_of(node)}")
            return None
        if not node.value and not allow_empty:
            self.add(node, path, "the list is empty")
            return None
        return list(node.value)

    # -- scalars -----------------------------------------------------------------------------
    def _scalar_ok(self, node: Node, path: str, expect: str) -> bool:
        if not isinstance(node, yaml.ScalarNode):
            self.add(node, path, f"must be {expect}, got {kind_of(node)}")
            return False
        if node.tag not in _PLAIN_TAGS:
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            self.add(node, path, f"YAML tags like '{tag}' are not allowed here")
            return False
        return True

    def text(
        self, node: Node, path: str, *, allow_empty: bool = False, max_len: int | None = None
    ) -> str | None:
        """Any scalar as the text it was written as (``no`` stays ``"no"``, ``22:00`` stays ``"22:00"``)."""
        if not self._scalar_ok(node, path, "text"):
            return None
        value = str(node.value)
        if node.tag == _NULL and getattr(node, "style", None) is None:
            value = ""
        if not value.strip() and not allow_empty:
            self.add(node, path, "is empty")
            return None
        if max_len is not None and len(value) > max_len:
            self.add(node, path, f"is too long ({len(value)} characters, at most {max_len})")
            return None
        return value

    def word(self, node: Node, path: str, *, what: str = "a word") -> str | None:
        """A short identifier: letters, digits, ``_`` and ``-``."""
        value = self.text(node, path, max_len=64)
        if value is None:
            return None
        if not all(ch.isalnum() or ch in "_-" for ch in value):
            self.add(node, path, f"must be {what} (letters, digits, '_' or '-'), got {_short(value)}")
            return None
        return value

    def boolean(self, node: Node, path: str) -> bool | None:
        if not self._scalar_ok(node, path, "true or false"):
            return None
        raw = str(node.value).strip().lower()
        if node.tag == _BOOL or (node.tag == _STR and getattr(node, "style", None) is None and raw in _TRUE | _FALSE):
            return raw in _TRUE
        self.add(node, path, f"must be true or false, got {kind_of(node)}")
        return None

    def number(
        self, node: Node, path: str, *, lo: float | None = None, hi: float | None = None
    ) -> float | None:
        if not self._scalar_ok(node, path, "a number"):
            return None
        if node.tag not in (_INT, _FLOAT):
            hint = ""
            if node.tag == _STR and _looks_numeric(str(node.value)):
                hint = f": remove the quotes (write {str(node.value).strip()}, not \"{node.value}\")"
            self.add(node, path, f"must be a number, got {kind_of(node)}{hint}")
            return None
        try:
            value = float(str(node.value).replace("_", ""))
        except ValueError:
            self.add(node, path, f"must be a plain number like 0.8, got {_short(str(node.value))}")
            return None
        if math.isnan(value) or math.isinf(value):
            self.add(node, path, f"must be a real number, got {node.value}")
            return None
        if lo is not None and hi is not None and not lo <= value <= hi:
            self.add(node, path, f"must be between {_num(lo)} and {_num(hi)}, got {_num(value)}")
            return None
        if lo is not None and value < lo:
            self.add(node, path, f"must be at least {_num(lo)}, got {_num(value)}")
            return None
        if hi is not None and value > hi:
            self.add(node, path, f"must be at most {_num(hi)}, got {_num(value)}")
            return None
        return value

    def integer(self, node: Node, path: str, *, lo: int | None = None, hi: int | None = None) -> int | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _FLOAT:
            self.add(node, path, f"must be a whole number, got {node.value}")
            return None
        value = self.number(node, path, lo=lo, hi=hi)
        return None if value is None else int(value)

    def choice(self, node: Node, path: str, choices: Collection[str]) -> str | None:
        value = self.text(node, path)
        if value is None:
            return None
        if value not in choices:
            self.add(node, path, f"unknown value '{value}'{suggest(value, choices)}")
            return None
        return value

    def text_list(
        self, node: Node, path: str, *, max_len: int | None = None, max_items: int = 500
    ) -> list[tuple[Node, str]] | None:
        """One text or a list of texts → ``[(node, text), ...]``; ``None`` when any is wrong."""
        items: list[tuple[Node, str]] = []
        if isinstance(node, yaml.SequenceNode):
            nodes = self.seq(node, path)
            if nodes is None:
                return None
            if len(nodes) > max_items:
                self.add(node, path, f"too many entries ({len(nodes)}, at most {max_items})")
                return None
            ok = True
            for i, child in enumerate(nodes):
                value = self.text(child, join(path, i), max_len=max_len)
                if value is None:
                    ok = False
                else:
                    items.append((child, value))
            return items if ok else None
        value = self.text(node, path, max_len=max_len)
        return None if value is None else [(node, value)]


# A key at the start of a line (or after "- ") followed by a full-width colon, or by an ASCII
# colon and a full-width space: what a Chinese input method makes of "key: value".
_FULL_WIDTH_KEY = re.compile(r"^[ \t]*(?:-[ \t]+)?(?P<key>[A-Za-z_][\w-]*)[ \t]*"
                             r"(?P<sep>：|:\u3000)")


def _looks_numeric(text: str) -> bool:
    try:
        float(text.strip().replace("_", ""))
    except ValueError:
        return False
    return bool(text.strip())


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    raw = " ".join(str(part) for part in (exc.context, exc.problem) if part)
    for needle, hint in _YAML_HINTS:
        if needle in raw:
            return f"this is not valid YAML: {hint}"
    return f"this is not valid YAML: {exc.problem or exc.context or 'cannot read it'}"


__all__ = ["MAX_PROBLEMS", "Checker", "Node", "join", "kind_of", "suggest"]
