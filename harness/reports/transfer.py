"""``harness transfer``: the paper's Table 6 layout from your logs.

Rows: model x solver x where its experience library was learned (``-`` = no library).
The solver of a tfgrpo run is its base solver (``direct`` when none was given, as the
tfgrpo solver defaults). Columns: AIME24, AIME25, WebWalkerQA, then any other task
present. Cells: averaged pass@1 (the ``mean`` reducer's accuracy: Mean@k) with a 95%
bootstrap CI over problems, from the newest complete log; other logs for the same cell
are listed under the table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module for --help: run records only when a report runs
    from harness.reports.runs import RunRecord

FIRST_COLUMNS = ("aime2024", "aime2025", "webwalkerqa")
COLUMN_NAMES = {"aime2024": "AIME24", "aime2025": "AIME25", "webwalkerqa": "WebWalker"}


def transfer_table(runs: list[RunRecord], *, n_boot: int = 10_000, seed: int = 0):
    """(columns, rows) with rows = (model, solver, learned, {task: (Cell, run, others)})."""
    from harness.reports.leaderboard import metric_cells

    tasks = sorted({r.task for r in runs}, key=lambda t: (FIRST_COLUMNS.index(t) if t in FIRST_COLUMNS else 99, t))
    table: dict[tuple[str, str, str], dict[str, tuple]] = {}
    for run in sorted(runs, key=lambda r: (not r.incomplete, r.created or "")):
        mean = next((m for m in run.metrics if m.metric == "accuracy" and (m.reducer or "mean") == "mean"), None)
        if mean is None:
            continue
        base = (run.base_solver or "direct") if run.solver == "tfgrpo" else run.solver
        key = (run.model, base, run.learned)
        cell = metric_cells(run.model_copy(update={"metrics": [mean]}), n_boot=n_boot, seed=seed)[mean.label]
        before = table.setdefault(key, {}).get(run.task)
        others = [*before[2], before[1]] if before else []
        table[key][run.task] = (cell, run, others)  # later (newer, complete) runs win; the rest are listed
    rows = sorted(table.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] != "-", kv[0][2]))
    return tasks, rows


def render(tasks: list[str], rows, fmt: str = "md") -> str:
    from tabulate import tabulate

    head = ["model", "solver", "learned on", *[COLUMN_NAMES.get(t, t) for t in tasks]]
    body = []
    notes: list[str] = []
    for (model, solver, learned), cells in rows:
        line = [model, solver, learned]
        for t in tasks:
            if t not in cells:
                line.append("—")
                continue
            cell, run, others = cells[t]
            line.append(cell.text() + (" INCOMPLETE" if run.incomplete else ""))
            if others:
                notes.append(f"{model} / {solver} / learned {learned} / {COLUMN_NAMES.get(t, t)}: from {Path(run.path).name}; "
                             f"not used (older or incomplete): {', '.join(Path(o.path).name for o in others)}")
        body.append(line)
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf).writerows([head, *body])
        return buf.getvalue()
    note = ("\nCells: averaged pass@1 (Mean@k, %) [95% bootstrap CI over problems]; — = no log. "
            "'learned on' is the task domain recorded in the experience library the run used; "
            "the solver of a tfgrpo run is its base solver.\n")
    return (tabulate(body, headers=head, tablefmt="github", disable_numparse=True) + "\n" + note
            + "".join(f"note: {n}\n" for n in notes))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "transfer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--logs", nargs="+", required=True, help="log directories or files")
    p.add_argument("--format", choices=("md", "csv"), default="md")
    p.add_argument("--n-boot", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.reports.runs import read_runs

    runs, skipped = read_runs(args.logs, tool_calls=False)
    for s in skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    tasks, rows = transfer_table(runs, n_boot=args.n_boot, seed=args.seed)
    sys.stdout.write(render(tasks, rows, args.format))
    return 0
