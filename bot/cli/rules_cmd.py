"""``dianhua rules check|test|diff``: try a rules.yaml edit before it goes live.

Nothing here sends, writes or changes anything: the rules engine only decides.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bot import pii
from bot.cli._common import counted
from bot.errors import InputError, RulesError
from bot.rules import RuleSet, load_rules
from bot.rules.replay import (
    BadRecord,
    Comment,
    evaluate_file,
    outcome,
    prediction_for,
    rate_limited,
    read_comments,
    summarize,
)
from bot.rules.safety_net import NAME as SAFETY_NET
from bot.rules.types import CommentContext, Decision
from classifiers.prediction import BANDS, Prediction

Predict = Callable[[str], Prediction]
_NO_MODEL = object()


def default_rules_path() -> Path:
    return Path(os.environ.get("DIANHUA_RULES") or "rules.yaml")


def _rules_file(value: str | None) -> Path:
    return Path(value) if value else default_rules_path()


def _load(path: Path) -> RuleSet:
    """Load or exit 1 with every problem, one per line."""
    try:
        return load_rules(path)
    except RulesError as exc:
        for problem in exc.problems:
            click.echo(str(problem))
        n = len(exc.problems)
        click.echo(f"{path}: {n} problem{'s' if n != 1 else ''}; fix {'them' if n != 1 else 'it'} and run 'dianhua rules check' again", err=True)
        raise SystemExit(1) from None


def full_number_warnings(rs: RuleSet, path: Path) -> list[str]:
    """A warning for every notify that sends the full phone/ID number to a group robot."""
    out = []
    for rule in rs.rules:
        for spec in rule.actions:
            if spec.kind == "notify" and spec.params.get("full_number"):
                out.append(
                    f"{path}:{spec.line} warning: rule '{rule.name}' sends the FULL phone and ID "
                    f"number to group '{spec.params.get('group')}' (a third-party platform): "
                    "personal health data under PIPL; prefer the masked number and the case link"
                )
    return out


class _Predictor:
    """The classifier, loaded on first use; tests put a fake in ``ctx.obj['predict']``."""

    def __init__(self, ctx: click.Context) -> None:
        obj = ctx.find_root().obj
        self._given = obj.get("predict", _NO_MODEL) if isinstance(obj, dict) else _NO_MODEL
        self._loaded: Predict | None | object = _NO_MODEL
        self.problem: str | None = None

    def __call__(self) -> Predict | None:
        if self._given is not _NO_MODEL:
            return self._given  # type: ignore[return-value]
        if self._loaded is _NO_MODEL:
            self._loaded = self._load_model()
        return self._loaded  # type: ignore[return-value]

    def _load_model(self) -> Predict | None:
        try:
            from classifiers import load_model

            model = load_model()
        except Exception as exc:  # ModelError, missing files, missing extras: say it plainly
            self.problem = f"the classifier model could not be loaded: {pii.mask(str(exc))[:200]}"
            return None
        return model.predict  # type: ignore[no-any-return]


@click.group(name="rules")
def rules() -> None:
    """Check, test and backtest rules.yaml (nothing is sent or changed).

    FILE defaults to $DIANHUA_RULES or ./rules.yaml.
    """


@rules.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--no-examples", is_flag=True, help="Only check the file; do not run its examples.")
@click.pass_context
def check(ctx: click.Context, file: str | None, no_examples: bool) -> None:
    """Check FILE and run its examples; exit 1 on any problem.

    Every problem is printed as file:line:column field: message.
    """
    path = _rules_file(file)
    rs = _load(path)
    failures: list[Any] = []
    if not no_examples and rs.examples:
        predictor = _Predictor(ctx)
        need_model = any(e.band is None for e in rs.examples)
        failures = rs.run_examples(predictor() if need_model else None)
        for failure in failures:
            click.echo(str(failure))
        if need_model and predictor.problem:
            click.echo(f"note: {predictor.problem}; examples without 'band:' cannot be scored", err=True)
    summary = (f"{counted(len(rs.rules), 'rule')}, {counted(len(rs.groups), 'group')}, "
               f"{counted(len(rs.routes.entries), 'route')}")
    for warning in full_number_warnings(rs, path):
        click.echo(warning, err=True)
    if failures:
        failed = len({(f.line, f.field) for f in failures})
        click.echo(f"{path}: {failed} of {counted(len(rs.examples), 'example')} fail (version {rs.version}, {summary})", err=True)
        raise SystemExit(1)
    ran = "examples not run" if no_examples else f"{counted(len(rs.examples), 'example')} pass"
    click.echo(f"{path}: OK, version {rs.version}: {summary}; {ran}")


def _comments(text: str | None, data: str | None, band: str | None, score: float | None,
              category: str | None, openid: str | None) -> list[Comment]:
    if (text is None) == (data is None):
        raise click.UsageError("give either --text \"...\" or --data comments.jsonl")
    if text is not None:
        record: dict[str, Any] = {"text": text}
        for key, value in (("band", band), ("score", score), ("category", category), ("openid", openid)):
            if value is not None:
                record[key] = value
        return [Comment(1, text, record)]
    comments: list[Comment] = []
    bad: list[str] = []
    assert data is not None
    try:
        for item in read_comments(data):
            if isinstance(item, BadRecord):
                bad.append(str(item))
            else:
                comments.append(item)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{data}: cannot be read ({type(exc).__name__})") from None
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    if bad:
        raise click.ClickException("the comments file has problems:\n" + "\n".join(f"  {b}" for b in bad[:50]))
    return comments


def _predictions(ctx: click.Context, comments: list[Comment]) -> list[Prediction]:
    predictor = _Predictor(ctx)
    out: list[Prediction] = []
    for comment in comments:
        needs = "band" not in comment.record
        try:
            out.append(prediction_for(comment, predictor() if needs else None))
        except BadRecord as exc:
            hint = f" ({predictor.problem})" if predictor.problem else ""
            raise click.ClickException(f"{exc}{hint}") from None
    return out


_comment_options = [
    click.option("--text", help="One comment to try."),
    click.option("--data", type=click.Path(exists=True, dir_okay=False), help="A JSON Lines file of comments."),
    click.option("--band", type=click.Choice(BANDS), help="With --text: the band to assume (skips the classifier)."),
    click.option("--score", type=click.FloatRange(0, 1), help="With --text and --band: the score to assume."),
    click.option("--category", help="With --text: the category to assume."),
    click.option("--openid", help="With --text: a writer id."),
]


def _with_comment_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_comment_options):
        f = option(f)
    return f


def _short(text: str, n: int = 70) -> str:
    text = pii.mask(text).replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


def _print_decision(number: int, label: str, ctx: CommentContext, decision: Decision, rs: RuleSet) -> None:
    p = ctx.prediction
    group = rs.groups.get(decision.route or "")
    click.echo(f"[{label}] {_short(ctx.text)}")
    click.echo(f"    score {p.score:.2f} · band {p.band} · category {p.category}"
               + (f" · route {decision.route} ({group.label})" if group else ""))
    for t in decision.trace:
        if not t.reached:
            state = "matches, but not reached (an earlier rule stopped)" if t.matched else "no (not reached)"
        else:
            state = "MATCH" if t.matched else "no"
        shadow = " [shadow]" if t.shadow else (" [safety net, after the rules]" if t.rule == SAFETY_NET else "")
        click.echo(f"    rule {t.rule}{shadow}: {state}")
        for name, ok in t.conditions:
            click.echo(f"        {'yes' if ok else 'no '}  {pii.mask(name)}")
        if not t.conditions:
            click.echo("        (no conditions: always)")
        for reason in t.suppressed:
            click.echo(f"        reply held back: {reason}")
    if decision.reason:
        click.echo(f"    case reason: {pii.mask(decision.reason)}")
    if decision.actions:
        click.echo("    would do:")
        for action in decision.actions:
            click.echo(f"        {summarize(action)}  [{action.rule}]")
    else:
        click.echo("    would do: nothing")
    if decision.shadow_actions:
        click.echo("    shadow rules would do (recorded only):")
        for action in decision.shadow_actions:
            click.echo(f"        {summarize(action)}  [{action.rule}]")
    click.echo("")


@rules.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@_with_comment_options
@click.pass_context
def test(ctx: click.Context, file: str | None, text: str | None, data: str | None, band: str | None,
         score: float | None, category: str | None, openid: str | None) -> None:
    """Show what FILE would do with comments, without doing it.

    For each comment: the score and band, every rule's conditions as yes/no, and the actions
    that would run. Phone and ID numbers are masked in the output.
    """
    rs = _load(_rules_file(file))
    comments = _comments(text, data, band, score, category, openid)
    results = evaluate_file(rs, comments, _predictions(ctx, comments))
    for comment, (cctx, decision) in zip(comments, results, strict=True):
        _print_decision(comment.number, comment.label, cctx, decision, rs)
    acted = sum(1 for _, d in results if d.actions)
    held = sum(1 for _, d in results if rate_limited(d))
    click.echo(f"{counted(len(results), 'comment')}; {acted} would get actions"
               + (f"; {held} with a reply held back by article_rate_limit" if held else "")
               + f" (rules version {rs.version})")


def _span(delta: Any) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h" if seconds != 3600 else "hour"
    return f"{seconds // 60}m"


@rules.command()
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False), help="A JSON Lines file of comments.")
@click.option("--fail-on-change", is_flag=True, help="Exit 1 when any comment is treated differently.")
@click.pass_context
def diff(ctx: click.Context, old: str, new: str, data: str, fail_on_change: bool) -> None:
    """Backtest an edit: which comments OLD and NEW would treat differently, and how."""
    old_rs, new_rs = _load(Path(old)), _load(Path(new))
    comments = _comments(None, data, None, None, None, None)
    predictions = _predictions(ctx, comments)
    before = evaluate_file(old_rs, comments, predictions)
    after = evaluate_file(new_rs, comments, predictions)
    changed = 0
    for comment, (cctx, a), (_, b) in zip(comments, before, after, strict=True):
        was, now = outcome(a), outcome(b)
        shadow_was = tuple(summarize(x) for x in a.shadow_actions)
        shadow_now = tuple(summarize(x) for x in b.shadow_actions)
        if was == now and shadow_was == shadow_now:
            continue
        changed += 1
        p = cctx.prediction
        click.echo(f"[{comment.label}] {_short(comment.text)}")
        click.echo(f"    score {p.score:.2f} · band {p.band} · category {p.category}")
        click.echo(f"    old ({', '.join(a.matched_rules) or 'no rule'}):")
        for line in was:
            click.echo(f"        {'-' if line not in now else ' '} {line}")
        click.echo(f"    new ({', '.join(b.matched_rules) or 'no rule'}):")
        for line in now:
            click.echo(f"        {'+' if line not in was else ' '} {line}")
        if shadow_was != shadow_now:
            click.echo(f"    shadow: {'; '.join(shadow_was) or 'nothing'} → {'; '.join(shadow_now) or 'nothing'}")
        click.echo("")
    click.echo(f"{changed} of {counted(len(comments), 'comment')} would be treated differently "
               f"(old {old_rs.version}, new {new_rs.version})")
    held_old = sum(1 for _, d in before if rate_limited(d))
    held_new = sum(1 for _, d in after if rate_limited(d))
    if held_old or held_new:
        limit = new_rs.settings.article_rate_limit
        rule = f" ({limit.count} per article per {_span(limit.per)})" if limit else ""
        click.echo(f"replies held back by article_rate_limit{rule}: old {held_old}, new "
                   f"{held_new} (counted per article and hour, from each comment's article and time)")
    if fail_on_change and changed:
        raise SystemExit(1)


__all__ = ["check", "diff", "rules", "test"]


def _register() -> None:
    from bot.cli.spikes_cmd import spikes

    rules.add_command(spikes)


_register()
