"""What a model answered, item by item, from a run directory alone (``genrank view``, site pages).

A task whose examples must never be published in plain text (tag ``examples: private``, as
ReaLMistake's authors ask) shows ids, verdicts and scores only: its prompts and predictions are
replaced by a note, wherever this module renders them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.errors import GenrankError
from harness.runstore import RunDir

HIDDEN = "[not shown: this benchmark's examples are never published in plain text]"


@dataclass(frozen=True)
class TaskAnswers:
    task: str
    rows: pd.DataFrame        # item_id, prompt, prediction, extracted, target, score, why
    n_items: int
    n_wrong: int
    n_unextracted: int
    private: bool


def is_private(run: RunDir, task: str) -> bool:
    tags = (run.read_metadata().get("tasks", {}).get(task) or {}).get("tags") or {}
    return str(tags.get("examples", "")).lower() == "private"


def unextracted(records: pd.DataFrame) -> pd.Series:
    """Items whose answer could not be extracted (no parse, empty extraction)."""
    ext = records["extracted"]
    return ext.isna() | (ext.astype(str).str.strip() == "")


def wrong(records: pd.DataFrame) -> pd.Series:
    """Items below the task's best per-item score (1.0 for the binary verifiers)."""
    return records["score"].astype(float) < 1.0


def why(detail: Any) -> str:
    """The verifier's evidence in one line (its ``detail``, minus empty fields)."""
    if not detail:
        return ""
    if isinstance(detail, dict):
        detail = {k: v for k, v in detail.items() if v not in (None, "", [], {})}
        return json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True) if detail else ""
    return str(detail)


def task_answers(run: RunDir, task: str, *, only_wrong: bool = False,
                 only_unextracted: bool = False, limit: int | None = None) -> TaskAnswers:
    if task not in run.tasks():
        raise GenrankError(f"no records for this task (has: {', '.join(run.tasks()) or 'none'})",
                           file=str(run.path), task=task, field="--task")
    df = run.read_records(task)
    bad, missing = wrong(df), unextracted(df)
    keep = pd.Series(True, index=df.index)
    if only_wrong:
        keep &= bad
    if only_unextracted:
        keep &= missing
    sel = df[keep]
    if limit is not None:
        sel = sel.head(limit)
    private = is_private(run, task)
    rows = pd.DataFrame({
        "item_id": sel["item_id"].astype(str),
        "prompt": HIDDEN if private else sel["prompt"].astype(str),
        "prediction": HIDDEN if private else sel["prediction"].astype(str),
        "extracted": sel["extracted"].map(lambda v: "" if v is None else str(v)),
        "target": sel["target"].astype(str),  # a label or reference answer, not the example
        "score": sel["score"].astype(float),
        "why": sel["detail"].map(why),
    })
    return TaskAnswers(task, rows.reset_index(drop=True), len(df), int(bad.sum()),
                       int(missing.sum()), private)


def extraction_warnings(run: RunDir, tasks, threshold: float = 0.5) -> list[str]:
    """One line per task where most answers could not be extracted: the usual sign of a
    prompt or chat-template mismatch (the question lm-eval users keep asking), not of a
    weak model."""
    out = []
    for task in tasks:
        if task not in run.tasks():
            continue
        df = run.read_records(task, columns=["extracted"])
        n, missing = len(df), int(unextracted(df).sum())
        if n and missing / n > threshold:
            out.append(f"warning: {task}: {n - missing} of {n} answers could be extracted: check "
                       f"the prompt / chat template (genrank view {run.path} --task {task} "
                       "--unparsable)")
    return out
