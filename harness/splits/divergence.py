"""Atom and compound divergence of a split (Keysers et al. 2020, "Measuring Compositional
Generalization", section 2.1).

D_A = 1 - C_0.5(F_A(train) || F_A(test)) and D_C = 1 - C_0.1(F_C(train) || F_C(test)),
where F is the normalised frequency of each atom (compound) over a side's items and
C_alpha(P || Q) = sum_k p_k^alpha q_k^(1 - alpha) is the Chernoff coefficient. The small
alpha for compounds makes D_C ask mainly whether test compounds occur in train at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from harness.splits.bags import Bags

ATOM_ALPHA = 0.5
COMPOUND_ALPHA = 0.1


def chernoff_divergence(train: np.ndarray, test: np.ndarray, alpha: float) -> float:
    """1 - sum p^alpha q^(1-alpha) over unit counts of the two sides (1.0 if a side is empty)."""
    s1, s2 = float(train.sum()), float(test.sum())
    if s1 <= 0 or s2 <= 0:
        return 1.0
    both = (train > 0) & (test > 0)
    sim = float(np.sum((train[both] / s1) ** alpha * (test[both] / s2) ** (1 - alpha)))
    return max(0.0, 1.0 - sim)


@dataclass
class SplitMeasure:
    n_train: int
    n_test: int
    atom_divergence: float
    compound_divergence: float
    #: distinct atoms of the test side that no training item has
    unseen_test_atoms: int
    #: test items holding at least one such atom
    test_items_with_unseen_atoms: int
    unseen_examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return (f"train {self.n_train}, test {self.n_test}; atom divergence "
                f"{self.atom_divergence:.4f}, compound divergence {self.compound_divergence:.4f}; "
                f"{self.unseen_test_atoms} test atoms unseen in training "
                f"({self.test_items_with_unseen_atoms} test items)")


def measure(atoms: Bags, compounds: Bags, in_test: np.ndarray,
            weights: np.ndarray | None = None) -> SplitMeasure:
    """Divergences of the split that puts items with ``in_test`` on the test side.

    ``weights`` counts an item several times (a training file that repeats an item).
    """
    in_test = np.asarray(in_test, bool)
    w = np.ones(len(in_test)) if weights is None else np.asarray(weights, float)
    a_train, a_test = atoms.totals(~in_test, w), atoms.totals(in_test, w)
    c_train, c_test = compounds.totals(~in_test, w), compounds.totals(in_test, w)
    unseen = (a_test > 0) & (a_train == 0)
    per_item = atoms.row_sums(unseen[atoms.ids].astype(float))
    names = [atoms.vocab[j] for j in np.flatnonzero(unseen)[:10]]
    return SplitMeasure(
        n_train=int(round(w[~in_test].sum())), n_test=int(round(w[in_test].sum())),
        atom_divergence=chernoff_divergence(a_train, a_test, ATOM_ALPHA),
        compound_divergence=chernoff_divergence(c_train, c_test, COMPOUND_ALPHA),
        unseen_test_atoms=int(unseen.sum()),
        test_items_with_unseen_atoms=int(((per_item > 0) & in_test).sum()),
        unseen_examples=names)
