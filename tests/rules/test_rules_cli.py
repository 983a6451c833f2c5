"""`dianhua rules check|test|diff` in-process, with a fake classifier (never the real model)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rules_helpers import REPO, fake_predict

from bot.cli import main
from bot.cli.rules_cmd import rules

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))
LOCATED = re.compile(r"^\S+\.yaml:\d+(:\d+)? ", re.MULTILINE)


def run(args: list[str], predict: object = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(rules, args, obj={"predict": predict}, env=env, catch_exceptions=False)


def test_there_are_at_least_forty_broken_files() -> None:
    assert len(BROKEN) >= 40


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_file_gives_a_located_message_and_exit_1(path: Path) -> None:
    first = path.read_bytes().split(b"\n", 1)[0].decode()
    assert first.startswith("# expect: ")
    expected = first.removeprefix("# expect: ").strip()
    result = run(["check", str(path)])
    assert result.exit_code == 1, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if expected in line]
    assert any(LOCATED.match(line) for line in lines), result.output


def test_shipped_rules_check_ok() -> None:
    result = run(["check", str(REPO / "rules.yaml")])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "examples pass" in result.output


def test_check_uses_env_var_and_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(REPO / "rules.yaml", tmp_path / "mine.yaml")
    assert run(["check"], env={"DIANHUA_RULES": str(tmp_path / "mine.yaml")}).exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = run(["check"])
    assert result.exit_code == 1 and "rules.yaml" in result.output and "file not found" in result.output


def _with_examples(tmp_path: Path, examples: str) -> Path:
    text = (REPO / "rules.yaml").read_text(encoding="utf-8").split("\nexamples:")[0]
    path = tmp_path / "rules.yaml"
    path.write_text(text + "\nexamples:\n" + examples, encoding="utf-8")
    return path


def test_examples_without_band_use_the_injected_classifier(tmp_path: Path) -> None:
    path = _with_examples(tmp_path, "  - text: 很急，核酸结果没出\n    expect: {rules: [urgent_auto]}\n")
    assert run(["check", str(path)], predict=fake_predict).exit_code == 0
    failing = _with_examples(tmp_path, "  - text: 你好\n    expect: {rules: [urgent_auto]}\n")
    result = run(["check", str(failing)], predict=fake_predict)
    assert result.exit_code == 1
    assert "examples[0]: expected rules [urgent_auto], got []" in result.output


def test_examples_without_band_and_without_a_model_fail_plainly(tmp_path: Path) -> None:
    path = _with_examples(tmp_path, "  - text: 很急\n    expect: {rules: [urgent_auto]}\n")
    result = run(["check", str(path)], predict=None)
    assert result.exit_code == 1 and "needs 'band:'" in result.output
    assert run(["check", "--no-examples", str(path)]).exit_code == 0


def test_test_text_shows_conditions_actions_and_masks(tmp_path: Path) -> None:
    result = run(["test", str(REPO / "rules.yaml"), "--text", "北大深圳医院，很急，电话13800000000", "--band", "auto"])
    out = result.output
    assert result.exit_code == 0, out
    assert "13800000000" not in out and "138****0000" in out
    assert "band auto" in out and "rule urgent_auto: MATCH" in out
    assert "yes  band: auto" in out and "no   has_open_case: true" in out
    # the comment holds a number: the reply says it was received, the case starts with it
    assert "reply: 已收到您留的电话" in out and "电话发我" not in out
    assert "open_case P1 urgent → pku_sz (contact_received)" in out
    assert "not reached" in out


def test_test_text_with_the_classifier(tmp_path: Path) -> None:
    result = run(["test", str(REPO / "rules.yaml"), "--text", "请问核酸结果要多久"], predict=fake_predict)
    assert result.exit_code == 0 and "faq_test_result_time: MATCH" in result.output
    no_model = run(["test", str(REPO / "rules.yaml"), "--text", "请问核酸结果要多久"], predict=None)
    assert no_model.exit_code == 1 and "no \"band\" given" in no_model.output


def _jsonl(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "comments.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_test_data_replays_a_writer_coming_back_with_a_phone(tmp_path: Path) -> None:
    data = _jsonl(tmp_path, [
        {"id": "c1", "text": "老人在南山区透析断了，很急", "band": "auto", "openid": "w1"},
        {"id": "c2", "text": "电话 13800000000", "band": "below", "openid": "w1"},
        {"id": "c3", "text": "请问核酸结果要多久", "openid": "w2"},
    ])
    result = run(["test", str(REPO / "rules.yaml"), "--data", str(data)], predict=fake_predict)
    out = result.output
    assert result.exit_code == 0, out
    assert "[c1]" in out and "[c2]" in out and "[c3]" in out
    c2 = out.split("[c2]")[1].split("[c3]")[0]
    assert "rule phone_followup: MATCH" in c2 and "attach_case #1 (status contact_received)" in c2
    assert "notify nanshan" in c2
    assert "13800000000" not in out
    assert "3 comments" in out


def test_test_needs_text_or_data() -> None:
    result = run(["test", str(REPO / "rules.yaml")])
    assert result.exit_code == 2 and "--text" in result.output


def test_test_reports_bad_data_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "ok", "band": "below"}\nnot json\n{"band": "auto"}\n', encoding="utf-8")
    result = run(["test", str(REPO / "rules.yaml"), "--data", str(path)])
    assert result.exit_code == 1
    assert ":2: not JSON" in result.output and ":3: needs \"text\"" in result.output


def test_diff_shows_what_an_edit_changes(tmp_path: Path) -> None:
    old = REPO / "rules.yaml"
    new = tmp_path / "new.yaml"
    new.write_text(old.read_text(encoding="utf-8").replace('text: "电话发我"', 'text: "请把电话发我"')
                   .replace("  - name: urgent_review\n    when:\n      band: review\n",
                            "  - name: urgent_review\n    when:\n      band: review\n"
                            "      min_score: 0.8\n"), encoding="utf-8")
    data = _jsonl(tmp_path, [
        {"id": "a", "text": "很急", "band": "auto"},
        {"id": "r", "text": "可能要住院", "band": "review", "score": 0.6},
        {"id": "b", "text": "谢谢", "band": "below"},
    ])
    result = run(["diff", str(old), str(new), "--data", str(data)], predict=fake_predict)
    out = result.output
    assert result.exit_code == 0, out
    assert "[a]" in out and "- reply: 电话发我" in out and "+ reply: 请把电话发我" in out
    assert "[r]" in out and "open_case P2" in out
    assert "[b]" not in out
    assert "2 of 3 comments would be treated differently" in out
    again = run(["diff", str(old), str(new), "--data", str(data), "--fail-on-change"])
    assert again.exit_code == 1
    same = run(["diff", str(old), str(old), "--data", str(data), "--fail-on-change"])
    assert same.exit_code == 0 and "0 of 3" in same.output


def test_registered_on_the_main_command() -> None:
    result = CliRunner().invoke(main, ["rules", "--help"])
    assert result.exit_code == 0 and "check" in result.output and "diff" in result.output


def _changed_reply(tmp_path: Path) -> tuple[Path, Path]:
    old = REPO / "rules.yaml"
    new = tmp_path / "new.yaml"
    new.write_text(old.read_text(encoding="utf-8").replace('text: "电话发我"', 'text: "请把电话发我"'),
                   encoding="utf-8")
    return old, new


def test_diff_replays_each_comment_on_its_own_article_and_time(tmp_path: Path) -> None:
    """Issue 12 #13: no shared article and no shared hour unless the file says so."""
    old, new = _changed_reply(tmp_path)
    # 60 urgent comments with no article or time: each is alone on its article
    loose = _jsonl(tmp_path, [{"id": f"c{i}", "text": "孩子高烧很急", "band": "auto"} for i in range(60)])
    out = run(["diff", str(old), str(new), "--data", str(loose)]).output
    assert "60 of 60 comments would be treated differently" in out, out
    assert "held back by article_rate_limit" not in out


