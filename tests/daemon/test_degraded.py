"""Issue 17: a corrupt model is not an outage, and /healthz never leaks rules text or paths."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from daemon_fakes import FakeClock, KeywordPredictor

from bot.config import AccountConfig, Config
from bot.daemon import Daemon
from bot.http import create_app
from bot.web.users import UserBook
from classifiers.paths import DEFAULT_MODEL, card_path_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
PW = "a-good-long-password"


def _config(tmp_path: Path, **kw: object) -> Config:
    return Config(accounts=(AccountConfig(base_url="http://127.0.0.1:9", discover=False),),
                  db=tmp_path / "d.db", rules=kw.pop("rules", ROOT / "rules.yaml"),  # type: ignore[arg-type]
                  http_enabled=False, log_file=None, web_secret="test-secret-x", **kw)  # type: ignore[arg-type]


@pytest.fixture
def corrupt_model(tmp_path: Path) -> Path:
    dst = tmp_path / "model" / "urgent.skops"
    dst.parent.mkdir()
    shutil.copy(DEFAULT_MODEL, dst)
    shutil.copy(card_path_for(DEFAULT_MODEL), card_path_for(dst))
    data = bytearray(dst.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: a disk error, a bad copy
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no bundled model")
def test_a_corrupt_model_falls_back_to_keywords_and_says_so_loudly(
        tmp_path: Path, corrupt_model: Path) -> None:
    daemon = Daemon(_config(tmp_path, model=corrupt_model), clock=FakeClock())  # no exception
    preds = daemon.model.predict_many(["我老婆怀孕见红了，医院不收，很急", "谢谢小编"])
    assert [p.band for p in preds] == ["review", "below"]  # review, never auto
    # /healthz: degraded (503), without the file's path or the error text
    client = TestClient(create_app(daemon))
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["model_fallback"] is True
    assert str(tmp_path) not in r.text and "sha256" not in r.text
    # the duty group hears it once per start, through the outbox
    daemon._tell_duty_about_fallback()
    rows = daemon.store.query("select kind, params from outbox where rule = 'system'")
    assert len(rows) == 1 and '"group": "duty"' in rows[0]["params"]
    assert "关键词兜底" in rows[0]["params"]
    # the desk: a banner on every page; the details behind sign-in on the status page
    UserBook(daemon.store).add("小王", PW)
    page = client.get("/login")
    import re

    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"name": "小王", "password": PW, "csrf": csrf, "next": "/"})
    assert 'id="system-alert"' in client.get("/").text
    status = client.get("/status").text
    assert 'id="model-error"' in status and "does not match its card" in status
    # the stand-alone desk (`dianhua web`) reads it from the heartbeat
    from bot.heartbeat import read

    daemon.heartbeat(force=True)
    beat = read(daemon.store)
    assert beat is not None and beat.model_error and "does not match its card" in beat.model_error
    daemon.shutdown()


def test_healthz_says_rules_invalid_without_the_text_or_the_path(tmp_path: Path) -> None:
    rules = tmp_path / "secret-place" / "rules.yaml"
    rules.parent.mkdir()
    shutil.copy(ROOT / "rules.yaml", rules)
    daemon = Daemon(_config(tmp_path, rules=rules), model=KeywordPredictor(), clock=FakeClock())
    rules.write_text("rules:\n  - name: broken\n    when: {band: sometimes}\n", encoding="utf-8")
    daemon.reload_rules()
    assert daemon.rules.last_error  # the daemon knows what is wrong (logs, the desk)…
    r = TestClient(create_app(daemon)).get("/healthz")
    assert r.json()["rules_error"] == "rules invalid"  # …/healthz only says that it is
    assert "secret-place" not in r.text and "sometimes" not in r.text
    daemon.shutdown()
