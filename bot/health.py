"""What ``/healthz`` and the desk's status page say: ok, or degraded with every reason in words.

Degraded (HTTP 503) when any of these holds:

* an account has not polled successfully for ``[polling] max_lag_seconds``
  (:func:`bot.config.poll_lag_limit`);
* an account's polls are paused (daily quota 45009, refused credentials) — at once, not after
  the lag limit;
* the rules file was refused (invalid, or its examples fail): the previous rules are running;
* the duty group has no robot key (no notification without a key of its own can be delivered),
  or a group notification failed in the last ``NOTIFY_WINDOW_HOURS`` hours;
* the database is failing (locked, full, I/O) and processing is backing off.

``problems`` lists one plain sentence per reason; it never contains rules text, secrets or
personal data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.clock import iso
from bot.config import Config, poll_lag_limit
from bot.store import Store, monitoring

NOTIFY_WINDOW_HOURS = 24.0


def notification_problems(store: Store, config: Config, now: datetime) -> dict[str, Any]:
    """The group robots' side: a duty group without a key, notifications that failed lately."""
    duty = config.cases.duty_group
    keyed = sorted(name for name, group in config.groups.items() if group.key)
    since = iso(now - timedelta(hours=NOTIFY_WINDOW_HOURS))
    failed_n, failed_cases = monitoring.failed_notifications(store, since)
    problems = []
    if duty not in keyed:
        problems.append(
            f"the duty group {duty!r} has no robot key: a notification to a group without a key "
            f"cannot be delivered (set DIANHUA_WECOM_KEY_{duty.upper()} or [wecom.groups] {duty})")
    if failed_n:
        problems.append(
            f"{failed_n} group notification(s) failed in the last {NOTIFY_WINDOW_HOURS:.0f} h "
            f"({failed_cases} case(s)); the desk marks them 群通知失败")
    return {"duty_group": duty, "duty_robot": duty in keyed, "failed": failed_n,
            "problems": problems}


def report(daemon: Any) -> dict[str, Any]:
    """The daemon's health (``Daemon.health()``)."""
    now = daemon.clock()
    config: Config = daemon.config
    lag: dict[str, float] = daemon._poll_lag()
    limit = poll_lag_limit(config)
    problems: list[str] = []
    for account, seconds in sorted(lag.items()):
        if seconds >= limit:
            problems.append(f"account {account}: no successful poll for {seconds:.0f} s "
                            f"(limit {limit:.0f} s, [polling] max_lag_seconds)")
    paused = daemon.poller.pauses_report()
    for account, pause in sorted(paused.items()):
        problems.append(f"account {account}: polling paused ({pause['reason']}) until "
                        f"{pause['until']}; `dianhua accounts resume {account}` resumes it")
    models = daemon.models
    fallback_reason = getattr(daemon, "model_error", None)
    if fallback_reason:
        problems.append("the model could not be loaded: running on the keyword fallback "
                        "(urgent keywords go to review, nothing is answered automatically)")
    if models.last_error:
        problems.append("a promoted model failed to load; the previous model is still running")
    rules_error = daemon.rules.last_error
    if rules_error:
        problems.append("the rules file was refused; the previous rules are still running")
    notify = notification_problems(daemon.store, config, now)
    problems += notify["problems"]
    store_error = getattr(daemon.pipeline, "last_store_error", None)
    if store_error:
        problems.append("the database is failing; comments wait and are retried with back-off")
    return {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "rules_version": daemon.rules.current.version,
        # unauthenticated: *that* the rules are invalid, never the text or a path (the desk's
        # status page, behind sign-in, shows the details)
        "rules_error": "rules invalid" if rules_error else None,
        "model": "keyword fallback (model unusable)" if fallback_reason else "ok",
        "model_fallback": bool(fallback_reason),
        "model_version": models.version,
        "model_error": (f"new model not loaded; keeping {models.version}"
                        if models.last_error else None),
        "shadow_model": models.shadow_version or None,
        "poll_lag_seconds": lag,
        "poll_lag_limit_seconds": limit,
        "paused_accounts": paused,
        "notifications": {k: v for k, v in notify.items() if k != "problems"},
        "uptime_seconds": (now - daemon.started_at) / timedelta(seconds=1),
    }


__all__ = ["NOTIFY_WINDOW_HOURS", "notification_problems", "report"]
