"""mean_rank / mean_win_rate compare models only on the tasks they share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leaderboards.leaderboard import assemble


def _cell(score: float) -> dict:
    return {"score": score, "ci_low": np.nan, "ci_high": np.nan, "ci_method": "wilson",
            "n_items": 10, "n_seeds": 1, "extra": {}}


def _board(scores: dict[str, dict[str, float]]) -> pd.DataFrame:
    per_key = {task: {m: _cell(v) for m, v in cols.items()} for task, cols in scores.items()}
    return assemble(per_key, {task: False for task in scores}).set_index("model")


def test_task_nobody_else_ran_gives_no_rank_and_flags_the_model():
    board = _board({"y": {"a": 0.9, "b": 0.5, "c": 0.7}, "z": {"a": 0.8, "b": 0.6, "c": 0.4},
                    "solo": {"lonely": 0.0}})
    assert board.loc["lonely", "n_tasks"] == 1 and board.loc["lonely", "n_shared_tasks"] == 0
    assert np.isnan(board.loc["lonely", "mean_rank"])  # not 1.00 from a task nobody else ran
    assert np.isnan(board.loc["lonely", "mean_win_rate"])
    assert board.loc["lonely", "fewer_shared_tasks"]
    assert not board.loc[["a", "b", "c"], "fewer_shared_tasks"].any()
    assert board.index[-1] == "lonely"
    assert board.loc["a", "mean_rank"] == 1.0 and board.loc["a", "mean_win_rate"] == 1.0


def test_partial_model_is_compared_on_its_shared_tasks_and_flagged():
    board = _board({"y": {"a": 0.9, "b": 0.5, "p": 0.95}, "z": {"a": 0.8, "b": 0.6}})
    # p ran only y, where it beats a and b: rank 1 there, but flagged and listed after a and b
    assert board.loc["p", ["n_tasks", "n_shared_tasks"]].tolist() == [1, 1]
    assert board.loc["p", "fewer_shared_tasks"]
    assert board.loc["p", "mean_rank"] == 1.0
    assert board.loc["a", "mean_rank"] == pytest.approx((2 + 1) / 2)
    assert board.loc["a", "mean_win_rate"] == pytest.approx((1 / 2 + 1) / 2)
    assert list(board.index) == ["a", "b", "p"]


def test_complete_table_keeps_the_plain_means():
    rng = np.random.default_rng(3)
    scores = {t: dict(zip("abcde", rng.random(5))) for t in ("t1", "t2", "t3")}
    board = _board(scores)
    wide = pd.DataFrame(scores)
    ranks = wide.rank(ascending=False, method="min")
    wins = wide.apply(lambda c: c.map(lambda v: (c < v).sum() / (len(c) - 1)))
    np.testing.assert_allclose(board.loc[wide.index, "mean_rank"], ranks.mean(axis=1))
    np.testing.assert_allclose(board.loc[wide.index, "mean_win_rate"], wins.mean(axis=1))
    assert not board["fewer_shared_tasks"].any()
