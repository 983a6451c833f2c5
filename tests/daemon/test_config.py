from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import MOCK_APPID, load_config
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_point_at_the_mock() -> None:
    cfg = load_config(None, env={})
    assert cfg.accounts[0].appid == MOCK_APPID
    assert cfg.accounts[0].base_url.startswith("http://127.0.0.1")
    assert str(cfg.rules) == "rules.yaml"


def test_sample_config_is_valid() -> None:
    cfg = load_config(ROOT / "contrib" / "dianhua.toml", env={})
    assert cfg.polling.fast_seconds == 10
    assert cfg.cases.deadlines["P1"].first_reply == 5
    assert str(cfg.model_registry) == "/var/lib/dianhua/models"
    assert str(load_config(None, env={}).model_registry) == "models"
    assert str(load_config(None, env={"DIANHUA_MODELS": "/srv/m"}).model_registry) == "/srv/m"


def test_environment_overrides_secrets_and_paths(tmp_path: Path) -> None:
    env = {"DIANHUA_WECHAT_SECRET": "s3cr3t", "DIANHUA_DB": str(tmp_path / "x.db"),
           "DIANHUA_WECHAT_BASE_URL": "http://127.0.0.1:9", "DIANHUA_WECOM_KEY_DUTY": "k1",
           "DIANHUA_RULES": "other.yaml"}
    cfg = load_config(None, env=env)
    assert cfg.accounts[0].secret == "s3cr3t"
    assert cfg.db == tmp_path / "x.db" and str(cfg.rules) == "other.yaml"
    assert cfg.groups["duty"].key == "k1"
    assert "s3cr3t" not in repr(cfg)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[polling]\nfast_seconds = \"ten\"\n", "x.toml:2 polling.fast_seconds: must be a number"),
        ("[poling]\nfast_seconds = 1\n", "x.toml:1 poling: unknown setting; did you mean 'polling'?"),
        ("[polling]\nfast_secnds = 1\n", "did you mean 'fast_seconds'?"),
        ("[http]\nport = 70000\n", "x.toml:2 http.port: must be between 0 and 65535"),
        ("[storage\ndb = 1\n", "x.toml:1:9 not valid TOML"),
        ("[[accounts]]\nname = \"a\"\narticles = [{index = 0}]\n", "needs msg_data_id"),
        ("[[accounts]]\nappid = 5\n", "x.toml:2 accounts[0].appid: must be text"),
        ("[log]\nlevel = \"LOUD\"\n", "log.level: must be DEBUG"),
        ("[polling]\nfast_seconds = 600\nnormal_seconds = 60\n", "intervals must grow"),
    ],
)
def test_problems_name_file_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert expected in str(info.value).replace(str(tmp_path) + "/", "")


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[polling]\nfast_seconds = -1\nslow_seconds = \"x\"\n[htp]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert len(info.value.problems) == 3


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_storage_url_selects_postgresql_and_a_wrong_scheme_is_located(tmp_path: Path) -> None:
    from bot.config import store_target

    cfg = tmp_path / "d.toml"
    cfg.write_text('[storage]\nurl = "postgresql://dianhua@127.0.0.1:5432/dianhua"\n',
                   encoding="utf-8")
    loaded = load_config(cfg, env={})
    assert store_target(loaded) == "postgresql://dianhua@127.0.0.1:5432/dianhua"
    assert store_target(load_config(None, env={})) == "var/dianhua.db"
    env = {"DIANHUA_DB_URL": "postgresql://bot:pw@db/dianhua"}
    assert store_target(load_config(cfg, env=env)) == env["DIANHUA_DB_URL"]
    assert "pw" not in repr(load_config(cfg, env=env))
    cfg.write_text('[storage]\nurl = "mysql://bot:secret@db/dianhua"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(cfg, env={})
    text = str(caught.value)
    assert "storage.url" in text and "postgresql://" in text and "secret" not in text
