"""The shared half of every HALoGEN verifier: scoring published evidence.

A replayed row carries upstream's verified atomic units; a new generation does not,
and the subclass decomposes and verifies it (offline knowledge or an LLM judge).
"""

from __future__ import annotations

from harness.registry import Verifier
from harness.types import Item, Score
from suites.halogen.rules import UNIT_PARSERS, judge_row, literal_units


class HalogenVerifier(Verifier):
    """Score = the response's utility; detail.rows = [[abstained, rate, utility], ...]."""

    source = "verifier"

    @property
    def domain(self) -> str:
        return self.params["domain"]

    def score(self, prediction: str, item: Item, evidence: dict | None = None) -> Score:
        if evidence:
            return self.from_evidence(evidence)
        return self.score_new(prediction, item)

    def from_evidence(self, evidence: dict) -> Score:
        if evidence.get("absent"):
            return Score(0.0, None, {"absent": True, "rows": [], "source": "published"})
        parse = UNIT_PARSERS[self.domain]
        rows = []
        for ev in evidence["rows"]:
            units, halluc = parse(ev)
            gold = (literal_units(ev["true_answer"])
                    if self.domain == "rationalization_numerical" else None)
            rows.append(list(judge_row(self.domain, ev["response"], units, halluc,
                                       verified_response=ev.get("verified_response", ""),
                                       gold=gold, category=ev.get("category", ""))))
        return Score(rows[0][2], "abstained" if rows[0][0] else None,
                     {"rows": rows, "source": "published"})

    def finish(self, response: str, units: list, hallucinated: list, **kw) -> Score:
        abstained, rate, utility = judge_row(self.domain, response, units, hallucinated, **kw)
        return Score(utility, "abstained" if abstained else None,
                     {"rows": [[abstained, rate, utility]], "source": self.source,
                      "atomic_units": [str(u) for u in units],
                      "hallucinated_atomic_units": [str(u) for u in hallucinated]})

    def score_new(self, prediction: str, item: Item) -> Score:  # pragma: no cover - abstract
        raise NotImplementedError
