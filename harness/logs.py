"""Reading results back from inspect logs."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:  # the CLI's report commands import this module: inspect_ai only when used
    from inspect_ai.log import EvalLog

_PASS_AT = re.compile(r"pass_at_(\d+)$")


@dataclass(frozen=True)
class MetricRow:
    scorer: str
    reducer: str
    label: str
    """Mean@k / Pass@k (k = epochs for Mean) or the reducer name."""
    value: float
    stderr: float | None


def reducer_label(reducer: str | None, epochs: int) -> str:
    if reducer in (None, "mean"):
        return f"Mean@{epochs}"
    m = _PASS_AT.search(reducer)
    return f"Pass@{m.group(1)}" if m else reducer


def metric_rows(log: EvalLog) -> list[MetricRow]:
    """One row per (scorer, reducer) of a finished log, in the log's order."""
    if log.results is None:
        return []
    epochs = log.eval.config.epochs or 1
    rows = []
    for score in log.results.scores:
        metrics = score.metrics
        main = metrics.get("accuracy") or metrics.get("mean") or next(iter(metrics.values()), None)
        if main is None:
            continue
        err = metrics.get("stderr")
        rows.append(
            MetricRow(
                scorer=score.scorer,
                reducer=score.reducer or "mean",
                label=reducer_label(score.reducer, epochs),
                value=float(main.value),
                stderr=float(err.value) if err is not None else None,
            )
        )
    return rows


# ---------------------------------------------------------------- sharded runs

SHARD_KEY = "harness_shard"
"""Eval metadata key ``harness eval --workers N`` writes into each shard's log."""

PLAN_DIR = ".harness-shards"
"""Folder inside a log dir holding one folder per shard group (its plan, each shard's output)."""


class ShardInfo(BaseModel):
    """Which part of which sharded run a log is (eval metadata :data:`SHARD_KEY`)."""

    group: str
    """Id shared by every shard of one ``harness eval --workers N`` run."""
    index: int
    count: int
    samples: int
    """Samples (problems) of the whole run, over all shards."""
    sample_ids: str
    """:func:`sample_ids_digest` of the whole run's sample ids."""
    limit: int | list[int] | None = None
    sample_id: list[str] | None = None
    """The run's own ``--limit`` / ``--sample-id`` (each shard's log records its shard's ids)."""


def shard_info(metadata: dict[str, Any] | None) -> ShardInfo | None:
    """The shard record of a log's eval metadata; None for an ordinary log. A malformed
    record raises ValueError (a log that claims to be a shard but cannot say which one
    must not be reported as a run of its own)."""
    raw = (metadata or {}).get(SHARD_KEY)
    if raw is None:
        return None
    try:
        info = ShardInfo.model_validate(raw)
    except ValidationError as ex:
        raise ValueError(f"malformed {SHARD_KEY} metadata: {str(ex).splitlines()[0]}") from None
    if not (info.count >= 1 and 0 <= info.index < info.count and info.samples >= 0):
        raise ValueError(f"malformed {SHARD_KEY} metadata: shard {info.index} of {info.count}")
    return info


def sample_ids_digest(ids: Iterable[Any]) -> str:
    """Short digest of a set of sample ids (order-free): how configs name a sample set."""
    joined = "\n".join(sorted(str(i) for i in ids))
    return hashlib.sha256(joined.encode()).hexdigest()[:10]
