"""Spike alerts end to end: ``dianhua demo`` replays a scenario into the mock platform, the real
daemon (real model, real rules.yaml) classifies, and its spike job sends the alert to the
district's WeCom group on the mock. A burst of dialysis comments from Nanshan raises exactly
one alert, to nanshan; the ordinary demo day raises none."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main

REPO = Path(__file__).resolve().parents[2]


def _run(scenario: Path, work: Path) -> tuple[list[tuple], list[tuple]]:
    out = CliRunner().invoke(main, ["demo", "--scenario", str(scenario), "--speed", "40", "--workdir", str(work)])
    assert out.exit_code == 0, out.output
    with sqlite3.connect(work / "dianhua.db") as db:
        alerts = db.execute("select rule, scope, grp from alerts").fetchall()
    with sqlite3.connect(work / "mock.db") as db:
        messages = [(key, json.loads(body)["text"]["content"]) for key, body in db.execute(
            "select key, body from webhook_messages where body like '%留言突增%'")]
    return alerts, messages


def test_a_dialysis_burst_in_one_district_alerts_that_district_once(tmp_path: Path) -> None:
    alerts, messages = _run(REPO / "data/scenarios/dialysis_spike_demo.jsonl", tmp_path / "spike")
    assert alerts == [("dialysis_by_district", "nanshan", "nanshan")]
    assert [key for key, _ in messages] == ["demo-nanshan"]
    assert "处理部门 南山区卫健局" in messages[0][1] and "13800000000" not in messages[0][1]


def test_the_ordinary_demo_day_raises_no_alert(tmp_path: Path) -> None:
    alerts, messages = _run(REPO / "data/scenarios/demo.jsonl", tmp_path / "demo")
    assert alerts == [] and messages == []
