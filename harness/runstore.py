"""The run store: one directory per run, every output a file a user can open.

    <run_dir>/metadata.json          model identity, backend settings, versions, spec hashes
    <run_dir>/journal/<task>.jsonl   append-only, one line per finished item (crash-safe)
    <run_dir>/records/<task>.parquet per-item records, written when a task completes
    <run_dir>/scores.json            task metrics

A run killed at any point keeps every journal line it flushed; the same command finds
the same directory and continues from the journal, so no item is generated twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from harness.errors import GenrankError
from harness.types import stable_hash

RECORD_COLUMNS = ["task", "item_id", "prompt", "prediction", "target", "score", "extracted",
                  "difficulty", "meta", "detail", "prompt_hash", "prediction_hash",
                  "target_hash", "spec_hash"]
#: run directory format (genrank 0.1 wrote none: no metric terms; `genrank migrate` upgrades)
RUN_FORMAT = 2
#: per-item metric terms (see harness.terms), beside the record columns
TERM_COLUMNS = ("term_num", "term_den")


def make_record(task: str, spec_hash: str, item, prompt: str, prediction: str, score) -> dict:
    """One per-item record, with content hashes of prompt, prediction and target."""
    return {
        "task": task, "item_id": item.id, "prompt": prompt, "prediction": prediction,
        "target": item.target, "score": float(score.value), "extracted": score.extracted,
        "difficulty": item.difficulty, "meta": item.meta, "detail": score.detail,
        "prompt_hash": short_hash(prompt), "prediction_hash": stable_hash(prediction)[:16],
        "target_hash": short_hash(item.target), "spec_hash": spec_hash,
    }


def make_records(task: str, spec_hash: str, items: Sequence, prompts: Sequence[str],
                 predictions: Sequence[str], scores: Sequence) -> pd.DataFrame:
    """make_record over many items, built column-wise (replay scores 100k+ at once);
    the same frame as records_frame([make_record(...), ...])."""
    n = len(items)
    if not n:
        return records_frame([])
    return pd.DataFrame({
        "task": [task] * n, "item_id": [it.id for it in items], "prompt": list(prompts),
        "prediction": list(predictions), "target": [it.target for it in items],
        "score": [float(s.value) for s in scores], "extracted": [s.extracted for s in scores],
        "difficulty": pd.to_numeric(pd.Series([it.difficulty for it in items], dtype=object),
                                    errors="coerce").astype(float).to_numpy(),
        "meta": [it.meta for it in items], "detail": [s.detail for s in scores],
        "prompt_hash": [short_hash(p) for p in prompts],
        "prediction_hash": [stable_hash(p)[:16] for p in predictions],
        "target_hash": [short_hash(it.target) for it in items], "spec_hash": [spec_hash] * n,
    }, columns=RECORD_COLUMNS)


@lru_cache(maxsize=1 << 15)
def short_hash(value: Any) -> str:
    """stable_hash(value)[:16], memoised: prompts and targets recur across runs."""
    return stable_hash(value)[:16]


#: lock file of a run directory: one writing process at a time
LOCK_NAME = ".lock"
#: run directories this process holds the lock of (flock is per open file, so a process
#: taking its own lock again through a second descriptor would wait on itself)
_HELD: dict[str, int] = {}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` gives a new file under the current umask (0644 usually);
    temp files (mkstemp: 0600) get it before they are renamed into place."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """The mode ``mkdir`` gives a new folder (0755 usually; mkdtemp gives 0700)."""
    return 0o777 & ~_umask()


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a unique temp file + rename, so a crash never leaves a half-written file."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


@contextmanager
def atomic_path(path: Path):
    """A unique temp path beside ``path`` to write; renamed onto ``path`` on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


