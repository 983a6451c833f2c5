"""The desk's model page: the live card, its plots, the shadow's disagreements to label first."""

from __future__ import annotations

import json
from pathlib import Path

from desk_helpers import PHONE, FakeClock, add_comment, csrf_of, make_host, sign_in
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.store import insert_row
from bot.web import mount_desk
from bot.web.users import UserBook

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 20


def test_model_page_shows_card_plots_and_disagreements(tmp_path: Path) -> None:
    reg = tmp_path / "models"
    live, cand = "0.1.0+aaaa.s42", "0.1.0+bbbb.s42"
    (reg / live / "plots").mkdir(parents=True)
    (reg / live / "plots" / "test-pr.png").write_bytes(PNG)
    (reg / cand / f"compare-{live}").mkdir(parents=True)
    (reg / cand / f"compare-{live}" / "test-scores.png").write_bytes(PNG)
    (reg / "live.json").write_text(json.dumps({"version": live}), encoding="utf-8")
    (reg / "shadow.json").write_text(json.dumps({"version": cand, "since": "x"}), "utf-8")
    (reg / "history.jsonl").write_text(json.dumps(
        {"action": "promote", "version": live, "by": "分析师", "at": "t", "forced": True,
         "reason": "上线试试"}, ensure_ascii=False) + "\n", encoding="utf-8")
    host = make_host(tmp_path, FakeClock(), model_registry=reg)
    host.model.card.update(version=live, metrics={"test": {
        "n": 12, "urgent": 6, "average_precision": 0.97,
        "review": {"recall": 1.0, "precision": 0.7}, "auto": {"recall": 0.9, "precision": 0.9}}})
    UserBook(host.store).add("小王", "correct-horse-1")
    c = add_comment(host.store, 1, f"我妈化疗断药了 电话{PHONE}", score=0.1, band="below",
                    category="寻医买药")
    with host.store.transaction() as db:
        insert_row(db, "shadow_scores", {
            "comment_id": c["id"], "model_version": cand, "score": 0.8, "band": "auto",
            "category": "寻医买药", "live_version": live, "live_score": 0.1,
            "live_band": "below", "at": host.store.now()})
    app = Starlette()
    mount_desk(app, host)
    with TestClient(app, base_url="http://testserver") as client:
        sign_in(client)
        page = client.get("/model")
        assert page.status_code == 200
        html = page.text
        assert live in html and cand in html and "AP 0.97" in html and "上线试试" in html
        assert f"/model/plot/{live}/plots/test-pr.png" in html
        assert f"/model/plot/{cand}/compare-{live}/test-scores.png" in html
        assert "化疗断药" in html and PHONE not in html
        assert 'id="disagreement-count">1<' in html
        r = client.get(f"/model/plot/{live}/plots/test-pr.png")
        assert r.status_code == 200 and r.content == PNG
        assert client.get("/model/plot/..%2F..%2Fetc/plots/passwd.png").status_code == 404
        assert client.get(f"/model/plot/{live}/plots/nope.png").status_code == 404
        r = client.post("/stream/label", data={"csrf": csrf_of(html), "comment_id": c["id"],
                                               "urgent": "1", "back": "/model"},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/model"
        assert host.store.query("select urgent from labels")[0]["urgent"] == 1
