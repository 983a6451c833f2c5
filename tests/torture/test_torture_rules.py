"""Mutated rules.yaml files: each loads, or raises RulesError whose problems say where; never
another exception. ``DIANHUA_TORTURE_MUTATIONS`` (default 200) sets how many random edits.
The count of each outcome is printed (run with ``-s``)."""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
from torture_inputs import rules_mutations

from bot.errors import RulesError
from bot.rules import load_rules_text

pytestmark = pytest.mark.torture


def test_mutated_rules_files_load_or_say_where_they_are_wrong() -> None:
    n = int(os.environ.get("DIANHUA_TORTURE_MUTATIONS", "200"))
    outcomes: Counter[str] = Counter()
    slowest = (0.0, "")
    total = 0
    for kind, text in rules_mutations(n, seed=int(os.environ.get("DIANHUA_TORTURE_SEED", "7"))):
        total += 1
        started = time.perf_counter()
        try:
            load_rules_text(text, "rules.yaml")
        except RulesError as exc:
            assert exc.problems, kind
            for p in exc.problems:
                assert p.file == "rules.yaml" and p.message.strip(), (kind, str(p))
                assert "Traceback" not in p.message, (kind, str(p))
            located = any(p.line is not None for p in exc.problems)
            outcomes["RulesError, located (file:line)" if located
                     else "RulesError, file-level"] += 1
        else:
            outcomes["loaded"] += 1
        took = time.perf_counter() - started
        slowest = max(slowest, (took, kind))
    print(f"\nrules.yaml: {total} mutations -> {dict(sorted(outcomes.items()))}; "
          f"slowest {slowest[0]:.2f}s ({slowest[1]})")
    assert total >= 200
    assert outcomes["loaded"] + outcomes["RulesError, located (file:line)"] \
        + outcomes["RulesError, file-level"] == total
