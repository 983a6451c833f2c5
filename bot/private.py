"""Answering readers privately: customer-service messages inside the platform's 48-hour window.

The platform lets an account send a reader customer-service messages (``message/custom/send``)
for 48 hours after that reader last wrote to it, at most 5 per window (notes §5.5); outside it
answers ``45015``, over the limit ``45047``. Answers go through the outbox like every other side
effect (kind ``message``; params ``text`` (personal numbers masked) and ``openid``), from a rule's
``reply`` on a private message or from an editor's 私信回复 on the case page.

The sender calls :func:`deliver`: it checks the window (from the reader's last pushed message in
``messages``) *before* calling, so a closed window costs no API call; 45015 and 45047 are final;
either way the case gets an event that tells the editor, in Chinese, why nothing was sent and
what to do instead. A row found ``inflight`` after a restart is not sent again, nor is one whose
call failed in a way that may hide a success (a timeout after sending): the platform cannot be
asked whether a customer-service message arrived, and a reader must not get the same message
twice, so the editor is told to check. Failures that certainly sent nothing (the platform's
``-1``, a refused connection) are retried by the sender as usual.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from loguru import logger

from bot import pii
from bot.cases import CaseError, add_event, enqueue
from bot.clock import SHANGHAI, from_unix, iso
from bot.errors import ApiError, BadRequest
from bot.store import Store, sending
from bot.store import messages as message_rows
from bot.store.cases import get_case
from connectors.wechat.errors import maybe_delivered

if TYPE_CHECKING:
    from bot.sender import Sender

WINDOW = timedelta(hours=48)
PER_WINDOW = 5
MAX_CHARS = 600
WINDOW_CLOSED = 45015
WINDOW_LIMIT = 45047


def last_message_at(store: Store, account: str, openid: str) -> datetime | None:
    """When the reader last wrote to the account (the platform's CreateTime), or None."""
    if not openid:
        return None
    # events (subscribe, menu clicks) open a different, 1-minute window: not counted here
    t = message_rows.last_create_time(store, account, openid)
    return from_unix(t) if t else None


def sent_in_window(store: Store, account: str, openid: str, since: datetime) -> int:
    return message_rows.sent_to(store, account, openid, iso(since))


def window_problem(store: Store, account: str, openid: str, now: datetime) -> str:
    """Why a customer-service message cannot go to ``openid`` now, in Chinese ('' = it can)."""
    if not openid:
        return "这位读者没有 openid（非微信身份留言），无法发私信。"
    last = last_message_at(store, account, openid)
    if last is None:
        return "这位读者还没有给公众号发过私信，平台不允许主动发客服消息；请等读者来信或改用电话联系。"
    if now - last > WINDOW:
        shown = last.astimezone(SHANGHAI).strftime("%m-%d %H:%M")
        return (f"私信窗口已关闭：读者最后一次来信是 {shown}（北京时间），已超过 48 小时，"
                "平台不再允许发客服消息。请改用电话联系，或等读者再次来信。")
    if sent_in_window(store, account, openid, last) >= PER_WINDOW:
        return (f"本窗口内已发满 {PER_WINDOW} 条私信（平台上限）；读者再次来信后才能继续发送。")
    return ""


def window_status(store: Store, case: dict[str, Any], now: datetime) -> dict[str, Any]:
    """For the case page: can an editor send a private answer now, and until when."""
    openid = str(case.get("openid") or "")
    problem = window_problem(store, str(case.get("account") or ""), openid, now)
    last = last_message_at(store, str(case.get("account") or ""), openid)
    closes = (last + WINDOW) if last else None
    return {"open": not problem, "problem": problem,
            "closes_at": iso(closes) if closes and not problem else None}


def _tell_editor(sender: Sender, row: dict[str, Any], note: str) -> None:
    if not row["case_id"]:
        return
    with sender.store.transaction() as db:
        add_event(db, int(row["case_id"]), sender.store.now(), "bot", "note",
                  note=f"私信未发送：{note}")


def deliver(sender: Sender, row: dict[str, Any], params: dict[str, Any], client: Any) -> bool:
    """Send one outbox row of kind ``message``. Returns True when it was sent."""
    openid = str(params.get("openid") or "")
    text = pii.mask(str(params.get("text") or ""))[:MAX_CHARS]
    if row["status"] == "inflight":
        note = "上次发送时程序中断，无法向平台确认读者是否已收到；为免重复，没有重发。请查看后决定是否再发。"
        sender._finish(row, "failed", "uncertain after a restart; not resent")
        _tell_editor(sender, row, note)
        return False
    if not text.strip():
        sender._finish(row, "failed", "empty message text")
        return False
    problem = window_problem(sender.store, row["account"], openid, sender.clock())
    if problem:
        sender._finish(row, "failed", "customer-service window closed or used up")
        _tell_editor(sender, row, problem)
        return False
    sender.store.outbox_update(row["id"], status="inflight", attempts=row["attempts"] + 1)
    try:
        client.send_custom_text(openid, text)
    except BadRequest as exc:
        sender._error(row, exc)
        if exc.errcode == WINDOW_LIMIT:
            note = f"平台答复 45047：本窗口内的私信已达上限（{PER_WINDOW} 条）。读者再次来信后才能继续发送。"
        elif exc.errcode == WINDOW_CLOSED:
            note = "平台答复 45015：48 小时私信窗口已关闭或读者已取消关注。请改用电话联系。"
        else:
            note = f"平台拒绝了这条私信（errcode {exc.errcode}）。"
        sender._finish(row, "failed", f"{type(exc).__name__} (errcode {exc.errcode})")
        _tell_editor(sender, row, note)
        return False
    except ApiError as exc:
        if maybe_delivered(exc):  # e.g. a timeout after sending: never send a reader twice
            sender._error(row, exc)
            sender._finish(row, "failed", f"uncertain: {type(exc).__name__}; not resent")
            _tell_editor(sender, row, "发送时网络中断，无法确认读者是否已收到；为免重复，没有重发。"
                                      "请查看后决定是否再发。")
            return False
        sender.store.outbox_update(row["id"], status="pending")  # the sender's retry decides
        raise
    sender._finish(row, "sent")
    if row["case_id"]:
        with sender.store.transaction() as db:
            now = sender.store.now()
            sending.first_reply(db, int(row["case_id"]), now)
            who = str(row["rule"] or "").removeprefix("editor:")
            add_event(db, int(row["case_id"]), now, who if row["rule"].startswith("editor:")
                      else "bot", "reply", note=f"私信已发送：{text[:200]}")
    logger.info("customer-service message {} sent (case {})", row["id"], row["case_id"] or "-")
    return True


def queue_answer(store: Store, case_id: int, text: str, *, editor: str,
                 now: datetime) -> None:
    """An editor's 私信回复 from the case page: checked now, sent by the sender (exactly once).

    Raises :class:`CaseError` with a Chinese message the desk shows when it cannot be sent.
    """
    text = text.strip()
    if not text:
        raise CaseError("私信内容不能为空")
    if len(text) > MAX_CHARS:
        raise CaseError(f"私信最多 {MAX_CHARS} 个字")
    case = get_case(store, case_id)
    if case is None:
        raise CaseError(f"案件 #{case_id} 不存在")
    problem = window_problem(store, case["account"], case["openid"] or "", now)
    if problem:
        raise CaseError(problem)
    at = iso(now)
    with store.transaction() as db:
        enqueue(db, key=f"case:{case_id}:message:{at}", comment_id=case["comment_id"],
                case_id=case_id, account=case["account"], kind="message",
                rule=f"editor:{editor}",
                params={"text": pii.mask(text), "openid": case["openid"]}, at=at)
        add_event(db, case_id, at, editor, "note", note=f"私信回复已排队：{text[:200]}")


__all__ = [
    "MAX_CHARS",
    "PER_WINDOW",
    "WINDOW",
    "deliver",
    "last_message_at",
    "queue_answer",
    "window_problem",
    "window_status",
]
