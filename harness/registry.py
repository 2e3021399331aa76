"""Name -> implementation tables that tasks.yaml refers to.

Suites are found through the ``genrank.suites`` entry points and register their
loaders, verifiers, metrics and prediction readers when imported. The first task that
needs one imports them all, once, so no lookup depends on which suite came first;
``genrank tasks`` imports none and stays fast. Names are unique across suites.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from harness.errors import GenrankError
from harness.params import check
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


@dataclass(frozen=True)
class NoParams:
    """The parameters of a component that takes none."""


class Verifier:
    """Turns one raw model output into a :class:`Score` for one item.

    Subclasses set ``name`` and implement :meth:`score`; batch verifiers (a sandbox
    running many programs, an LLM judge) override :meth:`score_many` instead.
    """

    name = "verifier"
    #: bump when scoring behaviour changes: it is part of the task version
    version = "1"
    #: the parameters tasks.yaml may give, as a dataclass (None: not yet declared, unchecked)
    Params: type | None = None
    #: True when scoring asks a judge model (the ``--judge`` model role)
    needs_judge = False

    def __init__(self, *, judge: "Judge | None" = None, **params: Any) -> None:
        if self.Params is not None:  # an unknown name or a wrong type: one error line
            self.typed = check(self.Params, params, field="verifier")
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
    """Register under a name unique across every suite: two suites that both define
    ``name`` stop at import with both places named (name one ``<suite>_<name>``)."""
    def deco(obj):
        if name in table and table[name] is not obj:
            first = table[name]
            raise RuntimeError(f"{name!r} registered twice: {first.__module__}."
                               f"{first.__qualname__} and {obj.__module__}.{obj.__qualname__}")
        table[name] = obj
        return obj
    return deco


def loader(name: str, *, source: type | None = None, params: type | None = None):
    """Register ``fn(spec, source) -> list[Item]``; ``source`` and ``params`` are the
    dataclasses its ``source:`` and ``loader_params:`` follow (checked by spec.validate)."""
    def deco(fn):
        fn.Source, fn.Params = source, params
        return _register(LOADERS, name)(fn)
    return deco


def metric(name: str, *, version: str = "1"):
    """Register ``fn(records, **params) -> {figure: value}``.

    Every metric also gives its figures as per-item terms (``@terms_of(fn)``), stored in
    the records, so analysis recomputes figures and intervals from the run store alone.
    Bump ``version`` when what it computes changes: it is part of the task version.
    """
    def deco(fn):
        fn.version = version
        return _register(METRICS, name)(fn)
    return deco


def terms_of(metric_fn):
    """Attach ``terms(records, **params) -> {figure: (num, den[, reducer])}`` to a metric:
    per item, a numerator and a denominator whose sums over any set of items give the
    figure (see harness.terms for the reducers)."""
    def deco(terms_fn):
        metric_fn.item_terms = terms_fn
        return terms_fn
    return deco


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


#: the entry-point group every suite registers under (pyproject.toml)
ENTRY_POINTS = "genrank.suites"


@lru_cache(maxsize=1)
def installed_suites() -> dict[str, str]:
    """Suite name -> module, from the ``genrank.suites`` entry points (read once).

    A source checkout whose package metadata predates the group falls back to the
    folders of the ``suites`` package, so a fresh clone still runs."""
    found = {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINTS)}
    if not found:
        spec = importlib.util.find_spec("suites")
        for mod in pkgutil.iter_modules(list(spec.submodule_search_locations) if spec else []):
            if mod.ispkg:
                found[mod.name] = f"suites.{mod.name}"
    return dict(sorted(found.items()))


@lru_cache(maxsize=1)
def load_suites() -> tuple[str, ...]:
    """Import every installed suite once, in name order: each table is complete before
    any task looks a name up, so what a task finds never depends on import order."""
    importlib.import_module("harness.generic")
    for module in installed_suites().values():
        importlib.import_module(module)
    return tuple(installed_suites())


def import_suite(suite: str) -> None:
    """Make sure ``suite`` is installed and every suite's components are registered;
    ``generic`` names tasks made only of the engine's own pieces (genrank split)."""
    if suite != "generic" and suite not in installed_suites():
        known = ", ".join(["generic", *installed_suites()])
        raise GenrankError(f"unknown suite {suite!r} (installed: {known})", field="suite")
    load_suites()


def import_suites(suites: Iterable[str]) -> None:
    for suite in sorted(set(suites)):
        import_suite(suite)


def make_verifier(spec, params: dict[str, Any] | None = None) -> Verifier:
    """The task's verifier (with ``params`` instead of the spec's, when given), its
    parameters checked; errors name the task and file."""
    cls = lookup(VERIFIERS, "verifier", spec.verifier.name, task=spec.name, file=spec.file)
    try:
        return cls(**(spec.verifier.params if params is None else params))
    except GenrankError as exc:
        raise GenrankError(exc.message, file=spec.file, task=spec.name, field=exc.field) from None


def lookup(table: dict, kind: str, name: str, *, task: str | None = None,
           file: str | None = None) -> Any:
    try:
        return table[name]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise GenrankError(f"unknown {kind} {name!r} (known: {known})", file=file, task=task,
                           field=kind) from None
