"""Typed views of the platform's JSON: comments, pages, article references.

Parsing is strict about types and tolerant about absence: a missing optional field gets its
default, a field of the wrong type raises :class:`bot.errors.ProtocolError` (never ``KeyError``).
Ids may arrive as numbers or as digit strings (both are seen in the wild).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.errors import ProtocolError


@dataclass(frozen=True)
class Reply:
    """The account's (single) public reply to a comment."""

    content: str
    create_time: int


@dataclass(frozen=True)
class Comment:
    """One comment (留言) under an article. ``comment_type`` 1 means featured (精选)."""

    user_comment_id: int
    openid: str | None
    create_time: int
    content: str
    comment_type: int = 0
    reply: Reply | None = None

    @classmethod
    def from_json(cls, data: object, *, endpoint: str = "comment/list") -> Comment:
        """Parse one element of ``comment/list``'s ``comment`` array."""
        obj = _mapping(data, "comment", endpoint)
        openid = obj.get("openid")
        if openid is not None and not isinstance(openid, str):
            raise ProtocolError(f"{endpoint}: comment.openid is not a string", endpoint=endpoint)
        openid = clean_text(openid) if openid else openid
        raw_reply = obj.get("reply")
        reply: Reply | None = None
        if isinstance(raw_reply, Mapping) and raw_reply:
            reply = Reply(
                content=_str(raw_reply, "content", endpoint, "reply."),
                create_time=_int(raw_reply, "create_time", endpoint, "reply.", default=0),
            )
        elif raw_reply not in (None, {}):
            raise ProtocolError(f"{endpoint}: comment.reply is not an object", endpoint=endpoint)
        return cls(
            user_comment_id=_int(obj, "user_comment_id", endpoint, "comment."),
            openid=openid or None,
            create_time=_int(obj, "create_time", endpoint, "comment.", default=0),
            content=_str(obj, "content", endpoint, "comment."),
            comment_type=_int(obj, "comment_type", endpoint, "comment.", default=0),
            reply=reply,
        )

    def to_json(self) -> dict[str, object]:
        """The platform's JSON shape for this comment (``openid``/``reply`` omitted when absent)."""
        out: dict[str, object] = {"user_comment_id": self.user_comment_id}
        if self.openid is not None:
            out["openid"] = self.openid
        out.update(create_time=self.create_time, content=self.content,
                   comment_type=self.comment_type)
        if self.reply is not None:
            out["reply"] = {"content": self.reply.content, "create_time": self.reply.create_time}
        return out


@dataclass(frozen=True)
class CommentPage:
    """One page of ``comment/list``. ``total`` is the platform's figure (its meaning is disputed)."""

    total: int
    comments: list[Comment] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Mapping[str, object], *, endpoint: str = "comment/list") -> CommentPage:
        if "comment" not in data and "total" not in data:
            raise ProtocolError(f"{endpoint}: answer has neither 'comment' nor 'total'",
                                endpoint=endpoint)
        raw = data.get("comment", [])
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise ProtocolError(f"{endpoint}: 'comment' is not a list", endpoint=endpoint)
        comments = [Comment.from_json(item, endpoint=endpoint) for item in raw]
        total = _int(data, "total", endpoint, "", default=len(comments))
        return cls(total=total, comments=comments)


@dataclass(frozen=True)
class ArticleRef:
    """An article to watch: ``msg_data_id`` plus the **0-based** ``index`` inside a multi-article send.

    ``source`` says where it came from: ``config``, ``datacube`` or ``freepublish``.
    """

    msg_data_id: str
    index: int
    title: str = ""
    published_at: int | None = None
    source: str = "config"


def _mapping(data: object, what: str, endpoint: str) -> Mapping[str, object]:
    if not isinstance(data, Mapping):
        raise ProtocolError(f"{endpoint}: {what} is not an object", endpoint=endpoint)
    return data


_MISSING = object()


def _int(obj: Mapping[str, object], key: str, endpoint: str, prefix: str,
         default: object = _MISSING) -> int:
    value = obj.get(key, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise ProtocolError(f"{endpoint}: {prefix}{key} is missing", endpoint=endpoint)
        assert isinstance(default, int)
        return default
    if isinstance(value, bool):
        raise ProtocolError(f"{endpoint}: {prefix}{key} is not an integer", endpoint=endpoint)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,19}", value.strip()):
        value = int(value.strip())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:  # SQLite (and the platform) use 64-bit ints
            raise ProtocolError(f"{endpoint}: {prefix}{key} is out of range", endpoint=endpoint)
        return value
    raise ProtocolError(f"{endpoint}: {prefix}{key} is not an integer", endpoint=endpoint)


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Replace lone UTF-16 surrogates (``"\\ud800"`` in JSON) by U+FFFD: they cannot be stored."""
    return _SURROGATE.sub("\ufffd", text)


def _str(obj: Mapping[str, object], key: str, endpoint: str, prefix: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ProtocolError(f"{endpoint}: {prefix}{key} is not a string", endpoint=endpoint)
    return clean_text(value)


def parse_int(value: object, name: str, endpoint: str) -> int:
    """An integer from a JSON number or digit string, else :class:`ProtocolError`."""
    return _int({name: value}, name, endpoint, "")


__all__ = ["ArticleRef", "Comment", "CommentPage", "Reply", "parse_int"]
