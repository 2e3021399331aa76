"""Easy2Hard-Bench subsets and their local sources, read into Items with ratings in meta.

One loader, ``easy2hard``: ``source.config`` names the E2H subset whose schema the rows
follow (E2H-AMC, E2H-GSM8K, E2H-ARC, E2H-Winogrande, E2H-Codeforces, E2H-Lichess).
Rows come from the local mirror when ``source.path``/``source.paths`` exist under
GENRANK_DATA (json list, jsonl, csv or parquet), else from the hub
(``datasets.load_dataset(source.hub, config, split=source.hub_split)``) when the
``datasets`` package and the network are there, else DataMissing naming the upstream.

The source files that are not E2H files keep their own layout and are mapped to the
subset's schema here: ARC's ``question.stem``/``question.choices``, the Lichess puzzle
CSV (``FEN`` before the opponent's first move, ``Moves`` in UCI, ``Rating``), the
MATH/AMC/AIME jsonl (``answer`` or the solution's last ``\\boxed{}``, ``level``).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from harness.data import open_text, resolve
from harness.errors import DataMissing, GenrankError
from harness.registry import loader
from harness.types import Item
from suites.common.math_answer import last_boxed

HUB_ID = "furonghuang-lab/Easy2Hard-Bench"
RATING_FIELDS = ("rating", "rating_std", "rating_quantile", "rating_volatility",
                 "unnorm_rating", "unnorm_rating_std", "unnorm_rating_volatility",
                 "unnorm_rating_lower", "unnorm_rating_upper", "item_difficulty",
                 "model_avg_acc", "reference_rating")


def _read_file(path: Path) -> list[dict[str, Any]]:
    name = path.name.removesuffix(".gz")
    if name.endswith(".parquet"):
        import pandas as pd
        return pd.read_parquet(path).to_dict(orient="records")
    with open_text(path) as fh:
        if name.endswith(".csv"):
            return list(csv.DictReader(fh))
        if name.endswith(".jsonl"):
            return [json.loads(line) for line in fh if line.strip()]
        data = json.load(fh)
    return data if isinstance(data, list) else data.get("rows") or data.get("data") or []


def _from_hub(spec, source: dict) -> list[dict[str, Any]]:
    hub = source.get("hub", HUB_ID)
    split = source.get("hub_split", "eval")
    upstream = f"upstream: hf://{hub} {source['config']} split {split}"
    try:
        import datasets  # optional: only when the hub is reachable
    except ImportError:
        raise DataMissing(f"no local mirror and the 'datasets' package is not installed "
                          f"({upstream})", task=spec.name, field="source.path") from None
    try:
        ds = datasets.load_dataset(hub, source["config"], split=split,
                                   revision=source.get("revision"))
    except Exception as exc:  # network errors come in many types
        first = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        raise DataMissing(f"no local mirror and the hub is unreachable ({upstream}): {first}",
                          task=spec.name, field="source.hub") from None
    return [dict(r) for r in ds]


def read_rows(spec, source: dict) -> list[dict[str, Any]]:
    """Rows of all local files (deduplicated on ``source.dedupe_on``), or the hub's."""
    rels = source.get("paths") or ([source["path"]] if source.get("path") else [])
    if not rels:
        return _from_hub(spec, source)
    rows: list[dict[str, Any]] = []
    missing: DataMissing | None = None
    for rel in rels:
        try:
            path = resolve(rel, task=spec.name, upstream=source.get("upstream"))
        except DataMissing as exc:
            missing = exc
            continue
        rows.extend(_read_file(path))
    if missing is not None and not rows:
        if source.get("hub"):
            return _from_hub(spec, source)
        raise missing
    key = source.get("dedupe_on")
    if key:
        seen: set = set()
        rows = [r for r in rows if not (r.get(key) in seen or seen.add(r.get(key)))]
    return rows


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if out != out else out


def _ratings(row: dict) -> dict[str, float]:
    return {k: _num(row[k]) for k in RATING_FIELDS if k in row and _num(row[k]) is not None}


def _fmt_number(value: Any) -> str:
    num = _num(value)
    if num is not None and num == int(num) and not isinstance(value, str):
        return str(int(num))
    return str(value).strip()


# --- per-subset mappers: row -> (id, fields, target, meta) ---------------------------

def _amc(row: dict, i: int):
    answer = row.get("answer")
    if answer in (None, ""):
        answer = last_boxed(str(row.get("solution", ""))) or ""
    meta = {k: row[k] for k in ("contest", "year", "month", "subtest", "index", "tag", "type",
                                "url") if row.get(k) not in (None, "")}
    level = re.search(r"\d", str(row.get("level", "")))
    if level:
        meta["level"] = int(level.group())
    rid = row.get("id", row.get("idx", row.get("unique_id", i)))
    return (str(rid), {"problem": str(row.get("problem") or row.get("question"))},
            _fmt_number(answer), meta)


def _gsm8k(row: dict, i: int):
    answer = str(row.get("answer", ""))
    final = answer.split("####")[-1].strip().replace(",", "")
    return str(row.get("id", i)), {"question": row["question"]}, final, {"solution": answer}


def _arc(row: dict, i: int):
    q = row["question"]
    if isinstance(q, dict):  # the ARC release layout: question.stem + [{text, label}]
        stem = q["stem"]
        labels = [c["label"] for c in q["choices"]]
        texts = [c["text"] for c in q["choices"]]
    else:  # E2H-ARC: question + choices{label: [...], text: [...]}
        stem, labels, texts = q, list(row["choices"]["label"]), list(row["choices"]["text"])
    return (str(row.get("id", i)), {"question": stem, "choices": texts, "labels": labels},
            str(row["answerKey"]), {})


