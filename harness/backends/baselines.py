"""Reference systems that need no GPU: ``baseline:retrieval``, ``baseline:copy``,
``baseline:oracle`` (alias ``baseline:scan-oracle``) and ``baseline:majority``.

They answer from a task's training side (its few-shot source, read whole), so a split
can be ranked on several systems in milliseconds. The runner calls :meth:`prepare` per
task; its return value (a hash of the training side) salts the cache keys, so the same
prompt under another split's training side is answered afresh.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

import numpy as np

from harness import registry
from harness.errors import GenrankError
from harness.types import GenerationConfig, Item, stable_hash

KINDS = {"retrieval": "retrieval", "copy": "copy", "oracle": "oracle",
         "scan-oracle": "oracle", "majority": "majority"}
VERSION = "1"


def item_text(item: Item) -> str:
    """The item's input (or, without one, its fields in order) as one string."""
    if "input" in item.fields:
        return str(item.fields["input"])
    return " ".join(str(v) for v in item.fields.values())


def _features(text: str) -> list[str]:
    words = text.split()
    return words + [f"{a}\x00{b}" for a, b in zip(words, words[1:])]


class NearestNeighbour:
    """Output of the most similar training input: Jaccard overlap of word and word-pair
    sets; ties go to the earlier training item. Sparse products, in blocks of queries."""

    def __init__(self, train: Sequence[Item]) -> None:
        from scipy import sparse

        self.vocab: dict[str, int] = {}
        self.targets = [it.target for it in train]
        self.matrix = self._encode([item_text(it) for it in train], grow=True)
        self.sizes = np.asarray(self.matrix.sum(axis=1)).ravel()
        self.sparse = sparse

    def _encode(self, texts: Sequence[str], grow: bool = False):
        from scipy import sparse

        rows, cols = [], []
        for i, text in enumerate(texts):
            feats = set(_features(text))
            for f in feats:
                j = self.vocab.get(f)
                if j is None and grow:
                    j = self.vocab[f] = len(self.vocab)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        data = np.ones(len(rows), np.float32)
        return sparse.csr_matrix((data, (rows, cols)), shape=(len(texts), max(len(self.vocab), 1)))

    def answer(self, texts: Sequence[str], block: int = 256) -> list[str]:
        out: list[str] = []
        sizes_q = [len(set(_features(t))) for t in texts]
        for start in range(0, len(texts), block):
            q = self._encode(texts[start:start + block])
            inter = (q @ self.matrix.T).toarray()
            union = np.asarray(sizes_q[start:start + block])[:, None] + self.sizes[None, :] - inter
            sim = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
            out += [self.targets[int(j)] for j in sim.argmax(axis=1)]
        return out


class BaselineBackend:
    """A deterministic reference system behind the Backend interface."""

    def __init__(self, which: str, **_: Any) -> None:
        if which not in KINDS:
            raise GenrankError(f"unknown baseline {which!r} (known: {', '.join(KINDS)})",
                               field="--model")
        self.which, self.kind_ = which, KINDS[which]
        self.kind, self.calls = "baseline", 0
        self.answers: dict[str, str] = {}

    def identity(self) -> dict[str, Any]:
        name = f"baseline:{self.which}"
        return {"name": name, "path": name, "content_hash": stable_hash([name, VERSION])[:16],
                "source": "baseline"}

    def settings(self) -> dict[str, Any]:
        return {"baseline": self.kind_, "version": VERSION}

    def prepare(self, plan) -> str | None:
        """Answer every item of the task now; returns the training side's hash (or None)."""
        from harness.items import fewshot_pool

        spec, items = plan.spec, plan.items
        texts = [item_text(it) for it in items]
        salt = None
        if self.kind_ == "copy":
            answers = texts
        elif self.kind_ == "oracle":
            tag = spec.tags.get("dataset")
            rule = registry.ORACLES.get(tag)
            if rule is None:
                raise GenrankError(f"no oracle for dataset {tag!r} (oracles: "
                                   f"{', '.join(sorted(registry.ORACLES)) or 'none'})",
                                   file=spec.file, task=spec.name, field="tags.dataset")
            answers = [rule(t) for t in texts]
        else:
            train = fewshot_pool(spec)
            if not train:
                raise GenrankError(f"baseline:{self.which} needs the task's training side "
                                   "(a few-shot source)", file=spec.file, task=spec.name,
                                   field="fewshot.source")
            salt = stable_hash([[item_text(it), it.target] for it in train])[:16]
            if self.kind_ == "majority":
                top = Counter(it.target for it in train).most_common(1)[0][0]
                answers = [top] * len(items)
            else:
                answers = NearestNeighbour(train).answer(texts)
        self.answers.update(zip(plan.prompts, answers))
        return salt

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[str]:
        self.calls += len(prompts)
        return [self.answers[p] for p in prompts]

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """The option equal to the baseline's answer scores 0, every other -1."""
        self.calls += len(pairs)
        return [0.0 if cont.strip() == self.answers.get(ctx, "").strip() else -1.0
                for ctx, cont in pairs]
