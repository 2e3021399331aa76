"""The static leaderboard site, built from the database (and the records it references).

``index.html`` holds one sortable table per suite (scores, 95% intervals, and whether each
model is separated from the next one down by a paired test on shared items); a page per
model (scores, easy-to-hard curves, run metadata with the checkpoint hash) and a page per
benchmark column (ranking with tests, Kendall tau to the other benchmarks, difficulty
distribution). Plain HTML + inline SVG + a little vanilla JS: it opens from disk.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import GenrankError
from harness.runs import slug
from harness.runstore import dir_mode
from harness.types import stable_hash
from leaderboards import db
from leaderboards.site import items as item_pages
from leaderboards.site import svg

ALPHA = 0.05
N_BOOT = 1000
#: fewer shared items than this and no test is run (a bootstrap of 3 items means nothing)
MIN_SHARED = 10


#: written into every site genrank builds; only a folder holding it is ever replaced
MARKER = ".genrank-site"
#: everything a site holds at its top level (a leftover temp folder with more is not ours)
SITE_ENTRIES = {"index.html", "models", "tasks", "items", "csv", MARKER}
#: control characters (tab and newline kept) and bidi overrides/isolates: a model name
#: must not reorder or hide the text around it on the page
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                     "\u202a-\u202e\u2066-\u2069]")


def page_name(kind: str, name: str) -> str:
    return f"{kind}/{slug(name)}-{stable_hash(name)[:6]}.html"


def shown(value):
    """Every value a template prints, without control or bidi-override characters."""
    if not isinstance(value, str):
        return value
    return type(value)(_UNSAFE.sub("", value))  # Markup (|safe, the SVG charts) stays Markup


def check_target(out: str | Path) -> Path:
    """``out`` may be replaced: it is absent, an empty folder, or a site genrank built."""
    out = Path(out).resolve()
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise GenrankError("the site folder exists and is not a folder", file=str(out),
                           field="--output")
    if out.is_dir() and not (out / MARKER).is_file() and any(out.iterdir()):
        raise GenrankError(f"refusing to replace a folder genrank did not build (no {MARKER} "
                           "in it); choose a new or empty folder", file=str(out),
                           field="--output")
    return out


def is_current(out: str | Path, signature: str) -> bool:
    """Does the site in ``out`` show the database state ``signature``?"""
    try:
        mark = json.loads((Path(out) / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return mark.get("signature") == signature and (Path(out) / "index.html").is_file()


@dataclass
class Column:
    """One leaderboard column (task version) with its item matrix and tests."""

    key: str
    task: dict
    cells: dict[str, dict]                      # label -> cell row
    items: pd.DataFrame | None = None           # labels x item_id, seed-averaged item scores
    difficulty: pd.Series | None = None         # item_id -> declared difficulty
    tests: dict[str, dict] = field(default_factory=dict)  # label -> test vs next one down
    note: str = ""

    def signed(self, label: str) -> float:
        s = self.cells[label]["score"]
        s = math.nan if s is None else float(s)
        return -s if self.task["lower_is_better"] else s

    def ranking(self) -> list[str]:
        scored = [m for m in self.cells if not math.isnan(self.signed(m))]
        return sorted(scored, key=lambda m: (-self.signed(m), m))


def _item_matrix(conn: sqlite3.Connection, key_rows: list[dict]
                 ) -> tuple[pd.DataFrame, pd.Series]:
    """Seed-averaged item scores (labels x items) and declared difficulty, from the parquet."""
    task_id = key_rows[0]["task_id"]
    rows = conn.execute("SELECT s.records_path, s.records_sha256, r.label FROM scores s "
                        "JOIN runs r ON r.id=s.run_id WHERE s.task_id=?", (task_id,)).fetchall()
    frames = []
    for r in rows:
        path = Path(r["records_path"])
        if db.sha256_file(path) != r["records_sha256"]:
            raise GenrankError("per-item records changed since ingest", file=str(path))
        df = pd.read_parquet(path, columns=["item_id", "score", "difficulty"])
        frames.append(df.assign(label=r["label"]))
    long = pd.concat(frames, ignore_index=True)
    matrix = long.pivot_table(index="label", columns="item_id", values="score", aggfunc="mean")
    diff = long.dropna(subset=["difficulty"]).groupby("item_id")["difficulty"].first()
    return matrix, diff


def _item_terms(conn: sqlite3.Connection, key_rows: list[dict], task: dict
                ) -> dict[str, pd.DataFrame] | None:
    """label -> per-item ``num, den`` of the column's metric (summed over the label's runs),
    from the runs' stored terms, with the figure's reducer in ``attrs``; None when the runs
    carry no terms for it."""
    from leaderboards.item_terms import run_terms

    rows = conn.execute("SELECT s.records_path, r.label FROM scores s JOIN runs r "
                        "ON r.id=s.run_id WHERE s.task_id=?", (key_rows[0]["task_id"],))
    out: dict[str, pd.DataFrame] = {}
    for r in rows.fetchall():
        found = run_terms(Path(r["records_path"]).parent.parent, task["name"],
                          task["primary_metric"])
        if found is None:
            return None
        frame, how = found
        frame = frame.groupby(level=0).sum()
        out[r["label"]] = frame if r["label"] not in out else out[r["label"]].add(
            frame, fill_value=0.0)
        out[r["label"]].attrs["reducer"] = how
    return out


def _is_item_mean(col: Column) -> bool:
    """Whether every model's score is the mean of its item scores (accuracy-like)."""
    means = col.items.mean(axis=1)
    return all(np.isclose(means.get(lb, np.nan), float(col.cells[lb]["score"]), atol=1e-9)
               for lb in col.ranking())


