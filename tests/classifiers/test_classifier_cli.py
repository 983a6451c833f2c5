"""dianhua train / eval / classify through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main

FIXTURE = Path(__file__).with_name("fixture_corpus.jsonl")


def test_classify_one_text_prints_json_without_the_number(tiny_path: Path) -> None:
    res = CliRunner().invoke(main, ["classify", "--model", str(tiny_path),
                                    "孩子高烧抽搐 120打不通 电话13800000000"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) >= {"urgent_score", "urgent", "auto", "category", "category_score",
                        "top_terms"}
    assert 0 <= out["urgent_score"] <= 1
    assert "13800000000" not in res.output


def test_classify_streams_a_file_and_reports_bad_lines(tiny_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": f"c{i}", "text": t}, ensure_ascii=False)
             for i, t in enumerate(["孕妇见红进不了医院", "谢谢小编", "健康码黄了"])]
    src.write_text("\n".join([*lines, "oops"]) + "\n", encoding="utf-8")
    dst = tmp_path / "out.jsonl"
    res = CliRunner().invoke(main, ["classify", "--model", str(tiny_path), "--input", str(src),
                                    "--output", str(dst), "--batch-size", "2"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in dst.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["c0", "c1", "c2", 4]
    assert "error" in rows[-1] and all("urgent_score" in r for r in rows[:3])


def test_classify_needs_text_or_input() -> None:
    res = CliRunner().invoke(main, ["classify"])
    assert res.exit_code == 2


def test_eval_writes_metrics_and_curve(tiny_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    res = CliRunner().invoke(main, ["eval", "--data", str(FIXTURE), "--model", str(tiny_path),
                                    "--out-dir", str(out)])
    assert res.exit_code == 0, res.output
    assert "review" in res.stdout and "keywords" in res.stdout and "hard_negative" in res.stdout
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert {"model", "baseline", "by_tag", "category"} <= set(metrics)
    assert (out / "pr_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_with_a_broken_model_is_a_plain_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["eval", "--data", str(FIXTURE), "--model",
                                    str(tmp_path / "missing.skops")])
    assert res.exit_code == 1
    assert "model file not found" in res.output and "Traceback" not in res.output


def test_train_writes_model_and_card(fixture_splits: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    res = CliRunner().invoke(main, ["train", "--data", str(fixture_splits), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "urgent.skops").exists() and (out / "urgent.card.json").exists()
    assert "test split" in res.stdout and "precision" in res.stdout
