"""``harness leaderboard`` and ``harness compare``: tables from inspect logs with 95% CIs.

One row per distinct configuration: model, task, solver, experience library (by the
file's hash) and everything else recorded that can change results (sample set, epochs,
limits, generation settings, task and model args, judge roles). When logs differ in any of
these they are separate rows, and a ``settings`` column names what differs; only logs of
the very same configuration collapse into one row (the newest complete one), and every
log left out is listed with its reason. Metric cells are ``value [low, high]``: the log's
metric and a percentile bootstrap interval over problems (each problem's score reduced
over its epochs). Every metric column names its unit: % for fractions, pts for
differences of two (reflect-retry ``gain``). Token and $ columns are the solver's; the
judge's $ has its own column.
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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module for --help: run records only when a report runs
    from harness.reports.runs import RunRecord, Skipped

FORMATS = ("md", "csv", "html")

TEST_DOUBLE_PROVIDERS = ("testdouble", "mockllm")
"""Providers whose rows are marked as test-double output, not model results."""

SETTING_VALUE_CHARS = 40
"""Longer setting values are shortened in the ``settings`` column (the csv has them whole)."""


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def fmt_number(v: float, digits: int = 1) -> str:
    """Fixed-point text; never '-0.0', infinities as -inf / inf."""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


@dataclass
class Cell:
    value: float | None
    low: float | None = None
    high: float | None = None
    percent: bool = False
    """Stored as a fraction (or a difference of two): shown x100."""
    unit: str | None = None
    label: str = ""
    measure: tuple[str, str, str] | None = None
    """(scorer, reducer, metric): what is measured whatever the epochs (Mean@4 ~ Mean@8)."""

    def scaled(self, v: float | None) -> float | None:
        return None if v is None else (100.0 * v if self.percent else v)

    def text(self, digits: int = 1) -> str:
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return ""
        s = fmt_number(self.scaled(self.value), digits)
        if self.low is not None and self.high is not None:
            s += f" [{fmt_number(self.scaled(self.low), digits)}, {fmt_number(self.scaled(self.high), digits)}]"
        return s


@dataclass
class Row:
    run: RunRecord
    cells: dict[str, Cell]
    notes: list[str] = field(default_factory=list)
    settings: str = ""
    """The configuration settings in which this row differs from rows of the same model,
    task, solver and library (empty when it is the only one)."""

    def cell_for(self, measure: tuple[str, str, str]) -> Cell | None:
        return next((c for c in self.cells.values() if c.measure == measure), None)

    @property
    def headline(self) -> tuple[str, str, str] | None:
        """The measure the chart shows: averaged pass@1 (mean-reduced accuracy) when the run
        has it, else the first fraction metric with a CI, else the first metric."""
        measures = [c.measure for c in self.cells.values() if c.measure]
        for m in measures:
            if m[1:] == ("mean", "accuracy"):
                return m
        for c in self.cells.values():
            if c.percent and c.low is not None:
                return c.measure
        return measures[0] if measures else None


@dataclass
class Leaderboard:
    rows: list[Row]
    metric_labels: list[str]
    skipped: list[Skipped]
    superseded: list[tuple[str, str]]
    """(log path, why it is not a row of its own)."""
    root: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """Metric label -> column header with its unit."""


def metric_cells(run: RunRecord, *, n_boot: int, seed: int) -> dict[str, Cell]:
    """Each metric of a run with its bootstrap CI over problems."""
    return metric_cells_many([run], n_boot=n_boot, seed=seed)[0]


def metric_cells_many(runs: list[RunRecord], *, n_boot: int, seed: int) -> list[dict[str, Cell]]:
    """Cells for many runs; metrics over the same problems share one resampling (one matmul)."""
    import numpy as np

    from harness.stats import bootstrap_cis

    cells = [{m.label: Cell(m.value, percent=m.percent, unit=m.unit, label=m.label, measure=m.measure)
              for m in run.metrics} for run in runs]
    groups: dict[tuple[str, ...], list[tuple[int, Any]]] = {}
    for i, run in enumerate(runs):
        for m in run.metrics:
            if m.per_problem:
                groups.setdefault(tuple(sorted(m.per_problem)), []).append((i, m))
    for ids, members in groups.items():
        matrix = np.array([[m.per_problem[p] for p in ids] for _, m in members])
        for (i, m), ci in zip(members, bootstrap_cis(matrix, n_boot=n_boot, seed=seed)):
            cells[i][m.label].low, cells[i][m.label].high = ci.low, ci.high
    return cells


def row_key(run: RunRecord) -> tuple[str, str, str, str]:
    """Logs with equal keys are the same configuration (one row)."""
    return (run.model, run.task, run.method, run.config_id)


def _library_identity(run: RunRecord) -> str:
    return run.experiences.identity if run.experiences is not None else ""


def build(
    runs: list[RunRecord],
    skipped: list[Skipped],
    *,
    n_boot: int = 10_000,
    seed: int = 0,
    root: str | None = None,
) -> Leaderboard:
    from harness.reports.runs import short_path

    groups: dict[tuple[str, str, str, str], list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(row_key(run), []).append(run)
    superseded: list[tuple[str, str]] = []
    chosen = []
    for members in groups.values():
        members.sort(key=lambda r: (not r.incomplete, r.created or ""), reverse=True)
        keep = members[0]
        chosen.append(keep)
        for drop in members[1:]:
            why = "complete" if drop.incomplete and not keep.incomplete else "newer"
            superseded.append((drop.path, f"same configuration (config {keep.config_id}) as {short_path(keep.path, root)}, "
                                          f"which is {why} and is shown"))
    rows = []
    labels: list[str] = []
    headers: dict[str, str] = {}
    for run, cells in zip(chosen, metric_cells_many(chosen, n_boot=n_boot, seed=seed)):
        for m in run.metrics:
            if m.label not in labels:
                labels.append(m.label)
            header = headers.setdefault(m.label, m.header)
            if header != m.header:  # one column, one unit: a clash gets the unit in the name
                headers[m.label] = f"{m.label} (mixed units)"
        notes = []
        if run.model.split("/")[0] in TEST_DOUBLE_PROVIDERS:
            notes.append("TEST DOUBLE (not a language model)")
        doubles = [k[5:] for k, v in run.config.items() if k.count(".") == 1 and k.startswith("role.")
                   and str(v).split("/")[0] in TEST_DOUBLE_PROVIDERS]
        if doubles:
            notes.append(f"TEST DOUBLE {', '.join(sorted(doubles))} (not a language model)")
        if run.incomplete:
            notes.append(f"INCOMPLETE {run.completed}/{run.planned} ({run.status})")
        notes.extend(run.notes)  # e.g. a sharded run's merge
        lib = run.experiences
        if lib is not None and not lib.found:
            notes.append(f"library {lib.error}")
        elif lib is not None and lib.identified_by and lib.identified_by != "sha256":
            notes.append(f"library found by {lib.identified_by}")
        rows.append(Row(run, cells, notes))
    _describe_settings(rows)
    rows.sort(key=lambda r: (r.run.task, -_headline_value(r), r.run.model, r.run.method, r.settings))
    return Leaderboard(rows, labels, skipped, superseded, root, headers)


def _describe_settings(rows: list[Row]) -> None:
    """Fill each row's ``settings``: the config entries that differ among rows of the same
    model, task, solver and library (what makes them separate rows)."""
    families: dict[tuple[str, str, str, str], list[Row]] = {}
    for r in rows:
        families.setdefault((r.run.model, r.run.task, r.run.method, _library_identity(r.run)), []).append(r)
    for family in families.values():
        if len(family) < 2:
            continue
        keys = sorted({k for r in family for k in r.run.config})
        differ = [k for k in keys if len({json.dumps(r.run.config.get(k), sort_keys=True) for r in family}) > 1]
        for r in family:
            r.settings = "; ".join(f"{k}={_setting_text(r.run.config.get(k, '-'))}" for k in differ)


def _setting_text(v: Any) -> str:
    """A config value, short: lists comma-joined; long text keeps its end (paths differ there)."""
    if isinstance(v, list) and all(isinstance(x, (str, int, float, bool)) for x in v):
        text = ",".join(str(x) for x in v)
    else:
        text = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return text if len(text) <= SETTING_VALUE_CHARS else "…" + text[-(SETTING_VALUE_CHARS - 1):]


def _headline_value(row: Row) -> float:
    h = row.headline
    c = row.cell_for(h) if h else None
    return c.value if c is not None and _finite(c.value) else -math.inf


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
    """Header and string cells shared by the md and html renderers."""
    from harness.reports.runs import short_path

    unscored = any(r.run.unscored for r in lb.rows)
    header = ["model", "task", "solver", "library", "settings", *[lb.headers.get(x, x) for x in lb.metric_labels],
              "tool calls", "tokens/sample", "$/sample", "$/correct", "judge $", "samples",
              *(["unscored"] if unscored else []), "notes", "log", "commit"]
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
                r.settings,
                *[r.cells[label].text() if label in r.cells else "" for label in lb.metric_labels],
                "" if run.tool_calls is None else f"{run.tool_calls:.2f}",
                f"{d['tokens_per_sample']:.0f}",
                _money(d["cost_per_sample"]),
                _money(d["cost_per_correct"]),
                _money(d["judge_cost"]),
                f"{run.problems}x{run.epochs}" + ("" if not run.incomplete else f" ({run.completed}/{run.planned})"),
                *([run.unscored_text] if unscored else []),
                "; ".join(r.notes),
                short_path(run.path, lb.root),
                run.commit or "",
            ]
        )
    return header, body


LEGEND = (
    "Metric cells: value [95% bootstrap CI over problems], in the unit named in the column header "
    "(% = fractions shown as percent; pts = percentage points, a difference of two %). One row per "
    "configuration; 'settings' names what differs between rows of the same model, task, solver and "
    "library. Tokens and $ are the solver's per sample-epoch; judge $ is the judge role's total. "
    "'unscored' (shown when any run has some) counts sample-epochs a scorer could not score, by "
    "reason (e.g. a math comparison that passed its time bound): they are in no metric's denominator."
)


def render_md(lb: Leaderboard) -> str:
    from tabulate import tabulate

    header, body = table(lb)
    out = [tabulate(body, headers=header, tablefmt="github", disable_numparse=True)]
    out.append("")
    out.append(LEGEND)
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
        out.append(f"Not shown as rows of their own ({len(lb.superseded)} log(s)):")
        out.extend(f"- {p}: {why}" for p, why in lb.superseded)
    return out


def render_csv(lb: Leaderboard) -> str:
    """Machine-readable: numbers unrounded, in the unit of their column header (as md/html),
    one column each for value, low and high."""
    buf = io.StringIO()
    w = csv.writer(buf)
    head = ["model", "task", "solver", "base_solver", "library", "library_sha256", "learned_on", "config_id", "settings"]
    for label in lb.metric_labels:
        h = lb.headers.get(label, label)
        head += [h, f"{h} low", f"{h} high"]
    head += ["tool_calls", "tokens_per_sample", "cost_per_sample", "cost_per_correct", "judge_cost",
             "problems", "epochs", "completed", "planned", "unscored", "unscored_reasons", "status", "incomplete",
             "log", "commit"]
    w.writerow(head)
    for r in lb.rows:
        run = r.run
        d = per_sample(run)
        lib = run.experiences
        line: list[Any] = [run.model, run.task, run.solver, run.base_solver or "", lib.path if lib else "",
                           (lib.sha256 or "") if lib else "", run.learned, run.config_id, r.settings]
        for label in lb.metric_labels:
            c = r.cells.get(label)
            line += [c.scaled(c.value), c.scaled(c.low), c.scaled(c.high)] if c else ["", "", ""]
        line += [run.tool_calls, d["tokens_per_sample"], d["cost_per_sample"], d["cost_per_correct"],
                 d["judge_cost"], run.problems, run.epochs, run.completed, run.planned, len(run.unscored),
                 run.unscored_text if run.unscored else "", run.status,
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


def _bar_name(row: Row, cell: Cell, show_label: bool) -> str:
    run = row.run
    name = f"{run.model} | {run.method}" + (f" | {run.experiences.label}" if run.experiences else "")
    if row.settings:
        name += f" | {row.settings}"
    return f"{name} | {cell.label}" if show_label else name


def bar_chart(bars: list[tuple[str, Cell, bool]], *, width: int = 760) -> str:
    """Inline SVG: one horizontal bar per (name, cell, incomplete) with its CI as a whisker.

    The axis spans 0-100 for % (and down to the lowest value when one is negative), else
    0 to the largest finite value; only finite values are drawn (callers leave NaN out).
    """
    bar_h, gap, left, right = 18, 6, 360, 60
    cells = [c for _, c, _ in bars]
    ends = [c.scaled(v) for c in cells for v in (c.value, c.low, c.high) if _finite(v)]
    lo = min([0.0, *ends])
    hi = 100.0 if all(c.percent for c in cells) and max(ends, default=0.0) <= 100.0 else max([*ends, 1e-9])
    if hi <= lo:
        hi = lo + 1.0
    plot_w = width - left - right
    height = len(bars) * (bar_h + gap) + 30
    x = lambda v: left + plot_w * max(0.0, min(1.0, (v - lo) / (hi - lo)))  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{html.escape(cells[0].label if cells else "")} by run">']
    for tick in range(0, 101, 25):
        tx = left + plot_w * tick / 100
        parts.append(f'<line x1="{tx:.1f}" y1="0" x2="{tx:.1f}" y2="{height - 20}" stroke="#eee"/>')
        parts.append(f'<text x="{tx:.1f}" y="{height - 6}" font-size="10" text-anchor="middle">'
                     f'{lo + (hi - lo) * tick / 100:.4g}</text>')
    zero = x(0.0)
    for i, (name, c, incomplete) in enumerate(bars):
        y = i * (bar_h + gap) + 4
        color = "#e0a800" if incomplete else "#4a7bd0"
        short = name if len(name) <= 60 else name[:59] + "…"
        parts.append(f'<text x="{left - 6}" y="{y + 13}" font-size="11" text-anchor="end"><title>{html.escape(name)}</title>'
                     f'{html.escape(short)}</text>')
        v = c.scaled(c.value)
        parts.append(f'<rect x="{min(zero, x(v)):.1f}" y="{y}" width="{abs(x(v) - zero):.1f}" height="{bar_h}" fill="{color}">'
                     f'<title>{html.escape(c.text())}</title></rect>')
        end = x(v)
        if _finite(c.low) and _finite(c.high):
            lo_x, hi_x, cy = x(c.scaled(c.low)), x(c.scaled(c.high)), y + bar_h / 2
            end = hi_x
            parts.append(f'<line x1="{lo_x:.1f}" y1="{cy}" x2="{hi_x:.1f}" y2="{cy}" stroke="#111" stroke-width="1.5"/>')
            for ex in (lo_x, hi_x):
                parts.append(f'<line x1="{ex:.1f}" y1="{y + 3}" x2="{ex:.1f}" y2="{y + bar_h - 3}" stroke="#111" stroke-width="1.5"/>')
        parts.append(f'<text x="{end + 4:.1f}" y="{y + 13}" font-size="10">{fmt_number(v)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def chart_section(task: str, rows: list[Row]) -> list[str]:
    """One task's chart: every row's value of the task's headline measure, whatever its
    epochs (Mean@4 and Mean@8 side by side, each bar named by its label); rows that
    cannot be drawn are listed with the reason."""
    measures = [r.headline for r in rows if r.headline]
    if not measures:
        return [f"<h2>{html.escape(task)}</h2><p class='note'>No metric to chart.</p>"]
    measure = next((m for m in measures if m[1:] == ("mean", "accuracy")), measures[0])
    bars, left_out = [], []
    for r in rows:
        c = r.cell_for(measure)
        name = _bar_name(r, c or Cell(None), False)
        if c is None:
            left_out.append(f"{name}: has no {measure[2]} under the {measure[1]} reducer "
                            f"(its metrics: {', '.join(r.cells) or 'none'})")
        elif not _finite(c.value):
            left_out.append(f"{name}: {c.label} is not a number (no scored samples)")
        else:
            bars.append((r, c))
    labels = sorted({c.label for _, c in bars})
    title = labels[0] if len(labels) == 1 else " / ".join(labels)
    unit = bars[0][1].unit if bars else None
    out = [f"<h2>{html.escape(task)}: {html.escape(title)}{f' ({html.escape(unit)})' if unit else ''} with 95% CI</h2>"]
    if bars:
        out.append("<div class='chart'>" + bar_chart([(_bar_name(r, c, len(labels) > 1), c, r.run.incomplete)
                                                      for r, c in bars]) + "</div>")
    if len(labels) > 1:
        out.append("<p class='note'>Runs with different epoch counts are drawn together: each bar names its "
                   "metric (Mean@k estimates the same averaged pass@1 for every k).</p>")
    if left_out:
        out.append("<p class='note'>Not in this chart:</p><ul class='note'>"
                   + "".join(f"<li>{html.escape(x)}</li>" for x in left_out) + "</ul>")
    return out


def render_html(lb: Leaderboard, title: str = "Leaderboard") -> str:
    header, body = table(lb)
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
           f"<style>{_CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
           f"<p class='note'>{html.escape(LEGEND)} Click a column header to sort. Yellow rows are incomplete runs.</p>"]
    by_task: dict[str, list[Row]] = {}
    for r in lb.rows:
        by_task.setdefault(r.run.task, []).append(r)
    for task, rows in by_task.items():
        out.extend(chart_section(task, rows))
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


COMPARE_RULE = (
    "Rule: a difference is distinguishable from noise when the two-sided paired sign-flip permutation "
    "test gives p < 0.05. The 95% CI is the same test inverted (every difference it does not reject at "
    "5%), so it excludes 0 exactly when p < 0.05. Exact over all 2^n sign flips up to 16 shared problems, "
    "else Monte Carlo (MC)."
)


@dataclass
class Comparison:
    task: str
    label: str
    a: float
    b: float
    shared: int
    result: Any  # harness.stats.PairedResult
    percent: bool
    unit: str | None = None


def compare_runs(a: RunRecord, b: RunRecord, *, n_boot: int = 10_000, seed: int = 0) -> list[Comparison]:
    """Paired comparison of every per-problem metric the two runs share, on shared problems
    (``n_boot`` random sign flips when the test cannot enumerate them all)."""
    from harness.stats import paired_test

    out = []
    for ma in a.metrics:
        # match on what is measured, not on the label: Mean@4 vs Mean@32 both estimate pass@1
        mb = next((m for m in b.metrics if m.measure == ma.measure), None)
        if mb is None or not ma.per_problem or not mb.per_problem:
            continue
        label = ma.label if ma.label == mb.label else f"{ma.label} vs {mb.label}"
        ids = sorted(set(ma.per_problem) & set(mb.per_problem))
        if not ids:
            continue
        va = [ma.per_problem[i] for i in ids]
        vb = [mb.per_problem[i] for i in ids]
        res = paired_test(va, vb, n_perm=n_boot, seed=seed)
        out.append(Comparison(a.task, label, sum(va) / len(va), sum(vb) / len(vb), len(ids), res, ma.percent, ma.unit))
    return out


def verdict(c: Comparison) -> str:
    """One line, read from the p-value by COMPARE_RULE; the CI it quotes agrees by construction."""
    r = c.result
    d = r.diff
    unit = f" {_diff_unit(c.unit)}" if c.unit else ""
    where = "excludes" if r.distinguishable else "includes"
    line = (f"{c.task} {c.label}: {'distinguishable from noise' if r.distinguishable else 'NOT distinguishable from noise'}"
            f" at the 5% level: B-A = {_signed(d.value, c.percent)}{unit}, p={r.p_value:.3g}"
            f"{'' if r.exact else ' (MC)'}, 95% CI [{_num(d.low, c.percent)}, {_num(d.high, c.percent)}] {where} 0")
    if r.min_p >= r.alpha:
        line += (f" (with {d.n} shared problems the smallest p this test can give is 2/2^{d.n} = {r.min_p:.3g}:"
                 " no difference can be distinguishable)")
    return line


def _diff_unit(unit: str | None) -> str | None:
    """The unit of a difference: percentage points for % metrics."""
    return "pts" if unit in ("%", "pts") else unit


def _num(v: float, percent: bool) -> str:
    if math.isinf(v) or math.isnan(v):
        return fmt_number(v) if math.isinf(v) else "nan"
    return fmt_number(100 * v) if percent else f"{v:.3g}"


def _signed(v: float, percent: bool) -> str:
    text = _num(v, percent)
    return text if text.startswith("-") else f"+{text}"


def render_compare(a: RunRecord, b: RunRecord, comps: list[Comparison]) -> str:
    from tabulate import tabulate

    rows = []
    for c in comps:
        d = c.result.diff
        rows.append([c.task, f"{c.label} ({c.unit})" if c.unit else c.label, _num(c.a, c.percent), _num(c.b, c.percent),
                     f"{_signed(d.value, c.percent)} [{_num(d.low, c.percent)}, {_num(d.high, c.percent)}]"
                     + (f" {_diff_unit(c.unit)}" if c.unit else ""),
                     f"{c.result.p_value:.3g}" + ("" if c.result.exact else " (MC)"),
                     f"{c.result.wins}/{c.result.losses}/{c.result.ties}", c.shared])
    head = "".join(
        f"{side}: {r.model} {r.method} {r.task} ({Path(r.path).name})"
        + (f"; unscored sample-epochs: {r.unscored_text}, left out" if r.unscored else "") + "\n"
        for side, r in (("A", a), ("B", b))
    )
    table_ = tabulate(rows, headers=["task", "metric", "A", "B", "B-A [95% CI]", "p (sign-flip)", "B better/worse/tie", "shared problems"],
                      tablefmt="github", disable_numparse=True)
    return head + "\n" + table_ + "\n\n" + "\n".join(verdict(c) for c in comps) + "\n" + COMPARE_RULE + "\n"


# ---------------------------------------------------------------- CLI


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "leaderboard",
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
        description="Difference B - A per metric on the problems both logs scored. " + COMPARE_RULE,
    )
    c.add_argument("log_a")
    c.add_argument("log_b")
    c.add_argument("--metric", help="only this metric label (e.g. Mean@32)")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _common(c)
    c.set_defaults(func=run_compare)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prices", help="YAML/JSON prices in --model-cost-config format; recomputes $ from tokens")
    p.add_argument("--n-boot", type=int, default=10_000,
                   help="bootstrap resamples; for compare, random sign flips beyond 16 problems (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the resamples (default 0)")
    p.add_argument("--no-tool-calls", action="store_true", help="skip reading samples for mean tool calls (faster)")


def _write(text: str, out: str | None) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def run_leaderboard(args: argparse.Namespace) -> int:
    from harness.reports.runs import load_prices, read_runs

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
    from harness.reports.runs import load_prices, read_runs

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
            {"task": c.task, "metric": c.label, "unit": c.unit, "a": _scaled(c.a, c), "b": _scaled(c.b, c),
             "diff_unit": _diff_unit(c.unit), "diff": _scaled(c.result.diff.value, c),
             "low": _json_bound(_scaled(c.result.diff.low, c)), "high": _json_bound(_scaled(c.result.diff.high, c)),
             "p_value": c.result.p_value, "exact": c.result.exact, "distinguishable": c.result.distinguishable,
             "wins": c.result.wins, "losses": c.result.losses, "ties": c.result.ties, "shared": c.shared,
             "log_a": ra.path, "log_b": rb.path, "rule": COMPARE_RULE}
            for ra, rb, comps in comps_all for c in comps
        ]
        print(json.dumps(payload, indent=2, allow_nan=False))
    else:
        for ra, rb, comps in comps_all:
            print(render_compare(ra, rb, comps))
    return 0


def _scaled(v: float, c: Comparison) -> float:
    """A value in the unit the table shows (% and pts: x100)."""
    return 100.0 * v if c.percent else v


def _json_bound(v: float) -> float | None:
    """A CI bound for JSON: None when unbounded (JSON has no infinity)."""
    return v if math.isfinite(v) else None
