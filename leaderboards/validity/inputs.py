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
    reference: list[str] | None = None  # z-score reference set found beside a catalog


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

    longs, run_paths, agg, reference = [], [], None, None
    for p in map(Path, paths):
        if p.is_dir() and (p / "catalog").is_dir():
            long, agg = tables.benchbench_catalog(p, lower_is_better)
            reference = tables.benchbench_reference(p)
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
    return Inputs(wide, scores, items, agg, reference)


MODEL_NAMES, ITEM_NAMES = ("model",), ("item", "item_id")
SCORE_NAMES = ("correct", "score")


def read_responses(path: str | Path) -> pd.DataFrame:
    """A response table as long ``model, item_id, score`` (score in [0, 1], 1 = model correct).

    Long form: columns ``model``, ``item`` (or ``item_id``) and ``correct`` (or ``score``).
    Wide form: first column the model, one column per item. Blank cells are no game.
    """
    path = Path(path)
    if not path.is_file():
        raise GenrankError("file not found", file=str(path), field="TABLE")
    df = tables.read_table(path, rename_first=False)
    cols = {str(c).lower(): c for c in df.columns}
    model = next((cols[c] for c in MODEL_NAMES if c in cols), None)
    item = next((cols[c] for c in ITEM_NAMES if c in cols), None)
    score = next((cols[c] for c in SCORE_NAMES if c in cols), None)
    if model is not None and item is not None and score is not None:
        long = df[[model, item, score]].set_axis(["model", "item_id", "score"], axis=1)
    else:
        long = df.rename(columns={df.columns[0]: "model"}).melt(
            id_vars="model", var_name="item_id", value_name="score")
    raw = long["score"]
    long = long.assign(score=pd.to_numeric(raw, errors="coerce")).dropna(subset=["score"])
    bad = raw.notna() & ~raw.astype(str).str.strip().eq("") & pd.to_numeric(
        raw, errors="coerce").isna()
    if bad.any() or not long["score"].between(0, 1).all():
        raise GenrankError("scores must be numbers in [0, 1] (1 = the model answered correctly)",
                           file=str(path), field="correct")
    if long.empty:
        raise GenrankError("no responses in the table", file=str(path))
    return long.reset_index(drop=True)


def read_ratings(path: str | Path) -> pd.DataFrame:
    """Starting ratings ``kind, name, rating, rd, volatility`` (the output format)."""
    path = Path(path)
    if not path.is_file():
        raise GenrankError("file not found", file=str(path), field="--initial")
    df = pd.read_csv(path)
    need = ["kind", "name", "rating", "rd", "volatility"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise GenrankError(f"missing columns {', '.join(missing)}", file=str(path),
                           field="--initial")
    if not df["kind"].isin(["model", "item"]).all():
        raise GenrankError("kind must be 'model' or 'item'", file=str(path), field="kind")
    return df.assign(name=df["name"].astype(str))
