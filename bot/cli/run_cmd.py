"""``dianhua run`` and ``dianhua config check``."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli._common import config_option, load, plain_errors
from bot.store.engine import redact_url


@click.command()
@config_option
@click.option("--once", is_flag=True, help="Do one round of every job and exit (for cron or checks).")
def run(config_path: Path | None, once: bool) -> None:
    """Run the daemon: poll, classify, apply rules, reply once, follow cases.

    Stops cleanly on SIGTERM or Ctrl-C (the job in hand finishes first).
    """
    import threading

    from bot import logs
    from bot.daemon import install_signal_handlers

    stop = threading.Event()
    install_signal_handlers(stop)  # before the slow imports: a SIGTERM now still exits cleanly
    with plain_errors():
        config = load(config_path)
        logs.setup(level=config.log_level, file=config.log_file, rotation=config.log_rotation,
                   retention=config.log_retention)
        from bot.daemon import Daemon

        daemon = Daemon(config)
        if once:
            daemon.discover()
            daemon.tick()
            daemon.shutdown()
            return
        daemon.run_forever(stop)


@click.group()
def config() -> None:
    """Check the daemon's configuration."""


@config.command("check")
@config_option
def config_check(config_path: Path | None) -> None:
    """Validate the configuration, the rules file it names and the model; exit 1 on any problem."""
    from bot.errors import ConfigError, ModelError, RulesError

    problems: list[str] = []
    try:
        cfg = load(config_path)
    except ConfigError as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        raise SystemExit(1) from exc
    click.echo(f"config {cfg.source}: ok ({len(cfg.accounts)} account(s), database {redact_url(cfg.db_url) if cfg.db_url else cfg.db})")
    try:
        from bot.rules import load_rules

        rs = load_rules(cfg.rules)
        click.echo(f"rules {cfg.rules}: ok (version {rs.version})")
        problems.extend(_robot_problems(cfg, sorted(getattr(rs, "groups", {}) or {})))
    except RulesError as exc:
        problems.extend(str(p) for p in exc.problems)
        problems.extend(_robot_problems(cfg, []))
    try:
        from classifiers import load_model

        path = cfg.model
        if cfg.model_registry is not None:  # a promoted model (models/live.json) goes first
            from classifiers.registry import Registry

            path = Registry(cfg.model_registry, bundled=cfg.model).live_path() \
                if (cfg.model_registry / "live.json").is_file() else cfg.model
        model = load_model(path)
        click.echo(f"model: ok (version {model.version})")
    except ModelError as exc:
        problems.append(f"model: {exc}")
    for line in problems:
        click.echo(line, err=True)
    if problems:
        raise SystemExit(1)


def _robot_problems(cfg: object, rule_groups: list[str]) -> list[str]:
    """A duty group without a robot key is a problem (nobody can be told anything); a rules
    group without one is a loud warning (its notifications go to the duty group)."""
    from bot.config import Config

    assert isinstance(cfg, Config)
    duty = cfg.cases.duty_group
    keyed = {name for name, group in cfg.groups.items() if group.key}
    where = f"{cfg.source} wecom.groups.{duty}"
    if duty not in keyed:
        return [f"{where}: the duty group {duty!r} has no robot key, so every notification to "
                "a group without its own key fails and nobody is told. Fix: set "
                f"DIANHUA_WECOM_KEY_{duty.upper()}=<key> in the environment (or "
                f'[wecom.groups] {duty} = "<key>")']
    for name in rule_groups:
        if name not in keyed and name != duty:
            click.secho(f"WARNING: group {name!r} in the rules has no robot key: its "
                        f"notifications go to the duty group {duty!r} instead. Fix: set "
                        f"DIANHUA_WECOM_KEY_{name.upper()}=<key>", err=True, fg="yellow",
                        bold=True)
    return []
