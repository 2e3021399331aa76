"""The LLM judge as a model role (``--judge``) and ``genrank judge-check``.

- A task whose verifier asks a judge fails with one line before any model work when
  no judge (or a bad one) is named.
- Judge answers are cached under the judge's identity and resumed: a run interrupted
  while judging never asks the judge again for an answer that came back.
- End to end: the bundled model generates, a ``transformers serve`` on 127.0.0.1 judges.
- ``judge-check`` against a deterministic stand-in judge (a small OpenAI-compatible
  server on 127.0.0.1 with a fixed rule): accuracy and Cohen's kappa equal scikit-learn's
  on labels the test derives from the published file itself (upstream's simplification
  scorer's unit parsing, ported here), and the published hallucination score equals
  upstream's published figure.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from genrank.cli import main
from harness.errors import GenrankError
from harness.runstore import RunDir
from tests.test_bad_input import genrank, one_line_error  # the CLI in a subprocess, one-line errors

csv.field_size_limit(1 << 30)
TASK = "halogen_simplification"
GPT4 = "gpt_4_0125_turbo"




# -- a deterministic stand-in judge: an OpenAI-compatible server with a fixed rule --------
def judged_response(prompt: str) -> str:
    """The response a judge prompt (the task's template) asks about."""
    return prompt.split("\nResponse: ", 1)[1].rsplit("\nAtomic facts:", 1)[0]


def rule(response: str) -> bool:
    """The stand-in judge's verdict: a response with a digit holds one false fact of two."""
    return re.search(r"\d", response) is not None


class _Judge(BaseHTTPRequestHandler):
    seen: list = []
    disable_nagle_algorithm = True  # headers and body leave at once (no 40 ms ACK waits)

    def _send(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server API)
        self._send({"object": "list", "data": [{"id": "rule-judge"}]})

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"] if "messages" in body else body["prompt"]
        response = judged_response(prompt)
        type(self).seen.append(response)
        text = ("| The response states a fact. | True |\n| It states a number. | False |"
                if rule(response) else "| The response states a fact. | True |")
        choice = ({"message": {"role": "assistant", "content": text}} if "messages" in body
                  else {"text": text})
        self._send({"model": "rule-judge-v1", "choices": [choice]})

    def log_message(self, *args):
        pass


@pytest.fixture
def rule_judge():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Judge)
    _Judge.seen = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"openai:http://127.0.0.1:{srv.server_address[1]}/v1#rule-judge", _Judge
    srv.shutdown()
    srv.server_close()


def _closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- bad input: one line, before any model work --------------------------------------------
def test_judge_task_without_judge_is_one_line_before_model_work(tmp_path, data_file):
    data_file("halogen/prompts/prompts_simplification.csv")
    out = tmp_path / "runs"
    line = one_line_error(genrank("run", "--model", str(tmp_path / "no-model-here"), "--task",
                                  TASK, "--limit", "2", "-o", str(out)))
    # the judge is checked before the model is even resolved
    assert f"task={TASK}" in line and "field=--judge" in line and "--judge MODEL" in line
    line = one_line_error(genrank("run", "--task", TASK, "--limit", "2", "-o", str(out),
                                  "--judge", str(tmp_path / "no-such-judge")))
    assert "field=--judge" in line
    line = one_line_error(genrank("run", "--task", TASK, "--limit", "2", "-o", str(out),
                                  "--judge", f"openai:http://127.0.0.1:{_closed_port()}/v1#x"))
    assert "cannot reach the judge server" in line and "field=--judge" in line
    assert not out.exists()


