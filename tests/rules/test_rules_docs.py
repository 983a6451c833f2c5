"""docs/rules.md covers every condition, action, setting and variable, and its YAML is valid."""

from __future__ import annotations

import re

import pytest
import yaml
from rules_helpers import HEADER, REPO

from bot.rules import load_rules_text
from bot.rules.conditions import WHEN_KEYS
from bot.rules.model import ACTION_KINDS
from bot.rules.sections import SETTINGS_KEYS
from bot.rules.templates import VARIABLES

DOC = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("word", [*WHEN_KEYS, *ACTION_KINDS, *SETTINGS_KEYS])
def test_every_keyword_is_documented(word: str) -> None:
    assert f"`{word}" in DOC or f"{word}:" in DOC


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_every_template_variable_is_documented(name: str) -> None:
    assert "{" + name + "}" in DOC


def test_yaml_blocks_in_the_doc_parse() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)
    assert len(blocks) >= 5
    for block in blocks:
        yaml.safe_load(block)


def test_the_recipe_rule_loads() -> None:
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S) if "faq_vaccine_site" in b)
    load_rules_text(HEADER + "rules:\n" + block)
