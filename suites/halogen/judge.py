"""LLM-judge verifier for the domains whose knowledge the project cannot hold offline
(biographies, references, simplification, summarization).

The judge is the run's ``--judge`` model (any model string), a model role handed to
the verifier by the runner. It lists the response's atomic facts, one per line as
``| fact | True |`` or ``| fact | False |`` (HALoGEN's own table format), judged
against the source the spec's prompt shows it (the passage for simplification and
summarization; the judge's own knowledge for biographies and references).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import jinja2

from harness.errors import GenrankError
from harness.registry import verifier
from harness.types import GenerationConfig, Item, Score
from suites.halogen.rules import is_abstained
from suites.halogen.verify import HalogenVerifier

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


@lru_cache(maxsize=16)
def _template(text: str) -> jinja2.Template:
    return _ENV.from_string(text)


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
    """Params: ``domain``, ``prompt`` (jinja2 over ``response`` and the item's fields),
    ``max_new_tokens`` and ``chat_template`` (the judge's generation settings). The
    judge itself is the run's ``--judge`` model, handed over as a :class:`Judge`."""

    name = "halogen_judge"
    source = "judge"
    needs_judge = True

    def judge_config(self) -> GenerationConfig:
        """The judge's decoding settings: greedy, the spec's token limit and template."""
        return GenerationConfig(max_new_tokens=int(self.params.get("max_new_tokens", 256)),
                                chat_template=bool(self.params.get("chat_template", False)))

    def judge_prompt(self, response: str, item: Item) -> str:
        if "prompt" not in self.params:
            raise GenrankError("the judge verifier needs a prompt", field="verifier.prompt")
        return _template(self.params["prompt"]).render(response=response, **item.fields)

    def score_many(self, predictions: Sequence[str], items: Sequence[Item],
                   evidence: Sequence[dict | None] | None = None) -> list[Score]:
        """Published evidence is scored as published; an abstained or empty response
        needs no judge; every other response is judged (one batch for all of them)."""
        ev = list(evidence) if evidence is not None else [None] * len(items)
        responses = [p or "" for p in predictions]
        out: list[Score | None] = [
            self.from_evidence(e) if e else
            self.finish(r, [], []) if is_abstained(r) or not r.strip() else None
            for r, e in zip(responses, ev)]
        todo = [i for i, s in enumerate(out) if s is None]
        if todo:
            if self.judge is None:
                raise GenrankError("this task's verifier asks an LLM judge: pass --judge MODEL",
                                   field="--judge")
            prompts = [self.judge_prompt(responses[i], items[i]) for i in todo]
            for i, text in zip(todo, self.judge.ask(prompts, self.judge_config())):
                units, bad = parse_judgement(text)
                s = self.finish(responses[i], units, bad)
                s.detail["judge_output"] = text
                out[i] = s
        return out  # type: ignore[return-value]

    def score_new(self, prediction: str, item: Item) -> Score:
        return self.score_many([prediction], [item])[0]
