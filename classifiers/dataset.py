"""Labeled comments: read and check JSON Lines, merge, dedupe, and make the fixed split.

A line is ``{"id", "text", "urgent": 0|1, "category": one of CATEGORIES, "tags": [str]}``
(``category`` and ``tags`` are optional for evaluation files). Bad lines are reported as
``file:line field: message`` and skipped; they never stop a run.

The split is deterministic: exact duplicates (after :func:`dedupe_key`) are dropped,
near-duplicates (character-trigram cosine ≥ 0.8) are kept together in one split so a
paraphrase in the training set cannot leak into the test set, and every stratum
(``urgent`` × ``category``) is cut 70/15/15 in the order of a seeded hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from bot.errors import Problem
from classifiers.normalize import normalize
from classifiers.paths import SPLITS

CATEGORIES: tuple[str, ...] = (
    "寻医买药",
    "核酸检测",
    "健康码",
    "疫情政策",
    "交通出行",
    "生活物资",
    "疫苗接种",
    "表扬感谢",
    "投诉建议",
    "其他",
)
MAX_TEXT_CHARS = 5000


@dataclass(frozen=True)
class Example:
    """One labeled comment."""

    id: str
    text: str
    urgent: int
    category: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> str:
        row: dict[str, Any] = {"id": self.id, "text": self.text, "urgent": self.urgent}
        if self.category is not None:
            row["category"] = self.category
        row["tags"] = list(self.tags)
        return json.dumps(row, ensure_ascii=False)


def parse_line(raw: str, *, file: str, line: int, need_category: bool) -> Example | Problem:
    """One JSON line → :class:`Example`, or the :class:`Problem` that explains why not."""

    def bad(fld: str, msg: str) -> Problem:
        return Problem(file=file, line=line, column=None, field=fld, message=msg)

    from bot.limits import loads

    try:
        row = loads(raw)
    except json.JSONDecodeError as exc:
        return bad("", f"not valid JSON ({exc.msg} at column {exc.colno})")
    except ValueError as exc:
        return bad("", f"not usable JSON ({exc})")
    if not isinstance(row, dict):
        return bad("", "a line must be a JSON object")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        return bad("text", "missing or empty")
    if len(text) > MAX_TEXT_CHARS:
        return bad("text", f"longer than {MAX_TEXT_CHARS} characters")
    urgent = row.get("urgent")
    if isinstance(urgent, bool):
        urgent = int(urgent)
    if urgent not in (0, 1):
        return bad("urgent", f"must be 0 or 1, got {urgent!r}")
    category = row.get("category")
    if category is None and need_category:
        return bad("category", "missing")
    if category is not None and category not in CATEGORIES:
        return bad("category", f"unknown category {category!r}")
    tags = row.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return bad("tags", "must be a list of strings")
    ident = row.get("id")
    ident = str(ident) if ident not in (None, "") else f"{Path(file).stem}:{line}"
    return Example(id=ident, text=text, urgent=int(urgent), category=category, tags=tuple(tags))


def iter_jsonl(
    path: str | Path, *, need_category: bool = False
) -> Iterator[Example | Problem]:
    """Examples and problems of one JSONL file, in file order (blank lines skipped)."""
    from bot.limits import lines

    p = Path(path)
    with p.open(encoding="utf-8", errors="replace") as fh:
        for n, raw, problem in lines(fh, name=str(p)):
            if raw is None:
                yield Problem(file=str(p), line=n, column=None, field="", message=str(problem))
            elif raw.strip():
                yield parse_line(raw, file=str(p), line=n, need_category=need_category)


def read_jsonl(
    path: str | Path, *, need_category: bool = False
) -> tuple[list[Example], list[Problem]]:
    """All valid examples of a file and the problems of the others (logged as warnings)."""
    examples: list[Example] = []
    problems: list[Problem] = []
    for item in iter_jsonl(path, need_category=need_category):
        if isinstance(item, Problem):
            problems.append(item)
            logger.warning("skipping {}", item)
        else:
            examples.append(item)
    return examples, problems


def dedupe_key(text: str) -> str:
    """Normalised text without whitespace and punctuation: equal keys are the same comment."""
    norm = normalize(text)
    return "".join(
        ch for ch in norm if not ch.isspace() and not unicodedata.category(ch).startswith("P")
    )


def dedupe(examples: Iterable[Example]) -> tuple[list[Example], int, int]:
    """Drop exact duplicates (first wins); drop every copy when copies disagree on labels.

    Returns ``(kept, duplicates_dropped, conflicts_dropped)``.
    """
    groups: dict[str, list[Example]] = defaultdict(list)
    order: list[str] = []
    for ex in examples:
        key = dedupe_key(ex.text)
        if key not in groups:
            order.append(key)
        groups[key].append(ex)
    kept: list[Example] = []
    dups = conflicts = 0
    for key in order:
        group = groups[key]
        labels = {(g.urgent, g.category) for g in group}
        if len(labels) > 1:
            conflicts += len(group)
            continue
        kept.append(group[0])
        dups += len(group) - 1
    return kept, dups, conflicts


class _DisjointSets:
    """Union-find over ``0..n-1``; a set is named by its smallest member."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[max(ri, rj)] = min(ri, rj)

    def roots(self) -> list[int]:
        return [self.find(i) for i in range(len(self.parent))]


