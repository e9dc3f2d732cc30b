"""``harness reproduce``: published tables (results/paper/*.json) next to measured numbers.

A table's rows name a paper model, a method (``direct``, ``react``, ``tfgrpo(react)``,
``reflect_retry``...) and optionally where the experience library was learned and
library settings (ablations). Columns name a task and a metric (``mean`` = Mean@k /
averaged pass@1, ``pass_at_3``, ``first_try``, ``win_rate``...). A cell is measured by
the newest complete log whose model matches the paper model -- by ``--model
"PAPER=LOGMODEL"``, or by an alias in the JSON equal to the log's model name (or its last
``/`` part), ignoring case; never by substring -- and whose method, library and task
match. Other matching logs, and a log filling several rows of one column, are listed
under the table.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # the CLI imports this module for --help: run records only when a report runs
    from harness.reports.runs import RunRecord

PAPER_DIR = Path(__file__).resolve().parents[2] / "results" / "paper"


class Column(BaseModel):
    name: str
    task: str | None = None
    metric: str | None = None
    """``mean`` / ``pass_at_k`` (accuracy under that reducer) or a metric name (first_try, win_rate)."""
    trained: bool = False
    """The cell is for the trained checkpoint: model key ``"<row model> (trained)"``."""
    subset: str | None = None


class PaperRow(BaseModel):
    label: str
    model: str | None = None
    method: str | None = None
    learned: str | None = None
    learned_per_column: dict[str, str] = Field(default_factory=dict)
    library: dict[str, Any] = Field(default_factory=dict)
    key: str | None = None
    values: dict[str, float | None]
    source: str | None = None


class PaperTable(BaseModel):
    id: str
    title: str
    kind: str = "metric"
    """``metric`` (cells from eval logs), ``cost`` (see harness.reports.cost) or ``notes`` (nothing to measure)."""
    unit: str | None = None
    columns: list[Column]
    rows: list[PaperRow]
    caveats: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Paper(BaseModel):
    paper: str
    source: str
    model_aliases: dict[str, list[str]] = Field(default_factory=dict)
    caveats: list[str] = Field(default_factory=list)
    tables: list[PaperTable]


def load_papers(folder: Path = PAPER_DIR) -> list[Paper]:
    if not folder.is_dir():
        raise FileNotFoundError(f"paper tables folder not found: {folder}")
    return [Paper.model_validate_json(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def find_table(table_id: str, folder: Path = PAPER_DIR) -> tuple[Paper, PaperTable]:
    ids = []
    for paper in load_papers(folder):
        for t in paper.tables:
            if t.id == table_id:
                return paper, t
            ids.append(t.id)
    raise ValueError(f"unknown table {table_id!r}; known: {', '.join(ids)} (see `harness reproduce --list`)")


def model_matches(paper_model: str, run_model: str, paper: Paper, mapping: dict[str, str]) -> bool:
    """Does a log's model stand for a paper model?

    With ``--model PAPER=LOGMODEL`` the log's model must be LOGMODEL (or end in
    ``/LOGMODEL``). Otherwise an alias must equal the whole model name or its last ``/``
    part, ignoring case: ``vllm/Qwen/Qwen2.5-32B-Instruct`` matches the alias
    ``qwen2.5-32b-instruct``, ``.../qwen2.5-32b-instruct-retool`` matches nothing, and an
    ``lsp-zero`` model never fills the ``LSP`` row.
    """
    if paper_model in mapping:
        return run_model == mapping[paper_model] or run_model.split("/")[-1] == mapping[paper_model]
    name = run_model.lower()
    names = {name, name.split("/")[-1]}
    return any(alias.lower() in names for alias in paper.model_aliases.get(paper_model, []))


def library_matches(row: PaperRow, run: RunRecord, column: Column) -> bool:
    learned = row.learned_per_column.get(column.name, row.learned)
    if learned and run.learned != learned:
        return False
    if row.library:
        if run.experiences is None or not run.experiences.found:
            return False
        settings = run.experiences.settings
        if any(settings.get(k) != v for k, v in row.library.items()):
            return False
    return True


def metric_of(run: RunRecord, column: Column) -> Any | None:
    """The run's MetricResult for a column's metric."""
    want = column.metric or "mean"
    for m in run.metrics:
        if want in ("mean",) or want.startswith("pass_at_"):
            if m.metric == "accuracy" and (m.reducer or "mean") == want:
                return m
        elif m.metric == want and (m.reducer or "mean") == "mean":
            return m
    return None


def measure(paper: Paper, table: PaperTable, runs: list[RunRecord], mapping: dict[str, str], *, n_boot: int, seed: int):
    """Per (row, column): (published, measured Cell | None, run | None)."""
    return measure_with_notes(paper, table, runs, mapping, n_boot=n_boot, seed=seed)[0]


def measure_with_notes(
    paper: Paper, table: PaperTable, runs: list[RunRecord], mapping: dict[str, str], *, n_boot: int, seed: int
) -> tuple[list[list[tuple]], list[str]]:
    """:func:`measure`, plus notes on what the cells leave out: other logs matching a cell
    (older or incomplete) and logs that fill several rows of one column."""
    from harness.reports.leaderboard import metric_cells
    from harness.reports.runs import short_path

    out = []
    notes: list[str] = []
    filled: dict[tuple[str, str], list[str]] = {}
    for row in table.rows:
        cells = []
        for col in table.columns:
            published = row.values.get(col.name)
            model_key = f"{row.model} (trained)" if col.trained else row.model
            candidates = [
                r for r in runs
                if model_key and model_matches(model_key, r.model, paper, mapping)
                and (row.method is None or r.method == row.method)
                and (col.task is None or r.task == col.task)
                and library_matches(row, r, col)
                and metric_of(r, col) is not None
                and col.subset is None
            ]
            candidates.sort(key=lambda r: (not r.incomplete, r.created or ""), reverse=True)
            run = candidates[0] if candidates else None
            cell = None
            if run is not None:
                m = metric_of(run, col)
                cell = metric_cells(run.model_copy(update={"metrics": [m]}), n_boot=n_boot, seed=seed)[m.label]
                filled.setdefault((col.name, run.path), []).append(row.label)
                if run.unscored:
                    notes.append(f"{row.label} / {col.name}: {run.unscored_text} sample-epoch(s) of "
                                 f"{short_path(run.path)} unscored, left out of the cell")
                if len(candidates) > 1:
                    others = ", ".join(short_path(r.path) for r in candidates[1:])
                    notes.append(f"{row.label} / {col.name}: from {short_path(run.path)} (newest complete); "
                                 f"{len(candidates) - 1} other matching log(s) not used: {others}")
            cells.append((published, cell, run))
        out.append(cells)
    for (col_name, path), labels in filled.items():
        if len(labels) > 1:
            notes.append(f"{short_path(path)} fills {len(labels)} rows of column {col_name}: "
                         + "; ".join(labels) + " (map models explicitly with --model if that is not intended)")
    return out, notes


def render(paper: Paper, table: PaperTable, measured: list[list[tuple]], fmt: str = "md", notes: list[str] = ()) -> str:
    from tabulate import tabulate

    head = ["row"]
    for c in table.columns:
        head += [f"{c.name} paper", f"{c.name} measured [95% CI]", f"{c.name} delta"]
    head.append("logs")
    body = []
    for row, cells in zip(table.rows, measured):
        line = [f"{row.label} ({row.model})" if row.model and row.model not in row.label else row.label]
        logs = []
        for published, cell, run in cells:
            line.append("n/a" if published is None else f"{published:g}")
            if cell is None or cell.value is None or math.isnan(cell.value):
                line += ["— (no log)", ""]
                continue
            line.append(cell.text() + (" INCOMPLETE" if run.incomplete else ""))
            measured_v = cell.scaled(cell.value)
            line.append("" if published is None else f"{measured_v - published:+.1f}")
            logs.append(Path(run.path).name)
        line.append(", ".join(dict.fromkeys(logs)))
        body.append(line)
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(head)
        w.writerows(body)
        return buf.getvalue()
    out = [f"{table.id}: {table.title}", f"source: {paper.source}", ""]
    out.append(tabulate(body, headers=head, tablefmt="github", disable_numparse=True))
    if notes:
        out.append("")
        out.extend(f"note: {n}" for n in notes)
    extra = [*table.notes, *table.caveats, *paper.caveats]
    if extra:
        out.append("")
        out.extend(f"- {x}" for x in extra)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- CLI


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("table", nargs="?", help="table id, e.g. tfgrpo.table1 (see --list)")
    p.add_argument("--list", action="store_true", help="list the published tables")
    p.add_argument("--logs", nargs="+", help="log directories or files")
    p.add_argument("--model", action="append", default=[], metavar="PAPER=LOGMODEL",
                   help='map a paper model to the model name in your logs, e.g. "DeepSeek-V3.1-Terminus=openai-api/deepseek/deepseek-chat" (repeatable)')
    p.add_argument("--format", choices=("md", "csv"), default="md")
    p.add_argument("--prices", help="YAML/JSON prices (--model-cost-config format), for cost tables")
    p.add_argument("--n-boot", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tables", default=str(PAPER_DIR), help=f"folder of paper tables (default {PAPER_DIR})")
    p.set_defaults(func=run)


def parse_mapping(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        paper, sep, log_model = item.partition("=")
        if not sep or not paper.strip() or not log_model.strip():
            raise ValueError(f"--model expects PAPER=LOGMODEL, got {item!r}")
        out[paper.strip()] = log_model.strip()
    return out


def run(args: argparse.Namespace) -> int:
    folder = Path(args.tables)
    if args.list or not args.table:
        for paper in load_papers(folder):
            print(f"{paper.paper}\n  source: {paper.source}")
            for t in paper.tables:
                print(f"  {t.id:22} {t.title}")
        return 0
    paper, table = find_table(args.table, folder)
    if table.kind == "notes":
        print(f"{table.id}: {table.title}\n" + "\n".join(f"- {n}" for n in table.notes))
        return 0
    if not args.logs:
        raise ValueError("give the logs to compare with: --logs LOGDIR")
    from harness.reports.runs import load_prices, read_runs

    prices = load_prices(args.prices)
    runs, skipped = read_runs(args.logs, prices=prices, tool_calls=False)
    for s in skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    if table.kind == "cost":
        from harness.reports.cost import reproduce_cost

        sys.stdout.write(reproduce_cost(paper, table, runs, prices, fmt=args.format))
        return 0
    measured, notes = measure_with_notes(paper, table, runs, parse_mapping(args.model), n_boot=args.n_boot, seed=args.seed)
    sys.stdout.write(render(paper, table, measured, args.format, notes))
    if args.format == "csv":
        for n in notes:
            print(f"note: {n}", file=sys.stderr)
    return 0
