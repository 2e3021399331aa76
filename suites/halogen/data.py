"""HALoGEN prompts as items, and the published per-model hallucination files as predictions.

Published files are matched to prompts by text (normalised for the quoting some
files add). Upstream scored every row of a file, so the reader keeps them all:
a prompt present several times brings its extra rows along as evidence of its item,
items a model's file lacks are marked absent (not scored), and rows of prompts the
benchmark does not hold stop the replay unless the spec names them (`extra_rows`).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from harness.data import open_text, resolve
from harness.errors import GenrankError
from harness.registry import loader, prediction_reader
from harness.types import Item
from suites.halogen.rules import CORRECT_ANSWER, DOMAINS

csv.field_size_limit(1 << 30)

#: domain -> (prompt file, published folder, file-name suffix that ends the model name)
LAYOUT = {
    "biographies": ("prompts_biographies.csv", "biographies", "_biographies"),
    "code": ("prompts_code.csv", "code", "_code"),
    "false_presupposition": ("prompts_falsepresupposition.csv", "numerical_falsepresupposition",
                             "_numerical"),
    "historical_events": ("prompts_historicalevents.csv", "historical_events", "_relationship"),
    "rationalization_binary": ("prompts_rationalization_binary.csv", "rationalization_binary",
                               "_yesno_response"),
    "rationalization_numerical": ("prompts_rationalization_numerical.csv",
                                  "rationalization_numerical", "_numerical_response"),
    "references": ("prompts_references.csv", "references", "_references"),
    "simplification": ("prompts_simplification.csv", "simplification", "_simplification"),
    "summarization": ("prompts_summarization.csv", "summarization", "_summarization"),
}
PASSAGE_DOMAINS = ("simplification", "summarization")
MODELS = ("alpaca_7b", "falcon_40b_instruct", "gpt_3.5_turbo_0125", "gpt_4_0125_turbo",
          "llama_2_13b_chat", "llama_2_70b_chat", "llama_2_7b_chat", "llama_3_70b_chat",
          "llama_3_8b_chat", "mistral_7b_instruct", "mixtral_8x7b_instruct", "olmo_7b_instruct",
          "redpajama_incite_3b_chat", "redpajama_incite_7b_chat")
#: spellings upstream's file names use for the same model
MODEL_ALIASES = {"gpt_4_turbo_0125": "gpt_4_0125_turbo"}
#: published columns the scoring rules read, per domain (besides 'response')
UNIT_COLUMNS = {"biographies": ("atoms", "hallucinated atoms")}
EXTRA_COLUMNS = {"rationalization_numerical": ("true_answer",),
                 "rationalization_binary": ("category",),
                 "historical_events": ("verified_response",)}
_QUOTES = re.compile(r"['\"`]")
_SPACES = re.compile(r"\s+")
#: some published files keep the prompt's closing instruction after the passage
_INSTRUCTION = re.compile(r"\s*Provide only the [\w ]+ as the response\.?\s*$")


@lru_cache(maxsize=1 << 16)
def key(text: str, passage: bool = False) -> str:
    """Matching key: quotes and whitespace runs dropped, lower case (passages: a prefix)."""
    text = _INSTRUCTION.sub("", text or "") if passage else (text or "")
    k = _SPACES.sub(" ", _QUOTES.sub("", text)).strip().lower()
    return k[:160] if passage else k


def model_name(path: Path, domain: str) -> str:
    """Upstream's model name from a published file name, with aliases folded."""
    stem = path.name.split(LAYOUT[domain][2])[0].lower()
    return MODEL_ALIASES.get(stem, stem)


def _domain(spec) -> str:
    domain = spec.loader_params.get("domain")
    if domain not in DOMAINS:
        raise GenrankError(f"expected one of {DOMAINS}", file=spec.file, task=spec.name,
                           field="loader_params.domain")
    return domain


def _check_categories(domain: str, values, file: str, spec) -> None:
    """Binary rationalization is scored by category: an unknown one stops before scoring."""
    if domain != "rationalization_binary":
        return
    for n, value in enumerate(values):
        if value not in CORRECT_ANSWER:
            raise GenrankError(f"row {n + 1}: category {value!r} is not one of "
                               f"{', '.join(CORRECT_ANSWER)}", file=file, task=spec.name,
                               field="category")


@lru_cache(maxsize=16)
def _prompt_rows(path: str) -> tuple[dict, ...]:
    with open_text(Path(path)) as fh:
        return tuple(csv.DictReader(fh))


@loader("halogen")
def load(spec, source: dict) -> list[Item]:
    """One item per prompt-file row; fields keep the file's columns (the offline
    verifiers' facts: lifespans, lists and counts, the source passage)."""
    domain = _domain(spec)
    path = resolve(source["path"], task=spec.name, upstream=source.get("upstream"))
    rows = _prompt_rows(str(path))
    if rows and "prompt" not in rows[0]:
        raise GenrankError("prompt file has no 'prompt' column", file=str(path), task=spec.name,
                           field="prompt")
    _check_categories(domain, (r.get("category") for r in rows), str(path), spec)
    return [Item(id=f"{domain}-{i:05d}", fields={"input": r["prompt"], **r}, target="",
                 meta={"domain": domain}) for i, r in enumerate(rows)]


