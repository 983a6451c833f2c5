"""Hypothesis properties of the models, the errcode boundary and the mock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import ApiError, ProtocolError
from connectors.mock import DEFAULT_APPID, DEFAULT_SECRET, MockServer
from connectors.wechat import Comment, CommentPage, Reply, WeChatClient
from connectors.wechat.errors import raise_for_errcode

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                               max_size=4),
    max_leaves=12,
)
COMMENT_KEYS = ["user_comment_id", "openid", "create_time", "content", "comment_type", "reply"]
HTTP = httpx.Client(timeout=5)  # shared: building a client per call costs ~0.1 s of TLS setup
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[MockServer, WeChatClient, int]]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, MockServer(Path(tmp) / "p.db") as srv, \
            WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=srv.url, max_retries=0) as c:
        mid, _ = srv.state.add_article("性质测试")
        yield srv, c, mid


@SETTINGS
@given(content=TEXT, openid=st.none() | st.text(min_size=1, max_size=40))
def test_comment_content_round_trips_through_the_mock(
        shared: tuple[MockServer, WeChatClient, int], content: str, openid: str | None) -> None:
    srv, client, mid = shared
    cid = srv.state.add_comment(mid, 0, openid, content)
    page = client.list_comments(mid, 0, begin=cid - 1, count=1)
    [got] = page.comments
    assert got.user_comment_id == cid and got.content == content and got.openid == openid


@SETTINGS
@given(reply=TEXT)
def test_reply_content_round_trips_through_the_mock(
        shared: tuple[MockServer, WeChatClient, int], reply: str) -> None:
    srv, client, mid = shared
    cid = srv.state.add_comment(mid, 0, "o_1", "问题")
    client.reply_comment(mid, 0, cid, reply)
    [got] = client.list_comments(mid, 0, begin=cid - 1, count=1).comments
    assert got.reply is not None and got.reply.content == reply


comments = st.builds(
    Comment,
    user_comment_id=st.integers(min_value=0, max_value=2**40),
    openid=st.none() | st.text(min_size=1),
    create_time=st.integers(min_value=0, max_value=2**33),
    content=st.text(),
    comment_type=st.sampled_from([0, 1]),
    reply=st.none() | st.builds(Reply, content=st.text(), create_time=st.integers(0, 2**33)),
)


@given(st.lists(comments, max_size=5))
def test_models_round_trip_through_json(items: list[Comment]) -> None:
    wire = json.loads(json.dumps({"errcode": 0, "total": len(items),
                                  "comment": [c.to_json() for c in items]}, ensure_ascii=False))
    assert CommentPage.from_json(wire) == CommentPage(len(items), items)


def _answer(body: bytes) -> object:
    client = WeChatClient("wx", "s", max_retries=0, transport=httpx.MockTransport(
        lambda r: httpx.Response(200, json={"access_token": "T", "expires_in": 7200})
        if r.url.path == "/cgi-bin/token" else httpx.Response(200, content=body)))
    try:
        return client.list_comments(1)
    except ApiError as exc:
        return exc


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_any_json_answer_gives_a_page_or_a_typed_error(value: object) -> None:
    result = _answer(json.dumps(value).encode())
    assert isinstance(result, CommentPage | ApiError)
    if not isinstance(value, dict):
        assert isinstance(result, ProtocolError)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(COMMENT_KEYS), JSON, max_size=6))
def test_malformed_comment_items_never_raise_key_error(item: dict[str, object]) -> None:
    result = _answer(json.dumps({"errcode": 0, "total": 1, "comment": [item]}).encode())
    assert isinstance(result, CommentPage | ProtocolError)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_a_page_or_a_typed_error(body: bytes) -> None:
    assert isinstance(_answer(body), CommentPage | ApiError)


@given(st.integers(min_value=-(2**31), max_value=2**31).filter(lambda c: c != 0),
       st.sampled_from(["token", "business", "wecom"]))
def test_every_errcode_maps_to_an_api_error(code: int, context: str) -> None:
    with pytest.raises(ApiError) as info:
        raise_for_errcode({"errcode": code, "errmsg": "x"}, endpoint="e", context=context,  # type: ignore[arg-type]
                          now=1_700_000_000.0)
    assert info.value.errcode == code


PATHS = ["/_mock/articles", "/_mock/comments", "/_mock/faults", "/_mock/replay",
         "/cgi-bin/comment/list", "/cgi-bin/comment/reply/add", "/cgi-bin/stable_token",
         "/cgi-bin/webhook/send?key=k", "/datacube/getarticlesummary",
         "/cgi-bin/freepublish/batchget", "/cgi-bin/message/custom/send"]


@SETTINGS
@given(path=st.sampled_from(PATHS),
       body=st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode()))
def test_mock_never_answers_5xx_to_garbage(shared: tuple[MockServer, WeChatClient, int],
                                            path: str, body: bytes) -> None:
    srv, client, _ = shared
    if path.startswith("/_mock/faults"):
        body = b"{}" if body.strip().startswith(b"{") else body  # never really inject faults
    token = client._tokens.get()
    sep = "&" if "?" in path else "?"
    r = HTTP.post(f"{srv.url}{path}{sep}access_token={token}", content=body)
    assert r.status_code < 500
    assert isinstance(r.json(), dict)