def near_duplicate_groups(texts: Sequence[str], threshold: float = 0.8) -> list[int]:
    """Group id per text: texts whose character-trigram sets have cosine ≥ ``threshold`` share one."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    sets = _DisjointSets(len(texts))
    if len(texts) > 1:
        vec = CountVectorizer(analyzer="char", ngram_range=(3, 3), binary=True, lowercase=False)
        try:
            x = vec.fit_transform([normalize(t) for t in texts]).astype(np.float32)
        except ValueError:  # every text shorter than three characters
            return sets.roots()
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        sim = (x @ x.T).tocoo()
        for i, j, v in zip(sim.row, sim.col, sim.data, strict=True):
            if i < j and v / (norms[i] * norms[j]) >= threshold:
                sets.union(int(i), int(j))
    return sets.roots()


def _rank(seed: int, text: str) -> str:
    return hashlib.sha256(f"{seed}\x00{dedupe_key(text)}".encode()).hexdigest()


# Tags that name a set of comments written together (a minimal pair, one situation told in
# several voices): such a set stays in one split, like near-duplicates.
TOGETHER_TAG_PREFIXES: tuple[str, ...] = ("pair:", "sit:")


def writer_of(example_id: str) -> str:
    """The writer (corpus part) of an example id: ``ca0001`` → ``ca``; ``x:12`` → ``x``."""
    head = str(example_id).split(":", 1)[0]
    return head.rstrip("0123456789") or head


PAGE_TAG_PREFIX = "sit:page-"


def source_of(ex: Example) -> str:
    """Who wrote a training row, for group k-fold: the corpus part (:func:`writer_of`), except
    for real text, where each web page is a writer of its own (``sit:page-…`` tag): a model
    that never read *this page* is what a new reporter's or reader's words meet."""
    for tag in ex.tags:
        if tag.startswith(PAGE_TAG_PREFIX):
            return "page:" + tag[len(PAGE_TAG_PREFIX):]
    return writer_of(ex.id)


def together_keys(ex: Example) -> list[str]:
    """The writer-qualified set tags of a comment (``cj:pair:12``)."""
    return [f"{writer_of(ex.id)}:{t}" for t in ex.tags if t.startswith(TOGETHER_TAG_PREFIXES)]


def _join_tagged(examples: Sequence[Example], groups: list[int]) -> list[int]:
    """Merge ``groups`` so comments sharing a :data:`TOGETHER_TAG_PREFIXES` tag share a group."""
    sets = _DisjointSets(len(groups))
    first: dict[str, int] = {}
    for idx, (ex, g) in enumerate(zip(examples, groups, strict=True)):
        sets.union(idx, g)
        for key in together_keys(ex):
            sets.union(idx, first.setdefault(key, idx))
    return sets.roots()


def split_examples(
    examples: Sequence[Example],
    *,
    seed: int = 42,
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15),
) -> dict[str, list[Example]]:
    """Deterministic stratified split into ``train``/``valid``/``test``.

    Near-duplicates, and comments sharing a ``pair:<n>`` or ``sit:<n>`` tag, stay together.
    """
    groups = _join_tagged(examples, near_duplicate_groups([e.text for e in examples]))
    members: dict[int, list[int]] = defaultdict(list)
    for idx, g in enumerate(groups):
        members[g].append(idx)
    strata: dict[tuple[int, str], list[int]] = defaultdict(list)
    for g, idxs in members.items():
        head = examples[idxs[0]]
        strata[(head.urgent, head.category or "")].append(g)
    out: dict[str, list[int]] = {name: [] for name in SPLITS}
    for key in sorted(strata):
        ordered = sorted(strata[key], key=lambda g: _rank(seed, examples[g].text))
        sizes = [len(members[g]) for g in ordered]
        total = sum(sizes)
        bounds = (fractions[0] * total, (fractions[0] + fractions[1]) * total)
        seen = 0
        for g, size in zip(ordered, sizes, strict=True):
            # place each group by the position of its midpoint in the stratum
            mid = seen + size / 2
            name = "train" if mid <= bounds[0] else "valid" if mid <= bounds[1] else "test"
            out[name].extend(members[g])
            seen += size
    return {name: [examples[i] for i in sorted(idxs)] for name, idxs in out.items()}


def write_jsonl(path: str | Path, examples: Iterable[Example]) -> int:
    """Write examples as JSON Lines (UTF-8, one per line); returns how many."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with p.open("w", encoding="utf-8") as fh:
        for ex in examples:
            fh.write(ex.to_json() + "\n")
            n += 1
    return n


