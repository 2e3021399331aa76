"""LLM-judge verifier for the domains whose knowledge the project cannot hold offline
(biographies, references, simplification, summarization).

Any genrank backend judges: it lists the response's atomic facts, one per line as
``| fact | True |`` or ``| fact | False |`` (HALoGEN's own table format), judged
against the source the spec's prompt shows it (the passage for simplification and
summarization; the judge's own knowledge for biographies and references).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import jinja2

from harness.errors import GenrankError
from harness.registry import verifier
from harness.types import GenerationConfig, Item, Score
from suites.halogen.verify import HalogenVerifier

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


def parse_judgement(text: str) -> tuple[list[str], list[str]]:
    """(atomic facts, the ones judged False) from '| fact | True/False |' lines."""
    units, bad = [], []
    for line in (text or "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[-1].lower() in ("true", "false") and cells[0]:
            units.append(cells[0])
            if cells[-1].lower() == "false":
                bad.append(cells[0])
    return units, bad


@verifier
class HalogenJudge(HalogenVerifier):
    """Params: ``domain``, ``judge`` (a model spec for harness.backends.load_backend),
    ``prompt`` (jinja2 over ``response`` and the item's fields), ``max_new_tokens``."""

    name = "halogen_judge"
    source = "judge"

    @dataclass(frozen=True)
    class Params:
        domain: str
        judge: str = "default"
        prompt: str | None = None
        max_new_tokens: int = 256

    def __init__(self, backend=None, **params) -> None:
        super().__init__(**params)
        self._backend = backend

    @property
    def backend(self):
        if self._backend is None:
            try:
                from harness.backends import load_backend
            except ImportError:
                raise GenrankError("no model backend available for the LLM judge",
                                   field="verifier.judge") from None
            self._backend = load_backend(self.params.get("judge", "default"))
        return self._backend

    def judge_prompt(self, response: str, item: Item) -> str:
        if "prompt" not in self.params:
            raise GenrankError("the judge verifier needs a prompt", field="verifier.prompt")
        return _ENV.from_string(self.params["prompt"]).render(response=response, **item.fields)

    def score_many(self, predictions: Sequence[str], items: Sequence[Item],
                   evidence: Sequence[dict | None] | None = None) -> list[Score]:
        ev = list(evidence) if evidence is not None else [None] * len(items)
        out: list[Score | None] = [self.from_evidence(e) if e else None for e in ev]
        todo = [i for i, s in enumerate(out) if s is None]
        if todo:
            config = GenerationConfig(max_new_tokens=int(self.params.get("max_new_tokens", 256)),
                                      stop=())
            prompts = [self.judge_prompt(predictions[i] or "", items[i]) for i in todo]
            for i, text in zip(todo, self.backend.generate(prompts, config)):
                units, bad = parse_judgement(text)
                s = self.finish(predictions[i] or "", units, bad)
                s.detail["judge_output"] = text
                out[i] = s
        return out  # type: ignore[return-value]

    def score_new(self, prediction: str, item: Item) -> Score:
        return self.score_many([prediction], [item])[0]
