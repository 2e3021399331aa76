"""Loading and normalising wide leaderboard tables (``model, <benchmark columns>``).

Model and scenario names are normalised the way IBM's BenchBench does it, so that the same model
listed as ``Meta-Llama-3-8B-Instruct`` on one board and ``meta-llama/Meta-Llama-3-8B-Instruct`` on
another is matched; otherwise pairwise agreements are computed over the wrong (too few) models.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import GenrankError

LONG_COLUMNS = ["model", "scenario", "score", "source"]


def normalize_model_name(name: str) -> str:
    """BenchBench's model-name normalisation (lower case, separators unified, org prefix dropped)."""
    name = (str(name).strip().lower().replace("   ", "-").replace("  ", "-").replace(" ", "-")
            .replace("(", "").replace(")", "").replace("β", "beta")
            .replace("command-r+", "command-r-plus").replace("dbrx-inst", "dbrx-instruct")
            .replace("-hf", "").replace("-", "_").replace("llama_3", "llama3")
            .replace("ul2", "flan-ul2"))
    name = name.split("/")[-1]
    return (name.replace("meta_", "").replace(".", "_").replace("v01", "v0_1")
            .replace("v02", "v0_2").replace("v03", "v0_3").replace("wml/", ""))


_SCENARIO_FIXES = [("gsm-8k", "gsm8k"), ("open-book", "open"), ("closed-book", "closed"),
                   ("agi-eval", "agieval"), ("alpacaeval2-wr", "alpacav2"),
                   ("alpacav2,-len-adj", "alpacaeval2-lc"), ("hswag", "hellaswag"),
                   ("obqa", "openbookqa"), ("winogrande", "winog"), ("winog", "winogrande"),
                   ("-", "_")]


def normalize_scenario_name(name: str, pretty: dict[str, str] | None = None) -> str:
    """BenchBench's scenario-name normalisation, then its prettified display name when known."""
    key = (str(name).strip().lower().replace("   ", "-").replace("  ", "-").replace(" ", "-")
           .replace("(", "").replace(")", ""))
    for old, new in _SCENARIO_FIXES:
        key = key.replace(old, new)
    return (pretty or {}).get(key, key)


def read_table(path: str | Path, rename_first: bool = True) -> pd.DataFrame:
    """Read a wide CSV whose first column names the model (``model``, ``llm_model``, ...);
    that column is renamed ``model`` unless ``rename_first`` is False."""
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is one input problem
        raise GenrankError(f"cannot read table: {exc}", file=str(path)) from exc
    if df.shape[1] < 2:
        raise GenrankError("a wide table needs a model column and at least one score column",
                           file=str(path))
    return df.rename(columns={df.columns[0]: "model"}) if rename_first else df


def melt_wide(df: pd.DataFrame, source: str, *, lower_is_better: bool = False,
              pretty: dict[str, str] | None = None, normalize: bool = True) -> pd.DataFrame:
    """Wide table -> long ``model, scenario, score, source``; '-' and blanks become missing.

    Lower-is-better sources are min-max normalised per scenario and flipped (BenchBench's rule),
    so that larger is better everywhere downstream. Duplicate (model, scenario) rows after name
    normalisation keep the best score, as BenchBench does.
    """
    long = df.melt(id_vars=["model"], var_name="scenario", value_name="score")
    long["score"] = pd.to_numeric(long["score"].replace("-", np.nan), errors="coerce")
    long = long.dropna(subset=["score", "model"])
    if normalize:
        long["model"] = long["model"].map(normalize_model_name)
        long["scenario"] = long["scenario"].map(lambda s: normalize_scenario_name(s, pretty))
    long = long.groupby(["model", "scenario"], as_index=False)["score"].max()
    if lower_is_better:
        grp = long.groupby("scenario")["score"]
        lo, hi = grp.transform("min"), grp.transform("max")
        span = (hi - lo).where(hi > lo)
        long["score"] = 1 - ((long["score"] - lo) / span).fillna(1.0)
    long["source"] = source
    return long[LONG_COLUMNS]


