"""The message-push settings of an account: checked with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.errors import ConfigError

KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "dianhua.toml"
    path.write_text('[[accounts]]\nname = "main"\n' + body, encoding="utf-8")
    return path


def test_push_settings_are_read(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, f'push_token = "tok123"\nencoding_aes_key = "{KEY}"\n'
                                       'message_mode = "safe"\n'), env={})
    acc = cfg.accounts[0]
    assert (acc.push_token, acc.encoding_aes_key, acc.message_mode) == ("tok123", KEY, "safe")
    assert KEY not in repr(acc) and "tok123" not in repr(acc)


def test_push_settings_from_the_environment() -> None:
    cfg = load_config(None, env={"DIANHUA_WECHAT_PUSH_TOKEN": "tok123",
                                 "DIANHUA_WECHAT_AES_KEY": KEY})
    assert cfg.accounts[0].push_token == "tok123" and cfg.accounts[0].encoding_aes_key == KEY
    with pytest.raises(ConfigError, match="DIANHUA_WECHAT_AES_KEY"):
        load_config(None, env={"DIANHUA_WECHAT_AES_KEY": "too-short"})


@pytest.mark.parametrize(("body", "expected"), [
    ('message_mode = "secret"\n', "dianhua.toml:3 accounts[0].message_mode: must be one of"),
    ('message_mode = "safe"\n', "accounts[0].encoding_aes_key: message_mode 'safe' needs"),
    ('encoding_aes_key = "abc"\n', "dianhua.toml:3 accounts[0].encoding_aes_key: an EncodingAESKey is 43"),
    ('push_token = "a b"\n', "dianhua.toml:3 accounts[0].push_token: must be 3 to 32 letters"),
])
def test_bad_push_settings_are_located(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, body), env={})
    assert expected in str(info.value)