def test_diff_applies_the_rate_limit_per_article_per_hour_and_reports_it(tmp_path: Path) -> None:
    old, new = _changed_reply(tmp_path)
    rows: list[dict[str, object]] = []
    for i in range(40):  # 40 on one article within ten minutes: 30 replies, 10 held back
        rows.append({"id": f"a{i}", "text": "很急", "band": "auto", "msg_data_id": "2247480001",
                     "created_at": f"2022-01-08T10:{i // 4:02d}:{(i % 4) * 10:02d}+08:00"})
    for i in range(40):  # 40 on another article, one every 10 minutes: never more than 6 an hour
        rows.append({"id": f"b{i}", "text": "很急", "band": "auto", "msg_data_id": "2247480002",
                     "create_time": 1641607200 + i * 600})
    out = run(["diff", str(old), str(new), "--data", str(_jsonl(tmp_path, rows))]).output
    assert "70 of 80 comments would be treated differently" in out, out
    assert "replies held back by article_rate_limit (30 per article per hour): old 10, new 10" in out
    assert "[b39]" in out and "[a39]" not in out


def test_test_counts_one_comment_in_the_singular() -> None:
    out = run(["test", str(REPO / "rules.yaml"), "--text", "谢谢", "--band", "below"]).output
    assert "1 comment;" in out and "1 comments" not in out
