"""When each job runs, never overlapping. The only module that imports APScheduler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from loguru import logger


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[], object]
    seconds: float
    jitter: float = 0.0


class Scheduler:
    """A background scheduler: one thread per running job, each job at most once at a time."""

    def __init__(self, jobs: list[Job]) -> None:
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        )
        for job in jobs:
            self._scheduler.add_job(
                _guard(job),
                "interval",
                seconds=job.seconds,
                id=job.id,
                name=job.id,
                jitter=job.jitter or None,
                replace_existing=True,
            )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop scheduling; with ``wait`` the jobs in hand finish first."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)


def _guard(job: Job) -> Callable[[], None]:
    """A job that fails logs the error and runs again at its next turn; the daemon lives on."""

    def run() -> None:
        try:
            job.func()
        except Exception as exc:
            logger.opt(exception=exc).error("job {} failed: {}", job.id, type(exc).__name__)

    run.__name__ = job.id
    return run


__all__ = ["Job", "Scheduler"]
