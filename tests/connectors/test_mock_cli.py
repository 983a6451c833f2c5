"""``dianhua mock``: help text and a real process serving and stopping on SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bot.cli import main


def test_help_states_default_credentials() -> None:
    result = CliRunner().invoke(main, ["mock", "--help"])
    assert result.exit_code == 0
    assert "wx0000000000000000" in result.output and "mock-secret" in result.output
    assert "--token-ttl" in result.output and "--daily-quota" in result.output


def test_bad_port_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["mock", "--port", "70000"])
    assert result.exit_code == 2 and "70000" in result.output


@pytest.mark.timeout(30)
def test_mock_process_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "mock", "--port", "0",
         "--db", str(tmp_path / "cli.db"), "--token-ttl", "30"],
        stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            m = re.search(r"mock WeChat API on (http://\S+)", line)
            if m:
                url = m.group(1)
                break
        assert url is not None
        assert httpx.get(url + "/_mock/health", timeout=5).json()["token_ttl"] == 30
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (tmp_path / "cli.db").exists()