def _item_mean_pairs(col: Column, order: list[str]) -> list[tuple]:
    """McNemar exact (0/1 items) or paired bootstrap of the mean, per adjacent pair."""
    from leaderboards.validity import significance as sig

    pairs = []
    for a, b in zip(order, order[1:]):
        both = col.items.loc[[a, b]].dropna(axis=1)
        if both.shape[1] < MIN_SHARED:
            continue
        x, y = both.loc[a].to_numpy(float), both.loc[b].to_numpy(float)
        binary = sig.is_binary(both.to_numpy())
        res = (sig.mcnemar_exact(x, y) if binary
               else sig.paired_bootstrap(x, y, n_boot=N_BOOT, seed=0))
        pairs.append((a, b, len(x), "McNemar exact" if binary else "paired bootstrap",
                      res["p_value"]))
    return pairs


def _metric_pairs(col: Column, terms: dict[str, pd.DataFrame], order: list[str]
                  ) -> list[tuple]:
    """Paired bootstrap over shared items of a ratio metric, recomputed from item terms."""
    from leaderboards.item_terms import reducer
    from leaderboards.validity import significance as sig

    pairs = []
    test = f"paired bootstrap of {col.task['primary_metric']} over items"
    for a, b in zip(order, order[1:]):
        if a not in terms or b not in terms:
            continue
        shared = terms[a].index.intersection(terms[b].index)
        if len(shared) < MIN_SHARED:
            continue
        ta, tb = terms[a].loc[shared], terms[b].loc[shared]
        res = sig.paired_metric_bootstrap(
            {k: ta[k].to_numpy() for k in ta}, {k: tb[k].to_numpy() for k in tb},
            reducer(terms[a].attrs.get("reducer", "ratio")), n_boot=N_BOOT, seed=0)
        if not np.isnan(res["p_value"]):
            pairs.append((a, b, len(shared), test, res["p_value"]))
    return pairs


def _tests(col: Column, terms: dict[str, pd.DataFrame] | None = None) -> None:
    """Paired test of each model against the next one down (BH over the column's pairs).

    Item means get McNemar / a paired bootstrap of item scores; a metric that is a ratio of
    item sums (F1, HALoGEN's ratios) gets a paired bootstrap that recomputes it from
    ``terms``; any other metric gets a note instead of marks.
    """
    from leaderboards.validity import significance as sig

    order = col.ranking()
    if _is_item_mean(col):
        pairs = _item_mean_pairs(col, order)
    elif terms is not None:
        pairs = _metric_pairs(col, terms, order)
    else:
        col.note = (f"{col.task['primary_metric']} is neither a mean nor a ratio of item "
                    "terms, so no paired item test separates its ranks")
        return
    if not pairs:
        return
    adj = sig.benjamini_hochberg(np.array([p[-1] for p in pairs]))
    for (a, b, n, test, p), q in zip(pairs, adj):
        col.tests[a] = {"next": b, "n_shared": n, "test": test, "p": p, "p_adj": float(q),
                        "distinct": bool(q < ALPHA)}


