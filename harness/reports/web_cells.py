"""WebWalkerQA's per-cell table (type x difficulty, plus overall) read back from a log.

    python -m harness.reports.web_cells LOG [LOG ...]

Accuracies come from the log's results (the ``web_judge`` scorer's grouped ``cell``
metric, one block per epoch reducer: ``Mean@k`` is the paper's pass@1, ``Pass@k`` the
unbiased pass@k); the question counts and the judge replies without a grade per cell
(scored incorrect; unscored in logs written before that rule) come from the log's samples.
Nothing is recomputed, so every printed number traces to the log.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from pathlib import Path

from inspect_ai.log import EvalLog, read_eval_log

from harness.logs import reducer_label

TYPES = ("single_source", "multi_source")
DIFFICULTIES = ("easy", "medium", "hard")
SCORER = "web_judge"


def _pct(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.2f}"


def _role_model(log: EvalLog, role: str) -> str:
    roles = log.eval.model_roles or {}
    bound = roles.get(role)
    if bound is None:
        return "default"
    first = bound[0] if isinstance(bound, list) else bound
    return str(getattr(first, "model", first))


def cell_counts(log: EvalLog) -> tuple[dict[str, int], dict[str, int]]:
    """(distinct questions per cell, sample-epochs per cell whose judge reply had no grade)."""
    questions: dict[str, set] = defaultdict(set)
    no_grade: dict[str, int] = defaultdict(int)
    for sample in log.samples or []:
        cell = str((sample.metadata or {}).get("cell", "unknown/unknown"))
        questions[cell].add(sample.id)
        score = (sample.scores or {}).get(SCORER)
        if score is None:
            continue
        unscored = isinstance(score.value, float) and math.isnan(score.value)  # logs before the no_grade rule
        if unscored or (score.metadata or {}).get("reason") == "no_grade":
            no_grade[cell] += 1
    return {k: len(v) for k, v in questions.items()}, dict(no_grade)


def cell_table(log: EvalLog | str | Path) -> str:
    """The per-cell table of one WebWalkerQA log, as text."""
    from tabulate import tabulate

    if not isinstance(log, EvalLog):
        log = read_eval_log(str(log))
    epochs = log.eval.config.epochs or 1
    meta = log.eval.metadata or {}
    lines = [
        f"{log.eval.task}  model={log.eval.model}  setting={meta.get('setting', '?')}  "
        f"judge={_role_model(log, 'grader')} ({meta.get('judge_parsing', '?')} parsing)  epochs={epochs}  "
        f"status={log.status}",
        f"log: {log.location}",
    ]
    scores = [s for s in (log.results.scores if log.results else []) if s.scorer == SCORER or s.name == SCORER]
    scores = [s for s in scores if "no_grade" not in s.metrics or len(s.metrics) > 1]  # not the no_grade count block
    if not scores:
        lines.append("(no web_judge results in this log)")
        return "\n".join(lines)
    counts, no_grade = cell_counts(log)
    for score in scores:
        metrics = {k: v.value for k, v in score.metrics.items()}
        rows = [[t] + [_pct(metrics.get(f"{t}/{d}")) for d in DIFFICULTIES] for t in TYPES]
        overall = metrics.get("overall", metrics.get("accuracy"))
        lines.append("")
        lines.append(f"{reducer_label(score.reducer, epochs)} (reducer {score.reducer or 'mean'}), accuracy %: overall {_pct(overall)}")
        lines.append(tabulate(rows, headers=["type", *DIFFICULTIES], tablefmt="github"))
    count_rows = [
        [t] + [f"{counts.get(f'{t}/{d}', 0)}" + (f" ({no_grade[f'{t}/{d}']} no grade)" if no_grade.get(f"{t}/{d}") else "") for d in DIFFICULTIES]
        for t in TYPES
    ]
    other = {k: v for k, v in counts.items() if k.split("/")[0] not in TYPES or k.split("/")[-1] not in DIFFICULTIES}
    lines.append("")
    lines.append(
        f"questions per cell (total {sum(counts.values())}; no grade = judge replies without a grade, "
        f"counted incorrect (unscored in older logs); {sum(no_grade.values())} in all):"
    )
    lines.append(tabulate(count_rows, headers=["type", *DIFFICULTIES], tablefmt="github"))
    if other:
        lines.append(f"outside the 6 cells: {other}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m harness.reports.web_cells LOG [LOG ...]", file=sys.stderr)
        return 2
    for i, path in enumerate(paths):
        if i:
            print()
        print(cell_table(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
