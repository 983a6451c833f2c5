"""The voice head: is a comment a report, retelling or commentary rather than a request?

A public "电话发我" under a news sentence, a retelling or a commentary is the costly error; an
editor looking at it is cheap. The voice head is a second small logistic regression on the
urgent model's own features (vectorized once). It does not change the urgent score or the
``review`` band: it only *caps* ``auto``. A comment reaches ``auto`` when its score is at least
the ``auto`` threshold **and** its voice score is below the voice cut; otherwise it stays at
``review``.

Labels come from the corpus tags (``data/README.md``): a comment is in the *report voice*
when it is not urgent and carries one of :data:`REPORT_TAGS` (news and official voice,
reported speech, retellings, quotes, commentary, statistics, timelines, notices…). Everything
else is *not* report voice: every urgent comment (also urgent ones that quote or paste news,
such as ``reader_paste`` and ``quoted_by_press``), first-person questions, thanks, jokes and
complaints. Jokes and thanks are left out on purpose: they are the writer's own voice, and
the urgent score already handles them; the head is about *whose* words these are.

**The cut (rule written before any voice head was trained or scored):** on the validation
split, take the urgent comments whose score reaches ``auto``; the cut is the lowest value
(midpoint between neighbouring validation voice scores) that leaves at least
:data:`KEEP_URGENT_AUTO` (99 %) of them below it, i.e. the strictest cap that costs at most
1 % of validation ``auto`` recall. The cut is stored in the card.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from classifiers.dataset import Example

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

# Non-urgent comments with any of these tags are the report voice (the positives).
REPORT_TAGS: frozenset[str] = frozenset({
    # news and official voice
    "news", "news_like", "news_sentence", "case_news", "headline", "notice", "hospital_notice",
    "official", "official_response", "official_repeat", "official_voice", "statement",
    "policy", "statistic", "numbers", "timeline", "pasted_article", "self_media", "local_tv",
    "academic", "hospital_pr", "reporter_note", "foreign_media",
    # someone else's words, told after the fact or commented on
    "reported_speech", "retelling", "quote", "commentary", "opinion", "long_opinion",
    "reader_comment", "story", "diary",
})
KEEP_URGENT_AUTO = 0.99
VOICE_C = 3.0
# A cut above every possible voice score: nothing is capped (a model without a voice head).
NO_CAP = 1.0 + 1e-9
CAP_REASON = "voice: reads as a report / retelling / commentary, not a request; at most review"


# The press's own words, in simplified and traditional forms: a comment carrying one of these
# and none of the writer's own voice (below) is a news sentence pasted or retold, never `auto`.
# A fixed list, not learned: it holds for writers the model never read. Chosen for precision
# (on the authored corpus it holds 3 of 3,672 urgent comments at `auto` back to `review`:
# forwarded reports in the press style, "转：…一孕妇临产…").
_NEWS_MARKERS = re.compile(
    r"据报道|據報道|据悉|據悉|据了解|據了解|据介绍|據介紹|记者|記者|本报讯|本報訊|新华社|新華社"
    r"|\d+日电|\d+日電|获悉|獲悉|化名|通报|通報|发布会|發布會|接受采访|接受採訪"
    r"|(?:一|某)名?(?:孕妇|孕婦|产妇|產婦|患者|男子|女子)|该(?:孕妇|产妇|患者|院)|該(?:孕婦|產婦|患者|院)"
    r"|院方"
)
# The writer's own voice, read outside quotation marks: first person, the account addressed,
# a question.
_OWN_VOICE = re.compile(r"我|俺|咱|本人|小编|小編|你们|你們|[?？]|吗|嗎|呢|怎么办|怎麼辦")
_QUOTES = re.compile(r"“[^”]*”|「[^」]*」|\"[^\"]*\"")
NEWS_CAP_REASON = ("reads as news (据报道/记者/化名/通报 …) and not in the writer's own voice; "
                   "at most review")


def reads_as_news(text: str) -> bool:
    """A news marker and, outside quotes, no first person, no address and no question."""
    if not isinstance(text, str) or not _NEWS_MARKERS.search(text):
        return False
    return not _OWN_VOICE.search(_QUOTES.sub(" ", text))


def is_report_voice(example: Example) -> bool:
    """The voice head's label for one corpus comment."""
    return example.urgent == 0 and not REPORT_TAGS.isdisjoint(example.tags)


def voice_labels(rows: Iterable[Example]) -> np.ndarray:
    return np.array([int(is_report_voice(r)) for r in rows], dtype=int)


def fit_voice_head(x: object, labels: Sequence[int] | np.ndarray, seed: int,
                   C: float = VOICE_C) -> LogisticRegression | None:
    """The fitted head, or ``None`` when the labels hold fewer than two of either class."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(labels, dtype=int)
    if min(int(y.sum()), int(len(y) - y.sum())) < 2:
        return None
    head = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=seed)
    return head.fit(x, y)


def choose_voice_cut(
    urgent: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    voice: Sequence[float] | np.ndarray,
    auto: float,
    keep: float = KEEP_URGENT_AUTO,
) -> float:
    """The rule above: the lowest cut keeping ``keep`` of validation urgent-at-auto eligible."""
    y = np.asarray(urgent, dtype=int)
    s = np.asarray(scores, dtype=float)
    v = np.asarray(voice, dtype=float)
    at_auto = v[(y == 1) & (s >= auto)]
    if len(at_auto) == 0:
        return NO_CAP
    uniq = np.unique(v)
    cuts = np.concatenate([(uniq[:-1] + uniq[1:]) / 2, [NO_CAP]])
    for cut in cuts:  # ascending: the first that keeps enough is the strictest
        if np.mean(at_auto < cut) >= keep:
            return float(cut)
    return NO_CAP


__all__ = [
    "CAP_REASON",
    "KEEP_URGENT_AUTO",
    "NEWS_CAP_REASON",
    "NO_CAP",
    "REPORT_TAGS",
    "VOICE_C",
    "choose_voice_cut",
    "fit_voice_head",
    "is_report_voice",
    "reads_as_news",
    "voice_labels",
]