def _columns(conn: sqlite3.Connection) -> dict[str, Column]:
    from leaderboards.leaderboard import row_columns

    rows = db.cell_rows(conn)
    cols: dict[str, Column] = {}
    by_key: dict[str, list[dict]] = {}
    for r, key in zip(rows, row_columns(rows)):
        by_key.setdefault(key, []).append(r)
    tasks = {t["id"]: dict(t) for t in conn.execute("SELECT * FROM tasks")}
    for key, key_rows in sorted(by_key.items()):
        task = tasks[key_rows[0]["task_id"]]
        task["tags"] = json.loads(task["tags"])
        col = Column(key, task, {r["label"]: r for r in key_rows})
        col.items, col.difficulty = _item_matrix(conn, key_rows)
        _tests(col, None if _is_item_mean(col) else _item_terms(conn, key_rows, task))
        cols[key] = col
    return cols


def _bins(values: pd.Series, n: int = 5) -> list[tuple[float, float]]:
    edges = np.unique(np.quantile(values.to_numpy(float), np.linspace(0, 1, n + 1)))
    if len(edges) < 2:
        return [(float(edges[0]), float(edges[0]))]
    return list(zip(edges[:-1], edges[1:]))


def easy_to_hard(col: Column, label: str) -> str | None:
    """Accuracy per difficulty bin: declared difficulty, else the other models' failure rate."""
    row = col.items.loc[label].dropna()
    if col.difficulty is not None and col.difficulty.reindex(row.index).notna().sum() >= 4:
        diff, axis = col.difficulty.reindex(row.index).dropna(), \
            f"declared difficulty ({col.task['tags'].get('difficulty_field') or 'item meta'})"
    else:
        others = col.items.drop(index=label)[row.index]
        if len(others) < 2:
            return None
        diff = (1 - others.mean(axis=0)).dropna()
        axis = "empirical difficulty (other models' failure rate)"
    if len(diff) < 4:
        return None
    xs, ys = [], []
    bins = _bins(diff)
    for i, (lo, hi) in enumerate(bins):
        last = i == len(bins) - 1
        sel = diff[(diff >= lo) & ((diff <= hi) if last else (diff < hi))].index
        if len(sel):
            xs.append(f"{lo:.2g}-{hi:.2g}")
            ys.append(float(row[sel].mean()))
    if len(xs) < 2:
        return None
    return svg.line(xs, ys, title=f"{label} on {col.key}: easy to hard", xlabel=axis,
                    ylabel="mean item score")


def difficulty_charts(col: Column) -> list[str]:
    charts = []
    if col.difficulty is not None and len(col.difficulty):
        counts, edges = np.histogram(col.difficulty.to_numpy(float), bins=12)
        field_name = col.task["tags"].get("difficulty_field") or "meta"
        charts.append(svg.histogram(counts.tolist(), edges.tolist(),
                                    xlabel=f"declared difficulty ({field_name})",
                                    title=f"{col.key}: declared difficulty"))
    solve = col.items.mean(axis=0).dropna()
    if len(solve) and len(col.items) >= 2 and solve.between(0, 1).all():
        counts, edges = np.histogram(solve.to_numpy(float), bins=10, range=(0, 1))
        charts.append(svg.histogram(counts.tolist(), edges.tolist(),
                                    xlabel=f"item solve rate over {len(col.items)} models",
                                    title=f"{col.key}: empirical difficulty"))
    return charts


def concordance(cols: dict[str, Column]) -> pd.DataFrame:
    """Kendall tau-b between every two columns over the models both rank (>= 3)."""
    from leaderboards.validity.concordance import pairwise

    wide = pd.DataFrame({k: pd.Series({m: c.signed(m) for m in c.cells}) for k, c in cols.items()})
    return pairwise(wide, min_models=3) if wide.shape[1] >= 2 else pd.DataFrame(
        columns=["a", "b", "n", "kendall_tau", "pearson_r", "undefined"])


