"""The sender process (bot/send_process.py) against the mock: it replies once per comment,
reports what it sent to the daemon, is started again when it dies, and stops cleanly.

It is a real process, so the test waits for what it does on the mock (bounded by a deadline),
as the torture tests do.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from daemon_fakes import KeywordPredictor

from bot.config import load_config
from bot.daemon import Daemon
from bot.send_process import SendProcess
from connectors.mock import MockServer

ROOT = Path(__file__).resolve().parents[2]


def _until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sender process did not get there in time"
        time.sleep(0.05)


def test_the_sender_process_replies_once_is_restarted_and_stops_cleanly(tmp_path: Path) -> None:
    mock = MockServer(tmp_path / "mock.db").start()
    try:
        mock.faults.update({"webhook_per_minute": None})
        mid, idx = mock.state.add_article("通知")
        for i in range(3):
            mock.state.add_comment(mid, idx, f"o_{i}", f"产妇等着住院，很急 {i}")
        cfg = tmp_path / "d.toml"
        cfg.write_text(f"""
[[accounts]]
name = "main"
base_url = "{mock.url}"
discover = false
[[accounts.articles]]
msg_data_id = "{mid}"
index = {idx}
[storage]
db = "{tmp_path / 'd.db'}"
[rules]
path = "{ROOT / 'rules.yaml'}"
[wecom]
base_url = "{mock.url}"
[wecom.groups]
duty = "k-duty"
[http]
enabled = false
[pipeline]
workers = 0
[log]
file = ""
""", encoding="utf-8")
        config = load_config(cfg, env={})
        daemon = Daemon(config, model=KeywordPredictor())  # decides: three replies queued
        daemon.poll()
        daemon.shutdown()

        def replies() -> int:
            return sum(1 for c in mock.state.all_comments(mid, idx) if c.get("reply"))

        sent: list[str] = []
        sender = SendProcess(config, replies_enabled=lambda: True, on_sent=sent.append,
                             on_error=lambda _code: None).start()
        try:
            _until(lambda: replies() == 3 and sent.count("reply") == 3)
            first = sender.pid
            assert first is not None
            os.kill(first, signal.SIGKILL)
            _until(lambda: not sender.alive())
            sender.check()  # the daemon's send job
            assert sender.alive() and sender.pid != first and sender.restarts == 1
            _until(lambda: sender.ready_pid == sender.pid)  # running, not still importing
        finally:
            sender.close()
        assert not sender.alive()
        assert sender._proc.exitcode == 0  # asked to stop: a clean exit
        assert replies() == 3  # none twice, through the kill and the restart
    finally:
        mock.stop()
