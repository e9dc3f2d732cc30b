"""Language Self-Play (Kuba et al. 2025) as an evaluation: the pure parts.

Everything here is import-light and free of model calls, so it is unit-tested directly:

- the typed records of one game (what the solver stores, what the scorer computes);
- parsing of model output (the Challenger's instruction, the judges' ``<Score>`` tags),
  bounded and never raising;
- the advantage math of LSP-Zero and LSP (the paper's §3.1);
- diversity statistics of the generated instructions;
- the rollout export schema (:data:`RolloutRecord`) and the advantages table.

Advantages, for one game of N queries q_i with G answers a_ij, reward R_ij (reward judge)
and quality self-reward Q_ij (the 0-7 additive rubric), quality weight w (default 1):

- ``V(q_i) = mean_j R_ij``, ``V_Q(q_i) = mean_j Q_ij``, ``V̄ = mean_i V(q_i)``.
- LSP-Zero: Solver ``A_ij = R_ij - V(q_i)``; Challenger ``A_i = V̄ - V(q_i)`` (its reward is
  ``-V(q_i)``, the advantage is that reward minus its batch mean).
- LSP: Solver reward ``R_ij + w·Q_ij``, ``A_ij = (R_ij + w·Q_ij) - (V(q_i) + w·V_Q(q_i))``;
  Challenger reward ``-V(q_i) + w·V_Q(q_i)``, ``A_i`` = that reward minus its batch mean,
  i.e. ``(V̄ - V(q_i)) + w·(V_Q(q_i) - V̄_Q)``.

Missing values (an unparseable judgement) are left out of the means they would enter:
``V`` averages the answers that have a reward, ``V_Q`` those that have a quality score, the
LSP Solver baseline those that have both; a rollout or query lacking what its advantage
needs gets ``None`` and a reason. With nothing missing the formulas above hold exactly.
"""

from __future__ import annotations

import re
from statistics import fmean
from typing import Annotated, Any, Iterable, Literal, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

STORE_KEY = "self_play"
"""Key of the game (:class:`GameRollouts`) in the sample store."""

SCHEMA_VERSION = "lsp-rollout/1"
"""Version tag on every exported rollout line."""

MAX_PARSE_CHARS = 20_000
"""Judge completions longer than this are read only in their last MAX_PARSE_CHARS characters."""

START_TAG, END_TAG = "[Start Generation]", "[End Generation]"

NEAR_DUPLICATE_THRESHOLD = 0.6
"""Two instructions are near-duplicates when the Jaccard similarity of their word 3-gram sets is at least this."""

SHINGLE = 3
"""Word n-gram size for the near-duplicate test."""


# --------------------------------------------------------------------------------------
# records of one game
# --------------------------------------------------------------------------------------


class Query(BaseModel):
    """One Challenger sample and the Solver's answers to it (written by the solver)."""

    index: int
    raw: str
    """The Challenger's completion as generated."""
    instruction: str | None
    """The instruction read from ``raw``; None when it is unusable (see ``reason``)."""
    reason: str | None = None
    """Why the query is unusable: ``empty_instruction``, ``instruction_too_long``, ``challenger_error``."""
    answers: list[str] = Field(default_factory=list)
    """The Solver's G answers (empty for an unusable query)."""


class GameRollouts(BaseModel):
    """What the solver stores per sample under :data:`STORE_KEY`: the game before judging."""

    challenger_prompt: str
    challenger_model: str
    solver_model: str
    n: int
    g: int
    queries: list[Query]


class Judgement(BaseModel):
    value: float | None
    reason: str | None = None
    """None when parsed; else ``no_score_tag``, ``not_a_number``, ``out_of_range``, ``judge_error``."""
    raw: str = ""
    """The judge's completion, cut to 500 characters (for audit)."""


class RolloutResult(BaseModel):
    answer_index: int
    reward: Judgement
    quality: Judgement | None
    """None when the quality self-reward is switched off (LSP-Zero only)."""
    advantage_lsp_zero: float | None
    advantage_lsp: float | None


