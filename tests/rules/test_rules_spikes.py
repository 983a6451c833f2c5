"""Spike alerts (留言突增): the spikes: section of rules.yaml, its checks, and day replays."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from rules_helpers import HEADER, REPO

from bot.cli.rules_cmd import rules
from bot.clock import SHANGHAI
from bot.errors import RulesError
from bot.rules import RuleSet, load_rules, load_rules_text
from bot.rules.spikes import SpikeWatch, event_from, replay

SPIKES = """\
rules:
  - name: urgent
    when: {band: auto}
    then: [{reply: 电话发我}]
spikes:
  - name: dialysis
    when:
      keywords: [透析, 血透]
    count: 3
    within: 1h
    per: route
    baseline: {days: 2, times: 3}
    cooldown: 6h
    notify: {group: route}
"""
DAY = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)


def spike_rules(text: str = SPIKES) -> RuleSet:
    return load_rules_text(HEADER + text)


def events(rs: RuleSet, times: list[datetime], text: str = "南山区透析的病人出不了小区") -> list:
    return [event_from(f"c{i}", t, text, band="below", category="寻医买药", article="a", routes=rs.routes)
            for i, t in enumerate(times)]


def test_the_shipped_burst_of_dialysis_comments_raises_exactly_one_alert_to_the_district() -> None:
    out = CliRunner().invoke(rules, ["spikes", str(REPO / "rules.yaml"),
                                     "--data", str(REPO / "data/scenarios/dialysis_spike.jsonl")])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    alerts = [line for line in lines if "→ group" in line]
    assert alerts == ["2026-11-30 10:33 dialysis_by_district: route nanshan 5 comments "
                      "(baseline 0.0) → group nanshan (南山区卫健局)"]
    assert "处理部门 南山区卫健局：1 小时内 5 条留言提到透析" in out.output
    assert lines[-1].startswith("31 comments; 1 spike alert (2 spike rules")


def test_a_normal_day_raises_no_alert() -> None:
    out = CliRunner().invoke(rules, ["spikes", str(REPO / "rules.yaml"),
                                     "--data", str(REPO / "data/scenarios/normal_day.jsonl")])
    assert out.exit_code == 0, out.output
    assert "→ group" not in out.output
    assert out.output.splitlines()[-1].startswith("22 comments; 0 spike alerts")


def test_cool_down_then_a_new_spike_alerts_again() -> None:
    rs = spike_rules()
    watch = SpikeWatch(rs.spikes, rs.groups)
    burst = [DAY + timedelta(minutes=m) for m in (0, 5, 10, 15, 20, 25)]
    later = [DAY + timedelta(hours=7, minutes=m) for m in (0, 5, 10)]
    alerts = replay(watch, events(rs, burst + later))
    assert [(a.scope, a.group, a.count, a.at) for a in alerts] == [
        ("nanshan", "nanshan", 3, DAY + timedelta(minutes=10)),
        ("nanshan", "nanshan", 3, DAY + timedelta(hours=7, minutes=10)),
    ]
    assert len({a.key for a in alerts}) == 2


def test_a_busy_hour_is_compared_with_the_same_hour_on_previous_days() -> None:
    rs = spike_rules()
    watch = SpikeWatch(rs.spikes, rs.groups)
    usual = [DAY - timedelta(days=d) + timedelta(minutes=m) for d in (1, 2) for m in range(-120, 120, 15)]  # 4 an hour
    today = [DAY + timedelta(minutes=m) for m in range(0, 50, 5)]  # 10 in the hour
    alerts = replay(watch, events(rs, usual + today))
    # baseline 4 an hour, times 3: the alert waits for the 12th comment, which never comes
    assert [a for a in alerts if a.at >= DAY] == []
    alerts = replay(watch, events(rs, usual + today + [DAY + timedelta(minutes=52 + m) for m in (0, 1)]))
    fired = [a for a in alerts if a.at >= DAY]
    assert [(a.count, a.baseline) for a in fired] == [(12, 4.0)]


def test_other_districts_words_and_bands_are_counted_apart() -> None:
    rs = spike_rules(SPIKES.replace("keywords: [透析, 血透]", "keywords: [透析, 血透]\n      urgent: urgent"))
    watch = SpikeWatch(rs.spikes, rs.groups)
    mixed = [event_from(f"c{i}", DAY + timedelta(minutes=i), text, band=band, category="x", article="a",
                        routes=rs.routes)
             for i, (text, band) in enumerate([
                 ("南山区透析", "auto"), ("北大深圳医院透析", "auto"), ("南山区透析", "below"),
                 ("南山区核酸", "auto"), ("粤海街道血透", "review")])]
    assert replay(watch, mixed) == []
    mixed.append(event_from("c9", DAY + timedelta(minutes=9), "南山区透析急", band="auto", category="x",
                            article="a", routes=rs.routes))
    assert [(a.scope, a.count) for a in replay(watch, mixed)] == [("nanshan", 3)]


@pytest.mark.parametrize(("change", "where", "message"), [
    (("count: 3", "count: 1"), "spikes[0].count", "must be between 2 and 10000, got 1"),
    (("per: route", "per: district"), "spikes[0].per", "unknown value 'district'"),
    (("within: 1h", "within: soon"), "spikes[0].within", "must be a duration like 30s, 10m, 2h or 1d"),
    (("group: route", "group: nanshn"), "spikes[0].notify.group", "unknown group 'nanshn'"),
    (("cooldown: 6h", "cooldwn: 6h"), "spikes[0].cooldwn", "unknown key 'cooldwn' (did you mean 'cooldown'?)"),
    (("per: route", "per: article"), "spikes[0].notify.group", "'group: route' needs 'per: route' "
                                                                "(this rule counts per article)"),
    (("keywords: [透析, 血透]", "urgent: maybe"), "spikes[0].when.urgent", "unknown value 'maybe'"),
    (("notify: {group: route}", "notify: {group: route, text: '{count} 条 {phone}'}"),
     "spikes[0].notify.text", "unknown variable '{phone}'"),
])
def test_mistakes_are_located_with_line_and_field(change: tuple[str, str], where: str, message: str) -> None:
    text = SPIKES.replace(*change)
    with pytest.raises(RulesError) as err:
        spike_rules(text)
    field = where.rsplit(".", 1)[-1]
    line = next(i for i, x in enumerate((HEADER + text).splitlines(), 1)
                if (change[1] in x and field in x) or (field == "group" and "group:" in x and "notify" in x))
    problems = [str(p) for p in err.value.problems]
    assert any(p.startswith(f"rules.yaml:{line}:") and f" {where}: " in p and message in p for p in problems), problems


def test_the_shipped_rules_declare_spikes_and_a_file_without_them_still_loads() -> None:
    shipped = load_rules(REPO / "rules.yaml")
    assert [s.name for s in shipped.spikes] == ["dialysis_by_district", "urgent_surge"]
    assert spike_rules(SPIKES.split("spikes:")[0]).spikes == ()


def test_the_docs_spikes_block_loads_and_its_sample_output_is_real() -> None:
    import re

    doc = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", doc, flags=re.S) if b.startswith("spikes:"))
    rs = spike_rules("rules:\n  - name: x\n    when: {band: auto}\n    then: [{tag: x}]\n" + block)
    assert [s.name for s in rs.spikes] == ["dialysis_by_district"]
    for scenario in ("dialysis_spike", "normal_day"):
        sample = doc.split(f"$ dianhua rules spikes --data data/scenarios/{scenario}.jsonl\n", 1)[1]
        sample = sample.split("\n\n", 1)[0].split("```", 1)[0].strip()
        out = CliRunner().invoke(rules, ["spikes", str(REPO / "rules.yaml"), "--data",
                                         str(REPO / f"data/scenarios/{scenario}.jsonl")]).output
        version = re.compile(r"rules version \w+\)")
        assert version.sub("", sample) == version.sub("", out.strip())
