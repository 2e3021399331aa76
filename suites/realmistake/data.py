"""Items from the password-protected data.zip, read in memory only.

The authors ask that examples never appear in plain text online, so nothing here
writes an example anywhere: items live in memory and in the user's run directory.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from harness.data import open_text, read_zip_member, resolve
from harness.errors import GenrankError
from harness.registry import loader, prediction_reader
from harness.types import Item

TASKS = ("math_word_problem_generation", "finegrained_fact_verification",
         "answerability_classification")
#: response model as in data.zip file names -> upstream's full name (report keys)
RESPONSE_MODELS = {"gpt-4-0613": "gpt-4-0613", "Llama-2-70b-chat-hf": "meta-llama/Llama-2-70b-chat-hf"}
#: detector short name (published outputs) -> upstream's full name, in upstream's order
DETECTORS = {
    "gemma-7b-it": "google/gemma-7b-it",
    "Llama-2-13b-chat-hf": "meta-llama/Llama-2-13b-chat-hf",
    "Llama-2-70b-chat-hf": "meta-llama/Llama-2-70b-chat-hf",
    "Mistral-7B-Instruct-v0.1": "mistralai/Mistral-7B-Instruct-v0.1",
    "Mixtral-8x7B-Instruct-v0.1": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "Qwen1.5-14B-Chat": "Qwen/Qwen1.5-14B-Chat",
    "Qwen1.5-72B-Chat": "Qwen/Qwen1.5-72B-Chat",
    "gpt-3.5-turbo-0125": "gpt-3.5-turbo-0125",
    "gemini-1.0-pro-001": "models/gemini-1.0-pro-001",
    "claude-3-opus-20240229": "claude-3-opus-20240229",
    "gpt-4-0613": "gpt-4-0613",
    "gpt-4-0125-preview": "gpt-4-0125-preview",
}
PASSWORD_KEY = "password"
READER_COLUMNS = ("method", "task", "initial_model", "detector", "prompt", "instance_id",
                  "prediction")


@lru_cache(maxsize=16)
def _member(path: str, member: str, password: str, task: str) -> tuple[dict, ...]:
    raw = read_zip_member(Path(path), member, password=password.encode(), task=task)
    return tuple(json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip())


@dataclass(frozen=True)
class RealMistakeSource:
    path: str
    password: str = ""


@dataclass(frozen=True)
class RealMistakeParams:
    task: str
    response_model: str


@loader("realmistake", source=RealMistakeSource, params=RealMistakeParams)
def load(spec, source: dict) -> list[Item]:
    """One item per (task input, LLM response); target is 'error' or 'no_error'."""
    params = spec.loader_params
    task, model = params.get("task"), params.get("response_model")
    if task not in TASKS:
        raise GenrankError(f"expected one of {TASKS}", file=spec.file, task=spec.name,
                           field="loader_params.task")
    if model not in RESPONSE_MODELS:
        raise GenrankError(f"expected one of {sorted(RESPONSE_MODELS)}", file=spec.file,
                           task=spec.name, field="loader_params.response_model")
    path = resolve(source["path"], task=spec.name, upstream=source.get("upstream"))
    rows = _member(str(path), f"data/{task}/{model}.jsonl", str(source.get(PASSWORD_KEY, "")),
                   spec.name)
    return [Item(id=r["metadata"]["id"], fields={"input": r["input"], "response": r["llm_response"]},
                 target=r["error_label"],
                 meta={"task": task, "response_model": RESPONSE_MODELS[model],
                       "error_categories": list(r.get("error_categories") or []),
                       "task_source": r["metadata"].get("task_source")})
            for r in rows]


@lru_cache(maxsize=2)
def _predictions(path: str, mtime: float) -> pd.DataFrame:
    with open_text(Path(path)) as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False)


@prediction_reader("realmistake_detectors")
def read_detectors(path: Path, spec) -> pd.DataFrame:
    """Published detector verdicts (upstream's error_detection_outputs, flattened).

    One run per detector; the variant is ``method/prompt``; a blank prediction is an
    unparsable detector output. ``predictions.methods`` in the spec picks methods.
    """
    frame = _predictions(str(path), Path(path).stat().st_mtime)
    missing = [c for c in READER_COLUMNS if c not in frame.columns]
    if missing:
        raise GenrankError(f"missing column(s) {missing}", file=str(path), task=spec.name,
                           field=missing[0])
    task, model = spec.loader_params.get("task"), spec.loader_params.get("response_model")
    methods = spec.predictions.get("methods")
    rows = frame[(frame["task"] == task) & (frame["initial_model"] == model)]
    if methods:
        rows = rows[rows["method"].isin(methods)]
    if rows.empty:
        raise GenrankError(f"no rows for task {task!r} and response model {model!r}",
                           file=str(path), task=spec.name, field="task")
    known = set(DETECTORS) | {d for d in rows["detector"] if "__" in d}  # majority-vote ensembles
    unknown = sorted(set(rows["detector"]) - known)
    if unknown:
        raise GenrankError(f"unknown detector model(s) {unknown[:3]}", file=str(path),
                           task=spec.name, field="detector")
    pred = rows["prediction"].map(lambda p: p if p not in ("", None) and not (
        isinstance(p, float) and math.isnan(p)) else None)
    return pd.DataFrame({"item_id": rows["instance_id"].to_numpy(), "prediction": pred.to_numpy(),
                         "model": rows["detector"].to_numpy(),
                         "variant": (rows["method"] + "/" + rows["prompt"]).to_numpy()})
