"""Where the classifier's files live: the repository's ``data/`` and the shipped model."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DATA_DIR = REPO_DIR / "data"
BUNDLED_DIR = PACKAGE_DIR / "bundled"

MODEL_FILE = "urgent.skops"
CARD_FILE = "urgent.card.json"
DEFAULT_MODEL = BUNDLED_DIR / MODEL_FILE

USERDICT = DATA_DIR / "userdict.txt"
KEYWORDS = DATA_DIR / "keywords_baseline.txt"
SPLITS = ("train", "valid", "test")


def card_path_for(model_path: Path) -> Path:
    """``…/urgent.skops`` → ``…/urgent.card.json`` (the card sits beside the model)."""
    name = model_path.name
    stem = name[: -len(".skops")] if name.endswith(".skops") else model_path.stem
    return model_path.with_name(f"{stem}.card.json")


__all__ = [
    "BUNDLED_DIR",
    "CARD_FILE",
    "DATA_DIR",
    "DEFAULT_MODEL",
    "KEYWORDS",
    "MODEL_FILE",
    "PACKAGE_DIR",
    "REPO_DIR",
    "SPLITS",
    "USERDICT",
    "card_path_for",
]
