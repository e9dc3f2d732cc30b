"""``harness cost``: tokens and $ of evaluations and of Training-Free GRPO training artifacts.

Evaluation logs: solver and judge usage apart (from ``log.stats.model_usage`` and
``role_usage``), the cache-read share of input tokens, $ (recorded by inspect from
``--model-cost-config``, or recomputed here with ``--prices``), $ per sample-epoch and
per problem. Experience libraries (given directly, or named by a log's ``-T
experiences=``): tokens and $ per training stage as the optimizer recorded them.
A closing block puts the totals next to the paper's cost analysis (38M input / 6.6M
output tokens and about $18 to train; 60K / 8K tokens and about $0.02 per problem). The
paper's numbers are for its math run (DAPO-100, evaluated on AIME), so only libraries
learned on math and runs on math tasks enter that comparison; the rest are listed apart.
``harness reproduce tfgrpo.cost`` uses the same functions, so both print the same numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI imports this module for --help: run records only when a report runs
    from harness.reports.runs import LibraryInfo, RunRecord, Usage

PAPER_COST = {
    "train_input_tokens": 38_000_000,
    "train_output_tokens": 6_600_000,
    "train_cost": 18.0,
    "train_hours": 6.0,
    "infer_input_tokens_per_problem": 60_000,
    "infer_output_tokens_per_problem": 8_000,
    "infer_cost_per_problem": 0.02,
}
"""Training-Free GRPO section 4.2 (DeepSeek-V3.1-Terminus, ReAct + CI); also in results/paper/tfgrpo.json."""


def _fmt_int(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f}"


def _fmt_money(v: float | None) -> str:
    from harness.reports.leaderboard import fmt_money

    return fmt_money(v, missing="n/a")


def _share(u: Usage) -> str:
    s = u.cache_read_share
    return "" if s is None else f"{100 * s:.1f}%"


def eval_rows(runs: list[RunRecord]) -> list[list[str]]:
    rows = []
    for r in runs:
        u, j = r.solver_usage, r.judge_usage
        n = max(1, r.completed)
        rows.append([
            Path(r.path).name, r.model, r.task, r.method, f"{r.problems}x{r.epochs}",
            _fmt_int(u.all_input_tokens), _fmt_int(u.output_tokens), _share(u),
            _fmt_money(u.cost), _fmt_money(j.cost),
            _fmt_int(u.all_input_tokens / n), _fmt_int(u.output_tokens / n),
            _fmt_money(None if u.cost is None else u.cost / n),
            _fmt_money(None if u.cost is None else u.cost / max(1, r.problems)),
        ])
    return rows


EVAL_HEAD = ["log", "model", "task", "solver", "samples", "input tok", "output tok", "cache-read share",
             "solver $", "judge $", "input tok/sample", "output tok/sample", "$/sample", "$/problem"]


def library_rows(lib: LibraryInfo) -> list[list[str]]:
    from harness.reports.runs import Usage

    rows = []
    total = Usage()
    for stage, u in lib.stages.items():
        total = total + u
        rows.append([stage, _fmt_int(u.all_input_tokens), _fmt_int(u.output_tokens), _share(u), _fmt_money(u.cost)])
    if lib.stages:
        rows.append(["total", _fmt_int(total.all_input_tokens), _fmt_int(total.output_tokens), _share(total), _fmt_money(total.cost)])
    return rows


def library_total(lib: LibraryInfo) -> Usage:
    from harness.reports.runs import Usage

    total = Usage()
    for u in lib.stages.values():
        total = total + u
    return total


TRAIN_SIZE_KEYS = ("train_problems", "n", "n_problems", "problems", "train_size", "dataset_size", "data_size")
"""Library settings that may hold the number of training problems."""


def training_problems(lib: LibraryInfo) -> int | None:
    for key in TRAIN_SIZE_KEYS:
        v = lib.settings.get(key)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return None


def price_library(lib: LibraryInfo, prices: dict[str, Any]) -> LibraryInfo:
    """Recompute stage $ at the configured prices for the library's model (if priced)."""
    from harness.reports.runs import price_usage

    price = prices.get(lib.model or "")
    if price is None:
        return lib
    stages = {k: u.model_copy(update={"cost": price_usage(u, price)}) for k, u in lib.stages.items()}
    return lib.model_copy(update={"stages": stages})


PAPER_DOMAIN = "math"
"""The paper's cost analysis is for its math run: only this domain is compared with it."""