class QueryResult(BaseModel):
    index: int
    valid: bool
    reason: str | None
    v: float | None
    v_q: float | None
    challenger_advantage_lsp_zero: float | None
    challenger_advantage_lsp: float | None
    rollouts: list[RolloutResult]


class Diversity(BaseModel):
    n_instructions: int
    distinct_1: float | None
    """Unique word unigrams / all word unigrams (None without any word)."""
    distinct_2: float | None
    near_duplicate_rate: float | None
    """Share of instructions that near-duplicate an earlier one (None for no instruction)."""


class GameResult(BaseModel):
    """What the scorer computes per sample (in ``Score.metadata["self_play"]``)."""

    quality_weight: float
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD
    v_bar: float | None
    v_q_bar: float | None
    queries: list[QueryResult]
    diversity: Diversity
    instructions: list[str]


# --------------------------------------------------------------------------------------
# parsing model output (hostile input: bounded, never raises)
# --------------------------------------------------------------------------------------


def extract_instruction(raw: str, max_chars: int) -> tuple[str | None, str | None]:
    """(instruction, reason) from a Challenger completion.

    The prompt asks for the filled template without the generation tags; a completion that
    still holds them is read between them. Empty or whitespace-only output, or output longer
    than ``max_chars``, is unusable.
    """
    text = raw or ""
    if len(text) > 4 * max_chars + 1000:
        return None, "instruction_too_long"
    start = text.find(START_TAG)
    if start >= 0:
        text = text[start + len(START_TAG):]
        end = text.find(END_TAG)
        text = text[:end] if end >= 0 else text
    else:
        text = text.replace(END_TAG, "")
    text = text.strip()
    if not text:
        return None, "empty_instruction"
    if len(text) > max_chars:
        return None, "instruction_too_long"
    return text, None


_SCORE_TAG = re.compile(r"<score>([^<]*)</score>", re.IGNORECASE | re.ASCII)
"""``<Score>…</Score>`` with no ``<`` inside. Linear time: ``[^<]*`` stops at the next ``<``, so
the text scanned after each opening tag ends where the next one could start."""
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")

MAX_SCORE_CHARS = 40
"""A tag whose content (surrounding space stripped) is longer than this is ``not_a_number``."""


def parse_score(completion: str, low: float, high: float, integer: bool = True) -> Judgement:
    """The last ``<Score>k</Score>`` of a judge completion, checked against [low, high].

    Only the last :data:`MAX_PARSE_CHARS` characters are read and only the last tag counts
    (a judge quoting a reply's injected tag before its own verdict is judged by its
    verdict); its content must be a plain number (``not_a_number`` otherwise, also when it
    is longer than :data:`MAX_SCORE_CHARS`). Linear time in the bounded tail.
    """
    text = completion or ""
    raw = text[:500]
    tail = text[-MAX_PARSE_CHARS:]
    last = None
    for last in _SCORE_TAG.finditer(tail):
        pass
    if last is None:
        return Judgement(value=None, reason="no_score_tag", raw=raw)
    content = last.group(1).strip()
    if len(content) > MAX_SCORE_CHARS or not _NUMBER.fullmatch(content):
        return Judgement(value=None, reason="not_a_number", raw=raw)
    value = float(content)
    if integer and not value.is_integer():
        return Judgement(value=None, reason="not_a_number", raw=raw)
    if not low <= value <= high:
        return Judgement(value=None, reason="out_of_range", raw=raw)
    return Judgement(value=value, reason=None, raw=raw)


