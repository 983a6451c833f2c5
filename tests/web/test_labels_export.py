"""Editors' marks → `dianhua labels export`: masked, with provenance, conflicts reported."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from desk_helpers import PHONE, Host, add_comment, csrf_of, open_urgent

from bot.cli import main
from bot.config import store_target
from bot.web.marks import mark_not_urgent, mark_urgent, set_category
from classifiers.dataset import parse_line


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_export_masks_numbers_keeps_provenance_and_reports_conflicts(
    host: Host, tmp_path: Path
) -> None:
    s = host.store
    urgent = add_comment(s, 1, f"我爸透析被停了，小区出不去，电话{PHONE}", openid="oA",
                         score=0.12, band="below", category="寻医买药")
    joke = add_comment(s, 2, "急急急，我家猫也要做核酸哈哈", openid="oB", score=0.8,
                       band="review", category="核酸检测")
    fought = add_comment(s, 3, "健康码黄了还能去医院吗", openid="oC", score=0.5,
                         band="review", category="健康码")
    helped = add_comment(s, 4, "孕妇见红，医院要核酸，结果没出", openid="oD", score=0.97,
                         category="核酸检测")
    mark_urgent(s, host.cases, urgent["id"], editor="小王")
    set_category(s, urgent["id"], "寻医买药", editor="小李")
    mark_not_urgent(s, host.cases, joke["id"], editor="小王")
    mark_urgent(s, host.cases, fought["id"], editor="小王")
    mark_not_urgent(s, host.cases, fought["id"], editor="小李")
    case = open_urgent(s, helped)
    host.cases.set_status(case, "contact_received", actor="小王")
    host.cases.set_status(case, "resolved", actor="小王", outcome="已收治")

    out = tmp_path / "labels"
    res = CliRunner().invoke(main, ["labels", "export", "--db", store_target(host.config),
                                    "--out-dir", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 conflict (" in res.output and "小李: not urgent, 小王: urgent" in res.output
    labels = {r["id"].split(":")[-1]: r for r in _rows(out / "labels.jsonl")}
    assert set(labels) == {"1", "2"}  # the disputed comment is left out
    one = labels["1"]
    assert one["urgent"] == 1 and one["category"] == "寻医买药" and one["editor"] == "小李"
    assert one["model_version"] == "0.1.0+test" and one["score"] == 0.12 and one["band"] == "below"
    assert one["account"] == "main" and one["date"]
    assert labels["2"]["urgent"] == 0
    (implicit,) = _rows(out / "implicit.jsonl")
    assert implicit["implicit"] is True and implicit["urgent"] == 1 and implicit["id"].endswith(":4")
    (conflict,) = _rows(out / "conflicts.jsonl")
    assert [m["editor"] for m in conflict["marks"]] == ["小李", "小王"]
    everything = "".join(p.read_text(encoding="utf-8") for p in out.iterdir()) + res.output
    assert PHONE not in everything and "oA" not in everything  # masked; no openid leaves
    for name in ("labels.jsonl", "implicit.jsonl"):
        for n, line in enumerate((out / name).read_text(encoding="utf-8").splitlines(), 1):
            assert not hasattr(parse_line(line, file=name, line=n, need_category=True), "message")


def test_the_desk_corrects_a_category(editor, host: Host) -> None:  # type: ignore[no-untyped-def]
    c = add_comment(host.store, 1, "核酸结果什么时候出", score=0.3, band="review",
                    category="核酸检测")
    page = editor.get("/stream")
    assert 'name="category_fix"' in page.text
    r = editor.post("/stream/category", data={"csrf": csrf_of(page.text), "comment_id": c["id"],
                                              "category_fix": "健康码"}, follow_redirects=True)
    assert r.status_code == 200 and "类别已改为「健康码」" in r.text
    (row,) = host.store.query("select urgent, category, editor from labels")
    assert row == {"urgent": None, "category": "健康码", "editor": "小王"}
    bad = editor.post("/stream/category", data={"csrf": csrf_of(r.text), "comment_id": c["id"],
                                                "category_fix": "外星人"}, follow_redirects=True)
    assert "未知类别" in bad.text
