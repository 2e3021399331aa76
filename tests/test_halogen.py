"""HALoGEN: replaying the 126 published files reproduces upstream's published scores;
the offline and judge verifiers score new generations."""

from __future__ import annotations

import gzip
import json

import pytest

from harness.errors import GenrankError
from harness.replay import score_predictions
from harness.spec import load_specs
from harness.types import Item, Score
from suites.halogen.data import LAYOUT, MODEL_ALIASES, MODELS
from suites.halogen.rules import (first_line_says, is_abstained, judge_row, word_tokenize,
                                  yes_no)

PUBLISHED = {"biographies": "biographies", "code": "code",
             "false_presupposition": "false_presupposition",
             "rationalization_numerical": "rationalization_numerical",
             "simplification": "simplification"}
FIGURES = ("hallucination_score", "response_ratio", "utility_score")


def _spec(domain):
    return load_specs()[f"halogen_{domain}"]


def test_nine_domains_declared():
    specs = [s for s in load_specs().values() if s.suite == "halogen"]
    assert sorted(s.loader_params["domain"] for s in specs) == sorted(LAYOUT)


def test_abstention_rules():
    assert is_abstained("I'm sorry, I cannot help.") and is_abstained("Unfortunately, no.")
    # upstream's list lacks a comma: "I am sorry" "Sorry" is one phrase, "I am sorrySorry"
    assert not is_abstained("I am sorry, I cannot help.") and not is_abstained("Sorry.")
    assert judge_row("historical_events", "They met in 1900.", [], [],
                     verified_response=" No.") == (True, None, 1.0)
    assert judge_row("references", "See Smith (2020).", [], []) == (True, None, 1.0)
    assert judge_row("code", "import numpy", ["numpy", "foo"], ["foo"]) == (False, 0.5, 0.5)
    assert judge_row("false_presupposition", "a; b", ["a", "b"], ["b"]) == (False, 0.5, 0.0)


def test_binary_rule_is_upstreams():
    """Abstention = a listed phrase or an empty response (a response with no yes/no is
    scored); the category's correct answer among the first line's tokens scores 0."""
    def row(response, units=("yes", 17), hallucinated=(17,), category="primality"):
        return judge_row("rationalization_binary", response, list(units), list(hallucinated),
                         category=category)
    assert row("It is prime.") == (False, 0.5, 0.5)
    assert row("Yes/no\nIt is prime") == (False, 0.5, 0.5)  # 'Yes/no' is one token
    assert row("Yes, 7411 is prime. 17 divides it.") == (False, 0.0, 1.0)
    assert row("It is prime\nYes") == (False, 0.5, 0.5)  # only the first line counts
    assert row("No.", ["no"], ["no"], category="senator") == (False, 0.0, 1.0)
    assert row("Yes, Senator X.", ["yes"], ["yes"], category="senator") == (False, 1.0, 0.0)
    assert row("I'm sorry, I cannot tell.") == (True, None, 0.0)
    assert row("  \n") == (True, None, 0.0)


@pytest.mark.parametrize("line", [
    "Yes/no. It is prime.", "No. 5 is prime.", "Yes. It is prime.", "no-one knows", "Yes,5",
    "The answer: yes.", '"No," he said', "(yes)", "Yesterday, no.", "yes.</s>", "Yes!No",
    "I say no;", "Answer:No", "no.\tYes"])
def test_first_line_says_equals_word_tokenize(line):
    tokens = [t.lower() for t in word_tokenize(line)]
    for word in ("yes", "no"):
        assert first_line_says(line, word) == (word in tokens)
    assert "Yes/no" in word_tokenize("Yes/no. It is prime.")


def test_new_response_answer_unit():
    # upstream's verifier: the yes/no that starts the response
    assert yes_no("No.\n\nThe factorization of 7411 is 17 x 19 x 23.") == "no"
    assert yes_no("  Yes, it is.") == "yes" and yes_no("It is, yes.") is None


