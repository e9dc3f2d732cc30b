"""``lsp_game``: one round of the Language Self-Play game (Kuba et al. 2025, Algorithm 1).

Per sample: the Challenger samples N instructions from the Challenger prompt (the sample's
input), then the Solver answers each usable instruction G times. The game is stored in the
sample store under ``harness.benchmarks.self_play.STORE_KEY`` (a :class:`harness.benchmarks.self_play.GameRollouts`);
the judging (reward, quality self-reward) and the advantages are the scorer's job
(scorers/self_play.py), so a log can be re-judged with ``inspect score`` without re-playing.

Roles: ``challenger`` and ``solver`` both default to the evaluated model (LSP: one model
plays both); bind either with ``--model-role challenger=...`` to pit two models.
Every Challenger and Solver call is a fresh sample (``cache=False``): with inspect's cache
on, N identical prompts would otherwise return N identical instructions.

This solver is not listed in ``solvers.SOLVERS``: it is the game itself, not a way of
answering another task's samples.
"""

from __future__ import annotations

from inspect_ai.model import ChatMessage, Model, ModelOutput, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import collect

from harness.calls import Filled, fill, message
from harness.benchmarks.self_play import STORE_KEY, GameRollouts, Query, extract_instruction

CHALLENGER_PROMPT = """\
Background. A language task is a pair (input, output): the input says what to do, the output \
is what doing it produces. For instance, for the task 'summarisation' the input could be a \
paragraph with the request to summarise it in one sentence, and the output that sentence; for \
'arithmetic' the input could be 'What is 17 times 23?' and the output '391'.

Request. Write one input for the task '{task}'. Your input will be given to another agent, \
which will try to produce the output. It may be easy, of intermediate difficulty, hard, or \
simply noisy: its purpose is to stress-test that agent. Write exactly one example.

Details. The input must follow the template given between [Start Generation] and [End \
Generation]: copy it and fill in each of its {{placeholders}}.
[Start Generation]
{template}
[End Generation]

Final remarks. Do not write the output, and do not add hints, solutions or anything else \
that gives the answer away. Do not ask for anything a language agent cannot do (such as \
browsing, acting in the physical world or using files it does not have). Stop as soon as the \
template is filled in, and leave the [Start Generation] and [End Generation] tags out of \
your reply. If the task and the template are both None or empty, decide on a task and a \
format yourself.
"""
"""The Challenger prompt (our wording of the paper's Box 1); ``{task}`` and ``{template}``."""

DEFAULT_N = 8
"""Queries per game: the paper's #queries (Table 1)."""

DEFAULT_G = 4
"""Answers per query (the paper does not state G)."""

MAX_INSTRUCTION_CHARS = 4000
"""A longer Challenger instruction is unusable (``instruction_too_long``)."""


def challenger_prompt(task: str = "", template: str = "") -> str:
    """The Challenger prompt for a task name and a template (either may be empty)."""
    return CHALLENGER_PROMPT.format(task=task or "None", template=template or "None")


async def _sample(model: Model, prompt: ChatMessage) -> tuple[str, str | None]:
    """One fresh completion; a provider error becomes a reason instead of ending the game."""
    output: ModelOutput = await model.generate([prompt], cache=False)
    if output.error:
        return output.completion or "", f"model_error: {output.error[:200]}"
    return output.completion or "", None


def _solver_prompt(query: Query, answer: int) -> ChatMessage:
    """The instruction as the Solver's whole user message (tagged with the query and answer index)."""
    filled = fill("{instruction}", {"instruction": query.instruction or ""})
    return message("lsp_solver", filled, query=query.index, answer=answer)


@solver
def lsp_game(n: int = DEFAULT_N, g: int = DEFAULT_G, max_instruction_chars: int = MAX_INSTRUCTION_CHARS) -> Solver:
    """Play one LSP round per sample: N Challenger queries, G Solver answers each."""
    if n < 1 or g < 1:
        raise ValueError(f"lsp_game needs n >= 1 and g >= 1 (got n={n}, g={g})")

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        challenger = get_model(role="challenger")
        solver_model = get_model(role="solver")
        prompt = state.input_text

        raws = await collect(
            *(_sample(challenger, message("lsp_challenger", Filled(text=prompt), query=i)) for i in range(n))
        )
        queries: list[Query] = []
        for i, (raw, error) in enumerate(raws):
            instruction, reason = extract_instruction(raw, max_instruction_chars)
            if error:
                instruction, reason = None, "challenger_error"
            queries.append(Query(index=i, raw=raw, instruction=instruction, reason=reason))

        usable = [q for q in queries if q.instruction is not None]
        answers = await collect(
            *(_sample(solver_model, _solver_prompt(q, j)) for q in usable for j in range(g))
        )
        for k, q in enumerate(usable):
            # a Solver call that errored still counts as an answer (the empty one): the
            # judges see it and it gets a reward like any other failure of the Solver
            q.answers = [text for text, _ in answers[k * g : (k + 1) * g]]

        game = GameRollouts(
            challenger_prompt=prompt,
            challenger_model=str(challenger),
            solver_model=str(solver_model),
            n=n,
            g=g,
            queries=queries,
        )
        state.store.set(STORE_KEY, game.model_dump(mode="json"))
        listing = "\n".join(
            f"{q.index + 1}. {q.instruction}" if q.instruction else f"{q.index + 1}. ({q.reason})"
            for q in queries
        )
        state.output = ModelOutput.from_content(model=str(challenger), content=listing)
        return state

    return solve
