"""Generators of bad input for the torture tests: broken rules files, hostile API answers,
and awkward comments. Deterministic for a given seed, so a failure can be replayed."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_RULES = (ROOT / "rules.yaml").read_text(encoding="utf-8")

PHONE = "13800000000"
ID_NUMBER = "11010519491231002X"

# ----------------------------------------------------------------------------- rules.yaml

_SCALARS = [
    "", "~", "null", "true", "false", "yes", "no", "0", "-1", "1.5", "1e309", ".nan", "-.inf",
    "999999999999999999999", "'auto'", "[]", "{}", "[[[[]]]]", "{a: {b: {c: {}}}}",
    "\"\\u0000\"", "'{phone}'", "\"{{}}{\"", "'{nonexistent_variable}'", "\"x\" ", "!!python/object:os.system ls",
    "!!binary aGVsbG8=", "&a x", "*undefined", "<<: *a", "|\n  block", ">-\n  folded", "'" + "长" * 5000 + "'",
    "\"\\ud800\"", "'(a+)+$'", "'((((((((((('", "25:99-07:00", "99h", "-5m", "0m", "P9", "live",
    "shadow", "auto", "review", "below", "mon-sun", "13800000000", "'@all'", "0x1F", "0o17",
]
_KEYS = [
    "settings", "groups", "routes", "rules", "examples", "name", "when", "then", "mode",
    "continue", "enabled", "band", "min_score", "max_score", "keywords", "regex", "reply",
    "open_case", "notify", "tag", "priority", "route", "group", "text", "template", "status",
    "has_phone", "has_open_case", "quiet_hours", "reply_cooldown", "article_rate_limit",
    "count", "per", "fallback", "table", "names", "expect", "in_quiet_hours", "bnad", "thne",
    "规则", "", "<<", "? complex", "- list",
]


def _mutate_once(lines: list[str], rnd: random.Random) -> tuple[str, list[str]]:
    kind = rnd.choice([
        "delete_line", "duplicate_line", "swap_lines", "indent", "dedent", "replace_value",
        "rename_key", "insert_char", "truncate", "tab_indent", "duplicate_block",
        "inject_line",
    ])
    out = list(lines)
    if not out:
        return kind, ["rules: []"]
    i = rnd.randrange(len(out))
    line = out[i]
    if kind == "delete_line":
        del out[i]
    elif kind == "duplicate_line":
        out.insert(i, line)
    elif kind == "swap_lines":
        j = rnd.randrange(len(out))
        out[i], out[j] = out[j], out[i]
    elif kind == "indent":
        out[i] = " " * rnd.choice([1, 2, 3, 4, 8]) + line
    elif kind == "dedent":
        out[i] = line.lstrip()
    elif kind == "tab_indent":
        out[i] = "\t" + line.lstrip()
    elif kind == "replace_value":
        if ":" in line:
            key = line.split(":", 1)[0]
            out[i] = f"{key}: {rnd.choice(_SCALARS)}"
        else:
            out[i] = line.rstrip() + " " + rnd.choice(_SCALARS)
    elif kind == "rename_key":
        if ":" in line:
            indent = line[: len(line) - len(line.lstrip())]
            rest = line.split(":", 1)[1]
            dash = "- " if line.lstrip().startswith("- ") else ""
            out[i] = f"{indent}{dash}{rnd.choice(_KEYS)}:{rest}"
        else:
            out[i] = line + ":"
    elif kind == "insert_char":
        pos = rnd.randrange(len(line) + 1)
        ch = rnd.choice([":", "[", "]", "{", "}", "'", '"', "#", "&", "*", "!", "|", ">", "%", "@",
                         "`", "\t", "\x00", "\x1b", "\u2028", "\ufeff", "\u202e", "- ", "? "])
        out[i] = line[:pos] + ch + line[pos:]
    elif kind == "truncate":
        out = out[:i]
        if out and rnd.random() < 0.5:
            out[-1] = out[-1][: rnd.randrange(len(out[-1]) + 1)]
    elif kind == "duplicate_block":
        j = min(len(out), i + rnd.randrange(1, 15))
        out[j:j] = out[i:j]
    elif kind == "inject_line":
        indent = " " * rnd.choice([0, 2, 4, 6, 8])
        out.insert(i, f"{indent}{rnd.choice(_KEYS)}: {rnd.choice(_SCALARS)}")
    return kind, out


_SPECIAL = {
    "empty file": "",
    "only a comment": "# nothing here\n",
    "not a mapping": "- a\n- b\n",
    "a bare string": "hello",
    "deep flow nesting": "rules: " + "[" * 5000 + "]" * 5000,
    "deep block nesting": "".join("  " * d + f"k{d}:\n" for d in range(400)) + "  " * 400 + "v: 1\n",
    "alias bomb": "a: &a ['x','x','x','x','x','x','x','x','x']\n"
    + "".join(f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
              for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    + "rules: *i\n",
    "recursive alias": "rules: &r\n  - *r\n",
    "two documents": SHIPPED_RULES + "\n---\nrules: []\n",
    "python tag": "rules: !!python/object/apply:os.system ['true']\n",
    "binary junk": "\x00\x01\x02\x7f\ufffe",
    "huge file": "# " + "注释" * 500_000 + "\n" + SHIPPED_RULES,
    "10,000 rules": "rules:\n" + "".join(
        f"  - name: r{i}\n    when: {{band: auto}}\n    then: [tag]\n" for i in range(10_000)),
    "catastrophic regex": "rules:\n  - name: re\n    when:\n      regex: '(a+)+$'\n    then: [tag]\n",
    "merge key": "base: &b {band: auto}\nrules:\n  - name: m\n    when:\n      <<: *b\n    then: [tag]\n",
}


def rules_mutations(n: int, seed: int = 7) -> Iterator[tuple[str, str]]:
    """``(kind, text)``: the special cases first, then ``n`` random edits of the shipped file
    (1 to 4 edits each)."""
    yield from _SPECIAL.items()
    rnd = random.Random(seed)
    base = SHIPPED_RULES.splitlines()
    for _ in range(n):
        lines = base
        kinds = []
        for _ in range(rnd.choice([1, 1, 1, 2, 3, 4])):
            kind, lines = _mutate_once(lines, rnd)
            kinds.append(kind)
        yield "+".join(kinds), "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- API answers

@dataclass(frozen=True)
class Answer:
    kind: str
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
    raise_exc: str | None = None  # name of an httpx exception to raise instead of answering


def _valid_list() -> dict[str, object]:
    return {
        "errcode": 0, "errmsg": "ok", "total": 2,
        "comment": [
            {"user_comment_id": 1, "openid": "o_1", "create_time": 1641607200,
             "content": "真的挺急", "comment_type": 0,
             "reply": {"content": "电话发我", "create_time": 1641607560}},
            {"user_comment_id": 2, "openid": "o_2", "create_time": 1641607300,
             "content": "谢谢", "comment_type": 1},
        ],
    }


_BAD_VALUES: list[tuple[str, object]] = [
    ("null", None), ("true", True), ("float", 1.5), ("negative", -1), ("huge int", 2**70),
    ("text", "abc"), ("empty text", ""), ("list", []), ("object", {}), ("nested list", [[[]]]),
    ("huge text", "急" * 1_000_000), ("NUL text", "\x00\x00"), ("lone surrogate", "\ud800"),
    ("digits text", "12345"), ("deep", json.loads("[" * 500 + "]" * 500)),
]
_PATHS = [
    ("errcode",), ("errmsg",), ("total",), ("comment",), ("comment", 0),
    ("comment", 0, "user_comment_id"), ("comment", 0, "openid"), ("comment", 0, "create_time"),
    ("comment", 0, "content"), ("comment", 0, "comment_type"), ("comment", 0, "reply"),
    ("comment", 0, "reply", "content"), ("comment", 0, "reply", "create_time"),
]
_DELETE = object()


def _set(doc: dict[str, object], path: tuple[object, ...], value: object) -> dict[str, object]:
    doc = json.loads(json.dumps(doc))
    node: object = doc
    for step in path[:-1]:
        node = node[step]  # type: ignore[index]
    if value is _DELETE:
        del node[path[-1]]  # type: ignore[attr-defined]
    else:
        node[path[-1]] = value  # type: ignore[index]
    return doc


def _json(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")


def hostile_list_answers() -> list[Answer]:
    """Answers to ``comment/list``: every field with every wrong type, missing fields, raw junk,
    HTTP errors and transport failures."""
    out: list[Answer] = []
    for path in _PATHS:
        name = ".".join(str(p) for p in path)
        out.append(Answer(f"missing {name}", body=_json(_set(_valid_list(), path, _DELETE))))
        for label, value in _BAD_VALUES:
            out.append(Answer(f"{name} = {label}", body=_json(_set(_valid_list(), path, value))))
    valid = _json(_valid_list())
    raw: dict[str, bytes] = {
        "empty body": b"",
        "not JSON": b"hello",
        "HTML error page": b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        "truncated JSON": valid[: len(valid) // 2],
        "invalid UTF-8": b'{"errcode":0,"total":1,"comment":[{"user_comment_id":1,"create_time":1,'
                         b'"content":"\xff\xfe\xc3("}]}',
        "UTF-16": json.dumps(_valid_list(), ensure_ascii=False).encode("utf-16"),
        "BOM first": b"\xef\xbb\xbf" + valid,
        "deep list 100k": b"[" * 100_000 + b"]" * 100_000,
        "deep object 100k": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        "deep inside comment": b'{"errcode":0,"total":1,"comment":[{"user_comment_id":1,"content":'
                               + b"[" * 50_000 + b"]" * 50_000 + b"}]}",
        "top-level list": b"[1,2,3]",
        "top-level string": b'"ok"',
        "top-level number": b"0",
        "top-level null": b"null",
        "NaN": b'{"errcode":0,"total":NaN,"comment":[]}',
        "Infinity id": b'{"errcode":0,"total":1,"comment":[{"user_comment_id":Infinity,"content":"x"}]}',
        "1e999": b'{"errcode":0,"total":1e999,"comment":[]}',
        "duplicate keys": b'{"errcode":0,"errcode":40001,"total":0,"comment":[]}',
        "huge body 20 MB": b'{"errcode":0,"total":1,"comment":[{"user_comment_id":1,"content":"'
                           + "长".encode() * 7_000_000 + b'"}]}',
        "many comments": _json({"errcode": 0, "total": 5_000, "comment": [
            {"user_comment_id": i, "content": "x", "create_time": 1} for i in range(5_000)]}),
        "errcode -1": b'{"errcode":-1,"errmsg":"system error"}',
        "errcode text": b'{"errcode":"abc","errmsg":"?"}',
        "errcode quoted": b'{"errcode":"45009","errmsg":"quota"}',
        "errcode float": b'{"errcode":1.5}',
        "errcode unknown": b'{"errcode":99999,"errmsg":"what"}',
        "errcode 88001": b'{"errcode":88001,"errmsg":"no article"}',
        "errcode 45009": b'{"errcode":45009,"errmsg":"api freq out of limit"}',
        "errcode 48001": b'{"errcode":48001,"errmsg":"api unauthorized"}',
        "errcode 40001 always": b'{"errcode":40001,"errmsg":"invalid credential"}',
        "errmsg huge": _json({"errcode": 40097, "errmsg": "坏" * 1_000_000}),
        "errmsg with secret": b'{"errcode":40097,"errmsg":"bad access_token=SECRET123 secret=abc"}',
        "errmsg object": b'{"errcode":40097,"errmsg":{"a":1}}',
        "JSON with trailing junk": valid + b"garbage",
        "control characters": b'{"errcode":0,"total":1,"comment":[{"user_comment_id":1,"content":"\x01\x02"}]}',
        "escaped NUL": b'{"errcode":0,"total":1,"comment":[{"user_comment_id":1,"create_time":1,'
                       b'"content":"a\\u0000b"}]}',
        "escaped lone surrogate": b'{"errcode":0,"total":1,"comment":[{"user_comment_id":1,'
                                  b'"create_time":1,"content":"\\ud800x"}]}',
        "full pages forever": _json({"errcode": 0, "total": 49, "comment": [
            {"user_comment_id": i, "content": "x", "create_time": 1} for i in range(49)]}),
    }
    for kind, body in raw.items():
        out.append(Answer(kind, body=body))
    out.append(Answer("HTML 200 text/html", body=raw["HTML error page"],
                      headers=(("content-type", "text/html"),)))
    for status in (204, 301, 400, 401, 403, 404, 408, 413, 418, 429, 500, 502, 503, 504, 599):
        out.append(Answer(f"HTTP {status}", status=status, body=raw["HTML error page"],
                          headers=(("content-type", "text/html"),)))
    out.append(Answer("bad gzip", body=b"not gzip at all",
                      headers=(("content-type", "application/json"), ("content-encoding", "gzip"))))
    for exc in ("ConnectError", "ReadTimeout", "ConnectTimeout", "RemoteProtocolError",
                "ReadError", "WriteError", "PoolTimeout", "ProxyError", "UnsupportedProtocol",
                "DecodingError", "TooManyRedirects"):
        out.append(Answer(f"transport {exc}", raise_exc=exc))
    return out


def hostile_token_answers() -> list[Answer]:
    """Answers to ``cgi-bin/token``."""
    docs: dict[str, object] = {
        "no token": {"expires_in": 7200},
        "token null": {"access_token": None, "expires_in": 7200},
        "token number": {"access_token": 12345, "expires_in": 7200},
        "token empty": {"access_token": "", "expires_in": 7200},
        "expires text": {"access_token": "T", "expires_in": "soon"},
        "expires list": {"access_token": "T", "expires_in": [7200]},
        "expires bool": {"access_token": "T", "expires_in": True},
        "errcode 40125": {"errcode": 40125, "errmsg": "invalid appsecret"},
        "errcode 40164": {"errcode": 40164, "errmsg": "invalid ip"},
        "top-level list": [],
    }
    out = [Answer(f"token: {k}", body=_json(v)) for k, v in docs.items()]
    out += [Answer("token: not JSON", body=b"<html>oops</html>"),
            Answer("token: HTTP 500", status=500, body=b"")]
    return out


def hostile_batchget_answers() -> list[Answer]:
    """Answers to ``freepublish/batchget`` (article discovery)."""
    item = {"article_id": "A1", "update_time": 1641607200, "content": {"news_item": [
        {"title": "通知", "url": "http://mp.weixin.qq.com/s?__biz=x&mid=2247480001&idx=1"}]}}
    docs: dict[str, object] = {
        "item not object": {"total_count": 1, "item_count": 1, "item": ["x"]},
        "item null": {"total_count": 1, "item": None},
        "item object": {"total_count": 1, "item": {"a": 1}},
        "content text": {"item": [{**item, "content": "x"}]},
        "news_item text": {"item": [{**item, "content": {"news_item": "x"}}]},
        "news_item objects wrong": {"item": [{**item, "content": {"news_item": [1, None, []]}}]},
        "url number": {"item": [{**item, "content": {"news_item": [{"title": "t", "url": 5}]}}]},
        "url no mid": {"item": [{**item, "content": {"news_item": [{"title": "t", "url": "http://x"}]}}]},
        "mid huge": {"item": [{**item, "content": {"news_item": [
            {"title": "t", "url": "http://x?mid=" + "9" * 5000 + "&idx=1"}]}}]},
        "idx zero": {"item": [{**item, "content": {"news_item": [
            {"title": "t", "url": "http://x?mid=1&idx=0"}]}}]},
        "idx negative": {"item": [{**item, "content": {"news_item": [
            {"title": "t", "url": "http://x?mid=1&idx=-3"}]}}]},
        "title number": {"item": [{**item, "content": {"news_item": [
            {"title": 5, "url": "http://x?mid=1&idx=1"}]}}]},
        "update_time text": {"item": [{**item, "update_time": "noon"}]},
        "empty object": {},
    }
    return [Answer(f"batchget: {k}", body=_json(v)) for k, v in docs.items()]


# ----------------------------------------------------------------------------- comments

def awkward_comments() -> list[tuple[str, str]]:
    """``(kind, text)`` from 0 to 100,000 characters, with personal data in some."""
    base = "老婆怀孕要住院，医院要核酸结果，12个小时了还没出，能不能优先安排，因为真的挺急"
    out: list[tuple[str, str]] = [("empty", ""), ("one space", " "), ("one char", "急"),
                                  ("whitespace only", " \t\n\u3000" * 50)]
    for n in (10, 100, 1_000, 10_000, 100_000):
        out.append((f"{n} chars of Chinese", (base * (n // len(base) + 1))[:n]))
        out.append((f"{n} chars of one char", "急" * n))
    out += [
        ("100,000 emoji", "🚑" * 100_000),
        ("100,000 NUL", "\x00" * 100_000),
        ("100,000 digits", "1" * 100_000),
        ("100,000 combining marks", "a" + "\u0301" * 99_999),
        ("zero-width and bidi", "救\u200b命\u200d\u202e急\u2066医院\u2069\ufeff"),
        ("control characters", "".join(chr(c) for c in range(32)) + "急"),
        ("lone surrogate", "急\ud800救命"),
        ("private use", "\ue000\uf8ff急"),
        ("html", "<script>alert(1)</script><img src=x onerror=alert(1)>急"),
        ("sql", "'); drop table comments; -- 急"),
        ("template syntax", "{phone} {case_id} {{comment}} {0} {__class__} %s %(x)s 急"),
        ("traditional", "老婆懷孕要住院，醫院要核酸結果，真的挺急"),
        ("full-width", "ＡＢＣ急救１２３"),
        ("phone", f"电话{PHONE}，麻烦尽快联系，真的挺急"),
        ("phone with spaces", "电话 138 0000 0000 急"),
        ("phone full-width", "电话１３８００００００００急"),
        ("phone +86", "+86-138-0000-0000 孩子高烧急"),
        ("ID number", f"身份证{ID_NUMBER}，孕妇要住院，急"),
        ("phone and ID 10,000 times", (f"{PHONE} {ID_NUMBER} 急 ") * 3_000),
        ("100,000 chars with a phone at the end", "急" * 99_980 + PHONE),
    ]
    return out