def _winogrande(row: dict, i: int):
    opts = [row["option1"], row["option2"]]
    return (str(row.get("qID", row.get("id", i))),
            {"sentence": row["sentence"], "option1": opts[0], "option2": opts[1],
             "choices": opts, "labels": ["1", "2"]}, str(row["answer"]), {})


def _as_list(value: Any) -> list:
    return [] if value is None else list(value)


def _codeforces(row: dict, i: int):
    io = row.get("input_output") or {}
    if isinstance(io, str):
        io = json.loads(io)
    inputs = _as_list(row.get("inputs")) or _as_list(io.get("inputs"))
    answers = _as_list(row.get("answers")) or _as_list(io.get("outputs"))
    fields = {k: row.get(k) or "" for k in ("problem_name", "problem_main", "input_spec",
                                            "output_spec", "problem_note")}
    fields["sample_inputs"] = _as_list(row.get("sample_inputs"))
    fields["sample_outputs"] = _as_list(row.get("sample_outputs"))
    fields["tests"] = {"inputs": inputs, "answers": answers}
    fields["reference_solutions"] = [row[f"solution_{k}"] for k in range(10)
                                     if row.get(f"solution_{k}")]
    recorded = [_as_list(row.get(f"outputs_{k}")) for k in range(10) if row.get(f"outputs_{k}")]
    from suites.easy2hard.code import checker_reason  # the rule lives with the comparison
    reason = checker_reason(fields["output_spec"] + " " + fields["problem_main"], answers,
                            recorded)
    meta = {k: row[k] for k in ("contest_id", "problem_index", "tag", "detailed_tag")
            if row.get(k) not in (None, "")}
    meta.update({"original_tags": _as_list(row.get("original_tags")), "n_tests": len(inputs),
                 "needs_checker": reason is not None, "checker_reason": reason})
    return (f"{row.get('contest_id', '')}{row.get('problem_index', i)}", fields,
            json.dumps(answers), meta)


def _lichess(row: dict, i: int):
    """E2H-Lichess rows (hub card: ``puzzle_id``, ``fen``, ``pgn``, ``answer_san``,
    ``answer_uci``, ``init_num_moves``, ``tag``) carry the solver's position and the
    solution in UCI (a line of several moves where given; ``answer_san`` when only that
    is there); Lichess dump rows (``FEN``/``Moves``) start one opponent move earlier,
    which is applied here."""
    import chess

    if "FEN" in row:
        moves = str(row["Moves"]).split()
        board = chess.Board(row["FEN"])
        setup = chess.Move.from_uci(moves[0])
        last_san = board.san(setup)
        board.push(setup)
        line, pid = moves[1:], row["PuzzleId"]
        meta = {"themes": str(row.get("Themes", "")).split(), "rating_deviation":
                _num(row.get("RatingDeviation")), "popularity": _num(row.get("Popularity")),
                "nb_plays": _num(row.get("NbPlays")), "game_url": row.get("GameUrl"),
                "rating": _num(row.get("Rating"))}
    else:
        board = chess.Board(row["fen"])
        line = str(row.get("answer_uci") or row.get("moves") or "").split()
        if not line and row.get("answer_san"):
            line = [board.parse_san(str(row["answer_san"]).split()[0]).uci()]
        pid, last_san = row.get("puzzle_id", i), row.get("last_move_san", "")
        meta = {k: row.get(k) for k in ("tag", "pgn", "answer_san", "init_num_moves")}
    side = "White" if board.turn == chess.WHITE else "Black"
    fields = {"fen": board.fen(), "side": side, "last_move": last_san,
              "n_moves": (len(line) + 1) // 2, "board": str(board)}
    return str(pid), fields, " ".join(line), {k: v for k, v in meta.items() if v is not None}


MAPPERS: dict[str, Callable[[dict, int], tuple]] = {
    "E2H-AMC": _amc, "E2H-GSM8K": _gsm8k, "E2H-ARC": _arc, "E2H-Winogrande": _winogrande,
    "E2H-Codeforces": _codeforces, "E2H-Lichess": _lichess,
}


def rows_to_items(rows: Iterable[dict], config: str, difficulty_field: str | None) -> list[Item]:
    mapper = MAPPERS[config]
    items: list[Item] = []
    for i, row in enumerate(rows):
        rid, fields, target, meta = mapper(row, i)
        meta = {**_ratings(row), **meta, "subset": config}
        if difficulty_field:
            meta["difficulty"] = _num(meta.get(difficulty_field, row.get(difficulty_field)))
        items.append(Item(id=rid, fields=fields, target=target, meta=meta))
    return items


@dataclass(frozen=True)
class E2HSource:
    """An E2H subset's rows: local file(s) in the hub's schema, else the hub itself."""

    config: str
    path: str | None = None
    paths: list[str] | None = None
    hub: str | None = None
    hub_split: str = "eval"
    revision: str | None = None
    dedupe_on: str | None = None
    difficulty_field: str | None = None
    limit: int | None = None


@loader("easy2hard", source=E2HSource)
def load(spec, source: dict) -> list[Item]:
    """Items of one E2H subset (or of a source in that subset's schema)."""
    config = source.get("config")
    if config not in MAPPERS:
        raise GenrankError(f"unknown Easy2Hard config {config!r} (known: {', '.join(MAPPERS)})",
                           file=getattr(spec, "file", None), task=spec.name, field="source.config")
    field = source.get("difficulty_field", spec.tags.get("difficulty_field", "rating"))
    items = rows_to_items(read_rows(spec, source), config, field)
    ids = [it.id for it in items]
    if len(set(ids)) != len(ids):
        raise GenrankError("duplicate item ids (set source.dedupe_on)", task=spec.name,
                           field="source")
    limit = source.get("limit")
    return items[:int(limit)] if limit else items
