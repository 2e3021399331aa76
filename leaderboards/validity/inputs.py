"""Telling apart and loading the inputs of ``genrank validity``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.errors import GenrankError
from leaderboards.validity import tables


@dataclass
class Inputs:
    wide: pd.DataFrame | None           # models x benchmarks (larger is better)
    scores: pd.DataFrame | None         # genrank long scores, when runs were given
    items: pd.DataFrame                 # genrank long item scores, when runs were given
    aggregate: list[str] | None         # aggregate scenarios found beside a catalog


def leaderboard_csv_to_wide(df: pd.DataFrame) -> pd.DataFrame:
    """A ``genrank leaderboard`` CSV (``task:score``, ``task:rank`` columns) -> wide, larger better.

    The CSV keeps raw scores; a task whose rank 1 holds its lowest score is lower-is-better and
    is negated, so ranks and agreement read the same way for every column.
    """
    df = df.set_index("model")
    wide = {}
    for col in [c for c in df.columns if c.endswith(":score")]:
        task = col[: -len(":score")]
        s = pd.to_numeric(df[col], errors="coerce")
        rank = df.get(f"{task}:rank")
        if rank is not None and s.notna().sum() > 1 and s[rank == rank.min()].min() == s.min():
            s = -s
        wide[task] = s
    return pd.DataFrame(wide)


def load(paths: list[str], lower_is_better: list[str] | None = None) -> Inputs:
    """Runs, leaderboard CSVs, wide CSVs and catalog folders, in any mix."""
    from leaderboards import runs

    longs, run_paths, agg = [], [], None
    for p in map(Path, paths):
        if p.is_dir() and (p / "catalog").is_dir():
            long, agg = tables.benchbench_catalog(p, lower_is_better)
            longs.append(long)
        elif p.is_dir() and any(p.glob("*.csv")) and not any(p.rglob("metadata.json")):
            longs.append(tables.load_catalog(p, lower_is_better=lower_is_better or []))
        elif p.is_dir():
            run_paths.append(p)
        elif p.suffix == ".csv" and p.is_file():
            df = tables.read_table(p)
            if any(str(c).endswith(":score") for c in df.columns):
                wide = leaderboard_csv_to_wide(df)
                longs.append(wide.reset_index().melt(id_vars="model", var_name="scenario",
                                                     value_name="score")
                             .dropna().assign(source=p.name))
            else:
                longs.append(tables.melt_wide(
                    df, p.name, lower_is_better=tables.is_lower_better(p.stem,
                                                                        lower_is_better or [])))
        else:
            raise GenrankError("not a run directory, CSV table or folder of tables", file=str(p))
    scores, items, wide = None, pd.DataFrame(), None
    if run_paths:
        scores = runs.load_scores(run_paths)
        items = runs.load_items(run_paths)
        longs.append(tables.scores_to_wide(
            scores[scores["metric"] == "accuracy"] if (scores["metric"] == "accuracy").any()
            else scores).reset_index().melt(id_vars="model", var_name="scenario",
                                            value_name="score").dropna().assign(source="runs"))
    if longs:
        wide = tables.to_wide(pd.concat(longs, ignore_index=True))
    return Inputs(wide, scores, items, agg)
