#!/usr/bin/env bash
# GPU check for the vllm backend (needs a CUDA machine with `pip install 'genrank[vllm]'`).
#   bash benchmarks/gpu_check.sh [MODEL] [TASK] [LIMIT]
# 1. genrank run, hf backend;  2. genrank run, vllm backend (end to end, fresh cache);
# 3. raw vllm LLM.generate on the same prompts and sampling params;
# prints throughput(genrank vllm) / throughput(raw vllm) (goal >= 0.95) and hf/vllm greedy agreement.
set -euo pipefail
MODEL=${1:-smollm2-135m}; TASK=${2:-scan_simple}; LIMIT=${3:-512}
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
export GENRANK_DATA=${GENRANK_DATA:-$(cd .. && pwd)/shared/data}
GENRANK_CACHE=$WORK/c-hf   $PY -m genrank.cli run --model "$MODEL"      --task "$TASK" --limit "$LIMIT" -o "$WORK/hf" --name hf --no-progress
GENRANK_CACHE=$WORK/c-vllm $PY -m genrank.cli run --model "vllm:$MODEL" --task "$TASK" --limit "$LIMIT" -o "$WORK/vllm" --name vllm --no-progress
GENRANK_CACHE=$WORK/c-raw $PY - "$MODEL" "$TASK" "$LIMIT" "$WORK" <<'PYEOF'
import json, sys, time
from pathlib import Path
from harness.backends.models import resolve_model
from harness.runner import RunOptions, plan
from harness.runstore import RunDir
from harness.spec import load_specs, select
model, task, limit, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
(p,) = plan(select(load_specs(), tasks=[task]), RunOptions(limit=limit))
meta = RunDir(work / "vllm" / "vllm").read_metadata()
t_genrank = meta["history"][-1]["seconds"]  # generation + scoring + writing, model loaded
from harness.backends.vllm import VLLMBackend
b = VLLMBackend(model)  # the same engine args genrank used
params = [b.sampling_params(p.config) for _ in p.prompts]
b.llm.generate(p.prompts[:8], params[:8], use_tqdm=False)  # warm-up, as genrank's load did
start = time.perf_counter()
b.llm.generate(p.prompts, params, use_tqdm=False)
t_raw = time.perf_counter() - start
hf = RunDir(work / "hf" / "hf").read_records(task)["prediction"].tolist()
vl = RunDir(work / "vllm" / "vllm").read_records(task)["prediction"].tolist()
agree = sum(a == c for a, c in zip(hf, vl)) / len(hf)
print(json.dumps({"items": len(p.prompts), "genrank_vllm_s": t_genrank, "raw_vllm_s": round(t_raw, 3),
                  "throughput_ratio_genrank_over_raw": round(t_raw / t_genrank, 3),
                  "goal": ">= 0.95", "greedy_agreement_hf_vs_vllm": round(agree, 3)}, indent=1))
PYEOF
