"""The Training-Free GRPO training loop: resumable, concurrent, accounted.

Per epoch the training set is shuffled (``random.Random(seed)``, one shuffle per epoch as
in [B]) and cut into batches; each batch is one *step*:

1. **rollouts**: one inspect eval of the task with ``solver=tfgrpo`` (the current library
   in the prompt), ``epochs=G``, the rollout temperature and max tokens, only the batch's
   samples. Rewards are the task's own scorer. A rollout that errors is re-run
   (``retry_on_error``); one that still fails, or is unscored, is *failed*: counted in the
   step, left out of its group and of the summaries (as [B] and [M] drop rollouts without
   a trajectory), never summarised as a wrong attempt. All rollouts run concurrently,
   bounded by the model's max connections.
2. **filter**: with ground truth and G > 1, groups whose rewards are all equal are
   skipped ([B]); otherwise every group is processed.
3. **summary** per rollout and **group advantage** per group (concurrent, each group's
   advantage starts as soon as its summaries are in).
4. **consolidation**: one call per step reconciling the proposed operations; the plan is
   validated and applied, ids renumbered ``G0..``.

Steps 3-4 are those of the config's prompt set: the math set as above; the web set
(``harness/tfgrpo/web_stages.py``) runs summary -> critique -> group update per group and a
batch update per step. A step whose rollouts failed for the most part stops the run
(:class:`RolloutsFailed`) instead of learning from the few left.

Checkpoints live in the run directory (default ``<out>.run/``), created only once every
setting has been checked (task, data, solver options, output path): a start that fails
leaves nothing behind. ``step_<s>/library.json`` (library used by the step's rollouts;
its presence marks the run as started), ``step_<s>/rollouts.json`` (after an eval that
returned every rollout), ``step_<s>/rollout_usage.jsonl`` (the usage of every rollout call
the provider answered, appended as it arrives), ``step_<s>/journal.jsonl`` (every stage
call's output, appended as it arrives) and ``step_<s>/result.json`` (step done). Rollout
model calls are also cached per call in ``cache/`` (inspect's cache, ``per_epoch``), so a
rollout eval stopped half-way replays its finished calls instead of repeating them.
``--resume`` therefore redoes only unfinished calls, accounts every answered call exactly
once, and, given the same model outputs, ends with the same library as an uninterrupted run.

Ctrl-C (SIGINT) cancels the calls in flight and raises :class:`TrainingInterrupted`; what
was answered before is kept as above.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import random
import re
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, cast

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
    Model,
)
from inspect_ai.hooks import Hooks, ModelUsageData, hooks
from pydantic import BaseModel, Field

from harness.experience import (
    Experience,
    ExperienceLibrary,
    Provenance,
    StageUsage,
    StepStats,
    atomic_write_text,
    renumber,
)
from harness.tfgrpo import ROLLOUT_MAX_TOKENS
from harness.tfgrpo import prompts as P
from harness.tfgrpo.web_stages import WebStages
from harness.tfgrpo.operations import (
    GROUP_OPTIONS,
    PLAN_OPTIONS,
    MalformedOutput,
    Operation,
    apply_plan,
    apply_web_plan,
    extract_list,
    clean_text,
    parse_operations,
)

MAX_TRAJECTORY_CHARS = 60_000
"""A trajectory longer than this is shown to the summary stage as head + tail."""

CORRECT = 1.0
"""A rollout counts as correct (Pass@G, the "correct/wrong" label) when its reward reaches this."""


class TrainConfig(BaseModel):
    """Everything that defines a run (checked against the checkpoint on ``--resume``)."""

    task: str
    model: str
    model_args: dict[str, Any] = Field(default_factory=dict)
    data: str | None = None
    task_args: dict[str, Any] = Field(default_factory=dict)
    epochs: int = 3
    group_size: int = 5
    batch_size: int | None = None
    """None = the whole training set (the paper's math run)."""
    solver: str = "direct"
    solver_args: dict[str, Any] = Field(default_factory=dict)
    placement: str = "user"
    temperature: float = 0.7
    stage_temperature: float = 0.0
    stage_max_tokens: int | None = 16384
    max_tokens: int | None = ROLLOUT_MAX_TOKENS
    """Rollout max tokens ([B] fixes 16384; None = the task's / provider's default)."""
    prompt_set: str = P.PROMPT_SET
    """Name of the stage prompt set (:data:`harness.tfgrpo.prompts.PROMPT_SETS`)."""
    model_roles: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Model roles bound in every rollout eval (e.g. ``grader``, the judge; ``page_reader``):
    role -> ``{"model": name, "config": {GenerateConfig fields}, "model_args": {...}}``."""
    ground_truth: bool = True
    max_operations: int = 1
    retries: int = 3
    seed: int = 42
    max_connections: int | None = None
    timeout: int | None = None
    """Seconds before a model request is abandoned and retried (None: the provider's)."""
    max_retries: int | None = None
    """Retries of a failed model request (None: inspect's default)."""
    retry_on_error: int = 3
    """Re-runs of a rollout sample that errors before it counts as failed (reward 0)."""
    out: str
    run_dir: str | None = None

    def resolved_run_dir(self) -> Path:
        if self.run_dir:
            return Path(self.run_dir)
        out = Path(self.out).expanduser()
        if not out.name or out.is_dir():
            raise ValueError(f"--out {self.out} is a folder; give a file path (e.g. {Path(self.out) / 'library.json'})")
        return out.with_name(out.stem + ".run")

    def identity(self) -> dict[str, Any]:
        """Fields that must not change between a run and its resumption (secrets as hashes)."""
        out = self.model_dump(
            exclude={"max_connections", "run_dir", "out", "timeout", "max_retries", "retry_on_error"}
        )
        out["model_args"] = redact(self.model_args, hashed=True)
        out["model_roles"] = redact_roles(self.model_roles, hashed=True)
        return out


_SECRET_ARG = re.compile(r"(key|secret|password|passwd|auth|token)$", re.I)


def redact(model_args: dict[str, Any], hashed: bool = False) -> dict[str, Any]:
    """Model args with secret-looking values (``api_key``, ``*_token``, ...) hidden.

    ``hashed``: a short sha256 instead of ``<redacted>``, so a changed key is still noticed.
    """

    def hide(value: Any) -> str:
        if not hashed:
            return "<redacted>"
        return "sha256:" + hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:12]

    return {k: hide(v) if _SECRET_ARG.search(str(k)) else v for k, v in model_args.items()}


def redact_roles(roles: dict[str, dict[str, Any]], hashed: bool = False) -> dict[str, dict[str, Any]]:
    """Role specs with their model args redacted (see :func:`redact`)."""
    return {r: {**spec, "model_args": redact(spec.get("model_args") or {}, hashed)} for r, spec in roles.items()}


def role_model(spec: dict[str, Any]) -> Model:
    """The model a role spec names: its own instance (never the evaluated model's, whose eval
    config, e.g. the rollout temperature, would then apply to it too)."""
    from inspect_ai.model import get_model

    config = GenerateConfig(**(spec.get("config") or {}))
    return get_model(str(spec["model"]), config=config, memoize=False, **(spec.get("model_args") or {}))


class Rollout(BaseModel):
    sample_id: str
    epoch: int
    reward: float
    problem: str
    target: str
    trajectory: str
    tool_calls: int = 0
    error: str | None = None
    """Why the rollout failed (errored after its retries, or unscored); None if it did not."""
    ungraded: bool = False
    """The judge's reply held no grade (scored wrong, as [B] does; counted, see :func:`check_failures`)."""

    @property
    def correct(self) -> bool:
        return self.reward >= CORRECT

    @property
    def failed(self) -> bool:
        return self.error is not None


class RolloutsCheckpoint(BaseModel):
    log: str | None = None
    usage: StageUsage = Field(default_factory=StageUsage)
    rollouts: list[Rollout]


class StepResult(BaseModel):
    stats: StepStats
    texts: list[str]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run; everything answered before it is checkpointed (``--resume``)."""


class RolloutsIncomplete(RuntimeError):
    """A step's rollout eval ended without all of its rollouts; nothing of it was checkpointed."""


class RolloutsFailed(RolloutsIncomplete):
    """Most rollouts of a step failed (e.g. a judge that cannot be reached): the run stops
    before learning from the rest; nothing of the step is checkpointed, so ``--resume``
    re-runs its rollouts once the cause is fixed."""


MAX_FAILED_SHARE = 0.5
"""A step stops the run when more than this share of its rollouts failed."""


class StageCallFailed(Exception):
    """A stage call that still raised after its retries (the reason goes into the step's skipped)."""


def append_jsonl(path: Path, entry: dict[str, Any]) -> None:
    """One JSON line, flushed to the OS at once (survives ``kill -9``; not fsynced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of ``path``; a line cut by a crash is skipped."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry


# --------------------------------------------------------------------------- journal


class Journal:
    """Append-only JSONL of stage-call outputs, one line per call.

    Each line is flushed to the OS at once, so it survives the process being killed
    (``kill -9``); it is not fsynced (that would block the event loop once per call), so
    after a power loss the last lines may be missing and those calls are redone.
    """

    def __init__(self, path: Path | None) -> None:
        """``path=None``: in memory only (nothing to resume)."""
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        if path is not None:
            for entry in read_jsonl(path):  # a line cut by a crash is skipped: that call is redone
                if "key" in entry:
                    self.entries[entry["key"]] = entry

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    def put(self, key: str, completion: str, usage: dict[str, Any]) -> None:
        entry = {"key": key, "completion": completion, "usage": usage}
        if self.path is not None:
            append_jsonl(self.path, entry)
        self.entries[key] = entry


# --------------------------------------------------------------------------- stage calls


STAGE_ERROR_RETRIES = 3
"""Re-asks of a stage call that raised (after inspect's own request retries)."""


class StageCaller:
    """Model calls of the summary / advantage / consolidation stages, journaled and retried."""

    def __init__(self, model: Model, cfg: TrainConfig, on_usage: Callable[[str, StageUsage], None]) -> None:
        self.model = model
        self.prompts = P.get_prompt_set(cfg.prompt_set)
        self.config = GenerateConfig(
            temperature=cfg.stage_temperature,
            max_tokens=cfg.stage_max_tokens,
            max_connections=max_connections(cfg, model),
            timeout=cfg.timeout,
            max_retries=cfg.max_retries,
        )
        self.retries = cfg.retries
        self.on_usage = on_usage
        self.live_calls = 0
        """Model calls actually made by this process (journal replays excluded)."""

    async def complete(self, journal: Journal, stage: str, key: str, messages: list[ChatMessage]) -> str:
        """The answer to one stage call: from the journal, else from the model (journaled).

        Raises :class:`StageCallFailed` when the call still raises after its retries.
        """
        cached = journal.get(key)
        if cached is not None:
            self.on_usage(stage, StageUsage(**cached["usage"]))
            return str(cached["completion"])
        output = None
        for attempt in range(STAGE_ERROR_RETRIES + 1):
            try:
                output = await self.model.generate(messages, config=self.config)
                break
            except Exception as ex:  # errors inspect does not retry itself (e.g. a body that is not JSON)
                if attempt == STAGE_ERROR_RETRIES:
                    raise StageCallFailed(f"{type(ex).__name__}: {str(ex)[:200]}") from ex
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt))
        assert output is not None
        self.live_calls += 1
        usage = StageUsage()
        usage.add(output.usage)
        journal.put(key, output.completion, usage.model_dump())
        self.on_usage(stage, usage)
        return output.completion

    async def ask(
        self,
        journal: Journal,
        stage: str,
        key: str,
        prompt: str,
        parse: Callable[[str], tuple[Any, list[str]]],
        system: str | None = None,
    ) -> tuple[Any | None, list[str]]:
        """Call, parse; on malformed output or rejected entries, retry with the reason.

        ``system``: a system message before the prompt (the web prompt set's stage instructions).
        Returns the last usable parse (possibly partial) and the reasons for what was dropped.
        """
        messages: list[ChatMessage] = [*stage_system(system), ChatMessageUser(content=prompt)]
        reasons: list[str] = []
        best: Any | None = None
        for attempt in range(self.retries + 1):
            try:
                text = await self.complete(journal, stage, f"{key}#{attempt}", messages)
            except StageCallFailed as ex:
                return best, [*reasons, f"{key}: model call failed ({ex})"]
            try:
                value, rejected = parse(text)
            except MalformedOutput as ex:
                reasons = [f"{key} attempt {attempt}: {ex}"]
                why = str(ex)
            else:
                best = value
                reasons = [f"{key} attempt {attempt}: {r}" for r in rejected]
                if not rejected:
                    return value, []
                why = "; ".join(rejected[:5])
            retry = self.prompts.retry.format(reason=why)
            messages = [*messages, ChatMessageAssistant(content=text), ChatMessageUser(content=retry)]
        return best, [*reasons, f"{key}: gave up after {self.retries + 1} attempts"]


