"""Generation cache: the same model content, prompt and settings never call the model twice.

SQLite in WAL mode, so concurrent runs (and shards) can share one cache file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Iterable

from harness.types import stable_hash


def cache_path() -> Path:
    default = Path.home() / ".cache" / "genrank" / "cache"
    return Path(os.environ.get("GENRANK_CACHE", default)).expanduser() / "generations.sqlite"


def cache_key(model_hash: str, prompt: str, settings: dict) -> str:
    return stable_hash({"model": model_hash, "prompt": prompt, "settings": settings})


class GenerationCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS generations (key TEXT PRIMARY KEY, output TEXT)")

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        keys = list(keys)
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self.db.execute(
                f"SELECT key, output FROM generations WHERE key IN ({marks})", chunk).fetchall())
        return found

    def put_many(self, pairs: Iterable[tuple[str, str]]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO generations VALUES (?, ?)", list(pairs))

    def close(self) -> None:
        self.db.close()
