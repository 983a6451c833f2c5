"""`channel:` — rules for comments, for private messages, or both."""

from __future__ import annotations

import dataclasses

import pytest
from rules_helpers import HEADER, FakeHistory, build, make_ctx

from bot.errors import RulesError
from bot.rules import load_rules_text
from bot.rules.examples import run_examples


@pytest.mark.parametrize(("when", "channel", "expected"), [
    ("channel: message", "message", True),
    ("channel: message", "comment", False),
    ("channel: comment", "comment", True),
    ("channel: [comment, message]", "message", True),
])
def test_channel(when: str, channel: str, expected: bool) -> None:
    rs = build(f"- name: r\n  when: {{{when}}}\n  then: [feature]\n")
    ctx = dataclasses.replace(make_ctx(), channel=channel)
    assert (rs.evaluate(ctx, FakeHistory()).matched_rules == ("r",)) is expected  # type: ignore[arg-type]


def test_rules_without_channel_match_both() -> None:
    rs = build("- name: r\n  when: {band: below}\n  then: [feature]\n")
    for channel in ("comment", "message"):
        ctx = dataclasses.replace(make_ctx(), channel=channel)
        assert rs.evaluate(ctx, FakeHistory()).matched_rules == ("r",)  # type: ignore[arg-type]


def test_unknown_channel_is_located_and_suggested() -> None:
    text = HEADER + "rules:\n  - name: a\n    when:\n      channel: mesage\n    then: [feature]\n"
    with pytest.raises(RulesError) as info:
        load_rules_text(text)
    (p,) = info.value.problems
    assert p.field == "rules[0].when.channel" and p.line == HEADER.count("\n") + 4
    assert "did you mean 'message'?" in p.message


def test_examples_can_be_private_messages() -> None:
    rs = build("- name: private_only\n  when: {channel: message}\n  then: [feature]\n",
               examples="""
               - name: a private message
                 text: 你好
                 band: below
                 channel: message
                 expect: {rules: [private_only]}
               - name: a comment
                 text: 你好
                 band: below
                 expect: {rules: []}
               """)
    assert [e.channel for e in rs.examples] == ["message", "comment"]
    assert run_examples(rs) == []  # both hold: the channel reaches the rules
    with pytest.raises(RulesError) as info:
        build("- name: r\n  then: [feature]\n", examples="""
              - text: 你好
                channel: sms
                expect: {rules: [r]}
              """)
    assert info.value.problems[0].field == "examples[0].channel"
