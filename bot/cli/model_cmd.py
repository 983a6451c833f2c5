"""``dianhua train``, ``dianhua eval`` and ``dianhua classify``: the classifier's commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

from bot import pii
from bot.cli._common import counted
from bot.errors import DianhuaError

_MODEL_HELP = "Model file (.skops, its card beside it). Default: the bundled model."


@contextmanager
def _plain_errors() -> Iterator[None]:
    """dianhua's errors as one plain message and exit status 1, never a traceback."""
    try:
        yield
    except DianhuaError as exc:
        raise click.ClickException(pii.mask(str(exc))) from exc


def _setup_logs(verbose: bool, quiet: bool = False) -> None:
    from bot.logs import setup

    setup(level="DEBUG" if verbose else "WARNING" if quiet else "INFO")


def _metrics_table(metrics: dict[str, Any], thresholds: dict[str, float]) -> str:
    from classifiers.evaluate import render

    report = {"model_version": "", "thresholds": thresholds, "model": metrics}
    return render(report).split("\n", 1)[1].strip("\n")


@click.command(name="train")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder with train/valid/test.jsonl. Default: the repo's data/.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="A side model: write urgent.skops + card (and plots) to this folder. "
                   "Default: a new models/<version>/ in the registry.")
@click.option("--registry", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="DIANHUA_MODELS", show_envvar=True,
              help="The model registry folder. Default: ./models.")
@click.option("--replace-bundled", is_flag=True,
              help="Overwrite classifiers/bundled/ (the previous model is kept in "
                   "classifiers/bundled/previous/); with --resplit, rewrite DATA/*.jsonl.")
@click.option("--add", "add_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Real labels (from `dianhua labels export`) to train on too; repeatable. "
                   "Editors' labels weigh --add-weight, implicit positives 1; the newest 20% of "
                   "editors' labels are held out as a real-comment test set.")
@click.option("--add-weight", type=click.FloatRange(0.1, 100), default=2.0, show_default=True,
              help="Weight of one editor's label relative to one authored comment.")
@click.option("--seed", type=int, default=42, show_default=True,
              help="Seed; the same data and seed give the same predictions.")
@click.option("--resplit", is_flag=True,
              help="First rebuild train/valid/test.jsonl from DATA/corpus/*.jsonl "
                   "(dedupe + stratified split) into the model's folder (split/), or into DATA "
                   "with --replace-bundled. Changes the test split: use only when the corpus "
                   "changed.")
@click.option("--extend-split", "extend", is_flag=True,
              help="First add the comments of DATA/corpus/*.jsonl that are not yet in the "
                   "split, by the same rule, keeping every existing row in its split (the "
                   "authored test rows stay the test rows); written like --resplit.")
@click.option("--quick", is_flag=True,
              help="Tiny-data settings (min_df 1, 3 calibration folds): for tests and trials "
                   "on small files, not for production.")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def train(data_dir: Path | None, out: Path | None, registry: Path | None,
          replace_bundled: bool, add_files: tuple[Path, ...], add_weight: float, seed: int,
          resplit: bool, extend: bool, quick: bool, verbose: bool) -> None:
    """Train the urgent model and category head; choose thresholds on valid; report test.

    The new model goes to the registry (models/<version>/) unless --out names a side folder;
    nothing in the checkout changes unless --replace-bundled is given.

    \b
    Example:
      dianhua train                              # data/ → models/<version>/
      dianhua train --add var/labels/labels.jsonl --add var/labels/implicit.jsonl
      dianhua train --out /tmp/m --seed 7        # a side model
      dianhua train --replace-bundled            # → classifiers/bundled/ (old one kept)
      dianhua train --extend-split --replace-bundled  # new corpus parts appended to data/
    """
    _setup_logs(verbose)
    if out is not None and replace_bundled:
        raise click.UsageError("--out and --replace-bundled exclude each other")
    from classifiers.paths import DATA_DIR

    data = data_dir or DATA_DIR
    if resplit and extend:
        raise click.UsageError("give --resplit or --extend-split, not both")
    with _plain_errors():
        result, where = _train_to(data, out, registry, replace_bundled, add_files, add_weight,
                                  seed, resplit, quick, extend)
    card = result.model.card
    test = card["metrics"]["test"]
    click.echo(f"\nmodel {card['version']} → {result.model_path}")
    click.echo(f"thresholds: review {card['thresholds']['review']:.4f}, "
               f"auto {card['thresholds']['auto']:.4f} (chosen on the validation split)")
    for note in card.get("threshold_notes", []):
        click.echo(f"note: {note}")
    click.echo(f"test split ({test['n']} comments, {test['urgent']} urgent), "
               f"average precision {test['average_precision']}:")
    click.echo(_metrics_table(test, card["thresholds"]))
    click.echo(f"category accuracy on test {test['category_accuracy']:.3f}")
    real = card["metrics"].get("real_test")
    if real:
        click.echo(f"real-comment test set (newest labels, {real['n']} comments, "
                   f"{real['urgent']} urgent): review recall {real['review']['recall']:.3f}, "
                   f"auto precision {real['auto']['precision']:.3f}")
    cal = card.get("calibration") or {}
    if cal:
        click.echo(f"calibration: {cal['method']}, {cal['folds']}; expected calibration error "
                   f"held-out writers {cal['held_out_writers_ece']}, validation "
                   f"{cal['validation_ece']}, test {cal['test_ece']}")
    click.echo(f"plots: {result.model_path.parent / 'plots' if result.model_path else '-'}")
    if where == "registry":
        click.echo(f"next: dianhua model compare live {card['version']}  "
                   f"# then: dianhua model promote {card['version']}")


