"""The daemon's configuration: a TOML file, environment overrides for secrets, sane defaults.

With no file at all, dianhua runs against the local mock (``http://127.0.0.1:8765``, appid
``wx0000000000000000``, secret ``mock-secret``), keeps its database in ``var/dianhua.db``, reads
``rules.yaml`` from the working directory and uses the bundled model.

Environment overrides (applied after the file): ``DIANHUA_WECHAT_BASE_URL``,
``DIANHUA_WECHAT_APPID``, ``DIANHUA_WECHAT_SECRET`` (first account), ``DIANHUA_DB``,
``DIANHUA_DB_URL`` (PostgreSQL instead of the SQLite file: ``postgresql://user@host:5432/db``),
``DIANHUA_RULES``, ``DIANHUA_MODEL``, ``DIANHUA_MODELS`` (the model registry), ``DIANHUA_WECOM_BASE_URL`` and ``DIANHUA_WECOM_KEY_<GROUP>``
(a department group's robot key, e.g. ``DIANHUA_WECOM_KEY_DUTY``).

Every problem is reported with file, line and field, like ``rules check`` does, e.g.
``dianhua.toml:12 polling.fast_seconds: must be a number greater than 0, got "ten"``.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.cases import CasePolicy, Deadlines
from bot.cluster import ClusterConfig
from bot.errors import ConfigError, InputError, Problem
from bot.limits import read_file
from bot.poller import PollSchedule
from bot.retention import RetentionPolicy

MOCK_BASE_URL = "http://127.0.0.1:8765"
MOCK_APPID = "wx0000000000000000"
MOCK_SECRET = "mock-secret"


@dataclass(frozen=True)
class ArticleConfig:
    msg_data_id: str
    index: int = 0
    title: str = ""


@dataclass(frozen=True)
class AccountConfig:
    name: str = "main"
    base_url: str = MOCK_BASE_URL
    appid: str = MOCK_APPID
    secret: str = field(default=MOCK_SECRET, repr=False)
    use_stable_token: bool = False
    discover: bool = True  # find articles through freepublish/batchget and datacube
    articles: tuple[ArticleConfig, ...] = ()
    # message push (服务器配置): the Token, EncodingAESKey and mode entered on the platform
    push_token: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    message_mode: str = "plaintext"  # plaintext | compatible | safe


@dataclass(frozen=True)
class GroupConfig:
    key: str = field(default="", repr=False)
    mentioned: tuple[str, ...] = ()


@dataclass(frozen=True)
class BriefingConfig:
    """``[briefing]``: the daily WeCom message with yesterday's numbers (see docs/operations.md)."""

    group: str = ""  # a group under [wecom.groups]; empty = no briefing
    time: str = "08:30"  # Beijing time
    desk_url: str = ""  # the link in the message, e.g. https://desk.example.org/dashboard
    skip_non_working_days: bool = True  # weekends and public holidays (adjusted working days count)

    @property
    def enabled(self) -> bool:
        return bool(self.group)


@dataclass(frozen=True)
class Config:
    source: str = "(defaults)"
    accounts: tuple[AccountConfig, ...] = (AccountConfig(),)
    db: Path = Path("var/dianhua.db")
    db_url: str = field(default="", repr=False)  # postgresql://… replaces the SQLite file
    rules: Path = Path("rules.yaml")
    model: Path | None = None
    model_registry: Path | None = None  # folder whose live.json the daemon follows (None: pinned)
    polling: PollSchedule = PollSchedule()
    tick_seconds: float = 1.0
    max_poll_lag_seconds: float | None = None  # /healthz degrades past it; None: see poll_lag_limit
    quota_probe_minutes: float = 5.0  # while an account is paused on its daily quota (45009)
    discover_minutes: float = 2.0
    rules_reload_seconds: float = 2.0
    deadline_check_seconds: float = 30.0
    sender_max_attempts: int = 12
    sender_backoff_cap: float = 300.0
    # [sender] concurrency: outbox rows performed at once per lane (platform calls mostly wait)
    sender_concurrency: int = 4
    # [sender] process: replies and group messages from a process of their own (send_process.py)
    sender_process: bool = True
    wecom_base_url: str = MOCK_BASE_URL
    groups: dict[str, GroupConfig] = field(default_factory=dict)
    cases: CasePolicy = CasePolicy()
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    http_enabled: bool = True
    web_secret: str = field(default="", repr=False)
    web_users: dict[str, str] = field(default_factory=dict, repr=False)  # name -> password hash
    # issue 17: sessions, cookies, proxies, case links; retention
    web_idle_minutes: float = 120.0
    web_absolute_hours: float = 12.0
    web_secure_cookie: str = "auto"  # auto | always | never
    web_trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    web_base_url: str = ""  # e.g. https://desk.example.org — links to cases in group messages
    retention: RetentionPolicy = RetentionPolicy()
    log_file: Path | None = Path("var/log/dianhua.jsonl")
    log_level: str = "INFO"
    log_rotation: str = "20 MB"
    log_retention: int = 10
    briefing: BriefingConfig = BriefingConfig()
    spikes_check_seconds: float = 60.0
    cluster: ClusterConfig | None = None  # [cluster]: one of several replicas (issue 15)
    # [pipeline] workers: classifier processes beside the writer (None = auto: one per core
    # less one, at least one; 0 = classify on the writer's thread). A configuration file
    # without the setting gets auto; a Config built in code (tests) classifies in-thread.
    pipeline_workers: int | None = 0


