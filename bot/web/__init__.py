"""The editors' desk: a signed-in web page to work the cases (Chinese UI, server-rendered).

``mount_desk(app, daemon)`` serves it from the daemon's HTTP app; ``create_desk_app(config)``
builds it alone for ``dianhua web``. See docs/desk.md.
"""

from __future__ import annotations

from bot.web.app import build_desk, create_desk_app, mount_desk
from bot.web.passwords import hash_password, verify_password

__all__ = ["build_desk", "create_desk_app", "hash_password", "mount_desk", "verify_password"]
