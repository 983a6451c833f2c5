"""Fixtures for the editors' desk: a host over a real Store, a user, a signed-in client."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_helpers import PASSWORD, FakeClock, Host, make_host, sign_in
from starlette.applications import Starlette

with warnings.catch_warnings():  # starlette 1.x nudges towards httpx2; httpx is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bot.web import mount_desk
from bot.web.users import UserBook


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def host(tmp_path: Path, clock: FakeClock, db_target: str) -> Iterator[Host]:
    """The desk's world, once on SQLite and once on PostgreSQL (``db_target``)."""
    h = make_host(tmp_path, clock, db_url=db_target if db_target.startswith("postgresql") else "")
    UserBook(h.store, clock=clock).add("小王", PASSWORD)
    yield h
    h.store.close()


@pytest.fixture
def app(host: Host) -> Starlette:
    app = Starlette()
    mount_desk(app, host)
    return app


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def editor(client: TestClient) -> TestClient:
    return sign_in(client)
