"""Real labels added to training (``dianhua train --add FILE``): read, guard, split by date.

The files are what ``dianhua labels export`` writes: the corpus format (``id``, ``text``,
``urgent``, ``category``, ``tags``) plus provenance (``date``, ``account``, ``editor``,
``model_version``, ``score``) and ``implicit: true`` on implicit positives.

Rules (see docs/training.md, "the analysts' loop"):

* **Never in the fixed test split.** Added rows only ever join *training*; the authored
  ``valid``/``test`` files are not touched, and an added row whose text (after
  :func:`classifiers.dataset.dedupe_key`) equals a validation or test comment is dropped, so a
  test comment cannot come back through the desk.
* **Kept apart by date.** The newest :data:`REAL_TEST_SHARE` of the added editors' labels (by
  ``comment_date``, when the comment was written; else ``date``, when it was marked) are held out as the *real-comment test set* (``real_test.jsonl`` beside the model);
  the model trains on the older ones. Implicit positives are never held out (they are not an
  editor's judgement).
* **Weights.** An editor's label counts :data:`EDITOR_WEIGHT` times an authored comment (real
  readers' words are rare and worth more); an implicit positive counts 1.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ModelError, Problem
from classifiers.dataset import Example, dedupe, dedupe_key, parse_line

EDITOR_WEIGHT = 2.0
IMPLICIT_WEIGHT = 1.0
REAL_TEST_SHARE = 0.2
MIN_REAL_TEST = 5  # fewer editors' labels than this: all of them train, none held out


@dataclass(frozen=True)
class Added:
    example: Example
    date: str
    implicit: bool
    source: str  # file name


def read_added(paths: Sequence[Path]) -> tuple[list[Added], list[Problem]]:
    """Every valid row of the files (category required), and the problems of the others."""
    rows: list[Added] = []
    problems: list[Problem] = []
    for path in paths:
        if not path.is_file():
            raise ModelError(f"--add {path}: no such file")
        with path.open(encoding="utf-8", errors="replace") as fh:
            for n, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                got = parse_line(raw, file=str(path), line=n, need_category=True)
                if isinstance(got, Problem):
                    problems.append(got)
                    continue
                extra = json.loads(raw)
                date = extra.get("date")
                if not isinstance(date, str) or not date:
                    problems.append(Problem(file=str(path), line=n, column=None, field="date",
                                            message="missing (needed to hold the newest apart)"))
                    continue
                written = extra.get("comment_date")
                when = written if isinstance(written, str) and written else date
                rows.append(Added(got, when, bool(extra.get("implicit")), path.name))
    return rows, problems


@dataclass
class AddedSplit:
    train: list[Added]
    real_test: list[Added]
    leaked: int  # dropped: same text as a validation or test comment
    duplicates: int
    conflicts: int


def split_added(rows: Iterable[Added], guarded: Iterable[Example],
                share: float = REAL_TEST_SHARE) -> AddedSplit:
    """Drop leaks and duplicates, then hold the newest editors' labels apart by date."""
    banned = {dedupe_key(e.text) for e in guarded}
    items = list(rows)
    clean = [a for a in items if dedupe_key(a.example.text) not in banned]
    leaked = len(items) - len(clean)
    by_id = {id(a.example): a for a in clean}
    kept_examples, dups, conflicts = dedupe(a.example for a in clean)
    kept = [by_id[id(e)] for e in kept_examples]
    explicit = sorted((a for a in kept if not a.implicit), key=lambda a: (a.date, a.example.id))
    n_test = math.ceil(len(explicit) * share) if len(explicit) >= MIN_REAL_TEST else 0
    test = explicit[len(explicit) - n_test:] if n_test else []
    test_ids = {id(a) for a in test}
    train = [a for a in kept if id(a) not in test_ids]
    return AddedSplit(train, test, leaked, dups, conflicts)


def weight_of(row: Added, editor_weight: float = EDITOR_WEIGHT) -> float:
    return IMPLICIT_WEIGHT if row.implicit else editor_weight


__all__ = ["EDITOR_WEIGHT", "IMPLICIT_WEIGHT", "REAL_TEST_SHARE", "Added", "AddedSplit",
           "read_added", "split_added", "weight_of"]
