"""Hostile platform answers: every one becomes a :class:`bot.errors.ApiError` subclass or a
well-typed page, and none of them stops the poller (real Store, real WeChatClient over
``httpx.MockTransport``). The count of each outcome is printed (run with ``-s`` to see it)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest
from torture_inputs import (
    Answer,
    hostile_batchget_answers,
    hostile_list_answers,
    hostile_token_answers,
)

from bot.errors import ApiError
from bot.poller import Poller
from bot.store import Store
from connectors.wechat import WeChatClient
from connectors.wechat.models import CommentPage

pytestmark = pytest.mark.torture

TOKEN = json.dumps({"access_token": "T0K", "expires_in": 7200}).encode()


def _transport(answer: Answer, *, on: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token") and on != "token":
            return httpx.Response(200, content=TOKEN, headers={"content-type": "application/json"})
        if answer.raise_exc:
            exc_type = getattr(httpx, answer.raise_exc)
            if issubclass(exc_type, httpx.RequestError):
                raise exc_type("boom", request=request)
            raise exc_type("boom")
        return httpx.Response(answer.status, content=answer.body, headers=list(answer.headers))

    return httpx.MockTransport(handler)


def _client(answer: Answer, *, on: str = "business") -> WeChatClient:
    return WeChatClient("wx0000000000000000", "mock-secret", base_url="http://mock.invalid",
                        transport=_transport(answer, on=on), sleep=lambda s: None, max_retries=1)


def _outcome(call: object) -> tuple[str, object]:
    try:
        return "accepted", call()  # type: ignore[operator]
    except ApiError as exc:
        return type(exc).__name__, exc


def _check_page(page: CommentPage) -> None:
    assert isinstance(page.total, int)
    for c in page.comments:
        assert isinstance(c.user_comment_id, int) and not isinstance(c.user_comment_id, bool)
        assert isinstance(c.content, str)
        assert c.openid is None or isinstance(c.openid, str)
        assert isinstance(c.create_time, int)


def test_hostile_comment_list_answers_become_api_errors() -> None:
    answers = hostile_list_answers()
    assert len(answers) >= 200
    outcomes: Counter[str] = Counter()
    for answer in answers:
        with _client(answer) as client:
            kind, result = _outcome(lambda c=client: c.list_comments(1, 0, 0, 49))
        outcomes[kind] += 1
        if kind == "accepted":
            _check_page(result)  # type: ignore[arg-type]
        else:
            assert "T0K" not in str(result) and "SECRET123" not in str(result), answer.kind
    print(f"\ncomment/list: {len(answers)} hostile answers -> {dict(sorted(outcomes.items()))}")
    assert outcomes["accepted"] < len(answers) // 2


def test_hostile_token_and_discovery_answers_become_api_errors() -> None:
    outcomes: Counter[str] = Counter()
    for answer in hostile_token_answers():
        with _client(answer, on="token") as client:
            kind, _ = _outcome(lambda c=client: c.list_comments(1, 0, 0, 49))
        assert kind != "accepted", answer.kind
        outcomes[kind] += 1
    for answer in hostile_batchget_answers():
        with _client(answer) as client:
            kind, result = _outcome(lambda c=client: c.published_articles(0, 20))
        if kind == "accepted":
            for ref in result:  # type: ignore[attr-defined]
                assert isinstance(ref.msg_data_id, str) and isinstance(ref.index, int)
                assert ref.index >= 0
        outcomes[kind] += 1
    print(f"\ntoken + batchget: {dict(sorted(outcomes.items()))}")


# Found by this suite (they crashed the poll before the fixes; see docs/reliability.md).
FORMER_POLLER_CRASHES = {
    "comment.0.user_comment_id = huge int": "OverflowError from sqlite3 in Store.store_comments",
    "comment.0.create_time = huge int": "OverflowError from sqlite3 in Store.store_comments",
    "comment.0.comment_type = huge int": "OverflowError from sqlite3 in Store.store_comments",
    "escaped lone surrogate": "UnicodeEncodeError from sqlite3 in Store.store_comments",
    "many comments": "Poller.poll_article pages forever when every page is full",
    "full pages forever": "Poller.poll_article pages forever when every page is full",
}
MAX_REQUESTS = 20  # a poll that needs more than this is a runaway


class Runaway(Exception):
    """The poller kept paging: raised by the transport to end the loop."""


def _poll_once(store: Store, answer: Answer, n: int) -> str:
    """Poll one fresh article whose every list answer is ``answer``; the outcome's name."""
    calls = 0
    inner = _transport(answer, on="business")

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls > MAX_REQUESTS:
            raise Runaway(f"more than {MAX_REQUESTS} requests for one poll")
        return inner.handle_request(request)

    client = WeChatClient("wx0000000000000000", "mock-secret", base_url="http://mock.invalid",
                          transport=httpx.MockTransport(handler), sleep=lambda s: None,
                          max_retries=1)
    errors: list[ApiError] = []
    poller = Poller(store, lambda _a: client, on_error=lambda _a, e: errors.append(e))
    article = store.article(store.watch_article("main", str(10_000 + n), 0))
    assert article is not None
    try:
        new = poller.poll_article(article)
    finally:
        client.close()
    return f"backed off ({type(errors[0]).__name__})" if errors else f"stored {min(new, 2)}"


def test_the_poller_survives_hostile_answers(tmp_path: Path) -> None:
    """Through the real Poller and Store: an error backs the article off, an accepted page is
    stored; nothing else escapes."""
    store = Store(tmp_path / "d.db")
    outcomes: Counter[str] = Counter()
    crashes: dict[str, str] = {}
    try:
        for i, answer in enumerate(hostile_list_answers()):
            try:
                outcomes[_poll_once(store, answer, i)] += 1
            except Exception as exc:  # counted and compared with the known list below
                crashes[answer.kind] = type(exc).__name__
                outcomes[f"CRASH {type(exc).__name__}"] += 1
    finally:
        store.close()
    print(f"\npoller: {dict(sorted(outcomes.items()))}")
    assert not crashes, f"ways to crash the poller: {crashes}"


@pytest.mark.parametrize("kind", sorted(FORMER_POLLER_CRASHES))
def test_former_poller_crash_is_handled(kind: str, tmp_path: Path) -> None:
    answer = next(a for a in hostile_list_answers() if a.kind == kind)
    store = Store(tmp_path / "d.db")
    try:
        _poll_once(store, answer, 0)
    finally:
        store.close()
