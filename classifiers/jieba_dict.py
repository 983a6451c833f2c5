"""jieba's exact tokens without loading jieba's whole prefix dictionary (issue 16).

jieba's ``Tokenizer.initialize()`` unmarshals a prefix dictionary of ~500,000 entries (~1 s,
~80 MB) before it segments anything. Segmenting a text only ever looks up *substrings of that
text* in it: ``get_DAG`` walks ``text[k:i]`` while it is a key (words and, with frequency 0,
their prefixes), ``calc`` reads ``FREQ.get(word) or 1`` and ``total``, ``__cut_DAG`` reads
``FREQ.get(run)`` for a run of single characters before handing it to the HMM
(``jieba.finalseg``, which needs no dictionary). Every key's prefixes are keys, so walking from
each position of the text finds every key that is a substring of it.

:class:`PrefixDict` keeps jieba's final prefix dictionary (jieba's ``dict.txt`` with the user
dictionary's words added by jieba's own ``add_word``, frequencies and ``total`` exactly as jieba
computed them) in one file, sharded by first character and memory-mapped; a text's entries
(a few dozen) are found by byte searches in the shards of its characters and handed to a fresh
``jieba.Tokenizer`` as its ``FREQ``, so jieba's own code cuts the text, with jieba's own
arithmetic, and gives jieba's tokens.

The file is built from a fully loaded jieba tokenizer (:func:`build`), by ``make install``
(``python -m classifiers.jieba_dict``, the bundled user dictionary) or by the first process
that needs it for another dictionary, into :func:`cache_dir` under a name keyed by jieba's
version and the user dictionary's sha256. :func:`load` returns ``None`` (the caller loads jieba
whole, as before) unless the file's header names this jieba version and dictionary, the body's
sha256 matches and the probe texts saved at build time (tie-prone ones) give the saved tokens.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mmap
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classifiers.paths import REPO_DIR

if TYPE_CHECKING:
    import jieba

MAGIC = b"DIANHUA-JIEBA-PREFIX-DICT\n"
FORMAT = 2
CACHE_ENV = "DIANHUA_SEGMENT_CACHE"  # a directory, or "off" to always load jieba whole
# Words whose lookup (found or not) is remembered (~150 bytes each).
MEMO_ENTRIES = 100_000
KEEP_FILES = 8  # dictionary files kept in the cache directory (newest first)
# Texts whose tokens are saved in the file at build time and checked when it is opened.
PROBES = (
    "急急急", "急急急我该哭还是该笑", "哈哈哈哈", "哈哈哈哈哈", "好的好的好的", "谢谢谢谢",
    "啊啊啊啊啊啊啊啊啊啊啊", "急急急孩子发烧39度怎么办", "谢谢谢谢医生我妈血压高头晕",
    "好的好的好的核酸报告什么时候出", "哈哈哈哈哈哈透析病人断药了救命救命",
    "老婆见红了医院要核酸报告", "abc123核酸检测", "胸口疼疼疼喘不上气",
)


def cache_dir() -> Path | None:
    """Where dictionary files live: ``$DIANHUA_SEGMENT_CACHE``, else ``var/cache/segment`` in
    the repository; ``None`` when the variable is ``off``."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env.lower() == "off":
        return None
    return Path(env) if env else REPO_DIR / "var" / "cache" / "segment"


def file_name(jieba_version: str, userdict_sha: str) -> str:
    return f"jieba-{jieba_version}-{userdict_sha[:16]}.v{FORMAT}.dict"


def path_for(userdict: tuple[str, ...], directory: Path | None = None) -> Path | None:
    """The dictionary file for ``userdict`` and the installed jieba (``None``: cache off)."""
    import jieba

    from classifiers.segment import userdict_sha256

    d = directory if directory is not None else cache_dir()
    if d is None:
        return None
    return d / file_name(jieba.__version__, userdict_sha256(userdict))


def _words(tok: jieba.Tokenizer, text: str) -> list[str]:
    return [w for w in tok.lcut(text, HMM=True) if w.strip()]


def force_split_words(userdict: tuple[str, ...]) -> list[str]:
    """User words with frequency 0: jieba's ``add_word`` registers them with its HMM."""
    from classifiers.segment import _parse

    return [w for w, f, _ in map(_parse, userdict) if f == 0]