def stage_system(system: str | None) -> list[ChatMessage]:
    """The system message of a stage call, if its prompt set has one."""
    return [ChatMessageSystem(content=system)] if system else []


def max_connections(cfg: TrainConfig, model: Model) -> int:
    """--max-connections, else the provider's own limit.

    Explicit, so inspect's adaptive concurrency (which starts low and ramps up) does not
    serialise a step's rollouts or its summaries: all run at once up to this bound.
    """
    return int(cfg.max_connections or model.api.max_connections())


# --------------------------------------------------------------------------- rollouts


def format_trajectory(messages: list[ChatMessage], limit: int = MAX_TRAJECTORY_CHARS) -> str:
    parts = []
    for m in messages:
        text = m.text if hasattr(m, "text") else str(m.content)
        block = f"[{m.role}]\n{text}"
        if isinstance(m, ChatMessageAssistant) and m.tool_calls:
            calls = "\n".join(f"[tool call] {c.function}({json.dumps(c.arguments)[:2000]})" for c in m.tool_calls)
            block = f"{block}\n{calls}"
        if isinstance(m, ChatMessageTool) and m.function:
            block = f"[tool: {m.function}]\n{text}"
        parts.append(block)
    out = "\n\n".join(parts)
    if len(out) > limit:
        half = limit // 2
        out = f"{out[:half]}\n\n[... {len(out) - limit} characters omitted ...]\n\n{out[-half:]}"
    return out


