"""The model page: the live model's card and plots, the shadowed candidate, the disagreements."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from bot import pii
from bot.web.auth import Handler, signed_in
from bot.web.desk import Desk

_PNG = re.compile(r"^[A-Za-z0-9_.\-]{1,80}\.png$")
_DIR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]{0,120}$")


def _registry(desk: Desk) -> Any:
    root = getattr(desk.config, "model_registry", None)
    if root is None:
        return None
    from classifiers.registry import Registry

    return Registry(root)


def card_table(card: dict[str, Any]) -> list[tuple[str, str]]:
    """The parts of a card an editor or analyst reads, as (label, value) rows."""
    m = card.get("metrics") or {}
    th = card.get("thresholds") or {}
    counts = card.get("counts") or {}
    data = card.get("training_data") or {}
    rows = [("版本 version", str(card.get("version", ""))),
            ("训练时间 created", str(card.get("created_at", ""))),
            ("阈值 thresholds", f"review {th.get('review', '—')} · auto {th.get('auto', '—')}"),
            ("训练数据 sha256", str(data.get("sha256", ""))[:16] + "…"),
            ("训练 / 验证 / 测试", " / ".join(str((counts.get(k) or {}).get("n", "—"))
                                          for k in ("train", "valid", "test")))]
    added = data.get("added")
    if added:
        rows.append(("真实标注 real labels", f"{added.get('train', 0)} 条参与训练，"
                     f"{added.get('real_test', 0)} 条最新的留作测试；权重 {added.get('weights')}"))
    for key, label in (("validation", "验证集"), ("test", "测试集"), ("real_test", "真实留言测试集")):
        s = m.get(key)
        if s:
            rows.append((f"{label} {key}",
                         f"{s.get('n')} 条（{s.get('urgent')} 紧急）· AP {s.get('average_precision')}"
                         f" · review 召回 {s['review']['recall']} 精确 {s['review']['precision']}"
                         f" · auto 精确 {s['auto']['precision']} 召回 {s['auto']['recall']}"))
    return rows


def _plots(folder: Path, prefix: str) -> list[tuple[str, str]]:
    """(caption, url) of the PNGs in ``folder``."""
    if not folder.is_dir():
        return []
    return [(p.stem, f"{prefix}/{p.name}") for p in sorted(folder.glob("*.png"))]


def routes(desk: Desk) -> dict[str, Handler]:
    guard = signed_in(desk)

    @guard
    async def model_page(request: Request) -> Response:
        from bot.shadow import disagreements

        reg = _registry(desk)
        model = getattr(desk.host, "model", None)
        card = getattr(model, "card", None) or {}
        live = getattr(model, "version", "") or desk.store.get_meta("model_live") or ""
        health = desk.health() or {}
        plots: list[tuple[str, str]] = []
        compare: list[tuple[str, str]] = []
        shadow = None
        history: list[dict[str, Any]] = []
        if reg is not None:
            live_name = reg.live_version()
            if live_name != "bundled":
                plots = _plots(reg.folder(live_name) / "plots", f"/model/plot/{live_name}/plots")
            shadow = reg.shadow()
            if shadow and _DIR.match(str(shadow.get("version", ""))):
                sv = shadow["version"]
                sub = f"compare-{live_name}"
                if _DIR.match(sub):
                    compare = _plots(reg.folder(sv) / sub, f"/model/plot/{sv}/{sub}")
            history = list(reversed(reg.history()))[:10]
        rows = []
        for r in disagreements(desk.store):
            rows.append({**r, "text": pii.mask(r.get("content") or "")})
        return desk.render(
            request, "model.html", title="模型", live=live, card=card_table(card),
            model_error=getattr(getattr(desk.host, "models", None), "last_error", None)
            or health.get("model_error"), shadow=shadow, plots=plots, compare=compare,
            rows=rows, history=history,
        )

    @guard
    async def plot(request: Request) -> Response:
        reg = _registry(desk)
        version = str(request.path_params["version"])
        sub = str(request.path_params["sub"])
        name = str(request.path_params["name"])
        if reg is None or not _DIR.match(version) or not _DIR.match(sub) or not _PNG.match(name):
            return Response("not found", status_code=404)
        path = reg.root / version / sub / name
        if not path.is_file():
            return Response("not found", status_code=404)
        return FileResponse(path, media_type="image/png")

    return {"model": model_page, "plot": plot}


__all__ = ["card_table", "routes"]
