"""A local OpenAI-compatible STUB server: test and benchmark infrastructure, not a model.

It serves ``POST /v1/chat/completions`` on 127.0.0.1 with scripted answers, token usage,
a latency distribution, a throughput limit and injected faults, so that benchmarks and
fault runs go through inspect's standard ``openai-api`` provider: the same HTTP code path
as a vLLM server or a hosted endpoint. Every completion starts with ``[STUB SERVER]``.

Answers come from a *responder*: a function from the request's messages (and tools) to
a reply. :class:`AnswerKey` answers math problems from a dataset, correctly or not by a
deterministic hash of the problem, so scores are known before the run and identical
whatever faults were injected.

Faults (each request independently, with probability ``fault_rate``, mode drawn from
``fault_modes``): ``429`` (with ``Retry-After``), ``500``, ``drop`` (connection closed
without a response), ``timeout`` (no answer for ``timeout_hold`` seconds) and
``malformed`` (HTTP 200 with a body that is not JSON).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

MARK = "[STUB SERVER]"

FAULT_MODES = ("429", "500", "drop", "timeout", "malformed")

Reply = dict[str, Any]
"""``{"content": str, "tool_calls": [{"function": name, "arguments": {...}}]}``"""
Responder = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Reply]


def _unit_hash(text: str) -> float:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


@dataclass
class AnswerKey:
    """Answers a prompt containing a known problem; correct with probability ``p_correct``.

    Correctness is a deterministic function of (seed, problem), so every epoch and every
    retry of a problem gets the same answer.
    """

    answers: dict[str, str]
    """problem text -> gold answer"""
    p_correct: float = 1.0
    seed: int = 0
    vary: bool = False
    """Also hash how often this exact prompt was answered before, so repeated samples of
    one prompt (epochs, a group's rollouts) differ, in an order-independent multiset."""
    _seen: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Reply:
        prompt = "\n".join(message_text(m) for m in messages if m.get("role") == "user")
        for problem, gold in self.answers.items():
            if problem in prompt:
                repeat = 0
                if self.vary:
                    key = hashlib.sha256(prompt.encode()).hexdigest()
                    with self._lock:
                        repeat = self._seen[key]
                        self._seen[key] += 1
                answer = gold if self.expected_correct(problem, repeat) else f"{gold}1"
                return {"content": f"{MARK} scripted answer.\n\\boxed{{{answer}}}"}
        return {"content": f"{MARK} no scripted answer for this prompt."}

    def expected_correct(self, problem: str, repeat: int = 0) -> bool:
        return _unit_hash(f"{self.seed}|{problem}|{repeat}") < self.p_correct


@dataclass
class StubConfig:
    latency: float = 0.0
    """Mean seconds before answering."""
    jitter: float = 0.0
    """Latency is uniform in [latency - jitter, latency + jitter]."""
    max_rps: float | None = None
    """Throughput limit (requests started per second); None = unlimited."""
    fault_rate: float = 0.0
    fault_modes: tuple[str, ...] = FAULT_MODES
    timeout_hold: float = 30.0
    retry_after: float = 1.0
    seed: int = 0


@dataclass
class StubStats:
    requests: int = 0
    answered: int = 0
    faults: Counter = field(default_factory=Counter)
    by_prompt: Counter = field(default_factory=Counter)
    """Answered requests per hash of the messages (to detect duplicated work)."""


class StubServer:
    """Run with ``with StubServer(responder, config) as server: server.base_url``."""

    def __init__(self, responder: Responder, config: StubConfig | None = None, port: int = 0) -> None:
        self.responder = responder
        self.config = config or StubConfig()
        self.stats = StubStats()
        self._port = port
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._next_start = 0.0
        self.base_url = ""

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "StubServer":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> str:
        self._thread = threading.Thread(target=self._serve, name="stub-openai-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("stub server did not start")
        return self.base_url

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_get("/v1/models", self._models)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", self._port)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._runner = runner
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    # ------------------------------------------------------------------ handlers
    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "stub", "object": "model"}]})

    def _draw_fault(self) -> str | None:
        with self._lock:
            self.stats.requests += 1
            if self.config.fault_rate > 0 and self._rng.random() < self.config.fault_rate:
                mode = self._rng.choice(self.config.fault_modes)
                self.stats.faults[mode] += 1
                return mode
        return None

    async def _throttle(self) -> None:
        if not self.config.max_rps:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + 1.0 / self.config.max_rps
        if start > now:
            await asyncio.sleep(start - now)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        fault = self._draw_fault()
        if fault == "429":
            return web.json_response(
                {"error": {"message": "stub: rate limited", "type": "rate_limit_error"}},
                status=429,
                headers={"Retry-After": str(self.config.retry_after)},
            )
        if fault == "500":
            return web.json_response({"error": {"message": "stub: internal error"}}, status=500)
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault == "timeout":
            await asyncio.sleep(self.config.timeout_hold)
            return web.json_response({"error": {"message": "stub: too late"}}, status=504)
        await self._throttle()
        delay = self.config.latency
        if self.config.jitter:
            with self._lock:
                delay += self._rng.uniform(-self.config.jitter, self.config.jitter)
        if delay > 0:
            await asyncio.sleep(delay)
        if fault == "malformed":
            return web.Response(status=200, text='{"id": "x", "choices": [', content_type="application/json")
        messages = body.get("messages") or []
        reply = self.responder(messages, body.get("tools") or [])
        with self._lock:
            self.stats.answered += 1
            key = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:16]
            self.stats.by_prompt[key] += 1
        return web.json_response(_completion(body.get("model", "stub"), messages, reply))


def _completion(model: str, messages: list[dict[str, Any]], reply: Reply) -> dict[str, Any]:
    content = reply.get("content", "")
    tool_calls = [
        {
            "id": f"call_{i}_{_unit_hash(json.dumps(call, sort_keys=True)):.8f}"[:24],
            "type": "function",
            "function": {"name": call["function"], "arguments": json.dumps(call.get("arguments") or {})},
        }
        for i, call in enumerate(reply.get("tool_calls") or [])
    ]
    prompt_tokens = max(1, sum(len(message_text(m)) for m in messages) // 4)
    completion_tokens = max(1, len(content) // 4)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": f"chatcmpl-stub-{_unit_hash(content):.12f}"[:40],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class StubServerProcess:
    """The stub server in a child process, so it does not share the GIL with the client.

    For throughput benchmarks (a real endpoint runs on other cores or machines). Stats stay
    in the child; use :class:`StubServer` when a test needs them.
    """

    def __init__(self, responder: Responder, config: StubConfig | None = None) -> None:
        import multiprocessing as mp

        self._ctx = mp.get_context("fork")
        self._queue = self._ctx.Queue()
        self._stop = self._ctx.Event()
        self._proc = self._ctx.Process(
            target=_serve_child, args=(responder, config, self._queue, self._stop), daemon=True
        )
        self.base_url = ""

    def __enter__(self) -> "StubServerProcess":
        self._proc.start()
        self.base_url = self._queue.get(timeout=30)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.kill()

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far: a benchmark on one
        machine counts it, since the server shares the client's cores (Linux ``/proc``)."""
        import os
        from pathlib import Path

        fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve_child(responder: Responder, config: StubConfig | None, queue: Any, stop: Any) -> None:
    with StubServer(responder, config) as server:
        queue.put(server.base_url)
        stop.wait()
