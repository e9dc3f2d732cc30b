"""``react``: inspect's ReAct agent with a sandboxed Python interpreter (the papers' "ReAct + CI").

Training-Free GRPO's tool rows use a ReAct agent whose one tool runs Python (upstream:
``max_turns`` 50, a 3 s tool timeout, no submit tool: the agent stops when the model answers
without calling a tool, its final message holding ``\\boxed{...}``). This solver is
inspect's ``react`` agent set up the same way, with inspect's ``python()`` tool running in
the sandbox chosen by ``-T sandbox=`` (``bwrap`` by default, see harness/sandbox/).

The number of tool calls made in a sample is written to the sample store under
``"tool_calls"`` (int), for leaderboards and the experience optimizer.
"""

from __future__ import annotations

from logging import getLogger
from pathlib import Path

from inspect_ai._util.error import PrerequisiteError
from inspect_ai.agent import AgentPrompt, AgentState, as_solver
from inspect_ai.agent import react as react_agent
from inspect_ai.model import ChatMessage, ChatMessageAssistant
from inspect_ai.solver import Generate, Solver, TaskState, chain, prompt_template, solver
from inspect_ai.tool import python
from inspect_ai.util import SandboxEnvironmentSpec, SandboxEnvironmentType

import harness
from harness.datasets import user_path
from solvers.base import BuiltSolver

SYSTEM_PROMPT = """You are an expert competition mathematician with a Python interpreter.

Solve the problem step by step. Use the `python` tool whenever computation helps: to
calculate, enumerate cases, solve equations, or check a conjecture. Each call runs a fresh
Python 3 script (nothing carries over between calls) and shows only what you print().
numpy, sympy and scipy are installed; there is no network access. A call that runs too
long is stopped, so prefer exact, efficient methods over brute force where possible.

When you are confident, reply without calling a tool and end that reply with the final
answer as \\boxed{ANSWER}."""
"""System prompt of the agent (the task's own prompt is the user message)."""

TOOL_CALLS_KEY = "tool_calls"
"""Sample store key: number of tool calls the agent made in the sample (int)."""

DEFAULT_MAX_TURNS = 50
"""Model turns per sample, as upstream (configs/agents/.../math_agent.yaml)."""

DEFAULT_TOOL_TIMEOUT = 10
"""Seconds per python() call. Upstream used 3 s in a warm IPython worker; here each call
starts a fresh interpreter, and importing sympy + scipy alone takes about 1-1.5 s on a
loaded 2-core machine, so 10 s leaves the upstream 3 s of compute plus start-up, with
headroom for machine load, while a runaway call still costs a sample only seconds."""

SANDBOXES = ("bwrap", "docker", "local")

DOCKER_COMPOSE = Path(harness.__file__).resolve().parent / "docker" / "compose.yaml"
"""Default compose file for ``-T sandbox=docker`` (numpy, sympy, scipy; no network)."""

logger = getLogger(__name__)


def react(
    template: str,
    sandbox: str = "bwrap",
    max_turns: int = DEFAULT_MAX_TURNS,
    tool_timeout: int = DEFAULT_TOOL_TIMEOUT,
    sandbox_config: str | None = None,
) -> BuiltSolver:
    """ReAct agent with the python tool; the final reply's ``\\boxed{}`` is scored.

    Args:
      template: The task's user prompt template.
      sandbox: Where the code runs: ``bwrap`` (default, bubblewrap), ``docker``, or
        ``local`` (no isolation at all: explicit opt-in, prints a warning).
      max_turns: Model turns before the agent is stopped (50, as upstream).
      tool_timeout: Wall-clock seconds per python() call (see DEFAULT_TOOL_TIMEOUT).
      sandbox_config: Sandbox config file: bwrap limits (YAML/JSON, fields of
        harness.sandbox.BwrapConfig) or a docker compose file.
    """
    if sandbox not in SANDBOXES:
        raise PrerequisiteError(f"Unknown sandbox '{sandbox}' (-T sandbox=). Choose one of: {', '.join(SANDBOXES)}.")
    max_turns, tool_timeout = int(max_turns), int(tool_timeout)
    if max_turns < 1 or tool_timeout < 1:
        raise PrerequisiteError("-T max_turns and -T tool_timeout must be positive integers.")
    return BuiltSolver(
        solver=react_solver(template, max_turns=max_turns, tool_timeout=tool_timeout),
        sandbox=sandbox_spec(sandbox, sandbox_config),
        metadata={"sandbox": sandbox, "max_turns": max_turns, "tool_timeout": tool_timeout},
    )


def sandbox_spec(sandbox: str, config: str | None = None) -> SandboxEnvironmentType:
    """The task's sandbox for ``-T sandbox=NAME`` (and ``-T sandbox_config=FILE``)."""
    path = str(user_path(config).resolve()) if config is not None else None
    if path is not None and not Path(path).is_file():
        raise PrerequisiteError(f"Sandbox config file not found: {config} (-T sandbox_config=).")
    if sandbox == "bwrap":
        import harness.sandbox  # noqa: F401  (registers the bwrap sandbox)

        return SandboxEnvironmentSpec("bwrap", path)
    if sandbox == "docker":
        return SandboxEnvironmentSpec("docker", path or str(DOCKER_COMPOSE))
    logger.warning(
        "-T sandbox=local: model-written code will run directly on this machine, with no "
        "isolation and your user's permissions. Use -T sandbox=bwrap unless you trust it."
    )
    return SandboxEnvironmentSpec("local")


@solver
def react_solver(
    template: str,
    system_prompt: str = SYSTEM_PROMPT,
    max_turns: int = DEFAULT_MAX_TURNS,
    tool_timeout: int = DEFAULT_TOOL_TIMEOUT,
) -> Solver:
    """The task prompt, then the ReAct loop; records ``tool_calls`` in the store."""

    async def continue_while_tools(state: AgentState) -> bool:
        # no tool call: that reply is the final answer; else go on until max_turns
        if not state.output.message.tool_calls:
            return False
        return count_turns(state.messages) < max_turns

    agent = react_agent(
        prompt=AgentPrompt(instructions=system_prompt, assistant_prompt=None, handoff_prompt=None),
        tools=[python(timeout=tool_timeout)],
        submit=False,
        on_continue=continue_while_tools,
    )
    steps = chain(prompt_template(template), as_solver(agent))

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        try:
            return await steps(state, generate)
        finally:
            state.store.set(TOOL_CALLS_KEY, count_tool_calls(state.messages))

    return solve


def count_turns(messages: list[ChatMessage]) -> int:
    return sum(isinstance(m, ChatMessageAssistant) for m in messages)


def count_tool_calls(messages: list[ChatMessage]) -> int:
    return sum(len(m.tool_calls or []) for m in messages if isinstance(m, ChatMessageAssistant))
