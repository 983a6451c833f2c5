"""Every SQL statement of dianhua's own database lives in the storage layer, ``bot/store/``
(issue 15). This scans ``bot/**/*.py`` outside it and fails, naming file and line, on:

* SQL in a string literal (``SELECT … FROM``, ``INSERT INTO``, ``UPDATE … SET``,
  ``DELETE FROM``, ``REPLACE INTO``, ``CREATE TABLE/INDEX``, ``PRAGMA``), f-strings and
  implicitly concatenated literals included; docstrings and comments are prose, not scanned;
* a database call: ``.execute(…)``, ``.executemany(…)``, ``.executescript(…)``, ``.query(…)``,
  ``insert_row(…)``, ``sqlite3.connect(…)``/``psycopg.connect(…)``, cursor reads
  (``.fetchone()``, ``.fetchall()``, ``.rowcount``);
* sqlite-utils' table API: ``.table(…)``, ``db["t"]``, ``.insert_all``, ``.upsert``,
  ``.upsert_all``, ``.rows_where``, ``.count_where``, ``.delete_where``, ``.lookup``.

Code elsewhere calls the functions of ``bot/store/`` instead. A site that must stay for now
goes in :data:`ALLOWED` with the reason, so the debt is visible; an entry that no longer
matches anything fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOT = ROOT / "bot"
STORE = BOT / "store"

# (file relative to the repository, text on the flagged line) -> why it stays outside bot/store.
# Empty: nothing is left outside the storage layer. Add an entry only with a reason, e.g.
#   ("bot/x.py", 'db.execute("select 1")'): "health probe; moves with issue NN",
ALLOWED: dict[tuple[str, str], str] = {}

_SQL = [
    (re.compile(r"\bselect\b[\s\S]+?\bfrom\s+[\w\"(]", re.I), "SELECT … FROM"),
    (re.compile(r"\binsert\s+(or\s+\w+\s+)?into\b", re.I), "INSERT INTO"),
    (re.compile(r"\bupdate\s+[\w\"{}]+\s+set\b", re.I), "UPDATE … SET"),
    (re.compile(r"\bdelete\s+from\b", re.I), "DELETE FROM"),
    (re.compile(r"\breplace\s+into\b", re.I), "REPLACE INTO"),
    (re.compile(r"\bcreate\s+(unique\s+)?(table|index)\b", re.I), "CREATE TABLE/INDEX"),
    (re.compile(r"\bpragma\s+\w+", re.I), "PRAGMA"),
]
_DB_METHODS = {"execute", "executemany", "executescript", "query", "fetchone", "fetchall"}
_TABLE_API = {"table", "insert_all", "upsert", "upsert_all", "rows_where", "count_where",
              "delete_where", "lookup"}
_DB_NAMES = {"db", "tx", "conn", "database", "store"}
_DRIVERS = {"sqlite3", "psycopg", "psycopg2"}


def _literal(node: ast.AST) -> str | None:
    """The text of a string literal (an f-string's holes as ``{}``), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str)
                       else "{}" for v in node.values)
    return None


def scan_source(source: str, name: str = "<source>") -> list[tuple[int, str]]:
    """(line, what) for every SQL statement or database call in ``source``."""
    tree = ast.parse(source, name)
    prose: set[int] = set()  # docstrings and bare string statements
    inner: set[int] = set()  # the pieces of an f-string, judged with the whole
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and _literal(node.value) is not None:
            prose.add(id(node.value))
        if isinstance(node, ast.JoinedStr):
            inner.update(id(v) for v in node.values)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        text = None if id(node) in prose or id(node) in inner else _literal(node)
        if text is not None:
            for pattern, what in _SQL:
                if pattern.search(text):
                    found.append((node.lineno, f"SQL in a string ({what})"))
                    break
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                if func.attr in _DB_METHODS:
                    found.append((node.lineno, f"database call .{func.attr}()"))
                elif func.attr in _TABLE_API and not (
                        func.attr == "table" and not _on_db(func.value)):
                    found.append((node.lineno, f"sqlite-utils table API .{func.attr}()"))
                elif (func.attr == "connect" and isinstance(func.value, ast.Name)
                      and func.value.id in _DRIVERS):
                    found.append((node.lineno, f"{func.value.id}.connect()"))
            elif isinstance(func, ast.Name) and func.id == "insert_row":
                found.append((node.lineno, "database call insert_row()"))
        elif isinstance(node, ast.Attribute) and node.attr == "rowcount":
            found.append((node.lineno, "cursor .rowcount"))
        elif (isinstance(node, ast.Subscript) and _on_db(node.value)
              and _literal(node.slice) is not None):
            found.append((node.lineno, "sqlite-utils table API db[\"…\"]"))
    return sorted(set(found))


