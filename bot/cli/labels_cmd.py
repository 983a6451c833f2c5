"""``dianhua labels export``: the editors' labels (and implicit positives) as training files."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli._common import DB_HELP, DatabaseParam, config_option, load, plain_errors
from bot.config import store_target


@click.group()
def labels() -> None:
    """Export what the editors taught the desk, for `dianhua train --add`."""


@labels.command("export")
@config_option
@click.option("--db", type=DatabaseParam(), default=None,
              help=DB_HELP)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("var/labels"), show_default=True,
              help="Where labels.jsonl, implicit.jsonl and conflicts.jsonl go.")
def export(config_path: Path | None, db: Path | None, out_dir: Path) -> None:
    """Write the editors' labels and the implicit positives as corpus JSON Lines.

    labels.jsonl: every comment an editor marked urgent / not urgent (category as corrected);
    implicit.jsonl: comments whose case was resolved and that nobody marked (implicit: true);
    conflicts.jsonl: comments two editors marked differently (left out of labels.jsonl).
    Phone and ID numbers are masked; each row carries account, date, editor, and the model
    version and score at the time.

    \b
    Example:
      dianhua labels export --config dianhua.toml --out-dir var/labels
      dianhua train --add var/labels/labels.jsonl --add var/labels/implicit.jsonl
    """
    from bot.labels import export_labels
    from bot.store import Store

    with plain_errors():
        path = db or store_target(load(config_path))
        store = Store(path, must_exist=True)
        try:
            result = export_labels(store)
        finally:
            store.close()
        paths = result.write(out_dir)
    urgent = sum(r["urgent"] for r in result.labels)
    click.echo(f"{len(result.labels)} editors' labels ({urgent} urgent, "
               f"{len(result.labels) - urgent} not) → {paths['labels']}")
    click.echo(f"{len(result.implicit)} implicit positives (resolved cases nobody marked) → "
               f"{paths['implicit']}")
    if result.conflicts:
        n = len(result.conflicts)
        click.echo(f"{n} conflict{'s' if n != 1 else ''} (editors disagree; left out) → "
                   f"{paths['conflicts']}:")
        for c in result.conflicts:
            marks = ", ".join(f"{m['editor']}: {'urgent' if m['urgent'] else 'not urgent'}"
                              for m in c["marks"])
            click.echo(f"  {c['id']}  {marks}  {c['text'][:40]}")
    else:
        click.echo("no conflicts between editors")
    if result.category_only or result.unknown_category:
        click.echo(f"not exported: {result.category_only} with a category correction only, "
                   f"{result.unknown_category} without a known category")
