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


class DatabaseParam(click.ParamType):
    """``--db``: a SQLite file (a ``Path``) or a ``postgresql://`` URL (kept as text)."""

    name = "FILE|URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Path):
            return value
        text = str(value)
        if text.startswith(("postgresql://", "postgres://")):
            return text
        if Path(text).expanduser().is_dir():
            self.fail(f"{text} is a folder, not a database file", param, ctx)
        return Path(text).expanduser()


DB_HELP = "SQLite file or postgresql:// URL (default: from the configuration)."


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


def utf8_text(value: str, what: str) -> str:
    """``value`` if it is real text; a plain error when the shell handed us bytes that are not
    UTF-8 (Python keeps them as surrogates, which fail later, deep inside, with a traceback)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise click.BadParameter(f"{what} is not valid UTF-8 text; check the terminal's encoding "
                                 "(LANG=C.UTF-8) or the file it came from") from None
    return value


def stdin_line(what: str) -> str:
    """The first line of standard input as UTF-8 text, or a plain error."""
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return utf8_text(sys.stdin.readline().rstrip("\r\n"), what)
    raw = stream.readline().rstrip(b"\r\n")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise click.BadParameter(f"{what} on standard input is not UTF-8 text") from None


def counted(n: int, noun: str) -> str:
    """``1 comment``, ``2 comments`` (English plurals for the few nouns the CLI counts)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def load(config_path: Path | None) -> Any:
    from bot.config import load_config

    return load_config(config_path)


__all__ = ["config_option", "counted", "load", "plain_errors", "stdin_line", "utf8_text"]