# --------------------------------------------------------------------------------------
# advantages
# --------------------------------------------------------------------------------------


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def compute_game(
    queries: Sequence[Query],
    rewards: Sequence[Sequence[Judgement]],
    qualities: Sequence[Sequence[Judgement]] | None,
    quality_weight: float = 1.0,
    near_duplicate_threshold: float = NEAR_DUPLICATE_THRESHOLD,
) -> GameResult:
    """V, V_Q and the LSP-Zero / LSP advantages of one game (see the module docstring).

    ``rewards[i][j]`` and ``qualities[i][j]`` judge answer j of query i (empty lists for
    an unusable query); ``qualities=None`` means the self-reward was not computed, so the
    LSP columns are None.
    """
    w = quality_weight
    partial: list[tuple[Query, float | None, float | None, list[RolloutResult]]] = []
    for qi, query in enumerate(queries):
        rs = list(rewards[qi]) if qi < len(rewards) else []
        qs = list(qualities[qi]) if qualities is not None and qi < len(qualities) else None
        v = _mean(r.value for r in rs)
        v_q = _mean(q.value for q in qs) if qs is not None else None
        joint = (
            [r.value + w * q.value for r, q in zip(rs, qs) if r.value is not None and q.value is not None]
            if qs is not None
            else []
        )
        lsp_base = fmean(joint) if joint else None
        rollouts = []
        for j, r in enumerate(rs):
            q = qs[j] if qs is not None and j < len(qs) else None
            adv_zero = r.value - v if r.value is not None and v is not None else None
            adv_lsp = (
                r.value + w * q.value - lsp_base
                if q is not None and r.value is not None and q.value is not None and lsp_base is not None
                else None
            )
            rollouts.append(
                RolloutResult(answer_index=j, reward=r, quality=q, advantage_lsp_zero=adv_zero, advantage_lsp=adv_lsp)
            )
        partial.append((query, v, v_q, rollouts))

    v_bar = _mean(v for query, v, _, _ in partial if query.instruction is not None)
    v_q_bar = _mean(vq for query, _, vq, _ in partial if query.instruction is not None)
    ch_rewards = [
        -v + w * v_q if query.instruction is not None and v is not None and v_q is not None else None
        for query, v, v_q, _ in partial
    ]
    ch_base = _mean(ch_rewards)

    results = []
    for (query, v, v_q, rollouts), ch_reward in zip(partial, ch_rewards):
        valid = query.instruction is not None
        reason = query.reason
        if valid and v is None:
            reason = "no_scored_answer"
        results.append(
            QueryResult(
                index=query.index,
                valid=valid,
                reason=reason,
                v=v,
                v_q=v_q,
                challenger_advantage_lsp_zero=v_bar - v if v is not None and v_bar is not None else None,
                challenger_advantage_lsp=ch_reward - ch_base if ch_reward is not None and ch_base is not None else None,
                rollouts=rollouts,
            )
        )
    instructions = [q.instruction for q in queries if q.instruction is not None]
    return GameResult(
        quality_weight=w,
        near_duplicate_threshold=near_duplicate_threshold,
        v_bar=v_bar,
        v_q_bar=v_q_bar,
        queries=results,
        diversity=diversity(instructions, near_duplicate_threshold),
        instructions=instructions,
    )


# --------------------------------------------------------------------------------------
# diversity
# --------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    """Distinct-n (Li et al. 2016): unique word n-grams / all word n-grams over ``texts``."""
    total = 0
    unique: set[tuple[str, ...]] = set()
    for text in texts:
        toks = words(text)
        grams = [tuple(toks[k : k + n]) for k in range(len(toks) - n + 1)]
        total += len(grams)
        unique.update(grams)
    return len(unique) / total if total else None


def shingles(text: str, k: int = SHINGLE) -> frozenset[tuple[str, ...]]:
    """Word k-gram set of a text (the whole word tuple when it has fewer than k words)."""
    toks = words(text)
    if len(toks) < k:
        return frozenset([tuple(toks)])
    return frozenset(tuple(toks[i : i + k]) for i in range(len(toks) - k + 1))


