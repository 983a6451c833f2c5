"""One version source, and a scikit-learn pin that matches the bundled model."""

from __future__ import annotations

import json
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

import bot

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_version_is_written_in_one_place() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project.get("dynamic", [])
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "bot.__version__"}
    assert version("dianhua") == bot.__version__


def test_scikit_learn_is_pinned_to_the_bundled_models_major_minor() -> None:
    """A fresh install must get the scikit-learn the bundled model was made with (persist.py
    refuses another major.minor, so `>=1.5` would install a bot that cannot load its model)."""
    card = json.loads((ROOT / "classifiers" / "bundled" / "urgent.card.json").read_text("utf-8"))
    made_with = card["libraries"]["sklearn"]
    major, minor = (int(x) for x in made_with.split(".")[:2])
    (req,) = [Requirement(d) for d in PYPROJECT["project"]["dependencies"]
              if Requirement(d).name == "scikit-learn"]
    assert req.specifier.contains(made_with)
    assert not req.specifier.contains(f"{major}.{minor + 1}.0")
    assert not req.specifier.contains(f"{major}.{minor - 1}.9") if minor else True
