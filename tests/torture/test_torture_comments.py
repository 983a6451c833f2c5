"""Awkward comments (0 to 100,000 characters, control characters, personal data) through the
whole path: Poller → Store → Pipeline (the real model, the real rules.yaml) → Sender. Then the
personal-data scan: the log file, the cases export and every table dump that leaves the
building (traces, classifications, case events, outbox) hold no phone or ID number."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from loguru import logger
from torture_inputs import ID_NUMBER, PHONE, ROOT, awkward_comments

from bot import logs, pii
from bot.pipeline import Pipeline
from bot.poller import Poller
from bot.sender import Sender
from bot.store import Store

pytestmark = pytest.mark.torture

# Not inside a longer digit run or after a decimal point (scores, timestamps are not phones).
PHONE_SCAN = re.compile(r"(?<![\d.])1[3-9]\d{9}(?!\d)")
ID_SCAN = re.compile(r"(?<![\d.])[1-9]\d{16}[\dXx](?!\d)")


class Lister:
    """One article's comments, served page by page like comment/list."""

    def __init__(self, comments: list[dict[str, Any]]) -> None:
        self.comments = comments

    def list_comments(self, msg_data_id: Any, index: int = 0, begin: int = 0, count: int = 49,
                      type: int = 0) -> Any:
        class Page:
            total = len(self.comments)
            comments = self.comments[begin:begin + count]

        return Page()


class Platform:
    def __init__(self) -> None:
        self.replies: list[str] = []
        self.group: list[str] = []

    def reply_comment(self, msg_data_id: Any, index: int, user_comment_id: int, content: str) -> None:
        self.replies.append(content)

    def markelect(self, *a: Any) -> None: ...

    def unmarkelect(self, *a: Any) -> None: ...

    def list_comments(self, *a: Any, **k: Any) -> Any:
        return Lister([]).list_comments(0)

    def send_text(self, content: str, mentioned_list: list[str] | None = None) -> None:
        self.group.append(content)


def pii_hits(text: str) -> list[str]:
    """Phone numbers and checksum-valid ID numbers in ``text`` (the scan, not the masker)."""
    phones = PHONE_SCAN.findall(text)
    ids = [m for m in ID_SCAN.findall(text) if pii.id_checksum_ok(m.upper())]
    return phones + ids


def dump_tables(store: Store) -> str:
    """Everything that may be exported or shown outside: traces and decisions."""
    out = []
    for table in ("traces", "classifications", "case_events", "outbox"):
        for row in store.query(f"select * from {table}"):
            out.append(repr(row))
    return "\n".join(out)


def test_awkward_comments_go_through_and_no_personal_data_leaks(tmp_path: Path) -> None:
    from bot.rules import load_rules
    from classifiers import load_model

    log_file = tmp_path / "log" / "dianhua.jsonl"
    logs.setup(file=log_file, level="DEBUG", stderr=False)
    store = Store(tmp_path / "d.db")
    outcomes: Counter[str] = Counter()
    crashes: dict[str, str] = {}
    try:
        rules = load_rules(ROOT / "rules.yaml")
        platform = Platform()
        comments = awkward_comments()
        # A writer with a case comes back with their number (phone_followup attaches it).
        comments += [("story", "老婆怀孕要住院，医院要核酸结果，真的挺急，在北大深圳医院"),
                     ("story follow-up", f"电话{PHONE}，身份证{ID_NUMBER}")]
        for i, (kind, text) in enumerate(comments):
            openid = "o_story" if kind.startswith("story") else f"o_{i}"
            lister = Lister([{"user_comment_id": 1, "openid": openid, "create_time": 0,
                              "content": text, "comment_type": 0}])
            poller = Poller(store, lambda _a, lst=lister: lst)
            article = store.article(store.watch_article("main", str(5000 + i), 0,
                                                        title=f"通知 {kind}"))
            assert article is not None
            try:
                poller.poll_article(article)
            except Exception as exc:  # compared with the known list below
                crashes[kind] = type(exc).__name__
        pipeline = Pipeline(store, load_model(), lambda: rules)
        while pipeline.process_pending(limit=8):
            pass
        sender = Sender(store, wechat=lambda _a: platform, groups=lambda _g: platform,
                        render=None)
        while sender.drain():
            pass
        for row in store.query("select c.content, k.band, k.matched_rules from comments c "
                               "left join classifications k on k.comment_id = c.id"):
            outcomes[f"processed, band {row['band']}" if row["band"] else "not processed"] += 1
        for name in crashes.values():
            outcomes[f"CRASH {name}"] += 1
        cases = store.query("select status, contact_phone from cases")
        assert any(c["contact_phone"] for c in cases), "the follow-up's number reached its case"
        export = CliRunner().invoke(
            __import__("bot.cli.cases_cmd", fromlist=["cases"]).cases,
            ["export", "--db", str(tmp_path / "d.db")],
        )
        assert export.exit_code == 0, export.output
        dumps = dump_tables(store)
        raw = "\n".join(r["content"] for r in store.query("select content from comments"))
        assert PHONE in pii_hits(raw) and ID_NUMBER in pii_hits(raw), "the scan finds them"
    finally:
        logger.complete()
        logger.remove()
        store.close()
    log_text = "".join(p.read_text(encoding="utf-8") for p in log_file.parent.glob("*"))
    leaks = {
        "log file": pii_hits(log_text),
        "cases export": pii_hits(export.output),
        "traces/classifications/case_events/outbox": pii_hits(dumps),
        "public replies": pii_hits("\n".join(platform.replies)),
    }
    print(f"\ncomments: {len(comments)} kinds, {max(len(t) for _, t in comments):,} chars max -> "
          f"{dict(sorted(outcomes.items()))}")
    print("personal data found: " + ", ".join(f"{k} {len(v)}" for k, v in leaks.items()))
    assert all(not v for v in leaks.values()), {k: len(v) for k, v in leaks.items()}
    assert not crashes, f"ways to crash the pipeline: {crashes}"
    assert outcomes["not processed"] == 0


def test_a_comment_with_a_lone_surrogate_is_stored(tmp_path: Path) -> None:
    store = Store(tmp_path / "d.db")
    try:
        lister = Lister([{"user_comment_id": 1, "openid": "o", "create_time": 0,
                          "content": "急\ud800救命"}])
        article = store.article(store.watch_article("main", "1", 0))
        assert article is not None
        assert Poller(store, lambda _a: lister).poll_article(article) == 1
    finally:
        store.close()
