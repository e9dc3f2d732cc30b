"""Runs read back from inspect logs: the one place where logs become table rows.

A :class:`RunRecord` is everything a leaderboard, a paper table, the transfer table or
a cost report needs from one log: who ran what (model, task, solver, experience
library and where it was learned), the metrics with one value per problem (for
bootstrap intervals and paired tests), token usage and $ with solver and judge apart,
and where the numbers came from (log path, commit, epochs, completed samples).

Speed: log *headers* are read (``read_eval_log(header_only=True)``, which includes the
per-problem reduced scores) and the sample summaries (each sample-epoch's scores: which
were left unscored and why, and the ``aime`` task's per-year split); full samples are
read only for the mean tool calls of tool-using solvers.
Unreadable or unfinished logs come back as :class:`Skipped` entries with a reason.

Experience libraries are identified by the sha256 of the file the run used (recorded by
the tfgrpo solver at eval time), searched for under the paths the report was given, so
a report gives the same answer from any folder (see :class:`LibraryFinder`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, Field

from harness.logs import PLAN_DIR, SHARD_KEY, ShardInfo, reducer_label, sample_ids_digest, shard_info

JUDGE_ROLES = ("grader", "judge")
"""Model roles whose usage counts as judging (not solving)."""

FRACTION_METRICS = (
    "accuracy", "first_try", "second_try", "parse_error_rate",
    # self_play (scorers/self_play.py): shares and diversity ratios
    "valid_queries", "scored_rewards", "scored_quality", "distinct_1", "distinct_2", "near_duplicate_rate",
    "pooled_diversity_distinct_1", "pooled_diversity_distinct_2", "pooled_diversity_near_duplicate_rate",
)
"""Metrics recorded as fractions in [0, 1]: tables show them in % (so do all the metrics of a
score that has ``accuracy``, e.g. WebWalkerQA's per-cell accuracies and ``overall``)."""

DIFFERENCE_METRICS = {"gain": ("second_try", "first_try")}
"""Metric -> (minuend, subtrahend): a difference of two fraction metrics of the same score.
Shown in percentage points; its per-problem values (for CIs) are the per-problem
differences of the two under the same reducer -- what the metric's value is the mean of
(under pass@k, pass@k of the per-epoch differences is another, larger, number)."""

PERCENT_SCALE_METRICS = re.compile(
    r"^(win_rate(_.+)?|standard_error|discrete_win_rate|length_controlled_winrate(_noreg)?|lc_standard_error)$"
)
"""AlpacaEval metrics, recorded already in % (0-100)."""

UNITS = {"avg_length": "chars", "reward": "0-10", "quality": "0-7"}
"""Units of other named quantities (self_play's judge scales, AlpacaEval's output length)."""

TASK_DOMAINS: dict[str, str] = {
    "dapo100": "math",
    "aime": "math",
    "aime2024": "math",
    "aime2025": "math",
    "afm100": "web",
    "webwalkerqa": "web",
    "countdown": "countdown",
    "apigen": "function calling",
    "alpacaeval": "instruction following",
    "self_play": "instruction following",
}
"""Task an experience library was learned on -> the domain named in transfer tables."""

DIRECT_SOLVERS = ("direct",)
"""Solvers that never call tools (their logs need no sample reads for tool counts)."""

SPLIT_TASKS = {"aime": ("year", "aime{}")}
"""Tasks whose rows are split by a sample metadata field into virtual tasks."""


class Usage(BaseModel):
    """Tokens and $ of one party (solver or judge) or one stage."""

    input_tokens: int = 0
    """Input tokens billed at the full rate (inspect's convention: excludes cache reads)."""
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float | None = None
    """$ (None when no price was recorded or configured)."""

    @property
    def all_input_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def cache_read_share(self) -> float | None:
        total = self.all_input_tokens
        return self.cache_read_tokens / total if total else None

    @property
    def empty(self) -> bool:
        return self.cost is None and not (self.all_input_tokens or self.output_tokens)

    def __add__(self, other: "Usage") -> "Usage":
        # a sum is priced only if every non-empty part is: a partial sum would understate $
        if self.empty:
            cost = other.cost
        elif other.empty:
            cost = self.cost
        else:
            cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cost=cost,
        )

    def __sub__(self, other: "Usage") -> "Usage":
        if self.cost is None or (other.cost is None and not other.empty):
            cost = None  # cannot take an unpriced part out of a total
        else:
            cost = self.cost - (other.cost or 0.0)
        return Usage(
            input_tokens=max(0, self.input_tokens - other.input_tokens),
            output_tokens=max(0, self.output_tokens - other.output_tokens),
            cache_read_tokens=max(0, self.cache_read_tokens - other.cache_read_tokens),
            cache_write_tokens=max(0, self.cache_write_tokens - other.cache_write_tokens),
            reasoning_tokens=max(0, self.reasoning_tokens - other.reasoning_tokens),
            cost=cost,
        )


class LibraryRef(BaseModel):
    """How a log names its experience library."""

    arg: str | None = None
    """``-T experiences=`` as typed (maybe relative to a folder the report cannot know)."""
    path: str | None = None
    """Absolute path the tfgrpo solver resolved at eval time (task metadata ``experiences``)."""
    sha256: str | None = None
    """sha256 of the file's bytes at eval time (``experiences_sha256``); None in older logs."""


class LibraryInfo(BaseModel):
    """An experience library named by a log's ``-T experiences=``, read defensively."""

    path: str
    found: bool = False
    error: str | None = None
    sha256: str | None = None
    """sha256 of the file's bytes (the run's recorded hash when the file was not found)."""
    identified_by: str | None = None
    """How the file was found: ``sha256``, ``sha256 (moved: ...)`` or ``path (...)``."""
    model: str | None = None
    task: str | None = None
    """Task the library was learned on."""
    domain: str | None = None
    entries: int | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    """Flat provenance settings (group_size, ground_truth, epochs, ...), as recorded."""
    stages: dict[str, Usage] = Field(default_factory=dict)
    """Token usage and $ per training stage (rollout, summary, advantage, ...)."""
    wall_seconds: float | None = None
    """Training wall time summed over the recorded steps (None when no step recorded it)."""

    @property
    def identity(self) -> str:
        """What makes two libraries the same: the file's hash, else (older logs) its path."""
        return f"sha256:{self.sha256}" if self.sha256 else f"path:{self.path}"

    @property
    def label(self) -> str:
        name = Path(self.path).name
        if not self.found:
            return f"{name} (not found)"
        double = ", TEST DOUBLE" if self.settings.get("test_double") else ""
        return f"{name} ({self.domain or self.task or 'no provenance'}{double})"


