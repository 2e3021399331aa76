"""Label-error screening with confident learning (cleanlab's ``find_label_issues``).

A test item whose gold label disagrees with what the models confidently agree on is more likely a
wrong label than a hard item ("Pervasive Label Errors in Test Sets Destabilize ML Benchmarks").
Inputs are out-of-sample predicted probabilities, or model-vote distributions built from runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.errors import GenrankError


def find_issues(labels: np.ndarray, pred_probs: np.ndarray, *,
                filter_by: str = "prune_by_noise_rate") -> np.ndarray:
    """Boolean mask of likely label errors; probabilities are clipped to [0, 1] first.

    (Published probability files carry float noise such as 1.00001, which cleanlab rejects.)
    """
    try:
        from cleanlab.filter import find_label_issues
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise GenrankError("label-error screening needs the 'cleanlab' package") from exc
    probs = np.clip(np.asarray(pred_probs, float), 0.0, 1.0)
    return find_label_issues(np.asarray(labels).astype(int), probs, filter_by=filter_by)


def vote_distribution(preds: pd.DataFrame, *, smoothing: float = 0.5) -> tuple[
        pd.Index, np.ndarray, np.ndarray, list]:
    """Per item, the share of models voting each class (additively smoothed).

    ``preds``: long ``item_id, model, prediction, target`` (categorical answers). Missing
    predictions count for no class. Returns (item ids, labels as class indices, probabilities,
    class list).
    """
    classes = sorted(set(preds["target"].dropna().astype(str))
                     | set(preds["prediction"].dropna().astype(str)))
    index = {c: k for k, c in enumerate(classes)}
    targets = preds.groupby("item_id")["target"].first().astype(str)
    counts = np.zeros((len(targets), len(classes)))
    row = {item: i for i, item in enumerate(targets.index)}
    valid = preds.dropna(subset=["prediction"])
    np.add.at(counts, (valid["item_id"].map(row).to_numpy(),
                       valid["prediction"].astype(str).map(index).to_numpy()), 1.0)
    probs = (counts + smoothing) / (counts.sum(1, keepdims=True) + smoothing * len(classes))
    labels = targets.map(index).to_numpy()
    return targets.index, labels, probs, classes


def screen_votes(preds: pd.DataFrame, *, filter_by: str = "prune_by_noise_rate",
                 smoothing: float = 0.5) -> pd.DataFrame:
    """Items flagged as possible label errors from model votes, with the majority answer."""
    items, labels, probs, classes = vote_distribution(preds, smoothing=smoothing)
    if len(classes) < 2 or len(items) < len(classes):
        return pd.DataFrame(columns=["item_id", "given", "models_say", "agreement"])
    flags = find_issues(labels, probs, filter_by=filter_by)
    top = probs.argmax(1)
    out = pd.DataFrame({"item_id": items, "given": [classes[k] for k in labels],
                        "models_say": [classes[k] for k in top],
                        "agreement": probs.max(1), "flagged": flags})
    return out[out["flagged"]].drop(columns="flagged").sort_values("agreement", ascending=False)
