"""``dianhua model``: the registry — list, compare, promote, roll back, shadow."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import click

from bot.cli._common import plain_errors

registry_option = click.option(
    "--registry", type=click.Path(file_okay=False, path_type=Path), default=None,
    envvar="DIANHUA_MODELS", show_envvar=True, help="The model registry folder. Default: ./models.")


def _registry(path: Path | None) -> Any:
    from classifiers.registry import Registry

    return Registry(path)


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in a container: still log something
        return "unknown"


@click.group()
def model() -> None:
    """The model registry (models/<version>/): which model is live, and changing it safely.

    \b
    Typical loop:
      dianhua labels export
      dianhua train --add var/labels/labels.jsonl --add var/labels/implicit.jsonl
      dianhua model compare live <new version>
      dianhua model shadow <new version>      # optional: the daemon scores it too
      dianhua model promote <new version>     # the running daemon switches within seconds
    """


@model.command("list")
@registry_option
def list_cmd(registry: Path | None) -> None:
    """Every model in the registry, oldest first; * = live, s = shadow."""
    with plain_errors():
        reg = _registry(registry)
        live = reg.live_version()
        shadow = (reg.shadow() or {}).get("version")
        entries = reg.entries()
    click.echo(f"{'':2}{'version':30}{'created':22}{'train':>7}{'added':>7}{'test AP':>9}"
               f"{'rev.R':>7}{'auto.P':>8}")
    rows = [("bundled", reg.bundled)] + [(e.version, e.path) for e in entries]
    for version, _path in rows:
        try:
            card = reg.entry(version).card
        except Exception as exc:  # a broken entry is shown, not fatal
            click.echo(f"  {version:30}(unreadable: {exc})")
            continue
        test = (card.get("metrics") or {}).get("test") or {}
        added = ((card.get("training_data") or {}).get("added") or {}).get("train", 0)
        mark = ("*" if version == live else " ") + ("s" if version == shadow else " ")
        shown = version if version != "bundled" else f"bundled ({card.get('version', '')})"
        click.echo(f"{mark}{shown[:30]:30}{str(card.get('created_at', ''))[:19]:22}"
                   f"{(card.get('counts') or {}).get('train', {}).get('n', 0):>7}{added:>7}"
                   f"{test.get('average_precision', 0):>9.3f}"
                   f"{(test.get('review') or {}).get('recall', 0):>7.3f}"
                   f"{(test.get('auto') or {}).get('precision', 0):>8.3f}")
    click.echo(f"\nlive: {live}" + (f"; shadow: {shadow}" if shadow else "")
               + f"; registry {reg.root}")


def _compare_options(f: Any) -> Any:
    for opt in reversed([
        registry_option,
        click.option("--test", "test_file", type=click.Path(dir_okay=False, path_type=Path),
                     default=None, help="The authored test split. Default: data/test.jsonl."),
        click.option("--real", "real_files", multiple=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Real labels to score (repeatable). Default: the candidate's "
                          "held-out real_test.jsonl, if it has one."),
        click.option("--real-requests", type=click.Path(dir_okay=False, path_type=Path),
                     default=None, help="Default: ../shared/data/real-requests.jsonl "
                                        "($DIANHUA_REAL_REQUESTS); skipped if absent."),
        click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Where compare.json and the PNGs go. Default: "
                          "models/<B>/compare-<A>/ (for promote: B is VERSION, A the live model)."),
        click.option("--show", type=click.IntRange(0), default=20, show_default=True,
                     help="How many band changes to print."),
    ]):
        f = opt(f)
    return f


def _run_compare(reg: Any, a_name: str, b_name: str, test_file: Path | None,
                 real_files: tuple[Path, ...], real_requests: Path | None,
                 out_dir: Path | None) -> tuple[Any, list[Path]]:
    from classifiers.compare import compare, load_sets, real_requests_path, write
    from classifiers.paths import DATA_DIR
    from classifiers.persist import load_model

    a_entry, b_entry = reg.entry(a_name), reg.entry(b_name)
    a, b = load_model(a_entry.path), load_model(b_entry.path)
    reals = list(real_files)
    if not reals:
        held = b_entry.folder / "real_test.jsonl"
        if b_entry.version != "bundled" and held.is_file():
            reals = [held]
    test = test_file or DATA_DIR / "test.jsonl"
    sets, notes = load_sets(test, real_requests or real_requests_path(), reals)
    result = compare(a, b, sets, notes)
    if out_dir is None:
        base = b_entry.folder if b_entry.version != "bundled" else reg.root / "bundled-compare"
        out_dir = base / f"compare-{a_entry.version}"
    return result, write(result, out_dir)


@model.command("compare")
@click.argument("a")
@click.argument("b")
@_compare_options
def compare_cmd(a: str, b: str, registry: Path | None, test_file: Path | None,
                real_files: tuple[Path, ...], real_requests: Path | None, out_dir: Path | None,
                show: int) -> None:
    """Score models A and B (versions, `live` or `bundled`) on the same sets.

    Prints per slice recall at the review threshold and precision at the auto threshold (each
    model with its own thresholds), the comments that change band (numbers masked), and
    whether `promote B` would refuse. Writes compare.json and PNGs (PR curves, calibration,
    score histograms; both models on one axis).

    \b
    Example:
      dianhua model compare live 0.1.0+1a2b3c4d.s42
    """
    from classifiers.compare import render

    with plain_errors():
        result, paths = _run_compare(_registry(registry), a, b, test_file, real_files,
                                     real_requests, out_dir)
    click.echo(render(result, show))
    refusals = result.refusals()
    click.echo("")
    if refusals:
        click.echo("promote B would be REFUSED:")
        for r in refusals:
            click.echo(f"  {r}")
    else:
        click.echo("promote B would be allowed: no slice loses recall, no real request drops")
    click.echo(f"wrote {paths[0]} and {len(paths) - 1} PNGs in {paths[0].parent}")


@model.command("promote")
@click.argument("version")
@_compare_options
@click.option("--force", is_flag=True, help="Promote even if it loses a slice (needs --reason).")
@click.option("--reason", default="", help="Why (required with --force; logged).")
def promote(version: str, registry: Path | None, test_file: Path | None,
            real_files: tuple[Path, ...], real_requests: Path | None, out_dir: Path | None,
            show: int, force: bool, reason: str) -> None:
    """Make VERSION live after comparing it with the live model.

    Refused when VERSION catches fewer urgent comments at review than the live model on any
    slice, or drops a real request the live model catches below review — unless --force
    with --reason, which is logged in models/history.jsonl. The running daemon picks the
    new model up within seconds (no restart).
    """
    from loguru import logger

    from classifiers.compare import render

    if force and not reason.strip():
        raise click.UsageError("--force needs --reason \"why\" (it is logged)")
    with plain_errors():
        reg = _registry(registry)
        live = reg.live_version()
        if version == live:
            raise click.ClickException(f"{version} is already live")
        from bot.errors import ModelError

        reg.entry(version)  # the candidate must exist, whatever happens to the live one
        try:
            result, _paths = _run_compare(reg, live, version, test_file, real_files,
                                          real_requests, out_dir)
        except ModelError as exc:
            if not force:
                raise click.ClickException(
                    f"cannot compare {version} with the live model {live}: {exc}\n"
                    "(replace it anyway with --force --reason \"…\"; it is logged)") from exc
            refusals = [f"no comparison: {exc}"]
        else:
            click.echo(render(result, show))
            refusals = result.refusals()
        if refusals and not force:
            click.echo("")
            raise click.ClickException(
                f"refusing to promote {version}: it is worse than the live model {live}:\n"
                + "\n".join(f"  {r}" for r in refusals)
                + "\n(promote anyway with --force --reason \"…\"; it is logged)")
        record = reg.set_live(version, by=_who(), reason=reason.strip(), forced=bool(refusals))
        if refusals:
            logger.warning("model {} promoted over refusals by {}: {} ({})", version,
                           record["by"], reason, "; ".join(refusals))
    click.echo(f"\npromoted {version} (was {record['previous']})"
               + (" with --force: " + reason if refusals else "")
               + f"; recorded in {reg.root / 'live.json'}; the daemon switches within seconds")


@model.command("rollback")
@registry_option
@click.option("--reason", default="", help="Why (logged).")
def rollback(registry: Path | None, reason: str) -> None:
    """Make the previously live model live again (no gate: it was live before)."""
    with plain_errors():
        record = _registry(registry).rollback(by=_who(), reason=reason)
    click.echo(f"rolled back: {record['previous']} → {record['version']}")


@model.command("lean")
@click.argument("version", required=False, default="bundled")
@registry_option
def lean_cmd(version: str, registry: Path | None) -> None:
    """Write VERSION's lean file (urgent.lean.npz) from its skops file and pin it in its card.

    VERSION: a registry version, `live` or `bundled` (the default). The lean file holds the
    fitted arrays scoring needs (no code, nothing pickled); with it `dianhua classify` and the
    daemon load the model without scikit-learn or scipy, seconds sooner, with the same scores.
    `dianhua train` writes it; this is for models saved before it did. The skops file is not
    changed.
    """
    from classifiers.paths import card_path_for
    from classifiers.persist import write_lean

    with plain_errors():
        entry = _registry(registry).entry(version)
        written = write_lean(entry.path)
    if written is None:
        raise click.ClickException(f"{entry.version}: the model's shape is not one the lean file "
                                   "describes; it loads from its skops file")
    click.echo(f"wrote {written} ({written.stat().st_size:,} bytes) and pinned it in "
               f"{card_path_for(entry.path)}")


@model.command("shadow")
@click.argument("version", required=False)
@registry_option
@click.option("--off", is_flag=True, help="Stop shadowing.")
def shadow(version: str | None, registry: Path | None, off: bool) -> None:
    """Have the daemon also score every new comment with VERSION, without acting on it.

    The desk's model page lists the disagreements (comments the two models put in different
    bands) for editors to label first.
    """
    if off == (version is not None):
        raise click.UsageError("give a VERSION or --off")
    with plain_errors():
        record = _registry(registry).set_shadow(None if off else version, by=_who())
    click.echo("shadow off" if record is None else
               f"shadowing {record['version']}: the daemon scores new comments with it too")


__all__ = ["model"]
