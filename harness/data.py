"""Where data lives: one setting (GENRANK_DATA) for the local mirror of upstream files.

Loaders ask for files by their path under the data root; a missing file raises a
one-line error that names the task, the field and the upstream location to fetch.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from harness.errors import DataMissing, GenrankError

#: what reading a damaged, truncated or mis-encoded data file raises (parsers included:
#: json, csv, pyarrow's ArrowInvalid is a ValueError, pandas' ParserError too)
READ_ERRORS = (OSError, EOFError, ValueError, csv.Error, zlib.error, KeyError, IndexError,
               TypeError)

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
    """Open a UTF-8 text file, transparently gunzipping ``.gz``; reading errors (a truncated
    gzip, bytes that are not UTF-8, a folder) raise one GenrankError naming the file."""
    path = Path(path)
    with _reading(path):
        if path.is_dir():
            raise IsADirectoryError(21, "is a folder", str(path))
        raw = gzip.open(path) if path.suffix == ".gz" else open(path, "rb")
    return _CheckedText(io.TextIOWrapper(raw, encoding="utf-8", newline=""), path)


class _CheckedText:
    """A text file whose read errors become GenrankErrors naming it (see :func:`open_text`)."""

    def __init__(self, fh: io.TextIOWrapper, path: Path) -> None:
        self._fh, self.path = fh, path

    def read(self, *args) -> str:
        with _reading(self.path):
            return self._fh.read(*args)

    def readline(self, *args) -> str:
        with _reading(self.path):
            return self._fh.readline(*args)

    def __iter__(self) -> Iterator[str]:
        with _reading(self.path):
            yield from self._fh

    def __enter__(self) -> "_CheckedText":
        return self

    def __exit__(self, *exc) -> None:
        self._fh.close()

    def __getattr__(self, name: str):
        return getattr(self._fh, name)


def describe_read_error(exc: BaseException, path: Path | None = None) -> str:
    """What went wrong reading a file, in words a user can act on."""
    if isinstance(exc, UnicodeDecodeError):
        head = b""
        if path is not None and path.is_file():
            with open(path, "rb") as fh:
                head = fh.read(2)
        if head in (b"\xff\xfe", b"\xfe\xff"):
            return "the file is UTF-16 text; save it as UTF-8"
        return (f"the file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                f"{exc.start}); save it as UTF-8")
    if isinstance(exc, gzip.BadGzipFile):
        return f"not a gzip file ({exc})"
    if isinstance(exc, (EOFError, zlib.error)):
        return f"truncated or damaged gzip file ({exc or type(exc).__name__})"
    if isinstance(exc, IsADirectoryError):
        return "a folder where a data file was expected"
    if isinstance(exc, OSError):
        return f"unreadable file: {exc.strerror or exc}"
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return f"malformed file ({type(exc).__name__}: {first})"


@contextmanager
def _reading(path: Path):
    try:
        yield
    except GenrankError:
        raise
    except READ_ERRORS as exc:
        raise GenrankError(describe_read_error(exc, path), file=str(path)) from None


@contextmanager
def reading(spec, field: str = "source.path", path: Path | None = None):
    """Around a loader or reader: any reading error becomes one line naming the file (the
    exception's, else ``path``, else the task's data files), the task and the field."""
    try:
        yield
    except GenrankError as exc:
        exc.task = exc.task or spec.name
        exc.field = exc.field or field
        raise
    except READ_ERRORS as exc:
        where = getattr(exc, "filename", None) or path or _source_files(spec)
        raise GenrankError(describe_read_error(exc, Path(where) if where else None),
                           file=str(where) if where else spec.file, task=spec.name,
                           field=field) from None


def _source_files(spec) -> str | None:
    """The task's data files that exist (named when an error does not say which it was)."""
    root = data_root()
    found = [str(root / v) for k, v in sorted((spec.source or {}).items())
             if isinstance(v, str) and "path" in k and (root / v).exists()]
    return ", ".join(found) or None


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
