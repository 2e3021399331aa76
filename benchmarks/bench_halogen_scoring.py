"""Time the replay of all 126 published HALoGEN files (14 models x 9 domains).

Scores every file through `genrank score`'s path (reader, verifier, metrics, run
directories in a temporary folder), prints each domain's time and the total, and
compares the figures with published_scores/ where they exist.

    GENRANK_DATA=../shared/data python benchmarks/bench_halogen_scoring.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GENRANK_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))

from harness.data import data_root  # noqa: E402
from harness.replay import score_predictions  # noqa: E402
from harness.spec import load_specs  # noqa: E402

#: upstream's results file per domain
RESULTS = {"biographies": "biographies", "code": "code", "false_presupposition": "false_presupposition",
           "historical_events": "historical", "rationalization_binary": "rationalization_binary",
           "rationalization_numerical": "rationalization_numerical", "references": "references",
           "simplification": "simplification", "summarization": "summarization"}
FIGURES = ("hallucination_score", "response_ratio", "utility_score")


def replay_all(out: Path) -> tuple[dict, dict, int]:
    """{domain: {model: scores}}, {domain: seconds}, responses scored."""
    from suites.halogen.data import LAYOUT
    specs = {s.loader_params["domain"]: s for s in load_specs().values() if s.suite == "halogen"}
    scores, times, responses = {}, {}, 0
    for domain, spec in sorted(specs.items()):
        t0 = time.perf_counter()
        folder = data_root() / "halogen" / "model_hallucinations" / LAYOUT[domain][1]
        runs = score_predictions(spec, folder, out)
        times[domain] = time.perf_counter() - t0
        scores[domain] = {r.read_metadata()["model"]["name"]: r.read_scores()[spec.name]
                          for r in runs}
        responses += int(sum(s["n_responses"] for s in scores[domain].values()))
    return scores, times, responses


def compare(scores: dict) -> tuple[int, float]:
    """(published cells compared, largest absolute difference)."""
    from suites.halogen.data import MODEL_ALIASES
    cells, worst = 0, 0.0
    for domain, stem in RESULTS.items():
        path = data_root() / "halogen" / "published_scores" / f"{stem}_results.json"
        if not path.exists():
            continue
        for model, figs in json.loads(path.read_text()).items():
            ours = scores[domain][MODEL_ALIASES.get(model.lower(), model.lower())]
            for f in FIGURES:
                cells += 1
                worst = max(worst, abs(ours[f] - figs[f]))
    return cells, worst


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        scores, times, responses = replay_all(Path(tmp))
        total = time.perf_counter() - t0
    for domain, sec in times.items():
        print(f"{domain:28s} {sec:6.2f} s  ({len(scores[domain])} models)")
    print(f"total: {sum(len(v) for v in scores.values())} files, {responses} responses, "
          f"{total:.2f} s")
    cells, worst = compare(scores)
    print(f"published cells reproduced: {cells}, max abs difference {worst:.3g}")


if __name__ == "__main__":
    main()
