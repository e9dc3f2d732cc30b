"""``harness leaderboard`` and ``harness compare``: tables from inspect logs with 95% CIs.

One row per (model, task, solver, experience library), newest finished log first when
several logs share a key. Metric cells are ``value [low, high]``: the log's metric and a
percentile bootstrap interval over problems (each problem's score reduced over its
epochs). Token and $ columns are the solver's; the judge's $ has its own column.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.runs import RunRecord, Skipped

FORMATS = ("md", "csv", "html")

TEST_DOUBLE_PROVIDERS = ("testdouble", "mockllm")
"""Providers whose rows are marked as test-double output, not model results."""


@dataclass
class Cell:
    value: float | None
    low: float | None = None
    high: float | None = None
    percent: bool = False

    def scaled(self, v: float | None) -> float | None:
        return None if v is None else (100.0 * v if self.percent else v)

    def text(self, digits: int = 1) -> str:
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return ""
        s = f"{self.scaled(self.value):.{digits}f}"
        if self.low is not None and self.high is not None:
            s += f" [{self.scaled(self.low):.{digits}f}, {self.scaled(self.high):.{digits}f}]"
        return s


@dataclass
class Row:
    run: RunRecord
    cells: dict[str, Cell]
    notes: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str | None:
        """The metric the chart shows: the first accuracy-like one with a CI."""
        for label, c in self.cells.items():
            if c.percent and c.low is not None:
                return label
        return next(iter(self.cells), None)


@dataclass
class Leaderboard:
    rows: list[Row]
    metric_labels: list[str]
    skipped: list[Skipped]
    superseded: list[str]
    root: str | None = None


def metric_cells(run: RunRecord, *, n_boot: int, seed: int) -> dict[str, Cell]:
    """Each metric of a run with its bootstrap CI over problems."""
    return metric_cells_many([run], n_boot=n_boot, seed=seed)[0]


def metric_cells_many(runs: list[RunRecord], *, n_boot: int, seed: int) -> list[dict[str, Cell]]:
    """Cells for many runs; metrics over the same problems share one resampling (one matmul)."""
    import numpy as np

    from harness.stats import bootstrap_cis

    cells = [{m.label: Cell(m.value, percent=m.percent) for m in run.metrics} for run in runs]
    groups: dict[tuple[str, ...], list[tuple[int, Any]]] = {}
    for i, run in enumerate(runs):
        for m in run.metrics:
            if m.per_problem:
                groups.setdefault(tuple(sorted(m.per_problem)), []).append((i, m))
    for ids, members in groups.items():
        matrix = np.array([[m.per_problem[p] for p in ids] for _, m in members])
        for (i, m), ci in zip(members, bootstrap_cis(matrix, n_boot=n_boot, seed=seed)):
            cells[i][m.label] = Cell(m.value, ci.low, ci.high, m.percent)
    return cells


def row_key(run: RunRecord) -> tuple[str, str, str, str]:
    lib = run.experiences.path if run.experiences else ""
    return (run.model, run.task, run.method, lib)


def build(
    runs: list[RunRecord],
    skipped: list[Skipped],
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    root: str | None = None,
) -> Leaderboard:
    best: dict[tuple[str, str, str, str], RunRecord] = {}
    superseded: list[str] = []
    for run in runs:
        key = row_key(run)
        cur = best.get(key)
        if cur is None:
            best[key] = run
            continue
        newer = (not run.incomplete, run.created or "") > (not cur.incomplete, cur.created or "")
        keep, drop = (run, cur) if newer else (cur, run)
        best[key] = keep
        superseded.append(drop.path)
    rows = []
    labels: list[str] = []
    chosen = list(best.values())
    for run, cells in zip(chosen, metric_cells_many(chosen, n_boot=n_boot, seed=seed)):
        for label in cells:
            if label not in labels:
                labels.append(label)
        notes = []
        if run.model.split("/")[0] in TEST_DOUBLE_PROVIDERS:
            notes.append("TEST DOUBLE (not a language model)")
        if run.incomplete:
            notes.append(f"INCOMPLETE {run.completed}/{run.planned} ({run.status})")
        if run.experiences is not None and not run.experiences.found:
            notes.append(f"library {run.experiences.error}")
        rows.append(Row(run, cells, notes))
    rows.sort(key=lambda r: (r.run.task, -_headline_value(r), r.run.model, r.run.method))
    return Leaderboard(rows, labels, skipped, superseded, root)


def _headline_value(row: Row) -> float:
    h = row.headline
    v = row.cells[h].value if h else None
    return v if v is not None and not math.isnan(v) else -math.inf


# ---------------------------------------------------------------- per-row derived columns


def per_sample(run: RunRecord) -> dict[str, Any]:
    """Tokens and $ per sample-epoch and per correct answer (solver side), judge $ apart."""
    n = max(1, run.completed)
    u = run.solver_usage
    tokens = u.all_input_tokens + u.output_tokens
    acc = run.mean_accuracy
    correct = acc * run.completed if acc is not None else None
    return {
        "tokens_per_sample": tokens / n,
        "cost_per_sample": None if u.cost is None else u.cost / n,
        "cost_per_correct": None if u.cost is None or not correct else u.cost / correct,
        "judge_cost": run.judge_usage.cost,
        "cost": u.cost,
    }


def fmt_money(v: float | None, missing: str = "") -> str:
    """Dollars: cents above $1, three significant digits below (per-sample costs are tiny)."""
    if v is None:
        return missing
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"


def _money(v: float | None) -> str:
    return fmt_money(v)


def table(lb: Leaderboard) -> tuple[list[str], list[list[str]]]:
    """Header and string cells shared by the md, csv and html renderers."""
    from harness.runs import short_path

    header = ["model", "task", "solver", "library", *lb.metric_labels, "tool calls", "tokens/sample",
              "$/sample", "$/correct", "judge $", "samples", "notes", "log", "commit"]
    body = []
    for r in lb.rows:
        run = r.run
        d = per_sample(run)
        body.append(
            [
                run.model,
                run.task,
                run.method,
                run.experiences.label if run.experiences else "-",
                *[r.cells[label].text() if label in r.cells else "" for label in lb.metric_labels],
                "" if run.tool_calls is None else f"{run.tool_calls:.2f}",
                f"{d['tokens_per_sample']:.0f}",
                _money(d["cost_per_sample"]),
                _money(d["cost_per_correct"]),
                _money(d["judge_cost"]),
                f"{run.problems}x{run.epochs}" + ("" if not run.incomplete else f" ({run.completed}/{run.planned})"),
                "; ".join(r.notes),
                short_path(run.path, lb.root),
                run.commit or "",
            ]
        )
    return header, body


def render_md(lb: Leaderboard) -> str:
    from tabulate import tabulate

    header, body = table(lb)
    out = [tabulate(body, headers=header, tablefmt="github", disable_numparse=True)]
    out.append("")
    out.append("Metric cells: value [95% bootstrap CI over problems], % for accuracy-like metrics. "
               "Tokens and $ are the solver's per sample-epoch; judge $ is the judge role's total.")
    out.extend(_problems(lb))
    return "\n".join(out) + "\n"


def _problems(lb: Leaderboard) -> list[str]:
    out = []
    if lb.skipped:
        out.append("")
        out.append(f"Skipped {len(lb.skipped)} log(s):")
        out.extend(f"- {s.path}: {s.reason}" for s in lb.skipped)
    if lb.superseded:
        out.append("")
        out.append(f"Superseded by a newer log with the same (model, task, solver, library): {len(lb.superseded)}")
        out.extend(f"- {p}" for p in lb.superseded)
    return out


def render_csv(lb: Leaderboard) -> str:
    """Machine-readable: numbers unformatted, one column each for value, low and high."""
    buf = io.StringIO()
    w = csv.writer(buf)
    head = ["model", "task", "solver", "base_solver", "library", "learned_on"]
    for label in lb.metric_labels:
        head += [label, f"{label} low", f"{label} high"]
    head += ["tool_calls", "tokens_per_sample", "cost_per_sample", "cost_per_correct", "judge_cost",
             "problems", "epochs", "completed", "planned", "status", "incomplete", "log", "commit"]
    w.writerow(head)
    for r in lb.rows:
        run = r.run
        d = per_sample(run)
        line: list[Any] = [run.model, run.task, run.solver, run.base_solver or "",
                           run.experiences.path if run.experiences else "", run.learned]
        for label in lb.metric_labels:
            c = r.cells.get(label)
            line += [c.value, c.low, c.high] if c else ["", "", ""]
        line += [run.tool_calls, d["tokens_per_sample"], d["cost_per_sample"], d["cost_per_correct"],
                 d["judge_cost"], run.problems, run.epochs, run.completed, run.planned, run.status,
                 run.incomplete, run.path, run.commit or ""]
        w.writerow(["" if v is None else v for v in line])
    return buf.getvalue()


# ---------------------------------------------------------------- html

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222}
h1{font-size:20px} h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:12px} th,td{border:1px solid #ccc;padding:3px 6px;white-space:nowrap}
th{background:#f0f0f0;cursor:pointer;user-select:none} th.asc::after{content:" \\25B2"} th.desc::after{content:" \\25BC"}
tr.incomplete td{background:#fff3cd} .note{color:#666;font-size:12px} .chart{margin:8px 0 16px}
"""