def build(userdict: tuple[str, ...], path: Path, tok: jieba.Tokenizer | None = None) -> Path:
    """Write the prefix dictionary of ``tok`` (default: jieba loaded whole with ``userdict``)
    to ``path`` (atomically: a temporary file renamed), and prune old files beside it."""
    import jieba

    from classifiers.segment import segmenter, userdict_sha256

    tok = tok if tok is not None else segmenter(userdict)
    shards: dict[str, list[str]] = {}
    for word, freq in tok.FREQ.items():
        if not word or any(c in word for c in "\t\n\x00"):
            raise ValueError(f"jieba dictionary key {word!r} cannot be stored")
        shards.setdefault(word[0], []).append(f"{word}\t{int(freq)}\n")
    chars = "".join(sorted(shards))
    body = bytearray(b"\n")
    offsets = [0]
    for c in chars:
        body += "".join(sorted(shards[c])).encode("utf-8")
        offsets.append(len(body) - 1)
    header = {
        "format": FORMAT, "jieba_version": jieba.__version__,
        "userdict_sha256": userdict_sha256(userdict), "total": int(tok.total),
        "entries": len(tok.FREQ), "force_split": force_split_words(userdict),
        "chars": chars, "offsets": offsets, "body_bytes": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "probes": {t: _words(tok, t) for t in PROBES},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n")
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _prune(path.parent, keep=path)
    return path


def _prune(directory: Path, keep: Path) -> None:
    """Remove all but the newest :data:`KEEP_FILES` files (another process may prune too)."""
    try:
        files = sorted(((p.stat().st_mtime, p) for p in directory.glob("jieba-*.dict")),
                       reverse=True)
        for _, old in [f for f in files if f[1] != keep][KEEP_FILES - 1:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


class PrefixDict:
    """jieba's prefix dictionary for one user dictionary, looked up in a memory-mapped file.

    The body is ``\\nword\\tfreq`` lines grouped by first character; a word is found by a
    byte search (``mmap.find``) in its character's group, and what was found (or not) is
    remembered, up to :data:`MEMO_ENTRIES` words."""

    def __init__(self, path: Path, header: dict[str, Any], data: mmap.mmap, start: int) -> None:
        self.path = path
        self.total = int(header["total"])
        self.entries = int(header["entries"])
        self._data = data
        self._start = start
        offsets: list[int] = header["offsets"]
        self._groups = {c: (start + offsets[i], start + offsets[i + 1] + 1)
                        for i, c in enumerate(header["chars"])}
        self._memo: dict[str, int | None] = {}

    def get(self, word: str) -> int | None:
        """jieba's ``FREQ.get(word)``: the frequency (0 for a prefix only), ``None`` if absent."""
        memo = self._memo
        known = memo.get(word, -1)  # one lookup: another thread may clear the memo
        if known != -1:
            return known
        group = self._groups.get(word[0])
        freq: int | None = None
        if group is not None:
            key = b"\n" + word.encode("utf-8") + b"\t"
            at = self._data.find(key, group[0], group[1])
            if at >= 0:
                at += len(key)
                freq = int(self._data[at:self._data.find(b"\n", at, group[1])])
        if len(memo) >= MEMO_ENTRIES:
            memo.clear()
        memo[word] = freq
        return freq

    def entries_of(self, text: str) -> dict[str, int]:
        """The entries that are substrings of ``text``: all jieba looks up to segment it."""
        out: dict[str, int] = {}
        get = self.get
        n = len(text)
        for k in range(n):
            for i in range(k + 1, n + 1):
                frag = text[k:i]
                freq = get(frag)
                if freq is None:
                    break
                out[frag] = freq
        return out

    def tokenizer(self, text: str) -> jieba.Tokenizer:
        """A jieba tokenizer that segments ``text`` (and any substring of it) as jieba would."""
        import jieba

        tok = jieba.Tokenizer()
        tok.FREQ = self.entries_of(text)
        tok.total = self.total
        tok.initialized = True
        return tok

    def cut(self, text: str) -> list[str]:
        """jieba's words of ``text`` (HMM on, whitespace dropped), as ``segment`` gives them."""
        return _words(self.tokenizer(text), text)


def load(userdict: tuple[str, ...], path: Path) -> PrefixDict | None:
    """The dictionary file at ``path`` if it is complete and for this jieba and ``userdict``."""
    import jieba
    from jieba import finalseg

    from classifiers.segment import userdict_sha256

    try:
        f = path.open("rb")
    except OSError:
        return None
    with f:
        try:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
    try:
        if data[: len(MAGIC)] != MAGIC:
            raise ValueError("not a dictionary file")
        end = data.find(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC):end].decode("utf-8"))
        start = end + 1
        ok = (header.get("format") == FORMAT
              and header.get("jieba_version") == jieba.__version__
              and header.get("userdict_sha256") == userdict_sha256(userdict)
              and len(data) - start == header.get("body_bytes")
              and hashlib.sha256(memoryview(data)[start:]).hexdigest()
              == header.get("body_sha256"))
        if not ok:
            raise ValueError("stale or damaged")
        for word in header["force_split"]:
            finalseg.add_force_split(word)
        pd = PrefixDict(path, header, data, start)
        if any(pd.cut(t) != list(w) for t, w in header["probes"].items()):
            raise ValueError("probe texts segment differently")
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError):
        data.close()
        return None
    return pd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m classifiers.jieba_dict",
        description="Build the compact jieba prefix dictionary for a user dictionary, so "
                    "segmenting tie runs never loads jieba's whole dictionary.")
    ap.add_argument("--userdict", type=Path, default=None,
                    help="user dictionary file (default: data/userdict.txt, the bundled "
                         "model's)")
    ap.add_argument("--dir", type=Path, default=None,
                    help=f"output directory (default: ${CACHE_ENV} or var/cache/segment)")
    args = ap.parse_args(argv)
    import logging

    import jieba

    from classifiers.segment import read_userdict

    jieba.setLogLevel(logging.WARNING)
    ud = read_userdict(args.userdict)
    path = path_for(ud, args.dir)
    if path is None:
        print(f"{CACHE_ENV}=off: nothing to build")
        return 0
    if load(ud, path) is None:
        build(ud, path)
    pd = load(ud, path)
    if pd is None:
        print(f"error: {path} was written but does not read back")
        return 1
    print(f"{path}: {pd.entries} entries, {path.stat().st_size / 1e6:.1f} MB, "
          f"{len(ud)} user words")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

__all__ = ["CACHE_ENV", "PrefixDict", "build", "cache_dir", "load", "path_for"]