def _train_to(data: Path, out: Path | None, registry: Path | None, replace_bundled: bool,
              add_files: tuple[Path, ...], add_weight: float, seed: int, resplit: bool,
              quick: bool, extend: bool = False) -> tuple[Any, str]:
    """Train into the registry, a side folder or (explicitly) the bundled folder."""
    import shutil
    import tempfile

    from loguru import logger

    from classifiers.added import read_added, split_added, weight_of
    from classifiers.features import FeatureParams
    from classifiers.lean_file import lean_path_for
    from classifiers.paths import BUNDLED_DIR, CARD_FILE, MODEL_FILE, USERDICT
    from classifiers.registry import Registry
    from classifiers.train import TrainParams, load_splits
    from classifiers.train import train as run_train

    reg = Registry(registry)
    if replace_bundled:
        where, folder = "bundled", BUNDLED_DIR
    elif out is not None:
        where, folder = "out", (out.parent if out.suffix == ".skops" else out)
    else:
        reg.root.mkdir(parents=True, exist_ok=True)
        where, folder = "registry", Path(tempfile.mkdtemp(prefix=".training-", dir=reg.root))
    try:
        split_dir = data
        if resplit or extend:
            from classifiers.dataset import SPLITS, build_splits, extend_splits

            sources = sorted((data / "corpus").glob("*.jsonl"))
            if not sources:
                raise click.ClickException(f"no corpus files in {data / 'corpus'}")
            split_dir = data if where == "bundled" else folder / "split"
            if extend and split_dir != data:  # a side model never touches data/
                split_dir.mkdir(parents=True, exist_ok=True)
                for name in SPLITS:
                    if (data / f"{name}.jsonl").is_file():
                        shutil.copy2(data / f"{name}.jsonl", split_dir / f"{name}.jsonl")
            logger.info("[split] {} corpus files → {}", len(sources), split_dir)
            summary = (extend_splits if extend else build_splits)(sources, split_dir, seed=seed)
            logger.info("[split] {}", json.dumps(summary, ensure_ascii=False))
        userdict = data / "userdict.txt" if (data / "userdict.txt").is_file() else USERDICT
        added: list[Any] = []
        real: list[Any] = []
        if add_files:
            rows, problems = read_added(list(add_files))
            if problems:
                click.echo(f"--add: skipped {len(problems)} bad lines (first: {problems[0]})",
                           err=True)
            splits = load_splits(split_dir)
            parts = split_added(rows, [*splits["valid"], *splits["test"]])
            click.echo(f"--add: {len(rows)} labels read; {parts.leaked} dropped (same text as a "
                       f"validation/test comment), {parts.duplicates} duplicates, "
                       f"{parts.conflicts} in conflict dropped; {len(parts.train)} train, "
                       f"{len(parts.real_test)} newest held out as the real-comment test set",
                       err=True)
            added, real = parts.train, parts.real_test
        if where == "bundled" and (BUNDLED_DIR / MODEL_FILE).is_file():
            keep = BUNDLED_DIR / "previous"
            keep.mkdir(exist_ok=True)
            lean = lean_path_for(BUNDLED_DIR / MODEL_FILE).name
            (keep / lean).unlink(missing_ok=True)  # an older model's: not this one's
            for name in (MODEL_FILE, CARD_FILE, lean):
                if (BUNDLED_DIR / name).is_file():
                    shutil.copy2(BUNDLED_DIR / name, keep / name)
            logger.info("kept the previous bundled model in {}", keep)
        params = (TrainParams(features=FeatureParams(min_df=1), calibration_folds=3)
                  if quick else None)
        steps = iter(range(1, 100))
        result = run_train(
            split_dir, folder if out is None or out.suffix != ".skops" else out, seed=seed,
            params=params, userdict=userdict,
            progress=lambda msg: logger.info("[train {}] {}", next(steps), msg),
            added=[a.example for a in added],
            added_weights=[weight_of(a, add_weight) for a in added],
            added_files=list(add_files), real_test=[a.example for a in real],
        )
        if real:
            assert result.model_path is not None
            with (result.model_path.parent / "real_test.jsonl").open("w", encoding="utf-8") as fh:
                for a in real:
                    row = json.loads(a.example.to_json())
                    row["date"] = a.date
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        if where == "registry":
            version = result.model.version
            target = reg.adopt(folder, version)
            from classifiers.persist import load_model

            result.model_path = target / MODEL_FILE
            result.card_path = target / CARD_FILE
            load_model(result.model_path)  # what was written loads back
        return result, where
    finally:
        if where == "registry" and folder.exists():
            shutil.rmtree(folder, ignore_errors=True)


