"""The model registry: every trained model in ``models/<version>/``, and which one is live.

Layout (the folder is ``models/`` in the working directory, or ``$DIANHUA_MODELS``, or the
configuration's ``[model] registry``)::

    models/<version>/urgent.skops       the model (skops)
    models/<version>/urgent.card.json   its card: data hashes, counts, thresholds, metrics
    models/<version>/plots/*.png        PR curves, calibration, score histograms (valid, test)
    models/<version>/split/             the split it was trained on, when made with --resplit
    models/<version>/real_test.jsonl    the newest real labels, held out by date (with --add)
    models/live.json                    the promoted model (see below)
    models/shadow.json                  the candidate the daemon also scores, without acting
    models/history.jsonl                every promote, rollback and shadow change (the audit log)

**Where "live" is recorded.** ``live.json`` in the registry is the one source of truth: the
daemon re-reads it every few seconds (like ``rules.yaml``) and switches when it changes; the
daemon then writes the version it actually runs to the database's ``meta`` table
(``model_live``), which is what the stand-alone desk shows. ``promote`` writes ``live.json``
atomically (a temporary file, then ``os.replace``). With no ``live.json`` the bundled model
(``classifiers/bundled/``, or the configuration's ``[model] path``) is live.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import ModelError
from classifiers.paths import CARD_FILE, DEFAULT_MODEL, MODEL_FILE

ENV = "DIANHUA_MODELS"
LIVE_FILE = "live.json"
SHADOW_FILE = "shadow.json"
HISTORY_FILE = "history.jsonl"
BUNDLED = "bundled"
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]{0,120}$")


def default_root(root: str | Path | None = None) -> Path:
    """The registry folder: ``root``, else ``$DIANHUA_MODELS``, else ``./models``."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get(ENV) or "models")


def check_version(version: str) -> str:
    """A version that is safe as a folder name (ModelError otherwise)."""
    if not isinstance(version, str) or not _VERSION_RE.match(version) or ".." in version:
        raise ModelError(f"not a model version: {version!r}")
    return version


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ModelError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(value, dict) or not isinstance(value.get("version"), str):
        raise ModelError(f"{path} must be a JSON object with a string field `version`")
    return value


@dataclass(frozen=True)
class Entry:
    """One model in the registry (or the bundled one)."""

    version: str
    path: Path  # the .skops file
    card: dict[str, Any]

    @property
    def folder(self) -> Path:
        return self.path.parent


class Registry:
    """The models under one folder, and the pointers that say which is live and which shadows."""

    def __init__(self, root: str | Path | None = None, *, bundled: Path | None = None) -> None:
        self.root = default_root(root)
        self.bundled = Path(bundled) if bundled is not None else DEFAULT_MODEL

    # -- models -----------------------------------------------------------------------
    def folder(self, version: str) -> Path:
        return self.root / check_version(version)

    def has(self, version: str) -> bool:
        return version == BUNDLED or (self.folder(version) / MODEL_FILE).is_file()

    def entry(self, version: str) -> Entry:
        """The model called ``version`` (``bundled`` = classifiers/bundled/; ``live`` = the live one)."""
        if version == "live":
            version = self.live_version()
        if version == BUNDLED:
            path = self.bundled
        else:
            path = self.folder(version) / MODEL_FILE
            if not path.is_file():
                known = ", ".join(e.version for e in self.entries()) or "none"
                raise ModelError(f"no model {version!r} in {self.root} (known: {known}; "
                                 "`dianhua model list`)")
        from classifiers.persist import read_card

        return Entry(version, path, read_card(path))

    def entries(self) -> list[Entry]:
        """Every model in the registry, oldest first (by the card's created_at)."""
        from classifiers.persist import read_card

        out = []
        if self.root.is_dir():
            for sub in sorted(self.root.iterdir()):
                model = sub / MODEL_FILE
                if sub.is_dir() and model.is_file() and _VERSION_RE.match(sub.name):
                    try:
                        card = read_card(model)
                    except ModelError:
                        card = {"version": sub.name, "error": "card unreadable"}
                    out.append(Entry(sub.name, model, card))
        return sorted(out, key=lambda e: (str(e.card.get("created_at", "")), e.version))

    def adopt(self, folder: Path, version: str) -> Path:
        """Move a freshly trained model folder into the registry as ``models/<version>/``."""
        target = self.folder(version)
        if target.exists():
            raise ModelError(
                f"{target} already exists: a model from the same data and seed is in the registry "
                "(the same inputs give the same model); use it, or train with another --seed")
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.move(str(folder), str(target))
        return target

    # -- pointers ---------------------------------------------------------------------
    def live(self) -> dict[str, Any] | None:
        """``live.json`` (None when the bundled model is live)."""
        return _read_json(self.root / LIVE_FILE)

    def live_version(self) -> str:
        rec = self.live()
        return str(rec["version"]) if rec else BUNDLED

    def live_path(self) -> Path:
        """The .skops file of the live model."""
        return self.entry(self.live_version()).path

    def shadow(self) -> dict[str, Any] | None:
        return _read_json(self.root / SHADOW_FILE)

    def history(self) -> list[dict[str, Any]]:
        path = self.root / HISTORY_FILE
        if not path.is_file():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def _log(self, event: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / HISTORY_FILE).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, ensure_ascii=False) + "\n")

    def set_live(self, version: str, *, by: str, reason: str = "", forced: bool = False,
                 action: str = "promote", now: datetime | None = None) -> dict[str, Any]:
        """Make ``version`` live (atomically) and log it; returns the new ``live.json``."""
        self.entry(version)  # exists and has a card
        at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        previous = self.live_version()
        record = {"version": version, "previous": previous, "at": at, "by": by,
                  "action": action, "reason": reason, "forced": forced}
        _write_json(self.root / LIVE_FILE, record)
        self._log(record)
        return record

    def rollback(self, *, by: str, reason: str = "", now: datetime | None = None
                 ) -> dict[str, Any]:
        """Make the model that was live before the current one live again."""
        rec = self.live()
        if rec is None:
            raise ModelError("nothing to roll back: the bundled model is live "
                             f"(no {self.root / LIVE_FILE})")
        previous = str(rec.get("previous") or BUNDLED)
        return self.set_live(previous, by=by, reason=reason or f"rollback from {rec['version']}",
                             action="rollback", now=now)

    def set_shadow(self, version: str | None, *, by: str, now: datetime | None = None
                   ) -> dict[str, Any] | None:
        """Start (or with None, stop) scoring new comments with ``version`` in shadow."""
        at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        path = self.root / SHADOW_FILE
        if version is None:
            path.unlink(missing_ok=True)
            self._log({"action": "shadow-off", "at": at, "by": by})
            return None
        self.entry(version)
        record = {"version": version, "since": at, "by": by}
        _write_json(path, record)
        self._log({"action": "shadow", **record})
        return record


__all__ = ["BUNDLED", "CARD_FILE", "LIVE_FILE", "SHADOW_FILE", "ENV", "Entry", "Registry", "check_version", "default_root"]