class RunDir:
    """Read and write one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # -- metadata ---------------------------------------------------------------
    @property
    def metadata_path(self) -> Path:
        return self.path / "metadata.json"

    def exists(self) -> bool:
        return self.metadata_path.exists()

    def read_metadata(self) -> dict[str, Any]:
        try:
            return json.loads(self.metadata_path.read_text())
        except FileNotFoundError:
            raise GenrankError("not a genrank run directory (no metadata.json)",
                               file=str(self.path)) from None
        except json.JSONDecodeError as exc:
            raise GenrankError(f"corrupt metadata.json: {exc}", file=str(self.metadata_path)) from None

    def write_metadata(self, meta: dict[str, Any]) -> None:
        write_json(self.metadata_path, meta)

    # -- one writer at a time ----------------------------------------------------
    @contextmanager
    def locked(self, *, wait: bool = False):
        """Hold the run directory's lock: a second writer fails fast (``wait=False``) or
        waits its turn (``wait=True``); taking it again in the same process is free."""
        key = str(self.path.resolve())
        if key in _HELD:
            yield self
            return
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_NAME, os.O_RDWR | os.O_CREAT, file_mode())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise GenrankError("another genrank process is writing this run directory; wait "
                               "for it to finish or choose another output folder",
                               file=str(self.path), field="--output") from None
        _HELD[key] = fd
        try:
            yield self
        finally:
            del _HELD[key]
            os.close(fd)

    def updating(self):
        """The lock for a short read-modify-write (waits for another writer)."""
        return self.locked(wait=True)

    # -- journal (crash-safe progress) ------------------------------------------
    def journal_path(self, task: str) -> Path:
        return self.path / "journal" / f"{task}.jsonl"

    def read_journal(self, task: str) -> dict[str, dict]:
        """Finished records by item id; a torn last line (killed mid-write) is ignored."""
        path = self.journal_path(task)
        done: dict[str, dict] = {}
        if not path.exists():
            return done
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    break
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    break
                done[rec["item_id"]] = rec
        return done

    def append_journal(self, task: str, records: Iterable[dict]) -> None:
        """Append finished records and fsync, so a kill -9 loses none of them."""
        path = self.journal_path(task)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            _truncate_torn_tail(fh, path)
            for rec in records:
                fh.write(json.dumps(rec, default=str, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    # -- records and scores -----------------------------------------------------
    def records_path(self, task: str) -> Path:
        return self.path / "records" / f"{task}.parquet"

    def write_records(self, task: str, records: list[dict] | pd.DataFrame,
                      terms=None) -> pd.DataFrame:
        """Records (dicts, or a frame from make_records) to parquet, with the metrics'
        per-item terms (harness.terms.Terms) when given; the frame back."""
        df = records if isinstance(records, pd.DataFrame) else records_frame(records)
        flat = df.assign(meta=_dumps_column(df["meta"]), detail=_dumps_column(df["detail"]))
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(flat, preserve_index=False)
        if terms is not None:
            for name, matrix in zip(TERM_COLUMNS, (terms.num, terms.den)):
                table = table.append_column(name, _list_column(matrix))
        with atomic_path(self.records_path(task)) as tmp:
            pq.write_table(table, tmp)
        return df

    def tasks(self) -> list[str]:
        return sorted(p.stem for p in (self.path / "records").glob("*.parquet"))

    def read_table(self, task: str, columns: Sequence[str] | None = None):
        """The one reader of a records file: a pyarrow Table of ``columns`` (all if None;
        a column the file lacks is left out), or one error line if missing or damaged."""
        import pyarrow.parquet as pq

        path = self.records_path(task)
        try:
            if columns is not None:
                have = set(pq.read_schema(path).names)
                columns = [c for c in columns if c in have]
            return pq.read_table(path, columns=columns)
        except FileNotFoundError:
            raise GenrankError("records missing", file=str(path), task=task) from None
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise GenrankError(f"unreadable records: {exc}", file=str(path), task=task) from None

    def read_records(self, task: str | None = None, columns: Sequence[str] | None = None
                     ) -> pd.DataFrame:
        """Per-item records (all tasks if none named) with meta/detail as dicts; only
        ``columns`` when named (default: the record columns, not the metric terms)."""
        tasks = [task] if task else self.tasks()
        frames = [self.read_table(t, list(columns or RECORD_COLUMNS)).to_pandas() for t in tasks]
        if not frames:
            empty = records_frame([])
            return empty[list(columns)] if columns else empty
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        for col in ("meta", "detail"):
            if col in df.columns:
                df[col] = df[col].map(_loads)
        return df

    def read_terms(self, task: str, meta: dict | None = None):
        """The task's per-item metric terms (harness.terms.Terms), or None when the run
        predates them (genrank 0.1; ``genrank migrate`` adds them)."""
        import numpy as np

        from harness.terms import Terms

        meta = meta if meta is not None else self.read_metadata()
        described = meta.get("tasks", {}).get(task, {}).get("terms")
        if not described:
            return None
        table = self.read_table(task, list(TERM_COLUMNS))
        if table.num_columns != 2:
            return None
        k = len(described["figures"])
        num, den = (np.asarray(table.column(c).combine_chunks().flatten(), dtype=float)
                    .reshape(table.num_rows, k) for c in TERM_COLUMNS)
        return Terms(list(described["figures"]), list(described["reducers"]), num, den)

    def count_records(self, task: str) -> int:
        """Rows of a records file, from its footer (reads no column)."""
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.records_path(task)).metadata.num_rows
        except Exception as exc:  # missing or damaged: one line
            raise GenrankError(f"unreadable records: {exc}", file=str(self.records_path(task)),
                               task=task) from None

    def read_scores(self) -> dict[str, dict[str, float]]:
        path = self.path / "scores.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def write_scores(self, scores: dict[str, dict[str, float]]) -> None:
        write_json(self.path / "scores.json", scores)


def _list_column(matrix):
    """An (items x k) float matrix as one parquet column of fixed-size lists."""
    import pyarrow as pa

    flat = pa.array(matrix.reshape(-1), type=pa.float64())
    return pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1])


def records_frame(records: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records, columns=RECORD_COLUMNS)
    df["score"] = df["score"].astype(float)
    df["difficulty"] = pd.to_numeric(df["difficulty"], errors="coerce").astype(float)
    return df


_ENCODER = json.JSONEncoder(default=str, sort_keys=True, ensure_ascii=False)


def _dumps(value: Any) -> str:
    """json.dumps(value or {}, default=str, sort_keys=True, ensure_ascii=False)."""
    return _ENCODER.encode(value if value is not None else {})


def _dumps_column(values: Iterable[Any]) -> list[str]:
    """_dumps of each value; equal flat dicts (one task's meta) are encoded once."""
    memo: dict = {}
    out = []
    for v in values:
        try:
            k = tuple(sorted(v.items())) if isinstance(v, dict) else None
            hash(k)
        except TypeError:
            k = None
        if k is None:
            out.append(_dumps(v))
        elif k in memo:
            out.append(memo[k])
        else:
            out.append(memo.setdefault(k, _dumps(v)))
    return out


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value or {})


def _truncate_torn_tail(fh, path: Path, block: int = 1 << 16) -> None:
    """Drop a partial last line left by a kill mid-write, before appending after it.

    Reads only the end of the file (the last byte when it is whole), so appending to a
    long journal costs the same as to a short one.
    """
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as rb:
        rb.seek(size - 1)
        if rb.read(1) == b"\n":
            return
        end = size
        while end > 0:  # back to the last newline, a block at a time
            start = max(0, end - block)
            rb.seek(start)
            at = rb.read(end - start).rfind(b"\n")
            if at != -1:
                keep = start + at + 1
                break
            end = start
        else:
            keep = 0
    fh.flush()
    os.truncate(path, keep)
    fh.seek(keep)
