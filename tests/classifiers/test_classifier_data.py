"""Reading, checking, deduplicating and splitting labeled comments."""

from __future__ import annotations

import json
from pathlib import Path

from bot.errors import Problem
from classifiers.dataset import (
    Example,
    build_splits,
    dedupe,
    dedupe_key,
    near_duplicate_groups,
    parse_line,
    read_jsonl,
    source_of,
    split_examples,
)

FIXTURE = Path(__file__).with_name("fixture_corpus.jsonl")


def test_parse_line_reports_file_line_and_field() -> None:
    bad = parse_line('{"text": "急", "urgent": 2}', file="x.jsonl", line=7, need_category=False)
    assert isinstance(bad, Problem)
    assert str(bad) == "x.jsonl:7 urgent: must be 0 or 1, got 2"
    assert isinstance(parse_line("{nope", file="x.jsonl", line=1, need_category=False), Problem)
    cat = parse_line('{"text": "a", "urgent": 0, "category": "天气"}', file="f", line=2,
                     need_category=True)
    assert isinstance(cat, Problem) and cat.field == "category"


def test_read_jsonl_skips_bad_lines_and_keeps_good(tmp_path: Path) -> None:
    p = tmp_path / "mixed.jsonl"
    p.write_text('{"text": "孩子高烧", "urgent": 1}\nnot json\n\n{"text": "", "urgent": 0}\n',
                 encoding="utf-8")
    rows, problems = read_jsonl(p)
    assert [r.text for r in rows] == ["孩子高烧"]
    assert [pr.line for pr in problems] == [2, 4]


def test_dedupe_by_normalised_text_and_conflicts_dropped() -> None:
    rows = [
        Example("1", "孩子发烧！！", 1, "寻医买药"),
        Example("2", "孩子發燒!!", 1, "寻医买药"),  # traditional + ASCII punctuation: same
        Example("3", "谢谢小编", 0, "表扬感谢"),
        Example("4", "谢谢小编。", 1, "表扬感谢"),  # same text, other label: both dropped
    ]
    assert dedupe_key("孩子發燒!!") == dedupe_key("孩子发烧！！")
    kept, dups, conflicts = dedupe(rows)
    assert [r.id for r in kept] == ["1"]
    assert (dups, conflicts) == (1, 2)


def test_near_duplicates_share_a_group() -> None:
    groups = near_duplicate_groups([
        "我妈透析小区封控出不去今天必须做透析",
        "我妈透析小区封控出不去今天必须做透析了",
        "第三针疫苗在哪里打",
    ])
    assert groups[0] == groups[1] != groups[2]


def test_split_is_deterministic_stratified_and_disjoint(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    summary = build_splits([FIXTURE], a, seed=42)
    build_splits([FIXTURE], b, seed=42)
    for name in ("train", "valid", "test"):
        assert (a / f"{name}.jsonl").read_bytes() == (b / f"{name}.jsonl").read_bytes()
    texts = {
        name: {json.loads(line)["text"] for line in (a / f"{name}.jsonl").open(encoding="utf-8")}
        for name in ("train", "valid", "test")
    }
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["valid"]
    assert sum(summary["splits"].values()) == summary["kept"] == 80
    assert summary["splits"]["train"] > summary["splits"]["valid"] > 0


def test_other_seed_gives_other_split() -> None:
    rows, _ = read_jsonl(FIXTURE)
    one = split_examples(rows, seed=1)["test"]
    two = split_examples(rows, seed=2)["test"]
    assert {r.id for r in one} != {r.id for r in two}


def test_real_text_is_grouped_by_its_web_page_and_authored_text_by_its_part() -> None:
    real = Example("rn0001", "某医院表示…", 0, "寻医买药", ("real", "sit:page-p07"))
    same_page = Example("rh0009", "求助…", 1, "寻医买药", ("real", "sit:page-p07"))
    authored = Example("cq0012", "急！", 1, "寻医买药", ("urgency_stated",))
    assert source_of(real) == source_of(same_page) == "page:p07"
    assert source_of(authored) == "cq"
