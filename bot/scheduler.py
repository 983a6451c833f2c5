"""When each job runs, never overlapping. The only module that imports APScheduler.

APScheduler says "Execution of job … skipped: maximum number of running instances reached"
(and "Run time of job … was missed by …") every time a job is still busy at its next turn —
about twice a second under load. Those lines are dropped; :class:`SkipReporter` counts the
skipped turns and says it in one warning per job at most once a minute instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from loguru import logger

from bot.errors import StoreError

WARN_EVERY_SECONDS = 60.0
_APSCHEDULER_LOGGERS = ("apscheduler.scheduler", "apscheduler.executors.default")


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[], object]
    seconds: float
    jitter: float = 0.0


class SkipReporter:
    """Counts skipped turns per job; one warning line per job per ``every`` seconds."""

    def __init__(self, every: float = WARN_EVERY_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._skipped: dict[str, int] = {}
        self._last: dict[str, float] = {}

    def _due(self, key: str) -> tuple[int, float | None] | None:
        """Count one occurrence of ``key``; (count, seconds since the last line) when a line is due."""
        now = self._monotonic()
        with self._lock:
            self._skipped[key] = self._skipped.get(key, 0) + 1
            last = self._last.get(key)
            if last is not None and now - last < self.every:
                return None
            count, self._skipped[key] = self._skipped[key], 0
            self._last[key] = now
        return count, None if last is None else now - last

    def skipped(self, job_id: str, why: str = "still running") -> None:
        due = self._due(job_id)
        if due is None:
            return
        count, since = due
        logger.warning(
            "job {} is slower than its interval ({}): {} turn(s) skipped{}; it keeps running, "
            "one turn at a time (this line repeats at most every {:.0f} s)",
            job_id, why, count, "" if since is None else f" in the last {since:.0f} s",
            self.every,
        )

    def store_trouble(self, job_id: str, exc: StoreError) -> None:
        due = self._due(f"{job_id}:store")
        if due is None:
            return
        count, since = due
        logger.warning(
            "job {}: database trouble ({}); {} failed turn(s){}; it tries again at its next turn "
            "(this line repeats at most every {:.0f} s)",
            job_id, exc, count, "" if since is None else f" in the last {since:.0f} s", self.every,
        )

    def on_event(self, event: JobEvent) -> None:
        why = "still running" if event.code == EVENT_JOB_MAX_INSTANCES else "started late"
        self.skipped(str(event.job_id), why)


class _DropSkipLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not ("maximum number of running instances reached" in text
                    or "was missed by" in text)


_DROP = _DropSkipLines()


class Scheduler:
    """A background scheduler: each job at most once at a time, always on its own thread.

    Every job has a one-thread executor of its own instead of sharing APScheduler's default
    pool of ten. With a shared pool the poll job (which classifies and writes every batch)
    ran on whichever thread was idle, so over time every pool thread's malloc arena and SQLite
    read connection grew to the pipeline's working set and kept it: the daemon's resident
    size grew with the comments it processed (issue 16, docs/benchmarks.md §4b). Pinned, that
    working set lives in one arena and one read connection.
    """

    def __init__(self, jobs: list[Job], *, reporter: SkipReporter | None = None) -> None:
        self.reporter = reporter or SkipReporter()
        # each executor logs as apscheduler.executors.<its name> (the job's id here)
        names = (*_APSCHEDULER_LOGGERS, *(f"apscheduler.executors.{job.id}" for job in jobs))
        for name in names:
            log = logging.getLogger(name)
            if _DROP not in log.filters:
                log.addFilter(_DROP)
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={job.id: ThreadPoolExecutor(max_workers=1) for job in jobs},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        )
        self._scheduler.add_listener(self.reporter.on_event,
                                     EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        for job in jobs:
            self._scheduler.add_job(
                _guard(job, self.reporter),
                "interval",
                seconds=job.seconds,
                id=job.id,
                name=job.id,
                executor=job.id,
                jitter=job.jitter or None,
                replace_existing=True,
            )

    @property
    def job_ids(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()]

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop scheduling; with ``wait`` the jobs in hand finish first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)


def _guard(job: Job, reporter: SkipReporter) -> Callable[[], None]:
    """A job that fails logs the error and runs again at its next turn; the daemon lives on.

    A store error (locked, full, I/O) is the database's trouble, not a bug: one line without a
    traceback, at most once a minute per job.
    """

    def run() -> None:
        try:
            job.func()
        except StoreError as exc:
            reporter.store_trouble(job.id, exc)
        except Exception as exc:
            logger.opt(exception=exc).error("job {} failed: {}", job.id, type(exc).__name__)

    run.__name__ = job.id
    return run


__all__ = ["Job", "Scheduler", "SkipReporter"]
