"""Does dianhua still poll and answer as fast with a database past 1 GB of comments?

Fills a real Store with synthetic history (comments, classifications, traces, outbox rows,
cases) until the file passes ``--gb``, then measures, on the big store and on a fresh one:

* a poll of an active article (a fake lister with 49 new comments), and
* the pipeline (bundled model, shipped rules.yaml) processing 500 new comments,

and finally how long ``Store.prune`` takes to drop the comments of inactive articles.

    .venv/bin/python bench/big_store.py            # 1 GB (a few minutes)
    .venv/bin/python bench/big_store.py --quick    # 0.1 GB
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loguru import logger  # noqa: E402

from bot.pipeline import Pipeline  # noqa: E402
from bot.poller import Poller  # noqa: E402
from bot.rules import load_rules  # noqa: E402
from bot.store import Store, comment_key  # noqa: E402

RESULTS = ROOT / "bench" / "results"
FILLER = "我老婆怀孕了要住院，医院要核酸结果，已经超过十二个小时了还没出来，能不能帮忙问一下，谢谢小编。"


def _texts() -> list[str]:
    rows = []
    for name in ("train.jsonl", "valid.jsonl"):
        with open(ROOT / "data" / name, encoding="utf-8") as fh:
            rows.extend(json.loads(line)["text"] for line in fh)
    return rows


def fill(store: Store, gb: float, texts: list[str]) -> int:
    """Bulk-insert history until the file is at least ``gb`` GB. Returns the comment count."""
    conn = store.db.conn
    now = store.now()
    from bot.clock import iso

    start = store.clock() - timedelta(days=30)  # history spread over the last 30 days
    for a in range(200):
        store.watch_article("main", str(1000 + a), 0, title=f"历史文章 {a}")
    conn.execute("update articles set active = 0 where cast(msg_data_id as int) < 1150")
    n = 0
    target = gb * 1024**3
    while os.path.getsize(store.path) < target:
        comments, classes, traces, outbox = [], [], [], []
        for _ in range(20_000):
            art = 1000 + n % 200
            cid = comment_key("main", art, 0, n)
            text = texts[n % len(texts)] + FILLER[: n % 40]
            comments.append((cid, "main", f"main:{art}:0", str(art), 0, n, f"o_{n % 50_000}", text,
                             1_600_000_000 + n, 0, 0, now, "processed"))
            classes.append((cid, 0.1, "below", "其他", 0.5, "[]", "v", "r", "[]", "", "[]", "[]",
                            now))
            traces.extend((cid, i, f"rule{i}", '[["band", false]]', 0, 0, "[]") for i in range(3))
            if n % 3 == 0:
                at = iso(start + timedelta(seconds=(n * 7) % (30 * 86400)))
                outbox.append((f"{cid}:0:reply", cid, None, "main", "reply", "urgent_auto",
                               '{"text": "电话发我"}', "sent", 1, at, "", at, at))
            n += 1
        with store.transaction():
            conn.executemany("insert into comments (id, account, article_id, msg_data_id, idx, "
                             "user_comment_id, openid, content, create_time, comment_type, "
                             "had_reply, received_at, state) values "
                             "(?,?,?,?,?,?,?,?,?,?,?,?,?)", comments)
            conn.executemany("insert into classifications values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                             classes)
            conn.executemany("insert into traces values (?,?,?,?,?,?,?)", traces)
            conn.executemany("insert into outbox (key, comment_id, case_id, account, kind, rule, "
                             "params, status, attempts, next_attempt_at, last_error, created_at, "
                             "sent_at) values (?,?,?,?,?,?,?,?,?,?,?,?,?)", outbox)
        print(f"\r  {n:,} comments, {os.path.getsize(store.path) / 1024**2:,.0f} MB", end="",
              file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return n


class _Lister:
    def __init__(self, texts: list[str], start: int) -> None:
        self.texts, self.start, self.calls = texts, start, 0

    def list_comments(self, msg_data_id: Any, index: int = 0, begin: int = 0, count: int = 49,
                      type: int = 0) -> Any:
        from connectors.wechat.models import Comment, CommentPage

        self.calls += 1
        if begin >= 49:
            return CommentPage(total=49, comments=[])
        items = [Comment(self.start + i, f"o_new_{i}", int(time.time()), self.texts[i])
                 for i in range(begin, 49)]
        return CommentPage(total=49, comments=items[:count])


def measure(store: Store, model: Any, rules: Any, texts: list[str], tag: str) -> dict[str, Any]:
    key = store.watch_article("main", "777777", 0, title="新文章")
    polls, per_comment = [], []
    base = 10_000_000
    for rep in range(3):
        article = store.article(key)
        assert article is not None
        store.db.conn.execute("update articles set cursor = 0, last_full_scan_at = null where id = ?",
                              [key])
        lister = _Lister(texts[rep * 49:], base + rep * 1000)
        poller = Poller(store, lambda _a, lst=lister: lst)
        t = time.perf_counter()
        poller.poll_article(store.article(key) or article)
        polls.append((time.perf_counter() - t) * 1000)
    pipeline = Pipeline(store, model, lambda: rules)
    for _ in range(3):
        # 500 new comments on the new article
        rows = [{"user_comment_id": base + 100_000 + len(per_comment) * 500 + i,
                 "openid": f"o_p_{i}", "content": texts[i], "create_time": int(time.time())}
                for i in range(500)]
        article = store.article(key)
        assert article is not None
        store.store_comments(article, rows, new_cursor=0, next_poll_at=store.clock())
        t = time.perf_counter()
        while pipeline.process_pending(limit=200):
            pass
        per_comment.append((time.perf_counter() - t) * 1000 / 500)
    out = {"store": tag, "db_mb": round(os.path.getsize(store.path) / 1024**2),
           "poll_ms_median": round(statistics.median(polls), 1),
           "pipeline_ms_per_comment_median": round(statistics.median(per_comment), 2)}
    print(json.dumps(out, ensure_ascii=False))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="0.1 GB")
    parser.add_argument("--dir", type=Path, default=None, help="where to build the stores")
    args = parser.parse_args()
    gb = 0.1 if args.quick else args.gb
    logger.remove()
    from classifiers import load_model

    model, rules, texts = load_model(), load_rules(ROOT / "rules.yaml"), _texts()
    model.predict_many(texts[:10])  # load jieba outside the timings
    work = args.dir or Path(tempfile.mkdtemp(prefix="dianhua-big-"))
    small = Store(work / "small.db")
    results = [measure(small, model, rules, texts, "fresh")]
    small.close()
    big = Store(work / "big.db")
    t = time.perf_counter()
    n = fill(big, gb, texts)
    fill_s = time.perf_counter() - t
    results.append(measure(big, model, rules, texts, f"{n:,} comments"))
    t = time.perf_counter()
    pruned = big.prune(timedelta(seconds=0))
    prune_s = time.perf_counter() - t
    summary = {"command": " ".join(sys.argv), "gb": gb, "comments": n, "fill_seconds": round(fill_s),
               "results": results, "prune": {"deleted": pruned, "seconds": round(prune_s, 1)}}
    print(json.dumps(summary["prune"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("big_store_quick.json" if args.quick else "big_store.json")
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    big.close()


if __name__ == "__main__":
    main()
