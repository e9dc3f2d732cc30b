"""Reading results back from inspect logs."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