def count_tool_calls(sample: Any) -> int:
    recorded = (sample.store or {}).get("tool_calls")
    if isinstance(recorded, bool):
        recorded = None
    if isinstance(recorded, int):
        return recorded
    if isinstance(recorded, list):
        return len(recorded)
    return sum(isinstance(m, ChatMessageTool) for m in sample.messages)


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{1,16}")


def sample_reward(sample: Any) -> tuple[float, str | None]:
    from inspect_ai.scorer import value_to_float

    if sample.error is not None:
        first = (sample.error.message or "").strip().splitlines()[:1]
        # "<Future at 0x7f..>": without the address, equal errors read (and are counted) as equal
        reason = _ADDRESS.sub("", first[0] if first else "unknown")
        return 0.0, f"error: {reason[:200]}"
    if not sample.scores:
        return 0.0, "unscored"
    score = next(iter(sample.scores.values()))
    try:
        value = float(value_to_float()(score.value))
    except (TypeError, ValueError):
        return 0.0, "unscored"
    if math.isnan(value):
        return 0.0, "unscored"
    return value, None


def _ungraded(sample: Any) -> bool:
    """Whether the sample's judge gave no grade (``reason: no_grade`` in the score's metadata)."""
    from scorers.web_judge import NO_GRADE

    score = next(iter((sample.scores or {}).values()), None)
    return score is not None and (score.metadata or {}).get("reason") == NO_GRADE


def rollouts_from_log(log: Any) -> list[Rollout]:
    out = []
    for s in log.samples or []:
        reward, error = sample_reward(s)
        target = s.target if isinstance(s.target, str) else "\n".join(s.target)
        problem = s.input if isinstance(s.input, str) else next((m.text for m in s.input if m.role == "user"), "")
        out.append(
            Rollout(
                sample_id=str(s.id),
                epoch=int(s.epoch),
                reward=reward,
                problem=problem,
                target=target,
                trajectory=format_trajectory(s.messages),
                tool_calls=count_tool_calls(s),
                error=error,
                ungraded=error is None and _ungraded(s),
            )
        )
    return sorted(out, key=lambda r: (r.sample_id, r.epoch))