_PHONE_LIKE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def unsafe_numbers(text: str) -> list[str]:
    """Phone-shaped numbers other than the allowed 13800000000 (the datasheet's promise)."""
    return [m for m in _PHONE_LIKE.findall(text) if m != "13800000000"]


def _read_sources(
    sources: Sequence[str | Path],
) -> tuple[list[Example], list[Problem], list[Example]]:
    """Every corpus file's valid comments, their problems, and the comments dropped because
    they hold an unmasked phone-like number (the datasheet's promise)."""
    examples: list[Example] = []
    problems: list[Problem] = []
    for src in sources:
        got, bad = read_jsonl(src, need_category=True)
        examples.extend(got)
        problems.extend(bad)
    unsafe = [e for e in examples if unsafe_numbers(e.text)]
    if unsafe:
        logger.warning("dropping {} comments that hold unmasked phone-like numbers", len(unsafe))
    return [e for e in examples if not unsafe_numbers(e.text)], problems, unsafe


def build_splits(
    sources: Sequence[str | Path], out_dir: str | Path, *, seed: int = 42
) -> dict[str, Any]:
    """Merge corpus files, dedupe, split and write ``train/valid/test.jsonl``; returns a summary."""
    examples, problems, unsafe = _read_sources(sources)
    kept, dups, conflicts = dedupe(examples)
    splits = split_examples(kept, seed=seed)
    out = Path(out_dir)
    for name, rows in splits.items():
        write_jsonl(out / f"{name}.jsonl", rows)
    return {
        "read": len(examples) + len(unsafe),
        "problems": len(problems),
        "unsafe_dropped": len(unsafe),
        "duplicates_dropped": dups,
        "conflicts_dropped": conflicts,
        "kept": len(kept),
        "splits": {name: len(rows) for name, rows in splits.items()},
    }


