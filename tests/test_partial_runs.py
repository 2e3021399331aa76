"""A run on a subset of the items is never ranked with the full task (issue 13 §3): published
PCFG SET predictions replayed in full for one architecture and on the first 8 items for two
others give two columns, and the site shows the partial one apart."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from genrank.cli import main
from tests.conftest import data_path

TASK = "pcfgset_test"


def _score(out, arch: str, *limit: str) -> None:
    preds = data_path(f"pcfgset/model_predictions/{arch}/pcfgset")
    assert main(["score", "--task", TASK, "--model-name", arch, "--predictions", str(preds),
                 "-o", str(out), *limit]) == 0


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("partial")
    _score(tmp / "runs", "lstms2s")
    for arch in ("convs2s", "transformer"):
        _score(tmp / "runs", arch, "--limit", "8")
    return tmp


def test_partial_runs_get_their_own_column(store):
    assert main(["leaderboard", str(store / "runs"), "-o", str(store / "lb.csv")]) == 0
    table = pd.read_csv(store / "lb.csv").set_index("model")
    partial = [c[:-len(":score")] for c in table.columns
               if c.startswith(TASK + "~") and c.endswith(":score")]
    assert len(partial) == 1 and re.fullmatch(rf"{TASK}~8items-[0-9a-f]{{6}}", partial[0])
    key = partial[0]
    # the full task's column holds the full run only, the partial one the two 8-item runs
    assert table[f"{TASK}:score"].dropna().index.tolist() == ["lstms2s"]
    assert table[f"{TASK}:n_items"]["lstms2s"] > 8
    assert sorted(table[f"{key}:score"].dropna().index) == ["convs2s", "transformer"]
    assert set(table[f"{key}:n_items"].dropna()) == {8}
    # ranked against each other only: the transformer beats convs2s on these 8 items
    assert table[f"{key}:rank"].dropna().to_dict() == {"convs2s": 2.0, "transformer": 1.0}
    assert table[f"{TASK}:rank"].dropna().to_dict() == {"lstms2s": 1.0}
    # the three published runs of each architecture are seeds of one cell
    assert set(table[f"{key}:n_seeds"].dropna()) == {3}


def test_site_shows_partial_runs_apart(store):
    db_path = store / "lb.sqlite"
    assert main(["ingest", str(store / "runs"), "--db", str(db_path), "--site",
                 str(store / "site"), "--csv-dir", str(store / "tables")]) == 0
    html = (store / "site" / "index.html").read_text(encoding="utf-8")
    main_table = html.split('id="table-compositional"')[1].split("</table>")[0]
    partial_table = html.split('id="table-compositional-partial"')[1].split("</table>")[0]
    assert ">lstms2s<" in main_table and ">convs2s<" not in main_table
    assert ">convs2s<" in partial_table and ">transformer<" in partial_table
    assert ">lstms2s<" not in partial_table and f"{TASK}~8items-" in partial_table


def test_a_smaller_rerun_of_the_same_items_shares_the_column(store, tmp_path):
    """--limit 8 on one model and --limit 8 after --limit 20 shrunk back on another are the
    same items (the digest ignores order): one column, whatever the route."""
    _score(tmp_path / "runs", "convs2s", "--limit", "20")
    _score(tmp_path / "runs", "convs2s", "--limit", "8")  # never shrinks: still 20 items
    _score(tmp_path / "runs", "lstms2s", "--limit", "20")
    assert main(["leaderboard", str(tmp_path / "runs"), "-o", str(tmp_path / "lb.csv")]) == 0
    table = pd.read_csv(tmp_path / "lb.csv").set_index("model")
    keys = {c[:-len(":score")] for c in table.columns if c.endswith(":score")}
    assert len(keys) == 1 and next(iter(keys)).startswith(TASK + "~20items-")
