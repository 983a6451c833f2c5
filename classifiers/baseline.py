"""The keyword baseline: what an editor's hand-made keyword auto-reply would flag.

A comment is flagged when its normalised text contains any keyword of
``data/keywords_baseline.txt``. ``dianhua eval`` shows it beside the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from classifiers.normalize import normalize
from classifiers.paths import KEYWORDS


class KeywordBaseline:
    """Flags a text that contains any of ``keywords`` (compared after normalisation)."""

    def __init__(self, keywords: Iterable[str]) -> None:
        self.keywords: tuple[str, ...] = tuple(
            dict.fromkeys(normalize(k, mask_pii=False) for k in keywords if k.strip())
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> KeywordBaseline:
        """Read one keyword a line (``#`` comments and blank lines ignored)."""
        from bot.limits import read_file

        p = Path(path) if path is not None else KEYWORDS
        text = read_file(p, max_bytes=256 * 1024).decode("utf-8")
        lines = (line.strip() for line in text.splitlines())
        return cls(line for line in lines if line and not line.startswith("#"))

    def matches(self, text: str) -> list[str]:
        """The keywords found in ``text``, in list order."""
        norm = normalize(text, mask_pii=False)
        return [k for k in self.keywords if k in norm]

    def score(self, text: str) -> float:
        """1.0 when any keyword matches, else 0.0 (so it fits the same metrics as the model)."""
        return 1.0 if self.matches(text) else 0.0

    def scores(self, texts: Sequence[str]) -> list[float]:
        return [self.score(t) for t in texts]

    def __len__(self) -> int:
        return len(self.keywords)


__all__ = ["KeywordBaseline"]
