"""The leaderboard database: one SQLite file holding models, runs, task versions and scores.

Why SQLite: submissions arrive from separate processes that each add a few rows; SQLite in
WAL mode serialises those small writes with a file lock (``BEGIN IMMEDIATE`` + busy timeout)
while readers keep reading, it ships with Python (no new dependency), and the file opens in
any SQLite tool. DuckDB is faster for big scans but allows one writing process at a time,
which is the wrong trade for many small concurrent submissions.

Per-item records stay in the run directories (parquet); the database keeps their path and
sha256. Every run is checked on ingest by recomputing its metrics from those records, so a
tampered or truncated file is rejected. A task is keyed by (name, spec_hash): a new spec
version is a new column, never mixed with the old. A leaderboard cell (one model label, one
task version, seeds averaged, with its interval) is recomputed inside the write transaction
that changes it, so CSVs are regenerated from the database alone, byte-identical to
``genrank leaderboard`` over the same run directories.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from harness.errors import GenrankError
from harness.runstore import RunDir, atomic_write
from harness.terms import same
from harness.types import sha256_file, stable_hash

#: recheck(records, task metadata, stored terms) -> why they differ, or None (harness.terms)
Recheck = Callable[[pd.DataFrame, dict, Any], "str | None"]

SCHEMA_VERSION = 1
#: interval settings of every stored cell (the defaults of ``genrank leaderboard``)
CI_SETTINGS = {"confidence": 0.95, "n_boot": 1000, "seed": 0}
BUSY_TIMEOUT_MS = 300_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
  id INTEGER PRIMARY KEY,
  content_hash TEXT NOT NULL UNIQUE,      -- weights+config+tokenizer hash (replay: of the name)
  name TEXT NOT NULL,
  source TEXT,                            -- alias / folder / hub / replay
  path TEXT,
  first_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  model_id INTEGER NOT NULL REFERENCES models(id),
  label TEXT NOT NULL,                    -- leaderboard row: name or name/variant
  variant TEXT,
  seed INTEGER,
  path TEXT NOT NULL,                     -- run directory
  backend TEXT,
  metadata TEXT NOT NULL,                 -- metadata.json of the run, verbatim JSON
  ingested TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS runs_identity
  ON runs(model_id, COALESCE(variant, ''), COALESCE(seed, -1));
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  spec_hash TEXT NOT NULL,                -- spec_hash, then ~variant for a partial run
  version INTEGER NOT NULL,
  suite TEXT NOT NULL,
  primary_metric TEXT NOT NULL,
  lower_is_better INTEGER NOT NULL,
  tags TEXT NOT NULL,                     -- JSON
  UNIQUE(name, spec_hash));
CREATE TABLE IF NOT EXISTS scores (       -- one run's metrics on one task version
  run_id INTEGER NOT NULL REFERENCES runs(id),
  task_id INTEGER NOT NULL REFERENCES tasks(id),
  value REAL,                             -- the primary metric
  metrics TEXT NOT NULL,                  -- JSON: the run's scores.json entry
  n_items INTEGER NOT NULL,
  records_path TEXT NOT NULL,             -- per-item parquet, referenced not copied
  records_sha256 TEXT NOT NULL,
  ingested TEXT NOT NULL,
  PRIMARY KEY (run_id, task_id));
CREATE TABLE IF NOT EXISTS cells (        -- leaderboard cell: seeds of one label averaged
  label TEXT NOT NULL,
  task_id INTEGER NOT NULL REFERENCES tasks(id),
  score REAL, ci_low REAL, ci_high REAL, ci_method TEXT NOT NULL,
  n_items INTEGER NOT NULL, n_seeds INTEGER NOT NULL,
  extra TEXT NOT NULL,                    -- JSON: the other metrics, averaged over seeds
  PRIMARY KEY (label, task_id));
"""


