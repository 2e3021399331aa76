"""What a run was made with: genrank version and commit, library versions, host."""

from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from harness import __version__

LIBRARIES = ("torch", "transformers", "numpy", "pandas", "pyarrow", "scipy", "vllm", "ray")


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


@lru_cache(maxsize=1)
def _environment() -> tuple:
    return tuple({"genrank_version": __version__, "genrank_commit": git_commit(),
                  "python": platform.python_version(), "platform": platform.platform(),
                  "libraries": library_versions()}.items())


def environment() -> dict:
    """Computed once per process (git and package metadata look-ups are slow)."""
    return dict(_environment())

