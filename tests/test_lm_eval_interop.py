"""lm-eval interop, end to end with the real lm-eval 0.4.x and the bundled model.

`genrank export-lm-eval` -> `lm_eval --include_path` (hf model, 2 items) -> its score must
equal genrank's own on the same items; `genrank import-lm-eval` then puts lm-eval's
samples into the run store with the same predictions genrank's hf backend makes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from genrank.cli import main

pytestmark = [pytest.mark.model, pytest.mark.slow]
TASK, LIMIT, TOKENS = "scan_simple", 2, 8


def test_export_run_import_matches_genrank(tmp_path, isolated_cache, data_file):
    pytest.importorskip("lm_eval", reason="needs lm-eval (pip install 'genrank[lm-eval]')")
    data_file("scan/simple_split/tasks_test_simple.txt")
    from harness.backends.hf import HFBackend
    from harness.backends.models import resolve_model
    from harness.runner import RunOptions, plan, run_tasks
    from harness.runstore import RunDir
    from harness.spec import load_specs, select

    ref = resolve_model("smollm2-135m")
    assert main(["export-lm-eval", str(tmp_path / "tasks"), "--task", TASK, "--limit",
                 str(LIMIT), "--max-new-tokens", str(TOKENS)]) == 0
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    exe = Path(sys.executable).with_name("lm_eval")
    proc = subprocess.run(
        [str(exe), "--model", "hf", "--model_args", f"pretrained={ref.path},dtype=float32",
         "--device", "cpu", "--batch_size", "2", "--include_path", str(tmp_path / "tasks"),
         "--tasks", f"genrank_{TASK}", "--log_samples", "--output_path", str(tmp_path / "out")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (results,) = (tmp_path / "out").rglob("results_*.json")
    lm_score = json.loads(results.read_text())["results"][f"genrank_{TASK}"]["acc,none"]

    opts = RunOptions(limit=LIMIT, max_new_tokens=TOKENS, progress=False)
    plans = plan(select(load_specs(), tasks=[TASK]), opts)
    own, _ = run_tasks(HFBackend(ref, device="cpu", dtype="float32"), plans,
                       tmp_path / "runs", opts)
    assert lm_score == pytest.approx(own.read_scores()[TASK]["accuracy"])

    assert main(["import-lm-eval", str(tmp_path / "out"), "-o", str(tmp_path / "imported"),
                 "--model-name", "smol-lm-eval"]) == 0
    imported = RunDir(tmp_path / "imported" / "smol-lm-eval")
    assert imported.read_scores()[TASK]["accuracy"] == pytest.approx(lm_score)
    mine, theirs = own.read_records(TASK), imported.read_records(TASK)
    assert theirs["item_id"].tolist() == mine["item_id"].tolist()
    assert theirs["prompt"].tolist() == mine["prompt"].tolist()  # same rendered prompts
    assert theirs["prediction"].tolist() == mine["prediction"].tolist()  # same greedy outputs
    assert theirs["spec_hash"].tolist() == mine["spec_hash"].tolist()
