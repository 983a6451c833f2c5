"""The report as HTML (plots embedded as data: URIs, one self-contained file), Markdown or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot import pii
from bot.report import plots
from bot.report.data import duration

TEMPLATES = Path(__file__).parent / "templates"


def images(report: dict[str, Any]) -> dict[str, bytes]:
    """The three plots as PNG bytes."""
    return {
        "hourly": plots.hourly(report["hourly"]),
        "response": plots.response_times(report["reply_times"]),
        "categories": plots.categories(report["by_category"]),
    }


def to_html(report: dict[str, Any]) -> str:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    uris = {name: plots.data_uri(png) for name, png in images(report).items()}
    return pii.mask(env.get_template("report.html").render(r=report, t=report["totals"],
                                                           images=uris, dur=duration))


def to_json(report: dict[str, Any]) -> str:
    return pii.mask(json.dumps({k: v for k, v in report.items() if k != "reply_times"},
                               ensure_ascii=False, indent=2))


def to_markdown(report: dict[str, Any]) -> str:
    t, p = report["totals"], report["period"]
    lines = [
        f"# 留言与案件报告 {p['since']} – {p['until']}（北京时间）",
        "",
        f"- 留言 **{t['comments']}** 条"
        + (f"（含私信 {t['private_messages']} 条）" if t["private_messages"] else "")
        + f"，紧急 **{t['urgent']}** 条（自动 {t['bands']['auto']}，审核 {t['bands']['review']}）",
        f"- 公开回复 **{t['replies']}** 条，"
        + (f"私信回复 {t['private_answers']} 条，" if t["private_answers"] else "")
        + f"部门群通知 {t['notifications']} 条",
        f"- 新案件 **{t['cases_opened']}** 件（P1 {t['cases_by_priority']['P1']}，P2 {t['cases_by_priority']['P2']}），"
        f"办结 {t['cases_resolved']} 件，超时 {t['cases_late']} 件，仍在办 {t['cases_open_now']} 件",
        "",
        "| 用时 | 件数 | p50 | p90 | 最长 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, key in (("留言 → 公开回复", "reply_seconds"), ("开案 → 办结", "resolve_seconds")):
        s = report[key]
        lines.append(f"| {label} | {s['n']} | {duration(s['p50'])} | {duration(s['p90'])} | {duration(s['max'])} |")
    for key, title in (("by_category", "按类别"), ("by_route", "按处理部门"), ("by_article", "按文章")):
        lines += ["", f"## {title}", "", "| 名称 | 留言 | 紧急 | 案件 | 回复 |", "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {r['name']} | {r['comments']} | {r['urgent']} | {r['cases']} | {r['replies']} |"
                  for r in report[key]]
    if report["alerts"]:
        lines += ["", "## 突增提醒", ""]
        lines += [f"- {a['at']} {a['rule']}：{a['per']} {a['scope']} {a['count']} 条（往常 {a['baseline']:.1f}）→ {a['group']}"
                  for a in report["alerts"]]
    lines += ["", f"## 用时最长的 {len(report['slowest'])} 件案件", ""]
    for c in report["slowest"]:
        lines.append(f"- **#{c['id']}** {c['priority']} {c['status_label']}，用时 {duration(c['seconds'])}，"
                     f"{c['route'] or '—'}：{c['text']}")
        lines += [f"  - {e['at']} {e['actor']} {e['kind']}{' → ' + e['to'] if e['to'] else ''}"
                  f"{'：' + e['note'] if e['note'] else ''}" for e in c["timeline"]]
    v = report["versions"]
    lines += ["", "## 版本", "",
              "- 模型：" + ("，".join(f"{x['version']}（{x['comments']} 条）" for x in v["model"]) or "—"),
              "- 规则：" + ("，".join(f"{x['version']}（{x['comments']} 条）" for x in v["rules"]) or "—"),
              "", "电话号码与身份证号已打码。", ""]
    return pii.mask("\n".join(lines))


__all__ = ["duration", "images", "to_html", "to_json", "to_markdown"]
