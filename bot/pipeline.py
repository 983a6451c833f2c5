"""From a stored comment to a recorded decision: classify, evaluate the rules, write it all at once.

For each comment in state ``new``: the classifier scores it (in worker processes with
``workers``, a batch ahead of the writer; see :mod:`bot.classify_pool`), the rules engine (pure)
decides, and the writer records the classification, the rule trace, the case changes and the
outbox rows for every side effect and marks the comment ``processed`` — for up to
:data:`WRITE_CHUNK` comments in one transaction, one savepoint each. A crash before the commit
leaves the comments ``new`` (processed again, from scratch); after it, nothing is redone.

Failures: a :class:`StoreError` (the database is locked, full, failing I/O) is never the
comment's fault: the round stops, the comment stays ``new`` and processing backs off
(1 s, 2 s, 4 s … up to a minute, on the injected clock) before trying again. Only a comment
that fails by itself twice in a row (the classifier or the rules raise on it) is quarantined:
state ``error`` and a P2 review case for an editor.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from loguru import logger

from bot import pii
from bot.cases import attach_comment, enqueue, open_case
from bot.clock import Clock, from_unix, iso, utcnow
from bot.errors import StoreError, WorkerLost
from bot.rules.types import CommentContext, Decision, Writer
from bot.store import Store, dumps, processing
from classifiers.prediction import Prediction

EXTERNAL_KINDS = ("reply", "notify", "feature", "unfeature")
MAX_STORE_BACKOFF = 60.0  # seconds between two attempts while the database is in trouble
WRITE_CHUNK = 50  # comments per write transaction


class Predictor(Protocol):
    def predict_many(self, texts: Sequence[str], batch_size: int = 256) -> list[Prediction]: ...


class Rules(Protocol):
    @property
    def version(self) -> str: ...

    def evaluate(self, ctx: CommentContext, history: Any) -> Decision: ...


@dataclass
class Outcome:
    comment_id: str
    prediction: Prediction
    decision: Decision
    case_id: int | None


class BatchClassifier(Protocol):
    """Classifies off the writer's thread (see :mod:`bot.classify_pool`)."""

    def submit(self, texts: Sequence[str]) -> Future[list[Prediction]]: ...

    def result(self, future: Future[list[Prediction]]) -> list[Prediction]: ...


@dataclass
class _Batch:
    rows: list[dict[str, Any]]
    future: Future[list[Prediction]] | None  # None: classified on the writer's thread


