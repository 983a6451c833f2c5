"""Situation and voice features: *what is happening* read apart from *how it is said*.

The guide's deciding question is about the situation (a person at risk whose care is blocked
or late, right now), not the sentence's frame. A question about a test result
("什么时候能出结果？") is not urgent on its own, but it does not cancel a woman in labour
waiting at the hospital door; a news report or a retelling of the same situation ("据报道，
一孕妇…", "昨天上午，…表示") is not a request at all. Word and character n-grams see the
frame words and learn from them; these features name the situation and the voice so the
linear model can weigh them against each other:

* groups (``log1p(count)``): a person or condition at risk, care blocked or late, a question
  frame, the writer's own voice (我/俺/本人), family (老婆/我妈/父亲), the reported voice of
  news and retellings (据报道, 记者, 化名, 一名/某孕妇, "X表示", 通报, 截至, dates as subjects),
  onlookers' commentary (看到/听说/热搜), resolved or thanks, stated urgency (很急/急用/等不了;
  not 急诊/急性/急救) and a care setting (医院/住院/手术/科室/医生);
* interactions (0/1): the critical situation (at risk × blocked) together with each voice,
  so "critical + question" and "critical + reported" get weights of their own; and stated
  urgency × a care setting × a plea or question ("医院开的检查，能不能优先，真的急"), for the
  follow-up comment that names no patient because the writer said it before;
* round 7: care that *ordered or booked* the thing (医生让/医院开的/医院预约/术前/复查 …), a
  group; a plea for speed (优先/加急/尽快/挺急 …) with care's order and no trip, job or exam,
  no solved case and not the press's voice ("医生开的检查，能不能优先，挺急"), and the same
  plea for a purpose that is not care with nobody named at risk ("出差要用的核酸，能不能加
  急"), both 0/1 (a purpose word alone is no feature: "家长出差过，医院不让进" is a refusal of
  care, not a trip). Denied urgency (不急/别急/不着急/急人) is taken out
  before stated urgency, pleas and speed are read, and 加急/告急/应急 are not a bare 急;
* quotes: the question frame and the first person are read outside “…”/「…」 (inside, they
  are someone else's words), and a critical situation inside quotes is a feature of its own.

Stateless; the text is already normalised (simplified, lower case, full-width folded).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from classifiers.lexicon import GROUPS as LEXICON_GROUPS
from classifiers.lexicon import compile_group

# A person or condition at risk (the labeling guide's situations).
AT_RISK: tuple[str, ...] = (
    "产妇", "孕妇", "孕产妇", "临产", "待产", "要生了", "快生了", "分娩", "怀孕", "孕",
    "破水", "见红", "宫缩", "羊水", "早产", "胎动", "胎心", "透析", "血透", "腹透", "化疗",
    "放疗", "癌", "肿瘤", "白血病", "新生儿", "婴儿", "宝宝", "个月大", "黄疸", "高烧",
    "高热", "发烧", "烧到", "抽搐", "惊厥", "昏迷", "意识不清", "休克", "胰岛素", "抗排异",
    "抗癫痫", "癫痫", "心脏", "心梗", "心衰", "堵塞", "脑梗", "中风", "脑出血", "偏瘫",
    "呼吸困难", "喘不上", "喘不过", "胸痛", "胸闷", "血氧", "白肺", "重症", "危重", "病危",
    "出血", "吐血", "骨折", "自杀", "轻生", "精神病", "卧床", "瘫痪", "手术", "急诊",
    "抢救", "救护车", "120", "icu", "洗肾", "腹透液", "尿毒症", "肾衰", "移植", "精神分裂",
    "抑郁症", "跳楼", "哮喘", "肠梗阻", "阑尾", "盲肠炎", "穿孔", "冠心病", "低血糖", "晕过去",
    "晕倒", "流血", "发紫", "说胡话", "宫口", "胎位", "临盆", "发动了", "产科", "早产儿",
    "妊高症", "子痫", "烫伤", "烧伤", "溺水", "中毒", "过敏",
)
# Care blocked, late, or needed now.
BLOCKED: tuple[str, ...] = (
    "住院", "入院", "入住", "收治", "不收", "不接", "拒收", "拒诊", "不给看", "不让进",
    "进不去", "进不了", "门口", "等着", "等了", "在等", "一直等", "等不了", "等不及", "没出",
    "未出", "出不来", "没结果", "迟迟", "超时", "拖了", "拖着", "停了", "断了", "断药",
    "停药", "没药", "吃完了", "买不到", "出不去", "不让出", "封控", "封了", "被封", "排不上",
    "没床位", "床位", "转不了", "转院", "叫不到", "打不通", "没人接", "没人管", "无门",
    "优先", "加急", "急需", "来不及", "小时了", "天了", "马上到", "在路上", "送医", "没了",
    "最后一", "只剩", "用完", "告急", "告罄", "唔睇", "入唔到", "出唔到", "约唔到", "冇", "等候",
    "卡点", "卡着", "无法就诊", "去不了", "没法", "能不能进", "还收", "能看急诊",
)
QUESTION: tuple[str, ...] = (
    "什么时候", "啥时候", "几点", "多久", "多长时间", "几个小时", "几天", "能不能", "可不可以",
    "可以吗", "行不行", "是不是", "有没有", "请问", "吗", "呢", "怎么", "咋", "?", "能否",
    "嘛", "点算", "要不要", "还能",
)
FIRST_PERSON: tuple[str, ...] = ("我", "俺", "咱", "本人", "自己", "阿拉", "老朽", "我哋")
FAMILY: tuple[str, ...] = (
    "老婆", "媳妇", "爱人", "老公", "丈夫", "妻子", "父亲", "母亲", "爸", "妈", "爷爷",
    "奶奶", "外公", "外婆", "姥姥", "姥爷", "儿子", "女儿", "闺女", "家里", "家人", "儿媳",
    "公公", "婆婆", "岳父", "岳母", "老伴", "老头", "个仔", "个女", "阿嬷", "家父", "家母",
)
REPORTED: tuple[str, ...] = (
    "据报道", "据悉", "据了解", "据介绍", "记者", "本报", "新华社", "日电", "获悉", "了解到",
    "化名", "通报", "截至", "发布会", "报道", "表示", "介绍", "回应", "证实", "称", "已于",
    "该院", "该孕妇", "该产妇", "该患者", "院方", "医院方面", "负责人", "工作人员",
    "市民", "网友", "其家属", "家属", "引发", "热议", "事件", "当天", "次日", "此前", "近日",
    "日前", "昨日", "一名", "一位", "一孕妇", "一产妇", "一患者", "一男子", "一女子",
    "一老人", "某孕妇", "某产妇", "某患者", "某女士", "某先生", "“", "”", "「", "」",
    "采访", "有人", "有网友", "有读者", "如何", "写道",
)
# Dates and times as the subject of a sentence: "1月8日，", "昨天上午，", "2022年".
_DATES = re.compile(r"\d+月\d+日|\d{4}年|(?:昨天|前天|今天|当天)(?:上午|下午|晚上|凌晨|中午)")
COMMENTARY: tuple[str, ...] = (
    "看到", "听说", "新闻", "热搜", "朋友圈", "视频", "文章", "这位", "那位", "心疼", "呼吁",
    "太难了", "唉",
)
RESOLVED: tuple[str, ...] = (
    "谢谢", "感谢", "解决了", "已解决", "顺利", "平安", "终于", "出来了", "住上", "住进去",
    "入院了", "已入院", "已经入院", "已经住", "已经出", "没事了", "出院", "后来", "那年",
    "那时候", "当时", "去年", "还好", "好在", "后怕", "已落实", "已上报", "接走", "送走",
)
# The writer says it is urgent (bare 急, but not 急诊/急性/急救: those name a service or a condition).
URGENCY: tuple[str, ...] = (
    "着急", "很急", "挺急", "好急", "太急", "急用", "急需", "急死", "急急", "等不了", "等不及",
    "来不及", "火急", "尽快", "赶紧", "刻不容缓", "救命", "十万火急", "急得", "急坏",
)
# 急 first, then the look-behind: the same matches, and every branch of the patterns below starts
# with a literal, so the regex engine can skip ahead (about 5x faster than the look-behind first).
_BARE_URGENT = r"急(?<![加告应]急)(?![诊性救躁])"
# Care waiting on it: a hospital, a ward, a department, a doctor, a procedure.
CARE: tuple[str, ...] = (
    "医院", "住院", "入院", "手术", "病房", "急诊", "门诊", "科室", "医生", "大夫", "产检",
    "检验科", "就诊", "看病", "治疗", "复查", "收治", "床位", "转院", "抢救", "院里", "病区",
    "医嘱", "主任", "护士",
)
# Care ordered or booked it: a test, scan, report or appointment a hospital or a doctor asked for
# (so care waits on it), not one the writer wants for a trip or a job (round 7).
ORDERED: tuple[str, ...] = (
    "医生让", "医生要", "医生说要", "医生说得", "医生叫", "医生开", "医生催", "医生安排", "医生约",
    "医生交代", "医生嘱咐", "医生吩咐", "大夫让", "大夫要", "大夫开", "大夫说要", "大夫交代", "主任让", "护士让", "护士说要", "医院开", "医院要求", "医院要",
    "医院预约", "医院约", "院方要求", "门诊开", "门诊约", "科室要", "病房要", "医嘱", "住院前",
    "入院前", "术前", "手术前", "化疗前", "放疗前", "透析前", "产检", "复查", "复诊", "住院要",
    "入院要", "手术要", "住院用", "手术用", "看病用", "就诊用", "医生等", "科室等", "病房等",
    "医院等", "医院做的", "在医院做", "开的单", "开的检查", "检查单", "化验单", "申请单",
)
# A plea for speed or priority, or stated urgency (with bare 急 as in URGENCY; read after the
# denied forms below are taken out).
SPEED: tuple[str, ...] = (
    *URGENCY, "优先", "加急", "加快", "快点", "快些", "快一点", "早点", "早一点", "催一下",
    "拖不起", "绿色通道", "特事特办", "通融", "等着用", "提前",
)
# Urgency denied or about something else: 不急 / 不着急 / 别急 / 急人 are not a plea.
_NOT_URGENT = re.compile(r"(?:不用|不是很|不是太|没那么|不算|不太|不|别|没)着?急|急人|急性子")
# A purpose that is not care: travel, work, school, papers (the convenience senses of 急). Only
# read with a plea for speed and nobody named at risk (not 出门/报到/常规: 出门诊, 住院报到, 血常规).
PURPOSE: tuple[str, ...] = (
    "出差", "上班", "复工", "返岗", "返工", "上岗", "入职", "旅游", "出行", "出游", "回老家",
    "返乡", "回家", "过年", "飞机", "航班", "高铁", "火车", "车票", "机票", "登机", "赶车",
    "考试", "考研", "面试", "入学", "开学", "上学", "上课", "返校", "离校", "出国", "签证",
    "留学", "出境", "健康码", "行程码", "通行证", "婚礼", "酒店", "演唱会", "单位要", "公司要",
    "学校要", "老板", "出省", "跨省", "出京", "进京", "办事", "合同", "客户", "探亲", "返屋企",
    "返学", "搬家", "看房", "比赛", "银行", "贷款", "报销",
)
PLEA: tuple[str, ...] = (
    *LEXICON_GROUPS["plea"], "急", "紧急", "恳请", "打扰", "冒昧", "麻烦", "劳烦", "望", "盼",
    "请帮",
)

LABELS: dict[str, str] = {
    "at_risk": "〔危重处境〕",
    "blocked": "〔就医受阻/等待〕",
    "question": "〔提问句式〕",
    "first_person": "〔第一人称〕",
    "family": "〔家人〕",
    "reported": "〔报道/转述口吻〕",
    "commentary": "〔旁观评论〕",
    "resolved": "〔已解决/后来〕",
    "plea": "〔求助/恳请〕",
    "urgency": "〔说很急〕",
    "care": "〔就医场景〕",
    "ordered": "〔医院或医生要的〕",
    "critical": "〔危重×受阻〕",
    "critical_question": "〔危重×受阻×提问〕",
    "critical_own": "〔危重×受阻×本人或家人〕",
    "critical_reported": "〔危重×受阻×报道口吻〕",
    "critical_commentary": "〔危重×受阻×旁观〕",
    "critical_resolved": "〔危重×受阻×已解决〕",
    "critical_plea": "〔危重×受阻×求助〕",
    "reported_not_own": "〔报道口吻，无第一人称〕",
    "plea_reported": "〔求助×报道口吻〕",
    "critical_quoted": "〔引号里的危重处境〕",
    "urgent_care_plea": "〔说很急×就医场景×求助或提问〕",
    "ordered_speed": "〔医院或医生要的×求快，非出行工作〕",
    "purpose_speed": "〔非就医用途×求快〕",
}
_GROUPS: dict[str, re.Pattern[str]] = {
    "at_risk": compile_group(AT_RISK),
    "blocked": compile_group(BLOCKED),
    "question": compile_group(QUESTION),
    "first_person": compile_group(FIRST_PERSON),
    "family": compile_group(FAMILY),
    "reported": compile_group(REPORTED),
    "commentary": compile_group(COMMENTARY),
    "resolved": compile_group(RESOLVED),
    "plea": compile_group(PLEA),
    "urgency": re.compile(compile_group(URGENCY).pattern + "|" + _BARE_URGENT),
    "care": compile_group(CARE),
    "ordered": compile_group(ORDERED),
}
# Someone else's words: “…” and 「…」 (the writer quoting a post, a patient, an official).
_QUOTED = re.compile(r"“[^”]*”|「[^」]*」")
_VOICE = ("question", "first_person", "family", "plea", "urgency", "ordered")
# Counted on the text with denied urgency (不急, 别急, 急人) taken out (round 7): "不急，下周的
# 复查" states no urgency and makes no plea.
_PLEAS = ("urgency", "plea")
_PURPOSE = compile_group(PURPOSE)
_SPEED = re.compile(compile_group(SPEED).pattern + "|" + _BARE_URGENT)
N_FEATURES = len(LABELS)
# np.log1p of the small counts, computed once by np.log1p itself (the same values).
_SMALL = 64
_LOG1P = [float(np.log1p(v)) for v in range(_SMALL)]


def situation_row(text: str) -> list[float]:
    """The feature values of one normalised text, in :data:`LABELS` order."""
    quoted = _QUOTED.findall(text) if ("“" in text or "「" in text) else []
    outside = _QUOTED.sub(" ", text) if quoted else text
    calm = _NOT_URGENT.sub(" ", outside) if "急" in outside else outside
    c = {
        name: len(p.findall(calm if name in _PLEAS else outside if name in _VOICE else text))
        for name, p in _GROUPS.items()
    }
    if "月" in text or "年" in text or "天" in text:  # every date pattern holds one
        c["reported"] += len(_DATES.findall(text))
    inner = " ".join(quoted)
    critical_quoted = bool(
        quoted and _GROUPS["at_risk"].search(inner) and _GROUPS["blocked"].search(inner)
    )
    critical = c["at_risk"] > 0 and c["blocked"] > 0
    own = c["first_person"] > 0 or c["family"] > 0
    reported = c["reported"] > 0
    speed = _SPEED.search(calm) is not None
    purpose = speed and c["at_risk"] == 0 and _PURPOSE.search(outside) is not None
    ordered_speed = (c["ordered"] > 0 and speed and not purpose and c["resolved"] == 0
                     and not (reported and c["first_person"] == 0))
    values = [_LOG1P[v] if v < _SMALL else float(np.log1p(v)) for v in c.values()]
    values += [
        float(critical),
        float(critical and c["question"] > 0),
        float(critical and own),
        float(critical and reported),
        float(critical and c["commentary"] > 0),
        float(critical and c["resolved"] > 0),
        float(critical and c["plea"] > 0),
        float(reported and c["first_person"] == 0),
        float(reported and c["plea"] > 0),
        float(critical_quoted),
        float(c["urgency"] > 0 and c["care"] > 0 and (c["plea"] > 0 or c["question"] > 0)),
        float(ordered_speed),
        float(purpose),
    ]
    return values


def __getattr__(name: str) -> Any:
    """``SituationFeatures``, the scikit-learn transformer over these rows, lives in
    :mod:`classifiers.features` (imported on first use, so this module needs no scikit-learn);
    model files name it ``classifiers.situation.SituationFeatures``."""
    if name == "SituationFeatures":
        from classifiers.features import SituationFeatures

        return SituationFeatures
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["LABELS", "N_FEATURES", "situation_row"]