def test_judge_check_bad_input(tmp_path, capsys, rule_judge, data_file):
    data_file("halogen/model_hallucinations/simplification")
    target, _ = rule_judge
    for args, field in [(["--task", "halogen_code"], "--task"),
                        (["--task", TASK, "--published-model", "nobody"], "--published-model"),
                        (["--task", TASK, "--predictions", str(tmp_path / "none.csv")],
                         "--predictions")]:
        assert main(["judge-check", "--judge", target, *args, "-o", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and f"field={field}" in err
    assert main(["judge-check", "--judge", "not-a-model", "--task", TASK]) == 2
    assert "field=--judge" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not _Judge.seen


# -- cache and resume ----------------------------------------------------------------------
class _Interrupting:
    """Wraps the judge's backend: the run 'dies' at its third batch."""

    def __init__(self, inner, die_at: int | None = None) -> None:
        self.inner, self.die_at, self.batches, self.prompts = inner, die_at, 0, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def generate(self, prompts, config):
        self.batches += 1
        if self.batches == self.die_at:
            raise KeyboardInterrupt
        self.prompts += len(prompts)
        return self.inner.generate(prompts, config)


class _Writer:
    """The evaluated model: a stand-in that answers every prompt with a non-empty text
    (the tiny random checkpoint answers blank lines, which need no judge)."""

    kind, calls = "stand-in", 0

    def identity(self):
        return {"name": "writer", "path": None, "content_hash": "writer-v1", "source": "test"}

    def settings(self):
        return {}

    def generate(self, prompts, config):
        self.calls += len(prompts)
        return [f"A film about {len(p)} dinosaurs." for p in prompts]


def test_judge_answers_cached_and_resumed(tiny_model_dir, tmp_path, isolated_cache, data_file):
    """A stand-in writes; the tiny checkpoint, from a copy of its folder (another path,
    the same content hash), judges. Interrupted at the judge's third batch of one."""
    import shutil

    import torch

    from harness.backends.hf import HFBackend
    from harness.backends.models import resolve_model
    from harness.roles import CachedJudge
    from harness.runner import RunOptions, plan, run_tasks
    from harness.spec import load_specs, select

    data_file("halogen/prompts/prompts_simplification.csv")
    torch.set_num_threads(1)
    judge_dir = tmp_path / "judge-ckpt"
    shutil.copytree(tiny_model_dir, judge_dir)
    opts = RunOptions(limit=4, max_new_tokens=8, progress=False, judge=str(judge_dir),
                      judge_max_new_tokens=8)
    plans = plan(select(load_specs(), tasks=[TASK]), opts)
    identity = plans[0].judge
    assert identity["content_hash"] == resolve_model(str(tiny_model_dir)).content_hash
    model = _Writer()
    judge_model = HFBackend(resolve_model(str(judge_dir)), batch_size=4, device="cpu")

    def judge(die_at=None):
        from harness.cache import GenerationCache
        return CachedJudge(_Interrupting(judge_model, die_at), identity, GenerationCache(),
                           batch=1)

    first = judge(die_at=3)
    with pytest.raises(KeyboardInterrupt):
        run_tasks(model, plans, tmp_path / "runs", opts, judge=first)
    assert first.backend.prompts == 2 and first.asked == 2
    again = judge()
    run, stats = run_tasks(model, plans, tmp_path / "runs", opts, judge=again)
    # the two answers that came back are not asked again; generations come from the cache
    assert (again.asked, again.reused) == (2, 2) and again.backend.prompts == 2
    assert (stats.generated, stats.cached, stats.judge_asked) == (0, 4, 2)
    records = run.read_records(TASK)
    assert all(json.loads(d)["source"] == "judge" if isinstance(d, str) else d["source"] == "judge"
               for d in records["detail"])
    meta = run.read_metadata()
    role = meta["model_roles"]["judge"]
    assert role["model"] == str(judge_dir) and role["backend"] == "hf"
    assert role["content_hash"] == identity["content_hash"]
    assert role["generation"]["max_new_tokens"] == 8 and role["generation"]["chat_template"]
    assert meta["tasks"][TASK]["judge"]["content_hash"] == identity["content_hash"]
    # the same run again: nothing generated, nothing judged
    third = judge()
    _, stats = run_tasks(model, plans, tmp_path / "runs", opts, judge=third)
    assert (stats.resumed, third.asked, third.reused) == (4, 0, 0)
    # another judge setting scores the items anew (answers not shared across settings)
    opts16 = RunOptions(limit=4, max_new_tokens=8, progress=False, judge=str(judge_dir),
                        judge_max_new_tokens=16)
    fourth = judge()
    run_tasks(model, plan(select(load_specs(), tasks=[TASK]), opts16), tmp_path / "runs",
              opts16, judge=fourth)
    assert fourth.asked == 4


# -- end to end: smollm2 generates, `transformers serve` judges -------------------------------
@pytest.mark.model
@pytest.mark.slow
def test_end_to_end_served_judge(server, smol, tmp_path, isolated_cache, capsys, data_file):
    import torch

    from harness.types import GenerationConfig

    data_file("halogen/prompts/prompts_simplification.csv")
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    args = ["run", "--model", "smollm2-135m", "--task", TASK, "--limit", "2",
            "--max-new-tokens", "24", "--judge", f"openai:{server}", "--judge-max-new-tokens",
            "32", "-o", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "judge asked 2, judge cached 0" in out
    run = RunDir(tmp_path / "smollm2-135m")
    records = run.read_records(TASK)
    details = [d if isinstance(d, dict) else json.loads(d) for d in records["detail"]]
    assert [d["source"] for d in details] == ["judge", "judge"]
    # the served judge answered what the local model answers to the task's judge prompt
    from harness.registry import VERIFIERS
    from harness.spec import load_specs
    from harness.items import load_items
    spec = load_specs()[TASK]
    verifier = VERIFIERS["halogen_judge"](**{**spec.verifier.params, "max_new_tokens": 32})
    items = load_items(spec, 2)
    prompts = [verifier.judge_prompt(p, it) for p, it in zip(records["prediction"], items)]
    local = smol.generate(prompts, GenerationConfig(max_new_tokens=32, chat_template=True))
    assert [d["judge_output"] for d in details] == local
    role = run.read_metadata()["model_roles"]["judge"]
    assert role["backend"] == "openai" and role["source"] == "openai"
    assert role["model"] == f"openai:{server}" and role["served_model"]
    assert role["generation"]["max_new_tokens"] == 32
    # the same command again: no generation, no judge call
    assert main(args) == 0
    assert "generated 0" in capsys.readouterr().out


# -- judge-check against the stand-in judge -------------------------------------------------
def _published_rows(path):
    """(response, hallucinated?, rate) per row: upstream's simplification scorer's unit
    parsing (scorers/simplification_scorer.py), ported."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            units = [x.replace("| ", "") for x in row["atomic_units"].split("|\n") if x]
            bad = [x.replace("| ", "") for x in row["hallucinated_atomic_units"].split("|\n") if x]
            rate = len(bad) / len(units) if units else 0
            out.append((row["response"], rate > 0, rate))
    return out


def test_judge_check_agreement_equals_sklearn(rule_judge, tmp_path, capsys, data_file,
                                              isolated_cache):
    sklearn = pytest.importorskip("sklearn.metrics")
    target, handler = rule_judge
    folder = data_file("halogen/model_hallucinations/simplification")
    published = json.loads(data_file("halogen/published_scores/simplification_results.json")
                           .read_text())[GPT4]
    assert published["response_ratio"] == 1.0  # no abstention: every response is judged
    rows = _published_rows(folder / f"{GPT4}_simplification.csv.gz")
    truth = ["hallucinated" if h else "supported" for _, h, _ in rows]
    verdict = ["hallucinated" if rule(r) else "supported" for r, _, _ in rows]
    assert len(set(truth)) == 2 and len(set(verdict)) == 2

    assert main(["judge-check", "--judge", target, "--concurrency", "1", "--task", TASK,
                 "--published-model", GPT4, "-o", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert sorted(handler.seen) == sorted(r for r, _, _ in rows)  # each response judged once
    report = json.loads((tmp_path / f"{TASK}__rule-judge.json").read_text())
    (row,) = report["agreement"]
    assert row["model"] == GPT4 and row["responses"] == row["decisions"] == len(rows) == 1000
    assert row["accuracy"] == pytest.approx(sklearn.accuracy_score(truth, verdict), abs=1e-12)
    assert row["kappa"] == pytest.approx(sklearn.cohen_kappa_score(truth, verdict), abs=1e-12)
    assert row["published_hallucination_score"] == pytest.approx(
        published["hallucination_score"], abs=1e-12)
    assert row["judge_hallucination_score"] == pytest.approx(
        sum(0.5 for v in verdict if v == "hallucinated") / len(rows), abs=1e-12)
    assert report["judge"]["served_model"] == "rule-judge-v1"
    assert report["judge"]["listed_ids"] == ["rule-judge"]
    assert f"{row['kappa']:.4f}" in printed
    table = (tmp_path / f"{TASK}__rule-judge.csv").read_text().splitlines()
    assert table[0].startswith("model,responses,decisions,accuracy,kappa") and len(table) == 2

    # --limit: the first prompts only; gpt-4's answers come from the cache, gpt-3.5's are
    # asked; the pooled row is the decisions of both
    handler.seen.clear()
    assert main(["judge-check", "--judge", target, "--concurrency", "1", "--task", TASK,
                 "--published-model", GPT4, "--published-model", "gpt_3.5_turbo_0125",
                 "--limit", "3", "-o", str(tmp_path / "small")]) == 0
    assert "asked 3, cached 3" in capsys.readouterr().out and len(handler.seen) == 3
    small = json.loads((tmp_path / "small" / f"{TASK}__rule-judge.json").read_text())
    by_model = {r["model"]: r for r in small["agreement"]}
    assert [by_model[m]["responses"] for m in (GPT4, "gpt_3.5_turbo_0125", "all")] == [3, 3, 6]
    pooled = small["decisions"]
    assert by_model["all"]["accuracy"] == pytest.approx(sklearn.accuracy_score(
        [d["published"] for d in pooled], [d["judge"] for d in pooled]), abs=1e-12)
    assert sorted(d["judge"] == "hallucinated" for d in pooled
                  if d["model"] != GPT4) == sorted(rule(r) for r in handler.seen)


def test_kappa_undefined_is_reported_as_undefined():
    from suites.halogen.judge_check import cohen_kappa
    import math
    assert math.isnan(cohen_kappa(["supported"] * 3, ["supported"] * 3))
    sklearn = pytest.importorskip("sklearn.metrics")
    a = ["supported", "hallucinated", "abstained", "supported", "hallucinated"]
    b = ["supported", "supported", "abstained", "hallucinated", "hallucinated"]
    assert cohen_kappa(a, b) == pytest.approx(sklearn.cohen_kappa_score(a, b), abs=1e-12)
    with pytest.raises(ValueError):
        cohen_kappa(a, b[:2])


from tests.test_backends_openai import server, smol  # noqa: E402,F401  (shared fixtures)
