"""Item pages of the site: every answer of a model on a task, paginated and searchable.

One page set per (leaderboard row, task column), from the first run (lowest seed) of that row:
prompt, prediction, extracted answer, target, score and the verifier's evidence. Tasks whose
examples are never published in plain text get no item page (the cell links to nothing, and
the model page says how many items were scored).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from harness.runs import slug
from harness.types import stable_hash
from leaderboards.answers import unextracted, why

PAGE_SIZE = 250
COLUMNS = ["item_id", "prompt", "prediction", "extracted", "target", "score", "detail"]


def item_page(label: str, key: str, page: int = 1) -> str:
    """Site-relative path of a (row, column) item page; page 1 is the one cells link to."""
    tail = "" if page == 1 else f"-p{page}"
    return (f"items/{slug(label)[:60]}-{stable_hash(label)[:6]}/"
            f"{slug(key)[:60]}-{stable_hash(key)[:6]}{tail}.html")


def is_private(task: dict) -> bool:
    return str((task.get("tags") or {}).get("examples", "")).lower() == "private"


def first_run_records(conn: sqlite3.Connection, label: str, task_id: int) -> pd.DataFrame | None:
    row = conn.execute("SELECT s.records_path FROM scores s JOIN runs r ON r.id=s.run_id "
                       "WHERE r.label=? AND s.task_id=? ORDER BY COALESCE(r.seed, -1) LIMIT 1",
                       (label, task_id)).fetchone()
    if row is None or not Path(row["records_path"]).exists():
        return None
    return pd.read_parquet(row["records_path"], columns=COLUMNS)


def item_rows(df: pd.DataFrame) -> list[dict]:
    missing = unextracted(df)
    return [{"id": str(r.item_id), "prompt": str(r.prompt), "prediction": str(r.prediction),
             "extracted": "" if r.extracted is None else str(r.extracted),
             "target": str(r.target), "score": float(r.score), "why": why(_loads(r.detail)),
             "unparsed": bool(m)} for r, m in zip(df.itertuples(index=False), missing)]


def pages(rows: list[dict]) -> list[list[dict]]:
    return [rows[i:i + PAGE_SIZE] for i in range(0, len(rows), PAGE_SIZE)] or [[]]


def _loads(value):
    import json

    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
