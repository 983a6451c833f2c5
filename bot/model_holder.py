"""Hot swap of the classifier: follow the registry's ``live.json`` (and ``shadow.json``).

Like :class:`bot.rules.RulesHolder` for ``rules.yaml``: the daemon calls :meth:`ModelHolder.check`
every few seconds from its own scheduler job (never from the poll/classify job, so loading a
model never delays a comment). When ``live.json`` changed, the named model is loaded in that
job's thread; if it loads, the holder switches to it in one assignment and logs
``model switched: old → new``; if it does not, the error is logged once and the old model keeps
running. The classify step reads :attr:`ModelHolder.current` once per batch, so a batch is
scored by one model and every classification row records the version that scored it.

``shadow.json`` names a candidate scored alongside (never acted on); see :mod:`bot.shadow`.
The version actually running is written to the database's ``meta`` table (``model_live``,
``model_shadow``) for the stand-alone desk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from loguru import logger

from bot.errors import DianhuaError, ModelError
from classifiers.prediction import Prediction

Loader = Callable[[Path | None], Any]


def _default_loader(path: Path | None) -> Any:
    from classifiers import load_model

    return load_model(path)


class ModelHolder:
    """The live model (``current``, never None) and the shadowed candidate (``shadow`` or None)."""

    def __init__(self, *, registry: Path | None = None, fallback: Path | None = None,
                 model: Any = None, loader: Loader = _default_loader,
                 on_switch: Callable[[str, str], None] | None = None) -> None:
        """``registry``: the folder whose ``live.json`` to follow (None: a pinned model).

        ``fallback``: the model when nothing is promoted (the config's path or the bundled
        one). ``model``: an already loaded model to start with (tests, the demo).
        """
        from classifiers.registry import Registry

        self._registry = Registry(registry) if registry is not None else None
        self._fallback = fallback
        self._loader = loader
        self._on_switch = on_switch
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self.shadow: Any = None
        self._seen = self._pointer_text("live.json")
        self._seen_shadow = ""
        if model is None:
            model = self._load_pointed(self._seen, at_start=True)
        self._current = model
        logger.info("model loaded: {}", self.version)

    # -- reading --------------------------------------------------------------------------
    @property
    def current(self) -> Any:
        return self._current

    @property
    def version(self) -> str:
        return str(getattr(self._current, "version", "") or "")

    @property
    def shadow_version(self) -> str:
        return str(getattr(self.shadow, "version", "") or "") if self.shadow is not None else ""

    def predict_many(self, texts: Sequence[str], batch_size: int = 256) -> list[Prediction]:
        """The pipeline's predictor: one model per call, read once (a swap never splits a batch)."""
        model = self._current
        return list(model.predict_many(texts, batch_size=batch_size))

    # -- switching ------------------------------------------------------------------------
    def _pointer_text(self, name: str) -> str:
        if self._registry is None:
            return ""
        try:
            return (self._registry.root / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return ""
        except OSError as exc:
            return f"<unreadable: {exc}>"

    def _path_for(self, version: str) -> Path | None:
        assert self._registry is not None
        if version == "bundled":
            return self._fallback
        return self._registry.entry(version).path

    def _load_pointed(self, text: str, *, at_start: bool = False) -> Any:
        """Load what ``live.json`` names (the fallback when it names nothing)."""
        if not text or self._registry is None:
            return self._loader(self._fallback)
        try:
            record = self._registry.live()
            version = str(record["version"]) if record else "bundled"
            return self._loader(self._path_for(version))
        except DianhuaError as exc:
            if not at_start:
                raise
            self.last_error = f"the promoted model could not be loaded ({exc}); using the default"
            logger.error("model: {}", self.last_error)
            return self._loader(self._fallback)

    def check(self) -> bool:
        """Switch when ``live.json`` changed and its model loads. True when switched."""
        if self._registry is None:
            return False
        with self._lock:
            self._check_shadow()
            text = self._pointer_text("live.json")
            if text == self._seen:
                return False
            self._seen = text
            old = self.version
            try:
                new = self._load_pointed(text)
            except (DianhuaError, OSError, ValueError) as exc:
                message = f"{exc}" if isinstance(exc, ModelError) else f"{type(exc).__name__}: {exc}"
                self.last_error = f"new model not loaded ({message}); keeping {old}"
                logger.error("model: {}", self.last_error)
                return False
            self.last_error = None
            if str(getattr(new, "version", "")) == old:
                return False
            self._current = new  # one assignment: the next batch uses it
            logger.info("model switched: {} → {}", old, self.version)
            if self._on_switch:
                self._on_switch(old, self.version)
            return True

    def _check_shadow(self) -> None:
        text = self._pointer_text("shadow.json")
        if text == self._seen_shadow:
            return
        self._seen_shadow = text
        if not text:
            if self.shadow is not None:
                logger.info("shadow model {} stopped", self.shadow_version)
            self.shadow = None
            return
        assert self._registry is not None
        try:
            record = self._registry.shadow()
            if record is None:
                self.shadow = None
                return
            self.shadow = self._loader(self._path_for(str(record["version"])))
        except (DianhuaError, OSError, ValueError) as exc:
            logger.error("model: shadow model not loaded ({}); no shadow scoring", exc)
            self.shadow = None
            return
        logger.info("shadow model {} started (scored, never acted on)", self.shadow_version)


__all__ = ["ModelHolder"]