def near_duplicate_flags(texts: Sequence[str], threshold: float = NEAR_DUPLICATE_THRESHOLD) -> list[bool]:
    """flags[i]: text i has Jaccard(shingles) >= threshold with some earlier text.

    Exact, without comparing every pair: a prefix-filtered set-similarity join. Shingles are
    ordered rarest first; two sets with Jaccard >= t must share one of the first
    ``|s| - ceil(t·|s|) + 1`` shingles of each, so only texts sharing such a prefix shingle
    are compared (and the size filter ``t·|a| <= |b| <= |a|/t`` prunes the rest).
    """
    import math
    from collections import Counter, defaultdict

    if not 0.0 < threshold <= 1.0:
        raise ValueError("near-duplicate threshold must be in (0, 1]")
    sets = [shingles(t) for t in texts]
    freq = Counter(s for st in sets for s in st)
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    flags = []
    eps = 1e-12
    for i, st in enumerate(sets):
        ordered = sorted(st, key=lambda s: (freq[s], s))
        prefix = ordered[: len(ordered) - math.ceil(threshold * len(ordered) - eps) + 1]
        found = False
        seen: set[int] = set()
        for s in prefix:
            for j in index[s]:
                if j in seen:
                    continue
                seen.add(j)
                other = sets[j]
                if not threshold * len(st) - eps <= len(other) <= len(st) / threshold + eps:
                    continue
                inter = len(st & other)
                if inter >= threshold * (len(st) + len(other) - inter) - eps:
                    found = True
                    break
            if found:
                break
        flags.append(found)
        for s in prefix:
            index[s].append(i)
    return flags


def diversity(texts: Sequence[str], threshold: float = NEAR_DUPLICATE_THRESHOLD) -> Diversity:
    flags = near_duplicate_flags(texts, threshold)
    return Diversity(
        n_instructions=len(texts),
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        near_duplicate_rate=sum(flags) / len(flags) if flags else None,
    )


# --------------------------------------------------------------------------------------
# export schema
# --------------------------------------------------------------------------------------


class ChatTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str


class _RolloutBase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal["lsp-rollout/1"] = SCHEMA_VERSION
    log: str
    """The inspect log the rollout was read from."""
    eval_id: str
    game_id: str
    """The sample id (one game = one LSP iteration)."""
    epoch: int
    query_index: int
    model: str
    """The model that generated ``completion``."""
    prompt: list[ChatTurn]
    """The chat input the completion was sampled from."""
    completion: str
    """The generated text the policy gradient applies to."""


class ChallengerRollout(_RolloutBase):
    """One Challenger query: ``prompt`` is the Challenger prompt, ``completion`` its raw output."""

    role: Literal["challenger"] = "challenger"
    instruction: str | None
    """The instruction read from the completion (None: unusable, see ``reason``)."""
    reason: str | None
    v: float | None
    """V(q): mean reward of the Solver's answers."""
    v_q: float | None
    """V_Q(q): mean quality self-reward of the answers."""
    reward_lsp_zero: float | None
    """-V(q)."""
    reward_lsp: float | None
    """-V(q) + w·V_Q(q)."""
    advantage_lsp_zero: float | None
    """V̄ - V(q)."""
    advantage_lsp: float | None
    """reward_lsp minus its mean over the game's queries."""


class SolverRollout(_RolloutBase):
    """One Solver answer: ``prompt`` is the instruction as a user turn, ``completion`` the answer."""

    role: Literal["solver"] = "solver"
    answer_index: int
    reward: float | None
    """R(q, a) from the reward judge (None: unparseable, see ``reward_reason``)."""
    reward_reason: str | None
    quality: float | None
    """R_Q(q, a), the 0-7 quality self-reward (None: unparseable or not computed)."""
    quality_reason: str | None
    reward_lsp: float | None
    """R + w·R_Q."""
    advantage_lsp_zero: float | None
    """R - V(q)."""
    advantage_lsp: float | None
    """(R + w·R_Q) - (V(q) + w·V_Q(q))."""


RolloutRecord = Annotated[Union[ChallengerRollout, SolverRollout], Field(discriminator="role")]
"""One line of ``rollouts.jsonl`` (told apart by ``role``)."""

ROLLOUT_ADAPTER: TypeAdapter[Any] = TypeAdapter(RolloutRecord)


