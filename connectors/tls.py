"""One TLS context for every platform client in the process.

``httpx.Client()`` builds a new ``ssl.SSLContext`` (and loads the CA bundle) each time: about
50 ms on an idle machine, a second on a busy one. With one client per account and one per
group robot, a configuration with many accounts spent most of its start-up there (20 accounts:
20 s on the 2-core test machine). The context is built once here and shared (an SSLContext is
safe to share between connections and threads); the CA bundle is certifi's, as httpx's own.
"""

from __future__ import annotations

import ssl
from functools import lru_cache


@lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


__all__ = ["shared_ssl_context"]
