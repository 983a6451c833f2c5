from __future__ import annotations

from pathlib import Path

from loguru import logger

from bot import logs

PHONE = "13800000000"
ID = "11010519491231002X"


def test_every_sink_masks_personal_data(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    file = tmp_path / "log" / "d.jsonl"
    logs.setup(file=file, level="DEBUG")
    try:
        logger.info("follow-up from writer: 电话 {} 身份证 {}", PHONE, ID)
        logger.bind(comment=f"call {PHONE}").warning("bound value")
        try:
            raise ValueError(f"bad {PHONE}")
        except ValueError:
            logger.exception("boom")
        logger.complete()
    finally:
        logger.remove()
    text = file.read_text(encoding="utf-8")
    err = capsys.readouterr().err
    for output in (text, err):
        assert PHONE not in output and ID not in output
        assert "138****0000" in output