def store_target(config: Config) -> str:
    """Where the store lives: the ``[storage] url`` (PostgreSQL) if set, else the SQLite file."""
    return config.db_url or str(config.db)


def poll_lag_limit(config: Config) -> float:
    """Seconds without a successful poll before /healthz degrades: ``[polling] max_lag_seconds``,
    by default twice ``slow_seconds`` and at least 120 (600 s with the shipped settings)."""
    if config.max_poll_lag_seconds is not None:
        return float(config.max_poll_lag_seconds)
    return max(120.0, 2 * config.polling.slow_seconds)


_SCHEMA: dict[str, Any] = {
    "storage": {"db": str, "url": str},
    "rules": {"path": str, "reload_seconds": "pos", "spikes_check_seconds": "pos"},
    "model": {"path": str, "registry": str},
    "polling": {
        "fast_seconds": "pos", "normal_seconds": "pos", "slow_seconds": "pos",
        "fast_for_hours": "pos", "normal_for_hours": "pos", "stop_after_days": "pos",
        "active_minutes": "pos", "rescan_minutes": "pos", "max_comment_age_hours": "pos",
        "tick_seconds": "pos", "discover_minutes": "pos", "max_lag_seconds": "pos",
        "quota_probe_minutes": "pos",
    },
    "sender": {"max_attempts": int, "backoff_cap_seconds": "pos", "concurrency": int,
               "process": bool},
    "wecom": {"base_url": str, "groups": dict},
    "cases": {"no_response_hours": "pos", "duty_group": str, "deadlines": dict,
              "deadline_check_seconds": "pos", "working_days_for": list},
    "briefing": {"group": str, "time": str, "desk_url": str, "skip_non_working_days": bool},
    "http": {"host": str, "port": int, "enabled": bool},
    "web": {"secret_key": str, "users": dict, "idle_minutes": "pos", "absolute_hours": "pos",
            "secure_cookie": str, "trusted_proxies": list, "base_url": str},
    "retention": {"comments_days": "pos", "resolved_cases_days": "pos",
                  "contact_days_after_resolution": "pos",
                  "purge_every_minutes": "pos"},
    "log": {"file": str, "level": str, "rotation": str, "retention": int},
    "cluster": {"replica_id": str, "lease_seconds": "pos", "claim_seconds": "pos"},
    "pipeline": {"workers": "workers"},
    "accounts": list,
}
_ACCOUNT_KEYS = {"name": str, "base_url": str, "appid": str, "secret": str,
                 "use_stable_token": bool, "discover": bool, "articles": list,
                 "push_token": str, "encoding_aes_key": str, "message_mode": str}
_DEADLINE_KEYS = {"first_reply_minutes", "contact_minutes", "handoff_minutes",
                  "resolution_minutes"}