def default_db_path() -> Path:
    return Path(os.environ.get("GENRANK_DB", "leaderboard/genrank.sqlite"))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def connect(path: str | Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and if asked create) the database: WAL, long busy timeout, foreign keys on."""
    path = Path(path)
    if not path.exists() and not create:
        raise GenrankError("leaderboard database not found", file=str(path), field="--db")
    if path.is_dir():
        raise GenrankError("the leaderboard database path is a folder", file=str(path),
                           field="--db / GENRANK_DB")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise GenrankError(f"cannot open the leaderboard database: {exc}", file=str(path),
                           field="--db / GENRANK_DB") from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        if create:
            with transaction(conn):
                for stmt in filter(str.strip, SCHEMA.split(";")):
                    conn.execute(stmt)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('ci_settings', ?)",
                             (json.dumps(CI_SETTINGS, sort_keys=True),))
        elif conn.execute("SELECT 1 FROM sqlite_master WHERE name='cells'").fetchone() is None:
            raise sqlite3.DatabaseError("it holds no leaderboard tables")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise GenrankError(f"not a genrank leaderboard database ({exc})", file=str(path),
                           field="--db / GENRANK_DB") from None
    return conn


def check_usable(path: str | Path) -> None:
    """Before model work: an existing database file must open as one (nothing is created).

    An SQLite file with no tables at all is fine: a first ingest killed before its schema
    was committed leaves one, and the next ingest or submit initialises it.
    """
    path = Path(path)
    if path.is_dir() or (path.exists() and path.stat().st_size > 0):
        try:
            connect(path, create=False).close()
        except GenrankError:
            conn = sqlite3.connect(path)
            try:
                empty = conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
            except sqlite3.DatabaseError:
                empty = False
            finally:
                conn.close()
            if not empty:
                raise


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the lock up front (no deadlocking upgrades)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# -- verification --------------------------------------------------------------------------

@dataclass
class VerifiedTask:
    name: str
    spec_hash: str
    version: int
    suite: str
    primary_metric: str
    lower_is_better: bool
    tags: dict[str, Any]
    metrics: dict[str, float]
    n_items: int
    records_path: Path
    records_sha256: str
    #: the column it joins: spec_hash, plus the item subset / decoding variant of a
    #: partial run (leaderboard.version_key); stored as the tasks table's ``spec_hash``
    version_key: str = ""


def verify_task(run: RunDir, task: str, tmeta: dict, scores: dict,
                recheck: Recheck | None = None) -> VerifiedTask:
    """Check a task's per-item records against its metrics, from the run store alone:
    content hashes, counts, and every figure of scores.json recomputed from the records'
    per-item metric terms; any disagreement rejects it. ``recheck`` (given by the app
    layer) may also re-derive the terms from the records with the suite's code."""

    from leaderboards.leaderboard import version_key

    def reject(why: str) -> GenrankError:
        return GenrankError(f"submission rejected: {why}", file=str(run.path), task=task)

    if task not in scores:
        raise reject("metadata lists the task but scores.json has no entry")
    path = run.records_path(task)
    if not path.exists():
        raise reject("per-item records missing")
    digest = sha256_file(path)
    try:
        df = run.read_records(task)
        terms = run.read_terms(task, {"tasks": {task: tmeta}})
    except GenrankError as exc:
        raise reject(f"per-item records unreadable (truncated or damaged): "
                     f"{exc.message.split(':', 1)[-1].strip()[:120]}") from None
    spec_hash = tmeta.get("spec_hash")
    n = len(df)
    if n != int(tmeta.get("n_items", -1)) or n != int(scores[task].get("n_items", -1)):
        raise reject(f"{n} records, but metadata says {tmeta.get('n_items')} and scores.json "
                     f"{scores[task].get('n_items')}")
    if df["item_id"].duplicated().any():
        raise reject("an item appears twice in the records")
    if n and (df["spec_hash"] != spec_hash).any():
        raise reject("records were scored under another task spec than the metadata says")
    for col in ("prompt", "prediction", "target"):
        hashes = df[col].map(lambda v: stable_hash("" if v is None else v)[:16])
        bad = (hashes != df[f"{col}_hash"]).to_numpy()
        if bad.any():
            raise reject(f"{int(bad.sum())} records' {col} does not match its hash "
                         f"(e.g. item {df['item_id'][bad.argmax()]!r})")
    if terms is None:
        raise reject("the run has no per-item metric terms (written by genrank 0.1): "
                     "upgrade it with `genrank migrate` first")
    claimed = scores[task]
    recomputed = terms.values()
    if set(recomputed) != set(claimed):
        raise reject(f"scores.json metrics {sorted(claimed)} differ from the task's "
                     f"{sorted(recomputed)}")
    for k, v in recomputed.items():
        if not same(v, claimed[k]):
            raise reject(f"scores.json says {k}={claimed[k]!r} but the per-item records "
                         f"give {v!r}")
    why = recheck(df, tmeta, terms) if recheck is not None else None
    if why:
        raise reject(f"per-item records give other metric terms than stored: {why}")
    return VerifiedTask(task, spec_hash, int(tmeta.get("spec_version", 1)),
                        str(tmeta.get("suite")), str(tmeta.get("primary_metric", "accuracy")),
                        bool(tmeta.get("lower_is_better")), dict(tmeta.get("tags") or {}),
                        dict(claimed), n, path.resolve(), digest, version_key(tmeta))