def _shared_file(name: str) -> Path:
    """``../shared/data/<name>`` next to the repository (or next to a folder above it)."""
    from classifiers.paths import REPO_DIR

    for base in (REPO_DIR.parent, *REPO_DIR.parent.parents):
        candidate = base / "shared" / "data" / name
        if candidate.is_file():
            return candidate
    return REPO_DIR.parent / "shared" / "data" / name


@click.command(name="eval")
@click.option("--data", "data_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="One JSONL with `text` and `urgent` (`category`, `tags`, `id` optional): the "
                   "full report of that file. Without it: the slices report.")
@click.option("--test", "test_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Slices: the authored test split. Default: data/test.jsonl.")
@click.option("--real", "real_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None,
              help="Slices: real requests. Default: ../shared/data/real-requests.jsonl.")
@click.option("--weibo", "weibo_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Slices: real posts. Default: ../shared/data/weibo-dev.jsonl.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None,
              help=_MODEL_HELP)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the JSON report and the PNGs go. Default: var/eval/<file name>/ "
                   "(slices: var/eval/slices/).")
@click.option("--keywords", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Keyword baseline list. Default: data/keywords_baseline.txt.")
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def eval_cmd(data_file: Path | None, test_file: Path | None, real_file: Path | None,
             weibo_file: Path | None, model_path: Path | None, out_dir: Path | None,
             keywords: Path | None, batch_size: int, verbose: bool) -> None:
    """Evaluate the model on labeled comments.

    Without --data: the slices report. The authored test split, the real requests
    (every one should reach review, the three Shenzhen ones auto), real Weibo posts, and
    per-frame slices of the test split read from its tags (question-framed urgent comments,
    reported speech and news). Per set: AP, recall and precision at both thresholds,
    expected calibration error; small sets row by row. A set whose file is missing is
    reported as skipped. Writes slices.json and reliability.png.

    With --data FILE: that file's full report. Precision, recall, F1 at both thresholds,
    confusion counts, per-tag breakdown, the keyword baseline, calibration error, a
    precision-recall curve and a reliability diagram (PNGs).

    \b
    Example:
      dianhua eval                                   # slices → var/eval/slices/
      dianhua eval --real my-real.jsonl --weibo none.jsonl
      dianhua eval --data data/test.jsonl
      dianhua eval --data ../shared/data/weibo-dev.jsonl --out-dir var/eval/weibo
    """
    _setup_logs(verbose)
    if data_file is None:
        _eval_slices(test_file, real_file, weibo_file, model_path, out_dir, batch_size)
        return
    from loguru import logger

    from classifiers import KeywordBaseline, load_model
    from classifiers.calibration import reliability_png
    from classifiers.dataset import read_jsonl
    from classifiers.evaluate import evaluate, pr_curve_png, render, write_report

    with _plain_errors():
        try:
            baseline = KeywordBaseline.load(keywords)
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"--keywords {keywords}: not UTF-8 text (byte {exc.start}); "
                                       "it should be one keyword a line") from None
        except OSError as exc:
            raise click.ClickException(f"--keywords {keywords}: cannot be read "
                                       f"({exc.strerror or type(exc).__name__})") from None
        model = load_model(model_path)
        rows, problems = read_jsonl(data_file)
        if not rows:
            raise click.ClickException(f"{data_file}: no valid lines ({len(problems)} bad)")
        logger.info("evaluating {} comments from {}", len(rows), data_file)
        report = evaluate(model, rows, baseline=baseline, batch_size=batch_size)
        target = out_dir or Path("var") / "eval" / data_file.stem
        metrics_path = write_report(report, target)
        labels = [r.urgent for r in rows]
        png = pr_curve_png(
            labels, report["_scores"], target / "pr_curve.png",
            thresholds=model.thresholds, baseline_scores=report["_baseline_scores"],
            title=f"{data_file.name}: precision-recall", auto_scores=report["_auto_scores"],
        )
        rel = reliability_png({data_file.name: (labels, report["_scores"])},
                              target / "reliability.png",
                              title=f"{data_file.name}: reliability ({model.version})")
    if problems:
        click.echo(f"skipped {len(problems)} bad lines (see warnings above)")
    click.echo(render(report))
    click.echo(f"\nwrote {metrics_path}, {png} and {rel}")


