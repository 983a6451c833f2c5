"""Classification off the writer's thread: worker processes that score batches of comments.

The daemon's writer thread (the poll job) evaluates the rules and writes every decision; the
classifier is a pure function of (model, text), so it can run anywhere. A
:class:`ClassifyPool` holds ``workers`` processes forked from the daemon after the model is
loaded: they share the model's memory with the daemon (fork, copy-on-write; ``gc.freeze`` keeps
the collector from touching the shared pages) and score the batches the writer hands them
while it records the previous batch's decisions.

Nothing is written by a worker. A worker that dies (SIGKILL, out of memory) breaks the pool:
:meth:`ClassifyPool.classify` raises :class:`WorkerLost`, the writer starts a new pool and
asks again for the same batch (classifying twice is harmless). When the model is switched
(:mod:`bot.model_holder`), the next batch starts a new pool forked with the new model; the old
one finishes what it has in hand and exits. A worker whose daemon is gone (SIGKILL) exits
within a second (it watches its parent).

``[pipeline] workers``: ``auto`` (one per core, less one for the writer; at least one), ``0``
(classify on the writer's thread, as before issue 16: tests, tiny machines) or a number.
"""

from __future__ import annotations

import concurrent.futures as cf
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from loguru import logger

from bot.errors import WorkerLost
from classifiers.prediction import Prediction

MAX_AUTO_WORKERS = 4


def auto_workers(cores: int | None = None) -> int:
    """``auto``: one worker per core beyond the writer's, at least one, at most four."""
    n = cores if cores is not None else (len(os.sched_getaffinity(0))
                                         if hasattr(os, "sched_getaffinity") else os.cpu_count())
    return max(1, min(MAX_AUTO_WORKERS, int(n or 1) - 1))


# -- inside a worker ------------------------------------------------------------------------
_model: Any = None


def _init(model: Any, parent: int) -> None:
    """Runs once in each worker, right after the fork: the model is inherited, not loaded."""
    global _model
    _model = model
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the daemon's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    gc.enable()

    def watch() -> None:  # the daemon was killed: do not linger as an orphan
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _classify(version: str, texts: list[str]) -> list[Prediction]:
    if str(getattr(_model, "version", "") or "") != version:
        raise RuntimeError(f"worker holds model {getattr(_model, 'version', '')!r}, "
                           f"asked for {version!r}")
    return list(_model.predict_many(texts))


def _ready() -> int:
    return os.getpid()


# -- in the daemon --------------------------------------------------------------------------
class ClassifyPool:
    """``workers`` processes that classify with the model ``current()`` returns."""

    def __init__(self, current: Callable[[], Any], workers: int) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self.current = current
        self.workers = workers
        self.restarts = 0  # pools started after the first (a worker died, the model changed)
        self._lock = threading.Lock()
        self._executor: cf.ProcessPoolExecutor | None = None
        self._model: Any = None
        self._start()

    def _start(self) -> None:
        model = self.current()
        # warm up here (jieba's dictionary, compiled patterns…) so the workers inherit it all
        model.predict_many(["预热：这条留言只用来让分类器准备好"])
        gc.collect()
        gc.freeze()  # the shared pages stay shared: the workers' collector never walks them
        try:
            ex = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("fork"),
                initializer=_init, initargs=(model, os.getpid()))
            # fork every worker now, from this thread, rather than on the first batch
            for f in [ex.submit(_ready) for _ in range(self.workers)]:
                f.result()
        finally:
            gc.unfreeze()
        self._executor, self._model = ex, model
        logger.info("classifier pool: {} worker process(es), model {}", self.workers,
                    getattr(model, "version", ""))

    def _restart(self, why: str) -> None:
        old = self._executor
        self.restarts += 1
        logger.warning("classifier pool restarted ({})", why)
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)
        self._start()

    def pids(self) -> list[int]:
        ex = self._executor
        procs = getattr(ex, "_processes", None) or {}
        return sorted(int(p) for p in procs)

    def submit(self, texts: Sequence[str]) -> cf.Future[list[Prediction]]:
        """Start classifying ``texts`` with the live model; restarts the pool after a swap."""
        with self._lock:
            if self.current() is not self._model:
                self._restart(f"model switched to {getattr(self.current(), 'version', '')}")
            assert self._executor is not None
            try:
                return self._executor.submit(_classify, str(getattr(self._model, "version", "")
                                                            or ""), list(texts))
            except (BrokenProcessPool, RuntimeError):
                self._restart("a worker process died")
                return self._executor.submit(
                    _classify, str(getattr(self._model, "version", "") or ""), list(texts))

    def result(self, future: cf.Future[list[Prediction]]) -> list[Prediction]:
        """The batch's predictions; :class:`WorkerLost` when a worker died meanwhile."""
        try:
            return future.result()
        except cf.CancelledError as exc:  # its pool was replaced (a model switch)
            raise WorkerLost("its workers were replaced") from exc
        except BrokenProcessPool as exc:
            with self._lock:
                ex = self._executor
                if ex is not None and getattr(ex, "_broken", False):
                    self._restart("a worker process died")
            raise WorkerLost("a worker process died") from exc

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None


__all__ = ["ClassifyPool", "WorkerLost", "auto_workers"]
