"""``harness cost``: tokens and $ of evaluations and of Training-Free GRPO training artifacts.

Evaluation logs: solver and judge usage apart (from ``log.stats.model_usage`` and
``role_usage``), the cache-read share of input tokens, $ (recorded by inspect from
``--model-cost-config``, or recomputed here with ``--prices``), $ per sample-epoch and
per problem. Experience libraries (given directly, or named by a log's ``-T
experiences=``): tokens and $ per training stage as the optimizer recorded them.
A closing block puts the totals next to the paper's cost analysis (38M input / 6.6M
output tokens and about $18 to train; 60K / 8K tokens and about $0.02 per problem).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.runs import LibraryInfo, RunRecord, Usage

PAPER_COST = {
    "train_input_tokens": 38_000_000,
    "train_output_tokens": 6_600_000,
    "train_cost": 18.0,
    "infer_input_tokens_per_problem": 60_000,
    "infer_output_tokens_per_problem": 8_000,
    "infer_cost_per_problem": 0.02,
}
"""Training-Free GRPO section 4.2 (DeepSeek-V3.1-Terminus, ReAct + CI); also in results/paper/tfgrpo.json."""


def _fmt_int(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f}"


def _fmt_money(v: float | None) -> str:
    from harness.leaderboard import fmt_money

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
    rows = []
    total = Usage()
    for stage, u in lib.stages.items():
        total = total + u
        rows.append([stage, _fmt_int(u.all_input_tokens), _fmt_int(u.output_tokens), _share(u), _fmt_money(u.cost)])
    if lib.stages:
        rows.append(["total", _fmt_int(total.all_input_tokens), _fmt_int(total.output_tokens), _share(total), _fmt_money(total.cost)])
    return rows


def library_total(lib: LibraryInfo) -> Usage:
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
    from harness.runs import price_usage

    price = prices.get(lib.model or "")
    if price is None:
        return lib
    stages = {k: u.model_copy(update={"cost": price_usage(u, price)}) for k, u in lib.stages.items()}
    return lib.model_copy(update={"stages": stages})


def measured_cost(runs: list[RunRecord], libraries: list[LibraryInfo]) -> dict[str, float | None]:
    """The quantities of the paper's cost analysis, measured (None where nothing measures them)."""
    train = Usage()
    for lib in libraries:
        train = train + library_total(lib)
    tf = [r for r in runs if r.solver == "tfgrpo"] or runs
    done = sum(r.completed for r in tf)
    inp = sum(r.solver_usage.all_input_tokens for r in tf)
    out = sum(r.solver_usage.output_tokens for r in tf)
    costs = [r.solver_usage.cost for r in tf]
    have_libs = bool(libraries and any(lib.stages for lib in libraries))
    return {
        "train_input_tokens": train.all_input_tokens if have_libs else None,
        "train_output_tokens": train.output_tokens if have_libs else None,
        "train_cost": train.cost if have_libs else None,
        "infer_input_tokens_per_problem": inp / done if done else None,
        "infer_output_tokens_per_problem": out / done if done else None,
        "infer_cost_per_problem": (sum(costs) / done) if done and all(c is not None for c in costs) else None,
    }


def comparison_rows(measured: dict[str, float | None]) -> list[list[str]]:
    labels = {
        "train_input_tokens": "training input tokens",
        "train_output_tokens": "training output tokens",
        "train_cost": "training $",
        "infer_input_tokens_per_problem": "inference input tokens / problem (sample-epoch)",
        "infer_output_tokens_per_problem": "inference output tokens / problem (sample-epoch)",
        "infer_cost_per_problem": "inference $ / problem (sample-epoch)",
    }
    rows = []
    for key, label in labels.items():
        paper, got = PAPER_COST[key], measured.get(key)
        money = "cost" in key
        fmt = _fmt_money if money else _fmt_int
        ratio = "" if got is None or not paper else f"{got / paper:.3g}x"
        rows.append([label, fmt(paper), "— (not measured)" if got is None else fmt(got), ratio])
    return rows


def collect(paths: list[str], prices: dict[str, Any]) -> tuple[list[RunRecord], list[LibraryInfo], list[str]]:
    """Eval runs and libraries from a mix of log dirs/files and library JSON files."""
    from harness.runs import read_library, read_runs

    log_paths, libs, problems = [], [], []
    for p in paths:
        path = Path(p)
        if path.is_file() and path.suffix == ".json" and _looks_like_library(path):
            libs.append(read_library(str(path)))
        else:
            log_paths.append(p)
    runs = []
    if log_paths:
        runs, skipped = read_runs(log_paths, prices=prices, tool_calls=False)
        problems.extend(f"skipped {s.path}: {s.reason}" for s in skipped)
    seen = {Path(lib.path).resolve() for lib in libs}
    for r in runs:
        lib = r.experiences
        if lib is not None and lib.found and Path(lib.path).resolve() not in seen:
            seen.add(Path(lib.path).resolve())
            libs.append(lib)
        elif lib is not None and not lib.found:
            problems.append(f"library {lib.path} named by {Path(r.path).name}: {lib.error}")
    libs = [price_library(lib, prices) for lib in libs]
    return runs, libs, problems


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
        out.append(f"model {lib.model or '?'}, learned on {lib.task or '?'}, {lib.entries if lib.entries is not None else '?'} experiences\n")
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
    out.append("\nInput tokens include cache reads and writes; the paper's $ assume DeepSeek's cache-hit input prices "
               "(pass --prices with input_cache_read to compare like with like). Inference per problem is per sample-epoch "
               "of tfgrpo runs (all runs when none is tfgrpo).")
    return "\n".join(out) + "\n"


def reproduce_cost(paper: Any, table: Any, runs: list[RunRecord], mapping: dict[str, str], fmt: str = "md") -> str:
    """``harness reproduce tfgrpo.cost``: the cost table against logs (+ the libraries they name)."""
    from tabulate import tabulate

    libs = []
    seen = set()
    for r in runs:
        if r.experiences is not None and r.experiences.found and r.experiences.path not in seen:
            seen.add(r.experiences.path)
            libs.append(r.experiences)
    measured = measured_cost(runs, libs)
    body = []
    for row in table.rows:
        published = row.values.get("value")
        got = measured.get(row.key or "")
        money = "cost" in (row.key or "")
        fmt_ = _fmt_money if money else _fmt_int
        body.append([row.label, fmt_(published), "— (not measured)" if got is None else fmt_(got),
                     "" if got is None or not published else f"{got / published:.3g}x"])
    text = [f"{table.id}: {table.title}", f"source: {paper.source}", "",
            tabulate(body, headers=["quantity", "paper", "measured", "measured/paper"], tablefmt="github", disable_numparse=True), ""]
    text.extend(f"- {c}" for c in [*table.caveats, *paper.caveats[:2]])
    return "\n".join(text) + "\n"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cost",
        help="token and $ report for eval logs and experience-library artifacts, next to the paper's cost analysis",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", help="log directories/files and/or experience-library JSON files")
    p.add_argument("--prices", help="YAML/JSON prices in --model-cost-config format ($ per 1M tokens); recomputes $")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from harness.runs import load_prices

    runs, libs, problems = collect(args.paths, load_prices(args.prices))
    for p in problems:
        print(p, file=sys.stderr)
    sys.stdout.write(render(runs, libs))
    return 0