class _Checker:
    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.problems: list[Problem] = []

    def line_of(self, dotted: str) -> int | None:
        """Best-effort line of a dotted key: the table header, then ``key =`` inside it."""
        parts = [p for p in re.split(r"\.|\[\d+\]", dotted) if p]
        if not parts:
            return None
        key = parts[-1]
        header = ".".join(parts[:-1])
        start = 0
        if header:
            for i, line in enumerate(self.lines):
                if re.match(r"\s*\[\[?\s*" + re.escape(header) + r"\s*\]\]?\s*$", line):
                    start = i
                    break
        for i in range(start, len(self.lines)):
            if re.match(r"\s*" + re.escape(key) + r"\s*=", self.lines[i]) or re.match(
                r"\s*\[\[?\s*" + re.escape(".".join(parts)) + r"\s*\]\]?", self.lines[i]
            ):
                return i + 1
        return start + 1 if header else None

    def add(self, dotted: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.line_of(dotted), None, dotted, message))

    def check_type(self, dotted: str, value: Any, kind: Any) -> bool:
        ok = True
        if kind == "pos":
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
            if not ok:
                self.add(dotted, f"must be a number greater than 0, got {value!r}")
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
            if not ok:
                self.add(dotted, f"must be a whole number, got {value!r}")
        elif kind is bool:
            ok = isinstance(value, bool)
            if not ok:
                self.add(dotted, f"must be true or false, got {value!r}")
        elif kind is str:
            ok = isinstance(value, str)
            if not ok:
                self.add(dotted, f"must be text in quotes, got {value!r}")
        elif kind in (dict, list):
            ok = isinstance(value, kind)
            if not ok:
                self.add(dotted, f"must be a {'table' if kind is dict else 'list'}")
        return ok

    def unknown(self, dotted_prefix: str, key: str, known: Any) -> None:
        hint = difflib.get_close_matches(key, list(known), n=1)
        msg = "unknown setting" + (f"; did you mean {hint[0]!r}?" if hint else "")
        self.add(f"{dotted_prefix}{key}", msg)


