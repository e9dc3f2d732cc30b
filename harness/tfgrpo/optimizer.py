"""The Training-Free GRPO training loop: resumable, concurrent, accounted.

Per epoch the training set is shuffled (``random.Random(seed)``, one shuffle per epoch as
in [B]) and cut into batches; each batch is one *step*:

1. **rollouts**: one inspect eval of the task with ``solver=tfgrpo`` (the current library
   in the prompt), ``epochs=G``, the rollout temperature, only the batch's samples.
   Rewards are the task's own scorer; an errored or unscored rollout gets reward 0.
   All rollouts run concurrently, bounded by the model's max connections.
2. **filter**: with ground truth and G > 1, groups whose rewards are all equal are
   skipped ([B]); otherwise every group is processed.
3. **summary** per rollout and **group advantage** per group (concurrent, each group's
   advantage starts as soon as its summaries are in).
4. **consolidation**: one call per step reconciling the proposed operations; the plan is
   validated and applied, ids renumbered ``G0..``.

Checkpoints live in the run directory (default ``<out>.run/``):
``step_<s>/library.json`` (library used by the step's rollouts), ``step_<s>/rollouts.json``
(after the eval), ``step_<s>/journal.jsonl`` (every stage call's output, appended as it
arrives) and ``step_<s>/result.json`` (step done). Rollout model calls are
also cached per call in ``cache/`` (inspect's cache, ``per_epoch``), so a rollout eval
killed half-way replays its finished calls instead of repeating them. ``--resume``
therefore redoes only unfinished calls and, given the same model outputs, ends with the
same library as an uninterrupted run.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
    Model,
)
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
from harness.tfgrpo import prompts as P
from harness.tfgrpo.operations import (
    GROUP_OPTIONS,
    PLAN_OPTIONS,
    MalformedOutput,
    Operation,
    apply_plan,
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
    max_tokens: int | None = None
    ground_truth: bool = True
    max_operations: int = 1
    retries: int = 3
    seed: int = 42
    max_connections: int | None = None
    out: str
    run_dir: str | None = None

    def resolved_run_dir(self) -> Path:
        if self.run_dir:
            return Path(self.run_dir)
        out = Path(self.out)
        return out.with_name(out.stem + ".run")

    def identity(self) -> dict[str, Any]:
        """Fields that must not change between a run and its resumption."""
        return self.model_dump(exclude={"max_connections", "run_dir", "out"})


class Rollout(BaseModel):
    sample_id: str
    epoch: int
    reward: float
    problem: str
    target: str
    trajectory: str
    tool_calls: int = 0
    error: str | None = None

    @property
    def correct(self) -> bool:
        return self.reward >= CORRECT


class RolloutsCheckpoint(BaseModel):
    log: str | None = None
    usage: StageUsage = Field(default_factory=StageUsage)
    rollouts: list[Rollout]


class StepResult(BaseModel):
    stats: StepStats
    texts: list[str]


class SimulatedCrash(BaseException):
    """Raised by the crash hook in tests (a BaseException, so nothing swallows it)."""


CRASH_AT: tuple[str, int] | None = None
"""Tests: (point, n) raises SimulatedCrash at the n-th time ``point`` is reached."""
_crash_counts: dict[str, int] = {}


def _crash_point(point: str) -> None:
    if CRASH_AT is None or CRASH_AT[0] != point:
        return
    _crash_counts[point] = _crash_counts.get(point, 0) + 1
    if _crash_counts[point] >= CRASH_AT[1]:
        raise SimulatedCrash(f"simulated crash at {point} #{CRASH_AT[1]}")


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
        if path is not None and path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut by a crash: that call is redone
                if isinstance(entry, dict) and "key" in entry:
                    self.entries[entry["key"]] = entry

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    def put(self, key: str, completion: str, usage: dict[str, Any]) -> None:
        entry = {"key": key, "completion": completion, "usage": usage}
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        self.entries[key] = entry


# --------------------------------------------------------------------------- stage calls


class StageCaller:
    """Model calls of the summary / advantage / consolidation stages, journaled and retried."""

    def __init__(self, model: Model, cfg: TrainConfig, on_usage: Callable[[str, StageUsage], None]) -> None:
        self.model = model
        self.config = GenerateConfig(
            temperature=cfg.stage_temperature,
            max_tokens=cfg.stage_max_tokens,
            max_connections=max_connections(cfg, model),
        )
        self.retries = cfg.retries
        self.on_usage = on_usage
        self.live_calls = 0
        """Model calls actually made by this process (journal replays excluded)."""

    async def complete(self, journal: Journal, stage: str, key: str, messages: list[ChatMessage]) -> str | None:
        cached = journal.get(key)
        if cached is not None:
            self.on_usage(stage, StageUsage(**cached["usage"]))
            return str(cached["completion"])
        try:
            output = await self.model.generate(messages, config=self.config)
        except Exception as ex:  # provider errors after inspect's own retries
            return _failed(f"{type(ex).__name__}: {str(ex)[:200]}")
        self.live_calls += 1
        usage = StageUsage()
        usage.add(output.usage)
        journal.put(key, output.completion, usage.model_dump())
        self.on_usage(stage, usage)
        _crash_point(stage)
        return output.completion

    async def ask(
        self,
        journal: Journal,
        stage: str,
        key: str,
        prompt: str,
        parse: Callable[[str], tuple[Any, list[str]]],
    ) -> tuple[Any | None, list[str]]:
        """Call, parse; on malformed output or rejected entries, retry with the reason.

        Returns the last usable parse (possibly partial) and the reasons for what was dropped.
        """
        messages: list[ChatMessage] = [ChatMessageUser(content=prompt)]
        reasons: list[str] = []
        best: Any | None = None
        for attempt in range(self.retries + 1):
            text = await self.complete(journal, stage, f"{key}#{attempt}", messages)
            if text is None or text.startswith(_FAILED):
                reasons = [f"{key}: model call failed ({(text or '')[len(_FAILED):]})"]
                return best, reasons
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
            messages = [*messages, ChatMessageAssistant(content=text), ChatMessageUser(content=P.RETRY_MESSAGE.format(reason=why))]
        return best, [*reasons, f"{key}: gave up after {self.retries + 1} attempts"]


_FAILED = "\x00failed: "


def max_connections(cfg: TrainConfig, model: Model) -> int:
    """--max-connections, else the provider's own limit.

    Explicit, so inspect's adaptive concurrency (which starts low and ramps up) does not
    serialise a step's rollouts or its summaries: all run at once up to this bound.
    """
    return int(cfg.max_connections or model.api.max_connections())


def _failed(reason: str) -> str:
    return _FAILED + reason


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


def sample_reward(sample: Any) -> tuple[float, str | None]:
    from inspect_ai.scorer import value_to_float

    if sample.error is not None:
        return 0.0, f"error: {sample.error.message[:200]}"
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
            )
        )
    return sorted(out, key=lambda r: (r.sample_id, r.epoch))


def log_usage(log: Any) -> StageUsage:
    usage = StageUsage(calls=0)
    for u in (log.stats.model_usage or {}).values():
        usage.add(u, calls=0)
    usage.calls = sum(1 for s in log.samples or [] for e in (s.events or []) if getattr(e, "event", "") == "model")
    return usage


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


def build_task(cfg: TrainConfig, experiences: Path | None) -> Any:
    from harness import _registry

    fn = getattr(_registry, cfg.task, None)
    if fn is None or not callable(fn):
        raise ValueError(f"unknown task {cfg.task!r} (tasks are listed in harness/_registry.py)")
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
        **cfg.solver_args,
    )


# --------------------------------------------------------------------------- the loop


class Trainer:
    def __init__(self, cfg: TrainConfig, model: Model, progress: Any | None = None, resume: bool = False) -> None:
        self.cfg = cfg
        self.model = model
        self.run = cfg.resolved_run_dir()
        self.progress = progress
        self.resume = resume
        self.step_usage: dict[str, StageUsage] = {}
        self.caller = StageCaller(model, cfg, self._add_usage)
        self.rollout_calls = 0

    # ---- bookkeeping
    def _add_usage(self, stage: str, usage: StageUsage) -> None:
        self.step_usage.setdefault(stage, StageUsage()).add(usage)
        if self.progress:
            self.progress.usage(stage, usage)

    def _phase(self, text: str, **kw: Any) -> None:
        if self.progress:
            self.progress.phase(text, **kw)

    def _check_run_dir(self) -> None:
        cfg_path = self.run / "config.json"
        if cfg_path.is_file():
            if not self.resume:
                raise ValueError(f"{self.run} holds a run already: pass --resume to continue it, or remove it.")
            saved = json.loads(cfg_path.read_text(encoding="utf-8"))
            if saved.get("identity") != json.loads(json.dumps(self.cfg.identity())):
                diff = sorted(k for k in self.cfg.identity() if saved.get("identity", {}).get(k) != json.loads(json.dumps(self.cfg.identity()[k])))
                raise ValueError(f"--resume: {self.run} was started with different settings ({', '.join(diff)}).")
        else:
            atomic_write_text(cfg_path, json.dumps({"identity": self.cfg.identity(), "config": self.cfg.model_dump()}, indent=2))

    def provenance(self, sample_ids: list[str]) -> Provenance:
        c = self.cfg
        return Provenance(
            model=str(self.model),
            task=c.task,
            task_args=c.task_args,
            data=c.data,
            seed=c.seed,
            epochs=c.epochs,
            batch_size=c.batch_size or len(sample_ids),
            group_size=c.group_size,
            temperature=c.temperature,
            stage_temperature=c.stage_temperature,
            solver=c.solver,
            solver_args={**c.solver_args, "placement": c.placement},
            ground_truth=c.ground_truth,
            max_operations=c.max_operations,
            prompt_set=P.PROMPT_SET,
            train_sample_ids=sample_ids,
            test_double=str(self.model).startswith("testdouble/"),
        )

    # ---- the run
    async def train(self) -> ExperienceLibrary:
        c = self.cfg
        self.run.mkdir(parents=True, exist_ok=True)
        self._check_run_dir()
        dataset = build_task(c, None).dataset
        sample_ids = [str(s.id) for s in dataset]
        if not sample_ids:
            raise ValueError(f"task {c.task} has no samples")
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
        by_id: dict[str, list[Rollout]] = {}
        for r in rollouts.rollouts:
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
        skipped: list[str] = []
        mark = time.monotonic()
        results = await asyncio.gather(*(self.group(journal, g, rendered, known) for g in kept))
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
            plan, reasons = await self.consolidate(journal, texts, proposals)
            phases["consolidation"] = round(time.monotonic() - mark, 3)
            skipped.extend(reasons)
            if plan is not None:
                outcome = apply_plan(texts, plan)
                new_texts, applied = outcome.texts, outcome.applied
                skipped.extend(outcome.rejected)
        rewards = [r.reward for r in rollouts.rollouts]
        usage = {"rollout": rollouts.usage, **self.step_usage}
        stats = StepStats(
            step=step,
            epoch=epoch,
            batch=batch,
            queries=len(groups),
            rollouts=len(rewards),
            mean_reward=sum(rewards) / len(rewards) if rewards else None,
            pass_at_g=sum(any(r.correct for r in g) for g in groups) / len(groups) if groups else None,
            mean_tool_calls=sum(r.tool_calls for r in rollouts.rollouts) / len(rewards) if rewards else None,
            failed_rollouts=sum(r.error is not None for r in rollouts.rollouts),
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
        _crash_point("step")
        return result

    def keep_group(self, group: list[Rollout]) -> bool:
        """[B]: the all-equal filter applies only with ground truth and G > 1."""
        if not self.cfg.ground_truth or self.cfg.group_size <= 1:
            return True
        return len({r.reward for r in group}) > 1

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
        _cache_package_scan()
        if c.max_tokens:
            kwargs["max_tokens"] = c.max_tokens
        with _cache_dir(self.run / "cache"):
            logs = await eval_async(
                task,
                model=self.model,
                epochs=c.group_size,
                sample_id=ids,
                temperature=c.temperature,
                # keyed by step too: a later step with an unchanged library must sample afresh,
                # not replay an earlier step's rollouts
                cache=CachePolicy(expiry=None, per_epoch=True, scopes={"tfgrpo_step": folder.name}),
                log_dir=str(self.run / "logs"),
                fail_on_error=False,
                score_display=False,
                # resuming relies on the per-call cache and our checkpoints, not on inspect's
                # realtime sample buffer, which costs a database write per event
                log_realtime=False,
                metadata={"tfgrpo_run": str(self.run), "tfgrpo_step": folder.name},
                **kwargs,
            )
        log = logs[0]
        if log.status not in ("success", "error") or log.samples is None:
            raise RuntimeError(f"rollout eval ended with status {log.status}: {log.error.message if log.error else ''}")
        if log.status == "error" and not log.samples:
            raise RuntimeError(f"rollout eval failed: {log.error.message if log.error else 'no samples'}")
        checkpoint = RolloutsCheckpoint(log=log.location, usage=log_usage(log), rollouts=rollouts_from_log(log))
        self.rollout_calls += checkpoint.usage.calls
        atomic_write_text(path, checkpoint.model_dump_json())
        _crash_point("rollouts")
        return checkpoint

    async def group(self, journal: Journal, group: list[Rollout], rendered: str, known: set[str]) -> tuple[list[Operation], list[str]]:
        c = self.cfg
        sid = group[0].sample_id

        async def summarise(r: Rollout) -> str | None:
            if c.ground_truth:
                prompt = P.SUMMARY_TEMPLATE.format(
                    trajectory=r.trajectory, grade="correct" if r.correct else "wrong", ground_truth=r.target
                )
            else:
                prompt = P.SUMMARY_NO_GT_TEMPLATE.format(trajectory=r.trajectory)
            text = await self.caller.complete(journal, "summary", f"summary/{sid}/{r.epoch}", [ChatMessageUser(content=prompt)])
            if self.progress:
                self.progress.summary_done()
            if text is None or text.startswith(_FAILED) or not text.strip():
                return None
            return text.strip()

        summaries = await asyncio.gather(*(summarise(r) for r in group))
        reasons = [f"summary/{sid}/{r.epoch}: no usable summary" for r, s in zip(group, summaries) if s is None]
        items = []
        for i, (r, s) in enumerate(zip(group, summaries)):
            if s is None:
                continue
            if c.ground_truth:
                items.append(P.TRAJECTORY_ITEM.format(index=i + 1, grade="correct" if r.correct else "wrong", summary=s))
            else:
                items.append(P.TRAJECTORY_ITEM_NO_GT.format(index=i + 1, summary=s))
        if not items:
            return [], reasons
        if c.ground_truth:
            prompt = P.ADVANTAGE_TEMPLATE.format(
                problem=group[0].problem,
                trajectories="\n\n".join(items),
                ground_truth=group[0].target,
                experiences=rendered,
                max_operations=c.max_operations,
            )
        else:
            prompt = P.ADVANTAGE_NO_GT_TEMPLATE.format(
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
        prompt = P.CONSOLIDATION_TEMPLATE.format(experiences=rendered, proposals=listing)
        known = {f"G{i}" for i in range(len(texts))}

        def parse(text: str) -> tuple[list[Operation], list[str]]:
            # only unusable entries are re-asked; duplicates and clashes are dropped by apply_plan
            parsed = parse_operations(text, known, PLAN_OPTIONS)
            return parsed.operations, parsed.rejected

        return await self.caller.ask(journal, "consolidation", "consolidation", prompt, parse)


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
) -> ExperienceLibrary:
    """The paper's "directly generated experiences" baseline: one call, no rollouts."""
    cfg = TrainConfig(task=task, model=str(model), data=data, task_args=task_args, out=out, retries=retries,
                      stage_temperature=stage_temperature, stage_max_tokens=stage_max_tokens, seed=seed)
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
        journal, "direct", "direct", P.DIRECT_TEMPLATE.format(count=count, examples=shown), parse
    )
    prov = Provenance(
        method="direct-experiences",
        model=str(model),
        task=task,
        task_args=task_args,
        data=data,
        seed=seed,
        prompt_set=P.PROMPT_SET,
        stage_temperature=stage_temperature,
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
    "SimulatedCrash",
    "StageCaller",
    "TrainConfig",
    "Trainer",
    "direct_experiences",
    "format_trajectory",
]
