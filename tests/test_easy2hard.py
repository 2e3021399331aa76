"""Easy2Hard loaders (hub schema on own fixtures, real local sources) and the
math, multiple-choice and chess verifiers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

import suites.easy2hard  # noqa: F401  (registers)
from harness.errors import DataMissing
from harness.registry import LOADERS, VERIFIERS
from harness.types import Item
from suites.easy2hard.answers import extract_choice, extract_math, math_equal
from suites.easy2hard.chessv import judge_line
from suites.easy2hard.loaders import load

FIXTURES = Path(__file__).parent / "fixtures" / "easy2hard"


@dataclass
class Spec:
    name: str = "e2h-test"
    tags: dict = field(default_factory=dict)
    file: str = "tasks.yaml"


def _fixture(monkeypatch, config: str) -> list[Item]:
    monkeypatch.setenv("GENRANK_DATA", str(FIXTURES))
    return load(Spec(), {"config": config, "path": f"{config}.eval.jsonl"})


def test_registered():
    assert "easy2hard" in LOADERS
    assert {"math_answer", "choice_answer", "chess_puzzle", "codeforces_tests"} <= set(VERIFIERS)


@pytest.mark.parametrize("config,n", [("E2H-AMC", 3), ("E2H-GSM8K", 2), ("E2H-ARC", 2),
                                      ("E2H-Winogrande", 1), ("E2H-Lichess", 2)])
def test_hub_schema_fixtures_keep_ratings(monkeypatch, config, n):
    items = _fixture(monkeypatch, config)
    assert len(items) == n
    for it in items:
        assert it.difficulty == it.meta["rating"]
        assert {"rating_std", "rating_quantile", "unnorm_rating"} <= set(it.meta)
        assert it.meta["subset"] == config


def test_fixture_targets(monkeypatch):
    assert [i.target for i in _fixture(monkeypatch, "E2H-GSM8K")] == ["31", "150"]
    arc = _fixture(monkeypatch, "E2H-ARC")
    assert arc[1].fields["labels"] == ["1", "2", "3"] and arc[1].target == "2"
    chess_items = _fixture(monkeypatch, "E2H-Lichess")
    assert chess_items[1].target == "b2g7 g8g7 b1b7" and chess_items[1].fields["side"] == "White"
    assert "rating_volatility" in chess_items[0].meta


def test_missing_file_names_upstream(monkeypatch, tmp_path):
    monkeypatch.setenv("GENRANK_DATA", str(tmp_path))
    with pytest.raises(DataMissing, match="upstream: hub"):
        load(Spec(), {"config": "E2H-AMC", "path": "nope.jsonl", "upstream": "hub"})


# --- real local sources ---------------------------------------------------------------

def test_lichess_source_rating_is_difficulty(data_file):
    data_file("easy2hard/sources/lichess_puzzles/puzzles_rating_spread.csv")
    src = {"config": "E2H-Lichess", "dedupe_on": "PuzzleId",
           "paths": ["easy2hard/sources/lichess_puzzles/puzzles_rating_spread.csv",
                     "easy2hard/sources/lichess_puzzles/puzzles_llm_chess_set.csv"]}
    items = load(Spec(), src)
    assert 2900 < len(items) <= 2992 and len({i.id for i in items}) == len(items)
    first = items[0]  # CJi0b: opponent plays c6d5, the solver mates with e1e8
    assert (first.id, first.target, first.difficulty) == ("CJi0b", "e1e8", 400.0)
    assert first.fields["side"] == "White" and first.fields["last_move"] == "Qxd5"
    # every reference line is accepted by the verifier, in UCI
    ver = VERIFIERS["chess_puzzle"]()
    assert all(ver.score(i.target, i).value == 1.0 for i in items[:300])


def test_math_sources(data_file):
    data_file("easy2hard/sources/math/hendrycks_math_test.jsonl")
    amc = load(Spec(), {"config": "E2H-AMC", "path": "easy2hard/sources/math/amc23.jsonl"})
    assert len(amc) == 40 and amc[0].target == "27" and amc[0].difficulty is None
    math = load(Spec(), {"config": "E2H-AMC", "difficulty_field": "level",
                         "path": "easy2hard/sources/math/hendrycks_math_test.jsonl"})
    assert len(math) == 5000 and math[0].target == "2" and math[0].difficulty == 3.0
    assert {i.difficulty for i in math} <= {1.0, 2.0, 3.0, 4.0, 5.0}


def test_mc_sources(data_file):
    data_file("easy2hard/sources/arc_challenge/ARC-Challenge-Test.jsonl")
    arc = load(Spec(), {"config": "E2H-ARC",
                        "path": "easy2hard/sources/arc_challenge/ARC-Challenge-Test.jsonl"})
    assert len(arc) == 1172 and all(i.target in i.fields["labels"] for i in arc)
    wino = load(Spec(), {"config": "E2H-Winogrande",
                         "path": "easy2hard/sources/winogrande/dev.jsonl"})
    assert len(wino) == 1267 and {i.target for i in wino} == {"1", "2"}
    gsm = load(Spec(), {"config": "E2H-GSM8K", "path": "easy2hard/sources/gsm8k/test.jsonl"})
    assert len(gsm) == 1319 and gsm[0].target == "18"


# --- math -------------------------------------------------------------------------------

@pytest.mark.parametrize("gold,answer", [
    ("27", "27.0"), ("\\frac{1}{2}", "0.5"), ("\\frac{1}{2}", "1/2"), ("\\sqrt{2}", "\\sqrt2"),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"), ("1200", "1,200"), ("\\pi", "\\pi"),
    ("x^2+2x+1", "(x+1)^2"), ("-3", "-3"), ("0.25", "\\frac14")])
def test_equivalent_answers(gold, answer):
    assert math_equal(gold, answer)


@pytest.mark.parametrize("gold,answer", [
    ("27", "28"), ("\\frac{1}{2}", "\\frac{1}{3}"), ("\\sqrt{2}", "2"), ("-3", "3"),
    ("x^2+1", "(x+1)^2"), ("150", "15")])
def test_non_equivalent_answers(gold, answer):
    assert not math_equal(gold, answer)


@pytest.mark.parametrize("text,want", [
    ("so the total is $\\boxed{\\frac{3}{4}}$.", "\\frac{3}{4}"),
    ("36-5=31\n#### 31", "31"),
    ("The answer is 1,200 km.", "1200"),
    ("First 12, then 7, finally 19", "19"),
    ("no numbers here", None)])
def test_math_extraction(text, want):
    assert extract_math(text) == want


def test_math_verifier_scores(monkeypatch):
    ver = VERIFIERS["math_answer"]()
    items = _fixture(monkeypatch, "E2H-AMC")
    assert ver.score("We get $x = \\boxed{0.5}$", items[1]).value == 1.0
    assert ver.score("The answer is 12.", items[0]).value == 0.0


# --- multiple choice ----------------------------------------------------------------------

def test_choice_extraction():
    labels, texts = ["A", "B", "C", "D"], ["a mirror", "the Moon", "a candle flame", "a window"]
    assert extract_choice("a candle flame", labels, texts) == "C"  # log-likelihood path
    assert extract_choice("The answer is (C).", labels, texts) == "C"
    assert extract_choice("C. because it burns", labels, texts) == "C"
    assert extract_choice("I think a candle flame gives light", labels, texts) == "C"
    assert extract_choice("Answer: b", labels, texts) == "B"
    assert extract_choice("no idea", labels, texts) is None
    assert extract_choice("2", ["1", "2"], ["cup", "bag"]) == "2"


def test_choice_verifier(monkeypatch):
    ver = VERIFIERS["choice_answer"]()
    wino = _fixture(monkeypatch, "E2H-Winogrande")[0]
    assert ver.score("bag", wino).value == 1.0 and ver.score("cup", wino).value == 0.0


# --- chess --------------------------------------------------------------------------------

def test_chess_uci_and_san(monkeypatch):
    ver = VERIFIERS["chess_puzzle"]()
    mate1, line = _fixture(monkeypatch, "E2H-Lichess")
    assert ver.score("Ra8#", mate1).value == 1.0
    assert ver.score("a1a8", mate1).value == 1.0
    assert ver.score("Ra7", mate1).value == 0.0
    assert ver.score("Qxg7+ Kxg7 Rb7+", line).value == 1.0       # with the reply written
    assert ver.score("1. b2g7 2. b1b7", line).value == 1.0      # solver moves only, UCI
    assert ver.score("Qxg7+", line).value == 0.0                 # line incomplete
    assert ver.score("Qb8", line).value == 0.0
    assert ver.score("Nf3", line).value == 0.0                   # illegal: no knight
    assert VERIFIERS["chess_puzzle"](first_move_only=True).score("Qxg7+", line).value == 1.0


def test_chess_any_mate_in_one_is_accepted():
    # two rooks: both Ra8# and Rb8# mate; the solution names one
    fen = "6k1/5ppp/8/8/8/8/5PPP/RR4K1 w - - 0 1"
    assert judge_line(fen, ["a1a8"], "Rb8#")[0] == 1


# --- hub code path (offline) --------------------------------------------------------------

def test_hub_path_passes_config_and_split(monkeypatch, tmp_path):
    """No local mirror: rows come from datasets.load_dataset(hub, config, split=...)."""
    datasets = pytest.importorskip("datasets")
    import json
    rows = [json.loads(x) for x in (FIXTURES / "E2H-Lichess.eval.jsonl").read_text().splitlines()]
    calls = []
    monkeypatch.setattr(datasets, "load_dataset",
                        lambda *a, **k: calls.append((a, k)) or rows)
    monkeypatch.setenv("GENRANK_DATA", str(tmp_path))
    items = load(Spec(), {"config": "E2H-Lichess", "path": "hub/E2H-Lichess/eval.jsonl",
                          "hub": "furonghuang-lab/Easy2Hard-Bench", "hub_split": "eval"})
    assert calls == [(("furonghuang-lab/Easy2Hard-Bench", "E2H-Lichess"),
                      {"split": "eval", "revision": None})]
    assert [i.id for i in items] == ["fx001", "fx002"] and items[0].meta["answer_san"] == "Ra8#"


def test_hub_unreachable_names_upstream(monkeypatch, tmp_path):
    pytest.importorskip("datasets")
    monkeypatch.setenv("GENRANK_DATA", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no network here; fail fast, never hang
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DataMissing, match="upstream: hf://furonghuang-lab/Easy2Hard-Bench E2H-AMC"):
        load(Spec(), {"config": "E2H-AMC", "path": "hub/E2H-AMC/eval.jsonl",
                      "hub": "furonghuang-lab/Easy2Hard-Bench"})


def test_no_datasets_package_names_upstream(monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "datasets", None)  # import fails
    monkeypatch.setenv("GENRANK_DATA", str(tmp_path))
    with pytest.raises(DataMissing, match="not installed.*hf://furonghuang-lab/Easy2Hard-Bench"):
        load(Spec(), {"config": "E2H-ARC", "path": "hub/E2H-ARC/eval.jsonl",
                      "hub": "furonghuang-lab/Easy2Hard-Bench"})


def test_lichess_answer_san_only(monkeypatch, tmp_path):
    """A hub row with only ``answer_san`` still gets a UCI target."""
    (tmp_path / "l.jsonl").write_text(
        '{"puzzle_id": "s1", "rating": 0.1, "fen": "6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1", '
        '"answer_san": "Ra8#"}\n')
    monkeypatch.setenv("GENRANK_DATA", str(tmp_path))
    (it,) = load(Spec(), {"config": "E2H-Lichess", "path": "l.jsonl"})
    assert it.target == "a1a8" and it.difficulty == 0.1
