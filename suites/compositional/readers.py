"""Readers of published model predictions for the compositional splits."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from harness.data import open_text
from harness.errors import GenrankError
from harness.registry import prediction_reader

COLUMNS = ["source", "target", "prediction"]


@prediction_reader("source_target_prediction_tsv")
def read_tsv(path: Path, spec) -> pd.DataFrame:
    """The am-i-compositional TSV (``source, target, prediction``; ``.gz`` allowed), read as is."""
    try:
        with open_text(path) as fh:
            rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    except FileNotFoundError:
        raise GenrankError("predictions file not found", file=str(path), task=spec.name) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise GenrankError(f"unreadable predictions file: {exc}", file=str(path),
                           task=spec.name) from None
    if not rows or [c.strip() for c in rows[0]] != COLUMNS:
        got = rows[0] if rows else []
        raise GenrankError(f"expected header {COLUMNS}, got {got}", file=str(path),
                           task=spec.name, field="columns")
    body = rows[1:]
    bad = next((i for i, r in enumerate(body) if len(r) != 3), None)
    if bad is not None:
        raise GenrankError(f"row {bad + 2} has {len(body[bad])} columns, expected 3",
                           file=str(path), task=spec.name, field="columns")
    return pd.DataFrame(body, columns=COLUMNS).apply(lambda c: c.str.strip())
