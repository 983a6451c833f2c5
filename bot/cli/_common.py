"""Helpers shared by the command modules: loading config, turning errors into plain words."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.errors import DianhuaError, ModelError, RulesError

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    envvar="DIANHUA_CONFIG", show_envvar=True,
    help="TOML configuration file. Without it: the local mock, var/dianhua.db, ./rules.yaml "
         "and the bundled model.",
)


@contextmanager
def plain_errors() -> Iterator[None]:
    """Show dianhua's errors as plain messages (exit 1), never as tracebacks."""
    try:
        yield
    except RulesError as exc:
        raise click.ClickException("rules.yaml has problems:\n" + "\n".join(
            f"  {p}" for p in exc.problems)) from exc
    except ModelError as exc:
        raise click.ClickException(f"model: {exc}") from exc
    except DianhuaError as exc:
        raise click.ClickException(str(exc)) from exc


def counted(n: int, noun: str) -> str:
    """``1 comment``, ``2 comments`` (English plurals for the few nouns the CLI counts)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def load(config_path: Path | None) -> Any:
    from bot.config import load_config

    return load_config(config_path)


__all__ = ["config_option", "counted", "load", "plain_errors"]
