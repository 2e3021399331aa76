"""Items as bags of atoms or compounds, stored sparse (CSR) so a 100k pool stays small.

Every analysis here is a pass over these arrays: no item-by-item dictionaries in the
inner loops and no pair matrices, so memory grows with the pool size only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np


@dataclass
class Bags:
    """Row i holds item i's units: ``ids[indptr[i]:indptr[i+1]]`` with their ``counts``."""

    indptr: np.ndarray
    ids: np.ndarray
    counts: np.ndarray
    vocab: list[str]

    @classmethod
    def build(cls, rows: Iterable[Iterable[str]]) -> "Bags":
        index: dict[str, int] = {}
        indptr, ids, counts = [0], [], []
        for row in rows:
            local: dict[int, int] = {}
            for unit in row:
                j = index.setdefault(unit, len(index))
                local[j] = local.get(j, 0) + 1
            ids.extend(local)
            counts.extend(local.values())
            indptr.append(len(ids))
        vocab = [""] * len(index)
        for unit, j in index.items():
            vocab[j] = unit
        return cls(np.asarray(indptr, np.int64), np.asarray(ids, np.int64),
                   np.asarray(counts, np.float64), vocab)

    @property
    def n_items(self) -> int:
        return len(self.indptr) - 1

    @property
    def row_of(self) -> np.ndarray:
        """The item each stored entry belongs to."""
        return np.repeat(np.arange(self.n_items), np.diff(self.indptr))

    def totals(self, mask: np.ndarray | None = None, weights: np.ndarray | None = None
               ) -> np.ndarray:
        """Unit counts summed over the items in ``mask`` (or weighted by ``weights``)."""
        w = np.ones(self.n_items) if weights is None else np.asarray(weights, float)
        if mask is not None:
            w = w * np.asarray(mask, float)
        return np.bincount(self.ids, weights=self.counts * w[self.row_of],
                           minlength=len(self.vocab))

    def row_sums(self, values: np.ndarray) -> np.ndarray:
        """Per item, the sum of ``values`` over its stored entries (empty rows give 0)."""
        out = np.zeros(self.n_items)
        nonempty = np.diff(self.indptr) > 0
        if len(values):
            out[nonempty] = np.add.reduceat(values, self.indptr[:-1][nonempty])
        return out

    def row_mins(self, values: np.ndarray, empty: float = np.inf) -> np.ndarray:
        out = np.full(self.n_items, empty)
        nonempty = np.diff(self.indptr) > 0
        if len(values):
            out[nonempty] = np.minimum.reduceat(values, self.indptr[:-1][nonempty])
        return out
