"""The Training-Free GRPO experience library: a typed, versioned JSON artifact.

An :class:`ExperienceLibrary` holds the learned experiences (``G0``, ``G1``, ... in order)
plus everything needed to trace them: provenance (model, task, data, seed, epochs,
batch and group size, temperature, solver, prompt set), per-step statistics and token
usage and $ per stage (rollout, summary, advantage, consolidation). It is written
atomically (temp file in the same folder + ``os.replace``), so a reader never sees a
half-written library.

The rendering matches the paper's code ([B] ``PROBLEM_WITH_EXPERIENCE_TEMPLATE``): one
``[G0]. text`` line per experience.

:meth:`ExperienceLibrary.load` also reads the two forms the reference code publishes: [B]'s
plain ``{"G0": "text", ...}`` JSON and [M]'s agent configs (``configs/agents/practice/
*_practice_agent.yaml``: the experiences as ``[G0]. text`` lines at the end of
``agent.instructions``); such a library records where it came from in ``imported``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

SCHEMA_VERSION = 1
"""Bumped on any incompatible change of the JSON layout."""

STAGES = ("rollout", "summary", "advantage", "consolidation", "direct", "critique", "update", "batch")
"""Stages whose model usage is accounted separately: rollouts (incl. the judge and page reader);
math prompt set: summary, advantage, consolidation; web prompt set: summary, critique (the
group advantage), update (group update), batch (batch update); "direct" = directly generated
experiences."""


class Experience(BaseModel):
    id: str
    """``G<n>``: position in the library (renumbered after every update)."""
    text: str


class StageUsage(BaseModel):
    """Token usage and cost of one stage (summed over its model calls)."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_cache_read: int = 0
    reasoning_tokens: int = 0
    cost: float | None = None
    """US $, or None when no price is known for the model (see --model-cost-config)."""

    def add(self, usage: Any, calls: int = 1) -> None:
        """Add an inspect ``ModelUsage`` (or another StageUsage)."""
        if usage is None:
            self.calls += calls
            return
        self.calls += getattr(usage, "calls", calls) if isinstance(usage, StageUsage) else calls
        self.input_tokens += int(usage.input_tokens or 0)
        self.output_tokens += int(usage.output_tokens or 0)
        self.total_tokens += int(usage.total_tokens or 0)
        self.input_tokens_cache_read += int(getattr(usage, "input_tokens_cache_read", 0) or 0)
        self.reasoning_tokens += int(getattr(usage, "reasoning_tokens", 0) or 0)
        cost = usage.cost if isinstance(usage, StageUsage) else getattr(usage, "total_cost", None)
        if cost is not None:
            self.cost = (self.cost or 0.0) + float(cost)


def sum_usage(usages: dict[str, StageUsage]) -> StageUsage:
    total = StageUsage()
    for u in usages.values():
        total.add(u)
    return total


class StepStats(BaseModel):
    """What happened in one optimisation step (one batch of one epoch)."""

    step: int
    epoch: int
    batch: int
    queries: int
    rollouts: int
    mean_reward: float | None = None
    pass_at_g: float | None = None
    """Share of queries with at least one rewarded rollout (Pass@G)."""
    mean_tool_calls: float | None = None
    failed_rollouts: int = 0
    """Rollouts that errored or were unscored (reward 0, as in the paper's code)."""
    groups: int = 0
    groups_kept: int = 0
    """Groups whose rewards were not all equal (or all groups, per the filter rules)."""
    operations_proposed: int = 0
    operations_applied: int = 0
    library_size_before: int = 0
    library_size_after: int = 0
    skipped: list[str] = Field(default_factory=list)
    """Malformed or invalid LLM outputs that were dropped, with the reason."""
    usage: dict[str, StageUsage] = Field(default_factory=dict)
    wall_seconds: float | None = None
    phase_seconds: dict[str, float] = Field(default_factory=dict)
    """Wall time of each phase: rollouts, summaries+advantages, consolidation (this process)."""
    rollout_log: str | None = None
    """The inspect log of this step's rollouts."""


