"""OpenAI-compatible servers (``--model openai:http://host:port/v1#model-name``).

Plain prompts go to ``/completions``; with ``--chat-template`` each prompt becomes one
user message to ``/chat/completions`` (the server applies the model's template).
Requests run concurrently up to a bound, with retries and exponential backoff on
429/5xx and connection errors. The API key is read from an environment variable at
request time and never stored in settings, metadata or error messages. Stdlib only.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from harness.backends.base import FailedOutput, chat_messages, cut_at_stop, plain_prompt
from harness.errors import GenrankError
from harness.types import GenerationConfig, stable_hash

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIBackend:
    kind = "openai"

    def __init__(self, target: str, *, concurrency: int = 8, timeout: float = 120.0,
                 max_retries: int = 5, backoff: float = 1.0, api_key_env: str = "OPENAI_API_KEY",
                 name: str | None = None, max_failed_items: int = 0, flag: str = "--model",
                 **_ignored: Any) -> None:
        base, _, model = target.partition("#")
        self.flag = flag  # the option that named this model, for error lines (--model, --judge)
        if not base.startswith(("http://", "https://")) or not model:
            raise GenrankError(f"expected openai:http(s)://HOST:PORT/v1#MODEL, got {target!r}",
                               field=flag)
        self.base, self.model = base.rstrip("/"), model
        self.concurrency, self.timeout = max(1, int(concurrency)), float(timeout)
        self.max_retries, self.backoff, self.api_key_env = int(max_retries), backoff, api_key_env
        self.display = name or model.rstrip("/").rsplit("/", 1)[-1]
        self.calls = 0
        self.served_model: str | None = None  # the "model" field of the server's answers
        self.max_failed_items, self.failed = int(max_failed_items), 0
        self.retries: Counter[str] = Counter()  # reason -> retries, recorded in the run's history
        self._lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        # no weights to hash: the served model is known by its endpoint and name
        return {"name": self.display, "path": f"{self.base}#{self.model}",
                "content_hash": stable_hash({"base": self.base, "model": self.model})[:16],
                "source": "openai"}

    def settings(self) -> dict[str, Any]:
        return {"base_url": self.base, "model": self.model, "concurrency": self.concurrency,
                "timeout": self.timeout, "max_retries": self.max_retries,
                "max_failed_items": self.max_failed_items,
                "api_key_env": self.api_key_env}  # the variable's name, never its value

    def run_stats(self) -> dict[str, Any]:
        """What happened on the wire this run: retries by reason, items given up on."""
        return {"retries": sum(self.retries.values()), "retry_reasons": dict(self.retries),
                "failed_items": self.failed}

    # -- requests ----------------------------------------------------------------
    def request_body(self, prompt: str, config: GenerationConfig) -> tuple[str, dict[str, Any]]:
        """(endpoint, JSON body) for one prompt."""
        body: dict[str, Any] = {"model": self.model, "max_tokens": config.max_new_tokens,
                                "temperature": config.temperature, "seed": config.seed}
        if config.temperature > 0:
            body["top_p"] = config.top_p
        if config.stop:
            body["stop"] = list(config.stop)[:4]  # the API's limit; the rest are cut locally
        if config.chat_template:
            return "/chat/completions", {**body, "messages": chat_messages(prompt, config)}
        return "/completions", {**body, "prompt": plain_prompt(prompt, config)}

    def post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST with retries on 429/5xx/connection errors; one-line GenrankError otherwise."""
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = self.base + endpoint
        for attempt in range(self.max_retries + 1):
            req = urllib.request.Request(url, data=data, headers=headers, method="POST")
            delay = None
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRY_STATUS or attempt == self.max_retries:
                    detail = exc.read()[:200].decode("utf-8", "replace").replace("\n", " ")
                    raise GenrankError(f"server answered {exc.code} for {url}: {detail}",
                                       field=self.flag) from None
                delay = _retry_after(exc.headers.get("Retry-After"))
                why = f"HTTP {exc.code}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_retries:
                    reason = getattr(exc, "reason", exc)
                    raise GenrankError(f"cannot reach {url}: {reason}", field=self.flag) from None
                why = type(getattr(exc, "reason", exc)).__name__
            wait = delay if delay is not None \
                else self.backoff * 2 ** attempt * (0.5 + random.random() / 2)
            with self._lock:
                self.retries[why] += 1
            print(f"openai: {why} from {url}; retry {attempt + 1} of {self.max_retries} in "
                  f"{wait:.1f}s", file=sys.stderr, flush=True)
            time.sleep(wait)
        raise AssertionError("unreachable")

    def _complete(self, prompt: str, config: GenerationConfig) -> str:
        endpoint, body = self.request_body(prompt, config)
        try:
            answer = self.post(endpoint, body)
            self.served_model = self.served_model or answer.get("model")
            choice = answer["choices"][0]
        except GenrankError as exc:  # retries spent: give up on this item if allowed
            with self._lock:
                if self.failed >= self.max_failed_items:
                    raise
                self.failed += 1
            print(f"openai: giving up on one item ({self.failed} of at most "
                  f"{self.max_failed_items}): {exc.message}", file=sys.stderr, flush=True)
            return FailedOutput(exc.message)
        text = choice["message"]["content"] if "message" in choice else choice["text"]
        return cut_at_stop(text or "", config.stop)

    def _map(self, fn, args: Sequence) -> list:
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(args))) as pool:
            out = list(pool.map(fn, args))
        self.calls += len(args)
        return out

    def generate(self, prompts: Sequence[str], config: GenerationConfig) -> list[str]:
        if not prompts:
            return []
        return self._map(lambda p: self._complete(p, config), prompts)

    def _score(self, pair: tuple[str, str]) -> float:
        """Prompt log-probabilities via ``echo`` (servers that support it, e.g. vLLM's)."""
        ctx, cont = pair
        out = self.post("/completions", {"model": self.model, "prompt": ctx + cont,
                                         "max_tokens": 1, "temperature": 0, "echo": True,
                                         "logprobs": 1})
        lp = (out["choices"][0].get("logprobs") or {})
        offsets, values = lp.get("text_offset"), lp.get("token_logprobs")
        if not offsets or not values:
            raise NotImplementedError("the server returns no prompt log-probabilities (echo)")
        end = len(ctx + cont)
        return float(sum(v for off, v in zip(offsets, values)
                         if v is not None and len(ctx) <= off < end))

    def loglikelihood(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return self._map(self._score, pairs) if pairs else []


def _retry_after(value: str | None) -> float | None:
    try:
        return min(60.0, max(0.0, float(value))) if value else None
    except ValueError:
        return None
