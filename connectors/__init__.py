"""Connectors: how dianhua talks to the outside world.

* :mod:`connectors.wechat` -- the official-account API client (comments, discovery, messages).
* :mod:`connectors.wecom` -- the WeCom group-robot webhook (department notifications).
* :mod:`connectors.mock` -- a local, real-HTTP mock of both, for demos, tests and benchmarks.

Import the sub-packages directly; this package stays import-light.
"""

__all__ = ["mock", "wechat", "wecom"]
