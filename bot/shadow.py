"""Shadow scoring: a candidate model scores every new comment too, and nothing acts on it.

The daemon's model job calls :func:`score_shadow` after the live model has classified a batch:
comments classified since the shadow started and not yet scored by the candidate get a row in
``shadow_scores`` (the candidate's score and band beside the live model's). The desk's model
page lists the *disagreements* (different bands), for editors to label first.
"""

from __future__ import annotations

from typing import Any

from loguru import logger

from bot.store import Store
from bot.store import shadow as shadow_rows

BATCH = 200


def score_shadow(store: Store, model: Any, since: str, at: str, limit: int = BATCH) -> int:
    """Score up to ``limit`` comments classified at or after ``since``; returns how many."""
    version = str(getattr(model, "version", "") or "")
    rows = shadow_rows.unscored(store, version, since, limit)
    if not rows:
        return 0
    try:
        preds = model.predict_many([r["content"] or "" for r in rows])
    except Exception:
        logger.exception("shadow model {} failed to score a batch; skipping it", version)
        return 0
    shadow_rows.save_scores(store, [{
        "comment_id": r["comment_id"], "model_version": version, "score": p.score,
        "band": p.band, "category": p.category, "live_version": r["model_version"],
        "live_score": r["score"], "live_band": r["band"], "at": at,
    } for r, p in zip(rows, preds, strict=True)])
    return len(rows)


def disagreements(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """Comments the shadow and the live model put in different bands, newest first."""
    return shadow_rows.disagreements(store, limit)


__all__ = ["disagreements", "score_shadow"]