def _env():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True, finalize=shown)
    env.filters["num"] = lambda v, d=3: "" if v is None or (isinstance(v, float) and
                                                            math.isnan(v)) else f"{v:.{d}f}"
    env.filters["sortval"] = lambda v: "" if v is None or (isinstance(v, float) and
                                                          math.isnan(v)) else repr(float(v))
    env.filters["pval"] = lambda p: "<0.0001" if p < 1e-4 else f"{p:.3g}"
    env.globals["page"] = page_name
    env.globals["item_page"] = item_pages.item_page
    return env


def models_info(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Per leaderboard row: parameter count (when the run recorded it) and first submission."""
    out = {}
    for label, label_runs in runs.items():
        params = next((r["metadata"].get("model", {}).get("n_parameters") for r in label_runs
                       if r["metadata"].get("model", {}).get("n_parameters")), None)
        out[label] = {"params": params, "params_text": _si(params),
                      "submitted": min((r["ingested"] or "")[:10] for r in label_runs)}
    return out


def _si(n) -> str:
    if not n:
        return ""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(int(n))


LOCAL = "(local path, not published)"


def public_metadata(value):
    """Run metadata as shown on the site: every local file-system path replaced."""
    if isinstance(value, dict):
        return {k: LOCAL if isinstance(v, str) and (k == "path" or k.endswith(("_path", "_file")))
                and v else public_metadata(v) for k, v in value.items()}
    if isinstance(value, list):
        return [public_metadata(v) for v in value]
    return value


def task_info(col: "Column", runs: dict[str, list[dict]]) -> dict:
    """What the runs recorded about a column's task: description, upstream, generation..."""
    for label in col.cells:
        for r in runs.get(label, []):
            t = r["metadata"].get("tasks", {}).get(col.task["name"])
            if t and t.get("spec_hash") == col.task["spec_hash"]:
                return t
    return {}


def judges(col: "Column", runs: dict[str, list[dict]]) -> list[dict]:
    """Which LLM judge scored which rows of a judged column (one line per judge): scores
    judged by different models are not the same measurement, so the page says so."""
    by_judge: dict[str, dict] = {}
    for label in col.cells:
        for r in runs.get(label, []):
            j = (r["metadata"].get("tasks", {}).get(col.task["name"]) or {}).get("judge")
            if j:
                name = str(j.get("name") or j.get("model") or "?")
                key = f"{name}|{j.get('content_hash', '')}"
                entry = by_judge.setdefault(key, {"name": name, "hash": j.get("content_hash"),
                                                  "served": j.get("served_model"), "rows": []})
                if label not in entry["rows"]:
                    entry["rows"].append(label)
    return list(by_judge.values())


def example_prompt(conn: sqlite3.Connection, col: "Column") -> str | None:
    if item_pages.is_private(col.task):
        return None
    for label in col.cells:
        df = item_pages.first_run_records(conn, label, col.task["id"])
        if df is not None and len(df):
            return str(df["prompt"].iloc[0])
    return None


def write_item_pages(conn: sqlite3.Connection, cols: dict[str, "Column"], write
                     ) -> dict[tuple[str, str], str]:
    """Every (row, column) answer page; returns the links the leaderboard cells use."""
    links = {}
    for key, col in cols.items():
        if item_pages.is_private(col.task):
            continue
        for label in col.cells:
            df = item_pages.first_run_records(conn, label, col.task["id"])
            if df is None:
                continue
            rows = item_pages.item_rows(df)
            chunks = item_pages.pages(rows)
            note = "its run with the lowest seed" if col.cells[label].get("n_seeds", 1) > 1 else "its run"
            for number, chunk in enumerate(chunks, 1):
                rel = item_pages.item_page(label, key, number)
                write(rel, "items.html.j2", rel.count("/"), label=label, key=key, rows=chunk,
                      number=number, n_pages=len(chunks), n_items=len(rows),
                      n_wrong=sum(r["score"] < 1 for r in rows),
                      n_unparsed=sum(r["unparsed"] for r in rows), run_note=note,
                      title=f"{label} on {key}")
            links[(label, key)] = item_pages.item_page(label, key)
    return links


def _runs(conn: sqlite3.Connection) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in conn.execute("SELECT r.*, m.content_hash, m.name AS model_name, m.source, "
                          "m.path AS model_path FROM runs r JOIN models m ON m.id=r.model_id "
                          "ORDER BY r.label, COALESCE(r.seed, -1)"):
        d = dict(r)
        d["metadata"] = json.loads(d["metadata"])
        out.setdefault(d["label"], []).append(d)
    return out


def build_site(conn: sqlite3.Connection, out: str | Path) -> Path:
    """Write the site into ``out`` (built aside, then swapped in, so readers never see half).

    ``out`` is replaced only if it is empty or a site genrank built (:func:`check_target`).
    """
    out = check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per site folder
        for stale in out.parent.glob(f".{out.name}[-.]*"):  # left by a killed build
            if (stale.is_dir() and re.fullmatch(rf"\.{re.escape(out.name)}(-|\.old-)\w{{8}}",
                                                stale.name)
                    and {p.name for p in stale.iterdir()} <= SITE_ENTRIES):
                shutil.rmtree(stale, ignore_errors=True)
        _write_site(conn, out)
    return out / "index.html"


def suite_section(suite: str, table: pd.DataFrame) -> dict:
    """A suite's tables: full-task columns first; partial runs (a subset of the items or
    other decoding settings, ``task~...``) apart, each compared only within its column."""
    from leaderboards.leaderboard import is_partial

    keys = [c[:-len(":score")] for c in table.columns if c.endswith(":score")]
    rows = table.to_dict("records")

    def having(cols: list[str]) -> list[dict]:
        return [r for r in rows if any(r[f"{k}:score"] == r[f"{k}:score"] for k in cols)]

    full = [k for k in keys if not is_partial(k)]
    partial = [k for k in keys if is_partial(k)]
    return {"suite": suite, "columns": full, "rows": having(full), "partial": partial,
            "partial_rows": having(partial), "csv": f"csv/{slug(suite)}.csv"}


def _write_site(conn: sqlite3.Connection, out: Path) -> None:
    """Render every page into a temp folder beside ``out``, then swap it in."""
    signature = db.signature(conn)
    env = _env()
    cols = _columns(conn)
    tabs = db.tables(conn)
    runs = _runs(conn)
    tau = concordance(cols)
    suites = [s for s in tabs if s != "all"]
    counts = db.counts(conn)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        os.chmod(tmp, dir_mode())  # readable like any build output (mkdtemp makes it 0700)
        def write(rel: str, template: str, depth: int, **ctx) -> None:
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(env.get_template(template).render(root="../" * depth, **ctx),
                            encoding="utf-8")

        sections = []
        (tmp / "csv").mkdir()
        for suite in suites:
            table = tabs[suite]
            table.to_csv(tmp / "csv" / f"{slug(suite)}.csv", index=False)
            sections.append(suite_section(suite, table))
        links = write_item_pages(conn, cols, write)
        write("index.html", "index.html.j2", 0, sections=sections, cols=cols, counts=counts,
              title="genrank leaderboard", models_info=models_info(runs), item_links=links)
        for label, label_runs in runs.items():
            scored = [k for k, c in cols.items() if label in c.cells]
            curves = {k: easy_to_hard(cols[k], label) for k in scored}
            write(page_name("models", label), "model.html.j2", 1, label=label, runs=label_runs,
                  keys=scored, cols=cols, curves=curves, title=label, item_links=links,
                  meta_json={r["id"]: json.dumps(public_metadata(r["metadata"]), indent=2,
                                                 sort_keys=True) for r in label_runs})
        for key, col in cols.items():
            rows = tau[(tau["a"] == key) | (tau["b"] == key)] if len(tau) else tau
            taus = sorted(({"other": r["b"] if r["a"] == key else r["a"], "n": int(r["n"]),
                            "tau": r["kendall_tau"], "why": r.get("undefined")}
                           for _, r in rows.iterrows()),
                          key=lambda d: (math.isnan(d["tau"]), -(d["tau"] if not math.isnan(
                              d["tau"]) else 0), d["other"]))
            write(page_name("tasks", key), "task.html.j2", 1, col=col, taus=taus,
                  charts=difficulty_charts(col), title=key, info=task_info(col, runs),
                  judges=judges(col, runs),
                  example=example_prompt(conn, col), item_links=links)
        (tmp / MARKER).write_text(json.dumps({"generator": "genrank", "signature": signature},
                                             sort_keys=True) + "\n")
        old = out.with_name(f".{out.name}.old-{tmp.name[-8:]}")
        if out.exists():
            check_target(out)  # again: it may have changed while the site was built
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
