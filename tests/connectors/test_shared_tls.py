"""Every platform client shares one TLS context (many accounts start in a second, not one second
per account: connectors/tls.py)."""

from __future__ import annotations

from typing import Any

from connectors.tls import shared_ssl_context
from connectors.wechat import WeChatClient
from connectors.wecom import WeComWebhook


def _context(client: Any) -> Any:
    return client._http._transport._pool._ssl_context


def test_clients_of_many_accounts_and_robots_share_one_tls_context() -> None:
    clients = [WeChatClient(f"wx{i:016d}", "s", base_url="https://api.weixin.qq.com")
               for i in range(3)]
    robot = WeComWebhook("k", base_url="https://qyapi.weixin.qq.com")
    try:
        contexts = {id(_context(c)) for c in [*clients, robot]}
        assert contexts == {id(shared_ssl_context())}
        assert shared_ssl_context().verify_mode.name == "CERT_REQUIRED"
        assert shared_ssl_context().check_hostname
    finally:
        for c in [*clients, robot]:
            c.close()
