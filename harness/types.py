"""The typed pieces a task is composed of: items, generation settings, scores."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


def sha256_file(path) -> str:
    """sha256 of a file's bytes, read in blocks (weights and records can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def stable_hash(value: Any) -> str:
    """sha256 of a canonical JSON (or raw str) rendering; used for every content hash."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Item:
    """One test item, as a loader yields it.

    ``fields`` are what the prompt template sees (e.g. ``input``); ``target`` is the
    gold answer as a string (a JSON string when the answer is structured); ``meta``
    carries anything the verifier or the analysis needs (category, difficulty, ...).
    """

    id: str
    fields: dict[str, Any]
    target: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def difficulty(self) -> float | None:
        value = self.meta.get("difficulty")
        return None if value is None else float(value)


@dataclass(frozen=True)
class GenerationConfig:
    """Decoding settings; part of the cache key, so every field must be hashable data."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    chat_template: bool = False
    seed: int = 0
    #: lm-eval's --system_instruction: a system message under a chat template, else a preamble
    system_instruction: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature,
               "top_p": self.top_p, "stop": list(self.stop),
               "chat_template": self.chat_template, "seed": self.seed}
        if self.system_instruction is not None:  # absent: earlier cache keys stay valid
            out["system_instruction"] = self.system_instruction
        return out


@dataclass
class Score:
    """A verifier's verdict on one prediction.

    ``value`` is the item score in [0, 1] (1 = correct); ``extracted`` is what the
    verifier read from the raw output (answer, move, verdict...), None if nothing
    could be parsed; ``detail`` is free-form JSON-able evidence kept in the records.
    """

    value: float
    extracted: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