REAL_MUST_REACH_AUTO = ("real-001", "real-002", "real-003")  # the Shenzhen comments
ROUND_3_WRITERS = ("ca", "cb", "cc", "cd", "ce", "cf", "cg", "ch", "ci")


def _rounds_1_to_3(test_path: Path) -> Any:
    """The test rows of parts a–i: the round-3 test split, comparable across rounds."""
    from classifiers.dataset import read_jsonl, writer_of
    from classifiers.evaluate import EvalSet

    name = "authored test, a–i"
    if not test_path.is_file():
        return EvalSet(name, test_path)
    rows, _ = read_jsonl(test_path)
    return EvalSet(name, test_path, rows=[r for r in rows if writer_of(r.id) in ROUND_3_WRITERS])


def _test_split_sets(test_path: Path) -> list[Any]:
    """The test split's authored comments, and apart from them its real ones (tag ``real``)."""
    from classifiers.dataset import read_jsonl
    from classifiers.evaluate import EvalSet

    if not test_path.is_file():
        return [EvalSet("authored test", test_path)]
    rows, _ = read_jsonl(test_path)
    real = [r for r in rows if "real" in r.tags]
    sets = [EvalSet("authored test", test_path, rows=[r for r in rows if "real" not in r.tags])]
    if real:
        sets.append(EvalSet("test split, real text", test_path, rows=real))
    return sets


def _eval_slices(test_file: Path | None, real_file: Path | None, weibo_file: Path | None,
                 model_path: Path | None, out_dir: Path | None, batch_size: int) -> None:
    from classifiers import load_model
    from classifiers.calibration import reliability_png
    from classifiers.evaluate import EvalSet, evaluate_slices, render_slices, write_slices
    from classifiers.paths import DATA_DIR

    test_path = test_file or DATA_DIR / "test.jsonl"
    sets = [
        *_test_split_sets(test_path),
        _rounds_1_to_3(test_path),
        EvalSet("real requests", real_file or _shared_file("real-requests.jsonl"),
                must_reach_auto=REAL_MUST_REACH_AUTO),
        EvalSet("weibo-dev", weibo_file or _shared_file("weibo-dev.jsonl")),
        EvalSet("real news, dev", DATA_DIR / "eval" / "real-news-dev.jsonl"),
        EvalSet("real news, held out", DATA_DIR / "eval" / "real-news-heldout.jsonl"),
        EvalSet("real help, dev", DATA_DIR / "eval" / "real-help-dev.jsonl"),
        EvalSet("real help, held out", DATA_DIR / "eval" / "real-help-heldout.jsonl"),
    ]
    with _plain_errors():
        model = load_model(model_path)
        report = evaluate_slices(model, sets, frames_of="authored test", batch_size=batch_size)
        target = out_dir or Path("var") / "eval" / "slices"
        path = write_slices(report, target)
        curves = {name: (e["_labels"], e["_scores"]) for name, e in report["sets"].items()
                  if "_scores" in e and 0 < e["urgent"] < e["n"]}
        written = [str(path)]
        if curves:
            written.append(str(reliability_png(curves, target / "reliability.png",
                                               title=f"reliability ({model.version})")))
    click.echo(render_slices(report))
    click.echo(f"\nwrote {' and '.join(written)}")


def _jsonl_in(path: Path | None) -> IO[str]:
    if path is None or str(path) == "-":
        return sys.stdin
    return path.open(encoding="utf-8", errors="replace")


