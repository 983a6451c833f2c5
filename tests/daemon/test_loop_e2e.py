"""The analysts' loop end to end (issue 11's "Done when").

The daemon runs on the mock over real HTTP with a tiny registry model A live; its desk is served
by uvicorn (the daemon's own app, ``bot.http.create_app``) and driven in headless Chromium,
where an editor marks comments urgent / not urgent and corrects a category. Then, through the
command line: ``labels export`` → ``train --add`` → ``model compare`` → ``model promote``, and
the same daemon object — never restarted, its desk still serving — switches to model B on its
next round. Every comment is classified exactly once (by the model live at that moment) and
answered at most once. The daemon's jobs are run in the foreground (``tick()``) so the test
needs no sleeps; the scheduler runs the same methods.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from daemon_fakes import FakeClock
from loop_helpers import ROOT, fixture_split, train_into

from bot.cli import main
from bot.config import AccountConfig, Config, GroupConfig
from bot.daemon import Daemon
from bot.poller import PollSchedule
from bot.web.users import UserBook
from classifiers.registry import Registry
from connectors.mock import MockServer

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct-horse-1"

FIRST = ["我爸血透两天没做了 医院说没床位 求求你们", "谢谢你们 我妈已经住进医院了",
         "楼下有人一直咳嗽 会不会是阳了", "笑死 我家狗也要做核酸", "能不能优先安排 真的挺急",
         "我老婆要生了", "核酸点几点开门", "健康码黄了怎么办"]
LATER = ["宝宝出生三天黄疸很高 医院不收", "小区什么时候解封", "糖尿病胰岛素断了 家里老人等着打针"]
AFTER = ["哮喘发作 药吃完了 药店都关门", "今天的通报看了 大家加油"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Loop:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.split = fixture_split(tmp / "split")
        self.reg = Registry(tmp / "models")
        self.reg.root.mkdir()
        self.a = train_into(self.reg.root, self.split)
        self.reg.set_live(self.a, by="test")
        self.mock = MockServer(tmp / "mock.db").start()
        self.article = self.mock.state.add_article("关于核酸检测安排的通知")
        rules = tmp / "rules.yaml"
        shutil.copy(ROOT / "rules.yaml", rules)
        groups = {g: GroupConfig(key=f"k-{g}") for g in ("duty", "nanshan", "futian", "baoan",
                                                          "pku_sz", "sz_people")}
        self.config = Config(
            accounts=(AccountConfig(name="main", base_url=self.mock.url),), db=tmp / "d.db",
            rules=rules, model_registry=self.reg.root, wecom_base_url=self.mock.url,
            groups=groups, polling=PollSchedule(fast_seconds=1, normal_seconds=1, slow_seconds=1),
            http_enabled=False, log_file=None, web_secret="test-secret-not-for-production")
        self.clock = FakeClock()
        self.daemon = Daemon(self.config, clock=self.clock, sleep=lambda s: None)
        self.daemon.discover()
        UserBook(self.daemon.store).add("小王", PASSWORD)
        self.uid = 0

    def post(self, texts: list[str]) -> list[str]:
        ids = []
        for t in texts:
            self.uid += 1
            ucid = self.mock.state.add_comment(*self.article, f"oWriter{self.uid:03d}", t)
            ids.append(f"main:{self.article[0]}:{self.article[1]}:{ucid}")
        return ids

    def run(self, rounds: int = 2) -> None:
        for _ in range(rounds):
            self.daemon.tick()
            self.clock.advance(2)

    def cli(self, *args: str) -> Any:
        res = CliRunner().invoke(main, list(args))
        assert res.exit_code == 0, res.output
        return res


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[tuple[Loop, str]]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    import uvicorn

    from bot.http import create_app

    lp = Loop(tmp_path)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(lp.daemon), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="desk-e2e", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # start-up only; nothing after this waits on time
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the daemon's HTTP server did not start")
        time.sleep(0.02)
    yield lp, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    lp.daemon.shutdown()
    lp.mock.stop()


def test_editors_marks_retrain_compare_promote_and_the_running_daemon_switches(
    loop: tuple[Loop, str],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    lp, url = loop
    first = dict(zip(FIRST, lp.post(FIRST), strict=True))
    lp.run()
    assert lp.daemon.model.version == lp.a

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
            page.goto(url + "/login")
            page.fill("input[name=name]", "小王")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("main h1")).to_contain_text("案件队列")

            def mark(text: str, button: str, flash: str) -> None:
                page.goto(url + "/stream")
                row = page.locator(f"tr[data-comment='{first[text]}']")
                row.locator("button", has_text=button).click()
                expect(page.locator(".flash-ok")).to_contain_text(flash)

            # the editor marks two comments the live model left without a case (which ones
            # depends on the model; a comment with a case has no 标为紧急 button)
            page.goto(url + "/stream")
            misses = [t for t in ("能不能优先安排 真的挺急", "我老婆要生了", "核酸点几点开门",
                                  "健康码黄了怎么办")
                      if page.locator(f"tr[data-comment='{first[t]}']").locator(
                          "button", has_text="标为紧急").count()][:2]
            assert len(misses) == 2, misses
            for text in misses:
                mark(text, "标为紧急", "已标记为紧急")
            # and two the live model flagged (only flagged comments have a 不紧急 button)
            page.goto(url + "/stream")
            flagged = [t for t in ("楼下有人一直咳嗽 会不会是阳了", "笑死 我家狗也要做核酸",
                                   "谢谢你们 我妈已经住进医院了", "核酸点几点开门", "健康码黄了怎么办",
                                   "我老婆要生了", "能不能优先安排 真的挺急",
                                   "我爸血透两天没做了 医院说没床位 求求你们")
                       if t not in misses and page.locator(f"tr[data-comment='{first[t]}']")
                       .locator("button", has_text="不紧急").count()][:2]
            assert len(flagged) == 2, flagged
            for text in flagged:
                mark(text, "不紧急", "已标记为不紧急")
            page.goto(url + "/stream")
            row = page.locator(f"tr[data-comment='{first[flagged[-1]]}']")
            row.locator("select[name=category_fix]").select_option("其他")
            row.locator("button", has_text="改类别").click()
            expect(page.locator(".flash-ok")).to_contain_text("类别已改为「其他」")

            page.goto(url + "/model")
            expect(page.locator("#live-version")).to_have_text(lp.a)
            assert page.locator(".plots img").count() >= 6  # the live model's training plots

            # the loop, from the analyst's terminal, while the daemon keeps working
            later = lp.post(LATER)
            lp.run()
            out = lp.tmp / "labels"
            res = lp.cli("labels", "export", "--db", str(lp.config.db), "--out-dir", str(out))
            assert "4 editors' labels (2 urgent, 2 not)" in res.output
            rows = [json.loads(x) for x in (out / "labels.jsonl").read_text("utf-8").splitlines()]
            assert {r["model_version"] for r in rows} == {lp.a} and all(r["editor"] == "小王"
                                                                        for r in rows)
            assert [r["category"] for r in rows if r["text"] == flagged[-1]] == ["其他"]
            res = lp.cli("train", "--data", str(lp.split), "--quick", "--registry",
                         str(lp.reg.root), "--add", str(out / "labels.jsonl"))
            b = next(e.version for e in lp.reg.entries() if e.version != lp.a)
            assert f"model promote {b}" in res.output
            common = ["--registry", str(lp.reg.root), "--test", str(lp.split / "test.jsonl")]
            res = lp.cli("model", "compare", "live", b, *common)
            assert "A rec@rev" in res.output and "promote B would be allowed" in res.output
            pending = lp.post(AFTER)  # arrive before the switch, processed after it
            res = lp.cli("model", "promote", b, *common)
            assert f"promoted {b} (was {lp.a})" in res.output
            assert lp.daemon.model.version == lp.a  # nothing changes until the daemon looks
            lp.run()
            assert lp.daemon.model.version == b  # switched, same process, no restart

            page.goto(url + "/model")
            expect(page.locator("#live-version")).to_have_text(b)
            expect(page.locator("#model-card")).to_contain_text("real labels")
            target = os.environ.get("DESK_SCREENSHOTS")  # docs/screenshots/model.png
            if target:
                Path(target).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(target) / "model.png"), full_page=True)
        finally:
            browser.close()

    rows = lp.daemon.store.query(
        "select m.id, m.state, cl.model_version, (select count(*) from outbox o where "
        "o.comment_id = m.id and o.kind = 'reply') as replies from comments m "
        "left join classifications cl on cl.comment_id = m.id")
    by_id = {r["id"]: r for r in rows}
    assert len(rows) == len(FIRST) + len(LATER) + len(AFTER)
    assert {r["state"] for r in rows} == {"processed"}
    assert all(by_id[c]["model_version"] == lp.a for c in [*first.values(), *later])
    assert all(by_id[c]["model_version"] == b for c in pending)
    assert max(r["replies"] for r in rows) == 1
    replied = [c for c in lp.mock.state.all_comments(*lp.article) if c.get("reply")]
    assert len(replied) == sum(r["replies"] for r in rows)  # each reply posted once
    assert lp.daemon.store.get_meta("model_live") == b