class MetricResult(BaseModel):
    label: str
    """Column name: Mean@k, Pass@k, first_try, win_rate, ..."""
    scorer: str
    reducer: str | None
    metric: str
    value: float
    percent: bool
    """Value is a fraction shown as % (accuracy-like), or a difference of two (``gain``)."""
    unit: str | None = None
    """Unit the tables show the value in: ``%``, ``pts`` (percentage points), ``chars``, ..."""
    per_problem: dict[str, float] | None = None
    """One value per problem (reduced over epochs); None when the metric is not per-sample."""

    @property
    def measure(self) -> tuple[str, str, str]:
        """What is measured, whatever the epochs: Mean@4 and Mean@32 are both (scorer, mean, accuracy)."""
        return (self.scorer, self.reducer or "mean", self.metric)

    @property
    def header(self) -> str:
        """Column name with its unit, e.g. ``Mean@4 (%)``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


class Unscored(BaseModel):
    """One sample-epoch a scorer left unscored (NaN value: excluded from every metric)."""

    sample: str
    epoch: int
    scorer: str
    reason: str


class RunRecord(BaseModel):
    path: str
    task: str
    model: str
    solver: str
    base_solver: str | None = None
    experiences: LibraryInfo | None = None
    library_ref: LibraryRef | None = None
    """The log's reference to its library (resolved into ``experiences`` by read_runs)."""
    epochs: int
    problems: int
    planned: int
    """Sample-epochs the run set out to do."""
    completed: int
    status: str
    commit: str | None = None
    created: str | None = None
    metrics: list[MetricResult] = Field(default_factory=list)
    solver_usage: Usage = Field(default_factory=Usage)
    judge_usage: Usage = Field(default_factory=Usage)
    tool_calls: float | None = None
    """Mean tool calls per sample-epoch (store key ``tool_calls``)."""
    split: str | None = None
    """Set for rows split out of a combined task (e.g. ``aime`` -> year 2024)."""
    task_args: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    """Everything recorded that can change the results, flat (see :func:`run_config`);
    two logs are the same configuration iff their configs are equal."""
    shard: ShardInfo | None = None
    """Set on a row read from one shard's log of a ``harness eval --workers N`` run; rows of
    the same group are merged into one by :func:`merge_shards` (which clears it)."""
    group: str | None = None
    """The shard group a merged row was made from."""
    shard_logs: list[str] = Field(default_factory=list)
    """The logs a merged row was made from (one per shard)."""
    notes: list[str] = Field(default_factory=list)
    """What a report should say about the row (e.g. how shards were merged)."""
    unscored: list[Unscored] = Field(default_factory=list)
    """Sample-epochs a scorer left unscored (math timeouts, unreadable judge replies): not in
    any metric's denominator, so every table shows how many there were and why."""

    @property
    def unscored_text(self) -> str:
        """``3 (timeout 2, gold_unparseable 1)``; ``0`` when every sample-epoch was scored."""
        if not self.unscored:
            return "0"
        by: dict[str, int] = {}
        for u in self.unscored:
            by[u.reason] = by.get(u.reason, 0) + 1
        return f"{len(self.unscored)} (" + ", ".join(f"{r} {n}" for r, n in sorted(by.items(), key=lambda x: -x[1])) + ")"

    @property
    def config_id(self) -> str:
        library = {"library": self.experiences.identity} if self.experiences is not None else {}
        blob = json.dumps({**self.config, **library}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:10]

    @property
    def incomplete(self) -> bool:
        return self.status != "success" or self.completed < self.planned

    @property
    def learned(self) -> str:
        """Where the run's experiences were learned: '-' without a library."""
        if self.experiences is None:
            return "-"
        return self.experiences.domain or self.experiences.task or "?"

    @property
    def method(self) -> str:
        if self.solver == "tfgrpo":
            return f"tfgrpo({self.base_solver or 'direct'})"  # the tfgrpo solver's default base
        return self.solver

    def metric(self, label: str) -> MetricResult | None:
        return next((m for m in self.metrics if m.label == label), None)

    @property
    def mean_accuracy(self) -> float | None:
        m = next((m for m in self.metrics if m.reducer in (None, "mean") and m.metric == "accuracy"), None)
        return m.value if m else None


class Skipped(BaseModel):
    path: str
    reason: str
    shard: ShardInfo | None = None
    """Set when the log is one shard of a sharded run (its group is then incomplete)."""
    model: str | None = None
    """The shard's model (a group runs each model in every shard)."""


# ---------------------------------------------------------------- prices


def load_prices(path: str | None) -> dict[str, Any]:
    """Prices in inspect's ``--model-cost-config`` format ($ per million tokens per model).

    Missing cache prices default to the input price.
    """
    if not path:
        return {}
    from inspect_ai._util.config import resolve_args
    from inspect_ai.model import ModelCost

    raw = resolve_args(path)
    prices = {}
    for model, p in (raw or {}).items():
        if not isinstance(p, dict) or "input" not in p or "output" not in p:
            raise ValueError(f"{path}: prices for {model} need at least 'input' and 'output' ($ per 1M tokens)")
        prices[model] = ModelCost(
            input=float(p["input"]),
            output=float(p["output"]),
            input_cache_write=float(p.get("input_cache_write", p["input"])),
            input_cache_read=float(p.get("input_cache_read", p["input"])),
        )
    return prices