def measured_cost(runs: list[RunRecord], libraries: list[LibraryInfo]) -> dict[str, float | None]:
    """The quantities of the paper's cost analysis, measured (None where nothing measures them).

    Training: libraries learned on math (the paper's 38M tokens are DAPO-100 only).
    Inference: tfgrpo runs on math tasks (all runs on math tasks when none is tfgrpo).
    """
    from harness.reports.runs import TASK_DOMAINS, Usage

    math_libs = [lib for lib in libraries if lib.domain == PAPER_DOMAIN and lib.stages]
    train = Usage()
    for lib in math_libs:
        train = train + library_total(lib)
    walls = [lib.wall_seconds for lib in math_libs]
    math_runs = [r for r in runs if TASK_DOMAINS.get(r.task) == PAPER_DOMAIN]
    tf = [r for r in math_runs if r.solver == "tfgrpo"] or math_runs
    done = sum(r.completed for r in tf)
    inp = sum(r.solver_usage.all_input_tokens for r in tf)
    out = sum(r.solver_usage.output_tokens for r in tf)
    costs = [r.solver_usage.cost for r in tf]
    return {
        "train_input_tokens": train.all_input_tokens if math_libs else None,
        "train_output_tokens": train.output_tokens if math_libs else None,
        "train_cost": train.cost if math_libs else None,
        "train_hours": sum(walls) / 3600 if math_libs and all(w is not None for w in walls) else None,
        "infer_input_tokens_per_problem": inp / done if done else None,
        "infer_output_tokens_per_problem": out / done if done else None,
        "infer_cost_per_problem": (sum(costs) / done) if done and all(c is not None for c in costs) else None,
    }


def comparison_scope(runs: list[RunRecord], libraries: list[LibraryInfo]) -> list[str]:
    """What the paper comparison counted and what it left out (one line each)."""
    from harness.reports.runs import TASK_DOMAINS

    counted = [lib for lib in libraries if lib.domain == PAPER_DOMAIN and lib.stages]
    left = [lib for lib in libraries if lib not in counted]
    lines = [f"training: {len(counted)} math librar{'y' if len(counted) == 1 else 'ies'} counted"
             + (f" ({', '.join(Path(lib.path).name for lib in counted)})" if counted else "")]
    if left:
        lines.append("not counted (not learned on math, or no usage recorded): " + ", ".join(
            f"{Path(lib.path).name} ({lib.domain or lib.task or '?'})" for lib in left))
    other = sorted({r.task for r in runs if TASK_DOMAINS.get(r.task) != PAPER_DOMAIN})
    if other:
        lines.append(f"inference: runs on non-math tasks not counted ({', '.join(other)})")
    return lines


def comparison_rows(measured: dict[str, float | None]) -> list[list[str]]:
    labels = {
        "train_input_tokens": "training input tokens",
        "train_output_tokens": "training output tokens",
        "train_cost": "training $",
        "train_hours": "training wall time (hours)",
        "infer_input_tokens_per_problem": "inference input tokens / problem (sample-epoch)",
        "infer_output_tokens_per_problem": "inference output tokens / problem (sample-epoch)",
        "infer_cost_per_problem": "inference $ / problem (sample-epoch)",
    }
    rows = []
    for key, label in labels.items():
        paper, got = PAPER_COST[key], measured.get(key)
        fmt = _formatter(key)
        ratio = "" if got is None or not paper else f"{got / paper:.3g}x"
        rows.append([label, fmt(paper), "— (not measured)" if got is None else fmt(got), ratio])
    return rows


def _formatter(key: str) -> Any:
    if "cost" in key:
        return _fmt_money
    if "hours" in key:
        return lambda v: "" if v is None else f"{v:.3g}"
    return _fmt_int


def collect(paths: list[str], prices: dict[str, Any]) -> tuple[list[RunRecord], list[LibraryInfo], list[str]]:
    """Eval runs and libraries from a mix of log dirs/files and library JSON files."""
    from harness.reports.runs import read_library, read_runs

    log_paths, given = [], []
    for p in paths:
        path = Path(p)
        if path.is_file() and path.suffix == ".json" and _looks_like_library(path):
            given.append(read_library(path))
        else:
            log_paths.append(p)
    runs: list[RunRecord] = []
    problems: list[str] = []
    if log_paths:
        # libraries named by the logs are searched (by hash) under every path given
        runs, skipped = read_runs(log_paths, prices=prices, tool_calls=False, library_search=paths)
        problems.extend(f"skipped {s.path}: {s.reason}" for s in skipped)
    libs, missing = libraries_of(runs, given, prices)
    return runs, libs, problems + missing


