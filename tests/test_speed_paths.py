"""What a run does not do: load a model it never calls, import torch to print help.

Speed itself is measured by benchmarks/ (ratios in one command); these tests check the
behaviour that makes it fast, by counting model loads and imported modules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from genrank.cli import main
from harness.backends import LOADS
from harness.runstore import RunDir

TASK = "scangen_simple"
HEAVY = ("torch", "transformers", "pandas", "pyarrow", "scipy", "sklearn", "numpy")


def _run_args(model, out, *extra):
    return ["run", "--model", str(model), "--task", TASK, "--limit", "3", "--max-new-tokens",
            "6", "--no-progress", "-o", str(out), *extra]


def _imported_after(code: str, env: dict) -> set[str]:
    """Top-level modules a fresh interpreter holds after running ``code``."""
    probe = code + "\nimport sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    return set(json.loads(res.stdout.strip().splitlines()[-1]))


def test_rerun_and_cached_run_load_no_model(tiny_model_dir, tmp_path, isolated_cache, capsys):
    before = LOADS["hf"]
    assert main(_run_args(tiny_model_dir, tmp_path / "a", "--threads", "1")) == 0
    assert LOADS["hf"] == before + 1
    first = RunDir(tmp_path / "a" / tiny_model_dir.name)
    meta = first.read_metadata()
    assert meta["backend"]["threads"] == 1 and meta["backend"]["device"] == "cpu"
    assert meta["history"][-1]["threads"] == 1
    # the same run again (journal) and into a new folder (cache): no weights loaded
    assert main(_run_args(tiny_model_dir, tmp_path / "a")) == 0
    assert main(_run_args(tiny_model_dir, tmp_path / "b")) == 0
    assert LOADS["hf"] == before + 1
    out = capsys.readouterr().out
    assert "model calls 0" in out and "generated 0, cached 3" in out
    again = RunDir(tmp_path / "b" / tiny_model_dir.name).read_records(TASK)
    assert again["prediction"].tolist() == first.read_records(TASK)["prediction"].tolist()


def test_rerun_and_scored_submit_import_no_torch(tiny_model_dir, tmp_path, isolated_cache):
    env = {**os.environ, "GENRANK_CACHE": str(isolated_cache)}
    lb = ["--db", str(tmp_path / "lb.sqlite"), "--no-site", "--csv-dir", str(tmp_path)]
    submit = ["submit", str(tiny_model_dir), "--task", TASK, "--limit", "3",
              "--max-new-tokens", "6", "--device", "cpu", "-o", str(tmp_path / "runs"), *lb]
    assert main(submit) == 0
    run = _run_args(tiny_model_dir, tmp_path / "runs")
    for argv in (run, submit):
        code = f"from genrank.cli import main\nassert main({argv!r}) == 0"
        loaded = _imported_after(code, env)
        assert not loaded & {"torch", "transformers", "sklearn"}, argv[0]


@pytest.mark.parametrize("argv", [["--help"], ["tasks"], ["run", "--help"]])
def test_help_and_tasks_import_nothing_heavy(argv):
    code = ("from genrank.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass"
            % (argv,))
    loaded = _imported_after(code, dict(os.environ))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_journal_append_reads_only_the_tail(tmp_path, monkeypatch):
    import builtins

    run = RunDir(tmp_path)
    run.append_journal("t", [{"item_id": str(i), "pad": "x" * 1000} for i in range(2000)])
    read = []

    class Counting:
        def __init__(self, fh):
            self.fh = fh

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.fh.__exit__(*exc)

        def read(self, n=-1):
            data = self.fh.read(n)
            read.append(len(data))
            return data

    real_open = builtins.open
    monkeypatch.setattr("harness.runstore.open",
                        lambda *a, **k: Counting(real_open(*a, **k)), raising=False)
    run.append_journal("t", [{"item_id": "new"}])  # 2 MB journal, whole last line
    assert sum(read) <= 1
    with real_open(run.journal_path("t"), "a") as fh:
        fh.write('{"item_id": "torn", "pad": "' + "y" * 200_000)  # torn over 3+ blocks
    run.append_journal("t", [{"item_id": "after"}])
    monkeypatch.undo()
    assert sum(read) < 300_000
    done = run.read_journal("t")
    assert len(done) == 2002 and "torn" not in done and "after" in done


def test_journal_that_is_one_torn_line(tmp_path):
    run = RunDir(tmp_path)
    run.journal_path("t").parent.mkdir(parents=True)
    run.journal_path("t").write_text('{"item_id": "a"' + " " * 100_000)
    run.append_journal("t", [{"item_id": "b"}])
    assert list(run.read_journal("t")) == ["b"]


def test_records_read_by_column(tmp_path):
    import pandas as pd

    run = RunDir(tmp_path)
    rows = [{"task": "t", "item_id": f"i{k}", "prompt": "p", "prediction": "x", "target": "y",
             "score": k % 2, "meta": {"k": k}, "detail": None} for k in range(5)]
    run.write_records("t", rows)
    full = run.read_records("t")
    some = run.read_records("t", columns=["item_id", "score"])
    assert list(some.columns) == ["item_id", "score"]
    pd.testing.assert_frame_equal(some, full[["item_id", "score"]])
    assert full["meta"].tolist()[3] == {"k": 3}
    assert list(RunDir(tmp_path / "none").read_records(columns=["score"]).columns) == ["score"]


def test_model_path_imports_no_analysis_packages(tiny_model_dir):
    code = (f"from harness.backends import load_backend\n"
            f"from harness.types import GenerationConfig\n"
            f"b = load_backend({str(tiny_model_dir)!r}, threads=1)\n"
            f"assert len(b.generate(['IN: jump OUT:'] * 2, GenerationConfig(max_new_tokens=2))) == 2")
    loaded = _imported_after(code, dict(os.environ))
    assert "torch" in loaded  # the probe did load a model
    assert not loaded & {"sklearn", "cleanlab", "scipy"}, sorted(loaded & {"sklearn", "scipy"})


@pytest.mark.parametrize("cores, load, env, expected", [
    ({0, 1, 2, 3}, 0.2, None, 4),   # idle: every core we may run on
    ({0, 1, 2, 3}, 2.6, None, 1),   # busy: only what is free (rounded), at least 1
    ({0, 1}, 9.0, None, 1),         # overloaded shared machine
    ({0, 1, 2, 3, 4, 5, 6, 7}, 3.0, None, 5),
    ({0, 1}, 0.0, "3", 3),          # OMP_NUM_THREADS, when set, wins
])
def test_default_threads_counts_free_cores_of_the_affinity(monkeypatch, cores, load, env,
                                                           expected):
    from harness.backends.threads import default_threads

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cores, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    if env is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", env)
    assert default_threads() == expected
