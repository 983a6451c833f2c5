"""The platform clients of a configuration: a WeChat client per account, a WeCom robot per group.

Built once for the daemon (``bot/daemon.py``) and once in the sender process
(``bot/send_process.py``), which imports only this, not the daemon's scheduler and pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from bot.config import Config


def platform_clients(config: Config, transport: httpx.BaseTransport | None = None,
                     **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The WeChat client of each account and the WeCom robot of each group, by name."""
    from connectors.wechat import WeChatClient
    from connectors.wecom import WeComWebhook

    # Replicas share each account's access token through stable_token: with cgi-bin/token
    # every replica's fetch would retire the others' tokens (40001 over and over).
    stable = config.cluster is not None
    clients = {
        acc.name: WeChatClient(
            acc.appid, acc.secret, base_url=acc.base_url, transport=transport,
            use_stable_token=acc.use_stable_token or stable, **extra,
        )
        for acc in config.accounts
    }
    hooks = {
        name: WeComWebhook(group.key, base_url=config.wecom_base_url, transport=transport,
                           **extra)
        for name, group in config.groups.items()
        if group.key
    }
    return clients, hooks


__all__ = ["platform_clients"]
