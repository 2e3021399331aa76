"""The OpenAI-compatible backend.

Against a real server: ``transformers serve`` serving the bundled SmolLM2 (its cached
Hugging Face folder) on 127.0.0.1, started and stopped here; greedy outputs must equal
the hf backend's on the same prompts, plain (/v1/completions) and chat
(/v1/chat/completions). Retries, backoff, timeouts and the API key are checked against
a small stdlib HTTP server that misbehaves on purpose (a real server will not).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.backends.openai import OpenAIBackend
from harness.errors import GenrankError
from harness.types import GenerationConfig

PROMPTS = ["The capital of France is", "1, 2, 3, 4,", "IN: jump twice\nOUT:"]
SECRET = "sk-genrank-test-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smol():
    pytest.importorskip("torch")
    from harness.backends.hf import HFBackend
    from harness.backends.models import resolve_model

    try:
        ref = resolve_model("smollm2-135m")
    except GenrankError as exc:
        pytest.skip(exc.message)
    return HFBackend(ref, batch_size=4, device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def server(smol, tmp_path_factory):
    """``transformers serve`` on a free local port; stopped (and waited for) afterwards."""
    for mod in ("fastapi", "uvicorn", "openai"):
        pytest.importorskip(mod, reason="needs transformers[serving] (pip install genrank[serving])")
    exe = Path(sys.executable).with_name("transformers")
    if not exe.exists():
        exe = Path(shutil.which("transformers") or "transformers")
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with open(log, "wb") as fh:
        proc = subprocess.Popen([str(exe), "serve", smol.ref.path, "--host", "127.0.0.1",
                                 "--port", str(port), "--device", "cpu", "--dtype", "float32"],
                                stdout=fh, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited: {log.read_text()[-800:]}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"transformers serve did not start: {log.read_text()[-800:]}")
            time.sleep(1)
        yield f"{base}/v1#{smol.ref.path}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("chat", [False, True], ids=["completions", "chat"])
def test_greedy_outputs_equal_hf(server, smol, chat):
    config = GenerationConfig(max_new_tokens=8, chat_template=chat, stop=("\n\n",))
    backend = OpenAIBackend(server, concurrency=2)
    remote = backend.generate(PROMPTS, config)
    local = smol.generate(PROMPTS, config)
    agree = sum(a == b for a, b in zip(remote, local)) / len(PROMPTS)
    assert agree == 1.0, list(zip(remote, local))
    assert backend.calls == len(PROMPTS)


@pytest.mark.model
@pytest.mark.slow
def test_run_through_server_keeps_the_key_out_of_the_store(server, smol, tmp_path,
                                                           isolated_cache, monkeypatch):
    from harness.runner import RunOptions, plan, run_tasks
    from harness.runstore import RECORD_COLUMNS
    from harness.spec import load_specs, select
    from tests.conftest import data_path

    data_path("scan/simple_split/tasks_test_simple.txt")
    monkeypatch.setenv("GENRANK_TEST_KEY", SECRET)
    opts = RunOptions(limit=2, max_new_tokens=8, progress=False)
    plans = plan(select(load_specs(), tasks=["scan_simple"]), opts)
    backend = OpenAIBackend(server, api_key_env="GENRANK_TEST_KEY")
    run, stats = run_tasks(backend, plans, tmp_path, opts)
    assert stats.generated == 2
    records = run.read_records("scan_simple")
    assert list(records.columns) == RECORD_COLUMNS
    assert records["prediction"].tolist() == smol.generate(plans[0].prompts, plans[0].config)
    meta = run.read_metadata()
    assert meta["backend"]["name"] == "openai"
    assert meta["backend"]["api_key_env"] == "GENRANK_TEST_KEY"
    for path in run.path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


# -- retries, backoff, timeouts, key: a server that misbehaves on purpose -----------------
class _Flaky(BaseHTTPRequestHandler):
    script: list = []  # (status, delay_s) per request, then 200
    seen: list = []

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, body, self.headers.get("Authorization")))
        status, delay = self.script.pop(0) if self.script else (200, 0)
        time.sleep(delay)
        extra = "\n\nEXTRA" if body.get("stop") else ""  # past the stop: must be cut
        payload = ({"choices": [{"text": body.get("prompt", "")[::-1] + extra}]}
                   if status == 200 else {"error": "busy"})
        data = json.dumps(payload).encode()
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    _Flaky.script, _Flaky.seen = [], []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1#m", _Flaky
    srv.shutdown()
    srv.server_close()


def test_retries_429_and_5xx_then_succeeds(flaky, monkeypatch):
    target, handler = flaky
    handler.script = [(429, 0), (503, 0), (500, 0)]
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    backend = OpenAIBackend(target, concurrency=1, backoff=0.01, max_retries=3)
    out = backend.generate(["abc"], GenerationConfig(max_new_tokens=4, stop=("\n\n",)))
    assert out == ["cba"]  # cut at the stop sequence
    assert len(handler.seen) == 4
    path, body, auth = handler.seen[-1]
    assert path == "/v1/completions" and auth == f"Bearer {SECRET}"
    assert body["max_tokens"] == 4 and body["temperature"] == 0 and body["stop"] == ["\n\n"]
    assert SECRET not in json.dumps(backend.settings()) + json.dumps(backend.identity())


def test_gives_up_after_retries_and_does_not_retry_400(flaky):
    target, handler = flaky
    handler.script = [(503, 0)] * 3
    backend = OpenAIBackend(target, backoff=0.01, max_retries=2)
    with pytest.raises(GenrankError, match="503"):
        backend.generate(["x"], GenerationConfig())
    assert len(handler.seen) == 3
    handler.script, handler.seen[:] = [(400, 0)], []
    with pytest.raises(GenrankError, match="400"):
        backend.generate(["x"], GenerationConfig())
    assert len(handler.seen) == 1


def test_timeout_is_retried(flaky):
    target, handler = flaky
    handler.script = [(200, 1.5)]
    backend = OpenAIBackend(target, timeout=0.3, backoff=0.01, max_retries=2)
    assert backend.generate(["ab"], GenerationConfig()) == ["ba"]
    assert len(handler.seen) == 2


def test_chat_requests_and_bounded_concurrency(flaky):
    target, handler = flaky
    backend = OpenAIBackend(target, concurrency=3)
    endpoint, body = backend.request_body("hi", GenerationConfig(chat_template=True))
    assert endpoint == "/chat/completions"
    assert body["messages"] == [{"role": "user", "content": "hi"}] and "prompt" not in body
    handler.script = [(200, 0.2)] * 6
    start = time.perf_counter()
    assert backend.generate([str(i) for i in range(6)], GenerationConfig()) == \
        [str(i) for i in range(6)]
    took = time.perf_counter() - start
    assert 0.35 < took < 1.1  # 6 requests of 0.2 s, 3 at a time: about 0.4 s


def test_bad_target_is_one_line():
    with pytest.raises(GenrankError, match="openai:http"):
        OpenAIBackend("localhost:8000")


def test_run_continues_past_a_failing_item_and_records_retries(flaky, tmp_path, monkeypatch,
                                                                capsys):
    """--max-failed-items: a request that keeps failing is recorded as failed (scored wrong,
    never cached) and the run goes on; every retry is said on stderr and counted."""
    from genrank.cli import main
    from harness.runstore import RunDir

    monkeypatch.setenv("GENRANK_CACHE", str(tmp_path / "cache"))
    target, handler = flaky
    args = ["run", "--model", f"openai:{target}", "--task", "scangen_simple", "--limit", "3",
            "--concurrency", "1", "--max-retries", "1", "--no-progress", "--model-name", "m"]
    handler.script = [(503, 0), (503, 0)]  # the first item: both tries fail
    assert main([*args, "-o", str(tmp_path / "strict")]) == 2
    assert "503" in capsys.readouterr().err
    handler.script, handler.seen[:] = [(503, 0), (503, 0)], []
    assert main([*args, "--max-failed-items", "1", "-o", str(tmp_path / "lenient")]) == 0
    err = capsys.readouterr().err
    assert "openai: HTTP 503" in err and "retry 1 of 1" in err and "giving up on one item" in err
    run = RunDir(tmp_path / "lenient" / "m")
    rec = run.read_records("scangen_simple")
    failed = rec[rec["detail"].map(lambda d: "failed" in (d or {}))]
    assert len(failed) == 1 and failed["prediction"].tolist() == [""]
    assert failed["score"].tolist() == [0.0] and "503" in failed["detail"].iloc[0]["failed"]
    hist = run.read_metadata()["history"][-1]
    assert hist["failed_items"] == 1 and hist["retries"] == 1
    assert hist["retry_reasons"] == {"HTTP 503": 1}
    # the failed output was not cached: a fresh run directory asks the server again for it
    handler.seen[:] = []
    assert main([*args, "-o", str(tmp_path / "again")]) == 0
    assert len(handler.seen) == 1 and "cached 2" in capsys.readouterr().out