def verify_run(path: str | Path, recheck: Recheck | None = None
               ) -> tuple[dict, list[VerifiedTask]]:
    """A run directory's metadata and its verified tasks (every task, or an error)."""
    run = RunDir(path)
    meta = run.read_metadata()
    scores = run.read_scores()
    tasks = meta.get("tasks", {})
    if not tasks:
        raise GenrankError("submission rejected: the run holds no scored task", file=str(path))
    return meta, [verify_task(run, t, tmeta, scores, recheck)
                  for t, tmeta in sorted(tasks.items())]


# -- ingest ----------------------------------------------------------------------------------

@dataclass
class IngestResult:
    run: str
    label: str
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    lock_wait_s: float = 0.0
    #: cells another process changed between planning and locking (recomputed under the lock)
    recomputed: int = 0


def _model_id(conn: sqlite3.Connection, model: dict, backend: str | None) -> int:
    content_hash = model["content_hash"]
    row = conn.execute("SELECT id, name FROM models WHERE content_hash=?",
                       (content_hash,)).fetchone()
    if row is not None:
        if row["name"] != model["name"]:
            raise GenrankError(
                f"this checkpoint is already on the leaderboard as {row['name']!r} (content "
                f"hash {content_hash}); submit it under that name", field="--name")
        return int(row["id"])
    taken = conn.execute("SELECT content_hash FROM models WHERE name=?",
                         (model["name"],)).fetchone()
    if taken is not None:
        raise GenrankError(f"the name {model['name']!r} belongs to another checkpoint on the "
                           f"leaderboard (content hash {taken[0]}); choose another --name",
                           field="--name")
    source = "replay" if backend == "replay" else model.get("source")
    cur = conn.execute("INSERT INTO models (content_hash, name, source, path, first_seen) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (content_hash, model["name"], source, model.get("path"), _now()))
    return int(cur.lastrowid)


def _run_id(conn: sqlite3.Connection, model_id: int, meta: dict, path: Path) -> int:
    from leaderboards.leaderboard import model_label

    variant, seed = meta.get("variant"), meta.get("seed")
    row = conn.execute("SELECT id FROM runs WHERE model_id=? AND COALESCE(variant,'')=? AND "
                       "COALESCE(seed,-1)=?", (model_id, variant or "",
                                               -1 if seed is None else int(seed))).fetchone()
    blob = json.dumps(meta, sort_keys=True, default=str)
    if row is not None:
        conn.execute("UPDATE runs SET metadata=?, path=? WHERE id=?", (blob, str(path), row["id"]))
        return int(row["id"])
    cur = conn.execute(
        "INSERT INTO runs (model_id, label, variant, seed, path, backend, metadata, ingested) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (model_id, model_label(meta), variant, seed, str(path),
         (meta.get("backend") or {}).get("name"), blob, _now()))
    return int(cur.lastrowid)


