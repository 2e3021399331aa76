"""Shared fixtures: real data from GENRANK_DATA (skip with the reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("GENRANK_DATA", str((ROOT.parent / "shared" / "data").resolve()))


def data_path(rel: str) -> Path:
    """Path of a file under GENRANK_DATA, or skip the test saying which file is missing."""
    path = Path(os.environ["GENRANK_DATA"]) / rel
    if not path.exists():
        pytest.skip(f"data file {rel} not under GENRANK_DATA={os.environ['GENRANK_DATA']}")
    return path


@pytest.fixture
def data_file():
    return data_path


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    """A private generation cache, so tests never share or pollute the user's."""
    monkeypatch.setenv("GENRANK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
