"""`dianhua cases` and the desk work cases through one case book: same moves, same checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from desk_helpers import Host, add_comment, make_host, open_urgent

from bot.cli import main
from bot.config import store_target


@pytest.fixture
def world(tmp_path: Path, db_target: str) -> Iterator[Host]:
    """The case book on each engine (``db_target``: SQLite, then PostgreSQL)."""
    host = make_host(tmp_path, db_url=db_target if db_target.startswith("postgresql") else "")
    comment = add_comment(host.store, 1, "孕妇急需核酸结果，能不能优先安排")
    open_urgent(host.store, comment)
    yield host
    host.store.close()


def run(host: Host, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["cases", args[0], "--db", store_target(host.config),
                                       *args[1:]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_resolved_needs_an_outcome_and_one_only(world: Host) -> None:
    code, out = run(world, "set", "1", "resolved")
    assert code != 0 and "办结时请填写处理结果" in out and "--outcome" in out
    code, out = run(world, "set", "1", "resolved", "--outcome", "已入院", "--outcome", "另一个")
    assert code != 0 and "more than once" in out
    assert world.cases.get(1)["status"] == "awaiting_contact"
    code, out = run(world, "set", "1", "resolved", "--outcome", "已入院")
    assert code == 0 and "resolved (已办结)" in out
    assert world.cases.get(1)["outcome"] == "已入院"


def test_handed_off_needs_a_group_and_notifies_it(world: Host) -> None:
    code, out = run(world, "set", "1", "handed_off")
    assert code != 0 and "--group" in out
    code, out = run(world, "set", "1", "handed_off", "--group", "futian")
    assert code == 0 and "福田区卫健局 will be notified" in out
    case = world.cases.get(1)
    assert case["status"] == "handed_off" and case["route"] == "futian"
    rows = world.store.query("select * from outbox where case_id = 1 and kind = 'notify'")
    assert len(rows) == 1 and '"group": "futian"' in rows[0]["params"]


def test_unknown_status_is_an_error_with_a_suggestion(world: Host) -> None:
    code, out = run(world, "list", "--status", "resolvd")
    assert code != 0 and "did you mean 'resolved'" in out and "no cases" not in out
    code, out = run(world, "set", "1", "resolvd", "--outcome", "x")
    assert code != 0 and "did you mean 'resolved'" in out
    assert "Traceback" not in out
    code, out = run(world, "list", "--status", "等待留电话")  # the Chinese name works too
    assert code == 0 and "#1" in out


def test_refused_move_is_in_plain_words(world: Host) -> None:
    run(world, "set", "1", "resolved", "--outcome", "已入院")
    code, out = run(world, "set", "1", "contact_received")
    assert code != 0 and "不能改为" in out and "“待审核”（review）" in out


def test_false_positive_labels_the_comment_duplicate_does_not(world: Host, tmp_path: Path) -> None:
    code, _ = run(world, "set", "1", "false_positive", "--by", "小王")
    assert code == 0
    labels = world.store.query("select * from labels")
    assert [(r["urgent"], r["editor"]) for r in labels] == [(0, "小王")]
    other = add_comment(world.store, 2, "孩子发烧三天了，医院不收", openid="oOther")
    open_urgent(world.store, other)
    code, out = run(world, "set", "2", "duplicate", "--of", "1")
    assert code == 0 and "重复" in out
    assert world.cases.get(2)["status"] == "duplicate"
    assert world.cases.get(2)["outcome"] == "与案件 #1 重复"
    assert len(world.store.query("select * from labels")) == 1  # no false "not urgent" label


def test_notes_have_a_limit_and_must_be_text(world: Host) -> None:
    code, out = run(world, "note", "1", "长" * 2001)
    assert code != 0 and "最多 2000 字" in out
    code, out = run(world, "note", "1", "bad \udcff bytes")  # what the shell gives for non-UTF-8
    assert code != 0 and "not valid UTF-8" in out and "Traceback" not in out
    code, out = run(world, "assign", "1", "bad \udcff")
    assert code != 0 and "not valid UTF-8" in out
    code, out = run(world, "set", "1", "contact_received", "--by", "bad \udcff")
    assert code != 0 and "not valid UTF-8" in out
    assert [e["kind"] for e in world.cases.events(1)] == ["opened"]


def test_show_and_export_use_beijing_time_and_the_export_has_a_bom(world: Host) -> None:
    opened = world.cases.get(1)["opened_at"]  # 2022-01-08T02:00 UTC = 10:00 in Beijing
    assert opened.startswith("2022-01-08T02:00")
    code, out = run(world, "show", "1")
    assert code == 0 and "2022-01-08 10:00:00" in out and "Beijing" in out
    result = CliRunner().invoke(main, ["cases", "export", "--db", store_target(world.config)])
    assert result.exit_code == 0
    data = result.stdout_bytes
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert "2022-01-08 10:00:00" in text and "等待留电话" in text
