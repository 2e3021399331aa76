"""The validity report a person opens: tables for pairwise results (undefined shown as such,
never as 0), a clustered heatmap order, and plots with titles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genrank.cli import main
from leaderboards.validity import concordance
from leaderboards.validity.report import cluster_order


def _wide(tmp_path):
    rng = np.random.default_rng(0)
    base = np.arange(8, dtype=float)
    wide = pd.DataFrame({
        "A": base, "C": -base + rng.normal(0, 0.1, 8), "B": base + rng.normal(0, 0.1, 8),
        "D": -base, "E": np.full(8, 0.5)}, index=[f"m{i}" for i in range(8)])
    path = tmp_path / "wide.csv"
    wide.rename_axis("model").reset_index().to_csv(path, index=False)
    return wide, path


def test_clustered_order_puts_agreeing_benchmarks_together(tmp_path):
    wide, _ = _wide(tmp_path)
    order = cluster_order(concordance.matrix(concordance.pairwise(wide)))
    assert abs(order.index("A") - order.index("B")) == 1
    assert abs(order.index("C") - order.index("D")) == 1


def test_summary_html_has_tables_and_marks_undefined(tmp_path):
    _, path = _wide(tmp_path)
    assert main(["validity", str(path), "-o", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "summary.html").read_text()
    assert "<table>" in page and "pairwise_concordance.csv" in page
    pairs = pd.read_csv(tmp_path / "report" / "pairwise_concordance.csv")
    undefined = pairs[(pairs["a"] == "e") | (pairs["b"] == "e")]  # names normalised
    assert undefined["kendall_tau"].isna().all() and len(undefined) == 4
    assert page.count("<td class=na>undefined</td>") >= 4
    assert "<img src=\"kendall_tau_matrix.png\"" in page
