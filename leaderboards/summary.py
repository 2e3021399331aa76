"""The small score table `genrank run` and `genrank submit` end with: one model's tasks, each
with its metric and direction, score, 95% interval, items, and rank among the models compared."""

from __future__ import annotations

import math

import pandas as pd


def model_rows(table: pd.DataFrame, model: str) -> list[dict]:
    """One model's cells from a leaderboard table (``genrank leaderboard`` layout)."""
    if model not in set(table["model"]):
        return []
    row = table.set_index("model").loc[model]
    out = []
    for key in [c[:-len(":score")] for c in table.columns if c.endswith(":score")]:
        score = row.get(f"{key}:score")
        if score is None or (isinstance(score, float) and math.isnan(score)):
            continue
        higher = row.get(f"{key}:higher_is_better", True)
        out.append({"task": key, "metric": f"{row.get(f'{key}:metric') or 'score'} "
                                            f"{'↑' if bool(higher) else '↓'}",
                    "score": float(score), "ci_low": row.get(f"{key}:ci_low"),
                    "ci_high": row.get(f"{key}:ci_high"), "n": row.get(f"{key}:n_items"),
                    "rank": row.get(f"{key}:rank"),
                    "of": int(table[f"{key}:score"].notna().sum())})
    return out


def format_rows(rows: list[dict], with_rank: bool) -> str:
    head = ["task", "metric", "score", "95% interval", "items"] + (["rank"] if with_rank else [])
    body = []
    for r in rows:
        ci = ("" if r["ci_low"] is None or pd.isna(r["ci_low"])
              else f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
        cells = [r["task"], r["metric"], f"{r['score']:.4f}", ci,
                 "" if r["n"] is None or pd.isna(r["n"]) else str(int(r["n"]))]
        if with_rank:
            cells.append("" if pd.isna(r["rank"]) else f"{int(r['rank'])} of {r['of']}")
        body.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in body)) if body else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)) for cells in body]
    return "\n".join(lines)
