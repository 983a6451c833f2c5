"""The daemon's spike job and daily briefing over a real Store, and working days.

Time is a fake clock; the group messages go through the real Sender to recording groups.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daemon_fakes import FakeClock

from bot.alerts import SpikeJob
from bot.cases import CasePolicy, due_dates, open_case
from bot.clock import SHANGHAI, iso
from bot.config import BriefingConfig, load_config
from bot.errors import ConfigError
from bot.report.briefing import BriefingJob, previous_briefing_day
from bot.rules import load_rules
from bot.sender import Sender
from bot.store import Store, insert_row
from bot.workdays import add_working_time, is_working_day

REPO = Path(__file__).resolve().parents[2]
# Monday 2026-11-30, 10:00 Beijing time
MON_10 = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)


class Group:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.markdown: list[str] = []

    def send_text(self, content: str, mentioned_list: list[str] | None = None) -> None:
        self.text.append(content)

    def send_markdown(self, content: str) -> None:
        self.markdown.append(content)


def add(store: Store, uid: int, content: str, at: datetime, *, band: str = "below",
        route: str = "", category: str = "寻医买药") -> str:
    key = store.watch_article("main", "2247483650", 0, title="透析患者就医指引")
    article = store.article(key)
    assert article is not None
    store.store_comments(article, [{"user_comment_id": uid, "openid": f"o{uid}", "content": content,
                                    "create_time": int(at.timestamp())}],
                         new_cursor=uid, next_poll_at=store.clock())
    cid = f"{key}:{uid}"
    with store.transaction() as db:
        insert_row(db, "classifications", {
            "comment_id": cid, "score": 0.1, "band": band, "category": category, "category_score": 0.8,
            "top_terms": "[]", "model_version": "m-test", "rules_version": "r-test", "matched_rules": "[]",
            "route": route, "tags": "[]", "shadow_actions": "[]", "processed_at": iso(at)})
        db.execute("update comments set state = 'processed' where id = ?", [cid])
    return cid


def sender(store: Store, clock: FakeClock, groups: dict[str, Group]) -> Sender:
    return Sender(store, wechat=lambda _a: None, groups=groups.get, clock=clock)


def test_a_burst_in_one_district_raises_one_alert_to_its_group_once(tmp_path: Path) -> None:
    clock = FakeClock(MON_10.astimezone(UTC))
    store = Store(tmp_path / "d.db", clock=clock)
    rs = load_rules(REPO / "rules.yaml")
    job = SpikeJob(store, lambda: rs, clock=clock)
    groups = {"nanshan": Group(), "duty": Group(), "futian": Group()}
    texts = ["南山区透析病人出不了小区", "蛇口街道的透析病人去不了医院", "南山区血透中心不接收了",
             "粤海街道透析车什么时候来", "南头街道透析拖了一天", "南山透析的病人能不能统一安排车"]
    for i, text in enumerate(texts):
        add(store, i + 1, text, clock.now)
        add(store, 100 + i, "福田区透析的医院还开吗", clock.now) if i == 2 else None
        job.run()
        clock.advance(300)
    sender(store, clock, groups).drain()
    alerts = store.query("select * from alerts")
    assert [(a["rule"], a["scope"], a["grp"], a["count"]) for a in alerts] == [
        ("dialysis_by_district", "nanshan", "nanshan", 5)]
    assert len(groups["nanshan"].text) == 1 and not groups["duty"].text and not groups["futian"].text
    assert "南山区卫健局：1 小时内 5 条留言提到透析" in groups["nanshan"].text[0]
    # a restart, the same data, the same moment: nothing new
    assert SpikeJob(store, lambda: rs, clock=clock).run() == []
    # after the cool-down a new burst alerts again
    clock.advance(7 * 3600)
    for i in range(5):
        add(store, 200 + i, "南山区透析又停了", clock.now)
        clock.advance(60)
    assert [a.scope for a in job.run()] == ["nanshan"]
    store.close()


def test_a_quiet_day_raises_nothing(tmp_path: Path) -> None:
    clock = FakeClock(MON_10.astimezone(UTC))
    store = Store(tmp_path / "d.db", clock=clock)
    rs = load_rules(REPO / "rules.yaml")
    for i, line in enumerate((REPO / "data/scenarios/normal_day.jsonl").read_text(encoding="utf-8").splitlines()):
        rec = json.loads(line)
        at = datetime.fromisoformat(rec["created_at"])
        add(store, i + 1, rec["text"], at, band=rec["band"])
        clock.now = at.astimezone(UTC)
        assert SpikeJob(store, lambda: rs, clock=clock).run() == []
    assert store.query("select count(*) as n from alerts")[0]["n"] == 0
    store.close()


def test_the_briefing_goes_out_once_a_working_day_as_markdown(tmp_path: Path) -> None:
    clock = FakeClock(MON_10.replace(hour=8, minute=0).astimezone(UTC))
    store = Store(tmp_path / "d.db", clock=clock)
    cfg = BriefingConfig(group="duty", time="08:30", desk_url="https://desk.example.org/dashboard")
    # Friday and Sunday comments, one urgent with a case opened Saturday
    add(store, 1, "核酸结果多久出", MON_10 - timedelta(days=3, hours=1))
    cid = add(store, 2, "我爸透析的医院不收了，很急", MON_10 - timedelta(days=2), band="auto", route="nanshan")
    with store.transaction() as db:
        comment = store.comment(cid)
        assert comment is not None
        open_case(db, comment, at=iso(MON_10 - timedelta(days=2)), priority="P1", route="nanshan")
    job = BriefingJob(store, cfg, CasePolicy(), clock=clock)
    groups = {"duty": Group()}
    assert job.run() is False  # 08:00, too early
    clock.advance(31 * 60)
    assert job.run() is True
    assert job.run() is False  # once a day
    sender(store, clock, groups).drain()
    assert len(groups["duty"].markdown) == 1 and not groups["duty"].text
    text = groups["duty"].markdown[0]
    assert text.splitlines()[0] == "**电话 · 每日简报** 11-30（周一）"
    assert "统计：11-27 08:30 至 11-30 08:30（北京时间）" in text  # Friday → Monday over the weekend
    assert "> 留言 **2** 条，紧急 <font color=\"warning\">1</font> 条" in text
    assert "其中已超时 <font color=\"warning\">1</font> 件（最久：#1 nanshan）" in text
    assert text.endswith("[打开编辑台](https://desk.example.org/dashboard)")
    # a Saturday: no briefing (the Monday one covers the weekend)
    clock.now = datetime(2026, 12, 5, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert job.run() is False
    store.close()


def test_working_days_follow_the_holiday_table_and_fall_back_to_weekdays() -> None:
    assert is_working_day(date(2026, 12, 1)) is True
    assert is_working_day(date(2026, 10, 1)) is False  # National Day
    assert is_working_day(date(2026, 12, 5)) is False  # a Saturday
    assert is_working_day(date(2026, 10, 10)) is True  # an adjusted working Saturday (调休)
    assert previous_briefing_day(date(2026, 10, 8), True) == date(2026, 9, 30)  # over the Golden Week
    assert previous_briefing_day(date(2026, 10, 8), False) == date(2026, 10, 7)
    # outside the table: Monday to Friday
    assert is_working_day(date(2031, 1, 6)) is True and is_working_day(date(2031, 1, 4)) is False
    # 72 working hours from Friday 20:00 run over the weekend: due Wednesday 20:00
    fri = datetime(2026, 11, 27, 20, 0, tzinfo=SHANGHAI)
    assert add_working_time(fri, timedelta(hours=72)) == datetime(2026, 12, 2, 20, 0, tzinfo=SHANGHAI)


def test_deadlines_count_working_days_only_for_the_configured_priorities() -> None:
    case: dict[str, Any] = {"priority": "P2", "status": "review", "opened_at": iso(datetime(2026, 9, 30, 12, 0, tzinfo=SHANGHAI))}
    plain = dict(due_dates(case, CasePolicy()))
    working = dict(due_dates(case, CasePolicy(working_days_for=("P2",))))
    assert plain["resolution"] == datetime(2026, 10, 3, 12, 0, tzinfo=SHANGHAI)
    # 12 h on 30 Sep, the Golden Week off, 8 and 9 Oct, the last 12 h on the adjusted Saturday
    assert working["resolution"] == datetime(2026, 10, 10, 12, 0, tzinfo=SHANGHAI)


def test_briefing_configuration_is_checked_with_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "dianhua.toml"
    path.write_text('[wecom.groups]\nduty = "k"\n\n[briefing]\ngroup = "comms"\ntime = "8:30"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    messages = [str(p) for p in err.value.problems]
    assert any("dianhua.toml:5" in m and "briefing.group" in m and "no robot key for group 'comms'" in m
               for m in messages), messages
    assert any("dianhua.toml:6" in m and "briefing.time" in m for m in messages), messages
    path.write_text('[wecom.groups]\nduty = "k"\n\n[briefing]\ngroup = "duty"\ntime = "08:30"\n'
                    'desk_url = "https://desk.example.org/dashboard"\n\n[cases]\nworking_days_for = ["P2", "P3"]\n',
                    encoding="utf-8")
    cfg = load_config(path, env={})
    assert cfg.briefing == BriefingConfig("duty", "08:30", "https://desk.example.org/dashboard", True)
    assert cfg.cases.working_days_for == ("P2", "P3")





def test_rules_spikes_replays_a_day_from_the_database_read_only(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bot.cli.rules_cmd import rules

    clock = FakeClock(MON_10.astimezone(UTC))
    path = tmp_path / "d.db"
    store = Store(path, clock=clock)
    for i in range(6):
        add(store, i + 1, "南山区透析病人出不了小区", MON_10 + timedelta(minutes=5 * i))
    add(store, 50, "南山区透析病人出不了小区", MON_10 - timedelta(days=1))  # the day before: baseline
    store.close()
    before = path.read_bytes()
    out = CliRunner().invoke(rules, ["spikes", str(REPO / "rules.yaml"), "--day", "2026-11-30", "--db", str(path)])
    assert out.exit_code == 0, out.output
    assert "2026-11-30 10:20 dialysis_by_district: route nanshan 5 comments (baseline 0.1) → group nanshan" in out.output  # 1 the day before, over 7 days
    assert out.output.splitlines()[-1].startswith("6 comments; 1 spike alert")
    assert path.read_bytes() == before
    out = CliRunner().invoke(rules, ["spikes", str(REPO / "rules.yaml"), "--day", "2026-11-30",
                                     "--db", str(tmp_path / "missing.db")])
    assert out.exit_code == 1 and "no database at" in out.output and not (tmp_path / "missing.db").exists()


def test_a_spike_alerts_example_and_the_briefing_carry_no_full_number(tmp_path: Path) -> None:
    """Issues 14 + 17: the group hears of a spike with an example comment; its number is masked
    whatever the writing (digits with spaces, Chinese numerals), and the briefing has none."""
    clock = FakeClock(MON_10.astimezone(UTC))
    store = Store(tmp_path / "d.db", clock=clock)
    rs = load_rules(REPO / "rules.yaml")
    job = SpikeJob(store, lambda: rs, clock=clock)
    groups = {"nanshan": Group(), "duty": Group()}
    texts = ["南山区透析病人出不了小区", "蛇口街道的透析病人去不了医院", "南山区血透中心不接收了",
             "南山透析拖了一天，电话 138 0000 0000", "南山区透析停了，电话一三八零零零零零零零零"]
    for i, text in enumerate(texts):
        add(store, i + 1, text, clock.now)
        job.run()
        clock.advance(300)
    job.run()
    sender(store, clock, groups).drain()
    [alert] = groups["nanshan"].text
    assert "透析" in alert and "138****0000" in alert
    for full in ("13800000000", "138 0000 0000", "一三八零零零零零零零零"):
        assert full not in alert
        assert full not in str(store.query("select text from alerts"))
    cfg = BriefingConfig(group="duty", time="08:30", desk_url="https://desk.example.org/dashboard")
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)
    assert BriefingJob(store, cfg, CasePolicy(), clock=clock).run() is True
    sender(store, clock, groups).drain()
    [briefing] = groups["duty"].markdown
    assert "留言突增 1 次" in briefing and "0000" not in briefing
    store.close()


def test_the_spike_job_reads_in_pages_and_keeps_only_what_a_rule_counts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: a week of comments is not held at once; the same alert is raised."""
    import bot.alerts

    monkeypatch.setattr(bot.alerts, "PAGE", 3)
    clock = FakeClock(MON_10.astimezone(UTC))
    store = Store(tmp_path / "d.db", clock=clock)
    rs = load_rules(REPO / "rules.yaml")
    job = SpikeJob(store, lambda: rs, clock=clock)
    burst = ["南山区透析病人出不了小区", "蛇口街道的透析病人去不了医院", "南山区血透中心不接收了",
             "粤海街道透析车什么时候来", "南头街道透析拖了一天"]
    uid = 0
    for text in burst:  # each between unrelated comments of the same second (ties across pages)
        for other in ("今天天气不错", text, "谢谢小编"):
            uid += 1
            add(store, uid, other, clock.now)
    from bot.rules.spikes import SpikeWatch

    watch = SpikeWatch(rs.spikes, rs.groups)
    events = job._events(rs, watch, clock.now - watch.lookback, clock.now + timedelta(seconds=1))
    assert sorted(e.raw for e in events) == sorted(burst)
    clock.advance(1)
    assert [(a.scope, a.count) for a in job.run()] == [("nanshan", 5)]
    store.close()