def read_list(path: str | Path) -> list[str]:
    """Lines of a list file, without blanks and ``#`` comments."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def is_lower_better(stem: str, lower_names: list[str]) -> bool:
    """Whether a source is lower-is-better: its file stem is listed exactly.

    This is IBM BenchBench's own rule (``lower_os_better_for_source`` in ``bat/benchmark.py``
    appends ``.csv`` to every listed name and tests membership of the file name), and the z-scores
    are checked against IBM's output, so it is kept even where it looks like a slip: the list
    names ``helm_airbench_240916`` and ``llm_trustworthy_241001`` while the catalog ships
    ``..._safety.csv``, so IBM flips neither file. Matching by prefix instead would flip
    DecodingTrust, whose ``trustworthy`` score is higher-is-better, and make it the outlier.
    To flip a file here, list its full stem (``genrank validity --lower-is-better STEM``).
    """
    return stem in set(lower_names)


def load_catalog(folder: str | Path, *, lower_is_better: list[str] | None = None,
                 pretty: dict[str, str] | None = None) -> pd.DataFrame:
    """All ``*.csv`` wide tables of a folder as one long frame (one source per file).

    A scenario published by several sources keeps the source that shares the most models with
    the rest (BenchBench's ``clear_repeated_scenarios``).
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise GenrankError("no *.csv leaderboard tables in folder", file=str(folder))
    frames = [melt_wide(read_table(f), f.name,
                        lower_is_better=is_lower_better(f.stem, lower_is_better or []),
                        pretty=pretty) for f in files]
    return drop_repeated_scenarios(pd.concat(frames, ignore_index=True))


def drop_repeated_scenarios(long: pd.DataFrame) -> pd.DataFrame:
    """Keep one source per scenario: the one whose models overlap most with all others."""
    per = long.drop_duplicates(["scenario", "source"]).groupby("scenario")["source"].nunique()
    if (per <= 1).all():
        return long
    key = long["scenario"] + "__" + long["source"]
    cross = pd.crosstab(key, long["model"])
    overlap = (cross @ cross.T).sum(axis=1)
    keep = set()
    for scen, sub in long.drop_duplicates(["scenario", "source"]).groupby("scenario"):
        keys = (sub["scenario"] + "__" + sub["source"]).tolist()
        keep.add(max(keys, key=lambda k: overlap[k]))
    return long[key.isin(keep)].reset_index(drop=True)


def benchbench_catalog(root: str | Path, extra_lower_is_better: list[str] | None = None
                       ) -> tuple[pd.DataFrame, list[str]]:
    """The BenchBench folder (catalog/ + list files) -> (long frame, scenarios for the aggregate).

    ``extra_lower_is_better`` adds file stems to ``lower_is_better_benchmarks.txt``.
    """
    root = Path(root)
    pretty_file = root / "prettified_bencmark_names.json"
    pretty = json.loads(pretty_file.read_text()) if pretty_file.exists() else None
    lower_file = root / "lower_is_better_benchmarks.txt"
    lower = (read_list(lower_file) if lower_file.exists() else []) + list(
        extra_lower_is_better or [])
    agg_file = root / "scenarios_for_aggregate.txt"
    agg = read_list(agg_file) if agg_file.exists() else []
    return load_catalog(root / "catalog", lower_is_better=lower, pretty=pretty), agg


REFERENCE_FILE = "scenarios_of_intereset.txt"  # upstream's spelling


def benchbench_reference(root: str | Path) -> list[str] | None:
    """IBM's reference set for z-scores, the "scenarios of interest" beside the catalog (None
    when the folder has no such list)."""
    path = Path(root) / REFERENCE_FILE
    return read_list(path) if path.exists() else None


def to_wide(long: pd.DataFrame) -> pd.DataFrame:
    """Long ``model, scenario, score`` -> wide (index model, one column per scenario)."""
    wide = long.pivot_table(index="model", columns="scenario", values="score", aggfunc="max")
    wide.columns.name = None
    return wide


def scores_to_wide(scores: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """genrank long scores (``model, seed, variant, task, metric, value``) -> wide, seed-averaged.

    The column is the task (or ``task:metric`` when a task reports several metrics and none is
    chosen), the value the mean over seeds and variants.
    """
    df = scores if metric is None else scores[scores["metric"] == metric]
    n_metrics = df.groupby("task")["metric"].nunique()
    col = np.where(df["task"].map(n_metrics) > 1, df["task"] + ":" + df["metric"], df["task"])
    wide = (df.assign(column=col).groupby(["model", "column"])["value"].mean().unstack())
    wide.columns.name = None
    return wide