def to_usage(u: Any, price: Any | None = None) -> Usage:
    """A harness Usage from an inspect ModelUsage (or a dict of its fields)."""
    get = (lambda k: u.get(k)) if isinstance(u, dict) else (lambda k: getattr(u, k, None))
    usage = Usage(
        input_tokens=int(get("input_tokens") or 0),
        output_tokens=int(get("output_tokens") or 0),
        cache_read_tokens=int(get("input_tokens_cache_read") or get("cache_read_tokens") or 0),
        cache_write_tokens=int(get("input_tokens_cache_write") or get("cache_write_tokens") or 0),
        reasoning_tokens=int(get("reasoning_tokens") or 0),
        cost=_float_or_none(get("total_cost") if get("total_cost") is not None else get("cost")),
    )
    if price is not None:
        usage.cost = price_usage(usage, price)
    return usage


def price_usage(u: Usage, price: Any) -> float:
    return (
        u.input_tokens * price.input
        + u.output_tokens * price.output
        + u.cache_read_tokens * price.input_cache_read
        + u.cache_write_tokens * price.input_cache_write
    ) / 1_000_000


def _float_or_none(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


# ---------------------------------------------------------------- experience libraries


MAX_LIBRARY_BYTES = 50_000_000
"""Larger .json files are neither read as libraries nor hashed while searching for one."""

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_library(path: str | Path) -> LibraryInfo:
    """Provenance of the experience library file at ``path``; never raises (a missing or
    unreadable file keeps the path and the reason). The file is read once: its sha256 and
    its contents come from the same bytes."""
    info = LibraryInfo(path=str(path))
    p = Path(path).expanduser()
    if not p.is_file():
        info.error = "file not found"
        return info
    try:
        if p.stat().st_size > MAX_LIBRARY_BYTES:
            raise ValueError("larger than 50 MB")
        raw = p.read_bytes()
        info.sha256 = hashlib.sha256(raw).hexdigest()
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as ex:
        info.error = f"unreadable: {ex}"[:200]
        return info
    info.found = True
    prov = data.get("provenance") if isinstance(data.get("provenance"), dict) else {}
    merged = {**data, **prov}
    info.model = _str_or_none(merged.get("model"))
    task = merged.get("task")
    if isinstance(task, dict):
        task = task.get("name")
    info.task = _str_or_none(task)
    if info.task:
        base = info.task.split("/")[-1]
        info.domain = TASK_DOMAINS.get(base, base)
    entries = data.get("entries", data.get("experiences"))
    if isinstance(entries, (list, dict)):
        info.entries = len(entries)
    info.settings = {
        k: v for k, v in merged.items() if isinstance(v, (str, int, float, bool)) and k not in ("model", "task")
    }
    if isinstance(merged.get("train_sample_ids"), list):
        info.settings["train_problems"] = len(merged["train_sample_ids"])
    info.stages = _stage_usage(merged)
    steps = data.get("steps")
    if isinstance(steps, list):
        walls = [s.get("wall_seconds") for s in steps if isinstance(s, dict)]
        walls = [float(w) for w in walls if isinstance(w, (int, float)) and not isinstance(w, bool)]
        info.wall_seconds = sum(walls) if walls else None
    return info


def library_ref(args: dict[str, Any], metadata: dict[str, Any]) -> LibraryRef | None:
    """The library a log names, from its task args and the tfgrpo solver's task metadata."""
    arg = args.get("experiences")
    recorded = metadata.get("experiences")
    if not arg and not recorded:
        return None
    sha = metadata.get("experiences_sha256")
    # logs before the file hash held a 16-hex hash of the rendered prompt under this key
    sha = sha if isinstance(sha, str) and SHA256_HEX.fullmatch(sha) else None
    recorded = str(recorded) if isinstance(recorded, str) and Path(recorded).is_absolute() else None
    return LibraryRef(arg=str(arg) if arg else None, path=recorded, sha256=sha)


class LibraryFinder:
    """Finds the library file a log used, the same way from any working directory.

    - A log with a recorded hash (``experiences_sha256``): the recorded absolute path if
      the file there still has that hash, else any ``.json`` file with that hash under the
      paths the report was given (directories searched recursively) or in the log's own
      folder. A file at the recorded path with another hash is *not* the run's library.
    - An older log without a hash: the absolute path recorded in its task metadata, else
      ``-T experiences=`` if absolute, else that path relative to the log's folder. A
      relative path is never resolved against the report's working directory.
    """

    def __init__(self, roots: Iterable[str | Path] = ()) -> None:
        self.roots = [Path(r).expanduser().resolve() for r in roots]
        self._index: dict[str, str] | None = None
        self._indexed_dirs: set[Path] = set()
        self._hashes: dict[tuple[str, int, int], str] = {}
        self._cache: dict[tuple[str, str], LibraryInfo] = {}

    def resolve(self, ref: LibraryRef, log_path: str) -> LibraryInfo:
        log_dir = Path(log_path).expanduser().resolve().parent
        key = (ref.model_dump_json(), str(log_dir))
        if key not in self._cache:
            self._cache[key] = self._resolve(ref, log_dir)
        return self._cache[key].model_copy(deep=True)

    def _resolve(self, ref: LibraryRef, log_dir: Path) -> LibraryInfo:
        named = ref.path or ref.arg or "?"
        if ref.sha256:
            if ref.path and self._sha(Path(ref.path)) == ref.sha256:
                return self._read(ref.path, ref.sha256, "sha256")
            found = self._search(ref.sha256, log_dir)
            if found is not None:
                return self._read(found, ref.sha256, f"sha256 (moved: the log recorded {named})")
            why = (
                f"{named} has changed since the eval (its sha256 differs)"
                if ref.path and Path(ref.path).is_file()
                else f"file not found (recorded at {named})"
            )
            return LibraryInfo(
                path=named, sha256=ref.sha256,
                error=f"{why}; no file with sha256 {ref.sha256[:12]}... under the given paths or the log's folder",
            )
        # older logs: by path only, never relative to the working directory
        if ref.path:
            candidate = Path(ref.path)
        elif ref.arg and Path(ref.arg).expanduser().is_absolute():
            candidate = Path(ref.arg).expanduser()
        else:
            candidate = log_dir / (ref.arg or "")
        info = read_library(candidate)
        info.identified_by = "path (the log predates library hashes)"
        if not info.found:
            info.path = str(candidate)
        return info

    def _read(self, path: str | Path, sha: str, how: str) -> LibraryInfo:
        info = read_library(path)
        if info.found and info.sha256 != sha:  # rewritten since it was hashed a moment ago
            return LibraryInfo(path=str(path), sha256=sha, error="file changed while the report read it")
        info.identified_by = how
        return info

    def _sha(self, path: Path) -> str | None:
        try:
            st = path.stat()
            if not path.is_file() or st.st_size > MAX_LIBRARY_BYTES:
                return None
            key = (str(path), st.st_size, st.st_mtime_ns)
            if key not in self._hashes:
                self._hashes[key] = file_sha256(path)
            return self._hashes[key]
        except OSError:
            return None

    def _search(self, sha: str, log_dir: Path) -> str | None:
        if self._index is None:
            self._index = {}
            for root in self.roots:
                files = [root] if root.is_file() else sorted(root.rglob("*.json")) if root.is_dir() else []
                self._add(files)
        if log_dir not in self._indexed_dirs and log_dir.is_dir():
            self._indexed_dirs.add(log_dir)
            self._add(sorted(log_dir.glob("*.json")))
        return self._index.get(sha)

    def _add(self, files: list[Path]) -> None:
        assert self._index is not None
        for f in files:
            if f.suffix != ".json" or _json_log(f):
                continue
            h = self._sha(f)
            if h is not None:
                self._index.setdefault(h, str(f))


_STAGE_KEYS = ("usage", "stage_usage", "usage_by_stage", "token_usage", "stages", "cost")


def _stage_usage(prov: dict[str, Any]) -> dict[str, Usage]:
    """Usage per stage: a {stage: usage} mapping at the top, else summed over per-step stats."""
    for key in _STAGE_KEYS:
        block = prov.get(key)
        if isinstance(block, dict) and block and all(_usage_like(v) for v in block.values()):
            return {str(k): to_usage(v) for k, v in block.items()}
    totals: dict[str, Usage] = {}
    steps = prov.get("steps") or prov.get("stats") or prov.get("step_stats")
    if isinstance(steps, list):
        for step in steps:
            if not isinstance(step, dict):
                continue
            for key in _STAGE_KEYS:
                block = step.get(key)
                if isinstance(block, dict) and block and all(_usage_like(v) for v in block.values()):
                    for k, v in block.items():
                        totals[str(k)] = totals.get(str(k), Usage()) + to_usage(v)
                    break
    return totals


def _usage_like(v: Any) -> bool:
    return isinstance(v, dict) and any(k in v for k in ("input_tokens", "output_tokens", "total_cost", "cost"))


def _str_or_none(v: Any) -> str | None:
    return str(v) if isinstance(v, (str, int, float)) and str(v) else None


# ---------------------------------------------------------------- logs


def list_logs(locations: Iterable[str]) -> list[str]:
    """Log files under the given directories (recursively) or given directly.

    A plain glob, not ``inspect_ai.log.list_eval_logs``: that one opens every log (it took
    6 s for 50 large logs) and the headers are read once afterwards anyway. ``.json``
    files count as logs only when they look like inspect logs (``"eval"`` and
    ``"version"`` near the top), so experience libraries next to logs are not reported;
    nor are the plans of sharded runs (``.harness-shards/``).
    """
    out: list[str] = []
    for loc in locations:
        p = Path(loc)
        if p.is_file():
            out.append(str(p))
        elif p.is_dir():
            out.extend(str(f) for f in p.rglob("*.eval") if f.is_file())
            out.extend(str(f) for f in p.rglob("*.json") if f.is_file() and PLAN_DIR not in f.parts and _json_log(f))
        else:
            raise FileNotFoundError(f"no such log file or directory: {loc}")
    return sorted(dict.fromkeys(out))


def _json_log(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(4000)
    except OSError:
        return False
    return b'"eval"' in head and b'"version"' in head


def read_runs(
    locations: Iterable[str],
    *,
    prices: dict[str, Any] | None = None,
    tool_calls: bool = True,
    task: str | None = None,
    workers: int | None = None,
    library_search: Iterable[str] | None = None,
) -> tuple[list[RunRecord], list[Skipped]]:
    """Every readable, finished log under ``locations`` as rows; the rest as Skipped.

    Headers are parsed in ``workers`` processes (default: one per core when there are
    at least ``PARALLEL_MIN_LOGS`` logs); results keep the order of the log paths.
    Experience libraries are then identified by :class:`LibraryFinder`, searching
    ``library_search`` (default: ``locations``) for files with the recorded hash.
    """
    locations = list(locations)
    paths = list_logs(locations)
    n = workers if workers is not None else (os.cpu_count() or 1)
    n = min(n, len(paths) // PARALLEL_MIN_LOGS) if workers is None else n
    job = functools.partial(_read_one, prices=prices or {}, tool_calls=tool_calls, task=task)
    results: list[list[RunRecord] | Skipped | None]
    if n > 1 and "fork" in multiprocessing.get_all_start_methods():
        chunks = [paths[i::n] for i in range(n)]
        try:
            with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork")) as pool:
                parts = list(pool.map(_read_many, chunks, [job] * n))
            by_path = {p: r for chunk, part in zip(chunks, parts) for p, r in zip(chunk, part)}
            results = [by_path[p] for p in paths]
        except (OSError, BrokenProcessPool):  # no processes available here: read in this one
            results = [job(p) for p in paths]
    else:
        results = [job(p) for p in paths]
    runs: list[RunRecord] = []
    skipped: list[Skipped] = []
    for r in results:
        if isinstance(r, Skipped):
            skipped.append(r)
        elif r:
            runs.extend(r)
    runs, skipped = merge_shards(runs, skipped)
    finder = LibraryFinder(locations if library_search is None else library_search)
    for run in runs:
        if run.library_ref is not None:
            run.experiences = finder.resolve(run.library_ref, run.path)
    return runs, skipped


PARALLEL_MIN_LOGS = 8
"""Below this many logs per worker, reading in one process is faster than forking."""


# ---------------------------------------------------------------- sharded runs


def merge_shards(runs: list[RunRecord], skipped: list[Skipped]) -> tuple[list[RunRecord], list[Skipped]]:
    """One row per sharded run (``harness eval --workers N``): the rows of a group's shard
    logs (same model and task) become one, with per-problem values merged and every
    mean-over-problems metric recomputed over all problems. Per shard the most complete
    log counts (a log superseded by its ``eval-retry`` is left out); a group missing a
    shard, or with an unfinished one, is one INCOMPLETE row, and the shards without a
    usable log stay in ``skipped`` with their reason. Rows of other logs pass through."""
    plain = [r for r in runs if r.shard is None]
    groups: dict[tuple[str, str, str], list[RunRecord]] = {}
    for r in runs:
        if r.shard is not None:
            groups.setdefault((r.shard.group, r.model, r.task), []).append(r)
    covered = {(r.shard.group, r.model, r.shard.index) for r in runs if r.shard is not None}
    failed: dict[tuple[str, str], dict[int, Skipped]] = {}
    kept: list[Skipped] = []
    for s in skipped:
        if s.shard is None:
            kept.append(s)
        elif (s.shard.group, s.model, s.shard.index) not in covered:
            # no usable log for this shard: the group is incomplete, and says why
            failed.setdefault((s.shard.group, s.model or ""), {})[s.shard.index] = s
            kept.append(s.model_copy(update={"reason": f"shard {s.shard.index + 1}/{s.shard.count} of group "
                                                       f"{s.shard.group}: {s.reason}"}))
    merged: list[RunRecord] = []
    for (group, model, _), members in groups.items():
        result = _merge_group(members, failed.get((group, model), {}))
        if isinstance(result, Skipped):
            kept.append(result)
        else:
            merged.append(result)
    return plain + merged, kept


def _merge_group(members: list[RunRecord], failed: dict[int, Skipped]) -> RunRecord | Skipped:
    info = members[0].shard
    assert info is not None
    for r in members:
        assert r.shard is not None
        if (r.shard.count, r.shard.samples, r.shard.sample_ids) != (info.count, info.samples, info.sample_ids):
            return Skipped(path=r.path, reason=f"group {info.group}: its shard logs disagree on the shard count "
                                               "or the sample set (logs of different runs?); not merged")
    best: dict[int, RunRecord] = {}
    superseded: list[str] = []
    for r in sorted(members, key=lambda r: (not r.incomplete, r.completed, r.created or ""), reverse=True):
        assert r.shard is not None
        if r.shard.index in best:
            superseded.append(r.path)
        else:
            best[r.shard.index] = r
    parts = [best[i] for i in sorted(best)]
    base = parts[0]
    differ = sorted({k for p in parts for k in set(p.config) | set(base.config) if p.config.get(k) != base.config.get(k)})
    if differ:
        return Skipped(path=base.path, reason=f"group {info.group}: its shard logs differ in {', '.join(differ[:5])}; "
                                              "not merged")
    notes = [f"{len(parts)}/{info.count} shard logs merged (group {info.group})"]
    if superseded:
        notes.append(f"{len(superseded)} older shard log(s) superseded by their retry")
    metrics: list[MetricResult] = []
    for m in base.metrics:
        same = [p.metric(m.label) for p in parts]
        per: dict[str, float] = {}
        mergeable = True
        for p, pm in zip(parts, same):
            if pm is None or not pm.per_problem or not _mean_of(pm):
                mergeable = False
                break
            overlap = per.keys() & pm.per_problem.keys()
            if overlap:
                return Skipped(path=p.path, reason=f"group {info.group}: shards overlap on sample "
                                                   f"{sorted(overlap)[0]}; not merged")
            per.update(pm.per_problem)
        if not mergeable:
            # a whole-run statistic (or one not the mean of its per-problem values) cannot
            # be assembled from shards: leave it out, visibly, rather than average it
            notes.append(f"{m.label} not merged: not a mean over problems (rerun with --workers 1 for it)")
            continue
        metrics.append(m.model_copy(update={"per_problem": per, "value": sum(per.values()) / len(per)}))
    missing = [i for i in range(info.count) if i not in best]
    problems_ = [f"shard {i + 1}: {failed[i].reason if i in failed else 'no log'}" for i in missing]
    problems_ += [f"shard {p.shard.index + 1}: {p.status} {p.completed}/{p.planned}"  # type: ignore[union-attr]
                  for p in parts if p.incomplete]
    whole = base.split is None
    solver_usage, judge_usage = Usage(), Usage()
    for p in parts:
        solver_usage, judge_usage = solver_usage + p.solver_usage, judge_usage + p.judge_usage
    tools = [(p.tool_calls, p.completed) for p in parts if p.tool_calls is not None and p.completed]
    commits = sorted({p.commit for p in parts if p.commit})
    return base.model_copy(
        update={
            "problems": info.samples if whole else sum(p.problems for p in parts),
            "planned": info.samples * base.epochs if whole else sum(p.planned for p in parts),
            "completed": sum(p.completed for p in parts),
            "status": "success" if not problems_ else f"incomplete shards: {'; '.join(problems_)}"[:300],
            "created": min(p.created or "" for p in parts) or None,
            "commit": ", ".join(commits) or None,  # shards run from different commits: all of them
            "metrics": metrics,
            "solver_usage": solver_usage,
            "judge_usage": judge_usage,
            "tool_calls": sum(t * n for t, n in tools) / sum(n for _, n in tools) if tools else None,
            "shard": None,
            "group": info.group,
            "shard_logs": [p.path for p in parts],
            "notes": notes,
            "unscored": [u for p in parts for u in p.unscored],
        },
        deep=True,
    )


def _mean_of(m: MetricResult) -> bool:
    """The metric's value is the mean of its per-problem values (so shards can be pooled)."""
    values = list((m.per_problem or {}).values())
    return bool(values) and math.isclose(m.value, sum(values) / len(values), rel_tol=1e-9, abs_tol=1e-12)


def _read_many(paths: list[str], job: Any) -> list[Any]:
    return [job(p) for p in paths]


def _read_one(path: str, *, prices: dict[str, Any], tool_calls: bool, task: str | None) -> list[RunRecord] | Skipped | None:
    from inspect_ai.log import read_eval_log

    try:
        log = read_eval_log(path, header_only=True)
    except Exception as ex:  # corrupt zip, bad JSON, truncated file: report and go on
        return Skipped(path=path, reason=f"unreadable log ({type(ex).__name__}: {str(ex)[:120]})")
    if task and log.eval.task.split("/")[-1] != task and not _splits_into(log.eval.task, task):
        return None
    try:
        shard = shard_info(log.eval.metadata)
        records = run_records(log, path, prices=prices, tool_calls=tool_calls)
    except Exception as ex:
        return Skipped(path=path, reason=f"could not interpret log ({type(ex).__name__}: {str(ex)[:120]})")
    if isinstance(records, Skipped):
        return records.model_copy(update={"shard": shard, "model": log.eval.model})
    for r in records:
        r.shard = shard
    return [r for r in records if not task or r.task == task]


def _splits_into(log_task: str, task: str) -> bool:
    base = log_task.split("/")[-1]
    return base in SPLIT_TASKS and any(task == SPLIT_TASKS[base][1].format(v) for v in ("2024", "2025"))


def run_records(log: Any, path: str, *, prices: dict[str, Any], tool_calls: bool = True) -> list[RunRecord] | Skipped:
    """Rows for one log header (several when the task is split, e.g. ``aime`` by year).

    The experience library is only referenced here (``library_ref``); :func:`read_runs`
    resolves it with a :class:`LibraryFinder`.
    """
    if log.results is None or not log.results.scores:
        why = log.error.message.splitlines()[0][:120] if log.error else "no results"
        return Skipped(path=path, reason=f"status {log.status}: {why} (partial or unfinished run)")

    args = dict(log.eval.task_args or {})
    meta = dict(log.eval.metadata or {})
    task_name = log.eval.task.split("/")[-1]
    solver = str(args.get("solver") or meta.get("solver") or "direct")
    epochs = int(log.eval.config.epochs or 1)
    n_problems = len(log.eval.dataset.sample_ids or []) or int(log.eval.dataset.samples or 0)
    limit = log.eval.config.limit
    if isinstance(limit, int) and limit > 0:
        n_problems = min(n_problems, limit)
    elif isinstance(limit, (tuple, list)) and len(limit) == 2:
        n_problems = min(n_problems, max(0, int(limit[1]) - int(limit[0])))
    if log.eval.config.sample_id:
        ids = log.eval.config.sample_id
        n_problems = len(ids) if isinstance(ids, list) else 1
    planned = max(int(log.results.total_samples or 0), n_problems * epochs)
    rev = log.eval.revision
    commit = f"{rev.commit}{'-dirty' if rev.dirty else ''}" if rev is not None else None

    solver_usage, judge_usage = split_usage(log, prices)
    base = RunRecord(
        path=path,
        task=task_name,
        model=log.eval.model,
        solver=solver,
        base_solver=_str_or_none(meta.get("base_solver") or args.get("base_solver")) if solver == "tfgrpo" else None,
        library_ref=library_ref(args, meta),
        epochs=epochs,
        problems=n_problems,
        planned=planned,
        completed=int(log.results.completed_samples or 0),
        status=str(log.status),
        commit=commit,
        created=str(log.eval.created),
        metrics=log_metrics(log, epochs),
        solver_usage=solver_usage,
        judge_usage=judge_usage,
        task_args={k: v for k, v in args.items() if isinstance(v, (str, int, float, bool))},
        config=run_config(log),
    )
    effective = (base.base_solver or "direct") if solver == "tfgrpo" else solver
    if tool_calls and effective not in DIRECT_SOLVERS:
        base.tool_calls = mean_tool_calls(path)
    summaries = sample_summaries(path)
    base.unscored = unscored_scores(summaries)
    if task_name in SPLIT_TASKS:
        return split_record(base, summaries)
    return [base]


def unscored_scores(summaries: list[dict[str, Any]]) -> list[Unscored]:
    """Every sample-epoch score whose value is NaN (inspect's unscored sentinel), with its
    reason (``Score.reason``, else the scorer's ``metadata["reason"]``, else ``unknown``)."""
    out: list[Unscored] = []
    for s in summaries:
        for name, score in (s.get("scores") or {}).items():
            v = score.get("value")
            if isinstance(v, float) and math.isnan(v):
                reason = score.get("reason") or (score.get("metadata") or {}).get("reason") or "unknown"
                out.append(Unscored(sample=str(s["id"]), epoch=int(s.get("epoch") or 1), scorer=name,
                                    reason=str(reason)[:60]))
    return out


def log_metrics(log: Any, epochs: int) -> list[MetricResult]:
    """Every metric of a log's results, named and with its unit, with per-problem values
    (from the reductions) wherever the metric is a mean over problems."""
    from inspect_ai.scorer import value_to_float

    to_float = value_to_float()
    reductions = {(r.scorer, r.reducer or "mean"): r for r in (log.reductions or [])}
    several = len({s.scorer for s in log.results.scores}) > 1
    metrics: list[MetricResult] = []
    for score in log.results.scores:
        reducer = score.reducer or "mean"
        red = reductions.get((score.scorer, reducer))
        names = [n for n in score.metrics if not (n == "stderr" or n.endswith("_stderr"))]
        block_is_accuracy = "accuracy" in score.metrics
        per_problem = {
            n: _per_problem(red.samples, n, to_float, score_name=score.name) if red is not None else None for n in names
        }
        for name, (minuend, subtrahend) in DIFFERENCE_METRICS.items():
            if name in per_problem and per_problem.get(minuend) and per_problem.get(subtrahend):
                a, b = per_problem[minuend], per_problem[subtrahend]
                per_problem[name] = {i: a[i] - b[i] for i in a if i in b} or None
        for name in names:
            # a generic statistic ("mean") is named by what it is the mean of: the score's name
            quantity = score.name if name == "mean" else name
            if name == "accuracy":
                label = reducer_label(reducer, epochs)
            else:
                label = quantity if reducer == "mean" else f"{quantity}[{reducer_label(reducer, epochs)}]"
            if several:
                label = f"{score.name}:{label}"
            fraction = block_is_accuracy or quantity in FRACTION_METRICS
            difference = quantity in DIFFERENCE_METRICS
            if fraction or difference:
                unit = "pts" if difference else "%"
            elif PERCENT_SCALE_METRICS.match(quantity):
                unit = "%"
            else:
                unit = UNITS.get(quantity)
            metrics.append(
                MetricResult(
                    label=label,
                    scorer=score.name,
                    reducer=reducer,
                    metric=quantity,
                    value=float(score.metrics[name].value),
                    percent=fraction or difference,
                    unit=unit,
                    per_problem=per_problem[name],
                )
            )
    labels = [m.label for m in metrics]
    for m in metrics:  # never two columns under one name
        if labels.count(m.label) > 1:
            m.label = f"{m.label} ({m.scorer})"
    return metrics


def _per_problem(
    samples: list[Any], metric: str, to_float: Any, score_name: str | None = None
) -> dict[str, float] | None:
    """Each problem's reduced value of ``metric`` (for a dict-valued score: its key
    ``metric``, or for a generic ``mean`` the key named like the score)."""
    out: dict[str, float] = {}
    for s in samples:
        v = s.value
        if isinstance(v, dict):
            if metric in v:
                v = v[metric]
            elif metric in ("accuracy", "mean") and score_name in v:
                v = v[score_name]
            else:
                return None
        elif metric not in ("accuracy", "mean"):
            return None  # a scalar score only backs accuracy-like metrics
        try:
            f = float(v) if isinstance(v, (int, float)) else float(to_float(v))
        except (TypeError, ValueError):
            continue
        if not math.isnan(f):
            out[str(s.sample_id)] = f
    return out or None


CONFIG_EVAL_FIELDS = (
    "limit", "sample_id", "sample_shuffle", "epochs", "epochs_reducer", "message_limit", "token_limit",
    "time_limit", "working_limit", "cost_limit", "approval",
)
"""Eval settings that change what is measured (the rest: logging, concurrency, retries)."""

CONFIG_IGNORED_GENERATE = (
    "max_connections", "adaptive_connections", "max_retries", "timeout", "attempt_timeout",
    "stream_idle_timeout", "cache", "batch", "extra_headers",
)
"""Generation settings about transport, not about what the model is asked to do."""

CONFIG_IGNORED_METADATA_PREFIX = "experiences"
"""Library metadata (path, hashes, counts, model): the library's identity stands for all of it."""


def run_config(log: Any) -> dict[str, Any]:
    """A flat dict of everything recorded that can change a run's results: model and model
    args, judge roles, task version and args, solver settings (task metadata), the sample
    set, eval settings (epochs, limits) and generation settings (task and model config).
    The library is added by :attr:`RunRecord.config_id` (its hash, or path in older logs)."""
    ev = log.eval
    out: dict[str, Any] = {"model": ev.model, "task": ev.task, "task_version": ev.task_version}
    for k, v in (ev.model_args or {}).items():
        out[f"model_args.{k}"] = v
    for role, cfg in (ev.model_roles or {}).items():
        out[f"role.{role}"] = getattr(cfg, "model", cfg)
        for k, v in (getattr(cfg, "args", None) or {}).items():
            out[f"role.{role}.{k}"] = v
        gen = getattr(cfg, "config", None)
        for k, v in (gen.model_dump(exclude_none=True) if gen is not None else {}).items():
            if k not in CONFIG_IGNORED_GENERATE:
                out[f"role.{role}.{k}"] = v
    # task args as typed, then the settings the task and solver recorded as in effect (the
    # tfgrpo solver's default base_solver equals an explicit -T base_solver=direct)
    settings = {k: v for k, v in (ev.task_args or {}).items() if k != "experiences"}
    settings.update({
        k: v for k, v in (ev.metadata or {}).items() if not k.startswith(CONFIG_IGNORED_METADATA_PREFIX) and k != SHARD_KEY
    })
    for k, v in settings.items():
        out[f"task.{k}"] = v
    ds = ev.dataset
    shard = shard_info(ev.metadata)
    out["data.name"] = ds.name
    out["data.location"] = ds.location
    out["data.samples"] = ds.samples
    out["data.sample_ids"] = shard.sample_ids if shard else sample_ids_digest(ds.sample_ids) if ds.sample_ids else None
    out["data.shuffled"] = ds.shuffled
    config = ev.config.model_dump(exclude_none=True)
    if shard is not None:  # a shard's config is its whole run's: the run's sample selection, not the shard's
        config.pop("sample_id", None)
        config.pop("limit", None)
        config.update({k: v for k, v in (("limit", shard.limit), ("sample_id", shard.sample_id)) if v is not None})
    for k in CONFIG_EVAL_FIELDS:
        if config.get(k) is not None:
            out[k] = config[k]
    generate = {
        **(ev.model_generate_config.model_dump(exclude_none=True) if ev.model_generate_config else {}),
        **(log.plan.config.model_dump(exclude_none=True) if log.plan is not None else {}),
    }
    for k, v in generate.items():
        if k not in CONFIG_IGNORED_GENERATE:
            out[f"gen.{k}"] = v
    return {k: _plain(v) for k, v in out.items() if v is not None}


def _plain(v: Any) -> Any:
    """JSON-comparable form of a config value."""
    try:
        return json.loads(json.dumps(v, sort_keys=True, default=str))
    except (TypeError, ValueError):
        return str(v)


def split_usage(log: Any, prices: dict[str, Any]) -> tuple[Usage, Usage]:
    """(solver, judge) usage of a log: judge = the judge roles' usage, solver = the rest."""
    stats = log.stats
    roles = log.eval.model_roles or {}
    total = Usage()
    for model, u in (stats.model_usage or {}).items():
        total = total + to_usage(u, prices.get(model))
    judge = Usage()
    for role, u in (stats.role_usage or {}).items():
        if role in JUDGE_ROLES:
            role_model = getattr(roles.get(role), "model", None)
            judge = judge + to_usage(u, prices.get(role_model) if role_model else None)
    return total - judge, judge


def split_record(base: RunRecord, summaries: list[dict[str, Any]]) -> list[RunRecord]:
    """Rows per value of the task's split field (``aime`` -> aime2024, aime2025)."""
    field, pattern = SPLIT_TASKS[base.task]
    groups: dict[str, set[str]] = {}
    epochs_done: dict[str, int] = {}
    for s in summaries:
        key = str((s.get("metadata") or {}).get(field, "unknown"))
        groups.setdefault(key, set()).add(str(s["id"]))
        if s.get("completed") or s.get("scores"):
            epochs_done[key] = epochs_done.get(key, 0) + 1
    rows = []
    for key, ids in sorted(groups.items()):
        metrics = []
        for m in base.metrics:
            if m.per_problem is None:
                continue  # a whole-task statistic cannot be split
            sub = {i: v for i, v in m.per_problem.items() if i in ids}
            if not sub:
                continue
            metrics.append(m.model_copy(update={"per_problem": sub, "value": sum(sub.values()) / len(sub)}))
        share = len(ids) / max(1, base.problems)
        rows.append(
            base.model_copy(
                update={
                    "task": pattern.format(key),
                    "split": f"{field}={key}",
                    "problems": len(ids),
                    "planned": len(ids) * base.epochs,
                    "completed": epochs_done.get(key, 0),
                    "metrics": metrics,
                    "solver_usage": _scale(base.solver_usage, share),
                    "judge_usage": _scale(base.judge_usage, share),
                    "unscored": [u for u in base.unscored if u.sample in ids],
                }
            )
        )
    return rows


def _scale(u: Usage, share: float) -> Usage:
    """Usage attributed to a split in proportion to its problems (logs keep no per-split totals)."""
    return Usage(
        input_tokens=round(u.input_tokens * share),
        output_tokens=round(u.output_tokens * share),
        cache_read_tokens=round(u.cache_read_tokens * share),
        cache_write_tokens=round(u.cache_write_tokens * share),
        reasoning_tokens=round(u.reasoning_tokens * share),
        cost=None if u.cost is None else u.cost * share,
    )


def mean_tool_calls(path: str) -> float | None:
    """Mean of the sample store's ``tool_calls`` over sample-epochs (None if never recorded)."""
    try:
        values = store_values(path, "tool_calls")
    except Exception:  # not a zip we can read directly: let inspect read it (slower)
        values = _store_values_samples_df(path, "tool_calls")
    values = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(values) / len(values) if values else None


def store_values(path: str, key: str) -> list[Any]:
    """``store[key]`` of every sample-epoch in an ``.eval`` log, read straight from the zip.

    Parsing each sample's JSON without building inspect's ``EvalSample`` models is about
    40x faster than ``samples_df`` (6 s -> 0.15 s for 2,000 samples), which matters because
    the store is only in the full samples. Any surprise raises (see :func:`_zip_members`),
    and the caller falls back to ``samples_df``.
    """
    out = []
    for _, data in _zip_members(path, lambda n: n.startswith("samples/") and n.endswith(".json")):
        store = json.loads(data).get("store") or {}
        if key in store:
            out.append(store[key])
    return out


def _zip_members(path: str, wanted: Any) -> Iterable[tuple[str, bytes]]:
    """(name, bytes) of the members of an ``.eval`` zip whose name ``wanted`` accepts.

    ``.eval`` members are zstd-compressed (zip method 93), which Python's zipfile cannot
    open, so the raw member is decompressed with ``zstandard``. Any surprise raises.
    """
    import struct
    import zipfile

    import zstandard

    with zipfile.ZipFile(path) as zf, open(path, "rb") as raw:
        for info in zf.infolist():
            if not wanted(info.filename):
                continue
            if info.compress_type != 93:
                yield info.filename, zf.read(info)
                continue
            raw.seek(info.header_offset)
            header = raw.read(30)
            if header[:4] != b"PK\x03\x04":
                raise ValueError("bad local header")
            name_len, extra_len = struct.unpack("<HH", header[26:30])
            raw.seek(info.header_offset + 30 + name_len + extra_len)
            yield info.filename, zstandard.ZstdDecompressor().decompress(
                raw.read(info.compress_size), max_output_size=max(info.file_size, 1)
            )


def sample_summaries(path: str) -> list[dict[str, Any]]:
    """Each sample-epoch's summary (``id``, ``epoch``, ``metadata``, ``scores``, ``completed``)
    as plain JSON: from a finished ``.eval`` zip's ``summaries.json`` directly (about 8x faster
    than building inspect's models, which matters for a leaderboard over many large logs),
    else through inspect (``.json`` logs, unfinished logs)."""
    if path.endswith(".eval"):
        try:
            found = list(_zip_members(path, lambda n: n == "summaries.json"))
            if found:
                return json.loads(found[0][1])
        except Exception:
            pass  # let inspect read it
    from inspect_ai.log import read_eval_log_sample_summaries

    return [s.model_dump(include={"id", "epoch", "metadata", "scores", "completed"})
            for s in read_eval_log_sample_summaries(path)]


def _store_values_samples_df(path: str, key: str) -> list[Any]:
    from inspect_ai.analysis import SampleColumn, samples_df

    df = samples_df(
        path,
        columns=[
            SampleColumn("id", path="id", required=True),
            SampleColumn(key, path=f"store.{key}", full=True),
        ],
        quiet=True,
    )
    return [] if key not in df else [v for v in df[key].tolist() if v is not None and v == v]


def short_path(path: str, root: str | None = None) -> str:
    """Log path relative to ``root`` when inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve())) if root else Path(path).name
    except ValueError:
        return path
