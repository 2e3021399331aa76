"""Name -> implementation tables that tasks.yaml refers to.

A suite registers its loaders, verifiers, metrics and prediction readers when
``suites.<name>`` is imported; the engine imports a suite only when a task of it
is used, so ``genrank tasks`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from harness.errors import GenrankError
from harness.types import GenerationConfig, Item, Score

if TYPE_CHECKING:
    from harness.roles import Judge

# loader(spec, data_root) -> list[Item]
LOADERS: dict[str, Callable[..., list[Item]]] = {}
# verifier class, constructed with the spec's verifier params
VERIFIERS: dict[str, type["Verifier"]] = {}
# metric(records_df, **params) -> dict[str, float]
METRICS: dict[str, Callable[..., dict[str, float]]] = {}
# reader(path, spec) -> DataFrame with prediction + (item_id | source) [+ model]
PREDICTION_READERS: dict[str, Callable[..., Any]] = {}
# `genrank split` pools a suite offers: name -> {"template": task, "sources": [source...]}
SPLIT_DATASETS: dict[str, dict[str, Any]] = {}
# "<mcd|tmcd>:<dataset tag>" -> item -> tree (harness.splits.trees) of its atoms and compounds
SPLIT_PARSERS: dict[str, Callable[[Item], Any]] = {}
# dataset tag -> input -> the right output (a rule interpreter), for ``baseline:oracle``
ORACLES: dict[str, Callable[[str], str]] = {}


class Verifier:
    """Turns one raw model output into a :class:`Score` for one item.

    Subclasses set ``name`` and implement :meth:`score`; batch verifiers (a sandbox
    running many programs, an LLM judge) override :meth:`score_many` instead.
    """

    name = "verifier"
    #: bump when scoring behaviour changes, so records know which rule scored them
    version = "1"
    #: True when scoring asks a judge model (the ``--judge`` model role)
    needs_judge = False

    def __init__(self, *, judge: "Judge | None" = None, **params: Any) -> None:
        self.params = params
        self.judge = judge

    def use_judge(self, judge: "Judge | None") -> None:
        """Hand over the run's judge (the runner does, before scoring)."""
        self.judge = judge

    def judge_config(self) -> GenerationConfig | None:
        """The judge's decoding settings, for verifiers that ask one."""
        return None

    def score(self, prediction: str, item: Item, evidence: dict | None = None) -> Score:
        """Score one output; ``evidence`` is what a replayed predictions file published
        beside the output (e.g. HALoGEN's verified atomic units), None for new outputs."""
        raise NotImplementedError  # pragma: no cover - abstract

    def score_many(self, predictions: Sequence[str], items: Sequence[Item],
                   evidence: Sequence[dict | None] | None = None) -> list[Score]:
        ev = evidence if evidence is not None else [None] * len(items)
        return [self.score(p, it, e) for p, it, e in zip(predictions, items, ev)]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "params": self.params}


def _register(table: dict, name: str):
    def deco(obj):
        if name in table and table[name] is not obj:
            raise RuntimeError(f"{name!r} registered twice")
        table[name] = obj
        return obj
    return deco


def loader(name: str):
    return _register(LOADERS, name)


def metric(name: str):
    return _register(METRICS, name)


def prediction_reader(name: str):
    return _register(PREDICTION_READERS, name)


def split_dataset(name: str, *, template: str, sources: list[dict[str, Any]]) -> None:
    """Offer a pool to ``genrank split``: the template task's loader over these sources."""
    _register(SPLIT_DATASETS, name)({"template": template, "sources": sources})


def split_parser(dataset: str, *kinds: str):
    """Register item -> tree for a dataset tag, for the ``mcd`` and/or ``tmcd`` strategies."""
    def deco(fn):
        for kind in kinds or ("mcd", "tmcd"):
            _register(SPLIT_PARSERS, f"{kind}:{dataset}")(fn)
        return fn
    return deco


def oracle(dataset: str):
    return _register(ORACLES, dataset)


def verifier(cls: type[Verifier]) -> type[Verifier]:
    _register(VERIFIERS, cls.name)(cls)
    return cls


def import_suite(suite: str) -> None:
    """Import ``suites.<suite>`` (and the engine's generic pieces) so they register."""
    importlib.import_module("harness.generic")
    if suite == "generic":  # tasks made only of the engine's own pieces (genrank split)
        return
    try:
        importlib.import_module(f"suites.{suite}")
    except ModuleNotFoundError as exc:
        if exc.name in (f"suites.{suite}", "suites"):
            raise GenrankError(f"unknown suite {suite!r} (no folder suites/{suite})",
                               field="suite") from None
        raise


def import_suites(suites: Iterable[str]) -> None:
    for suite in sorted(set(suites)):
        import_suite(suite)


def lookup(table: dict, kind: str, name: str, *, task: str | None = None,
           file: str | None = None) -> Any:
    try:
        return table[name]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise GenrankError(f"unknown {kind} {name!r} (known: {known})", file=file, task=task,
                           field=kind) from None
