"""The WeChat official-account connector: client, models and the errcode boundary."""

from connectors.wechat.client import MAX_PAGE, WeChatClient
from connectors.wechat.models import ArticleRef, Comment, CommentPage, Reply

__all__ = ["MAX_PAGE", "ArticleRef", "Comment", "CommentPage", "Reply", "WeChatClient"]
