"""The report's pictures, drawn with matplotlib (Agg, no display) as PNG bytes.

Three plots: comments and urgent comments per hour, the comment→reply time distribution, and
comments per category. Chinese labels use a CJK font when the machine has one (WenQuanYi,
Noto CJK); without one the glyphs show as boxes but nothing fails.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

FONTS = ["WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
         "Microsoft YaHei", "SimHei", "DejaVu Sans"]
RED, GREY, BLUE = "#c0392b", "#95a5a6", "#2c6fbb"
# Where Debian/Ubuntu put CJK fonts (fonts-wqy-zenhei, fonts-noto-cjk); registered explicitly
# because matplotlib's font cache may predate them.
FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
_lock = threading.Lock()  # pyplot's state is global; the desk may draw from several threads
_fonts_added = False
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _add_fonts() -> None:
    global _fonts_added
    if _fonts_added:
        return
    _fonts_added = True
    for path in FONT_FILES:
        if Path(path).is_file():
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):  # an unreadable font: draw without it
                continue


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():  # "Glyph ... missing" when no CJK font: boxes, not noise
        warnings.simplefilter("ignore", UserWarning)
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _figure(width: float = 8.0, height: float = 3.0) -> tuple[Figure, Any]:
    _add_fonts()
    plt.rcParams["font.sans-serif"] = FONTS
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["axes.unicode_minus"] = False
    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def hourly(series: list[dict[str, Any]]) -> bytes:
    """Bars of comments per hour (Beijing time) with the urgent ones in red."""
    with _lock:
        fig, ax = _figure()
        xs = list(range(len(series)))
        ax.bar(xs, [s["comments"] for s in series], color=GREY, label="全部留言")
        ax.bar(xs, [s["urgent"] for s in series], color=RED, label="紧急（auto + review）")
        step = max(1, len(series) // 12)
        ax.set_xticks(xs[::step])
        ax.set_xticklabels([s["hour"][5:].replace(" ", "\n") for s in series][::step], fontsize=8)
        ax.set_ylabel("条数")
        ax.set_title("每小时留言（北京时间）" if series and ":" in series[0]["hour"] else "每天留言（北京时间）")
        ax.legend(loc="upper left", frameon=False, fontsize=8)
        return _png(fig)


def response_times(seconds: list[float]) -> bytes:
    """Histogram of comment→reply times in seconds."""
    with _lock:
        fig, ax = _figure()
        if seconds:
            ax.hist(seconds, bins=min(30, max(5, len(seconds))), color=BLUE)
        else:
            ax.text(0.5, 0.5, "这段时间没有公开回复", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("留言到公开回复（秒）")
        ax.set_ylabel("回复数")
        ax.set_title("回复用时分布")
        return _png(fig)


def categories(rows: list[dict[str, Any]], limit: int = 12) -> bytes:
    """Horizontal bars: comments per category, the urgent part in red."""
    rows = sorted(rows, key=lambda r: (r["comments"], r["urgent"]))[-limit:]
    with _lock:
        fig, ax = _figure(8.0, max(2.0, 0.35 * len(rows) + 1))
        names = [str(r["name"]) for r in rows]
        ax.barh(names, [r["comments"] for r in rows], color=GREY, label="全部留言")
        ax.barh(names, [r["urgent"] for r in rows], color=RED, label="紧急")
        ax.set_xlabel("条数")
        ax.set_title("按类别")
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        return _png(fig)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


__all__ = ["categories", "data_uri", "hourly", "response_times"]
