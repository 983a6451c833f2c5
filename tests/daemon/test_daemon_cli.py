"""The daemon's commands in-process: cases, config check, demo; and /healthz, /metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from daemon_fakes import FakeClock, KeywordPredictor

from bot.cases import open_case
from bot.cli import main
from bot.config import AccountConfig, Config, GroupConfig
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]
PHONE = "13800000000"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cases.db"
    store = Store(path, clock=FakeClock())
    store.watch_article("main", "1", 0, title="通知")
    store.store_comments(store.articles()[0], [
        {"user_comment_id": 1, "openid": "o1", "content": f"孕妇要住院 电话{PHONE}", "create_time": 1},
    ], new_cursor=1, next_poll_at=store.clock())
    row = store.query("select * from comments")[0]
    with store.transaction() as tx:
        open_case(tx, row, at=store.now(), priority="P1", route="nanshan")
    store.close()
    return path


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cases_list_show_and_work(db: Path) -> None:
    out = _run("cases", "list", "--db", str(db))
    assert out.exit_code == 0 and "#1" in out.output and "awaiting_contact" in out.output
    assert PHONE not in out.output
    js = _run("cases", "list", "--db", str(db), "--json")
    row = json.loads(js.output.splitlines()[0])
    assert row["contact_phone"] == "138****0000" and row["priority"] == "P1"
    assert _run("cases", "note", "1", "打过电话", "--db", str(db), "--by", "小王").exit_code == 0
    assert _run("cases", "assign", "1", "小李", "--db", str(db)).exit_code == 0
    assert _run("cases", "set", "1", "contact_received", "--db", str(db)).exit_code == 0
    bad = _run("cases", "set", "1", "awaiting_nothing", "--db", str(db))
    assert bad.exit_code == 1 and "unknown status" in bad.output and "Traceback" not in bad.output
    show = _run("cases", "show", "1", "--db", str(db))
    assert "小王" in show.output and "contact_received" in show.output and PHONE not in show.output
    missing = _run("cases", "show", "99", "--db", str(db))
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_cases_late_and_export(db: Path) -> None:
    late = _run("cases", "list", "--late", "--db", str(db))
    assert "LATE" in late.output  # the fixture's case was opened in 2022
    masked = _run("cases", "export", "--csv", "--db", str(db))
    assert PHONE not in masked.output and "138****0000" in masked.output
    full = _run("cases", "export", "--csv", "--with-contact", "--db", str(db))
    assert PHONE in full.output


def test_config_check_reports_problems_with_lines(tmp_path: Path) -> None:
    bad = tmp_path / "d.toml"
    bad.write_text("[polling]\nfast_seconds = 0\n", encoding="utf-8")
    out = CliRunner().invoke(main, ["config", "check", "--config", str(bad)])
    assert out.exit_code == 1
    assert "d.toml:2 polling.fast_seconds: must be a number greater than 0" in out.output
    good = tmp_path / "g.toml"
    good.write_text(f'[rules]\npath = "{ROOT / "rules.yaml"}"\n', encoding="utf-8")
    ok = CliRunner().invoke(main, ["config", "check", "--config", str(good)],
                            env={"DIANHUA_WECOM_KEY_DUTY": "k-duty"})
    assert ok.exit_code == 0, ok.output
    assert "rules" in ok.output and "model: ok" in ok.output


def test_healthz_and_metrics(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from bot.daemon import Daemon
    from bot.http import create_app

    config = Config(accounts=(AccountConfig(base_url="http://127.0.0.1:9"),), db=tmp_path / "h.db",
                    rules=ROOT / "rules.yaml", http_enabled=False, log_file=None,
                    groups={"duty": GroupConfig(key="k-duty")})
    daemon = Daemon(config, model=KeywordPredictor(), clock=FakeClock())
    client = TestClient(create_app(daemon))
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.json()["rules_version"] == daemon.rules.current.version
    metrics = client.get("/metrics").text
    for name in ("dianhua_comments_total", "dianhua_replies_total", "dianhua_poll_lag_seconds",
                 "dianhua_up"):
        assert name in metrics
    daemon.shutdown()


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["demo", "--speed", "40", "--workdir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "summary" in out.output and "public replies" in out.output
    assert "urgent_auto" in out.output
    assert "awaiting_contact → contact_received" in out.output  # the number came privately
    assert "private messages    1" in out.output
    assert PHONE not in out.output