_ROLLOUT_USAGE_SINK: Callable[[str, Any], None] | None = None
"""Set while a step's rollout eval runs: receives (model name, ModelUsage) of every live call."""


@hooks(name="tfgrpo_rollout_usage", description="Journals the usage of every rollout call of `harness tfgrpo train`.")
class _RolloutUsageHook(Hooks):
    """inspect calls ``on_model_usage`` once per call the provider answered (never for a
    cache hit), before the answer is cached: journaling it here counts every call exactly
    once across an interrupted run and its resumption, which the eval log of the resumed
    eval cannot (it sees replayed calls as free cache reads)."""

    def enabled(self) -> bool:
        return _ROLLOUT_USAGE_SINK is not None

    async def on_model_usage(self, data: ModelUsageData) -> None:
        if _ROLLOUT_USAGE_SINK is not None:
            _ROLLOUT_USAGE_SINK(data.model_name, data.usage)


@contextmanager
def _rollout_usage_sink(sink: Callable[[str, Any], None]) -> Iterator[None]:
    global _ROLLOUT_USAGE_SINK
    _ROLLOUT_USAGE_SINK = sink
    try:
        yield
    finally:
        _ROLLOUT_USAGE_SINK = None


def journaled_usage(path: Path) -> StageUsage:
    """The summed usage of a step's rollout-usage journal (one line per answered call)."""
    total = StageUsage()
    for entry in read_jsonl(path):
        if isinstance(entry.get("usage"), dict):
            total.add(StageUsage(**entry["usage"]))
    return total


def _cache_package_scan() -> None:
    """inspect re-scans every installed distribution at each eval start to name the task's
    package (``packages_distributions()``, ~0.5 s here). The installed set does not change
    during a run, so one scan per process is enough: memoise it. Private API; skipped if absent.
    """
    import functools

    try:
        from inspect_ai._util import package
    except ImportError:
        return
    scan = getattr(package, "packages_distributions", None)
    if scan is not None and not hasattr(scan, "cache_info"):
        package.packages_distributions = functools.cache(scan)  # type: ignore[attr-defined]


