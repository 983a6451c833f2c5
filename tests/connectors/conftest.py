"""Fixtures for the connector tests: a real mock server on a free port, and clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.mock import DEFAULT_APPID, DEFAULT_SECRET, MockServer
from connectors.wechat import WeChatClient


class FakeSleep:
    """Records requested sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def mock_server(tmp_path: Path) -> Iterator[MockServer]:
    server = MockServer(tmp_path / "mock.db", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def article(mock_server: MockServer) -> tuple[int, int]:
    return mock_server.state.add_article("关于近期核酸检测安排的通知")


@pytest.fixture
def client(mock_server: MockServer, fake_sleep: FakeSleep) -> Iterator[WeChatClient]:
    with WeChatClient(DEFAULT_APPID, DEFAULT_SECRET, base_url=mock_server.url,
                      sleep=fake_sleep, timeout=5.0) as c:
        yield c
