"""The desk shows why the safety net opened a case: on the queue row, the case page and in the trace."""

from __future__ import annotations

from desk_helpers import Host, add_comment
from starlette.testclient import TestClient

from bot.cases import open_case

REASON = "安全网：产妇 + 住院 + 等着"


def open_by_safety_net(host: Host, uid: int = 1) -> int:
    """A 'below' comment the safety net caught, written the way the pipeline writes it."""
    comment = add_comment(host.store, uid, "产妇等着住院要核酸证明才能入住，什么时候能出结果啊？",
                          score=0.003, band="below", rules=("safety_net",))
    with host.store.transaction() as db:
        return open_case(db, comment, at=host.store.now(), priority="P2", route="nanshan",
                         status="review", reason=REASON,
                         note="rule safety_net; score 0.00 (below)")


def test_queue_row_and_case_page_say_why_the_safety_net_opened_the_case(editor: TestClient,
                                                                        host: Host) -> None:
    case_id = open_by_safety_net(host)
    queue = editor.get("/").text
    assert f'<span class="tag reason">{REASON}</span>' in queue
    assert REASON in editor.get("/api/queue").json()["html"]
    page = editor.get(f"/case/{case_id}").text
    assert f'id="case-reason">开案原因：<strong>{REASON}</strong>' in page
    assert "safety_net" in page  # the rule trace lists the net
    assert f"{REASON}; rule safety_net" in page  # the timeline's opening event


def test_a_case_without_a_reason_shows_none(editor: TestClient, host: Host) -> None:
    comment = add_comment(host.store, 1, "孕妇急需核酸结果")
    with host.store.transaction() as db:
        case_id = open_case(db, comment, at=host.store.now(), priority="P1", route="nanshan")
    assert "case-reason" not in editor.get(f"/case/{case_id}").text
    assert "tag reason" not in editor.get("/").text
