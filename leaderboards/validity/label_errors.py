"""Label-error screening with confident learning (cleanlab's ``find_label_issues``).

A test item whose gold label disagrees with what the models confidently agree on is more likely a
wrong label than a hard item ("Pervasive Label Errors in Test Sets Destabilize ML Benchmarks").
Inputs are out-of-sample predicted probabilities, or model-vote distributions built from runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import GenrankError


def find_issues(labels: np.ndarray, pred_probs: np.ndarray, *,
                filter_by: str = "prune_by_noise_rate", n_jobs: int | None = 1) -> np.ndarray:
    """Boolean mask of likely label errors; probabilities are clipped to [0, 1] first.

    (Published probability files carry float noise such as 1.00001, which cleanlab rejects.)
    cleanlab is imported here, only when screening runs.
    """
    try:
        from cleanlab.filter import find_label_issues
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise GenrankError("label-error screening needs the 'cleanlab' package "
                           "(pip install 'genrank[validity]')") from exc
    probs = np.clip(np.asarray(pred_probs, float), 0.0, 1.0)
    return find_label_issues(np.asarray(labels).astype(int), probs, filter_by=filter_by,
                             n_jobs=n_jobs)


def _load_array(path: str | Path, field: str) -> np.ndarray:
    """A .npy array, or a CSV/TSV of numbers (no header) -- one clear error otherwise."""
    path = Path(path)
    if not path.is_file():
        raise GenrankError("file not found", file=str(path), field=field)
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        return np.loadtxt(path, delimiter="\t" if path.suffix == ".tsv" else ",", ndmin=1)
    except Exception as exc:  # noqa: BLE001 - any parse failure is one input problem
        raise GenrankError(f"cannot read array: {exc}", file=str(path), field=field) from exc


def read_label_problem(probs_path: str | Path, labels_path: str | Path
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities) from files, checked: n x K finite probabilities in [0, 1]
    (up to float noise), n integer labels in 0..K-1."""
    probs = _load_array(probs_path, "--probs")
    labels = _load_array(labels_path, "--labels")
    if probs.ndim != 2 or probs.shape[1] < 2 or not np.issubdtype(probs.dtype, np.number):
        raise GenrankError(f"expected an items x classes matrix, got shape {probs.shape}",
                           file=str(probs_path), field="--probs")
    probs = probs.astype(float)
    if not np.isfinite(probs).all() or probs.min() < -1e-3 or probs.max() > 1 + 1e-3:
        raise GenrankError("probabilities must be finite and within [0, 1]",
                           file=str(probs_path), field="--probs")
    if labels.ndim != 1 or len(labels) != len(probs):
        raise GenrankError(f"expected {len(probs)} labels (one per row of --probs), got shape "
                           f"{labels.shape}", file=str(labels_path), field="--labels")
    if not np.issubdtype(labels.dtype, np.number) or (labels != np.round(labels)).any() or (
            labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise GenrankError(f"labels must be class indices 0..{probs.shape[1] - 1}",
                           file=str(labels_path), field="--labels")
    return labels.astype(int), probs


def label_issue_table(labels: np.ndarray, probs: np.ndarray, flags: np.ndarray) -> pd.DataFrame:
    """The flagged items, least confident in their given label first."""
    idx = np.flatnonzero(flags)
    clipped = np.clip(probs, 0.0, 1.0)
    out = pd.DataFrame({"index": idx, "given_label": labels[idx],
                        "predicted_label": clipped[idx].argmax(1),
                        "given_label_prob": clipped[idx, labels[idx]],
                        "predicted_label_prob": clipped[idx].max(1)})
    return out.sort_values(["given_label_prob", "index"], ignore_index=True)


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


SCREEN_COLUMNS = ["task", "item_id", "gold", "consensus", "share", "n_voters", "n_models",
                  "method"]


def run_answers(items: pd.DataFrame) -> pd.DataFrame:
    """Each run's answer per item, from genrank records (``load_items(..., columns=[...])``).

    A correct answer (score 1) counts as the gold label itself, so that answers and gold compare
    under the verifier's own normalisation; any other answer is the verifier's ``extracted`` text
    (the prediction when nothing was extracted), and an empty one is no vote. Tasks without
    targets (open-ended generation judged otherwise) are left out.
    """
    df = items[items["target"].notna() & (items["target"].astype(str).str.strip() != "")]
    raw = df["extracted"] if "extracted" in df.columns else df["prediction"]
    if "prediction" in df.columns:
        raw = raw.where(raw.notna() & (raw.astype(str) != ""), df["prediction"])
    answer = raw.astype("string").where(df["score"] < 1, df["target"].astype("string"))
    return pd.DataFrame({"task": df["task"], "item_id": df["item_id"].astype(str),
                         "model": df["model"], "voter": df["run"],
                         "answer": answer.replace("", pd.NA),
                         "target": df["target"].astype(str)})


def consensus(answers: pd.DataFrame) -> pd.DataFrame:
    """Per item: gold, the most common answer and its share of all voters (empty answers count
    in the denominator, not as an answer)."""
    keys = ["task", "item_id"]
    size = answers.groupby(keys).agg(gold=("target", "first"), n_voters=("voter", "nunique"),
                                     n_models=("model", "nunique"))
    votes = (answers.dropna(subset=["answer"]).groupby([*keys, "answer"]).size()
             .rename("votes").reset_index().sort_values([*keys, "votes", "answer"],
                                                        ascending=[True, True, False, True]))
    top = votes.drop_duplicates(keys).set_index(keys)
    out = size.join(top[["answer", "votes"]], how="left").reset_index()
    out["share"] = out["votes"].fillna(0) / out["n_voters"]
    return out.rename(columns={"answer": "consensus"}).drop(columns="votes")


def screen_runs(items: pd.DataFrame, *, min_share: float = 0.5, min_voters: int = 3,
                max_classes: int = 20, filter_by: str = "prune_by_noise_rate") -> pd.DataFrame:
    """Items whose gold label the runs contradict, per task.

    Categorical tasks (at most ``max_classes`` distinct answers) go through cleanlab on the
    model-vote distributions; open-ended tasks have too many distinct answers for a confident
    joint, so there an item is flagged when more than ``min_share`` of the runs give the same
    answer and it is not the gold one. Returns ``task, item_id, gold, consensus, share,
    n_voters, n_models, method``, most confident first.
    """
    answers = run_answers(items)
    frames = []
    for task, ans in answers.groupby("task", sort=True):
        cons = consensus(ans)
        cons = cons[cons["n_voters"] >= min_voters]
        if cons.empty:
            continue
        n_classes = ans["answer"].dropna().nunique() + 1
        if n_classes <= max_classes and len(cons) >= n_classes:
            votes = ans.rename(columns={"answer": "prediction"})
            votes = votes[votes["item_id"].isin(cons["item_id"])]
            flagged = set(screen_votes(votes, filter_by=filter_by)["item_id"].astype(str))
            hit = cons[cons["item_id"].isin(flagged)].assign(method="cleanlab")
        else:
            hit = cons[(cons["share"] > min_share) & cons["consensus"].notna()
                       & (cons["consensus"] != cons["gold"])].assign(method="consensus")
        frames.append(hit)
    if not frames:
        return pd.DataFrame(columns=SCREEN_COLUMNS)
    out = pd.concat(frames, ignore_index=True)[SCREEN_COLUMNS]
    return out.sort_values(["share", "task", "item_id"], ascending=[False, True, True],
                           ignore_index=True)