class Provenance(BaseModel):
    method: Literal["tfgrpo", "direct-experiences"] = "tfgrpo"
    model: str
    task: str
    task_args: dict[str, Any] = Field(default_factory=dict)
    data: str | None = None
    data_sha256: str | None = None
    """sha256 of the ``data`` file (None: hub data, or not recorded)."""
    seed: int = 42
    epochs: int = 0
    batch_size: int | None = None
    group_size: int = 0
    temperature: float | None = None
    """Rollout temperature."""
    max_tokens: int | None = None
    """Rollout max tokens (None: not recorded; libraries from before it was)."""
    stage_temperature: float | None = None
    stage_max_tokens: int | None = None
    model_args: dict[str, Any] = Field(default_factory=dict)
    """``-M`` arguments of the model (secret-looking values redacted)."""
    retries: int | None = None
    """Re-asks of a malformed stage answer."""
    solver: str = "direct"
    solver_args: dict[str, Any] = Field(default_factory=dict)
    ground_truth: bool = True
    max_operations: int = 1
    prompt_set: str = ""
    """Which stage prompts were used (see harness/tfgrpo/prompts.py)."""
    prompt_set_sha256: str = ""
    """sha256 of the prompt set's name and templates (empty in libraries from before it was recorded)."""
    model_roles: dict[str, Any] = Field(default_factory=dict)
    """Model roles bound in the rollouts (e.g. ``grader``: the judge that gave the rewards):
    role -> ``{"model", "config", "model_args"}`` (secret-looking args redacted)."""
    train_sample_ids: list[str] = Field(default_factory=list)
    created: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    test_double: bool = False
    """True when the model is the offline test double: then nothing here is a real result."""


class Imported(BaseModel):
    """Where a library not written by this harness came from."""

    format: Literal["reference-json", "agent-yaml"]
    """``reference-json``: [B]'s ``{"G0": "text"}``; ``agent-yaml``: an [M] agent config."""
    model: str | None = None
    """The model the agent config names (``model.model_provider.model``)."""
    instructions: str | None = None
    """The agent config's instructions before the experiences (e.g. "You are a helpful assistant.")."""


class ExperienceLibrary(BaseModel):
    schema_version: int = SCHEMA_VERSION
    experiences: list[Experience] = Field(default_factory=list)
    provenance: Provenance | None = None
    imported: Imported | None = None
    """Set when the library was read from the reference code's own formats (no provenance then)."""
    steps: list[StepStats] = Field(default_factory=list)
    usage: dict[str, StageUsage] = Field(default_factory=dict)
    """Totals per stage over the whole run."""

    @classmethod
    def from_texts(cls, texts: list[str], **kwargs: Any) -> "ExperienceLibrary":
        return cls(experiences=renumber(texts), **kwargs)

    @property
    def texts(self) -> list[str]:
        return [e.text for e in self.experiences]

    def by_id(self) -> dict[str, str]:
        return {e.id: e.text for e in self.experiences}

    def render(self) -> str:
        """The paper's rendering: one ``[G0]. text`` line per experience."""
        return render_experiences(self.experiences)

    def total_usage(self) -> StageUsage:
        return sum_usage(self.usage)

    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: str | Path) -> "ExperienceLibrary":
        p = Path(path).expanduser()
        if not p.is_file():
            raise FileNotFoundError(f"experience library not found: {p}")
        if p.suffix.lower() in (".yaml", ".yml"):
            return load_agent_yaml(p)
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as ex:
            raise ValueError(f"{p}: not a JSON experience library ({str(ex)[:120]})") from None
        if isinstance(raw, dict):
            version = raw.get("schema_version", SCHEMA_VERSION)
            if not isinstance(version, int) or isinstance(version, bool):
                raise ValueError(f"{p}: schema_version {str(version)[:40]!r} is not a number. {_LIBRARY_SHAPE}")
            if version > SCHEMA_VERSION:
                raise ValueError(f"{p}: schema_version {version} is newer than this harness ({SCHEMA_VERSION}); update the harness.")
        if isinstance(raw, dict) and "experiences" in raw and isinstance(raw["experiences"], dict):
            # the reference code's plain {"G0": "text", ...} layout
            raw = {"experiences": [{"id": k, "text": v} for k, v in raw["experiences"].items()],
                   "imported": {"format": "reference-json"}}
        elif isinstance(raw, dict) and "experiences" not in raw and all(isinstance(v, str) for v in raw.values()):
            # ... also at the top level ({} is the reference code's empty library)
            raw = {"experiences": [{"id": k, "text": v} for k, v in raw.items()], "imported": {"format": "reference-json"}}
        if isinstance(raw, dict) and "experiences" not in raw:
            # anything else (a run's config.json, an eval log, {}) would load as an empty library
            raise ValueError(f"{p}: not an experience library (no 'experiences' key). {_LIBRARY_SHAPE}")
        try:
            return cls.model_validate(raw)
        except ValidationError as ex:
            raise ValueError(f"{p}: not an experience library ({_first_error(ex)}). {_LIBRARY_SHAPE}") from None


