"""The ``dianhua`` command line. Each command group lives in its own module here.

loguru is configured once, here, by :func:`bot.logs.setup` (called from each command that
runs for long); library modules only ``from loguru import logger``.
"""

from __future__ import annotations

import importlib

import click

from bot import __version__

# name -> "module:attribute"; loaded lazily so `dianhua --help` stays fast.
_COMMANDS: dict[str, str] = {
    "mock": "bot.cli.mock_cmd:mock",
    "train": "bot.cli.model_cmd:train",
    "eval": "bot.cli.model_cmd:eval_cmd",
    "classify": "bot.cli.model_cmd:classify",
    "rules": "bot.cli.rules_cmd:rules",
    "run": "bot.cli.run_cmd:run",
    "demo": "bot.cli.demo_cmd:demo",
    "config": "bot.cli.run_cmd:config",
    "cases": "bot.cli.cases_cmd:cases",
    "web": "bot.cli.web_cmd:web",
    "users": "bot.cli.web_cmd:users",
    "accounts": "bot.cli.accounts_cmd:accounts",
    "labels": "bot.cli.labels_cmd:labels",
    "model": "bot.cli.registry_cmd:model",
    "report": "bot.cli.report_cmd:report",
    "purge": "bot.cli.purge_cmd:purge",
}

_HELP: dict[str, str] = {
    "mock": "Run the local mock of the WeChat official-account API.",
    "train": "Train the urgent-request classifier from data/.",
    "eval": "Evaluate the classifier on a labeled JSONL file.",
    "classify": "Classify a text or a JSONL file.",
    "rules": "Check, test and backtest rules.yaml.",
    "run": "Run the daemon: poll, classify, apply rules, reply, follow cases.",
    "demo": "Start the mock, replay the demo scenario and run the daemon against it.",
    "config": "Check the daemon's configuration.",
    "cases": "List, show and work cases.",
    "web": "Serve the editors' desk on its own.",
    "users": "Manage the editors who can sign in to the desk.",
    "accounts": "Show watched and paused accounts; resume a paused one.",
    "labels": "Export the editors' labels for retraining.",
    "model": "The model registry: list, compare, promote, roll back, shadow.",
    "report": "Report a period: numbers, times, plots (HTML, Markdown or JSON).",
    "purge": "Delete personal data past its retention period ([retention]).",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise

            @click.command(name=cmd_name, help=_HELP.get(cmd_name, "") + " (not built yet)")
            def _missing() -> None:
                raise click.ClickException(f"'dianhua {cmd_name}' is not available in this build")

            return _missing
        cmd = getattr(module, attr)
        assert isinstance(cmd, click.Command)
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dianhua")
@click.option("--log-level", default="WARNING", show_default=True, envvar="DIANHUA_LOG_LEVEL",
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
              help="How much to log on standard error (`run` takes its level from the config).")
def main(log_level: str) -> None:
    """dianhua (电话): answer urgent medical requests in an official account's comments.

    Start with `dianhua demo`, or `dianhua run --config dianhua.toml` for the real thing.
    """
    from bot import logs
    from bot.files import private_umask

    private_umask()  # database, WAL, logs and exports: owner only (0600 / 0700)
    logs.setup(level=log_level.upper())  # personal data masked on every sink, from the start


__all__ = ["main"]
