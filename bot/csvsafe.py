"""CSV cells that a spreadsheet will not run: formula injection neutralised (OWASP).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their
full-width forms ``＝ ＋ － ＠``) is prefixed with a single quote, so Excel, WPS and LibreOffice
show it as text instead of evaluating ``=HYPERLINK(...)`` or ``=cmd|...``.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: safe_cell(v) for k, v in row.items()}


__all__ = ["FORMULA_STARTS", "safe_cell", "safe_row"]
