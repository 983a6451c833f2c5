"""``dianhua demo``: the whole product on one screen, offline.

Starts the mock platform, replays ``data/scenarios/demo.jsonl`` into it, runs the daemon against
it with a fresh database, shows the live stream, then the private channel (a reader answers
"电话发我" by private message, pushed by the mock in safe mode to the daemon's ``/wechat/demo``)
and ends with a summary.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bot import pii
from bot.cli._common import counted, plain_errors
from bot.clock import SHANGHAI

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = ROOT / "data" / "scenarios" / "demo.jsonl"
DEFAULT_RULES = ROOT / "rules.yaml"

_BAND_COLOR = {"auto": "red", "review": "yellow", "below": "white"}


@click.command()
@click.option("--scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_SCENARIO, show_default="data/scenarios/demo.jsonl",
              help="Scenario file to replay (JSON Lines, see docs/mock.md).")
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=DEFAULT_RULES, show_default="rules.yaml",
              help="The rules to run (see docs/rules.md).")
@click.option("--speed", type=click.FloatRange(min=0.1, max=1000), default=4.0, show_default=True,
              help="Replay speed (4 = four times faster than the scenario's clock).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the mock's and the daemon's databases here (default: a temporary folder).")
@click.option("--timeout", type=float, default=180.0, show_default=True,
              help="Give up after this many seconds.")
def demo(scenario: Path, rules_path: Path, speed: float, workdir: Path | None,
         timeout: float) -> None:
    """Start the mock, replay the demo scenario and run the daemon against it."""
    from connectors.mock.replay import ScenarioError, load_scenario

    try:
        load_scenario(scenario)  # a broken scenario is refused before anything starts
    except ScenarioError as exc:
        raise click.ClickException(f"scenario: {exc}") from None
    with plain_errors():
        if workdir is None:
            with tempfile.TemporaryDirectory(prefix="dianhua-demo-") as tmp:
                _run(scenario, rules_path, speed, Path(tmp), timeout)
        else:
            workdir.mkdir(parents=True, exist_ok=True)
            _run(scenario, rules_path, speed, workdir, timeout)


def _run(scenario: Path, rules_path: Path, speed: float, work: Path, timeout: float) -> None:
    from bot.cases import CasePolicy
    from bot.config import AccountConfig, Config, GroupConfig
    from bot.daemon import Daemon
    from bot.poller import PollSchedule
    from bot.rules import load_rules
    from bot.store import monitoring
    from connectors.mock import MockServer, load_scenario

    events = load_scenario(scenario)
    rules = load_rules(rules_path)
    mock = MockServer(work / "mock.db").start()
    try:
        for title in dict.fromkeys(e.article for e in events if isinstance(e.article, str)):
            if not (title.isascii() and title.isdigit()) and mock.state.find_article(title) is None:
                mock.state.add_article(title)
        groups = {name: GroupConfig(key=f"demo-{name}") for name in (rules.groups or {})}
        duty = CasePolicy().duty_group
        groups.setdefault(duty, GroupConfig(key=f"demo-{duty}"))
        port = _free_port()
        push_token, aes_key = "demotoken1", _new_aes_key()
        config = Config(
            source="(demo)",
            accounts=(AccountConfig(name="demo", base_url=mock.url, push_token=push_token,
                                    encoding_aes_key=aes_key, message_mode="safe"),),
            db=work / "dianhua.db",
            rules=rules_path,
            polling=PollSchedule(fast_seconds=0.5, normal_seconds=0.5, slow_seconds=0.5),
            wecom_base_url=mock.url,
            groups=groups,
            http_enabled=False,
            http_port=port,
            web_secret=_new_aes_key(),  # a throwaway desk session key for this run
            log_file=work / "dianhua.jsonl",
        )
        click.echo(f"mock platform on {mock.url}; replaying {counted(len(events), 'comment')} from "
                   f"{scenario.name} at {speed:g}x; rules {rules.version}")
        click.echo(click.style(f"{'time':8} {'score':>5} {'band':6} {'rules':24} comment", bold=True))
        daemon = Daemon(config, on_outcome=_print_outcome)
        daemon.serve_http()  # /wechat/demo receives the readers' private messages
        _configure_push(mock, f"http://127.0.0.1:{port}/wechat/demo", push_token, aes_key)
        daemon.discover()
        job = mock.replayer.start(events, speed=speed, source=str(scenario))
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            daemon.tick()
            busy = monitoring.backlog(daemon.store)
            finished = job.state != "running"
            quiet = quiet + 1 if finished and not busy else 0
            if quiet >= 3:
                break
            time.sleep(0.25)
        _private_channel(daemon, mock, port, deadline)
        _summary(daemon, mock)
        daemon.shutdown()
    finally:
        mock.stop()


PRIVATE_READER = "o_demo_private"
PRIVATE_COMMENT = "我妈在透析，医院说要核酸结果才能做，结果还没出来，能不能帮忙加急，真的很急"
PRIVATE_MESSAGE = "你好，我的电话 13800000000，麻烦尽快联系"  # the invalid demo number


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _new_aes_key() -> str:
    import base64
    import os

    return base64.b64encode(os.urandom(32)).decode("ascii").rstrip("=")


def _configure_push(mock: Any, url: str, token: str, aes_key: str) -> None:
    """The account's 服务器配置 (URL, Token, EncodingAESKey, safe mode), on the mock's side."""
    import httpx

    health = url.rsplit("/wechat/", 1)[0] + "/healthz"
    for _ in range(200):  # the daemon's HTTP server starts in a thread
        try:
            httpx.get(health, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    httpx.post(mock.url + "/_mock/push", json={"url": url, "token": token, "mode": "safe",
                                               "encoding_aes_key": aes_key}).raise_for_status()


def _wait_for(daemon: Any, deadline: float, done: Any) -> bool:
    while time.monotonic() < deadline:
        daemon.tick()
        if done():
            return True
        time.sleep(0.25)
    return False


def _private_channel(daemon: Any, mock: Any, port: int, deadline: float) -> None:
    """A reader comments, gets "电话发我", sends the number by private message."""
    import httpx

    from bot.store import monitoring

    store = daemon.store
    click.echo("")
    click.echo(click.style("private channel: a reader answers \"电话发我\" by private message",
                           bold=True))
    article = mock.state.articles()[0]
    mock.state.add_comment(article["msg_data_id"], article["index"], PRIVATE_READER,
                           PRIVATE_COMMENT)

    def case() -> dict[str, Any] | None:
        rows = monitoring.cases_of_writer(store, PRIVATE_READER)
        return rows[0] if rows else None

    if not _wait_for(daemon, deadline,
                     lambda: monitoring.writer_reply_sent(store, PRIVATE_READER)):
        click.echo("  (no public reply in time)")
        return
    opened = case() or {}
    click.echo(f"  comment      {PRIVATE_COMMENT[:30]}…")
    click.echo(f"  public reply 电话发我 · case #{opened.get('id')} {opened.get('status')}")
    pushed = httpx.post(mock.url + "/_mock/messages",
                        json={"openid": PRIVATE_READER, "content": PRIVATE_MESSAGE}).json()
    click.echo(f"  private msg  {pii.mask(PRIVATE_MESSAGE)} · pushed signed and AES-encrypted, "
               f"bot answered {pushed['attempts'][-1].get('answer', '?')!r}")
    if not _wait_for(daemon, deadline, lambda: (case() or {}).get("status") == "contact_received"):
        click.echo("  (the case did not reach contact_received in time)")
        return
    moved = case() or {}
    click.echo(f"  case #{moved['id']}      {opened.get('status')} → {moved['status']}, "
               f"contact {pii.mask_phone(moved['contact_phone'])} (the full number is shown only "
               f"on the desk's case page: http://127.0.0.1:{port}/case/{moved['id']})")


def _print_outcome(outcome: Any, row: dict[str, Any]) -> None:
    p = outcome.prediction
    rules = ",".join(outcome.decision.matched_rules) or "-"
    text = pii.mask(row.get("content") or "").replace("\n", " ")
    if len(text) > 48:
        text = text[:47] + "…"
    now = datetime.now(SHANGHAI).strftime("%H:%M:%S")  # Beijing time, like quiet_hours
    line = f"{now} {p.score:5.3f} {p.band:6} {rules[:24]:24} {text}"
    click.echo(click.style(line, fg=_BAND_COLOR.get(p.band, "white"), bold=p.band == "auto"))


def _summary(daemon: Any, mock: Any) -> None:
    from bot.clock import parse_iso
    from bot.store import monitoring

    totals = monitoring.summary(daemon.store)
    comments, bands, cases = totals["comments"], totals["bands"], totals["cases"]
    replies, notifies = totals["replies"], totals["notifies"]
    latencies = [parse_iso(r["sent_at"]).timestamp() - r["create_time"]
                 for r in totals["sent_replies"]]
    click.echo("")
    click.echo(click.style("summary", bold=True))
    click.echo(f"  comments            {comments}")
    click.echo(f"  urgent flagged      {bands.get('auto', 0) + bands.get('review', 0)} "
               f"(auto {bands.get('auto', 0)}, review {bands.get('review', 0)})")
    click.echo(f"  public replies      {replies}")
    click.echo(f"  group notifications {notifies}")
    messages = totals["messages"]
    click.echo(f"  private messages    {messages}")
    click.echo("  cases               " + (", ".join(f"{r['status']} {r['n']}" for r in cases) or "none"))
    if latencies:
        p50 = statistics.median(latencies)
        p95 = sorted(latencies)[max(0, int(round(0.95 * len(latencies))) - 1)]
        click.echo(f"  comment→reply       p50 {p50:.1f}s, p95 {p95:.1f}s "
                   "(platform timestamps have 1 s resolution)")