@contextmanager
def _cache_dir(path: Path) -> Iterator[None]:
    old = os.environ.get("INSPECT_CACHE_DIR")
    os.environ["INSPECT_CACHE_DIR"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("INSPECT_CACHE_DIR", None)
        else:
            os.environ["INSPECT_CACHE_DIR"] = old


def check_failures(rollouts: list[Rollout], step: int, log: str | None) -> None:
    """Raise :class:`RolloutsFailed` when more than :data:`MAX_FAILED_SHARE` of a step's
    rollouts failed, naming the commonest reasons, or when the judge graded no more than
    that share (its replies held no grade: a broken checker, whose zeros would read as
    wrong answers). A run must not finish "successfully" with an empty library because,
    say, every judge call errored."""
    from collections import Counter

    failed = [r for r in rollouts if r.failed]
    if rollouts and len(failed) > MAX_FAILED_SHARE * len(rollouts):
        reasons = Counter(str(r.error) for r in failed).most_common(2)
        why = "; ".join(f"{n}x {reason[:240]}" for reason, n in reasons)
        raise RolloutsFailed(
            f"step {step + 1}: {len(failed)} of {len(rollouts)} rollouts failed ({why}), so the step would learn "
            f"from too little; nothing of it was checkpointed (log: {log})"
        )
    ungraded = [r for r in rollouts if r.ungraded]
    if rollouts and len(ungraded) > MAX_FAILED_SHARE * len(rollouts):
        raise RolloutsFailed(
            f"step {step + 1}: the judge's reply held no grade for {len(ungraded)} of {len(rollouts)} rollouts "
            f"(is --judge a model that follows the grading prompt?), so their rewards mean nothing; nothing of "
            f"the step was checkpointed (log: {log})"
        )


def build_task(cfg: TrainConfig, experiences: Path | None) -> Any:
    from harness import _registry

    names = [spec.split(":")[-1] for spec in _registry.TASKS]
    fn = getattr(_registry, cfg.task, None) if cfg.task in names else None
    if fn is None:
        raise ValueError(f"unknown task {cfg.task!r}: --task takes one of {', '.join(names)}")
    args: dict[str, Any] = dict(cfg.task_args)
    if cfg.data is not None:
        args["data"] = cfg.data
    if experiences is None:
        return fn(**args)
    return fn(
        **args,
        solver="tfgrpo",
        experiences=str(experiences.resolve()),
        base_solver=cfg.solver,
        placement=cfg.placement,
        # the step libraries carry no provenance: name the template of the prompt set ([B] web
        # trains and evaluates with the web template, math with the math one)
        injection=P.get_prompt_set(cfg.prompt_set).pipeline,
        **cfg.solver_args,
    )


def sha256_file(path: str | None) -> str | None:
    """sha256 of a local file (None if ``path`` is not one, e.g. hub data)."""
    if path is None or not Path(path).expanduser().is_file():
        return None
    digest = hashlib.sha256()
    with Path(path).expanduser().open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_writable(path: Path, flag: str) -> None:
    """``path`` can be created: not a folder, and its nearest existing parent is a writable folder."""
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a folder; give a file path")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise ValueError(f"{flag} {path}: cannot write in {parent}")


# --------------------------------------------------------------------------- the loop


def summary_items(
    group: list[Rollout], summaries: list[tuple[str | None, str | None]], graded: str | None, ungraded: str
) -> tuple[list[str], list[str]]:
    """The group's summaries as numbered items for the critique prompt (``graded`` names the
    attempt's grade when ground truth is used, else ``ungraded``), and why any are missing."""
    items = []
    for i, (r, (text, _)) in enumerate(zip(group, summaries)):
        if text is None:
            continue
        if graded is not None:
            items.append(graded.format(index=i + 1, grade="correct" if r.correct else "wrong", summary=text))
        else:
            items.append(ungraded.format(index=i + 1, summary=text))
    return items, [why for _, why in summaries if why is not None]


class Trainer:
    def __init__(
        self,
        cfg: TrainConfig,
        model: Model,
        progress: Any | None = None,
        resume: bool = False,
        roles: dict[str, Model] | None = None,
    ) -> None:
        """``roles``: the models of ``cfg.model_roles`` if already created (the CLI creates them
        first, to report a judge that cannot be created before anything starts)."""
        self.cfg = cfg
        self.model = model
        self.roles = roles if roles is not None else {r: role_model(spec) for r, spec in cfg.model_roles.items()}
        self.run = cfg.resolved_run_dir()
        self.progress = progress
        self.resume = resume
        self.prompts = P.get_prompt_set(cfg.prompt_set)
        self.step_usage: dict[str, StageUsage] = {}
        self.caller = StageCaller(model, cfg, self._add_usage)
        self.web = WebStages(self) if self.prompts.pipeline == "web" else None
        """The web pipeline's stages (None: the math pipeline, this class's own group/consolidate)."""

    # ---- bookkeeping
    def _add_usage(self, stage: str, usage: StageUsage) -> None:
        self.step_usage.setdefault(stage, StageUsage()).add(usage)
        if self.progress:
            self.progress.usage(stage, usage)

    def _phase(self, text: str, **kw: Any) -> None:
        if self.progress:
            self.progress.phase(text, **kw)

    def _note(self, text: str) -> None:
        if self.progress:
            self.progress.note(text)

    def started(self) -> bool:
        """A run folder is a run once its first step has begun (``step_0/library.json``)."""
        return any(self.run.glob("step_*/library.json"))

    def validate(self) -> list[str]:
        """Check everything a step needs before anything is written; returns the sample ids.

        Builds the task (data, hub, task arguments) and the rollout task with an empty
        library (solver, its options, placement), and checks the output paths.
        """
        c = self.cfg
        _check_writable(Path(c.out).expanduser(), "--out")
        dataset = build_task(c, None).dataset
        sample_ids = [str(s.id) for s in dataset]
        if not sample_ids:
            raise ValueError(f"task {c.task} has no samples")
        duplicates = sorted({i for i in sample_ids if sample_ids.count(i) > 1}) if len(set(sample_ids)) < len(sample_ids) else []
        if duplicates:
            raise ValueError(f"task {c.task}: duplicate sample ids ({', '.join(duplicates[:5])}); groups are keyed by id")
        with tempfile.TemporaryDirectory(prefix="tfgrpo-check-") as tmp:
            rollout_task = build_task(c, ExperienceLibrary().save(Path(tmp) / "library.json"))
        if (rollout_task.metadata or {}).get("serper_key_set") is False:
            # every search would fail (an observation, not an error): the library would be
            # learned from closed-book attempts that look like web rollouts
            raise ValueError(
                "SERPER_API_KEY is not set, so every search of the rollouts would fail; set it, or pick another "
                "search engine (-S search_engine=inspect -S search_providers=...)"
            )
        if self.run.exists() and not self.run.is_dir():
            raise ValueError(f"run folder {self.run} is a file; pass another --run-dir")
        return sample_ids

    def open_run(self) -> None:
        """Create (or reopen, with ``--resume``) the run folder and its ``config.json``."""
        identity = json.loads(json.dumps(self.cfg.identity()))
        if self.started():
            if not self.resume:
                raise ValueError(
                    f"{self.run} holds a run already: add --resume to continue it, or remove that folder "
                    "(or pass another --run-dir) to start over."
                )
            saved = _read_json(self.run / "config.json").get("identity", {})
            # a setting added after the run started (e.g. model_roles) is the same if it has its default
            defaults = json.loads(json.dumps(TrainConfig.model_construct().model_dump(include=set(identity))))
            saved = {**{k: v for k, v in identity.items() if k not in saved and v == defaults.get(k)}, **saved}
            if saved != identity:
                diff = sorted(k for k in set(identity) | set(saved) if saved.get(k) != identity.get(k))
                raise ValueError(
                    f"--resume: {self.run} was started with different settings ({', '.join(diff)}); "
                    "resume with the original ones, or start over in another --run-dir."
                )
            return
        if self.resume:
            self._note(f"no step was started in {self.run} yet: starting the run")
        self.run.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.run / "config.json",
            json.dumps({"identity": identity, "config": {**self.cfg.model_dump(), "model_args": redact(self.cfg.model_args),
                                                         "model_roles": redact_roles(self.cfg.model_roles)}}, indent=2),
        )

    def provenance(self, sample_ids: list[str]) -> Provenance:
        c = self.cfg
        return Provenance(
            model=str(self.model),
            model_args=redact(c.model_args),
            task=c.task,
            task_args=c.task_args,
            data=c.data,
            data_sha256=sha256_file(c.data),
            seed=c.seed,
            epochs=c.epochs,
            batch_size=c.batch_size or len(sample_ids),
            group_size=c.group_size,
            temperature=c.temperature,
            max_tokens=c.max_tokens,
            stage_temperature=c.stage_temperature,
            stage_max_tokens=c.stage_max_tokens,
            retries=c.retries,
            solver=c.solver,
            solver_args={**c.solver_args, "placement": c.placement},
            ground_truth=c.ground_truth,
            max_operations=c.max_operations,
            prompt_set=self.prompts.name,
            prompt_set_sha256=self.prompts.sha256,
            model_roles=redact_roles(c.model_roles),
            train_sample_ids=sample_ids,
            test_double=str(self.model).startswith("testdouble/"),
        )

    # ---- the run
    async def train(self) -> ExperienceLibrary:
        c = self.cfg
        sample_ids = self.validate()
        self.open_run()
        batch = c.batch_size or len(sample_ids)
        batches = math.ceil(len(sample_ids) / batch)
        total_steps = c.epochs * batches
        rng = random.Random(c.seed)
        texts: list[str] = []
        steps: list[StepStats] = []
        totals: dict[str, StageUsage] = {}
        library = ExperienceLibrary(provenance=self.provenance(sample_ids))
        for epoch in range(c.epochs):
            order = list(sample_ids)
            rng.shuffle(order)
            atomic_write_text(self.run / f"epoch_{epoch}" / "order.json", json.dumps(order))
            for b in range(batches):
                step = epoch * batches + b
                ids = order[b * batch : (b + 1) * batch]
                result = await self.step(step, epoch, b, ids, texts, total_steps)
                texts = result.texts
                steps.append(result.stats)
                for stage, u in result.stats.usage.items():
                    totals.setdefault(stage, StageUsage()).add(u)
                library = ExperienceLibrary(
                    experiences=renumber(texts), provenance=library.provenance, steps=steps, usage=totals
                )
                library.save(c.out)
        return library

    async def step(self, step: int, epoch: int, batch: int, ids: list[str], texts: list[str], total: int) -> StepResult:
        c = self.cfg
        folder = self.run / f"step_{step}"
        done = folder / "result.json"
        if done.is_file():
            result = StepResult.model_validate_json(done.read_text(encoding="utf-8"))
            if self.progress:
                self.progress.step_done(result.stats, resumed=True, total=total)
            return result
        started = time.monotonic()
        self.step_usage = {}
        if self.progress:
            self.progress.start_step(step, total, len(ids) * c.group_size)
        lib_path = folder / "library.json"
        ExperienceLibrary(experiences=renumber(texts)).save(lib_path)
        journal = Journal(folder / "journal.jsonl")

        # 1. rollouts
        phases: dict[str, float] = {}
        mark = time.monotonic()
        rollouts = await self.rollouts(folder, lib_path, ids)
        phases["rollouts"] = round(time.monotonic() - mark, 3)
        valid = [r for r in rollouts.rollouts if not r.failed]
        failed = [r for r in rollouts.rollouts if r.failed]
        skipped = [f"rollout {r.sample_id} epoch {r.epoch} failed ({r.error}): left out of its group" for r in failed]
        by_id: dict[str, list[Rollout]] = {}
        for r in valid:
            by_id.setdefault(r.sample_id, []).append(r)
        groups = [sorted(by_id[i], key=lambda r: r.epoch) for i in ids if i in by_id]
        if self.progress:
            self.progress.rollouts_loaded(rollouts.rollouts)

        # 2. filter
        kept = [g for g in groups if self.keep_group(g)]
        self._phase("summaries + advantages", groups=len(groups), kept=len(kept))

        # 3. summaries and advantages, concurrently per group
        known = {f"G{i}" for i in range(len(texts))}
        rendered = "\n".join(f"[G{i}]. {t}" for i, t in enumerate(texts)) or "None"
        mark = time.monotonic()
        group_stage = self.web.group if self.web else self.group
        results = await asyncio.gather(*(group_stage(journal, g, rendered, known) for g in kept))
        phases["summaries+advantages"] = round(time.monotonic() - mark, 3)
        proposals: list[Operation] = []
        for ops, reasons in results:
            proposals.extend(op for op in ops if op.option != "keep")
            skipped.extend(reasons)
        if self.progress:
            self.progress.proposed(len(proposals))

        # 4. consolidation (sequential, one per step)
        new_texts, applied = list(texts), 0
        if proposals:
            self._phase("consolidation")
            mark = time.monotonic()
            consolidate = self.web.batch if self.web else self.consolidate
            plan, reasons = await consolidate(journal, texts, proposals)
            phases["consolidation"] = round(time.monotonic() - mark, 3)
            skipped.extend(reasons)
            if plan is not None:
                outcome = (apply_web_plan if self.web else apply_plan)(texts, plan)
                new_texts, applied = outcome.texts, outcome.applied
                skipped.extend(outcome.rejected)
        rewards = [r.reward for r in valid]
        usage = {"rollout": rollouts.usage, **self.step_usage}
        stats = StepStats(
            step=step,
            epoch=epoch,
            batch=batch,
            queries=len(ids),
            rollouts=len(rollouts.rollouts),
            mean_reward=sum(rewards) / len(rewards) if rewards else None,
            pass_at_g=sum(any(r.correct for r in g) for g in groups) / len(groups) if groups else None,
            mean_tool_calls=sum(r.tool_calls for r in valid) / len(valid) if valid else None,
            failed_rollouts=len(failed),
            groups=len(groups),
            groups_kept=len(kept),
            operations_proposed=len(proposals),
            operations_applied=applied,
            library_size_before=len(texts),
            library_size_after=len(new_texts),
            skipped=skipped,
            usage=usage,
            wall_seconds=round(time.monotonic() - started, 3),
            phase_seconds=phases,
            rollout_log=rollouts.log,
        )
        result = StepResult(stats=stats, texts=new_texts)
        atomic_write_text(done, result.model_dump_json(indent=2))
        if self.progress:
            self.progress.step_done(stats)
        return result

    def keep_group(self, group: list[Rollout]) -> bool:
        """[B]: the all-equal filter applies only with ground truth and G > 1."""
        if not self.cfg.ground_truth or self.cfg.group_size <= 1:
            return True
        return len({r.reward for r in group}) > 1

    def _record_rollout_usage(self, journal: Path) -> Callable[[str, Any], None]:
        def sink(model_name: str, model_usage: Any) -> None:
            usage = StageUsage()
            usage.add(model_usage)
            append_jsonl(journal, {"model": model_name, "usage": usage.model_dump()})
            if self.progress:
                self.progress.usage("rollout", usage)

        return sink

    async def rollouts(self, folder: Path, lib_path: Path, ids: list[str]) -> RolloutsCheckpoint:
        path = folder / "rollouts.json"
        if path.is_file():
            return RolloutsCheckpoint.model_validate_json(path.read_text(encoding="utf-8"))
        from inspect_ai import eval_async
        from inspect_ai.model import CachePolicy

        c = self.cfg
        self._phase("rollouts")
        task = build_task(c, lib_path)
        kwargs: dict[str, Any] = {"max_connections": max_connections(c, self.model)}
        if c.timeout is not None:
            kwargs["timeout"] = c.timeout
        if c.max_retries is not None:
            kwargs["max_retries"] = c.max_retries
        if c.max_tokens:
            kwargs["max_tokens"] = c.max_tokens
        _cache_package_scan()
        usage_journal = folder / "rollout_usage.jsonl"
        with _cache_dir(self.run / "cache"), _rollout_usage_sink(self._record_rollout_usage(usage_journal)):
            logs = await eval_async(
                task,
                model=self.model,
                model_roles=dict(self.roles) or None,
                epochs=c.group_size,
                sample_id=ids,
                temperature=c.temperature,
                # keyed by step too: a later step with an unchanged library must sample afresh,
                # not replay an earlier step's rollouts
                cache=CachePolicy(expiry=None, per_epoch=True, scopes={"tfgrpo_step": folder.name}),
                log_dir=str(self.run / "logs"),
                fail_on_error=False,
                retry_on_error=c.retry_on_error,
                score_display=False,
                # resuming relies on the per-call cache and our checkpoints, not on inspect's
                # realtime sample buffer, which costs a database write per event
                log_realtime=False,
                metadata={"tfgrpo_run": str(self.run), "tfgrpo_step": folder.name},
                **kwargs,
            )
        if not logs or logs[0].status == "cancelled":
            # inspect turns Ctrl-C into a cancelled (or no) log instead of raising
            raise TrainingInterrupted()
        log = logs[0]
        expected = {(i, e) for i in ids for e in range(1, c.group_size + 1)}
        missing = expected - {(str(s.id), int(s.epoch)) for s in log.samples or []}
        if missing:
            why = log.error.message.strip().splitlines()[-1][:300] if log.error and log.error.message.strip() else log.status
            raise RolloutsIncomplete(
                f"the rollout eval of step {int(folder.name.split('_')[-1]) + 1} ended with status {log.status} ({why}): "
                f"{len(missing)} of {len(expected)} rollouts missing, so nothing of it was checkpointed "
                f"(log: {log.location})"
            )
        rollouts = rollouts_from_log(log)
        check_failures(rollouts, int(folder.name.split("_")[-1]), log.location)
        checkpoint = RolloutsCheckpoint(log=log.location, usage=journaled_usage(usage_journal), rollouts=rollouts)
        atomic_write_text(path, checkpoint.model_dump_json())
        return checkpoint

    async def group(self, journal: Journal, group: list[Rollout], rendered: str, known: set[str]) -> tuple[list[Operation], list[str]]:
        c = self.cfg
        prompts = cast(P.PromptSet, self.prompts)
        sid = group[0].sample_id

        async def summarise(r: Rollout) -> tuple[str | None, str | None]:
            """(summary, None) or (None, why there is none)."""
            if c.ground_truth:
                prompt = prompts.summary.format(
                    trajectory=r.trajectory, grade="correct" if r.correct else "wrong", ground_truth=r.target
                )
            else:
                prompt = prompts.summary_no_gt.format(trajectory=r.trajectory)
            key = f"summary/{sid}/{r.epoch}"
            try:
                text = await self.caller.complete(journal, "summary", key, [ChatMessageUser(content=prompt)])
            except StageCallFailed as ex:
                return None, f"{key}: model call failed ({ex})"
            finally:
                if self.progress:
                    self.progress.summary_done()
            return (text.strip(), None) if text.strip() else (None, f"{key}: empty summary")

        summaries = await asyncio.gather(*(summarise(r) for r in group))
        items, reasons = summary_items(group, summaries, prompts.trajectory_item if c.ground_truth else None,
                                       prompts.trajectory_item_no_gt)
        if not items:
            return [], reasons
        if c.ground_truth:
            prompt = prompts.advantage.format(
                problem=group[0].problem,
                trajectories="\n\n".join(items),
                ground_truth=group[0].target,
                experiences=rendered,
                max_operations=c.max_operations,
            )
        else:
            prompt = prompts.advantage_no_gt.format(
                problem=group[0].problem,
                trajectories="\n\n".join(items),
                experiences=rendered,
                max_operations=c.max_operations,
            )

        def parse(text: str) -> tuple[list[Operation], list[str]]:
            parsed = parse_operations(text, known, GROUP_OPTIONS)
            rejected = list(parsed.rejected)
            if len(parsed.operations) > c.max_operations:
                rejected.append(f"{len(parsed.operations)} operations, at most {c.max_operations} allowed")
            return parsed.operations[: c.max_operations], rejected

        ops, more = await self.caller.ask(journal, "advantage", f"advantage/{sid}", prompt, parse)
        if self.progress:
            self.progress.advantage_done()
        return list(ops or []), reasons + more

    async def consolidate(self, journal: Journal, texts: list[str], proposals: list[Operation]) -> tuple[list[Operation] | None, list[str]]:
        rendered = "\n".join(f"[G{i}]. {t}" for i, t in enumerate(texts)) or "None"
        listing = json.dumps([{"id": f"P{i}", **op.to_json()} for i, op in enumerate(proposals)], indent=1, ensure_ascii=False)
        prompt = cast(P.PromptSet, self.prompts).consolidation.format(experiences=rendered, proposals=listing)
        known = {f"G{i}" for i in range(len(texts))}

        def parse(text: str) -> tuple[list[Operation], list[str]]:
            # only unusable entries are re-asked; duplicates and clashes are dropped by apply_plan
            parsed = parse_operations(text, known, PLAN_OPTIONS)
            return parsed.operations, parsed.rejected

        return await self.caller.ask(journal, "consolidation", "consolidation", prompt, parse)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --------------------------------------------------------------------------- direct experiences


