"""Test helpers for the desk: a host over a real Store, comments and cases as the daemon writes them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.cases import CaseBook, enqueue, open_case
from bot.clock import iso
from bot.config import Config, store_target
from bot.rules.model import GroupInfo
from bot.store import Store, dumps, insert_row

PASSWORD = "correct-horse-1"
PHONE = "13800000000"
XSS = '<script>alert(1)</script><img src=x onerror=alert(1)>'


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2022, 1, 8, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeRuleSet:
    version: str = "r-test1"
    filename: str = "rules.yaml"
    rules: tuple[Any, ...] = ("urgent", "review")
    groups: dict[str, GroupInfo] = field(default_factory=lambda: {
        "nanshan": GroupInfo("nanshan", "南山区卫健局"),
        "duty": GroupInfo("duty", "值班组"),
    })


@dataclass
class FakeRulesHolder:
    current: FakeRuleSet = field(default_factory=FakeRuleSet)
    last_error: str | None = None


@dataclass
class FakeModel:
    card: dict[str, Any] = field(default_factory=lambda: {
        "name": "dianhua urgent-request classifier", "version": "0.1.0+test",
        "thresholds": {"review": 0.5, "auto": 0.9}})

    @property
    def version(self) -> str:
        return str(self.card["version"])


@dataclass
class Host:
    """What the daemon offers the desk: store, cases, config, rules, model, health, clock."""

    store: Store
    cases: CaseBook
    config: Config
    clock: FakeClock
    rules: FakeRulesHolder = field(default_factory=FakeRulesHolder)
    model: FakeModel = field(default_factory=FakeModel)

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "rules_version": self.rules.current.version,
                "rules_error": self.rules.last_error, "poll_lag_seconds": {"main": 3.0}}


def make_host(tmp_path: Any, clock: FakeClock | None = None, *, db_url: str = "",
              **config: Any) -> Host:
    """The desk's world on a SQLite file, or on PostgreSQL when ``db_url`` is given."""
    clock = clock or FakeClock()
    cfg = Config(db=tmp_path / "desk.db", db_url=db_url, web_secret="test-secret-not-for-production",
                 **config)
    store = Store(store_target(cfg), clock=clock)
    return Host(store=store, cases=CaseBook(store, cfg.cases), config=cfg, clock=clock)


def add_comment(
    store: Store,
    uid: int,
    content: str,
    *,
    openid: str = "oWriter0001",
    account: str = "main",
    msg_data_id: str = "2247483650",
    score: float | None = 0.95,
    band: str | None = "auto",
    category: str = "检测结果",
    top_terms: Sequence[tuple[str, float]] = (("急", 1.2), ("核酸", 0.8)),
    rules: Sequence[str] = ("urgent_auto",),
) -> dict[str, Any]:
    """Store one comment and (unless score is None) its classification and traces."""
    key = store.watch_article(account, msg_data_id, 0, title="关于核酸检测结果查询的说明")
    article = store.article(key)
    assert article is not None
    created = int(store.clock().timestamp()) - 60 + uid  # written a minute before it is read
    store.store_comments(article, [{"user_comment_id": uid, "openid": openid, "content": content,
                                    "create_time": created}],
                         new_cursor=uid, next_poll_at=store.clock())
    cid = f"{key}:{uid}"
    if score is not None:
        with store.transaction() as db:
            insert_row(db, "classifications", {
                "comment_id": cid, "score": score, "band": band, "category": category,
                "category_score": 0.8, "top_terms": dumps([[t, w] for t, w in top_terms]),
                "model_version": "0.1.0+test", "rules_version": "r-test1",
                "matched_rules": dumps(list(rules)), "route": "nanshan", "tags": "[]",
                "shadow_actions": "[]", "processed_at": store.now()})
            for i, r in enumerate([*rules, "faq_health_code"]):
                matched = i < len(rules)
                insert_row(db, "traces", {
                    "comment_id": cid, "position": i, "rule": r,
                    "conditions": dumps([["band", True], ["keywords", True]] if matched
                                        else [["keywords", False]]),
                    "matched": int(matched), "shadow": 0, "suppressed": "[]"})
            db.execute("update comments set state = 'processed' where id = ?", [cid])
    comment = store.comment(cid)
    assert comment is not None
    return comment


def open_urgent(store: Store, comment: dict[str, Any], *, priority: str = "P1",
                status: str = "awaiting_contact", reply: str | None = "电话发我",
                minutes_ago: float = 0) -> int:
    """Open a case the way the pipeline does: in one transaction with the outbox rows."""
    at = iso(store.clock() - timedelta(minutes=minutes_ago))
    with store.transaction() as db:
        case_id = open_case(db, comment, at=at, priority=priority, route="nanshan",
                            status=status, note="rule urgent_auto; score 0.95 (auto)")
        if reply:
            enqueue(db, key=f"{comment['id']}:0:reply", comment_id=comment["id"],
                    case_id=case_id, account=comment["account"], kind="reply",
                    rule="urgent_auto", params={"text": reply, "template": reply}, at=at)
    return case_id


def sign_in(client: Any, name: str = "小王", password: str = PASSWORD) -> Any:
    """Sign ``client`` (a starlette TestClient) in through the login form."""
    page = client.get("/login")
    r = client.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text),
                                    "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)
