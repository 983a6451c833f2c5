"""Labels out of production, safely: editors' marks and implicit positives as corpus JSON Lines.

``export_labels(store)`` reads the ``labels`` and ``label_history`` tables and the resolved
cases and returns three lists of rows:

* ``labels``    one row per comment an editor marked: the corpus format (``id``, ``text``,
  ``urgent``, ``category``, ``tags``) with phone and ID numbers masked (:func:`bot.pii.mask`),
  plus provenance: ``date`` (of the mark), ``comment_date`` (when it was written), ``account``, ``editor``, ``model_version``,
  ``score`` and ``band`` (what the live model said when the comment came in);
* ``implicit``  comments whose case was resolved (someone was helped) and that no editor
  marked: ``urgent: 1``, ``implicit: true``, tag ``implicit``;
* ``conflicts`` comments two editors marked differently (each editor's latest mark counts):
  reported and left out of ``labels``, never silently resolved.

No openid, phone or ID number leaves; a comment an editor marked only for its category (no
urgent/not-urgent mark) is counted in ``category_only`` and not exported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import pii
from bot.clock import from_unix, iso
from bot.store import Store
from bot.store import labels as label_rows
from classifiers.dataset import CATEGORIES


@dataclass
class Export:
    labels: list[dict[str, Any]] = field(default_factory=list)
    implicit: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    category_only: int = 0
    unknown_category: int = 0

    def write(self, out_dir: Path) -> dict[str, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, rows in (("labels", self.labels), ("implicit", self.implicit),
                           ("conflicts", self.conflicts)):
            path = out_dir / f"{name}.jsonl"
            with path.open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            paths[name] = path
        return paths


def _provenance(row: dict[str, Any]) -> dict[str, Any]:
    created = row.get("create_time")
    return {
        "comment_date": iso(from_unix(int(created))) if created else None,
        "account": row.get("account") or "",
        "model_version": row.get("model_version") or "",
        "score": round(float(row["score"]), 4) if row.get("score") is not None else None,
        "band": row.get("band") or "",
    }


def export_labels(store: Store) -> Export:
    """Everything the desk learned, as training rows (see the module docstring)."""
    out = Export()
    history = label_rows.urgent_marks(store)
    latest: dict[str, dict[str, tuple[int, str]]] = {}
    for h in history:  # each editor's latest urgent/not-urgent mark
        latest.setdefault(h["comment_id"], {})[h["editor"]] = (int(h["urgent"]), h["at"])
    conflicted = {cid for cid, marks in latest.items() if len({v for v, _ in marks.values()}) > 1}
    rows = label_rows.labelled_comments(store)
    labeled = set()
    for r in rows:
        cid = r["comment_id"]
        labeled.add(cid)
        text = pii.mask(r["content"] or "")
        if cid in conflicted:
            out.conflicts.append({
                "id": f"real:{cid}", "text": text,
                "marks": [{"editor": e, "urgent": v, "date": at}
                          for e, (v, at) in sorted(latest[cid].items())],
                **_provenance(r)})
            continue
        if r["urgent"] is None:
            out.category_only += 1
            continue
        category = r["category"] or r["model_category"] or ""
        if category not in CATEGORIES:
            out.unknown_category += 1
            continue
        out.labels.append({
            "id": f"real:{cid}", "text": text, "urgent": int(r["urgent"]), "category": category,
            "tags": ["real", "editor"], "date": r["at"], "editor": r["editor"], **_provenance(r)})
    resolved = label_rows.resolved_comments(store)
    for r in resolved:
        if r["comment_id"] in labeled or (r["category"] or "") not in CATEGORIES:
            continue
        out.implicit.append({
            "id": f"real:{r['comment_id']}", "text": pii.mask(r["content"] or ""), "urgent": 1,
            "category": r["category"], "tags": ["real", "implicit"], "implicit": True,
            "date": r["resolved_at"], "editor": "", **_provenance(r)})
    return out


__all__ = ["Export", "export_labels"]
