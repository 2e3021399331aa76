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
    scores: pd.DataFrame | None         # one oriented value per run and task (primary_scores)
    items: pd.DataFrame                 # genrank item scores (+ answers), when runs were given
    aggregate: list[str] | None         # aggregate scenarios found beside a catalog


def leaderboard_csv_to_wide(df: pd.DataFrame) -> pd.DataFrame:
    """A ``genrank leaderboard`` CSV (``task:score``, ``task:rank`` columns) -> wide, larger better.

    The CSV keeps raw scores; a lower-is-better task (its ``:higher_is_better`` column; in CSVs
    written before that column, a task whose rank 1 holds its lowest score) is negated, so ranks
    and agreement read the same way for every column.
    """
    df = df.set_index("model")
    wide = {}
    for col in [c for c in df.columns if c.endswith(":score")]:
        task = col[: -len(":score")]
        s = pd.to_numeric(df[col], errors="coerce")
        rank = df.get(f"{task}:rank")
        stated = df.get(f"{task}:higher_is_better")
        if stated is not None and stated.notna().any():
            lower = str(stated.dropna().iloc[0]).strip().lower() in ("false", "0")
        else:
            lower = rank is not None and s.notna().sum() > 1 and \
                s[rank == rank.min()].min() == s.min()
        if lower:
            s = -s
        wide[task] = s
    return pd.DataFrame(wide)


ITEM_COLUMNS = ["prediction", "extracted", "target"]  # for label-error screening


def primary_scores(scores: pd.DataFrame, directions: dict[str, tuple[str, bool]],
                   metric: str | None = None, lower_is_better: list[str] | None = None
                   ) -> pd.DataFrame:
    """One value per run and task, larger is better: the task's primary metric as recorded in
    the run metadata (or ``metric`` for every task), negated where lower is better.

    The recorded ``lower_is_better`` describes the primary metric only; a chosen ``metric`` is
    negated when its name (or the task's) is in ``lower_is_better``. Tasks without the metric
    are left out.
    """
    lower = set(lower_is_better or [])
    primary = {t: d[0] for t, d in directions.items()}
    recorded_lower = {t for t, d in directions.items() if d[1]}
    want = scores["task"].map(lambda t: metric or primary.get(t, "accuracy"))
    sel = scores[scores["metric"] == want].copy()
    sel["value"] = pd.to_numeric(sel["value"], errors="coerce")
    flip = (((sel["metric"] == sel["task"].map(primary)) & sel["task"].isin(recorded_lower))
            | sel["metric"].isin(lower) | sel["task"].isin(lower))
    sel.loc[flip, "value"] *= -1
    return sel.reset_index(drop=True)


def load(paths: list[str], lower_is_better: list[str] | None = None,
         metric: str | None = None) -> Inputs:
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
        scores = primary_scores(runs.load_scores(run_paths), runs.task_directions(run_paths),
                                metric, lower_is_better)
        items = runs.load_items(run_paths, columns=ITEM_COLUMNS)
        longs.append(tables.scores_to_wide(scores).reset_index().melt(
            id_vars="model", var_name="scenario", value_name="score").dropna()
            .assign(source="runs"))
    if longs:
        wide = tables.to_wide(pd.concat(longs, ignore_index=True))
    return Inputs(wide, scores, items, agg)
