"""Hot reload: a changed valid file is switched in; an invalid one is refused and the old rules stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from loguru import logger
from rules_helpers import HEADER, WED_10

from bot.errors import RulesError
from bot.rules import RulesHolder

GOOD = HEADER + "rules:\n  - name: first\n    then: [{tag: one}]\n"
BETTER = HEADER + "rules:\n  - name: second\n    then: [{tag: two}]\n"
BAD = HEADER + "rules:\n  - name: broken\n    when: {min_score: 1.5}\n    then: [feature]\n"


class Clock:
    def __init__(self) -> None:
        self.now = WED_10

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def logs() -> list[str]:
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m)), level="INFO", format="{level} {message}")
    yield messages
    logger.remove(sink)


def test_reload_switches_to_a_valid_change(tmp_path: Path, logs: list[str]) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD, encoding="utf-8")
    clock = Clock()
    holder = RulesHolder(path, clock=clock)
    first = holder.current
    assert first.rule_names == ("first",) and holder.loaded_at == WED_10
    assert holder.check() is False  # unchanged
    path.write_text(BETTER, encoding="utf-8")
    clock.now += timedelta(seconds=5)
    assert holder.check() is True
    assert holder.current.rule_names == ("second",) and holder.current.version != first.version
    assert holder.loaded_at == clock.now and holder.last_error is None
    assert any(holder.current.version in m and "reloaded" in m for m in logs)
    assert holder.check() is False


def test_invalid_change_keeps_the_previous_rules(tmp_path: Path, logs: list[str]) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD, encoding="utf-8")
    holder = RulesHolder(path, clock=Clock())
    before = holder.current
    path.write_text(BAD, encoding="utf-8")
    assert holder.check() is False
    assert holder.current is before
    assert holder.last_error is not None and "must be between 0 and 1, got 1.5" in holder.last_error
    errors = [m for m in logs if m.startswith("ERROR")]
    assert any("min_score" in m for m in errors)
    count = len(errors)
    assert holder.check() is False  # the same bad file is not reported again
    assert len([m for m in logs if m.startswith("ERROR")]) == count
    path.write_text(BETTER, encoding="utf-8")  # fixed
    assert holder.check() is True and holder.last_error is None
    assert holder.current.rule_names == ("second",)


def test_deleted_file_keeps_rules_and_reverting_clears_the_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD, encoding="utf-8")
    holder = RulesHolder(path, clock=Clock())
    path.unlink()
    assert holder.check() is False and holder.current.rule_names == ("first",)
    assert holder.last_error is not None and "cannot be read" in holder.last_error
    path.write_text(GOOD, encoding="utf-8")
    assert holder.check() is False and holder.last_error is None


def test_an_invalid_file_at_start_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(RulesError):
        RulesHolder(path)
