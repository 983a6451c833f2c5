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


def test_a_rules_reload_is_logged_once(tmp_path: Path) -> None:
    """Issue 12: the holder and the daemon both logged "rules reloaded"."""
    import shutil

    from bot.config import Config
    from bot.daemon import Daemon

    root = Path(__file__).resolve().parents[2]
    rules = tmp_path / "rules.yaml"
    shutil.copy(root / "rules.yaml", rules)

    class Model:
        version = "fake"

        def predict_many(self, texts: list[str], batch_size: int = 256) -> list[object]:
            return []

    daemon = Daemon(Config(db=tmp_path / "d.db", rules=rules, accounts=[], http_enabled=False),
                    model=Model())  # type: ignore[arg-type]
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO")
    try:
        rules.write_text(rules.read_text(encoding="utf-8").replace("电话发我", "请留电话"),
                         encoding="utf-8")
        daemon.reload_rules()
        daemon.reload_rules()
    finally:
        logger.remove(sink)
        daemon.store.close()
    assert sum("reloaded" in line for line in lines) == 1, lines
