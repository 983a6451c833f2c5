"""The end-of-run check every crash torture shares: nothing lost, nothing twice.

After a run against the mock: every comment on the platform is stored once and processed, each
has one classification, no comment has two replies and every reply row is sent, the platform
holds exactly as many replies as the outbox says, every urgent comment was answered unless a
guardrail held the reply back (its trace says so), every comment a case-opening rule matched
has exactly one case, and no phone number reached the logs.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from bot.store import Store

PHONE = "13800000000"
CASE_RULES = ("urgent_auto", "urgent_review", "safety_net")  # urgent_review matches _low too


def assert_exactly_once(store: Store, mock: Any, articles: list[tuple[Any, int]], total: int,
                        log_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Assert the promises above; returns the reply and case rows for the caller's figures."""
    q = store.query
    platform = {
        (str(a[0]), a[1], int(c["user_comment_id"])): c
        for a in articles for c in mock.state.all_comments(*a)
    }
    assert len(platform) == total
    stored = q("select id, state from comments")
    assert len(stored) == total, "every comment stored exactly once (0 lost)"
    assert {r["state"] for r in stored} == {"processed"}
    assert q("select count(*) as n from classifications")[0]["n"] == total
    replies = q("select comment_id, status from outbox where kind = 'reply'")
    assert max(Counter(r["comment_id"] for r in replies).values(), default=1) == 1
    assert {r["status"] for r in replies} <= {"sent"}
    on_platform = {k for k, c in platform.items() if c.get("reply")}
    assert len(on_platform) == len(replies), "no reply lost, none extra"
    # Every urgent comment is answered, unless a guardrail (the per-article hourly limit, the
    # writer cooldown) held the reply back: the trace says so.
    auto = q("select t.comment_id, t.suppressed from traces t where t.rule = 'urgent_auto' "
             "and t.matched = 1")
    assert len(auto) > 0
    reply_ids = {r["comment_id"] for r in replies}
    unanswered = [a for a in auto if a["comment_id"] not in reply_ids]
    assert all(json.loads(a["suppressed"]) for a in unanswered), "every urgent comment answered"
    opening = q("select comment_id from classifications where "
                + " or ".join("matched_rules like ?" for _ in CASE_RULES),
                [f"%{r}%" for r in CASE_RULES])
    cases = q("select comment_id from cases")
    assert sorted(r["comment_id"] for r in cases) == sorted(r["comment_id"] for r in opening)
    logs = "".join(p.read_text(encoding="utf-8") for p in log_dir.glob("*"))
    assert PHONE not in logs
    return {"replies": replies, "cases": cases}