def _on_db(node: ast.AST) -> bool:
    """``db``, ``self.db``, ``store.db``…: an expression naming a database handle."""
    if isinstance(node, ast.Name):
        return node.id in _DB_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in _DB_NAMES
    return False


def _sites() -> list[tuple[str, int, str, str]]:
    """(file, line, what, the line's text) for every site outside bot/store."""
    sites = []
    for path in sorted(BOT.rglob("*.py")):
        if STORE in path.parents:
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        rel = path.relative_to(ROOT).as_posix()
        for line, what in scan_source(source, rel):
            sites.append((rel, line, what, lines[line - 1].strip()))
    return sites


def _allowed(rel: str, text: str) -> tuple[str, str] | None:
    for key in ALLOWED:
        if key[0] == rel and key[1] in text:
            return key
    return None


def test_no_sql_outside_the_storage_layer() -> None:
    sites = _sites()
    bad = [f"{rel}:{line}: {what}: {text}" for rel, line, what, text in sites
           if _allowed(rel, text) is None]
    assert not bad, ("SQL or database calls outside bot/store/ — move them into a module of "
                     "bot/store/ (or list them in ALLOWED with the reason):\n" + "\n".join(bad))


def test_every_allowed_site_still_exists() -> None:
    used = {_allowed(rel, text) for rel, _, _, text in _sites()}
    stale = [f"{rel}: {text!r}" for rel, text in ALLOWED if (rel, text) not in used]
    assert not stale, "ALLOWED lists sites that are gone; remove them:\n" + "\n".join(stale)


def test_the_scanner_finds_what_it_should_and_only_that() -> None:
    bad = '''
def f(db, store, tx, name):
    """Select the rows from the list (a docstring is prose)."""
    db.execute("select id from cases where id = ?", [1])
    store.query("SELECT *\\n FROM comments")
    tx.execute(f"update {name} set x = ? where id = ?", [1, 2])
    sql = ("insert or ignore into breaches (a) "
           "values (?)")
    gone = "DELETE FROM outbox"
    db.table("meta").upsert({"key": "k"}, pk="key")
    db["labels"].insert({"comment_id": "c"})
    insert_row(tx, "alerts", {})
    n = cur.rowcount
    conn = sqlite3.connect("x.db")
'''
    assert scan_source(bad) == [
        (4, "SQL in a string (SELECT … FROM)"), (4, "database call .execute()"),
        (5, "SQL in a string (SELECT … FROM)"), (5, "database call .query()"),
        (6, "SQL in a string (UPDATE … SET)"), (6, "database call .execute()"),
        (7, "SQL in a string (INSERT INTO)"),  # two literals, one statement
        (9, "SQL in a string (DELETE FROM)"),
        (10, "sqlite-utils table API .table()"), (10, "sqlite-utils table API .upsert()"),
        (11, 'sqlite-utils table API db["…"]'),
        (12, "database call insert_row()"),
        (13, "cursor .rowcount"),
        (14, "sqlite3.connect()"),
    ]
    clean = '''
def g(items, seen, d, client):
    """Insert into the list, update the set; delete from nothing."""
    items.insert(0, "x")
    seen.update({"a"})
    d.update(route="pku")
    msg = "请选择转交的部门群"
    client.get("/query", params={"select": "all"})
    text = "select a group for this case"
'''
    assert scan_source(clean) == []
