"""``testdouble/...``: an offline TEST DOUBLE model provider. It is not a language model.

Use it to run the harness without network or weights (``harness demo``, tests, CI,
benchmarks). Nothing it produces is a real model's result: its model name says
``testdouble``, every output carries ``metadata["test_double"] = True``, and every policy
answer starts with ``[TEST DOUBLE]``.

Behaviour (model args with ``-M key=value``):

- ``script=PATH``: a JSONL file of scripted turns. Each line is an object with
  ``content`` (str) and optionally ``tool_calls`` (list of ``{"function": name,
  "arguments": {...}}``). The n-th assistant turn of a conversation gets line n (the
  last line repeats). Lines may carry ``"match": "text"``: then only conversations whose
  first user message contains that text use those lines (for per-sample scripts).
- otherwise *oracle mode*: inside an inspect sample it answers with the sample's target
  with probability ``p_correct`` (default 1.0) and with a wrong answer otherwise. The
  draw is a deterministic hash of (seed, sample id, epoch, turn), so reruns agree. The
  answer is written as ``\\boxed{...}`` and ``<answer>...</answer>``; a task can put the
  text to write in ``sample.metadata["oracle_answer"]`` (e.g. a Countdown equation).
  A sample with ``metadata["oracle_tool_calls"]`` (a list of ``{"function",
  "arguments"}``, e.g. APIGen) is answered with calls: when the model is offered tools,
  native tool calls (those calls when correct, plus a repeat of the first, one call too
  many, when deliberately wrong); otherwise a deliberately wrong answer is the empty call
  list ``<answer>[]</answer>`` (``not <target>`` could still read as the gold calls).
  Offered a ``submit`` tool (an agent such as the ``search`` setting), it plays a minimal
  web agent instead: one call of each offered search tool (``search`` / ``web_search``,
  with the question as query), one of the page tool (``web_qa`` / ``visit_page``) on the
  first address the search returned, then ``submit`` with the answer drawn as above.
- ``latency`` (seconds, default 0) is slept before each answer; ``max_connections``
  (default 64) bounds concurrency as for a real provider.
- ``call_log=PATH``: append one JSON line per answered call (sample, epoch, Training-Free
  GRPO stage, turn, prompt hash), to count model calls across processes (e.g. a killed and
  resumed run).
- judge and role calls (the AlpacaEval and WebWalkerQA judges, the self-play Challenger,
  Solver, reward and quality judges: every call tagged with :mod:`harness.calls`) get a
  reply in the exact format their parser reads, without the ``[TEST DOUBLE]`` text, whose
  verdict follows the prompt's answer against its gold (:mod:`harness.testing.testdouble_roles`).
  Script mode answers them from the script like any other call.
- Training-Free GRPO stage prompts (summary / advantage / consolidation / direct, made
  outside any sample) get well-formed TEST DOUBLE answers from
  :mod:`harness.testing.tfgrpo_replies`.

Token usage is always set (about 4 characters per token), so inspect never needs
tiktoken, which cannot download its tokenizer offline.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import anyio
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    Logprobs,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.model._model_output import ChatCompletionChoice
from inspect_ai.tool import ToolCall, ToolChoice, ToolInfo

from harness.calls import TaggedCall, read_call

MARK = "[TEST DOUBLE]"
"""Every policy answer of the test double starts with this (judge and role replies do not:
their parsers read them whole; the output metadata labels them)."""

_URL = re.compile(r"https?://[^\s()<>\[\]]{1,2000}")
"""An address in a tool result (the web agent's page to read)."""

TEST_DOUBLE_KEY = "test_double"
"""``ModelOutput.metadata`` key set (True) on every output of the test double."""


def _text(message: ChatMessage) -> str:
    return message.text if hasattr(message, "text") else str(message.content)


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def oracle_text(answer: str, correct: bool, p_correct: float) -> str:
    """An oracle-mode answer: labelled, then ``answer`` as ``\\boxed{...}`` and ``<answer>...</answer>``."""
    verdict = "correct" if correct else "deliberately wrong"
    return (
        f"{MARK} Scripted {verdict} answer (p_correct={p_correct}); not a real model.\n"
        f"\\boxed{{{answer}}}\n<answer>{answer}</answer>"
    )


def wrong_answer(target: str) -> str:
    try:
        return str(int(target.strip()) + 1)
    except ValueError:
        return f"not {target.strip()}"[:64]


class ScriptTurn:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.match: str | None = raw.get("match")
        self.content: str = str(raw.get("content", ""))
        self.tool_calls: list[dict[str, Any]] = list(raw.get("tool_calls") or [])


def load_script(path: str) -> list[ScriptTurn]:
    """The turns of a ``-M script=`` file; a bad file fails in one line naming its line."""
    from inspect_ai._util.error import PrerequisiteError

    from harness.datasets import parse_jsonl

    try:
        rows = parse_jsonl(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as ex:
        raise PrerequisiteError(f"test double script {path} cannot be read: {ex}") from None
    except json.JSONDecodeError as ex:
        raise PrerequisiteError(
            f"test double script {path} line {ex.lineno} column {ex.colno}: invalid JSON ({ex.msg})"
        ) from None
    for where, row in rows:
        if not isinstance(row, dict):
            raise PrerequisiteError(f"test double script {path} {where}: expected a JSON object, got {type(row).__name__}")
    turns = [ScriptTurn(row) for _, row in rows]
    if not turns:
        raise PrerequisiteError(f"test double script {path} has no turns")
    return turns


@modelapi(name="testdouble")
class TestDoubleAPI(ModelAPI):
    """Offline test double (see module docstring). Not a language model."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        p_correct: float = 1.0,
        latency: float = 0.0,
        seed: int = 0,
        script: str | None = None,
        max_connections: int = 64,
        call_log: str | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config)
        if not 0.0 <= float(p_correct) <= 1.0:
            raise ValueError("testdouble: p_correct must be within [0, 1]")
        self.p_correct = float(p_correct)
        self.latency = float(latency)
        self.seed = int(seed)
        self.script = load_script(script) if script else None
        self._max_connections = int(max_connections)
        self.call_log = Path(call_log) if call_log else None

    def max_connections(self) -> int:
        return self._max_connections

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        if self.latency > 0:
            await anyio.sleep(self.latency)
        turn = sum(isinstance(m, ChatMessageAssistant) for m in input)
        call = read_call(input) if self.script is None else None
        logprobs = None
        if call is not None:
            content, logprobs = self._role_reply(call, config)
            tool_calls: list[ToolCall] = []
        elif self.script is not None:
            content, tool_calls = self._scripted(input, turn)
        else:
            content, tool_calls = self._oracle(input, turn, tools)
            native = self._oracle_tool_calls(turn, bool(tools))
            if native is not None:
                content, tool_calls = native
        message = ChatMessageAssistant(
            content=content,
            tool_calls=tool_calls or None,
            model=self.model_name,
            source="generate",
        )
        if self.call_log is not None:
            self._log_call(input, turn)
        prompt_chars = sum(len(_text(m)) for m in input)
        usage = ModelUsage(
            input_tokens=estimate_tokens(" " * prompt_chars),
            output_tokens=estimate_tokens(content),
            total_tokens=estimate_tokens(" " * prompt_chars) + estimate_tokens(content),
        )
        return ModelOutput(
            model=self.model_name,
            choices=[
                ChatCompletionChoice(
                    message=message,
                    stop_reason="tool_calls" if tool_calls else "stop",
                    logprobs=logprobs,
                )
            ],
            usage=usage,
            metadata={TEST_DOUBLE_KEY: True, **({"call": call.kind} if call is not None else {})},
        )

    def _draw(self, key: str) -> float:
        """A deterministic uniform draw in [0, 1) for ``seed|key``."""
        return int.from_bytes(hashlib.sha256(f"{self.seed}|{key}".encode()).digest()[:8], "big") / 2**64

    def _role_reply(self, call: TaggedCall, config: GenerateConfig) -> tuple[str, Logprobs | None]:
        """A judge's or role's reply in its parser's format (:mod:`harness.testing.testdouble_roles`)."""
        from inspect_ai.log._samples import sample_active

        from harness.testing import testdouble_roles

        active = sample_active()
        sample = active.sample if active is not None else None
        target = sample.target if sample is not None else None
        target = (target if isinstance(target, str) else target[0]) if target else None
        stem = f"{sample.id}|{active.epoch}" if sample is not None and active is not None else "no-sample"
        context = testdouble_roles.Context(
            target=target,
            key=f"{self.seed}|{stem}",
            correct=lambda suffix: self._draw(f"{stem}|{suffix}") < self.p_correct,
            policy_answer=lambda answer, correct: oracle_text(answer, correct, self.p_correct),
        )
        reply = testdouble_roles.reply(call, config, context)
        return reply.content, reply.logprobs

    def _log_call(self, input: list[ChatMessage], turn: int) -> None:
        """One JSON line per answered call: which sample/epoch/turn (or Training-Free GRPO
        stage), and a hash of the prompt."""
        from inspect_ai.log._samples import sample_active

        from harness.tfgrpo.prompts import STAGE_RE

        active = sample_active()
        digest = hashlib.sha256("\n".join(_text(m) for m in input).encode()).hexdigest()[:16]
        first_user = next((_text(m) for m in input if isinstance(m, ChatMessageUser)), "")
        stage = STAGE_RE.search(first_user) if active is None else None
        entry = {
            "sample": str(active.sample.id) if active else None,
            "epoch": active.epoch if active else None,
            "stage": stage.group(1) if stage else None,
            "turn": turn,
            "prompt": digest,
        }
        assert self.call_log is not None
        with self.call_log.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def _scripted(self, input: list[ChatMessage], turn: int) -> tuple[str, list[ToolCall]]:
        assert self.script is not None
        first_user = next((_text(m) for m in input if isinstance(m, ChatMessageUser)), "")
        turns = [t for t in self.script if t.match is not None and t.match in first_user]
        if not turns:
            turns = [t for t in self.script if t.match is None] or self.script
        chosen = turns[min(turn, len(turns) - 1)]
        calls = [
            ToolCall(
                id=f"call_{turn}_{i}",
                function=str(c["function"]),
                arguments=dict(c.get("arguments") or {}),
            )
            for i, c in enumerate(chosen.tool_calls)
        ]
        return f"{MARK} {chosen.content}", calls

    def _oracle(self, input: list[ChatMessage], turn: int, tools: list[ToolInfo]) -> tuple[str, list[ToolCall]]:
        from inspect_ai.log._samples import sample_active

        active = sample_active()
        if active is None:
            # Training-Free GRPO stage calls (summary/advantage/consolidation) run outside samples
            from harness.testing.tfgrpo_replies import reply

            first_user = next((_text(m) for m in input if isinstance(m, ChatMessageUser)), "")
            staged = reply(first_user)
            if staged is not None:
                return f"{MARK} {staged}", []
        if active is None or not active.sample.target:
            return f"{MARK} Oracle mode answers only inside an inspect sample with a target.", []
        names = {t.name for t in tools}
        if "submit" in names:
            return self._web_agent(input, turn, names, active)
        correct, answer = self._answer(active, turn)
        return oracle_text(answer, correct, self.p_correct), []

    def _answer(self, active: Any, turn: int) -> tuple[bool, str]:
        """(correct?, answer) for this sample, epoch and turn: a deterministic draw."""
        sample = active.sample
        target = sample.target if isinstance(sample.target, str) else sample.target[0]
        correct = self._draw(f"{sample.id}|{active.epoch}|{turn}") < self.p_correct
        return correct, (sample.metadata or {}).get("oracle_answer", target) if correct else wrong_answer(target)

    def _web_agent(self, input: list[ChatMessage], turn: int, names: set[str], active: Any) -> tuple[str, list[ToolCall]]:
        """A minimal web agent (see module docstring): search, read the first result, submit."""
        called = {c.function for m in input if isinstance(m, ChatMessageAssistant) for c in (m.tool_calls or [])}
        sample = active.sample
        question = sample.input if isinstance(sample.input, str) else _text(sample.input[-1])
        search = next((n for n in ("search", "web_search") if n in names), None)
        if search is not None and search not in called:
            call = ToolCall(id=f"call_{turn}", function=search, arguments={"query": question[:300]})
            return f"{MARK} Searching for the question (not a real model).", [call]
        page = next((n for n in ("web_qa", "visit_page") if n in names), None)
        last = _text(input[-1]) if input and input[-1].role == "tool" else ""
        url = _URL.search(last)
        if page is not None and page not in called and url is not None:
            arguments = {"url": url.group(0)} | ({"query": question[:300]} if page == "web_qa" else {})
            call = ToolCall(id=f"call_{turn}", function=page, arguments=arguments)
            return f"{MARK} Reading the first result (not a real model).", [call]
        correct, answer = self._answer(active, turn)
        verdict = "correct" if correct else "deliberately wrong"
        call = ToolCall(id=f"call_{turn}", function="submit", arguments={"answer": str(answer)})
        return f"{MARK} Submitting a scripted {verdict} answer (p_correct={self.p_correct}); not a real model.", [call]

    def _oracle_tool_calls(self, turn: int, tools_offered: bool) -> tuple[str, list[ToolCall]] | None:
        """Oracle mode for a sample with ``metadata["oracle_tool_calls"]`` (same draw as
        :meth:`_oracle`); None for any other sample, and for a correct text answer."""
        from inspect_ai.log._samples import sample_active

        active = sample_active()
        native = (active.sample.metadata or {}).get("oracle_tool_calls") if active is not None else None
        if active is None or not isinstance(native, list):
            return None
        correct = self._draw(f"{active.sample.id}|{active.epoch}|{turn}") < self.p_correct
        note = f"(p_correct={self.p_correct}); not a real model."
        if not tools_offered:
            return None if correct else (f"{MARK} Scripted deliberately wrong answer {note}\n<answer>[]</answer>", [])
        chosen = [c for c in native if isinstance(c, dict)]
        if not correct:  # one call too many: wrong under every matching rule
            chosen = chosen + (chosen[:1] or [{"function": "no_such_tool", "arguments": {}}])
        calls = [
            ToolCall(id=f"call_{turn}_{i}", function=str(c["function"]), arguments=dict(c.get("arguments") or {}))
            for i, c in enumerate(chosen)
        ]
        return f"{MARK} Scripted {'correct' if correct else 'deliberately wrong'} tool calls {note}", calls
