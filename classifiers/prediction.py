"""What the classifier says about one comment (the contract with rules, store and web)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Band = Literal["auto", "review", "below"]
BANDS: tuple[Band, ...] = ("auto", "review", "below")


@dataclass(frozen=True)
class Prediction:
    """One comment's classification.

    ``score`` is the calibrated probability that the comment is an urgent medical request.
    ``band`` is ``auto`` when ``score >= thresholds.auto`` (safe to answer publicly),
    ``review`` when ``score >= thresholds.review`` (an editor must look), else ``below``.
    ``top_terms`` are ``(term, weight)`` pairs, strongest first: positive pushed the score up,
    negative pushed it down.
    ``voice`` is the voice head's probability that the comment is a report, retelling or
    commentary rather than a request (``None`` for a model without one); ``capped`` is the
    reason when the voice head held a comment at ``review`` although its score reached
    ``auto`` (empty otherwise).
    """

    score: float
    band: Band
    category: str
    category_score: float
    top_terms: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    model_version: str = ""
    voice: float | None = None
    capped: str = ""

    @property
    def urgent(self) -> bool:
        return self.band in ("auto", "review")

    @property
    def auto(self) -> bool:
        return self.band == "auto"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["top_terms"] = [[t, round(w, 4)] for t, w in self.top_terms]
        return d


def band_for(score: float, *, review: float, auto: float, capped: bool = False) -> Band:
    """The band of ``score``; ``capped`` (the voice head said "report") keeps it below auto."""
    if score >= auto and not capped:
        return "auto"
    if score >= auto:
        return "review"
    if score >= review:
        return "review"
    return "below"


__all__ = ["BANDS", "Band", "Prediction", "band_for"]
