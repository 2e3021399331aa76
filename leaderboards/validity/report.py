"""The validity report directory: CSVs, PNG plots and a short markdown/HTML summary."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from leaderboards.validity import aggregate, concordance, stability


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def cluster_order(mat: pd.DataFrame) -> list:
    """Rows/columns ordered by average-linkage clustering on 1 - tau, so benchmarks that agree
    sit together (undefined cells count as no agreement, for the ordering only)."""
    if len(mat) < 3:
        return list(mat.index)
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    dist = (1.0 - mat.to_numpy(float)).clip(0, 2)
    dist = np.where(np.isnan(dist), 1.0, dist)
    dist = (dist + dist.T) / 2
    np.fill_diagonal(dist, 0.0)
    return [mat.index[i] for i in leaves_list(linkage(squareform(dist, checks=False), "average"))]


def heatmap(mat: pd.DataFrame, path: Path, title: str) -> None:
    """Clustered tau matrix; undefined cells (too few shared models, no spread) are grey,
    apart from tau = 0 (white)."""
    plt = _plt()
    order = cluster_order(mat)
    mat = mat.loc[order, order]
    size = max(6, 0.18 * len(mat))
    fig, ax = plt.subplots(figsize=(size, size))
    cmap = plt.get_cmap("coolwarm").with_extremes(bad="#b8b8b8")
    im = ax.imshow(np.ma.masked_invalid(mat.to_numpy(float)), vmin=-1, vmax=1, cmap=cmap)
    ax.set_xticks(range(len(mat)), mat.columns, rotation=90, fontsize=6)
    ax.set_yticks(range(len(mat)), mat.index, fontsize=6)
    ax.set_title(f"{title} (clustered; grey = undefined)")
    fig.colorbar(im, ax=ax, shrink=0.6)
    _save(plt, fig, path)


def _save(plt, fig, path: Path) -> None:
    """Every report figure is laid out, written at the same resolution, and freed."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def zscore_bars(z: pd.DataFrame, path: Path) -> None:
    plt = _plt()
    z = z.dropna(subset=["z_score"]).sort_values("z_score")
    fig, ax = plt.subplots(figsize=(7, max(4, 0.16 * len(z))))
    ax.barh(z["benchmark"], z["z_score"], color=np.where(z["z_score"] < 0, "#c44", "#48c"))
    ax.tick_params(axis="y", labelsize=6)
    ax.set_xlabel("z-score of Kendall tau with the aggregate")
    ax.set_title("Each benchmark's agreement with the aggregate (z-score of Kendall tau)")
    _save(plt, fig, path)


