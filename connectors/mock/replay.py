"""Replaying a scenario of timed comments into the mock.

A scenario is JSON Lines, one comment per line::

    {"at": 3.5, "article": "文章标题 or msg_data_id", "openid": "o_demo_1", "content": "..."}

* ``at`` -- seconds from the start of the replay (number ≥ 0); lines may come in any order.
* ``article`` -- a title (the first article with that title; created if missing) or a
  msg_data_id (integer or digit string; must exist).
* ``index`` -- optional, 0-based, default 0 (only used with a msg_data_id).
* ``openid`` -- string, or null for a commenter without a WeChat identity.
* ``content`` -- the comment text (non-empty string).

Blank lines are skipped. A bad line stops the whole file from loading, naming the line.
With ``speed`` 2.0 a scenario of 60 s plays in 30 s.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from connectors.mock.state import AdminError, MockState

MAX_EVENTS = 100_000


@dataclass(frozen=True)
class ScenarioEvent:
    at: float
    article: str | int
    index: int
    openid: str | None
    content: str
    line: int


class ScenarioError(ValueError):
    """A scenario file or line is malformed; the message names file and line."""


def parse_scenario(lines: list[Any], source: str = "<events>") -> list[ScenarioEvent]:
    """Events from JSONL text lines or already-decoded objects, sorted by ``at``."""
    events: list[ScenarioEvent] = []
    for n, raw in enumerate(lines, start=1):
        if isinstance(raw, str):
            if not raw.strip():
                continue
            try:
                raw = json.loads(raw)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise ScenarioError(f"{source}:{n}: not valid JSON ({getattr(exc, 'msg', exc)})") from exc
        events.append(_event(raw, f"{source}:{n}", n))
        if len(events) > MAX_EVENTS:
            raise ScenarioError(f"{source}: more than {MAX_EVENTS} events")
    events.sort(key=lambda e: e.at)
    return events


def load_scenario(path: str | Path) -> list[ScenarioEvent]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ScenarioError(f"{p}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{p}: not UTF-8 text (byte {exc.start}); a scenario is JSON Lines "
                            "in UTF-8 (see docs/mock.md)") from exc
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read ({exc.strerror or type(exc).__name__})") from exc
    return parse_scenario(text.splitlines(), str(p))


def _event(obj: object, where: str, line: int) -> ScenarioEvent:
    if not isinstance(obj, dict):
        raise ScenarioError(f"{where}: each line must be a JSON object")
    unknown = sorted(set(obj) - {"at", "article", "index", "openid", "content"})
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {unknown}")
    at = obj.get("at")
    if isinstance(at, bool) or not isinstance(at, int | float) or not 0 <= at < 10**7:
        raise ScenarioError(f"{where} at: must be a number of seconds ≥ 0")
    article = obj.get("article")
    if isinstance(article, bool) or not isinstance(article, str | int) or article == "":
        raise ScenarioError(f"{where} article: must be a title or a msg_data_id")
    index = obj.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 100:
        raise ScenarioError(f"{where} index: must be an integer 0..99")
    openid = obj.get("openid")
    if openid is not None and not isinstance(openid, str):
        raise ScenarioError(f"{where} openid: must be a string or null")
    content = obj.get("content")
    if not isinstance(content, str) or not content:
        raise ScenarioError(f"{where} content: must be a non-empty string")
    return ScenarioEvent(float(at), article, index, openid, content, line)


@dataclass
class ReplayJob:
    """One replay running in a background thread."""

    id: int
    source: str
    events: list[ScenarioEvent]
    speed: float
    done: int = 0
    errors: list[str] = field(default_factory=list)
    state: str = "running"
    comments: list[dict[str, Any]] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def status(self) -> dict[str, Any]:
        return {"replay_id": self.id, "source": self.source, "speed": self.speed,
                "events": len(self.events), "done": self.done, "errors": self.errors[-20:],
                "state": self.state,
                "duration_s": round(self.events[-1].at / self.speed, 3) if self.events else 0.0}

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the replay is finished; True if it finished."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state != "running"


class Replayer:
    """Starts and tracks replays; :meth:`stop` ends them all (server shutdown)."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        self._stop = threading.Event()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.jobs: dict[int, ReplayJob] = {}

    def start(self, events: list[ScenarioEvent], *, speed: float = 1.0,
              source: str = "<events>") -> ReplayJob:
        if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0 < speed <= 1e6:
            raise AdminError(400, "speed must be a number > 0 (2.0 plays twice as fast)")
        with self._lock:
            job = ReplayJob(next(self._ids), source, events, float(speed))
            self.jobs[job.id] = job
        job._thread = threading.Thread(target=self._run, args=(job,), daemon=True,
                                       name=f"mock-replay-{job.id}")
        job._thread.start()
        return job

    def stop(self) -> None:
        self._stop.set()

    def _run(self, job: ReplayJob) -> None:
        start = time.monotonic()
        for event in job.events:
            delay = start + event.at / job.speed - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                job.state = "stopped"
                return
            try:
                msg_data_id, index = self._resolve(event)
                cid = self.state.add_comment(msg_data_id, index, event.openid, event.content)
                job.comments.append({"msg_data_id": msg_data_id, "index": index,
                                     "user_comment_id": cid, "line": event.line})
            except AdminError as exc:
                job.errors.append(f"line {event.line}: {exc.message}")
            except Exception as exc:  # the replay must never kill the server
                logger.exception("replay {} line {} failed", job.id, event.line)
                job.errors.append(f"line {event.line}: {type(exc).__name__}")
            job.done += 1
        job.state = "finished"

    def _resolve(self, event: ScenarioEvent) -> tuple[int, int]:
        ref = event.article
        if isinstance(ref, int) or ref.isascii() and ref.isdigit():
            msg_data_id = int(ref)
            if not self.state.has_article(msg_data_id, event.index):
                raise AdminError(404, f"no article msg_data_id={msg_data_id} index={event.index}")
            return msg_data_id, event.index
        with self._lock:  # two events naming a new title must create it once
            found = self.state.find_article(ref)
            return found if found is not None else self.state.add_article(ref)


__all__ = ["ReplayJob", "Replayer", "ScenarioError", "ScenarioEvent", "load_scenario",
           "parse_scenario"]
