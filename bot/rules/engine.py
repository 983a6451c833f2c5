"""Evaluate a rule set against one comment: pure, deterministic, never raises.

Rules run in file order. A live rule that matches runs its actions and stops the run unless
it says ``continue: true``; ``stop`` ends the run even then. A shadow rule (``mode: shadow``)
records what it would have done in ``shadow_actions`` and never changes the run. Rules after
the stop are still traced (``reached=False``) so `rules test` can show every condition.

Public replies pass the guardrails: the global switch, quiet hours, the per-writer cooldown,
the per-article rate limit and one reply per comment. A held-back reply is named in
``RuleTrace.suppressed``; the rule's other actions (case, notify, ...) still run.

After the rules, the safety net (``safety_net:``, see :mod:`bot.rules.safety_net`) looks at
comments the rules left without a case: when the comment names a word from every word group,
any public reply is held back (``safety_net``) and the net's actions open a review case whose
``reason`` names the words found. Being last, it cannot be shadowed by an earlier rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot import pii
from bot.rules.model import ActionSpec, Facts, Rule
from bot.rules.safety_net import NAME as SAFETY_NET
from bot.rules.safety_net import reason_of
from bot.rules.templates import REPLY_MAX_CHARS, render_template
from bot.rules.types import Action, CommentContext, Decision, History, RuleTrace

if TYPE_CHECKING:
    from bot.rules.ruleset import RuleSet


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


@dataclass
class _Run:
    actions: list[Action] = field(default_factory=list)
    shadow: list[Action] = field(default_factory=list)
    traces: list[RuleTrace] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    route: str | None = None
    live_reply: bool = False
    stopped: bool = False
    reason: str = ""


class _Evaluator:
    def __init__(self, rs: RuleSet, ctx: CommentContext, history: History) -> None:
        self.rs = rs
        self.ctx = ctx
        self.history = history
        self.facts = Facts(ctx, history)
        self.run = _Run()

    def evaluate(self) -> Decision:
        group, place = self.rs.routes.find(self.facts.text, self.facts.title)
        self.facts.route, self.facts.route_place = group, place
        for rule in self.rs.rules:
            if rule.enabled:
                self._rule(rule)
        self._safety_net()
        run = self.run
        return Decision(
            rules_version=self.rs.version,
            actions=tuple(run.actions),
            shadow_actions=tuple(run.shadow),
            trace=tuple(run.traces),
            matched_rules=tuple(run.matched),
            route=run.route,
            tags=tuple(run.tags),
            reason=run.reason,
        )

    def _rule(self, rule: Rule) -> None:
        conditions = tuple((c.label, _safe_test(c.test, self.facts)) for c in rule.conditions)
        matched = all(ok for _, ok in conditions)
        run = self.run
        if run.stopped or not matched:
            run.traces.append(RuleTrace(rule.name, conditions, matched, rule.shadow, (), not run.stopped))
            return
        route = self._rule_route(rule)
        suppressed: list[str] = []
        produced: list[Action] = []
        for spec in rule.actions:
            action = self._action(rule, spec, route, suppressed)
            if action is not None:
                produced.append(action)
        run.traces.append(RuleTrace(rule.name, conditions, True, rule.shadow, tuple(suppressed)))
        if rule.shadow:
            run.shadow.extend(produced)
            return
        run.actions.extend(produced)
        run.matched.append(rule.name)
        for action in produced:
            if action.kind == "tag":
                run.tags.extend(t for t in action.params["tags"] if t not in run.tags)
            if run.route is None and action.kind in ("open_case", "attach_case"):
                run.route = route
        if rule.stops or not rule.cont:
            run.stopped = True

    def _safety_net(self) -> None:
        """Catch a comment the rules left without a case when it names every word group."""
        net = self.rs.safety_net
        if net is None or not net.enabled:
            return
        run = self.run
        found = net.match(self.facts.text)
        conditions = [(f"{name}: {', '.join(words) or '-'}", bool(words)) for name, words in found]
        by = next((a.rule for a in run.actions if a.kind in ("open_case", "attach_case")), None)
        conditions.append((f"no case from the rules (rule {by} has one)" if by else "no case from the rules",
                           by is None))
        if not all(ok for _, ok in conditions):
            run.traces.append(RuleTrace(SAFETY_NET, tuple(conditions), False))
            return
        reason = reason_of(found)
        held = {a.rule for a in run.actions if a.kind == "reply"}
        if held:  # never a public answer to someone at risk: an editor decides what to say
            run.actions = [a for a in run.actions if a.kind != "reply"]
            run.traces = [replace(t, suppressed=(*t.suppressed, SAFETY_NET)) if t.rule in held and not t.shadow
                          else t for t in run.traces]
            run.live_reply = False
        rule = Rule(name=SAFETY_NET, conditions=(), actions=net.actions, line=net.line)
        route = self._rule_route(rule)
        for spec in rule.actions:
            action = self._action(rule, spec, route, [])
            if action is None:
                continue
            if action.kind == "open_case":
                action = Action("open_case", SAFETY_NET, {**action.params, "reason": reason})
                run.route = run.route or route
            if action.kind == "tag":
                run.tags.extend(t for t in action.params["tags"] if t not in run.tags)
            run.actions.append(action)
        run.traces.append(RuleTrace(SAFETY_NET, tuple(conditions), True))
        run.matched.append(SAFETY_NET)
        run.reason = reason

    def _rule_route(self, rule: Rule) -> str:
        """The group this rule's case and ``notify group: route`` go to."""
        for spec in rule.actions:
            if spec.kind == "open_case" and spec.params["route"] != "auto":
                return str(spec.params["route"])
        writer_route = self.ctx.writer.open_case_route
        if writer_route and writer_route in self.rs.groups and any(s.kind == "attach_case" for s in rule.actions):
            return writer_route
        return self.facts.route

    def _variables(self, rule: Rule, route: str) -> dict[str, str]:
        ctx, pred = self.ctx, self.ctx.prediction
        text = ctx.text or ""
        phones, ids = pii.find_phones(text), pii.find_ids(text)
        group = self.rs.groups.get(route)
        priority = next((str(s.params["priority"]) for s in rule.actions if s.kind == "open_case"), "")
        return {
            "category": str(pred.category or ""),
            "route": route,
            "route_label": group.label if group else route,
            "article_title": pii.mask(ctx.article_title or ""),
            "time": self.facts.local_now.strftime("%H:%M"),
            "account": str(ctx.account),
            "band": str(pred.band),
            "score": f"{pred.score:.2f}" if isinstance(pred.score, int | float) else "",
            "priority": priority,
            "case_id": "" if ctx.writer.open_case_id is None else str(ctx.writer.open_case_id),
            "comment": pii.mask(text)[:200],
            "phone": pii.mask_phone(phones[0]) if phones else "",
            "id_number": pii.mask(ids[0]) if ids else "",
        }

    def _action(self, rule: Rule, spec: ActionSpec, route: str, suppressed: list[str]) -> Action | None:
        p: dict[str, Any] = dict(spec.params)
        if spec.kind == "stop":
            return None
        if spec.kind == "reply":
            template = p["template"]
            if p.get("phone_given") and self.facts.has_phone:
                template = p["phone_given"]  # the number is already here: do not ask for it
            text = pii.mask(render_template(template, self._variables(rule, route)))
            reasons = self._reply_guard(text, p.get("in_quiet_hours"))
            if reasons:
                suppressed.extend(r for r in reasons if r not in suppressed)
                return None
            if not rule.shadow:
                self.run.live_reply = True
            return Action("reply", rule.name, {"text": text, "template": template})
        if spec.kind == "open_case":
            group = self.rs.groups.get(route)
            p.update(route=route, route_label=group.label if group else route)
            if p.get("status") == "awaiting_contact" and self.facts.has_phone:
                p["status"] = "contact_received"  # a case never waits for a number it has
            return Action("open_case", rule.name, p)
        if spec.kind == "attach_case":
            return Action("attach_case", rule.name, {"status": p.get("status", ""), "case_id": self.ctx.writer.open_case_id})
        if spec.kind == "notify":
            group_name = route if p["group"] == "route" else str(p["group"])
            group = self.rs.groups.get(group_name)
            variables = self._variables(rule, route)
            return Action("notify", rule.name, {
                "group": group_name,
                "group_label": group.label if group else group_name,
                "mention": list(group.mention) if group else [],
                "template": p["template"],
                "text": pii.mask(render_template(p["template"], variables)),
                "variables": variables,
                "full_number": bool(p.get("full_number", False)),
            })
        if spec.kind == "tag":
            return Action("tag", rule.name, {"tags": list(p["tags"])})
        return Action(spec.kind, rule.name, {})  # type: ignore[arg-type]  # feature, unfeature

    def _reply_guard(self, text: str, in_quiet: bool | None) -> list[str]:
        s, ctx = self.rs.settings, self.ctx
        reasons: list[str] = []
        if not s.replies_enabled:
            reasons.append("replies_off")
        allowed_in_quiet = s.replies_in_quiet_hours if in_quiet is None else in_quiet
        if s.quiet_hours is not None and not allowed_in_quiet and s.quiet_hours.contains(ctx.now):
            reasons.append("quiet_hours")
        if self.run.live_reply:
            reasons.append("one_reply_per_comment")
        last = ctx.writer.last_reply_at
        if s.reply_cooldown and last is not None and _aware(ctx.now) - _aware(last) < s.reply_cooldown:
            reasons.append("cooldown")
        if not text.strip():
            reasons.append("empty")
        if len(text) > REPLY_MAX_CHARS:
            reasons.append("too_long")
        limit = s.article_rate_limit
        if limit is not None and not reasons:
            try:
                since = _aware(ctx.now) - limit.per
                sent = int(self.history.replies_on_article_since(ctx.account, ctx.msg_data_id, ctx.index, since))
            except Exception:
                reasons.append("rate_limit_unknown")  # cannot tell: stay quiet, keep the case
            else:
                if sent >= limit.count:
                    reasons.append("rate_limit")
        return reasons


def _safe_test(test: Any, facts: Facts) -> bool:
    try:
        return bool(test(facts))
    except Exception:
        return False


def evaluate(rs: RuleSet, ctx: CommentContext, history: History) -> Decision:
    """What should happen with one comment under ``rs``; see the module docstring."""
    try:
        return _Evaluator(rs, ctx, history).evaluate()
    except Exception as exc:  # the engine must never take the daemon down
        trace = RuleTrace("(engine error)", ((f"error: {type(exc).__name__}", False),), False)
        return Decision(rs.version, (), (), (trace,), ())


__all__ = ["evaluate"]
