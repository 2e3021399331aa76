"""From a pool, a strategy and options to a measured split (what ``genrank split`` runs)."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from harness import registry
from harness.splits import strategies, trees
from harness.splits.bags import Bags
from harness.splits.divergence import SplitMeasure, measure
from harness.splits.pool import Pool
from harness.splits.strategies import Split, SplitError, SplitOptions
from harness.types import Item


def parser_for(dataset: str, kind: str) -> tuple[Callable[[Item], object] | None, str]:
    """The registered parser (``kind`` = mcd or tmcd), TMCD's bracketed-target fallback."""
    fn = registry.SPLIT_PARSERS.get(f"{kind}:{dataset}")
    if fn is not None:
        return fn, f"{dataset} {kind} parser"
    if kind == "tmcd":
        return (lambda it: trees.parse_brackets(it.target)), "bracketed target tree"
    return None, ""


class Decomposed:
    """Atoms and compounds of every pool item, as sparse bags."""

    def __init__(self, items: Sequence[Item], parse: Callable[[Item], object]) -> None:
        parsed = [parse(it) for it in items]
        self.atoms = Bags.build(trees.atoms(t) for t in parsed)
        self.compounds = Bags.build(trees.compounds(t) for t in parsed)


def decompose(pool: Pool, kind: str, *, strict: bool, ctx: dict) -> tuple[Decomposed, str]:
    """Parse every item; ``strict`` (mcd/tmcd) turns a missing parser into an error,
    otherwise surface words and word pairs stand in (and the report says so)."""
    fn, how = parser_for(pool.dataset, kind)
    if fn is not None:
        try:
            return Decomposed(pool.items, fn), how
        except (ValueError, IndexError, KeyError) as exc:
            if strict:
                raise SplitError(f"cannot parse the items for {kind}: {exc}",
                                 file=ctx["dataset"], task=f"strategy {kind}",
                                 field="DATASET") from None
    if strict:
        raise SplitError(f"no {kind} parser for dataset {pool.dataset!r} (parsers exist for: "
                         f"{', '.join(sorted({k.split(':', 1)[1] for k in registry.SPLIT_PARSERS}))})",
                         file=ctx["dataset"], task=f"strategy {kind}", field="--strategy")
    d = Decomposed.__new__(Decomposed)
    words = [str(it.fields.get("input", it.target)).split() for it in pool.items]
    d.atoms = Bags.build(words)
    d.compounds = Bags.build([f"{a} {b}" for a, b in zip(w, w[1:])] for w in words)
    return d, "surface words (atoms) and word pairs (compounds): no parser for this dataset"


def measure_split(dec: Decomposed, n_items: int, split: Split) -> SplitMeasure:
    counts_train = np.bincount(split.train, minlength=n_items)
    counts_test = np.bincount(split.test, minlength=n_items)
    # an item is on one side only; repeats weigh it (primitive copies)
    in_test = counts_test > 0
    weights = np.where(in_test, counts_test, counts_train).astype(float)
    return measure(dec.atoms, dec.compounds, in_test, weights)


def make_split(pool: Pool, strategy: str, opts: SplitOptions) -> tuple[Split, SplitMeasure, str]:
    ctx = {"dataset": pool.name, "strategy": strategy}
    if strategy not in strategies.STRATEGIES:
        raise SplitError(f"unknown strategy (known: {', '.join(strategies.STRATEGIES)})",
                         file=pool.name, task=f"strategy {strategy}", field="--strategy")
    if len(pool.items) < 2:
        raise SplitError("the dataset has fewer than 2 items", file=pool.name,
                         task=f"strategy {strategy}", field="DATASET")
    if opts.size is not None and opts.size < len(pool.items):
        keep = np.sort(np.random.default_rng(opts.seed).choice(len(pool.items), opts.size,
                                                               replace=False))
        pool.items = [pool.items[i] for i in keep]
    kind = "tmcd" if strategy == "tmcd" else "mcd"
    dec, how = decompose(pool, kind, strict=strategy in ("mcd", "tmcd"), ctx=ctx)
    if strategy in ("mcd", "tmcd"):
        split = strategies.divergence_split(pool.items, opts, ctx, dec.atoms, dec.compounds,
                                            tmcd=strategy == "tmcd")
    else:
        fn = getattr(strategies, f"{strategy}_split")
        split = fn(pool.items, opts, ctx)
    return split, measure_split(dec, len(pool.items), split), how