def _task_id(conn: sqlite3.Connection, t: VerifiedTask) -> int:
    conn.execute("INSERT OR IGNORE INTO tasks (name, spec_hash, version, suite, primary_metric, "
                 "lower_is_better, tags) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (t.name, t.version_key, t.version, t.suite, t.primary_metric,
                  int(t.lower_is_better), json.dumps(t.tags, sort_keys=True, default=str)))
    return int(conn.execute("SELECT id FROM tasks WHERE name=? AND spec_hash=?",
                            (t.name, t.version_key)).fetchone()["id"])


def ingest(db: str | Path | sqlite3.Connection, run_path: str | Path,
           recheck: Recheck | None = None) -> IngestResult:
    """Verify a run directory and add its new scores in one transaction.

    The slow parts (recomputing metrics, bootstrapping the cells' intervals) run before
    the write lock is taken; inside it, a cell is recomputed only if another process
    changed that cell's runs in the meantime.
    """
    from leaderboards.leaderboard import model_label

    run_path = Path(run_path).resolve()
    meta, verified = verify_run(run_path, recheck)
    conn = db if isinstance(db, sqlite3.Connection) else connect(db)
    label = model_label(meta)
    result = IngestResult(str(run_path), label)
    planned = {t.name: _planned_cell(conn, label, t) for t in verified
               if conn.execute("SELECT 1 FROM scores WHERE records_path=? AND records_sha256=?",
                               (str(t.records_path), t.records_sha256)).fetchone() is None}
    t0 = time.perf_counter()
    with transaction(conn):
        result.lock_wait_s = time.perf_counter() - t0
        model_id = _model_id(conn, meta["model"], (meta.get("backend") or {}).get("name"))
        run_id = _run_id(conn, model_id, meta, run_path)
        for t in verified:
            task_id = _task_id(conn, t)
            old = conn.execute("SELECT records_sha256 FROM scores WHERE run_id=? AND task_id=?",
                               (run_id, task_id)).fetchone()
            if old is not None:
                (result.unchanged if old[0] == t.records_sha256 else result.duplicates
                 ).append(t.name)
                continue
            primary = t.metrics.get(t.primary_metric, math.nan)
            conn.execute("INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (run_id, task_id, None if math.isnan(primary) else primary,
                          json.dumps(t.metrics, sort_keys=True), t.n_items, str(t.records_path),
                          t.records_sha256, _now()))
            result.added.append(t.name)
            signature, c = planned.get(t.name, (None, None))
            task, group = _group(conn, label, task_id)
            if _signature(group) != signature:  # another submission changed this cell
                c = _compute_cell(task, group)
                result.recomputed += 1
            _store_cell(conn, label, task_id, c)
    if conn is not db:
        conn.close()
    return result


def already_scored(db: str | Path, content_hash: str, tasks: dict[str, str],
                   variant: str | None = None, seed: int | None = None) -> dict[str, str]:
    """Of ``{task: spec_hash}``, those this model already has on the leaderboard -> its name."""
    if not Path(db).exists() or Path(db).stat().st_size == 0:
        return {}
    conn = connect(db, create=False)
    try:
        rows = conn.execute(
            "SELECT t.name, t.spec_hash, m.name AS model FROM scores s "
            "JOIN runs r ON r.id=s.run_id JOIN models m ON m.id=r.model_id JOIN tasks t ON t.id=s.task_id "
            "WHERE m.content_hash=? AND COALESCE(r.variant,'')=? AND COALESCE(r.seed,-1)=?",
            (content_hash, variant or "", -1 if seed is None else int(seed))).fetchall()
    except sqlite3.OperationalError:  # an empty file, or not yet initialised
        return {}
    finally:
        conn.close()
    return {r["name"]: r["model"] for r in rows if tasks.get(r["name"]) == r["spec_hash"]}


# -- cells -----------------------------------------------------------------------------------

