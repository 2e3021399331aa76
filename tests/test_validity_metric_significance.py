"""Paired item bootstrap for metrics that are not item means (ReaLMistake F1, HALoGEN ratios),
and the site's marks for them, on replayed published outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.replay import score_predictions
from harness.spec import load_specs
from leaderboards import db
from leaderboards.item_terms import ratio
from leaderboards.validity import significance as sig

N_BOOT = 300


def _independent_p(records_a, records_b, figure, n_boot, seed=0):
    """Resample the shared items with the same multinomial draws as the tested function and
    recompute the metric with the suite's own metric function on the resampled records."""
    shared = sorted(set(records_a["item_id"].astype(str)) & set(records_b["item_id"].astype(str)))
    records_a, records_b = (r.assign(item_id=r["item_id"].astype(str)) for r in (records_a, records_b))
    ra = records_a.set_index("item_id").loc[shared].reset_index()
    rb = records_b.set_index("item_id").loc[shared].reset_index()
    n = len(shared)
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    diffs = []
    for c in counts:
        idx = np.repeat(np.arange(n), c)
        fa, fb = figure(ra.iloc[idx]), figure(rb.iloc[idx])
        if not (np.isnan(fa) or np.isnan(fb)):
            diffs.append(fa - fb)
    diffs = np.array(diffs)
    # the suite computes F1 as 2PR / (P + R): two equal F1s can differ in the last bit there
    diffs[np.abs(diffs) < 1e-12] = 0.0
    return min(1.0, 2 * min((diffs <= 0).mean(), (diffs >= 0).mean())), figure(ra) - figure(rb)


@pytest.fixture(scope="module")
def realmistake_site(tmp_path_factory):
    """One ReaLMistake task, simple prompt 1 of every detector, in a database."""
    from tests.conftest import data_path
    preds = data_path("realmistake/detector_predictions.csv.gz")
    data_path("realmistake/data.zip")
    tmp = tmp_path_factory.mktemp("rm")
    spec = load_specs()["realmistake_mathgen_gpt4"]
    def variant(r) -> str:  # run directory names are hashed slugs: read the variant itself
        return str(r.read_metadata().get("variant") or "")

    runs = [r for r in score_predictions(spec, preds, tmp / "runs")
            if variant(r).startswith("simple_prompt_baseline")
            and variant(r).endswith("baseline_errordetection_prompt_1")]
    conn = db.connect(tmp / "lb.sqlite")
    for r in runs:
        db.ingest(conn, r.path)
    return conn, runs, spec


def test_metric_bootstrap_of_the_mean_is_the_item_bootstrap(realmistake_site):
    _, runs, _ = realmistake_site
    a, b = (r.read_records()["score"].to_numpy(float) for r in runs[:2])
    ones = np.ones(len(a))
    got = sig.paired_metric_bootstrap({"num": a, "den": ones}, {"num": b, "den": ones}, ratio,
                                      n_boot=2000, seed=3)
    ref = sig.paired_bootstrap(a, b, n_boot=2000, seed=3)
    assert got["p_value"] == ref["p_value"]
    assert got["diff"] == pytest.approx(ref["diff"], abs=1e-12)


def test_realmistake_f1_marks_equal_resampled_upstream_f1(realmistake_site, monkeypatch):
    from leaderboards.site import build
    from suites.realmistake.metrics import realmistake_detection
    conn, runs, spec = realmistake_site
    monkeypatch.setattr(build, "N_BOOT", N_BOOT)
    col = build._columns(conn)[spec.name]
    assert col.task["primary_metric"] == "f1" and not col.note
    order = col.ranking()
    assert len(col.tests) == len(order) - 1  # every adjacent pair tested
    by_label = {}
    for r in runs:
        meta = r.read_metadata()
        by_label[f"{meta['model']['name']}/{meta['variant']}"] = r.read_records()
    f1 = lambda rec: realmistake_detection(rec)["f1"]  # noqa: E731
    for a, t in col.tests.items():
        assert t["test"] == "paired bootstrap of f1 over items"
        p, diff = _independent_p(by_label[a], by_label[t["next"]], f1, N_BOOT)
        assert t["p"] == pytest.approx(p, abs=1e-12)
        assert diff == pytest.approx(col.cells[a]["score"] - col.cells[t["next"]]["score"],
                                     abs=1e-12)
    # adjacent detectors are within noise on 140 items; the best and the worst are not
    assert not any(t["distinct"] for t in col.tests.values())
    from leaderboards.item_terms import reducer, run_terms
    paths = {f"{r.read_metadata()['model']['name']}/{r.read_metadata()['variant']}": r.path
             for r in runs}
    (best, how), (worst, _) = (run_terms(paths[m], spec.name, "f1") for m in (order[0], order[-1]))
    res = sig.paired_metric_bootstrap({k: best[k].to_numpy() for k in best},
                                      {k: worst[k].to_numpy() for k in worst}, reducer(how),
                                      n_boot=N_BOOT)
    assert res["p_value"] < 0.01 and res["diff"] > 0


def test_site_shows_f1_marks(realmistake_site, tmp_path):
    from genrank.cli import main
    conn, _, spec = realmistake_site
    path = conn.execute("PRAGMA database_list").fetchone()[2]
    assert main(["site", "-o", str(tmp_path / "site"), "--db", path]) == 0
    index = (tmp_path / "site" / "index.html").read_text()
    realmistake = index[index.index('id="realmistake"'):]
    assert 'class="sep">›</span>' in realmistake or 'class="same">≈</span>' in realmistake
    assert "paired bootstrap of f1 over items" in realmistake


def test_halogen_ratio_marks_equal_resampled_halogen_scores(tmp_path, monkeypatch):
    from suites.halogen.metrics import halogen_scores
    from tests.conftest import data_path
    from leaderboards.site import build
    spec = load_specs()["halogen_rationalization_numerical"]
    folder = data_path("halogen/model_hallucinations/rationalization_numerical")
    runs = score_predictions(spec, folder, tmp_path / "runs")
    conn = db.connect(tmp_path / "lb.sqlite")
    for r in runs:
        db.ingest(conn, r.path)
    monkeypatch.setattr(build, "N_BOOT", 100)
    col = build._columns(conn)[spec.name]
    assert not col.note and len(col.tests) == len(col.ranking()) - 1
    metric = col.task["primary_metric"]
    records = {r.read_metadata()["model"]["name"]: r.read_records() for r in runs}
    a = col.ranking()[0]
    t = col.tests[a]
    figure = lambda rec: halogen_scores(rec).get(metric, np.nan)  # noqa: E731
    p, diff = _independent_p(records[a], records[t["next"]], figure, 100)
    assert t["p"] == pytest.approx(p, abs=1e-12)
    assert diff == pytest.approx(col.cells[a]["score"] - col.cells[t["next"]]["score"],
                                 abs=1e-12)
