"""Split strategies: which items of a pool go to training and which to test.

Each strategy takes the pool's items and the options and returns a :class:`Split` of
item indices (training may repeat an item, as SCAN's add-primitive files repeat the
primitive). A strategy that cannot be applied raises :class:`SplitError`, naming the
option at fault; the command turns it into one error line before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from harness.errors import GenrankError
from harness.types import Item


class SplitError(GenrankError):
    """A strategy that cannot be applied to this dataset with these options."""


@dataclass
class SplitOptions:
    seed: int = 0
    #: draw this many items of the pool first (seeded), e.g. to split a large pool quickly
    size: int | None = None
    test_size: float = 0.2
    #: length: "input" or "output" tokens; threshold (test = longer) or quantile
    length_of: str = "output"
    threshold: int | None = None
    quantile: float | None = None
    #: template: regex over the input (word-bounded) held out; drop: regex removed from both
    pattern: str | None = None
    drop: str | None = None
    #: primitive: word(s) seen in training only alone, repeated to this share of training
    primitive: str | None = None
    primitive_share: float = 0.1
    #: mcd/tmcd
    train_size: float | None = 0.5
    atom_max: float = 0.02
    compound_target: float | None = None
    max_rounds: int = 5000
    #: difficulty: thirds of the rating; hard items kept back as hard exemplars
    rating_field: str = "difficulty"
    exemplar_share: float = 0.2


@dataclass
class Split:
    train: np.ndarray
    test: np.ndarray
    #: extra exemplar pools (difficulty: easy, medium, hard), by name
    exemplars: dict[str, np.ndarray] = field(default_factory=dict)
    #: what the strategy computed on the way (threshold used, search stats...)
    info: dict = field(default_factory=dict)


def _fail(message: str, ctx: dict, option: str) -> SplitError:
    return SplitError(message, file=ctx["dataset"], task=f"strategy {ctx['strategy']}",
                      field=option)


def _check(split: Split, ctx: dict, option: str) -> Split:
    if not len(split.train) or not len(split.test):
        side = "training" if not len(split.train) else "test"
        raise _fail(f"the split leaves the {side} side empty", ctx, option)
    return split


def _rng(opts: SplitOptions) -> np.random.Generator:
    return np.random.default_rng(opts.seed)


def _shuffled(idx: np.ndarray, opts: SplitOptions) -> np.ndarray:
    return _rng(opts).permutation(np.asarray(idx, np.int64))


def random_split(items: Sequence[Item], opts: SplitOptions, ctx: dict) -> Split:
    if not 0 < opts.test_size < 1:
        raise _fail("--test-size must be a fraction between 0 and 1", ctx, "--test-size")
    order = _shuffled(np.arange(len(items)), opts)
    cut = int(round(len(items) * (1 - opts.test_size)))
    return _check(Split(order[:cut], order[cut:]), ctx, "--test-size")


def _lengths(items: Sequence[Item], opts: SplitOptions, ctx: dict) -> np.ndarray:
    if opts.length_of not in ("input", "output"):
        raise _fail("--length-of must be input or output", ctx, "--length-of")
    if opts.length_of == "output":
        return np.array([len(it.target.split()) for it in items])
    if not all("input" in it.fields for it in items):
        raise _fail("items have no 'input' field to measure", ctx, "--length-of")
    return np.array([len(str(it.fields["input"]).split()) for it in items])


def length_split(items: Sequence[Item], opts: SplitOptions, ctx: dict) -> Split:
    """Test = items longer than the threshold (SCAN's length split: outputs > 22 actions)."""
    lengths = _lengths(items, opts, ctx)
    if opts.threshold is not None:
        threshold, option = opts.threshold, "--threshold"
    elif opts.quantile is not None:
        if not 0 < opts.quantile < 1:
            raise _fail("--quantile must be between 0 and 1", ctx, "--quantile")
        threshold, option = float(np.quantile(lengths, opts.quantile)), "--quantile"
    else:
        raise _fail("the length strategy needs --threshold or --quantile", ctx, "--threshold")
    test = lengths > threshold
    split = Split(_shuffled(np.flatnonzero(~test), opts), _shuffled(np.flatnonzero(test), opts),
                  info={"threshold": threshold, "length_of": opts.length_of})
    return _check(split, ctx, option)


def _matcher(pattern: str, ctx: dict, option: str) -> Callable[[str], bool]:
    try:
        rx = re.compile(rf"(?<!\S){pattern}(?!\S)")
    except re.error as exc:
        raise _fail(f"invalid pattern: {exc}", ctx, option) from None
    return lambda text: rx.search(text) is not None


def _inputs(items: Sequence[Item]) -> list[str]:
    return [str(it.fields.get("input", it.fields)) for it in items]


def template_split(items: Sequence[Item], opts: SplitOptions, ctx: dict) -> Split:
    """Hold out every item whose input matches ``pattern`` (SCAN's "around right").

    ``drop`` removes items from both sides first, as SCAN's template files leave out the
    commands with "turn around right".
    """
    if not opts.pattern:
        raise _fail("the template strategy needs --pattern", ctx, "--pattern")
    hit = _matcher(opts.pattern, ctx, "--pattern")
    gone = _matcher(opts.drop, ctx, "--drop") if opts.drop else (lambda _: False)
    inputs = _inputs(items)
    kept = np.array([not gone(s) for s in inputs])
    test = np.array([hit(s) for s in inputs]) & kept
    if not test.any():
        raise _fail(f"the pattern {opts.pattern!r} matches no item", ctx, "--pattern")
    return _check(Split(_shuffled(np.flatnonzero(kept & ~test), opts),
                        _shuffled(np.flatnonzero(test), opts),
                        info={"dropped": int((~kept).sum())}), ctx, "--pattern")


def primitive_split(items: Sequence[Item], opts: SplitOptions, ctx: dict) -> Split:
    """The primitive appears in training only alone, repeated to ``primitive_share`` of the
    training file (SCAN's add-primitive files: 1,467 of 14,670 lines are "jump"); every
    other item using it is test."""
    if not opts.primitive:
        raise _fail("the primitive strategy needs --primitive", ctx, "--primitive")
    hit = _matcher(re.escape(opts.primitive), ctx, "--primitive")
    inputs = _inputs(items)
    alone = np.array([s.strip() == opts.primitive for s in inputs])
    uses = np.array([hit(s) for s in inputs]) & ~alone
    if not alone.any():
        raise _fail(f"no item is the primitive {opts.primitive!r} alone", ctx, "--primitive")
    if not uses.any():
        raise _fail(f"no item uses the primitive {opts.primitive!r}", ctx, "--primitive")
    if not 0 <= opts.primitive_share < 1:
        raise _fail("--primitive-share must be in [0, 1)", ctx, "--primitive-share")
    others = np.flatnonzero(~uses & ~alone)
    copies = max(1, int(round(len(others) * opts.primitive_share / (1 - opts.primitive_share))))
    train = np.concatenate([others, np.repeat(np.flatnonzero(alone)[:1], copies)])
    return _check(Split(_shuffled(train, opts), _shuffled(np.flatnonzero(uses), opts),
                        info={"primitive_copies": copies}), ctx, "--primitive")


def divergence_split(items: Sequence[Item], opts: SplitOptions, ctx: dict,
                     atoms, compounds, *, tmcd: bool) -> Split:
    """MCD (atom divergence kept under ``atom_max``) or TMCD (only every test atom seen)."""
    from harness.splits.mcd import search

    n = len(items)
    if not 0 < opts.test_size < 1:
        raise _fail("--test-size must be a fraction between 0 and 1", ctx, "--test-size")
    start = _rng(opts).random(n) < opts.test_size
    min_train = None
    if opts.train_size is not None:
        if not 0 < opts.train_size <= 1 - opts.test_size:
            raise _fail("--train-size must be in (0, 1 - test size]", ctx, "--train-size")
        min_train = int(round(n * opts.train_size))
    result = search(atoms, compounds, start, seed=opts.seed,
                    atom_max=None if tmcd else opts.atom_max,
                    compound_target=opts.compound_target, max_rounds=opts.max_rounds,
                    min_train=min_train)
    unused = result.unused if result.unused is not None else np.zeros(n, bool)
    train = np.flatnonzero(~result.in_test & ~unused)
    split = Split(_shuffled(train, opts), _shuffled(np.flatnonzero(result.in_test), opts),
                  info={"rounds": result.rounds, "swaps": result.swaps,
                        "stopped": result.stopped, "left_out": int(unused.sum())})
    return _check(split, ctx, "--test-size")


def difficulty_split(items: Sequence[Item], opts: SplitOptions, ctx: dict) -> Split:
    """Thirds by rating: test on hard; exemplar pools easy, medium, and hard (a share of
    the hard third kept out of test), as Hase et al. compare easy and hard prompts."""
    field_ = opts.rating_field
    values = []
    for it in items:
        v = it.meta.get(field_) if field_ != "difficulty" else it.difficulty
        try:
            values.append(float(v) if v is not None else np.nan)
        except (TypeError, ValueError):
            values.append(np.nan)
    rating = np.array(values, float)
    rated = np.flatnonzero(~np.isnan(rating))
    if len(rated) < 6:
        raise _fail(f"items carry no rating field {field_!r} (use --rating-field, or "
                    "--difficulty-from RUNS for IRT difficulty)", ctx, "--rating-field")
    lo, hi = np.quantile(rating[rated], [1 / 3, 2 / 3])
    easy = rated[rating[rated] <= lo]
    medium = rated[(rating[rated] > lo) & (rating[rated] <= hi)]
    hard = _shuffled(rated[rating[rated] > hi], opts)
    k = int(round(len(hard) * opts.exemplar_share))
    hard_pool, test = hard[:k], hard[k:]
    split = Split(np.concatenate([easy, medium, hard_pool]), test,
                  exemplars={"easy": _shuffled(easy, opts), "medium": _shuffled(medium, opts),
                             "hard": hard_pool},
                  info={"rating_field": field_, "cuts": [float(lo), float(hi)]})
    for name, pool in split.exemplars.items():
        if not len(pool):
            option = "--exemplar-share" if name == "hard" else "--rating-field"
            raise _fail(f"the {name} exemplar pool is empty (ratings too few or too tied "
                        "to cut into thirds)", ctx, option)
    return _check(split, ctx, "--rating-field")


STRATEGIES = ("random", "length", "template", "primitive", "mcd", "tmcd", "difficulty")
