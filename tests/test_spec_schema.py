"""Every malformed tasks.yaml is one `error:` line naming file, task and field, exit 2,
before any model work (issue 11 section 3), and no value anywhere in an entry makes the
parser or planner raise anything else (fuzzed with hypothesis)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import registry
from harness.errors import GenrankError
from harness.spec import load_specs, validate

ROOT = Path(__file__).resolve().parent.parent
GOOD = """\
defaults: {generation: {max_new_tokens: 8}}
tasks:
  - name: t1
    suite: compositional
    loader: scan_generated
    source: {split: simple, seed: 0}
    fewshot: {k: 2, seed: 1, source: {split: simple, seed: 0, part: train}}
    prompt: "IN: {{ input }}\\nOUT:"
    verifier: {name: exact_match, ignore_spaces: true}
    metrics: [accuracy, {name: accuracy_by_difficulty, bins: 3}]
    tags: {dataset: x, data: synthetic}
"""
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi")) + "tasks: [*i]\n"

CASES = {  # case: (tasks file text or bytes, what the error line must name)
    "generation-list": (GOOD.replace("defaults: {generation: {max_new_tokens: 8}}",
                                     "defaults: {}").replace("    tags:", "    generation: [1, 2]\n    tags:"),
                        "field=generation"),
    "tags-list": (GOOD.replace("tags: {dataset: x, data: synthetic}", "tags: [a]"),
                  "field=tags"),
    "defaults-list": (GOOD.replace("defaults: {generation: {max_new_tokens: 8}}",
                                   "defaults: [1, 2]"), "field=defaults"),
    "not-utf8": (GOOD.replace("IN:", "IN\u00e9:").encode("latin-1"), "not UTF-8"),
    "fewshot-k-word": (GOOD.replace("{k: 2, seed: 1,", "{k: many, seed: 1,"),
                       "field=fewshot.k"),
    "fewshot-int": (GOOD.replace("fewshot: {k: 2, seed: 1, source: {split: simple, seed: 0, "
                                 "part: train}}", "fewshot: 5"), "field=fewshot"),
    "source-path-int": (GOOD.replace("source: {split: simple, seed: 0}", "source: {path: 123}"),
                        "field=source.path"),
    "suite-path": (GOOD.replace("suite: compositional", "suite: ../../tmp"), "field=suite"),
    "max-new-tokens-word": (GOOD.replace("max_new_tokens: 8", "max_new_tokens: lots"),
                            "field=generation.max_new_tokens"),
    "verifier-typo": (GOOD.replace("ignore_spaces: true", "ignore_space: true"),
                      "field=verifier.ignore_space"),
    "verifier-type": (GOOD.replace("ignore_spaces: true", "ignore_spaces: yes please"),
                      "field=verifier.ignore_spaces"),
    "metric-typo": (GOOD.replace("bins: 3", "bin: 3"), "field=metrics.accuracy_by_difficulty.bin"),
    "lower-is-better-string": (GOOD.replace("    tags:", "    lower_is_better: 'false'\n    tags:"),
                               "field=lower_is_better"),
    "alias-bomb": (BOMB, "expands to over"),
    "source-typo": (GOOD.replace("source: {split: simple, seed: 0}",
                                 "source: {split: simple, sead: 0}"), "field=source.sead"),
    "source-type": (GOOD.replace("source: {split: simple, seed: 0}",
                                 "source: {split: simple, seed: zero}"), "field=source.seed"),
    "fewshot-source-typo": (GOOD.replace("part: train}", "prat: train}"),
                            "field=fewshot.source.prat"),
}


def genrank_run(tasks: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GENRANK_TASKS": str(tasks), "PYTHONPATH": str(ROOT)}
    # a model that does not exist: an error about it would mean planning let the task pass
    return subprocess.run([sys.executable, "-m", "genrank.cli", "run", "--task", "*", "--model",
                           str(out / "no-such-model"), "-o", str(out / "runs")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_tasks_file_is_one_error_line(tmp_path, case):
    text, expected = CASES[case]
    path = tmp_path / "tasks.yaml"
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    res = genrank_run(path, tmp_path)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 2 and len(lines) == 1, res.stderr[-1500:]
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert f"file={path}" in lines[0] and not (tmp_path / "runs").exists()
    if "field=" in expected and case != "defaults-list":
        assert "task=t1" in lines[0]


def test_huge_tasks_file_is_refused_fast(tmp_path):
    path = tmp_path / "tasks.yaml"
    with open(path, "w") as fh:
        fh.write(GOOD)
        fh.write("# padding\n" * (50 * 2**20 // 10))  # 50 MB of comments
    start = time.perf_counter()
    with pytest.raises(GenrankError, match="MiB; the limit is"):
        load_specs(path)
    assert time.perf_counter() - start < 1.0


def test_good_file_plans(tmp_path):
    path = tmp_path / "tasks.yaml"
    path.write_text(GOOD)
    spec = load_specs(path)["t1"]
    validate(spec)
    assert registry.make_verifier(spec).typed.ignore_spaces is True


# -- fuzzing: any value in any field is a clean error or a valid spec -----------------------

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from(["../../x", "simple", "exact_match", "accuracy"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=6) | st.sampled_from(["k", "seed", "path", "name", "source",
                                               "ignore_spaces", "bins"]), inner, max_size=3),
    max_leaves=8)
FIELDS = ["name", "suite", "loader", "source", "fewshot", "prompt", "generation", "verifier",
          "metrics", "tags", "version", "lower_is_better", "primary_metric", "loader_params",
          "output_type", "split", "description", "extra_field"]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(FIELDS), value=VALUES,
       nested=st.sampled_from([None, "source", "fewshot", "generation", "verifier"]))
def test_fuzzed_entries_fail_cleanly(tmp_path_factory, field, value, nested):
    import yaml

    doc = yaml.safe_load(GOOD)
    entry = doc["tasks"][0]
    if nested and isinstance(entry.get(nested), dict):
        entry[nested] = {**entry[nested], field: value}
    else:
        entry[field] = value
    path = tmp_path_factory.mktemp("fuzz") / "tasks.yaml"
    path.write_text(yaml.safe_dump(doc))
    try:
        for spec in load_specs(path).values():
            validate(spec)
            registry.make_verifier(spec)
    except GenrankError as exc:
        assert "\n" not in exc.line() and exc.line().startswith("error: ")


# -- backend options and model strings ---------------------------------------------------------

@pytest.mark.parametrize("model, options, field", [
    ("hf:/no/such/checkpoint", {"batch_sise": 4}, "--model-args.batch_sise"),
    ("/no/such/checkpoint", {"dtype": "fp8"}, "--model-args.dtype"),
    ("openai:http://127.0.0.1:9/v1#m", {"concurrency": "many"}, "--model-args.concurrency"),
    ("vllm:/no/such/checkpoint", {"tensor_parallel_size": 1.5}, "--model-args.tensor_parallel_size"),
])
def test_backend_option_typo_is_one_error_before_loading(model, options, field):
    from harness.backends import load_backend

    with pytest.raises(GenrankError) as err:
        load_backend(model, **options)
    assert err.value.field == field and "\n" not in err.value.line()


@pytest.mark.parametrize("text, backend, kind, target", [
    ("smollm2-135m", None, "hf", "smollm2-135m"),
    ("hf:org/model", None, "hf", "org/model"),
    ("vllm:/ckpt", None, "vllm", "/ckpt"),
    ("openai:http://h:1/v1#m", None, "openai", "http://h:1/v1#m"),
    ("/ckpt", "vllm", "vllm", "/ckpt"),
])
def test_one_parser_for_model_strings(text, backend, kind, target):
    from harness.backends import parse_model

    parsed = parse_model(text, backend)
    assert (parsed.kind, parsed.target) == (kind, target)
    with pytest.raises(GenrankError, match="contradicts"):
        parse_model("vllm:/ckpt", "openai")