_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var asc=!th.classList.contains('asc');
      t.querySelectorAll('th').forEach(function(h){h.classList.remove('asc','desc')});
      th.classList.add(asc?'asc':'desc');
      var rows=Array.prototype.slice.call(t.tBodies[0].rows);
      rows.sort(function(a,b){
        var x=a.cells[i].getAttribute('data-v'), y=b.cells[i].getAttribute('data-v');
        var nx=parseFloat(x), ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:String(x).localeCompare(String(y));
        return asc?c:-c;
      });
      rows.forEach(function(r){t.tBodies[0].appendChild(r)});
    });
  });
});
"""


def _sort_value(text: str) -> str:
    head = text.split(" ")[0]
    try:
        return str(float(head.split("x")[0]) if "x" in head and head.split("x")[0].isdigit() else float(head))
    except ValueError:
        return text


def bar_chart(rows: list[Row], label: str, *, width: int = 760) -> str:
    """Inline SVG: one horizontal bar per row with its CI as a whisker (0-100 for %)."""
    bar_h, gap, left, right = 18, 6, 360, 60
    values = [r.cells[label] for r in rows]
    percent = all(c.percent for c in values)
    top = 100.0 if percent else max([c.scaled(c.high if c.high is not None else c.value) or 0.0 for c in values] + [1e-9])
    plot_w = width - left - right
    height = len(rows) * (bar_h + gap) + 30
    x = lambda v: left + plot_w * max(0.0, min(1.0, (v or 0.0) / top))  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{html.escape(label)} by run">']
    for tick in range(0, 101, 25):
        tx = left + plot_w * tick / 100
        parts.append(f'<line x1="{tx:.1f}" y1="0" x2="{tx:.1f}" y2="{height - 20}" stroke="#eee"/>')
        parts.append(f'<text x="{tx:.1f}" y="{height - 6}" font-size="10" text-anchor="middle">{top * tick / 100:g}</text>')
    for i, (r, c) in enumerate(zip(rows, values)):
        y = i * (bar_h + gap) + 4
        name = f"{r.run.model} | {r.run.method}" + (f" | {r.run.experiences.label}" if r.run.experiences else "")
        color = "#e0a800" if r.run.incomplete else "#4a7bd0"
        short = name if len(name) <= 60 else name[:59] + "…"
        parts.append(f'<text x="{left - 6}" y="{y + 13}" font-size="11" text-anchor="end"><title>{html.escape(name)}</title>'
                     f'{html.escape(short)}</text>')
        v = c.scaled(c.value)
        if v is None or math.isnan(v):
            continue
        parts.append(f'<rect x="{left}" y="{y}" width="{x(v) - left:.1f}" height="{bar_h}" fill="{color}">'
                     f'<title>{html.escape(c.text())}</title></rect>')
        if c.low is not None and c.high is not None:
            lo, hi, cy = x(c.scaled(c.low)), x(c.scaled(c.high)), y + bar_h / 2
            parts.append(f'<line x1="{lo:.1f}" y1="{cy}" x2="{hi:.1f}" y2="{cy}" stroke="#111" stroke-width="1.5"/>')
            for ex in (lo, hi):
                parts.append(f'<line x1="{ex:.1f}" y1="{y + 3}" x2="{ex:.1f}" y2="{y + bar_h - 3}" stroke="#111" stroke-width="1.5"/>')
        parts.append(f'<text x="{x(v) + 4 if c.high is None else x(c.scaled(c.high)) + 4:.1f}" y="{y + 13}" font-size="10">{v:.1f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(lb: Leaderboard, title: str = "Leaderboard") -> str:
    header, body = table(lb)
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
           f"<style>{_CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
           "<p class='note'>Cells: value [95% bootstrap CI over problems]; % for accuracy-like metrics. "
           "Click a column header to sort. Yellow rows are incomplete runs.</p>"]
    by_task: dict[str, list[Row]] = {}
    for r in lb.rows:
        by_task.setdefault(r.run.task, []).append(r)
    for task, rows in by_task.items():
        label = rows[0].headline
        if label is None:
            continue
        shown = [r for r in rows if label in r.cells]
        out.append(f"<h2>{html.escape(task)}: {html.escape(label)} with 95% CI</h2>")
        out.append(f"<div class='chart'>{bar_chart(shown, label)}</div>")
    out.append("<h2>All runs</h2><table class='sortable'><thead><tr>")
    out.extend(f"<th>{html.escape(h)}</th>" for h in header)
    out.append("</tr></thead><tbody>")
    for r, cells in zip(lb.rows, body):
        cls = " class='incomplete'" if r.run.incomplete else ""
        out.append(f"<tr{cls}>" + "".join(
            f"<td data-v='{html.escape(_sort_value(c), quote=True)}'>{html.escape(c)}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    problems = _problems(lb)
    if problems:
        out.append("<pre class='note'>" + html.escape("\n".join(problems).strip()) + "</pre>")
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out)


# ---------------------------------------------------------------- compare


@dataclass
class Comparison:
    task: str
    label: str
    a: float
    b: float
    shared: int
    result: Any  # harness.stats.PairedResult
    percent: bool


def compare_runs(a: RunRecord, b: RunRecord, *, n_boot: int = 10_000, seed: int = 0) -> list[Comparison]:
    """Paired comparison of every per-problem metric the two runs share, on shared problems."""
    from harness.stats import paired_test

    out = []
    for ma in a.metrics:
        # match on what is measured, not on the label: Mean@4 vs Mean@32 both estimate pass@1
        mb = next((m for m in b.metrics if (m.scorer, m.reducer, m.metric) == (ma.scorer, ma.reducer, ma.metric)), None)
        if mb is None or not ma.per_problem or not mb.per_problem:
            continue
        label = ma.label if ma.label == mb.label else f"{ma.label} vs {mb.label}"
        ids = sorted(set(ma.per_problem) & set(mb.per_problem))
        if not ids:
            continue
        va = [ma.per_problem[i] for i in ids]
        vb = [mb.per_problem[i] for i in ids]
        res = paired_test(va, vb, n_boot=n_boot, n_perm=n_boot, seed=seed)
        out.append(Comparison(a.task, label, sum(va) / len(va), sum(vb) / len(vb), len(ids), res, ma.percent))
    return out


def render_compare(a: RunRecord, b: RunRecord, comps: list[Comparison]) -> str:
    from tabulate import tabulate

    def pct(v: float, p: bool) -> str:
        return f"{100 * v:.1f}" if p else f"{v:.3g}"

    rows = []
    for c in comps:
        d = c.result.diff
        rows.append([c.task, c.label, pct(c.a, c.percent), pct(c.b, c.percent),
                     f"{'+' if d.value >= 0 else ''}{pct(d.value, c.percent)} [{pct(d.low, c.percent)}, {pct(d.high, c.percent)}]",
                     f"{c.result.p_value:.3g}" + ("" if c.result.exact else " (MC)"),
                     f"{c.result.wins}/{c.result.losses}/{c.result.ties}", c.shared])
    head = f"A: {a.model} {a.method} {a.task} ({Path(a.path).name})\nB: {b.model} {b.method} {b.task} ({Path(b.path).name})\n"
    table_ = tabulate(rows, headers=["task", "metric", "A", "B", "B-A [95% CI]", "p (sign-flip)", "B better/worse/tie", "shared problems"],
                      tablefmt="github", disable_numparse=True)
    verdict = []
    for c in comps:
        d = c.result.diff
        distinct = c.result.p_value < 0.05
        verdict.append(f"{c.task} {c.label}: {'distinguishable from noise' if distinct else 'NOT distinguishable from noise'} "
                       f"at the 5% level (p={c.result.p_value:.3g}, CI {'excludes' if d.low > 0 or d.high < 0 else 'includes'} 0)")
    return head + "\n" + table_ + "\n\n" + "\n".join(verdict) + "\n"


# ---------------------------------------------------------------- CLI


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="one row per (model, task, solver, library) from inspect logs, with 95%% bootstrap CIs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("logdir", nargs="+", help="log directories (searched recursively) or log files")
    p.add_argument("--task", help="only this task (e.g. aime2024; aime2024/aime2025 also match rows split from `aime`)")
    p.add_argument("--format", choices=FORMATS, default=None, help="md (default), csv or html (default: from --out suffix)")
    p.add_argument("--out", help="write to this file instead of stdout")
    _common(p)
    p.set_defaults(func=run_leaderboard)

    c = sub.add_parser(
        "compare",
        help="paired comparison of two logs on their shared problems (bootstrap CI, sign-flip test)",
        description="Difference B - A per metric on the problems both logs scored: paired bootstrap 95% CI "
        "and a two-sided sign-flip permutation test (exact up to 16 non-zero differences).",
    )
    c.add_argument("log_a")
    c.add_argument("log_b")
    c.add_argument("--metric", help="only this metric label (e.g. Mean@32)")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _common(c)
    c.set_defaults(func=run_compare)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prices", help="YAML/JSON prices in --model-cost-config format; recomputes $ from tokens")
    p.add_argument("--n-boot", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--no-tool-calls", action="store_true", help="skip reading samples for mean tool calls (faster)")


def _write(text: str, out: str | None) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def run_leaderboard(args: argparse.Namespace) -> int:
    from harness.runs import load_prices, read_runs

    fmt = args.format or (Path(args.out).suffix.lstrip(".") if args.out else "md")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (use --format md|csv|html)")
    runs, skipped = read_runs(args.logdir, prices=load_prices(args.prices), tool_calls=not args.no_tool_calls, task=args.task)
    root = args.logdir[0] if len(args.logdir) == 1 and Path(args.logdir[0]).is_dir() else None
    lb = build(runs, skipped, n_boot=args.n_boot, seed=args.seed, root=root)
    for s in skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    if not lb.rows:
        print("no finished runs found" + (f" for task {args.task}" if args.task else ""), file=sys.stderr)
    text = {"md": render_md, "csv": render_csv, "html": render_html}[fmt](lb)
    _write(text, args.out)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from harness.runs import load_prices, read_runs

    prices = load_prices(args.prices)
    sides = []
    for loc in (args.log_a, args.log_b):
        runs, skipped = read_runs([loc], prices=prices, tool_calls=False)
        if skipped or not runs:
            raise ValueError(f"{loc}: {skipped[0].reason if skipped else 'no finished run'}")
        sides.append(runs)
    comps_all: list[tuple[RunRecord, RunRecord, list[Comparison]]] = []
    for ra in sides[0]:
        for rb in sides[1]:
            if ra.task == rb.task or (len(sides[0]) == 1 and len(sides[1]) == 1):
                comps = compare_runs(ra, rb, n_boot=args.n_boot, seed=args.seed)
                if args.metric:
                    comps = [c for c in comps if args.metric in c.label.split(" vs ")]
                comps_all.append((ra, rb, comps))
    if not any(c for _, _, c in comps_all):
        raise ValueError("the two logs share no per-problem metric on common problems")
    if args.json:
        payload = [
            {"task": c.task, "metric": c.label, "a": c.a, "b": c.b, "diff": c.result.diff.value,
             "low": c.result.diff.low, "high": c.result.diff.high, "p_value": c.result.p_value,
             "exact": c.result.exact, "wins": c.result.wins, "losses": c.result.losses,
             "ties": c.result.ties, "shared": c.shared, "log_a": ra.path, "log_b": rb.path}
            for ra, rb, comps in comps_all for c in comps
        ]
        print(json.dumps(payload, indent=2))
    else:
        for ra, rb, comps in comps_all:
            print(render_compare(ra, rb, comps))
    return 0