def libraries_of(
    runs: list[RunRecord], given: list[LibraryInfo], prices: dict[str, Any]
) -> tuple[list[LibraryInfo], list[str]]:
    """The libraries given plus those the runs used, once each (by file hash), priced at
    ``prices`` for each library's model; and one line per library a run names but that
    was not found. ``harness cost`` and ``harness reproduce tfgrpo.cost`` both use this."""
    libs: list[LibraryInfo] = []
    seen: set[str] = set()
    problems: list[str] = []
    for lib in given:
        if lib.identity not in seen:
            seen.add(lib.identity)
            libs.append(lib)
    for r in runs:
        lib = r.experiences
        if lib is None:
            continue
        if not lib.found:
            line = f"library {lib.path} named by {Path(r.path).name}: {lib.error}"
            if line not in problems:
                problems.append(line)
        elif lib.identity not in seen:
            seen.add(lib.identity)
            libs.append(lib)
    return [price_library(lib, prices) for lib in libs], problems


def _looks_like_library(path: Path) -> bool:
    """A .json file that is not an inspect log (inspect JSON logs have 'eval' and 'version')."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return False
    return not ('"eval"' in head and '"version"' in head)


def render(runs: list[RunRecord], libs: list[LibraryInfo], fmt: str = "md") -> str:
    from tabulate import tabulate

    out = []
    if runs:
        out.append("## Evaluations (solver tokens and $; judge $ apart)\n")
        out.append(tabulate(eval_rows(runs), headers=EVAL_HEAD, tablefmt="github", disable_numparse=True))
        out.append("")
    for lib in libs:
        out.append(f"## Training artifact {lib.path}\n")
        out.append(f"model {lib.model or '?'}, learned on {lib.task or '?'} ({lib.domain or '?'}), "
                   f"{lib.entries if lib.entries is not None else '?'} experiences, sha256 {(lib.sha256 or '?')[:12]}\n")
        rows = library_rows(lib)
        if rows:
            out.append(tabulate(rows, headers=["stage", "input tok", "output tok", "cache-read share", "$"],
                                tablefmt="github", disable_numparse=True))
            n = training_problems(lib)
            cost = library_total(lib).cost
            if n and cost is not None:
                out.append(f"\ntraining $ per training problem: {_fmt_money(cost / n)} ({n} problems)")
        else:
            out.append("(no per-stage usage recorded in this library)")
        out.append("")
    out.append("## Compared with the paper (TF-GRPO, DeepSeek-V3.1-Terminus, section 4.2)\n")
    out.append(tabulate(comparison_rows(measured_cost(runs, libs)), headers=["quantity", "paper", "measured", "measured/paper"],
                        tablefmt="github", disable_numparse=True))
    out.append("")
    out.extend(f"- {line}" for line in comparison_scope(runs, libs))
    out.append("\nInput tokens include cache reads and writes; the paper's $ assume DeepSeek's cache-hit input prices "
               "(pass --prices with input_cache_read to compare like with like). Inference per problem is per sample-epoch "
               "of tfgrpo runs on math tasks (all math runs when none is tfgrpo).")
    return "\n".join(out) + "\n"


def reproduce_cost(paper: Any, table: Any, runs: list[RunRecord], prices: dict[str, Any], fmt: str = "md") -> str:
    """``harness reproduce tfgrpo.cost``: the cost table against logs and the libraries they
    used, measured exactly as ``harness cost`` does (same libraries, same prices)."""
    from tabulate import tabulate

    libs, missing = libraries_of(runs, [], prices)
    measured = measured_cost(runs, libs)
    body = []
    for row in table.rows:
        published = row.values.get("value")
        got = measured.get(row.key or "")
        fmt_ = _formatter(row.key or "")
        body.append([row.label, fmt_(published), "— (not measured)" if got is None else fmt_(got),
                     "" if got is None or not published else f"{got / published:.3g}x"])
    head = ["quantity", "paper", "measured", "measured/paper"]
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        csv.writer(buf).writerows([head, *body])
        return buf.getvalue()
    text = [f"{table.id}: {table.title}", f"source: {paper.source}", "",
            tabulate(body, headers=head, tablefmt="github", disable_numparse=True), ""]
    text.extend(f"- {line}" for line in comparison_scope(runs, libs))
    text.extend(f"- {m}" for m in missing)
    text.extend(f"- {c}" for c in [*table.caveats, *paper.caveats[:2]])
    return "\n".join(text) + "\n"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cost",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", help="log directories/files and/or experience-library JSON files")
    p.add_argument("--prices", help="YAML/JSON prices in --model-cost-config format ($ per 1M tokens); recomputes $")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.reports.runs import load_prices

    runs, libs, problems = collect(args.paths, load_prices(args.prices))
    for p in problems:
        print(p, file=sys.stderr)
    sys.stdout.write(render(runs, libs))
    return 0