async def direct_experiences(
    model: Model,
    *,
    task: str,
    data: str | None,
    task_args: dict[str, Any],
    count: int,
    examples: int,
    seed: int,
    retries: int,
    out: str,
    stage_temperature: float = 0.0,
    stage_max_tokens: int | None = 16384,
    model_args: dict[str, Any] | None = None,
    prompt_set: str = P.PROMPT_SET,
) -> ExperienceLibrary:
    """The paper's "directly generated experiences" baseline: one call, no rollouts.

    ``prompt_set``: the set whose ``direct`` template is used; recorded, so the library is
    injected at evaluation like a library learned with that set (web: the web template)."""
    cfg = TrainConfig(task=task, model=str(model), model_args=model_args or {}, data=data, task_args=task_args,
                      out=out, retries=retries, stage_temperature=stage_temperature,
                      stage_max_tokens=stage_max_tokens, seed=seed, prompt_set=prompt_set)
    prompts = cast(P.PromptSet | P.WebPromptSet, P.get_prompt_set(cfg.prompt_set))
    samples = list(build_task(cfg, None).dataset)
    picked = random.Random(seed).sample(samples, min(examples, len(samples)))
    shown = "\n\n".join(
        f"Example {i + 1}:\n{s.input if isinstance(s.input, str) else s.input[-1].text}" for i, s in enumerate(picked)
    )
    usage: dict[str, StageUsage] = {}
    caller = StageCaller(model, cfg, lambda stage, u: usage.setdefault(stage, StageUsage()).add(u))
    journal = Journal(None)  # one call: nothing worth resuming

    def parse(text: str) -> tuple[list[str], list[str]]:
        items = extract_list(text)
        good, bad = [], []
        for i, item in enumerate(items):
            if isinstance(item, dict):
                item = item.get("experience", item.get("content"))
            t, why = clean_text(item)
            (good.append(t) if t else bad.append(f"entry {i}: {why}"))
        if len(good) < count:
            bad.append(f"{len(good)} usable experiences, {count} asked for")
        return good[:count], bad

    texts, reasons = await caller.ask(
        journal, "direct", "direct", prompts.direct.format(count=count, examples=shown), parse
    )
    prov = Provenance(
        method="direct-experiences",
        model=str(model),
        model_args=redact(cfg.model_args),
        task=task,
        task_args=task_args,
        data=data,
        seed=seed,
        prompt_set=prompts.name,
        prompt_set_sha256=prompts.sha256,
        stage_temperature=stage_temperature,
        stage_max_tokens=stage_max_tokens,
        retries=retries,
        train_sample_ids=[str(s.id) for s in picked],
        test_double=str(model).startswith("testdouble/"),
    )
    stats = StepStats(step=0, epoch=0, batch=0, queries=0, rollouts=0, skipped=reasons, usage=usage,
                      library_size_after=len(texts or []))
    library = ExperienceLibrary(experiences=renumber(list(texts or [])), provenance=prov, steps=[stats], usage=usage)
    library.save(out)
    return library


__all__ = [
    "Experience",
    "Journal",
    "Rollout",
    "RolloutsIncomplete",
    "StageCallFailed",
    "StageCaller",
    "TrainingInterrupted",
    "TrainConfig",
    "Trainer",
    "direct_experiences",
    "format_trajectory",
]