def _read_published(path: Path, need: tuple[str, ...]) -> tuple[list[str], dict[str, list[str]]]:
    """(header, {column: values}) for the columns in ``need`` that the file has.

    pyarrow's CSV parser (several times faster than the csv module; the same strings on
    every published file); the csv module for what pyarrow refuses (ragged rows...)."""
    data = (gzip.decompress if path.suffix == ".gz" else bytes)(path.read_bytes())
    header = next(csv.reader(io.StringIO(data[:1 << 16].decode("utf-8", "replace"))), [])
    cols = [c for c in need if c in header]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(use_threads=False, block_size=max(len(data), 1 << 20)),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                include_columns=cols, column_types={c: pa.string() for c in cols},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        return header, {c: table.column(c).to_pylist() for c in cols}
    except (pa.ArrowInvalid, UnicodeDecodeError):
        with open_text(path) as fh:
            rows = list(csv.DictReader(fh))
        return header, {c: [r.get(c) or "" for r in rows] for c in cols}


def _files(path: Path, domain: str, spec) -> list[Path]:
    """One file, a folder of per-model files, or the published tree's root (the
    domain's subfolder is used)."""
    if not path.is_dir():
        return [path]
    if (path / LAYOUT[domain][1]).is_dir():
        path = path / LAYOUT[domain][1]
    files = sorted(p for p in path.iterdir() if p.name.endswith((".csv", ".csv.gz")))
    if not files:
        raise GenrankError(f"no .csv or .csv.gz files (nor a {LAYOUT[domain][1]}/ folder)",
                           file=str(path), task=spec.name, field="--predictions")
    return files


@prediction_reader("halogen_published")
def read_published(path: Path, spec) -> pd.DataFrame:
    """A published hallucination CSV, a folder of them (one per model) or the folder of
    all domains' folders, as predictions."""
    from harness.items import load_items

    domain = _domain(spec)
    items = load_items(spec)
    passage = domain in PASSAGE_DOMAINS
    item_key = (lambda it: key(it.fields.get("text", ""), True)) if passage else (
        lambda it: key(it.fields["input"]))
    extra = spec.predictions.get("extra_rows") or {}
    item_queue: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        item_queue[item_key(it)].append(it)
    out = []
    for file in _files(Path(path), domain, spec):
        model = model_name(file, domain)
        if model not in MODELS:
            raise GenrankError(f"unknown model {model!r} (known: {', '.join(MODELS)})",
                               file=str(file), task=spec.name, field="model")
        col = "passage" if passage else "prompt"
        need = (col, "response") + UNIT_COLUMNS.get(domain, ("atomic_units",
                                                             "hallucinated_atomic_units"))
        need += EXTRA_COLUMNS.get(domain, ())
        extra_col = extra.get("column", "")
        header, columns = _read_published(file, need + ((extra_col,) if extra_col else ()))
        n_rows = len(columns[col]) if col in columns else 0
        missing = [c for c in need if c not in header] or ([] if n_rows else ["rows"])
        if missing:
            raise GenrankError(f"missing column(s) {missing}", file=str(file), task=spec.name,
                               field=missing[0])
        _check_categories(domain, columns.get("category", ()), str(file), spec)
        queue = {k: list(v) for k, v in item_queue.items()}
        groups: dict[str, list[dict]] = {}
        order: list[Item] = []
        last_of_key: dict[str, Item] = {}
        previous: Item | None = None
        evidence = [dict(zip(need[1:], vals)) for vals in zip(*(columns[c] for c in need[1:]))]
        extra_values = columns.get(extra_col, [None] * n_rows)
        for n, (text, ev, marker) in enumerate(zip(columns[col], evidence, extra_values)):
            k = key(text, passage)
            if queue.get(k):
                it = queue[k].pop(0)
                order.append(it)
                groups[it.id] = [ev]
                last_of_key[k] = it
            elif k in last_of_key:  # a prompt repeated beyond its copies in the prompt file
                it = last_of_key[k]
                groups[it.id].append(ev)
            elif previous is not None and extra and marker in extra.get("values", ()):
                it = previous  # a row upstream scored whose prompt the benchmark lacks
                groups[it.id].append(ev)
            else:
                raise GenrankError(f"row {n + 1}: {col} matches no prompt of the task",
                                   file=str(file), task=spec.name, field=col)
            previous = it
        present = {it.id for it in order}
        for it in order:
            out.append({"item_id": it.id, "prediction": groups[it.id][0]["response"],
                        "model": model, "evidence": {"rows": groups[it.id]}})
        for it in items:
            if it.id not in present:
                out.append({"item_id": it.id, "prediction": None, "model": model,
                            "evidence": {"absent": True}})
    return pd.DataFrame(out, columns=["item_id", "prediction", "model", "evidence"])
