"""Argument types and checks shared by the commands: bad values stop before any model work."""

from __future__ import annotations

import argparse
import errno
import shutil
import sys
import tempfile
from pathlib import Path

from harness.errors import GenrankError

#: an output folder on a disk with less free space than this is refused up front
MIN_FREE_BYTES = 16 * 1024 * 1024


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one ``error:`` line (exit 2), like every bad input."""

    def error(self, message: str):  # noqa: D401 - argparse's signature
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def positive_int(text: str) -> int:
    """An integer of at least 1 (``--limit 0`` would silently mean "all items")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def key_value(text: str) -> tuple[str, str]:
    """``KEY=VALUE`` (a bare ``foo`` is refused, not guessed)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value


def writable_dir(path: str | Path, field: str = "--output") -> Path:
    """Check that ``path`` is (or can become) a folder we can write, with room on its disk.

    Called before the model loads, so a typo'd or full output location costs nothing.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise GenrankError("the output path exists and is not a folder", file=str(path),
                           field=field)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise GenrankError(f"cannot create the output folder: {probe} is not a folder",
                           file=str(path), field=field)
    try:
        with tempfile.TemporaryFile(dir=probe, prefix=".genrank-probe-"):
            pass
    except OSError as exc:
        why = {errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on the disk",
               errno.EACCES: "permission denied", errno.EPERM: "permission denied"}.get(
            exc.errno, exc.strerror or str(exc))
        raise GenrankError(f"the output folder is not writable ({why})", file=str(probe),
                           field=field) from None
    free = shutil.disk_usage(probe).free
    if free < MIN_FREE_BYTES:
        raise GenrankError(f"the disk holding the output folder is full ({free // 1024} KiB "
                           "free)", file=str(probe), field=field)
    return path


def writable_file(path: str | Path, field: str = "--output") -> Path:
    """The folder of an output file passes :func:`writable_dir`; the file is no folder."""
    path = Path(path)
    if path.is_dir():
        raise GenrankError("the output path is a folder, not a file", file=str(path), field=field)
    writable_dir(path.parent if str(path.parent) else Path("."), field)
    return path
