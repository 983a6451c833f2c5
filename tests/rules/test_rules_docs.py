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


def test_the_safety_net_block_loads_and_its_sample_output_is_real() -> None:
    from click.testing import CliRunner

    from bot.cli.rules_cmd import rules

    block = next(b for b in re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S) if b.startswith("safety_net:"))
    rs = load_rules_text(HEADER + "rules:\n  - name: faq\n    when: {band: below}\n    then: [{tag: faq}]\n" + block)
    assert rs.safety_net is not None and len(rs.safety_net.groups) == 2
    sample = DOC.split("$ dianhua rules test --band below --text ", 1)[1].split("```", 1)[0]
    text = sample.split("\n", 1)[0].strip().strip('"')
    out = CliRunner().invoke(rules, ["test", str(REPO / "rules.yaml"), "--band", "below", "--text", text],
                             obj={"predict": None}, catch_exceptions=False).output
    start = sample.index("    rule safety_net")
    net_part = sample[start:sample.index("\n\n", start)]
    assert net_part in out