def rollout_records(
    game: GameRollouts, result: GameResult, *, log: str, eval_id: str, game_id: str, epoch: int
) -> list[ChallengerRollout | SolverRollout]:
    """The rollouts of one judged game: per query one Challenger record, then its G Solver records."""
    w = result.quality_weight
    by_index = {q.index: q for q in result.queries}
    records: list[ChallengerRollout | SolverRollout] = []
    common = dict(log=log, eval_id=eval_id, game_id=game_id, epoch=epoch)
    for query in game.queries:
        qr = by_index.get(query.index)
        v = qr.v if qr else None
        v_q = qr.v_q if qr else None
        records.append(
            ChallengerRollout(
                **common,
                query_index=query.index,
                model=game.challenger_model,
                prompt=[ChatTurn(role="user", content=game.challenger_prompt)],
                completion=query.raw,
                instruction=query.instruction,
                reason=qr.reason if qr else query.reason,
                v=v,
                v_q=v_q,
                reward_lsp_zero=-v if v is not None else None,
                reward_lsp=-v + w * v_q if v is not None and v_q is not None else None,
                advantage_lsp_zero=qr.challenger_advantage_lsp_zero if qr else None,
                advantage_lsp=qr.challenger_advantage_lsp if qr else None,
            )
        )
        if query.instruction is None or qr is None:
            continue
        for ro in qr.rollouts:
            answer = query.answers[ro.answer_index] if ro.answer_index < len(query.answers) else ""
            r, q = ro.reward.value, ro.quality.value if ro.quality else None
            records.append(
                SolverRollout(
                    **common,
                    query_index=query.index,
                    answer_index=ro.answer_index,
                    model=game.solver_model,
                    prompt=[ChatTurn(role="user", content=query.instruction)],
                    completion=answer,
                    reward=r,
                    reward_reason=ro.reward.reason,
                    quality=q,
                    quality_reason=(ro.quality.reason if ro.quality else "not_computed"),
                    reward_lsp=r + w * q if r is not None and q is not None else None,
                    advantage_lsp_zero=ro.advantage_lsp_zero,
                    advantage_lsp=ro.advantage_lsp,
                )
            )
    return records


# --------------------------------------------------------------------------------------
# table
# --------------------------------------------------------------------------------------


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _fmt_adv(x: float | None) -> str:
    return "-" if x is None else f"{x:+.3f}"


def _clip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(1, width - 1)] + "…"


def advantages_rows(game_id: str, epoch: int, game: GameRollouts, result: GameResult, width: int = 48) -> list[list[str]]:
    """Rows of the advantages table for one game: one per query."""
    texts = {q.index: q for q in game.queries}
    rows = []
    for qr in result.queries:
        query = texts.get(qr.index)
        label = _clip(query.instruction, width) if query and query.instruction else f"({qr.reason})"
        rows.append(
            [
                f"{game_id}#{epoch}",
                qr.index,
                label,
                _fmt(qr.v),
                _fmt(qr.v_q),
                _fmt_adv(qr.challenger_advantage_lsp_zero),
                _fmt_adv(qr.challenger_advantage_lsp),
                " ".join(_fmt_adv(r.advantage_lsp_zero) for r in qr.rollouts) or "-",
                " ".join(_fmt_adv(r.advantage_lsp) for r in qr.rollouts) or "-",
            ]
        )
    return rows


TABLE_HEADERS = [
    "game",
    "q",
    "instruction",
    "V",
    "V_Q",
    "A_Ch LSP-Zero",
    "A_Ch LSP",
    "A_Sol LSP-Zero",
    "A_Sol LSP",
]


# --------------------------------------------------------------------------------------
# reading games back from an inspect log
# --------------------------------------------------------------------------------------


class LoggedGame(BaseModel):
    game_id: str
    epoch: int
    game: GameRollouts
    result: GameResult | None
    """None when the sample was not judged (an error, or scoring not run)."""


def logged_games(log: Any) -> list[LoggedGame]:
    """The games of a self-play log (an inspect ``EvalLog`` read with its samples).

    The judged result is taken from whichever score carries ``metadata["self_play"]``, so a
    log re-judged with ``inspect score`` (another scorer name) reads the same way.
    """
    games = []
    for sample in log.samples or []:
        stored = (sample.store or {}).get(STORE_KEY)
        if stored is None:
            continue
        result = None
        for score in (sample.scores or {}).values():
            meta = (score.metadata or {}).get("self_play")
            if meta is not None:
                result = GameResult.model_validate(meta)
        games.append(
            LoggedGame(
                game_id=str(sample.id),
                epoch=int(sample.epoch),
                game=GameRollouts.model_validate(stored),
                result=result,
            )
        )
    return games
