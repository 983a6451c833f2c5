"""``[cluster]``: replica mode on, its defaults, and its problems named by file, line, field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cluster import default_replica_id
from bot.config import load_config
from bot.errors import ConfigError


def _load(tmp_path: Path, text: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, env=env or {})


def test_without_a_cluster_section_there_is_one_daemon(tmp_path: Path) -> None:
    assert _load(tmp_path, "[polling]\ntick_seconds = 1\n").cluster is None


def test_the_cluster_section_turns_replicas_on_with_defaults(tmp_path: Path) -> None:
    cluster = _load(tmp_path, "[cluster]\n").cluster
    assert cluster is not None
    assert (cluster.lease_seconds, cluster.claim_seconds, cluster.beat_seconds) == (15, 60, 5)
    assert cluster.resolved_id() == default_replica_id()


def test_the_replica_name_from_the_file_or_the_environment(tmp_path: Path) -> None:
    text = '[cluster]\nreplica_id = "web-1"\nlease_seconds = 30\n'
    cluster = _load(tmp_path, text).cluster
    assert cluster is not None and cluster.resolved_id() == "web-1" and cluster.lease_seconds == 30
    env_cluster = _load(tmp_path, "", env={"DIANHUA_REPLICA_ID": "web-2"}).cluster
    assert env_cluster is not None and env_cluster.resolved_id() == "web-2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[cluster]\nlease_seconds = 0\n", "x.toml:2 cluster.lease_seconds: must be a number"),
        ("[cluster]\nlease_seconds = 0.5\n", "x.toml:2 cluster.lease_seconds: must be at least 1"),
        ('[cluster]\nreplica_id = "a b"\n', "x.toml:2 cluster.replica_id: letters, digits"),
        ("[cluster]\nlease_secnds = 5\n", "did you mean 'lease_seconds'?"),
    ],
)
def test_cluster_problems_name_file_line_and_field(tmp_path: Path, text: str,
                                                   expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert expected in str(info.value).replace(str(tmp_path) + "/", "")