def extend_splits(
    sources: Sequence[str | Path], out_dir: str | Path, *, seed: int = 42
) -> dict[str, Any]:
    """Add the corpus comments not yet in ``train/valid/test.jsonl``; existing rows stay put.

    Every row already in a split keeps its split and its place (so the test split's old rows
    are still the test split). A new comment that is an exact duplicate of a placed one is
    dropped; one that is a near-duplicate of a placed one joins that one's split; the rest are
    split by :func:`split_examples` (same hash rule, seed, grouping and 70/15/15 cut) and
    appended to the end of each file.
    """
    out = Path(out_dir)
    placed: dict[str, list[Example]] = {}
    for name in SPLITS:
        path = out / f"{name}.jsonl"
        rows, bad = read_jsonl(path, need_category=True) if path.is_file() else ([], [])
        if bad:
            raise ValueError(f"{path}: {len(bad)} bad lines; fix them before extending")
        placed[name] = rows
    where = {dedupe_key(e.text): name for name, rows in placed.items() for e in rows}
    examples, problems, unsafe = _read_sources(sources)
    fresh = [e for e in examples if dedupe_key(e.text) not in where]
    known = len(examples) - len(fresh)
    kept, dups, conflicts = dedupe(fresh)
    old = [e for name in SPLITS for e in placed[name]]
    old_split = [name for name in SPLITS for _ in placed[name]]
    groups = near_duplicate_groups([e.text for e in old] + [e.text for e in kept])
    group_split: dict[int, str] = {}
    for g, name in zip(groups, old_split, strict=False):
        group_split.setdefault(g, name)
    added: dict[str, list[Example]] = {name: [] for name in SPLITS}
    rest: list[Example] = []
    for ex, g in zip(kept, groups[len(old):], strict=True):
        if g in group_split:
            added[group_split[g]].append(ex)
        else:
            rest.append(ex)
    near = sum(len(v) for v in added.values())
    # a pair/situation set follows any member that had to join a placed near-duplicate
    sets: dict[str, str] = {}
    for name in SPLITS:
        for ex in added[name]:
            for key in together_keys(ex):
                sets.setdefault(key, name)
    free: list[Example] = []
    for ex in rest:
        tagged = [sets[k] for k in together_keys(ex) if k in sets]
        (added[tagged[0]] if tagged else free).append(ex)
    for name, rows in split_examples(free, seed=seed).items():
        added[name].extend(rows)
    order = {id(e): i for i, e in enumerate(kept)}
    for name in SPLITS:
        added[name].sort(key=lambda e: order[id(e)])
        write_jsonl(out / f"{name}.jsonl", [*placed[name], *added[name]])
    return {
        "read": len(examples) + len(unsafe),
        "problems": len(problems),
        "unsafe_dropped": len(unsafe),
        "already_placed": known,
        "duplicates_dropped": dups,
        "conflicts_dropped": conflicts,
        "joined_near_duplicates": near,
        "added": {name: len(rows) for name, rows in added.items()},
        "splits": {name: len(placed[name]) + len(added[name]) for name in SPLITS},
    }


def file_sha256(paths: Iterable[str | Path]) -> str:
    """One sha256 over the named files' names and bytes, in the given order."""
    h = hashlib.sha256()
    for p in paths:
        path = Path(p)
        h.update(path.name.encode() + b"\x00")
        h.update(path.read_bytes())
    return h.hexdigest()


__all__ = [
    "CATEGORIES",
    "Example",
    "build_splits",
    "dedupe",
    "dedupe_key",
    "extend_splits",
    "file_sha256",
    "iter_jsonl",
    "near_duplicate_groups",
    "parse_line",
    "read_jsonl",
    "split_examples",
    "unsafe_numbers",
    "together_keys",
    "write_jsonl",
    "source_of",
    "writer_of",
]
