"""Domain lexicon features: counts of word groups taken from the labeling guide.

Each group (a blocked route to care, a severe condition, a treatment that cannot wait, a
vulnerable person, a plea for help, and the signs of a non-request: resolved, a general
policy question, news-like wording, a joke) becomes one feature, ``log1p(matches)``. The
linear model learns each group's weight from the training data; a synonym in the group that
the training comments never used still counts, which helps on comments written by other
people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

LABELS: dict[str, str] = {
    "plea": "〔求助〕",
    "blocked": "〔就医受阻〕",
    "severe": "〔危重症状〕",
    "treatment": "〔治疗/急救〕",
    "vulnerable": "〔孕妇老人孩子〕",
    "now": "〔时间紧〕",
    "resolved": "〔已解决/感谢〕",
    "general_question": "〔一般咨询〕",
    "news_like": "〔通稿口吻〕",
    "joke": "〔玩笑〕",
}

GROUPS: dict[str, tuple[str, ...]] = {
    "plea": (
        "求助", "求救", "救命", "救救", "帮帮", "帮忙", "急需", "怎么办", "跪求", "拜托",
        "谁能", "求求", "救急", "想办法", "help", "sos",
    ),
    "blocked": (
        "进不了", "不让进", "不收", "不接", "拒收", "拒诊", "不给看", "出不去", "不让出",
        "打不通", "没人接", "占线", "没结果", "还没出", "没出来", "出不来", "排不上",
        "没有床位", "没床位", "床位", "收治", "住不了", "转不了", "转院", "开不了", "买不到",
        "断药", "停药", "没药", "药快吃完", "等不到", "等了", "一直等", "封控", "封着",
        "封楼", "封了", "管控", "隔离", "没车", "叫不到车", "派不出", "不让走",
    ),
    "severe": (
        "高烧", "高热", "烧到", "抽搐", "惊厥", "昏迷", "呼吸困难", "喘不上", "喘不过",
        "胸痛", "胸闷", "出血", "大出血", "见红", "破水", "宫缩", "羊水", "早产", "中风",
        "脑梗", "心梗", "偏瘫", "意识不清", "休克", "危重", "重症", "病危", "危急", "抢救",
        "吐血", "骨折", "晕倒", "发紫", "血氧", "癫痫", "自杀", "轻生", "黄疸", "窒息",
    ),
    "treatment": (
        "透析", "血透", "化疗", "放疗", "手术", "胰岛素", "住院", "入院", "急诊", "120",
        "救护车", "产房", "icu", "抗排异", "抗癫痫", "靶向", "输血", "吸氧", "呼吸机",
    ),
    "vulnerable": (
        "孕妇", "怀孕", "孕", "老婆", "媳妇", "宝宝", "孩子", "婴儿", "新生儿", "老人",
        "爸", "妈", "奶奶", "爷爷", "外婆", "外公", "残疾", "卧床", "瘫痪", "独居", "患者",
        "病人", "癌",
    ),
    "now": (
        "马上", "立刻", "现在", "今天", "今晚", "刚才", "刚刚", "小时", "来不及", "快不行",
        "撑不住", "等不了", "越来越", "还在",
    ),
    "resolved": (
        "谢谢", "感谢", "解决了", "已解决", "住上院", "已经住", "已经入院", "顺利", "平安",
        "点赞", "辛苦", "好了", "没事了", "出院", "已经送到",
    ),
    "general_question": (
        "请问", "能不能进", "是否", "可以吗", "政策", "规定", "什么时候", "多久", "需要什么",
        "一般", "流程", "咨询", "有没有规定", "要不要",
    ),
    "news_like": (
        "全力保障", "开通", "绿色通道", "据悉", "通知", "公告", "记者", "发布", "通报",
        "保障", "有序", "截至", "各区", "专班",
    ),
    "joke": ("哈哈", "笑死", "狗头", "doge", "开玩笑", "段子", "yyds", "绝了"),
}


def compile_group(words: Iterable[str]) -> re.Pattern[str]:
    """One regular expression matching any of ``words``, longest first (leftmost, no overlap)."""
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return re.compile("|".join(re.escape(w) for w in ordered))


def compile_groups(groups: Mapping[str, Iterable[str]]) -> dict[str, re.Pattern[str]]:
    return {name: compile_group(words) for name, words in groups.items()}


_PATTERNS = compile_groups(GROUPS)


def group_counts(text: str, patterns: Mapping[str, re.Pattern[str]] = _PATTERNS) -> list[int]:
    """How many times each group's words occur in ``text`` (non-overlapping, longest first)."""
    return [len(p.findall(text)) for p in patterns.values()]


def __getattr__(name: str) -> Any:
    """``LexiconFeatures``, the scikit-learn transformer over these groups, lives in
    :mod:`classifiers.features` (imported on first use, so this module needs no scikit-learn);
    model files name it ``classifiers.lexicon.LexiconFeatures``."""
    if name == "LexiconFeatures":
        from classifiers.features import LexiconFeatures

        return LexiconFeatures
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["GROUPS", "LABELS", "compile_group", "compile_groups", "group_counts"]