def _group(conn: sqlite3.Connection, label: str, task_id: int | None,
           task: dict | None = None, extra: dict | None = None) -> tuple[dict, list[dict]]:
    """The score entries of one cell (plus ``extra``), in the order ``genrank leaderboard``
    reads them, with every referenced record file checked against its stored sha256."""
    if task is None:
        task = dict(conn.execute("SELECT * FROM tasks WHERE id=?", (task_id,)).fetchone())
    rows = [dict(r) for r in conn.execute(
        "SELECT s.records_path, s.records_sha256, s.metrics FROM scores s JOIN runs r "
        "ON r.id=s.run_id JOIN tasks t ON t.id=s.task_id WHERE r.label=? AND t.name=? "
        "AND t.spec_hash=?", (label, task["name"], task["spec_hash"]))]
    if extra is not None and extra["records_path"] not in {r["records_path"] for r in rows}:
        rows.append(extra)
    group = []
    for r in sorted(rows, key=lambda r: Path(r["records_path"]).parent.parent):
        path = Path(r["records_path"])
        if extra is None or r is not extra:
            if not path.exists() or sha256_file(path) != r["records_sha256"]:
                raise GenrankError("per-item records changed or vanished since they were "
                                   "ingested", file=str(path), task=task["name"])
        group.append({"run": RunDir(path.parent.parent), "task": task["name"],
                      "tmeta": {"spec_hash": task["spec_hash"]}, "scores": json.loads(r["metrics"]),
                      "sha256": r["records_sha256"], "path": str(path)})
    return task, group


def _signature(group: list[dict]) -> list[tuple[str, str]]:
    return [(e["path"], e["sha256"]) for e in group]


def _compute_cell(task: dict, group: list[dict]) -> dict:
    from leaderboards.leaderboard import cell

    return cell(group, task["primary_metric"], task["spec_hash"], **CI_SETTINGS)


def _planned_cell(conn: sqlite3.Connection, label: str, t: VerifiedTask
                  ) -> tuple[list[tuple[str, str]], dict]:
    """The cell this task would give, from a read snapshot plus the new run (no lock held)."""
    task = {"name": t.name, "spec_hash": t.version_key, "primary_metric": t.primary_metric}
    extra = {"records_path": str(t.records_path), "records_sha256": t.records_sha256,
             "metrics": json.dumps(t.metrics, sort_keys=True)}
    _, group = _group(conn, label, None, task, extra)
    return _signature(group), _compute_cell(task, group)


def _store_cell(conn: sqlite3.Connection, label: str, task_id: int, c: dict) -> None:
    conn.execute("INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (label, task_id, *(None if math.isnan(c[k]) else c[k]
                                    for k in ("score", "ci_low", "ci_high")),
                  c["ci_method"], int(c["n_items"]), int(c["n_seeds"]),
                  json.dumps(c["extra"], sort_keys=True)))


# -- export ----------------------------------------------------------------------------------

def _nan(v: Any) -> float:
    return math.nan if v is None else float(v)


def cell_rows(conn: sqlite3.Connection) -> list[dict]:
    """Every stored cell with its task's name, hash, suite and direction."""
    rows = conn.execute("SELECT c.*, t.name, t.spec_hash, t.suite, t.lower_is_better, "
                        "t.primary_metric, t.version FROM cells c JOIN tasks t ON t.id=c.task_id"
                        ).fetchall()
    return [dict(r) for r in rows]


def tables(conn: sqlite3.Connection) -> dict[str, pd.DataFrame]:
    """Leaderboard tables from the database alone: ``all`` and one per suite."""
    from leaderboards.leaderboard import assemble, row_columns

    rows = cell_rows(conn)
    out = {}
    for suite in ["all", *sorted({r["suite"] for r in rows})]:
        subset = [r for r in rows if suite == "all" or r["suite"] == suite]
        per_key: dict[str, dict[str, dict]] = {}
        direction: dict[str, bool] = {}
        for r, key in zip(subset, row_columns(subset)):
            direction[key] = bool(r["lower_is_better"])
            per_key.setdefault(key, {})[r["label"]] = {
                "score": _nan(r["score"]), "ci_low": _nan(r["ci_low"]),
                "ci_high": _nan(r["ci_high"]), "ci_method": r["ci_method"],
                "n_items": r["n_items"], "n_seeds": r["n_seeds"], "extra": json.loads(r["extra"]),
                "metric": r["primary_metric"]}
        if per_key:
            out[suite] = assemble(per_key, direction)
    return out


