"""The mock's admin API, its platform-side validation, garbage input, persistence and replay."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from connectors.mock import DEFAULT_APPID, DEFAULT_SECRET, MockServer
from connectors.mock.replay import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
HTTP = httpx.Client(timeout=5)  # shared: building a client per call costs ~0.1 s of TLS setup


def admin(srv: MockServer, method: str, path: str, **kw: object) -> httpx.Response:
    return HTTP.request(method, srv.url + path, timeout=5, **kw)  # type: ignore[arg-type]


def token(srv: MockServer) -> str:
    r = HTTP.get(srv.url + "/cgi-bin/token", params={
        "grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET})
    return str(r.json()["access_token"])


def test_articles_and_comments_round_trip(mock_server: MockServer) -> None:
    r = admin(mock_server, "POST", "/_mock/articles", json={"title": "孕产妇就医绿色通道指南"})
    assert r.status_code == 200
    art = r.json()
    assert art["index"] == 0 and isinstance(art["msg_data_id"], int)
    r = admin(mock_server, "POST", "/_mock/comments", json={
        "msg_data_id": art["msg_data_id"], "index": 0, "openid": "o_1", "content": "真的挺急",
        "create_time": 1641600000})
    assert r.json() == {"user_comment_id": 1}
    listed = admin(mock_server, "GET", "/_mock/comments",
                   params={"msg_data_id": art["msg_data_id"], "index": 0}).json()
    [c] = listed["comments"]
    assert c["reply"] is None and c["comment_type"] == 0 and c["deleted"] is False
    assert c["create_time"] == 1641600000 and c["content"] == "真的挺急"
    assert admin(mock_server, "GET", "/_mock/articles").json()["articles"][0]["comments"] == 1
    assert len(admin(mock_server, "GET", "/_mock/comments").json()["comments"]) == 1


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), [
    ("POST", "/_mock/articles", b"", 400, "empty"),
    ("POST", "/_mock/articles", b"{not json", 400, "not valid JSON"),
    ("POST", "/_mock/articles", b"[1]", 400, "JSON object"),
    ("POST", "/_mock/articles", b"\xff\xfe\x00", 400, "UTF-8"),
    ("POST", "/_mock/articles", b'{"title": ""}', 400, "title"),
    ("POST", "/_mock/articles", b'{"title": 5}', 400, "title"),
    ("POST", "/_mock/articles", b'{"title": "x", "extra": 1}', 400, "unknown field"),
    ("POST", "/_mock/articles", b'{"title": "x", "msg_data_id": 1}', 404, "no article"),
    ("POST", "/_mock/comments", b'{"index": 0, "content": "x"}', 400, "msg_data_id"),
    ("POST", "/_mock/comments", b'{"msg_data_id": "abc", "content": "x"}', 400, "msg_data_id"),
    ("POST", "/_mock/comments", b'{"msg_data_id": 1e400, "content": "x"}', 400, "msg_data_id"),
    ("POST", "/_mock/comments", b'{"msg_data_id": 99999999999999999999999, "content": "x"}', 400,
     "msg_data_id"),
    ("POST", "/_mock/comments", b'{"msg_data_id": 1, "content": "x"}', 404, "no article"),
    ("POST", "/_mock/comments", b'{"msg_data_id": 1, "content": ""}', 400, "content"),
    ("POST", "/_mock/comments", b'{"msg_data_id": 1, "content": "x", "openid": 3}', 400, "openid"),
    ("POST", "/_mock/comments", b'{"msg_data_id": 1, "content": "x", "create_time": "now"}', 400,
     "create_time"),
    ("GET", "/_mock/comments?msg_data_id=x", b"", 400, "msg_data_id"),
    ("GET", "/_mock/comments?msg_data_id=5", b"", 404, "no article"),
    ("POST", "/_mock/faults", b'{"error_rate": 2}', 400, "error_rate"),
    ("POST", "/_mock/faults", b'{"error_rate": true}', 400, "error_rate"),
    ("POST", "/_mock/faults", b'{"latency_ms": -1}', 400, "latency_ms"),
    ("POST", "/_mock/faults", b'{"daily_quota": "many"}', 400, "daily_quota"),
    ("POST", "/_mock/faults", b'{"expire_tokens": "yes"}', 400, "expire_tokens"),
    ("POST", "/_mock/faults", b'{"bogus": 1}', 400, "unknown field"),
    ("POST", "/_mock/replay", b'{"file": "/nonexistent/x.jsonl"}', 400, "no such file"),
    ("POST", "/_mock/replay", b'{"file": 3}', 400, "file"),
    ("POST", "/_mock/replay", b'{"events": [{"at": -1}]}', 400, "at"),
    ("POST", "/_mock/replay", b'{"events": [], "speed": 0}', 400, "speed"),
    ("POST", "/_mock/replay", b'{"events": "x"}', 400, "events"),
    ("DELETE", "/_mock/articles", b"", 405, "not allowed"),
    ("GET", "/_mock/nothing", b"", 404, "no admin endpoint"),
    ("GET", "/elsewhere", b"", 404, "no such path"),
])
def test_bad_admin_input_gets_4xx_with_clear_message(
        mock_server: MockServer, method: str, path: str, body: bytes, status: int,
        words: str) -> None:
    r = admin(mock_server, method, path, content=body)
    assert r.status_code == status
    assert words in r.json()["error"]
    assert admin(mock_server, "GET", "/_mock/health").json()["ok"] is True


def test_faults_are_validated_atomically(mock_server: MockServer) -> None:
    r = admin(mock_server, "POST", "/_mock/faults", json={"latency_ms": 5, "error_rate": 3})
    assert r.status_code == 400
    assert admin(mock_server, "GET", "/_mock/faults").json()["latency_ms"] == 0
    r = admin(mock_server, "POST", "/_mock/faults", json={"latency_ms": 1, "daily_quota": None})
    assert r.json()["latency_ms"] == 1 and r.json()["daily_quota"] is None


def test_comments_closed_article_refuses_new_comments(mock_server: MockServer,
                                                      article: tuple[int, int]) -> None:
    mock_server.state.set_comments_open(*article, False)
    r = admin(mock_server, "POST", "/_mock/comments",
              json={"msg_data_id": article[0], "content": "x", "openid": None})
    assert r.status_code == 409


def test_garbage_on_the_socket_never_kills_the_server(mock_server: MockServer) -> None:
    junk = [
        b"\x00\x01\x02garbage\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"POST /_mock/articles HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n{}",
        b"POST /_mock/articles HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /_mock/articles HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST /_mock/articles HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"ti",  # then hang up
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"POST /cgi-bin/comment/list?access_token=%ff%fe HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
    ]
    host, port = mock_server.host, mock_server.port
    for payload in junk:
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            try:
                s.recv(65536)
            except OSError:
                pass
    r = admin(mock_server, "POST", "/_mock/articles", json={"title": "still alive"})
    assert r.status_code == 200


def test_platform_validation_codes(mock_server: MockServer, article: tuple[int, int]) -> None:
    mid, idx = article
    tok = token(mock_server)
    url = mock_server.url

    def call(path: str, body: bytes | dict[str, object], tok: str | None = tok) -> dict[str, object]:
        params = {"access_token": tok} if tok is not None else {}
        content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        r = HTTP.post(url + path, params=params, content=content)
        assert r.status_code == 200
        return dict(r.json())

    base = {"msg_data_id": mid, "index": idx, "begin": 0, "type": 0}
    assert call("/cgi-bin/comment/list", {**base, "count": 0})["errcode"] == 88010
    assert call("/cgi-bin/comment/list", {**base, "count": 51})["errcode"] == 88010
    assert call("/cgi-bin/comment/list", {**base, "count": "x"})["errcode"] == 88010
    assert call("/cgi-bin/comment/list", {**base, "count": 50})["errcode"] == 0
    assert call("/cgi-bin/comment/list", b"not json")["errcode"] == 47001
    assert call("/cgi-bin/comment/list", b"[]")["errcode"] == 47001
    assert call("/cgi-bin/comment/list", {**base, "count": 5}, tok=None)["errcode"] == 41001
    assert call("/cgi-bin/comment/list", {**base, "count": 5}, tok="nope")["errcode"] == 40001
    escaped = json.dumps({"msg_data_id": mid, "index": 0, "user_comment_id": 1, "content": "急"})
    mock_server.faults.update({"strict_charset": True})
    assert call("/cgi-bin/comment/reply/add", escaped.encode())["errcode"] == 40033
    mock_server.faults.update({"strict_charset": False})
    assert call("/cgi-bin/comment/reply/add", escaped.encode())["errcode"] != 40033
    cid = mock_server.state.add_comment(mid, idx, "o_1", "hi")
    reply = {"msg_data_id": mid, "index": idx, "user_comment_id": cid}
    assert call("/cgi-bin/comment/reply/add", {**reply, "content": ""})["errcode"] == 88007
    assert call("/cgi-bin/comment/reply/add", {**reply, "content": "x" * 5000})["errcode"] == 88007
    assert call("/cgi-bin/comment/reply/add", {**reply, "content": "\\u4e2d"})["errcode"] == 0
    assert call("/cgi-bin/comment/markelect", {"msg_data_id": mid})["errcode"] == 40097
    answer = call("/cgi-bin/comment/reply/add", {**reply, "content": "again"})
    assert answer["errcode"] == 88005
    assert isinstance(answer["errmsg"], str) and answer["errmsg"].startswith("already reply rid: ")
    r = HTTP.get(url + "/cgi-bin/comment/list", params={"access_token": tok})
    assert r.json()["errcode"] == 43002


def test_token_endpoint_codes(mock_server: MockServer) -> None:
    def get(**params: str) -> int:
        r = HTTP.get(mock_server.url + "/cgi-bin/token", params=params)
        return int(r.json().get("errcode", 0))

    good = {"grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET}
    assert get(**good) == 0
    assert get(**{**good, "secret": "bad"}) == 40125
    assert get(**{**good, "appid": "wxother"}) == 40013
    assert get(**{**good, "grant_type": "x"}) == 40002
    assert get(appid=DEFAULT_APPID, grant_type="client_credential") == 41004


def test_new_token_keeps_old_one_valid_for_overlap(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    with MockServer(tmp_path / "m.db", clock=lambda: now[0]) as srv:
        old = token(srv)
        token(srv)
        srv.state.check_token(old)  # still inside the 5-minute overlap
        now[0] += 301
        with pytest.raises(Exception, match="42001"):
            srv.state.check_token(old)


def test_state_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "persist.db"
    with MockServer(db) as srv:
        mid, idx = srv.state.add_article("持久")
        cid = srv.state.add_comment(mid, idx, "o_1", "留言")
        srv.state.add_reply(mid, idx, cid, "电话发我")
        srv.state.set_elected(mid, idx, cid, True)
        srv.state.store_webhook("k", {"msgtype": "text", "text": {"content": "通知"}})
        tok = token(srv)
    with MockServer(db) as srv:
        [c] = admin(srv, "GET", "/_mock/comments", params={"msg_data_id": mid}).json()["comments"]
        assert c["reply"]["content"] == "电话发我" and c["comment_type"] == 1
        assert len(admin(srv, "GET", "/_mock/webhook/messages").json()["messages"]) == 1
        srv.state.check_token(tok)  # a daemon's token keeps working across a mock restart


def test_stats_count_calls_per_path(mock_server: MockServer, article: tuple[int, int]) -> None:
    token(mock_server)
    admin(mock_server, "GET", "/_mock/articles")
    stats = admin(mock_server, "GET", "/_mock/stats").json()
    assert stats["calls"]["/cgi-bin/token"] == 1 and stats["calls"]["/_mock/articles"] == 1
    assert stats["counts"]["articles"] == 1
    assert admin(mock_server, "POST", "/_mock/stats/reset").json()["calls"] == {}


def test_replay_inline_events_creates_articles_and_comments(mock_server: MockServer) -> None:
    events = [{"at": 0.02, "article": "新文章", "openid": "o_2", "content": "第二"},
              {"at": 0, "article": "新文章", "openid": "o_1", "content": "第一"},
              {"at": 0.01, "article": "999", "openid": None, "content": "无此文章"}]
    r = admin(mock_server, "POST", "/_mock/replay", json={"events": events, "speed": 100})
    assert r.status_code == 200 and r.json()["events"] == 3
    job = mock_server.replayer.jobs[r.json()["replay_id"]]
    assert job.wait(10)
    assert job.done == 3 and len(job.errors) == 1 and "999" in job.errors[0]
    mid, idx = mock_server.state.find_article("新文章")  # type: ignore[misc]
    contents = [c["content"] for c in mock_server.state.all_comments(mid, idx)]
    assert contents == ["第一", "第二"]
    status = admin(mock_server, "GET", "/_mock/replay").json()["replays"][0]
    assert status["state"] == "finished"


def test_demo_scenario_is_valid_and_tells_the_story() -> None:
    events = load_scenario(ROOT / "data/scenarios/demo.jsonl")
    assert 40 <= len(events) <= 60
    assert 50 <= events[-1].at <= 70
    assert 2 <= len({e.article for e in events}) <= 3
    assert any("能不能优先安排" in e.content and "真的挺急" in e.content for e in events)
    assert any("<script>alert(1)</script>" in e.content for e in events)
    with_phone = [e for e in events if "13800000000" in e.content]
    followed = {e.openid for e in with_phone
                if any(o.openid == e.openid and o.at < e.at and "13800000000" not in o.content
                       for o in events)}
    assert len(followed) >= 2
    import re
    for e in events:  # only the allowed fake number appears
        assert set(re.findall(r"1[3-9]\d{9}", e.content)) <= {"13800000000"}


def test_replay_demo_file_through_admin_api(mock_server: MockServer) -> None:
    r = admin(mock_server, "POST", "/_mock/replay",
              json={"file": str(ROOT / "data/scenarios/demo.jsonl"), "speed": 1000})
    assert r.status_code == 200
    job = mock_server.replayer.jobs[r.json()["replay_id"]]
    assert job.wait(20) and job.errors == []
    assert mock_server.state.counts()["comments"] == r.json()["events"]


def test_scenario_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"at": 1, "article": "a", "openid": "o", "content": "x"}\n\n{"at": "soon"}\n',
                   encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"bad.jsonl:3 at"):
        load_scenario(bad)
