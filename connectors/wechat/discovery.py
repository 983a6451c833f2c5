"""Finding articles to watch, and the real platform's limits on it.

The comment API identifies an article by ``msg_data_id`` plus a **0-based** ``index`` (which
article inside a multi-article send). What the platform lets a bot learn about those ids:

1. **Only mass-send returns msg_data_id.** ``message/mass/sendall`` / ``message/mass/send``
   answer ``{"msg_id": ..., "msg_data_id": ...}``. Staff answers on the developer community say
   there is no API that lists all msg_data_ids ("目前没有直接提供所有msg_data_id的接口").
   The safest source is therefore **explicit configuration** (``msg_data_id`` + ``index``).
2. **datacube/getarticlesummary** leaks them: each row's ``msgid`` is ``"<msg_data_id>_<idx>"``
   with ``idx`` **1-based** (we convert to the 0-based comment ``index``). But the datacube article
   APIs are marked "已停止维护" (no longer maintained), cover only articles *read* on the queried
   day, accept ``end_date`` up to yesterday, a span of one day per call and roughly the last
   7 days. A brand-new article shows up tomorrow at the earliest.
3. **freepublish/batchget** lists only items published via 发布 (freepublish, no mass
   notification) from the draft box. Mass-sent (群发) items, topic and video posts are not
   returned, and its ``article_id`` is **not** a msg_data_id (staff answers). We still read each
   news item's ``url``: when it carries ``mid=<n>&idx=<k>`` (the usual long article URL) we offer
   ``mid`` as msg_data_id and ``k - 1`` as index -- unverified (the notes list it as open), so the
   caller must treat :class:`bot.errors.NotFound` (88001) on such a ref as "not watchable". Items
   without that URL shape come back with the ``article_id`` and ``source="freepublish"``.
4. Comment APIs (and publishing APIs) are for **verified** accounts only (仅认证): unverified ones
   get 48001, which the client raises as :class:`bot.errors.AuthError`.
5. ``index`` is 0-based in the comment API but 1-based in datacube ``msgid``, in freepublish
   ``idx``, and in pushed messages' ``Idx``; wechatpy's default ``index=1`` is off by one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from bot.errors import ProtocolError
from connectors.wechat.models import ArticleRef

_MSGID = re.compile(r"^([0-9]+)_([0-9]+)$")


def parse_msgid(msgid: str) -> tuple[str, int] | None:
    """``"10000050_1"`` → ``("10000050", 0)`` (1-based idx to 0-based index); None if malformed."""
    m = _MSGID.match(msgid.strip())
    if not m or int(m.group(2)) < 1:
        return None
    return m.group(1), int(m.group(2)) - 1


def parse_summary(data: Mapping[str, object]) -> list[ArticleRef]:
    """Rows of ``datacube/getarticlesummary`` → refs (rows without a usable msgid are skipped)."""
    rows = data.get("list", [])
    if not isinstance(rows, list):
        raise ProtocolError("datacube: 'list' is not a list", endpoint="datacube/getarticlesummary")
    refs: list[ArticleRef] = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise ProtocolError("datacube: row is not an object", endpoint="datacube/getarticlesummary")
        msgid = row.get("msgid")
        parsed = parse_msgid(msgid) if isinstance(msgid, str) else None
        if parsed is None:
            continue
        title = row.get("title")
        refs.append(ArticleRef(msg_data_id=parsed[0], index=parsed[1],
                               title=title if isinstance(title, str) else "", source="datacube"))
    return refs


def parse_batchget(data: Mapping[str, object]) -> list[ArticleRef]:
    """Items of ``freepublish/batchget`` → one ref per news item (see the module docstring)."""
    endpoint = "freepublish/batchget"
    items = data.get("item", [])
    if not isinstance(items, list):
        raise ProtocolError("freepublish: 'item' is not a list", endpoint=endpoint)
    refs: list[ArticleRef] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise ProtocolError("freepublish: item is not an object", endpoint=endpoint)
        article_id = item.get("article_id")
        update_time = item.get("update_time")
        published = int(update_time) if isinstance(update_time, int | str) and _digits(str(update_time)) else None
        content = item.get("content") or {}
        news = content.get("news_item", []) if isinstance(content, Mapping) else None
        if not isinstance(news, list):
            raise ProtocolError("freepublish: news_item is not a list", endpoint=endpoint)
        if not news:  # asked with no_content=1 and nothing came back: one ref for the item
            if isinstance(article_id, str) and article_id:
                refs.append(ArticleRef(article_id, 0, published_at=published, source="freepublish"))
            continue
        for i, news_item in enumerate(news):
            if not isinstance(news_item, Mapping):
                raise ProtocolError("freepublish: news item is not an object", endpoint=endpoint)
            if news_item.get("is_deleted") is True:
                continue
            title = news_item.get("title")
            title = title if isinstance(title, str) else ""
            mid_idx = _mid_idx(news_item.get("url"))
            if mid_idx is not None:
                refs.append(ArticleRef(mid_idx[0], mid_idx[1], title, published, "freepublish"))
            elif isinstance(article_id, str) and article_id:
                refs.append(ArticleRef(article_id, i, title, published, "freepublish"))
    return refs


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _mid_idx(url: object) -> tuple[str, int] | None:
    if not isinstance(url, str):
        return None
    query = parse_qs(urlsplit(url).query)
    mid, idx = query.get("mid", [""])[0], query.get("idx", [""])[0]
    if _digits(mid) and _digits(idx) and int(idx) >= 1:
        return mid, int(idx) - 1
    return None


__all__ = ["parse_batchget", "parse_msgid", "parse_summary"]