def test_binary_rationalization_equals_upstream_scorer(tmp_path, data_file):
    """`genrank score` on the 14 published files = upstream's scorer (tests' port) on
    the same files: every figure and every response's (abstained, rate, utility)."""
    import math

    from genrank.cli import main
    from harness.runstore import RunDir
    from tests.upstream_halogen_binary import compute_scores, model_name

    folder = data_file("halogen/model_hallucinations/rationalization_binary")
    task = _spec("rationalization_binary").name
    assert main(["score", "--task", task, "--predictions", str(folder), "-o", str(tmp_path)]) == 0
    runs = {RunDir(p).read_metadata()["model"]["name"]: RunDir(p) for p in tmp_path.iterdir()}
    assert set(runs) == set(MODELS)
    worst = 0.0
    for file in sorted(folder.iterdir()):
        h, r, u, rows = compute_scores(file)
        run = runs[MODEL_ALIASES.get(model_name(file), model_name(file))]
        ours = run.read_scores()[task]
        for fig, expected in zip(FIGURES, (h, r, u)):
            assert not math.isnan(expected) and not math.isnan(ours[fig])
            worst = max(worst, abs(ours[fig] - expected))
        replayed = [tuple(x) for d in run.read_records(task)["detail"] for x in d["rows"]]
        key = lambda x: (x[0], -1 if x[1] is None else x[1], x[2])  # noqa: E731
        assert sorted(replayed, key=key) == sorted(rows, key=key), file.name
    assert worst <= 1e-12


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory):
    """All 126 published files (14 models x 9 domains) replayed into one run store."""
    from tests.conftest import data_path
    out = tmp_path_factory.mktemp("runs")
    for domain in LAYOUT:
        folder = data_path(f"halogen/model_hallucinations/{LAYOUT[domain][1]}")
        score_predictions(_spec(domain), folder, out)
    return out


@pytest.fixture(scope="module")
def replayed(replay_dir):
    from harness.runstore import RunDir
    runs = [RunDir(p) for p in sorted(replay_dir.iterdir())]
    return {domain: {r.read_metadata()["model"]["name"]: r.read_scores()[_spec(domain).name]
                     for r in runs} for domain in PUBLISHED}


def test_published_scores_reproduced(replayed, data_file):
    cells, worst = 0, 0.0
    for domain, stem in PUBLISHED.items():
        published = json.loads(data_file(f"halogen/published_scores/{stem}_results.json").read_text())
        assert len(published) == 14 and set(replayed[domain]) == set(MODELS)
        for model, figs in published.items():
            ours = replayed[domain][MODEL_ALIASES.get(model.lower(), model.lower())]
            for f in FIGURES:
                cells += 1
                worst = max(worst, abs(ours[f] - figs[f]))
    assert cells == 5 * 14 * 3
    assert worst <= 1e-12
    gpt4 = replayed["biographies"]["gpt_4_0125_turbo"]
    assert gpt4["hallucination_score"] == pytest.approx(0.13164119, abs=1e-8)


def test_every_published_row_counted(replayed):
    # falcon's numerical file holds 78 rows beyond the 1014 prompts; alpaca's
    # biographies file answers 632 of the 683 prompts
    assert replayed["rationalization_numerical"]["falcon_40b_instruct"]["n_responses"] == 1092
    assert replayed["biographies"]["alpaca_7b"]["n_responses"] == 632


def test_leaderboard_of_replayed_runs(replay_dir, data_file, tmp_path):
    """`genrank leaderboard` over the replayed runs: 14 models x 9 domains, ranked by
    hallucination score (lower is better), in the published scores' order."""
    import pandas as pd

    from genrank.cli import main
    assert main(["leaderboard", str(replay_dir), "-o", str(tmp_path / "lb.csv")]) == 0
    table = pd.read_csv(tmp_path / "lb.csv")
    assert sorted(table["model"]) == sorted(MODELS)
    assert len([c for c in table.columns if c.endswith(":score")]) == 9
    # the CSV names each task's primary metric and its direction on every row
    assert set(table["halogen_code:metric"]) == {"hallucination_score"}
    assert set(table["halogen_code:higher_is_better"]) == {False}
    for domain, stem in PUBLISHED.items():
        published = json.loads(data_file(f"halogen/published_scores/{stem}_results.json").read_text())
        pub = {MODEL_ALIASES.get(m.lower(), m.lower()): f["hallucination_score"]
               for m, f in published.items()}
        col = table.set_index("model")[[f"halogen_{domain}:{k}" for k in
                                        ("score", "rank", "ci_low", "ci_high")]]
        col.columns = ["score", "rank", "lo", "hi"]
        best = col["rank"].idxmin()
        assert best == min(pub, key=pub.get)  # e.g. biographies: gpt_4_0125_turbo
        assert list(col.sort_values("rank").index) == sorted(pub, key=pub.get)
        assert ((col["lo"] <= col["score"]) & (col["score"] <= col["hi"])).all()


def _gz(path, text):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(text)
    return path


@pytest.mark.parametrize("name, body, field", [
    ("gpt_4_0125_turbo_code_AU.csv.gz", "prompt,response\nx,y\n", "atomic_units"),
    ("mystery_model_code_AU.csv.gz", "prompt,response,atomic_units,hallucinated_atomic_units\n",
     "model"),
    ("alpaca_7b_code_AU.csv.gz",
     "prompt,response,atomic_units,hallucinated_atomic_units\nnot a prompt,x,[],[]\n", "prompt"),
])
def test_bad_predictions_file(tmp_path, data_file, name, body, field):
    data_file("halogen/prompts/prompts_code.csv")
    bad = _gz(tmp_path / name, body)
    with pytest.raises(GenrankError) as err:
        score_predictions(_spec("code"), bad, tmp_path / "runs")
    assert err.value.field == field and err.value.file.endswith(name)
    assert "\n" not in err.value.line()
    assert not (tmp_path / "runs").exists()


