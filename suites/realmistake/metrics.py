"""Error-detection metrics exactly as upstream's calculate_performance.py computes them.

Positive class = "error". Precision/recall/F1 use zero_division=0 and count an
unparsable verdict as negative; accuracy counts it as wrong.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.registry import metric


def detection_performance(gold: list[str], verdicts: list[str | None]) -> dict:
    """Upstream's get_performance for one (task, response model, detector, prompt)."""
    total = len(gold)
    y_true = [g == "error" for g in gold]
    y_pred = [v == "error" for v in verdicts]
    tp = sum(t and p for t, p in zip(y_true, y_pred))
    fp = sum((not t) and p for t, p in zip(y_true, y_pred))
    fn = sum(t and not p for t, p in zip(y_true, y_pred))
    tn = total - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    # sklearn's precision_recall_fscore_support (upstream used 1.4.1): F1 from counts,
    # 2 tp / (gold positives + predicted positives), which can differ from 2PR/(P+R) in the
    # last bit
    f1 = 2 * tp / (sum(y_true) + sum(y_pred)) if sum(y_true) + sum(y_pred) else 0.0
    correct = sum(v == g for g, v in zip(gold, verdicts))
    return {
        "total_num": total, "prediction_error_num": sum(y_pred), "gold_error_num": sum(y_true),
        "metrics": {"accuracy": correct / total, "precision": precision, "recall": recall,
                    "f1": f1, "true_negative_rate": tn / total,
                    "false_positive_rate": fp / total, "false_negative_rate": fn / total,
                    "true_positive_rate": tp / total},
    }


def _verdicts(records: pd.DataFrame) -> list[str | None]:
    return [v if isinstance(v, str) else None for v in records["extracted"]]


@metric("realmistake_detection")
def realmistake_detection(records: pd.DataFrame, **_) -> dict[str, float]:
    """F1/precision/recall/accuracy of error detection plus the confusion rates."""
    if records.empty:
        return {}
    perf = detection_performance(records["target"].tolist(), _verdicts(records))
    out = {k: float(v) for k, v in perf["metrics"].items()}
    out["unparsable_rate"] = float(sum(v is None for v in _verdicts(records)) / len(records))
    out["gold_error_rate"] = perf["gold_error_num"] / perf["total_num"]
    return out


def random_performance(gold: list[str]) -> dict:
    """Upstream's random detector (get_dataset_stats/easy_baseline.py): says 'error'
    with probability p = the gold error percentage / 100; expected confusion rates."""
    error_p = sum(g == "error" for g in gold) / len(gold) * 100 / 100
    tp, fp = error_p * error_p, (1 - error_p) * error_p
    tn, fn = (1 - error_p) * (1 - error_p), error_p * (1 - error_p)
    precision = tp / (tp + fp) if tp + fp != 0 else 0
    recall = tp / (tp + fn) if tp + fn != 0 else 0
    f1 = 2 * (precision * recall) / (precision + recall) if precision + recall != 0 else 0
    return {"metrics": {"accuracy": (tp + tn) / (tp + fp + tn + fn), "precision": precision,
                        "recall": recall, "f1": f1, "true_negative_rate": tn,
                        "false_positive_rate": fp, "false_negative_rate": fn,
                        "true_positive_rate": tp}}


def always_error_performance(gold: list[str]) -> dict:
    """Upstream's always-error detector: 'error' on every response."""
    return detection_performance(gold, ["error"] * len(gold))


def _baseline(records: pd.DataFrame, prefix: str, perf) -> dict[str, float]:
    if records.empty:
        return {}
    m = perf(records["target"].tolist())["metrics"]
    return {f"{prefix}_{k}": float(m[k]) for k in ("f1", "precision", "recall", "accuracy")}


@metric("realmistake_random_baseline")
def realmistake_random_baseline(records: pd.DataFrame, **_) -> dict[str, float]:
    """A detector answering 'error' at random with the gold error rate: P = R = F1 = rate."""
    return _baseline(records, "random", random_performance)


@metric("realmistake_always_error_baseline")
def realmistake_always_error_baseline(records: pd.DataFrame, **_) -> dict[str, float]:
    """A detector answering 'error' on every response: recall 1, precision = error rate."""
    return _baseline(records, "always_error", always_error_performance)


def detection_item_terms(records: pd.DataFrame, **_) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per item (numerator, denominator) of each detection figure: on any sample of items the
    figure is sum(num) / sum(den) (F1 = 2TP / (2TP + FP + FN)), so leaderboards can bootstrap
    and test it over items. A 0/0 sample is undefined here where upstream reports 0."""
    gold = (records["target"] == "error").to_numpy()
    verdicts = _verdicts(records)
    pred = np.array([v == "error" for v in verdicts], dtype=bool)
    tp, fp, fn = (gold & pred).astype(float), (~gold & pred).astype(float), (
        gold & ~pred).astype(float)
    correct = np.array([v == g for g, v in zip(records["target"], verdicts)], dtype=float)
    ones = np.ones(len(records))
    return {"f1": (2 * tp, 2 * tp + fp + fn), "precision": (tp, tp + fp),
            "recall": (tp, tp + fn), "accuracy": (correct, ones)}


realmistake_detection.item_terms = detection_item_terms