def _record(ident: Any, pred: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "urgent_score": round(pred.score, 6),
        "urgent": pred.urgent,
        "auto": pred.auto,
        "band": pred.band,
        "category": pred.category,
        "category_score": round(pred.category_score, 6),
        "top_terms": [[t, w] for t, w in pred.top_terms],
        "voice": None if pred.voice is None else round(pred.voice, 6),
        "capped": pred.capped,
        "model_version": pred.model_version,
    }


@click.command(name="classify")
@click.argument("text", required=False)
@click.option("--input", "input_path",
              type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
              default=None, help="JSONL with `text` (and `id`) per line; `-` for stdin.")
@click.option("--output", "output_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Where the JSONL results go (default: stdout).")
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None,
              help=_MODEL_HELP)
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
def classify(text: str | None, input_path: Path | None, output_path: Path | None,
             model_path: Path | None, batch_size: int) -> None:
    """Classify one TEXT (prints JSON) or stream a JSONL file in batches.

    Each result: id, urgent_score, urgent (score ≥ review), auto (score ≥ auto and the
    voice head does not read a report), band, category, category_score, top_terms ([term,
    weight], + raised the score, − lowered it), voice (probability the comment is a report,
    retelling or commentary), capped (why `auto` was held at `review`, else empty).

    \b
    Example:
      dianhua classify "老婆见红了，医院要核酸报告，结果还没出"
      dianhua classify --input comments.jsonl --output scored.jsonl
    """
    if (text is None) == (input_path is None):
        raise click.UsageError("give either TEXT or --input FILE (not both)")
    _setup_logs(False, quiet=True)
    from classifiers import load_model

    if output_path is not None and str(output_path) != "-" and not output_path.parent.is_dir():
        raise click.BadParameter(f"{output_path}: the folder {output_path.parent} does not exist",
                                 param_hint="--output")
    with _plain_errors():
        model = load_model(model_path)
    if text is not None:
        pred = model.predict(text)
        click.echo(json.dumps(_record(None, pred), ensure_ascii=False))
        return
    try:
        out: IO[str] = (
            output_path.open("w", encoding="utf-8")
            if output_path is not None and str(output_path) != "-" else sys.stdout
        )
    except OSError as exc:
        raise click.BadParameter(f"{output_path}: cannot be written "
                                 f"({exc.strerror or type(exc).__name__})",
                                 param_hint="--output") from None
    from classifiers import use_batch_memos

    use_batch_memos()  # a file's comments repeat; this process ends when the file does
    n = bad = 0
    try:
        with _plain_errors(), _jsonl_in(input_path) as fh:
            for batch in _batches(fh, batch_size):
                good = [(i, t) for i, t, err in batch if err is None]
                preds = iter(model.predict_many([t for _, t in good], batch_size=batch_size))
                for ident, _text, err in batch:
                    if err is not None:
                        bad += 1
                        out.write(json.dumps({"id": ident, "error": err}, ensure_ascii=False)
                                  + "\n")
                    else:
                        out.write(json.dumps(_record(ident, next(preds)), ensure_ascii=False)
                                  + "\n")
                    n += 1
                out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    click.echo(f"classified {counted(n - bad, 'comment')}"
               + (f", {counted(bad, 'bad line')}" if bad else ""),
               err=True)


def _batches(fh: IO[str], size: int) -> Iterator[list[tuple[Any, str, str | None]]]:
    """``(id, text, error)`` per non-blank line, ``size`` at a time; ids default to line numbers.

    Lines are bounded (bot/limits.py): a line too long or nested too deep is an error row.
    """
    from bot.limits import lines

    batch: list[tuple[Any, str, str | None]] = []
    for lineno, raw, problem in lines(fh, name=str(getattr(fh, "name", "input"))):
        if raw is not None and not raw.strip():
            continue
        batch.append(_parse_line(lineno, raw, problem))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _parse_line(lineno: int, raw: str | None, problem: str | None) -> tuple[Any, str, str | None]:
    from bot.limits import loads

    if raw is None:
        return lineno, "", f"line {lineno}: {problem}"
    try:
        row = loads(raw)
    except json.JSONDecodeError as exc:
        return lineno, "", f"line {lineno}: not valid JSON ({exc.msg})"
    except ValueError as exc:
        return lineno, "", f"line {lineno}: not usable JSON ({exc})"
    if isinstance(row, str):
        row = {"text": row}
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        return lineno, "", f"line {lineno}: needs a string field `text`"
    ident = row.get("id", lineno)
    if isinstance(ident, str):
        ident = pii.mask(ident)
    return ident, row["text"], None


__all__ = ["classify", "eval_cmd", "train"]