def tables_from_runs(paths: list[str | Path]) -> dict[str, pd.DataFrame]:
    """The same tables recomputed from run directories (what ``genrank leaderboard`` does)."""
    from leaderboards.leaderboard import assemble, collect, column_cells, column_task

    cells, hashes = collect(paths)
    if not cells:
        return {}
    per_key, direction = column_cells(cells, hashes, **CI_SETTINGS)
    suite_of = {}
    for (task, _model), es in cells.items():
        for e in es:
            suite_of[task] = e["tmeta"].get("suite")
    key_suite = {k: suite_of[column_task(k)] for k in per_key}
    out = {"all": assemble(per_key, direction)}
    for suite in sorted(set(key_suite.values())):
        keys = [k for k in per_key if key_suite[k] == suite]
        out[suite] = assemble({k: per_key[k] for k in keys}, {k: direction[k] for k in keys})
    return out


def csv_bytes(table: pd.DataFrame) -> bytes:
    """A table as CSV, formatted exactly as ``leaderboards.leaderboard.write`` writes it."""
    return table.to_csv(index=False, float_format="%.6g").encode()


def csv_name(suite: str) -> str:
    return "leaderboard.csv" if suite == "all" else f"leaderboard_{suite}.csv"


#: beside the CSVs: the database state they show, and their sha256 (see csvs_current)
CSV_STAMP = ".genrank-csv.json"


def write_csvs(conn: sqlite3.Connection, out_dir: str | Path) -> list[Path]:
    """Regenerate every leaderboard CSV from the database (atomic writes), then the stamp
    that says which database state they show."""
    out_dir = Path(out_dir)
    written, digests = [], {}
    for suite, table in tables(conn).items():
        path = out_dir / csv_name(suite)
        data = csv_bytes(table)
        atomic_write(path, data)
        written.append(path)
        digests[path.name] = hashlib.sha256(data).hexdigest()
    atomic_write(out_dir / CSV_STAMP, (json.dumps(
        {"signature": signature(conn), "files": digests}, indent=1, sort_keys=True) + "\n"
    ).encode())
    return written


def csvs_current(out_dir: str | Path, sig: str) -> bool:
    """Do the CSVs in ``out_dir`` show database state ``sig``, untouched since written?"""
    out_dir = Path(out_dir)
    try:
        stamp = json.loads((out_dir / CSV_STAMP).read_text())
        return stamp["signature"] == sig and all(
            sha256_file(out_dir / name) == digest for name, digest in stamp["files"].items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def run_paths(conn: sqlite3.Connection) -> list[Path]:
    """Run directories whose scores are in the database, in ``find_runs`` order."""
    rows = conn.execute("SELECT DISTINCT records_path FROM scores").fetchall()
    return sorted({Path(r[0]).parent.parent for r in rows})


def check_regeneration(conn: sqlite3.Connection) -> dict[str, bool]:
    """Per CSV: does the database export equal a fresh build from the run directories?"""
    from_db = {s: csv_bytes(t) for s, t in tables(conn).items()}
    from_runs = {s: csv_bytes(t) for s, t in tables_from_runs(run_paths(conn)).items()}
    return {csv_name(s): from_db.get(s) == from_runs.get(s) for s in sorted(from_db | from_runs)}


#: columns recording when a row was written (not part of what the outputs show)
TIMESTAMP_COLUMNS = ("first_seen", "ingested")


def signature(conn: sqlite3.Connection) -> str:
    """A hash of everything the CSVs and the site are built from: it changes exactly when
    they must be regenerated (kept in the outputs, compared on the next submit or ingest)."""
    h = hashlib.sha256()
    for table, order in (("models", "id"), ("runs", "id"), ("tasks", "id"),
                         ("scores", "run_id, task_id"), ("cells", "label, task_id")):
        cols = [r["name"] for r in conn.execute(f"PRAGMA table_info({table})")
                if r["name"] not in TIMESTAMP_COLUMNS]  # when, not what: no page shows it
        for row in conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}"):
            h.update(json.dumps([table, *row], default=str).encode())
    return h.hexdigest()[:16]


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
            for t in ("models", "runs", "tasks", "scores", "cells")}
