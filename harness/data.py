"""Where data lives: one setting (GENRANK_DATA) for the local mirror of upstream files.

Loaders ask for files by their path under the data root; a missing file raises a
one-line error that names the task, the field and the upstream location to fetch.
"""

from __future__ import annotations

import gzip
import io
import os
import zipfile
from pathlib import Path
from typing import IO

from harness.errors import DataMissing, GenrankError

DEFAULT_ROOT = Path.home() / ".cache" / "genrank" / "data"


def data_root() -> Path:
    return Path(os.environ.get("GENRANK_DATA", DEFAULT_ROOT)).expanduser()


def resolve(rel: str, *, task: str | None = None, field: str = "source.path",
            upstream: str | None = None) -> Path:
    """Absolute path of ``rel`` under the data root, or a DataMissing naming where to get it."""
    path = data_root() / rel
    if not path.exists():
        hint = f"; upstream: {upstream}" if upstream else ""
        raise DataMissing(f"data file {rel!r} not found under GENRANK_DATA={data_root()}{hint}",
                          file=str(path), task=task, field=field)
    return path


def source_path(spec, key: str = "path", source: dict | None = None) -> Path:
    """Resolve ``source[key]`` (default: ``spec.source``) for a TaskSpec."""
    rel = (spec.source if source is None else source).get(key)
    if not rel:
        raise GenrankError("missing data path", file=spec.file, task=spec.name,
                           field=f"source.{key}")
    return resolve(rel, task=spec.name, field=f"source.{key}", upstream=spec.source.get("upstream"))


def open_text(path: Path) -> IO[str]:
    """Open a text file, transparently gunzipping ``.gz``."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_zip_member(path: Path, member: str, *, password: bytes | None = None,
                    task: str | None = None) -> bytes:
    """Read one member of a zip into memory (never extracted to disk)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.read(member, pwd=password)
    except KeyError:
        raise DataMissing(f"{member!r} is not in the archive", file=str(path), task=task,
                          field="source.member") from None
    except (zipfile.BadZipFile, RuntimeError) as exc:
        raise GenrankError(f"corrupt or unreadable archive: {exc}", file=str(path),
                           task=task, field="source.path") from None
