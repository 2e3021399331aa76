#!/usr/bin/env bash
# `make demo`: a small, real leaderboard in a few minutes on a laptop CPU.
# The bundled SmolLM2-135M answers multiple-choice questions by log-likelihood (ARC, WinoGrande:
# it scores above zero) and a few PCFG SET items, and is placed among published systems replayed
# on the same items (PCFG SET's three architectures x 3 runs, HALoGEN's 14 models). Then the
# leaderboard CSV, a look at a few answers, and a static site. With no data mirror it runs
# genrank's own SCAN-grammar tasks. Re-running resumes: nothing is generated twice.
set -euo pipefail
G=${GENRANK:-genrank}
OUT=${DEMO_OUT:-runs}
LIMIT=${LIMIT:-20}          # items per multiple-choice task
GEN_LIMIT=${GEN_LIMIT:-8}   # items per generation task (the same items for every system)
DATA=${GENRANK_DATA:-}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # oversubscribed threads are 6-11x slower here
have() { [ -n "$DATA" ] && [ -e "$DATA/$1" ]; }

if have easy2hard/sources/arc_challenge; then
  $G run --model smollm2-135m --task e2h_src_arc_challenge,e2h_src_winogrande \
    --limit "$LIMIT" --skip-missing-data -o "$OUT"
fi
if have pcfgset/model_predictions; then
  $G run --model smollm2-135m --task pcfgset_test --limit "$GEN_LIMIT" -o "$OUT"
  for arch in lstms2s convs2s transformer; do
    $G score --task pcfgset_test --model-name "$arch" --limit "$GEN_LIMIT" -o "$OUT" \
      --predictions "$DATA/pcfgset/model_predictions/$arch/pcfgset/"
  done
fi
if have halogen/model_hallucinations; then  # 14 published models, every item (replay is fast)
  $G score --task halogen_rationalization_binary -o "$OUT" \
    --predictions "$DATA/halogen/model_hallucinations/"
fi
if ! have pcfgset/model_predictions; then
  echo "no data mirror at GENRANK_DATA='$DATA': genrank's own SCAN-grammar tasks only"
  $G run --model smollm2-135m --task scangen_simple,scangen_length --limit "$GEN_LIMIT" -o "$OUT"
fi
$G leaderboard "$OUT" -o "$OUT/leaderboard.csv"
$G view "$OUT/smollm2-135m" --limit 3 --width 140
$G ingest "$OUT" --db "$OUT/leaderboard.sqlite" --csv-dir "$OUT/tables" --site "$OUT/site"
echo "leaderboard: $OUT/leaderboard.csv   site: $OUT/site/index.html"