_LIBRARY_SHAPE = (
    'Expected the JSON written by `harness tfgrpo train` ({"experiences": [{"id": "G0", "text": "..."}, ...]}), '
    'the reference code\'s plain {"G0": "text", ...}, or a youtu-agent agent config (.yaml).'
)

EXPERIENCES_INTRO = (
    "When solving problems, you MUST first carefully read and understand the helpful instructions and experiences:"
)
"""The sentence after which [M] appends the experiences to an agent's instructions (and the
[B] math template's; see solvers/tfgrpo.py)."""

MAX_YAML_BYTES = 5_000_000
_EXPERIENCE_LINE = re.compile(r"\[(G\d{1,6})\]\. ?(.*)")


def load_agent_yaml(p: Path) -> ExperienceLibrary:
    """The experiences of a youtu-agent agent config ([M] ``configs/agents/practice/
    *_practice_agent.yaml``): after the last :data:`EXPERIENCES_INTRO` in
    ``agent.instructions``, each ``[G<n>]. text`` line starts an experience and any other
    line continues the one before (an experience holding a line break). Ids are kept as the
    file writes them, so the rendered prompt is the one upstream evaluates."""
    import yaml

    shape = "Expected a youtu-agent agent config: agent.instructions ending in '[G0]. ...' experience lines."
    if p.stat().st_size > MAX_YAML_BYTES:
        raise ValueError(f"{p}: larger than {MAX_YAML_BYTES} bytes; not an agent config. {shape}")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as ex:
        first = " ".join(str(ex).split())[:160]
        raise ValueError(f"{p}: not a YAML file ({first}). {shape}") from None
    agent = raw.get("agent") if isinstance(raw, dict) else None
    instructions = agent.get("instructions") if isinstance(agent, dict) else None
    if not isinstance(instructions, str):
        raise ValueError(f"{p}: no agent.instructions text. {shape}")
    head, intro, tail = instructions.rpartition(EXPERIENCES_INTRO)
    if not intro:
        raise ValueError(f"{p}: agent.instructions holds no experiences (no {EXPERIENCES_INTRO!r}). {shape}")
    experiences: list[Experience] = []
    for line in tail.strip("\n").split("\n"):
        m = _EXPERIENCE_LINE.fullmatch(line.strip())
        if m:
            experiences.append(Experience(id=m.group(1), text=m.group(2).strip()))
        elif experiences and line.strip():
            experiences[-1].text += "\n" + line.strip()
        elif line.strip():
            raise ValueError(f"{p}: the line after the experiences' introduction is not '[G0]. ...': {line.strip()[:80]!r}. {shape}")
    if len({e.id for e in experiences}) < len(experiences):
        raise ValueError(f"{p}: an experience id appears twice in agent.instructions. {shape}")
    provider = raw.get("model", {}).get("model_provider") if isinstance(raw.get("model"), dict) else None
    model = provider.get("model") if isinstance(provider, dict) else None
    return ExperienceLibrary(
        experiences=experiences,
        imported=Imported(format="agent-yaml", model=model if isinstance(model, str) else None,
                          instructions=head.strip() or None),
    )


def _first_error(ex: ValidationError) -> str:
    """The first validation error as ``where: what`` (not pydantic's multi-line dump)."""
    errors = ex.errors(include_url=False)
    if not errors:
        return "invalid"
    first = errors[0]
    where = ".".join(str(x) for x in first.get("loc", ())) or "top level"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"[:300]


def renumber(texts: list[str]) -> list[Experience]:
    """``G0..G{n-1}`` in order."""
    return [Experience(id=f"G{i}", text=t) for i, t in enumerate(texts)]


def render_experiences(experiences: list[Experience]) -> str:
    return "\n".join(f"[{e.id}]. {e.text}" for e in experiences)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never a part."""
    p = Path(path).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