def granularity_plot(summary: pd.DataFrame, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for strategy, g in summary.groupby("strategy"):
        ax.errorbar(g["k"], g["mean"], yerr=g["std"], marker="o", capsize=3, label=strategy)
    ax.set_xlabel("models in subset (k)")
    ax.set_ylabel("Kendall tau with the aggregate")
    ax.set_title("Agreement with the aggregate by model-subset size")
    ax.legend()
    _save(plt, fig, path)


def rank_interval_plot(ranks: pd.DataFrame, path: Path, task: str) -> None:
    plt = _plt()
    r = ranks.sort_values("rank")
    fig, ax = plt.subplots(figsize=(6, max(3, 0.25 * len(r))))
    ax.errorbar(r["rank"], range(len(r)), xerr=[r["rank"] - r["rank_lo"], r["rank_hi"] - r["rank"]],
                fmt="o", capsize=3)
    ax.set_yticks(range(len(r)), r["model"], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("rank (95 % item-bootstrap interval)")
    ax.set_title(f"Rank intervals on {task}")
    _save(plt, fig, path)


def curve_plot(curve: pd.DataFrame, path: Path, tasks: str) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, g in curve.groupby("model"):
        ax.plot(g["bin"], g["accuracy"], marker="o", label=str(model))
    ax.set_xlabel("difficulty bin (1 = easiest)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Easy to hard by IRT difficulty on {tasks}", fontsize=9)
    ax.legend(fontsize=6)
    _save(plt, fig, path)


def wide_report(wide: pd.DataFrame, out: Path, *, aggregate_scenarios: list[str] | None = None,
                reference_set: list[str] | None = None, n_boot: int = 1000,
                ks: list[int] | None = None, n_draws: int = 50, seed: int = 0) -> list[str]:
    """Concordance, aggregate agreement, granularity and W for a wide table; returns md lines.

    ``reference_set``: benchmarks the z-scores are standardised over (None: all of them);
    names not in the table are skipped and listed in the summary.
    """
    lines = [f"Table: {wide.shape[0]} models x {wide.shape[1]} benchmarks.", ""]
    pairs = concordance.pairwise(wide)
    pairs.to_csv(out / "pairwise_concordance.csv", index=False)
    heatmap(concordance.matrix(pairs), out / "kendall_tau_matrix.png", "Kendall tau-b")
    usable = pairs[pairs["n"] >= 5]
    lines += [f"- {len(pairs)} benchmark pairs, {len(usable)} with >= 5 shared models; "
              f"{concordance.summarize(usable)}; {concordance.summarize(usable, 'pearson_r')}."]
    scen = aggregate_scenarios or list(wide.columns)
    wa = aggregate.with_aggregate(wide, scen)
    wa.to_csv(out / "table_with_aggregate.csv")
    present = None if reference_set is None else [b for b in reference_set if b in wide.columns]
    z = aggregate.agreement_with_reference(wa, reference_set=present)
    lines += [_reference_line(reference_set, present, z)]
    ci = stability.reference_tau_intervals(wa, aggregate.AGGREGATE, n_boot=n_boot, seed=seed)
    z = z.merge(ci[["benchmark", "tau_lo", "tau_hi"]], on="benchmark", how="left")
    z.to_csv(out / "agreement_with_aggregate.csv", index=False)
    zscore_bars(z, out / "zscores.png")
    low = z.dropna(subset=["z_score"]).head(5)
    lines += [] if low.empty else ["- Least agreement with the aggregate (mean win rate over "
              f"{sum(s in wide.columns for s in scen)} scenarios): "
              + "; ".join(f"{r.benchmark} (tau {r.kendall_tau:.2f}, n {r.n}, z {r.z_score:.2f})"
                          for r in low.itertuples())]
    ks = ks or [k for k in (5, 10, 20, 40) if k <= len(wa)]
    draws = aggregate.granularity(wa, ks, n_draws=n_draws, seed=seed)
    if len(draws):
        draws.to_csv(out / "granularity_draws.csv", index=False)
        summ = aggregate.granularity_summary(draws)
        summ.to_csv(out / "granularity.csv", index=False)
        granularity_plot(summ, out / "granularity.png")
        lines += ["- Agreement by model-subset size: " + "; ".join(
            f"{r.strategy} k={r.k}: {r.mean:.2f}±{r.std:.2f}" for r in summ.itertuples())]
    block = stability.complete_block(wide, min_models=min(8, len(wide)))
    w = stability.kendall_w(wide[block])
    pd.DataFrame([{**w, "benchmarks": "; ".join(block)}]).to_csv(out / "kendall_w.csv",
                                                                   index=False)
    lines += [f"- Kendall's W = {w['W']:.3f} over {w['n_models']} models scored by all of "
              f"{len(block)} benchmarks ({', '.join(block)})."]
    return lines


def _reference_line(reference_set: list[str] | None, present: list[str] | None,
                    z: pd.DataFrame) -> str:
    """Which benchmarks the z-scores are standardised over, and which listed ones are absent."""
    used = int((z["in_reference"] & z["kendall_tau"].notna()).sum())
    if z["z_score"].isna().all():
        return ("- No z-scores: fewer than two benchmarks have a defined tau with the aggregate "
                "(at least 5 shared models and some spread).")
    if reference_set is None:
        return f"- z-scores standardised over all {used} benchmarks with a defined tau."
    missing = [b for b in reference_set if b not in (present or [])]
    return (f"- z-scores standardised over the reference set: {used} of {len(reference_set)} "
            "listed benchmarks with a defined tau (plus the benchmark under test)"
            + (f"; skipped, not in the table: {', '.join(missing)}" if missing else "") + ".")


#: rows of a CSV shown in summary.html (the CSV beside it has them all)
HTML_ROWS = 200


def write_summary(out: Path, title: str, lines: list[str]) -> None:
    """summary.md, and summary.html with the same lines, every CSV as a table (missing values
    shown as "undefined", not as 0) and every plot."""
    md = "\n".join([f"# {title}", "", *lines, ""])
    (out / "summary.md").write_text(md, encoding="utf-8")
    pngs = sorted(p.name for p in out.glob("*.png"))
    body = "".join(f"<p>{html.escape(ln)}</p>" for ln in lines if ln)
    tables = "".join(_html_table(p) for p in sorted(out.glob("*.csv")))
    imgs = "".join(f'<h3>{html.escape(p)}</h3><img src="{p}" alt="{html.escape(p)}" '
                   'style="max-width:100%">' for p in pngs)
    style = ("<style>body{font:14px system-ui,sans-serif;margin:20px}table{border-collapse:"
             "collapse;font-size:12px;margin-bottom:8px}td,th{border:1px solid #ddd;padding:2px 6px;"
             "text-align:right}td.t,th.t{text-align:left}td.na{color:#999;font-style:italic}"
             "details{margin:6px 0}</style>")
    (out / "summary.html").write_text(
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>{style}"
        f"<h1>{html.escape(title)}</h1>{body}<h2>Tables</h2>{tables}<h2>Plots</h2>{imgs}",
        encoding="utf-8")


def _html_table(path: Path) -> str:
    df = pd.read_csv(path)
    shown = df.head(HTML_ROWS)
    head = "".join(f"<th class=t>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for rec in shown.itertuples(index=False):
        cells = []
        for v in rec:
            if v is None or (isinstance(v, float) and np.isnan(v)):
                cells.append("<td class=na>undefined</td>")
            elif isinstance(v, float):
                cells.append(f"<td>{v:.4g}</td>")
            else:
                cells.append(f"<td class=t>{html.escape(str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (f"<p>{len(df) - HTML_ROWS} more rows in <a href='{path.name}'>{path.name}</a>.</p>"
            if len(df) > HTML_ROWS else "")
    return (f"<details{' open' if len(df) <= 40 else ''}><summary><a href='{path.name}'>"
            f"{path.name}</a> ({len(df)} rows)</summary><table><tr>{head}</tr>"
            f"{''.join(rows)}</table>{more}</details>")


def respondents(items: pd.DataFrame) -> pd.DataFrame:
    """Items with one respondent per run: ``model@seed`` where a model has several seeds, so
    that IRT sees 0/1 answers instead of seed averages."""
    seeds = items.groupby("model")["seed"].transform("nunique")
    tag = np.where(seeds > 1, "@" + items["seed"].astype(str), "")
    return items.assign(model=items["model"].astype(str) + tag)


def split_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Per task and model: the metric's mean over seeds with its range (the figures compared)."""
    g = scores.groupby(["task", "model", "metric"])["value"]
    return pd.DataFrame({"mean": g.mean(), "min": g.min(), "max": g.max(),
                         "n_seeds": g.count()}).reset_index()


def items_report(scores: pd.DataFrame, items: pd.DataFrame, out: Path, *, n_boot: int = 1000,
                 n_sim: int = 2000, irt_model: str = "2pl", seed: int = 0,
                 skip: frozenset[str] = frozenset()) -> list[str]:
    """Seed-pooled concordance, rank stability, significance, IRT/Glicko difficulty and
    label-error screening from runs.

    ``scores``: one oriented value per run and task (``inputs.primary_scores``), larger better.
    ``skip``: sections left out (``stability``, ``significance``, ``irt``, ``labels``).
    """
    from leaderboards.validity import significance

    lines: list[str] = []
    sc = scores.assign(seed=scores["seed"].fillna(0))
    split_scores(sc).to_csv(out / "split_scores.csv", index=False)
    metrics = ", ".join(f"{t}: {m}" for t, m in sc.groupby("task")["metric"].first().items())
    lines += [f"Runs: {sc['model'].nunique()} models x {sc['task'].nunique()} tasks, "
              f"{sc['seed'].nunique()} seed(s); compared metric per task ({metrics}); "
              "lower-is-better metrics negated.", ""]
    if sc["task"].nunique() > 1 and sc["model"].nunique() > 1:
        pooled = concordance.pooled_concordance(sc, n_sim=n_sim, seed=seed)
        pooled.to_csv(out / "pooled_concordance.csv", index=False)
        lines += ["Seed-pooled Kendall tau between tasks (95 % range under chance, from "
                  "permuting the models' seed blocks, in brackets; with several seeds, a "
                  "seed-bootstrap interval):"]
        lines += [_pooled_line(r) for r in pooled.itertuples()]
        undefined = int(pooled["undefined"].notna().sum())
        if undefined:
            lines += [f"- {undefined} of {len(pooled)} task pairs undefined (reasons above)."]
    if items.empty:
        return lines
    if "stability" not in skip:
        lines += _stability(items, out, n_boot=n_boot, seed=seed)
    binary = [t for t, g in items.groupby("task")["score"]
              if significance.is_binary(g.to_numpy())]
    if "significance" not in skip:
        lines += _significance(items, out, n_boot=n_boot, seed=seed)
    if "irt" not in skip:
        lines += _difficulty(items[items["task"].isin(binary)], out, irt_model, len(binary))
    if "labels" not in skip and "target" in items.columns:
        lines += _labels(items, out)
    return lines


def _pooled_line(r) -> str:
    """One pooled-concordance row as a summary line; an undefined tau says why, no p-value."""
    if isinstance(r.undefined, str):
        return f"- {r.a} vs {r.b}: undefined ({r.undefined})"
    test = "exact permutation" if r.exact else "permutation"
    seeds = ("" if np.isnan(r.tau_lo) else
             f", seed-bootstrap [{r.tau_lo:.2f}, {r.tau_hi:.2f}]")
    return (f"- {r.a} vs {r.b}: {r.pooled_tau:.3f} [{r.null_lo:.2f}, {r.null_hi:.2f}], "
            f"p = {r.p_value:.4f} ({test}, {r.n_models} models){seeds}, "
            f"{r.n_pairs} pooled pairs")


def _stability(items: pd.DataFrame, out: Path, *, n_boot: int, seed: int) -> list[str]:
    boot = stability.item_bootstrap(items, n_boot=n_boot, seed=seed)
    boot["ranks"].to_csv(out / "rank_intervals.csv", index=False)
    boot["taus"].to_csv(out / "task_tau_intervals.csv", index=False)
    last = boot["ranks"]["task"].iloc[-1]
    overall = boot["ranks"][boot["ranks"]["task"] == last]
    rank_interval_plot(overall, out / "rank_intervals.png", str(last))
    return []


def _significance(items: pd.DataFrame, out: Path, *, n_boot: int, seed: int) -> list[str]:
    from leaderboards.validity import significance

    boards, lines = [], []
    for task in sorted(items["task"].unique()):
        mat = stability.item_matrix(items, task)
        if len(mat) > 1:
            boards.append(significance.leaderboard(mat, n_boot=n_boot, seed=seed)
                          .assign(task=task))
    if boards:
        board = pd.concat(boards, ignore_index=True)
        board.to_csv(out / "significance_leaderboard.csv", index=False)
        lines += [f"- {int(board['distinct_from_next'].fillna(False).sum())} of "
                  f"{int(board['distinct_from_next'].notna().sum())} adjacent ranks are "
                  "distinguishable (BH-adjusted, alpha 0.05)."]
    return lines


def _difficulty(items: pd.DataFrame, out: Path, irt_model: str, n_binary: int) -> list[str]:
    """IRT and Glicko-2 on the tasks whose item scores are 0/1 (``items`` holds only those)."""
    from leaderboards.validity import glicko2, irt

    lines: list[str] = []
    resp = respondents(items)
    mat = irt.response_matrix(resp) if len(resp) else pd.DataFrame()
    if mat.shape[0] >= 2:
        fit = irt.fit(mat, irt_model)
        fit.items.to_csv(out / f"irt_{irt_model}_items.csv", index=False)
        fit.abilities.to_csv(out / f"irt_{irt_model}_abilities.csv", index=False)
        curve = irt.accuracy_by_difficulty(mat, fit.items.set_index("item_id")["difficulty"])
        curve.to_csv(out / "accuracy_by_difficulty.csv", index=False)
        curve_plot(curve, out / "easy_to_hard.png",
                   ", ".join(sorted(map(str, items["task"].unique()))))
        glicko = glicko2.rate_items(resp.assign(
            item_id=resp["task"].astype(str) + "/" + resp["item_id"].astype(str)), periods=5)
        glicko.to_csv(out / "glicko2_ratings.csv", index=False)
        lines += [f"- IRT {irt_model.upper()} on {mat.shape[0]} runs x {mat.shape[1]} items of "
                  f"the {n_binary} tasks with 0/1 item scores "
                  f"({'converged' if fit.converged else 'not converged'} in {fit.iterations} EM "
                  "iterations); Glicko-2 ratings with items as players in glicko2_ratings.csv."]
    elif not n_binary:
        lines += ["- No task has 0/1 item scores: IRT and Glicko-2 skipped."]
    return lines


def _labels(items: pd.DataFrame, out: Path) -> list[str]:
    """Items whose gold the runs contradict with one shared answer, to label_issues.csv."""
    from leaderboards.validity import label_errors

    flagged = label_errors.screen_runs(items)
    flagged.to_csv(out / "label_issues.csv", index=False)
    per = flagged.groupby("task").size()
    return [f"- Label-error screening: {len(flagged)} items whose gold answer the runs "
            "contradict with one shared answer (label_issues.csv)"
            + (": " + ", ".join(f"{t} {n}" for t, n in per.items()) if len(per) else "") + "."]