def load_config(path: str | Path | None = None, *, env: dict[str, str] | None = None) -> Config:
    """Read ``path`` (or defaults when None), apply the environment, validate everything."""
    env = dict(os.environ if env is None else env)
    data: dict[str, Any] = {}
    file = "(defaults)"
    checker = _Checker(file, "")
    if path is not None:
        file = str(path)
        try:
            text = read_file(path).decode("utf-8")
        except InputError as exc:
            raise ConfigError(Problem(file, None, None, "", str(exc).removeprefix(f"{file}: "))) from None
        except FileNotFoundError as exc:
            raise ConfigError(Problem(file, None, None, "", "file not found")) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(Problem(file, None, None, "", f"cannot read it: {exc}")) from exc
        checker = _Checker(file, text)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+), column (\d+)", str(exc))
            line, col = (int(m.group(1)), int(m.group(2))) if m else (None, None)
            msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
            raise ConfigError(Problem(file, line, col, "", f"not valid TOML: {msg}")) from exc

    for key, value in data.items():
        if key not in _SCHEMA:
            checker.unknown("", key, _SCHEMA)
            continue
        spec = _SCHEMA[key]
        if isinstance(spec, dict):
            if not checker.check_type(key, value, dict):
                continue
            for sub, subval in value.items():
                if sub not in spec:
                    checker.unknown(f"{key}.", sub, spec)
                else:
                    checker.check_type(f"{key}.{sub}", subval, spec[sub])
        else:
            checker.check_type(key, value, spec)

    accounts = _accounts(data.get("accounts"), checker)
    # environment overrides
    first = accounts[0]
    overrides = {
        "base_url": env.get("DIANHUA_WECHAT_BASE_URL"),
        "appid": env.get("DIANHUA_WECHAT_APPID"),
        "secret": env.get("DIANHUA_WECHAT_SECRET"),
        "push_token": env.get("DIANHUA_WECHAT_PUSH_TOKEN"),
        "encoding_aes_key": env.get("DIANHUA_WECHAT_AES_KEY"),
    }
    first = AccountConfig(**{**first.__dict__, **{k: v for k, v in overrides.items() if v}})
    if overrides["encoding_aes_key"]:
        _push_ok({**first.__dict__, "articles": None}, "DIANHUA_WECHAT_AES_KEY", checker)
    accounts = [first, *accounts[1:]]
    names = [a.name for a in accounts]
    for dup in {n for n in names if names.count(n) > 1}:
        checker.add("accounts", f"two accounts are named {dup!r}; names must be unique")

    polling = _section(data, "polling")
    schedule_fields = {k: v for k, v in polling.items() if k in PollSchedule.__dataclass_fields__}
    schedule = PollSchedule(**schedule_fields) if not checker.problems else PollSchedule()
    if schedule.fast_seconds > schedule.normal_seconds or \
            schedule.normal_seconds > schedule.slow_seconds:
        checker.add("polling.fast_seconds",
                    "intervals must grow with age: fast_seconds <= normal_seconds <= slow_seconds")

    groups: dict[str, GroupConfig] = {}
    for gname, gval in (_section(data, "wecom").get("groups") or {}).items():
        if isinstance(gval, str):
            groups[gname] = GroupConfig(key=gval)
        elif isinstance(gval, dict):
            unknown = set(gval) - {"key", "mentioned"}
            for k in unknown:
                checker.unknown(f"wecom.groups.{gname}.", k, ["key", "mentioned"])
            groups[gname] = GroupConfig(key=str(gval.get("key", "")),
                                        mentioned=tuple(gval.get("mentioned", ())))
        else:
            checker.add(f"wecom.groups.{gname}", "must be a robot key in quotes or a table")
    for var, value in env.items():
        if var.startswith("DIANHUA_WECOM_KEY_") and value:
            gname = var.removeprefix("DIANHUA_WECOM_KEY_").lower()
            groups[gname] = GroupConfig(key=value, mentioned=groups.get(gname, GroupConfig()).mentioned)

    cases = _section(data, "cases")
    deadlines = dict(CasePolicy().deadlines)
    for prio, spec in (cases.get("deadlines") or {}).items():
        if prio not in ("P1", "P2", "P3"):
            checker.add(f"cases.deadlines.{prio}", "priority must be P1, P2 or P3")
            continue
        if not isinstance(spec, dict):
            checker.add(f"cases.deadlines.{prio}", "must be a table of minutes")
            continue
        values: dict[str, float | None] = {}
        for k, v in spec.items():
            if k not in _DEADLINE_KEYS:
                checker.unknown(f"cases.deadlines.{prio}.", k, _DEADLINE_KEYS)
            elif checker.check_type(f"cases.deadlines.{prio}.{k}", v, "pos"):
                values[k.removesuffix("_minutes")] = float(v)
        base = deadlines.get(prio, Deadlines())
        deadlines[prio] = Deadlines(**{**base.__dict__, **values})
    working = [str(p) for p in (cases.get("working_days_for") or []) if isinstance(cases.get("working_days_for"), list)]
    for prio in working:
        if prio not in ("P1", "P2", "P3"):
            checker.add("cases.working_days_for", f"priorities are P1, P2 or P3, got {prio!r}")
    policy = CasePolicy(
        deadlines=deadlines,
        no_response_hours=float(cases.get("no_response_hours", 48.0)),
        duty_group=str(cases.get("duty_group", "duty")),
        working_days_for=tuple(p for p in working if p in ("P1", "P2", "P3")),
    )
    brief = _section(data, "briefing")
    btime = str(brief.get("time", "08:30"))
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", btime):
        checker.add("briefing.time", f"must be a Beijing time like \"08:30\", got {btime!r}")
    bgroup = str(brief.get("group", ""))
    if bgroup and bgroup not in groups:
        checker.add("briefing.group", f"no robot key for group {bgroup!r}; add it under "
                    "[wecom.groups] (or DIANHUA_WECOM_KEY_" + bgroup.upper() + ")")
    desk_url = str(brief.get("desk_url", ""))
    if desk_url and not re.match(r"https?://", desk_url):
        checker.add("briefing.desk_url", f"must start with http:// or https://, got {desk_url!r}")
    briefing = BriefingConfig(group=bgroup, time=btime, desk_url=desk_url,
                              skip_non_working_days=bool(brief.get("skip_non_working_days", True)))

    http = _section(data, "http")
    port = http.get("port", 8080)
    if isinstance(port, int) and not 0 <= port <= 65535:
        checker.add("http.port", f"must be between 0 and 65535, got {port}")
    log = _section(data, "log")
    level = str(log.get("level", "INFO")).upper()
    if level not in ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"):
        checker.add("log.level", f"must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    web = _section(data, "web")
    if str(web.get("secure_cookie", "auto")) not in ("auto", "always", "never"):
        checker.add("web.secure_cookie", "must be \"auto\", \"always\" or \"never\"")
    proxies = web.get("trusted_proxies", ["127.0.0.1", "::1"])
    if not isinstance(proxies, list) or not all(isinstance(p, str) for p in proxies):
        proxies = []
        checker.add("web.trusted_proxies", "must be a list of addresses in quotes")
    base_url = str(web.get("base_url", "")).rstrip("/")
    if base_url and not re.match(r"^https?://[^\s/]+", base_url):
        checker.add("web.base_url", f"must start with https:// or http://, got {base_url!r}")
    keep = _section(data, "retention")
    cluster = _cluster(data, env, checker)

    db_url = str(env.get("DIANHUA_DB_URL") or _section(data, "storage").get("url", "")).strip()
    if db_url and not db_url.startswith(("postgresql://", "postgres://")):
        where = "DIANHUA_DB_URL" if env.get("DIANHUA_DB_URL") else "storage.url"
        checker.add(where, "must be a PostgreSQL URL like postgresql://dianhua@127.0.0.1:5432/"
                           f"dianhua (leave it out for the SQLite file), got {db_url.split('://')[0]!r}…")

    concurrency = _section(data, "sender").get("concurrency", 4)
    if isinstance(concurrency, int) and not isinstance(concurrency, bool) \
            and not 1 <= concurrency <= 32:
        checker.add("sender.concurrency", "must be a whole number from 1 (one call at a time) "
                    f"to 32, got {concurrency!r}")
    workers_setting = _section(data, "pipeline").get("workers", "auto")
    workers: int | None = None
    if isinstance(workers_setting, int) and not isinstance(workers_setting, bool) \
            and 0 <= workers_setting <= 64:
        workers = workers_setting
    elif workers_setting != "auto":
        checker.add("pipeline.workers", "must be \"auto\", 0 (classify on the writer's thread) "
                    f"or a number of worker processes up to 64, got {workers_setting!r}")

    if checker.problems:
        raise ConfigError(checker.problems)

    def _path(value: Any) -> Path:
        return Path(str(value)).expanduser()

    model = env.get("DIANHUA_MODEL") or _section(data, "model").get("path")
    log_file = log.get("file", "var/log/dianhua.jsonl")
    return Config(
        source=file,
        accounts=tuple(accounts),
        db=_path(env.get("DIANHUA_DB") or _section(data, "storage").get("db", "var/dianhua.db")),
        db_url=db_url,
        rules=_path(env.get("DIANHUA_RULES") or _section(data, "rules").get("path", "rules.yaml")),
        model=_path(model) if model else None,
        model_registry=_path(env.get("DIANHUA_MODELS") or _section(data, "model").get(
            "registry", "models")),
        polling=schedule,
        tick_seconds=float(polling.get("tick_seconds", 1.0)),
        max_poll_lag_seconds=float(polling["max_lag_seconds"]) if "max_lag_seconds" in polling
        else None,
        quota_probe_minutes=float(polling.get("quota_probe_minutes", 5.0)),
        discover_minutes=float(polling.get("discover_minutes", 2.0)),
        rules_reload_seconds=float(_section(data, "rules").get("reload_seconds", 2.0)),
        deadline_check_seconds=float(cases.get("deadline_check_seconds", 30.0)),
        sender_max_attempts=int(_section(data, "sender").get("max_attempts", 12)),
        sender_backoff_cap=float(_section(data, "sender").get("backoff_cap_seconds", 300.0)),
        sender_concurrency=int(concurrency) if isinstance(concurrency, int) else 4,
        sender_process=bool(_section(data, "sender").get("process", True)),
        wecom_base_url=env.get("DIANHUA_WECOM_BASE_URL")
        or _section(data, "wecom").get("base_url", first.base_url),
        groups=groups,
        cases=policy,
        http_host=str(http.get("host", "127.0.0.1")),
        http_port=int(port),
        http_enabled=bool(http.get("enabled", True)),
        web_secret=env.get("DIANHUA_WEB_SECRET") or str(web.get("secret_key", "")),
        web_users={str(k): str(v) for k, v in (web.get("users") or {}).items()},
        web_idle_minutes=float(web.get("idle_minutes", 120.0)),
        web_absolute_hours=float(web.get("absolute_hours", 12.0)),
        web_secure_cookie=str(web.get("secure_cookie", "auto")),
        web_trusted_proxies=tuple(proxies),
        web_base_url=base_url,
        retention=RetentionPolicy(
            comments_days=float(keep.get("comments_days", RetentionPolicy.comments_days)),
            resolved_cases_days=float(keep.get("resolved_cases_days",
                                               RetentionPolicy.resolved_cases_days)),
            contact_days=float(keep.get("contact_days_after_resolution",
                                        RetentionPolicy.contact_days)),
            purge_every_minutes=float(keep.get("purge_every_minutes",
                                               RetentionPolicy.purge_every_minutes)),
        ),
        log_file=_path(log_file) if log_file else None,
        log_level=level,
        log_rotation=str(log.get("rotation", "20 MB")),
        log_retention=int(log.get("retention", 10)),
        briefing=briefing,
        spikes_check_seconds=float(_section(data, "rules").get("spikes_check_seconds", 60.0)),
        cluster=cluster,
        pipeline_workers=workers,
    )


def _cluster(data: dict[str, Any], env: dict[str, str], checker: _Checker) -> ClusterConfig | None:
    """``[cluster]`` (or ``DIANHUA_REPLICA_ID``) turns replica mode on; None otherwise."""
    if "cluster" not in data and not env.get("DIANHUA_REPLICA_ID"):
        return None
    section = _section(data, "cluster")
    lease = section.get("lease_seconds", 15.0)
    claim = section.get("claim_seconds", 60.0)
    if isinstance(lease, int | float) and not isinstance(lease, bool) and 0 < lease < 1:
        checker.add("cluster.lease_seconds", f"must be at least 1 (renewed every third), got {lease}")
    rid = env.get("DIANHUA_REPLICA_ID") or str(section.get("replica_id", ""))
    if rid and not re.fullmatch(r"[\w.:@-]{1,100}", rid):
        checker.add("cluster.replica_id", "letters, digits and . : @ - _ only (at most 100), "
                    f"got {rid!r}")
    try:
        return ClusterConfig(replica_id=rid, lease_seconds=float(lease), claim_seconds=float(claim))
    except (TypeError, ValueError):
        return None


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _accounts(raw: Any, checker: _Checker) -> list[AccountConfig]:
    if not isinstance(raw, list) or not raw:
        return [AccountConfig()]
    out: list[AccountConfig] = []
    for i, acc in enumerate(raw):
        where = f"accounts[{i}]"
        if not isinstance(acc, dict):
            checker.add(where, "must be a table ([[accounts]])")
            continue
        ok = True
        for k, v in acc.items():
            if k not in _ACCOUNT_KEYS:
                checker.unknown(f"{where}.", k, _ACCOUNT_KEYS)
                ok = False
            elif not checker.check_type(f"{where}.{k}", v, _ACCOUNT_KEYS[k]):
                ok = False
        articles: list[ArticleConfig] = []
        for j, art in enumerate(acc.get("articles") or []):
            awhere = f"{where}.articles[{j}]"
            if not isinstance(art, dict) or "msg_data_id" not in art:
                checker.add(awhere, "needs msg_data_id (and optionally index, title)")
                ok = False
                continue
            index = art.get("index", 0)
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                checker.add(f"{awhere}.index", f"must be 0 or more (0 = first article), got {index!r}")
                ok = False
                continue
            articles.append(ArticleConfig(str(art["msg_data_id"]), index, str(art.get("title", ""))))
        if ok and not _push_ok(acc, where, checker):
            ok = False
        if ok:
            fields = {k: v for k, v in acc.items() if k != "articles"}
            out.append(AccountConfig(**fields, articles=tuple(articles)))
    return out or [AccountConfig()]


def _push_ok(acc: dict[str, Any], where: str, checker: _Checker) -> bool:
    """The message-push settings of one account hang together (mode, key, token)."""
    from connectors.wechat.push import MODES, aes_key

    mode = acc.get("message_mode", "plaintext")
    if mode not in MODES:
        checker.add(f"{where}.message_mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
        return False
    key = acc.get("encoding_aes_key", "")
    if key:
        try:
            aes_key(key)
        except ValueError as exc:
            checker.add(f"{where}.encoding_aes_key", str(exc))
            return False
    elif mode != "plaintext":
        checker.add(f"{where}.encoding_aes_key",
                    f"message_mode {mode!r} needs the account's EncodingAESKey")
        return False
    token = acc.get("push_token", "")
    if token and not re.fullmatch(r"[A-Za-z0-9]{3,32}", token):
        checker.add(f"{where}.push_token", "must be 3 to 32 letters or digits (as on the platform)")
        return False
    return True


__all__ = ["AccountConfig", "ArticleConfig", "BriefingConfig", "Config", "GroupConfig", "load_config",
           "poll_lag_limit"]