class Pipeline:
    def __init__(
        self,
        store: Store,
        model: Predictor,
        rules: Callable[[], Rules],
        *,
        clock: Clock = utcnow,
        duty_group: str = "duty",
        on_outcome: Callable[[Outcome, dict[str, Any]], None] | None = None,
        pending: Callable[[int], list[dict[str, Any]]] | None = None,
        workers: BatchClassifier | None = None,
        ahead: int = 2,
    ) -> None:
        """``workers``: classify batches there while this thread writes (None: in this thread).

        ``ahead``: how many batches are classifying while one is written (with ``workers``).
        """
        self.store = store
        # replica mode: the new comments of this replica's accounts only (bot/cluster.py)
        self.pending = pending or store.pending_comments
        self.model = model
        self.rules = rules
        self.clock = clock
        self.duty_group = duty_group
        self.on_outcome = on_outcome
        self.workers = workers
        self.ahead = max(1, ahead)
        self.store_failures = 0  # store errors in a row; drives the back-off
        self.retry_at: datetime | None = None  # no processing before this (store trouble)
        self.last_store_error: str | None = None
        self._queue: deque[_Batch] = deque()  # fetched, classifying (oldest first)
        self._busy: set[str] = set()  # ids in the queue or being written

    def process_pending(self, limit: int = 200) -> int:
        """Process up to ``limit`` new comments, oldest first. Returns how many were processed.

        Returns 0 while backing off after a store error (see the module docstring).
        """
        if self.retry_at is not None and self.clock() < self.retry_at:
            return 0
        try:
            done = self._process_batch(limit)
        except StoreError as exc:
            self._drop_queue()  # fetched again, in order, once the database answers
            self._store_trouble(exc)
            return 0
        if self.store_failures:
            logger.info("the database answers again; processing resumed after {} failed attempt(s)",
                        self.store_failures)
        self.store_failures, self.retry_at, self.last_store_error = 0, None, None
        return done

    def _store_trouble(self, exc: StoreError) -> None:
        self.store_failures += 1
        delay = min(MAX_STORE_BACKOFF, 2.0 ** (self.store_failures - 1))
        self.retry_at = self.clock() + timedelta(seconds=delay)
        self.last_store_error = str(exc)
        logger.warning("database trouble ({}); no comment is blamed: they stay new and are "
                       "processed again in {:.0f}s (attempt {})", exc, delay, self.store_failures)

    def _drop_queue(self) -> None:
        for batch in self._queue:
            if batch.future is not None:
                batch.future.cancel()
        self._queue.clear()
        self._busy.clear()

    def _fill(self, limit: int) -> None:
        """Fetch the next new comments and start classifying them, ``ahead`` batches deep."""
        want = self.ahead if self.workers is not None else 1
        while len(self._queue) < want:
            rows = [r for r in self.pending(limit + len(self._busy))
                    if r["id"] not in self._busy][:limit]
            if not rows:
                return
            future = None
            if self.workers is not None:
                future = self.workers.submit([r["content"] or "" for r in rows])
            self._queue.append(_Batch(rows, future))
            self._busy.update(r["id"] for r in rows)

    def _process_batch(self, limit: int) -> int:
        self._fill(limit)
        if not self._queue:
            return 0
        batch = self._queue.popleft()
        try:
            if self.workers is not None:  # they classify the next batches while this one is written
                self._fill(limit)
            return self._write_batch(batch.rows, self._predictions(batch))
        finally:
            self._busy.difference_update(r["id"] for r in batch.rows)

    def _predictions(self, batch: _Batch) -> list[Prediction | None]:
        texts = [r["content"] or "" for r in batch.rows]
        future = batch.future
        try:
            if future is None or self.workers is None:
                return list(self.model.predict_many(texts))
            for attempt in range(3):
                try:
                    return list(self.workers.result(future))
                except WorkerLost as exc:
                    logger.warning("classifier batch lost ({}); classifying its {} comments "
                                   "again", exc, len(texts))
                    if attempt == 2:
                        break
                    future = self.workers.submit(texts)
            logger.error("classifier workers keep dying on one batch; classifying it here")
            return list(self.model.predict_many(texts))
        except Exception:
            logger.exception("batch classification failed; classifying one by one")
            return [self._predict_one(r) for r in batch.rows]

    def _write_batch(self, rows: list[dict[str, Any]],
                     predictions: Sequence[Prediction | None]) -> int:
        """The batch in transactions of :data:`WRITE_CHUNK` comments (the sender's and the
        inbox's writes wait for the one in hand: a short hold keeps replies flowing)."""
        done = 0
        for start in range(0, len(rows), WRITE_CHUNK):
            done += self._write_chunk(rows[start:start + WRITE_CHUNK],
                                      predictions[start:start + WRITE_CHUNK])
        return done

    def _write_chunk(self, rows: list[dict[str, Any]],
                     predictions: Sequence[Prediction | None]) -> int:
        """Every comment of the chunk in one transaction, one savepoint each.

        A comment that fails by itself (twice) is quarantined inside the same transaction; a
        :class:`StoreError` rolls the whole batch back (every comment stays ``new``). Logs and
        callbacks wait for the commit, so they never tell of a decision that was not recorded.
        """
        done = 0
        after: list[Callable[[], None]] = []
        with self.store.transaction() as db:
            for row, prediction in zip(rows, predictions, strict=True):
                try:
                    if prediction is None:
                        raise ValueError("the classifier could not score this comment")
                    try:
                        with self.store.savepoint(db):
                            outcome = self._record(db, row, prediction)
                    except StoreError:
                        raise
                    except Exception as first:  # once more: only a repeat failure is the comment's
                        logger.warning("comment {} failed ({}); trying it once more", row["id"],
                                       type(first).__name__)
                        with self.store.savepoint(db):
                            outcome = self._record(db, row, prediction)
                except StoreError:
                    raise  # the database itself is in trouble: stop this round, back off
                except Exception as exc:
                    with self.store.savepoint(db):
                        case_id = self._quarantine_in(db, row, exc)
                    if case_id is not None:
                        after.append(partial(_log_quarantine, row, exc, case_id))
                    done += 1
                    continue
                if outcome is not None:
                    done += 1
                    after.append(partial(self._recorded, outcome, row))
        for step in after:
            step()
        return done

    def _recorded(self, outcome: Outcome, row: dict[str, Any]) -> None:
        p, matched = outcome.prediction, outcome.decision.matched_rules
        # a line for every decision; a comment no rule matched is a DEBUG line (at 500
        # comments a second, writing a line each was a quarter of the writer's time)
        logger.log("INFO" if matched or outcome.case_id else "DEBUG",
                   "comment {} score={:.2f} band={} rules={} case={}", outcome.comment_id,
                   p.score, p.band, ",".join(matched) or "-", outcome.case_id or "-")
        if self.on_outcome:
            self.on_outcome(outcome, row)

    def _predict_one(self, row: dict[str, Any]) -> Prediction | None:
        try:
            return self.model.predict_many([row["content"] or ""])[0]
        except Exception:
            logger.exception("classifying comment {} failed", row["id"])
            return None

    def _quarantine_in(self, db: Any, row: dict[str, Any], exc: Exception) -> int | None:
        """A comment we cannot process automatically goes to an editor instead of being lost.

        Written in the batch's transaction; the caller logs the case once it is committed.
        """
        # claimed first, like a processed comment: another replica may have got to it
        if not processing.claim_new_comment(db, row["id"], "error"):
            return None
        return open_case(db, row, at=iso(self.clock()), priority="P2", status="review",
                         route=self.duty_group,
                         note=f"automatic processing failed ({type(exc).__name__}); "
                              "please read it")

    def process_one(self, row: dict[str, Any], prediction: Prediction) -> Outcome | None:
        """One comment in a transaction of its own (the batch path is :meth:`process_pending`)."""
        with self.store.transaction() as db:
            outcome = self._record(db, row, prediction)
        if outcome is not None:
            self._recorded(outcome, row)
        return outcome

    def _record(self, db: Any, row: dict[str, Any], prediction: Prediction) -> Outcome | None:
        """Evaluate the rules on ``row`` and write everything it decides, inside ``db``'s
        transaction (the rules' history questions see the batch's earlier comments)."""
        # claimed first, the savepoint's (or transaction's) first statement: of two replicas
        # processing it at once only one goes on (on PostgreSQL the other's UPDATE waits for
        # the winner's commit, then matches nothing); undone with the savepoint if it fails
        if not processing.claim_new_comment(db, row["id"]):
            return None  # someone else processed it
        rules = self.rules()
        now = self.clock()
        prev, open_case_id, last_reply, open_route = self.store.writer_history(
            row["account"], row["openid"] or None, row["id"]
        )
        ctx = CommentContext(
            comment_id=row["id"],
            account=row["account"],
            msg_data_id=row["msg_data_id"],
            index=int(row["idx"]),
            user_comment_id=int(row["user_comment_id"]),
            text=row["content"] or "",
            created_at=from_unix(row["create_time"] or 0) if row["create_time"] else now,
            now=now,
            prediction=prediction,
            writer=Writer(
                openid=row["openid"] or None,
                previous_comments=prev,
                open_case_id=open_case_id,
                last_reply_at=last_reply,
                open_case_route=open_route,
            ),
            article_title=row.get("article_title") or "",
            channel=row.get("channel") or "comment",
        )
        private = ctx.channel == "message"
        decision = rules.evaluate(ctx, self.store)
        at = iso(now)
        case_id = open_case_id
        processing.write_classification(
            db,
            {
                "comment_id": row["id"],
                "score": prediction.score,
                "band": prediction.band,
                "category": prediction.category,
                "category_score": prediction.category_score,
                "top_terms": dumps([[t, w] for t, w in prediction.top_terms]),
                "model_version": prediction.model_version,
                "rules_version": decision.rules_version,
                "matched_rules": dumps(list(decision.matched_rules)),
                "route": decision.route or "",
                "tags": dumps(list(decision.tags)),
                "shadow_actions": dumps(
                    [
                        {"kind": a.kind, "rule": a.rule, "params": _masked(a.params)}
                        for a in decision.shadow_actions
                    ]
                ),
                "processed_at": at,
            },
        )
        for i, t in enumerate(decision.trace):
            processing.write_trace(
                db,
                {
                    "comment_id": row["id"],
                    "position": i,
                    "rule": t.rule,
                    "conditions": dumps([[n, v] for n, v in t.conditions]),
                    "matched": int(t.matched),
                    "shadow": int(t.shadow),
                    "suppressed": dumps(list(t.suppressed)),
                },
            )
        # Internal effects first, so external ones know their case.
        for action in decision.actions:
            params = dict(action.params)
            if action.kind == "open_case":
                route = params.get("route") or ""
                if route in ("", "auto", "route"):
                    route = decision.route or self.duty_group
                case_id = open_case(
                    db,
                    row,
                    at=at,
                    priority=str(params.get("priority") or "P2"),
                    queue=str(params.get("queue") or ""),
                    route=route,
                    status=str(params.get("status") or "awaiting_contact"),
                    note=f"rule {action.rule}; score {prediction.score:.2f} ({prediction.band})",
                    reason=str(params.get("reason") or ""),
                )
            elif action.kind == "attach_case":
                if open_case_id is None:
                    logger.warning(
                        "rule {} wants to attach {} but the writer has no open case",
                        action.rule,
                        row["id"],
                    )
                    continue
                attach_comment(
                    db, open_case_id, row, at=at, status=str(params.get("status") or "")
                )
                case_id = open_case_id
        if private and open_case_id is not None and not any(
                a.kind in ("attach_case", "open_case") for a in decision.actions):
            # a private message from a reader with an open case always joins that case
            attach_comment(db, open_case_id, row, at=at)
        for pos, action in enumerate(decision.actions):
            if action.kind not in EXTERNAL_KINDS:
                continue
            params = dict(action.params)
            kind: str = action.kind
            if private:  # answered by customer-service message; nothing to feature
                if kind in ("feature", "unfeature"):
                    continue
                if kind == "reply":
                    kind = "message"
                    params["openid"] = row["openid"]
            if action.kind == "notify":
                group = params.get("group") or "route"
                if group in ("route", "auto"):
                    group = decision.route or self.duty_group
                params["group"] = group
            enqueue(
                db,
                key=f"{row['id']}:{pos}:{kind}",
                comment_id=row["id"],
                case_id=case_id,
                account=row["account"],
                kind=kind,
                rule=action.rule,
                params=_masked(params, keep_template=True),
                at=at,
            )
        return Outcome(row["id"], prediction, decision, case_id)


def _masked(params: Any, *, keep_template: bool = False) -> Any:
    """Mask personal data in action parameters before they are stored."""
    if isinstance(params, dict):
        return {
            k: (v if keep_template and k == "template" else _masked(v, keep_template=False))
            for k, v in params.items()
        }
    if isinstance(params, list | tuple):
        return [_masked(v) for v in params]
    if isinstance(params, str):
        return pii.mask(params)
    return params


def _log_quarantine(row: dict[str, Any], exc: Exception, case_id: int) -> None:
    logger.opt(exception=exc).error(
        "comment {} could not be processed ({}, twice); opened review case #{} for an editor",
        row["id"], type(exc).__name__, case_id,
    )


__all__ = ["BatchClassifier", "Outcome", "Pipeline", "Predictor", "Rules"]
