"""Data-parallel shards: merged results equal a single-process run; dead shards retried.

Every shard is a real process (local) or a real Ray task on ``ray.init(num_cpus=2)``,
with the hf backend on a checkpoint folder; two SCAN tasks, two items each.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from harness.runner import RunOptions, plan, run_tasks
from harness.shards import FAULT_ENV, run_sharded
from harness.spec import load_specs, select

pytestmark = [pytest.mark.model, pytest.mark.slow]
TASKS = ["scan_simple", "scan_length"]
OPTS = RunOptions(limit=2, max_new_tokens=8, progress=False)


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    from tests.conftest import data_path

    for t in ("simple_split/tasks_test_simple.txt", "length_split/tasks_test_length.txt"):
        data_path(f"scan/{t}")
    return plan(select(load_specs(), tasks=TASKS), OPTS)


@pytest.fixture(scope="module")
def single(plans, tiny_model_dir, tmp_path_factory):
    """The reference: one process, one backend, its own generation cache."""
    from harness.backends import load_backend

    mp = pytest.MonkeyPatch()
    mp.setenv("GENRANK_CACHE", str(tmp_path_factory.mktemp("cache-single")))
    run, _ = run_tasks(load_backend(str(tiny_model_dir)), plans,
                       tmp_path_factory.mktemp("single"), OPTS)
    mp.undo()
    return run


def _same(a, b) -> None:
    for task in TASKS:
        left, right = a.read_records(task), b.read_records(task)
        pd.testing.assert_frame_equal(left, right)
    assert a.read_scores() == b.read_scores()
    assert json.loads((a.path / "metadata.json").read_text())["tasks"].keys() == \
        json.loads((b.path / "metadata.json").read_text())["tasks"].keys()


def test_local_shards_equal_single_process_and_never_rerun(plans, single, tiny_model_dir,
                                                           tmp_path, isolated_cache):
    specs = [p.spec for p in plans]
    run, stats, calls = run_sharded(str(tiny_model_dir), {}, specs, plans, tmp_path, OPTS,
                                    shards=2, engine="local")
    assert (stats.generated, calls) == (4, 4)
    _same(run, single)
    history = run.read_metadata()["history"][-1]["shards"]
    assert [s["generated"] for s in history] == [2, 2]  # each shard did its half
    # a second identical command starts no shard and loads no model
    run2, stats2, calls2 = run_sharded(str(tiny_model_dir), {}, specs, plans, tmp_path, OPTS,
                                       shards=2, engine="local")
    assert (stats2.generated, calls2, stats2.resumed) == (0, 0, 4)
    assert not any(s["ran"] for s in run2.read_metadata()["history"][-1]["shards"])
    _same(run2, single)


def test_ray_shards_retry_a_dead_shard_and_merge_exactly(plans, single, tiny_model_dir,
                                                         tmp_path, isolated_cache, monkeypatch):
    ray = pytest.importorskip("ray")
    monkeypatch.setenv(FAULT_ENV, "1")  # shard 1 exits hard at its second model call, once
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        run, stats, _ = run_sharded(str(tiny_model_dir), {}, [p.spec for p in plans], plans,
                                    tmp_path, OPTS, shards=2, engine="ray")
    finally:
        ray.shutdown()
    shard1 = run.path / "shards" / "shard1of2"
    assert (shard1 / "fault.marker").exists()  # it really died once
    done = json.loads((shard1 / "done.json").read_text())
    # the retry resumed the task the dead attempt had journaled, and generated only the rest
    assert (done["resumed"], done["generated"]) == (1, 1)
    _same(run, single)