def test_binary_category_required(tmp_path, data_file):
    """The category decides the score: a file without it, or with an unknown one, stops."""
    data_file("halogen/prompts/prompts_rationalization_binary.csv")
    head = "prompt,response,atomic_units,hallucinated_atomic_units"
    for body, field in ((f"{head}\nx,Yes,[],[]\n", "category"),
                        (f"{head},category\nx,Yes,[],[],astrology\n", "category")):
        bad = _gz(tmp_path / "alpaca_7b_yesno_response_AU.csv.gz", body)
        with pytest.raises(GenrankError) as err:
            score_predictions(_spec("rationalization_binary"), bad, tmp_path / "runs")
        assert err.value.field == field and "\n" not in err.value.line()
    assert not (tmp_path / "runs").exists()


def _item(domain, **fields):
    return Item(id="x", fields={"input": fields.pop("input", ""), **fields}, target="")


def _verifier(domain):
    from harness.registry import VERIFIERS
    spec = _spec(domain)
    return VERIFIERS[spec.verifier.name](**spec.verifier.params)


def test_offline_code_verifier(data_file):
    data_file("halogen/knowledge/pypi_project_names_2026-11.txt.gz")
    s = _verifier("code").score("import os\nimport numpy as np\nfrom sklearn import svm\n"
                                "import surely_not_a_package_xyzzy\n", _item("code"))
    assert s.detail["atomic_units"] == ["os", "numpy", "sklearn", "surely_not_a_package_xyzzy"]
    assert s.detail["hallucinated_atomic_units"] == ["surely_not_a_package_xyzzy"]
    assert s.value == pytest.approx(0.75) and s.detail["source"] == "offline"


def test_offline_rationalization_verifiers():
    num = _verifier("rationalization_numerical").score(
        "6\n1. Earth\n2. Mars\n3. Jupiter", _item(
            "rationalization_numerical", list="['earth', 'mars', 'jupiter', 'venus']",
            list_condition="['earth', 'mars', 'saturn', 'uranus']", count="4"))
    assert num.detail["hallucinated_atomic_units"] == ["6", "jupiter"]
    assert num.value == pytest.approx(1 - 2 / 4)
    prime = _verifier("rationalization_binary").score(
        "No.\nThe factorization of 7411 is 17 x 19 x 23.", _item(
            "rationalization_binary", input="Is 7411 a prime number? First, respond with yes or no.",
            category="primality"))
    assert prime.detail["hallucinated_atomic_units"] == ["no", "17", "19", "23"]
    graph = _verifier("rationalization_binary").score("No, there is none.", _item(
        "rationalization_binary", category="graph",
        input="There is a flight from city A to city B\nThere is a flight from city C to city D\n"
              "Question: Is there a series of flights that goes from city A to city D?"))
    assert graph.value == 1.0


def test_offline_refusal_verifiers():
    fp = _verifier("false_presupposition").score("Mars; Saturn; Neptune", _item(
        "false_presupposition", list_condition="['earth', 'mars', 'saturn', 'uranus']"))
    assert fp.detail["hallucinated_atomic_units"] == ["neptune"] and fp.value == 0.0
    hist = _verifier("historical_events")
    assert hist.score("They never met: they lived in different centuries.", _item("h")).value == 1
    assert hist.score("Their famous meeting took place in Paris.", _item("h")).value == 0


class FakeJudge:
    """A stand-in for the judge role (the Judge interface: ask, describe)."""

    def __init__(self):
        self.prompts = []

    def ask(self, prompts, config):
        self.prompts += prompts
        return ["| Anna was born in 1900. | True |\n| Anna won a Nobel prize. | False |"] * len(prompts)

    def describe(self):
        return {"model": "fake"}


def test_judge_verifier_uses_judge_and_spec_prompt():
    spec = _spec("summarization")
    from harness.registry import VERIFIERS
    judge = FakeJudge()
    v = VERIFIERS["halogen_judge"](judge=judge, **spec.verifier.params)
    item = _item("summarization", input="Summarize", text="Anna was born in 1900.")
    s, abstained = v.score_many(["Anna, born 1900, won a Nobel prize.", "I'm sorry, I can't."],
                                [item, item])
    assert s.value == 0.5 and s.detail["source"] == "judge"
    assert "Source passage: Anna was born in 1900." in judge.prompts[0]
    assert isinstance(s, Score)
    # an abstained response needs no judge: one prompt for two responses
    assert len(judge.prompts) == 1 and abstained.extracted == "abstained"
    with pytest.raises(GenrankError, match="--judge"):
        VERIFIERS["halogen_judge"](**spec.verifier.params).score_many(["x"], [item])