def test_the_spike_job_reads_each_comment_once_and_again_when_the_rules_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: normalising the whole lookback every minute took most of the daemon's CPU at
    500 comments a second; a comment's row is read and turned into an event once."""
    import bot.alerts
    from bot.report import data

    read: list[str] = []
    real_rows = data.spike_rows

    def counting(q: object, ids: list[str]) -> list[dict]:
        read.extend(ids)
        return real_rows(q, ids)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.alerts.data, "spike_rows", counting)
    clock = FakeClock(MON_10.astimezone(UTC))
    store = Store(tmp_path / "d.db", clock=clock)
    rs = load_rules(REPO / "rules.yaml")
    job = SpikeJob(store, lambda: rs, clock=clock)
    first = [add(store, i, text, clock.now) for i, text in enumerate(
        ["南山区透析病人出不了小区", "今天天气不错", "蛇口街道的透析病人去不了医院"], start=1)]
    clock.advance(60)
    assert job.run() == []
    assert sorted(read) == sorted(first)
    burst = [add(store, 10 + i, text, clock.now) for i, text in enumerate(
        ["南山区血透中心不接收了", "粤海街道透析车什么时候来", "南头街道透析拖了一天"])]
    clock.advance(60)
    assert [(a.scope, a.count) for a in job.run()] == [("nanshan", 5)]  # the same alert
    assert sorted(read) == sorted(first + burst)  # only the new comments were read
    read.clear()
    rs = load_rules(REPO / "rules.yaml")  # a reload: routes may have changed
    clock.advance(60)
    job.run()
    assert sorted(read) == sorted(first + burst)
    store.close()
