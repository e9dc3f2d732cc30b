"""``harness self-play``: run the Language Self-Play evaluation, print its advantages, export rollouts.

  harness self-play run --model M [--model-role grader=J] [-T n=8 -T g=4 ...] [--export rollouts.jsonl]
  harness self-play table LOG              # per-query V, V_Q and advantages (LSP-Zero and LSP)
  harness self-play export LOG --export rollouts.jsonl
  harness self-play schema                 # JSON Schema of one rollouts.jsonl line

``inspect eval tasks/self_play.py`` runs the same task; ``inspect eval`` has no ``--export``
flag, hence ``run --export`` here (or ``export`` on any finished log). LOG is a log file, or a
directory whose newest self_play log is used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

TASK_NAME = "self_play"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "self-play",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    run_p = actions.add_parser("run", help="run the self_play task through inspect, print the table, optionally export")
    run_p.add_argument("--model", required=True, help="model playing Challenger and Solver (any inspect model)")
    run_p.add_argument("-M", dest="model_args", action="append", default=[], metavar="KEY=VALUE", help="model argument (repeatable)")
    run_p.add_argument(
        "--model-role",
        action="append",
        default=[],
        metavar="ROLE=MODEL",
        help="bind a role: grader (reward judge), self_reward (quality judge), challenger, solver; "
        "each defaults to --model. YAML allowed: grader=\"{model: openai/gpt-4o, temperature: 0}\"",
    )
    run_p.add_argument("-T", dest="task_args", action="append", default=[], metavar="KEY=VALUE", help="task argument, as for inspect eval (repeatable)")
    run_p.add_argument("--log-dir", default="logs/self_play", help="where the inspect log goes (default logs/self_play)")
    run_p.add_argument("--export", metavar="PATH", help="write the rollouts with their advantages as JSONL")
    run_p.add_argument("--display", default=None, help="inspect display (full, rich, plain, none; default inspect's)")
    _table_options(run_p)
    run_p.set_defaults(func=run)

    table_p = actions.add_parser("table", help="print per-query V, V_Q and the advantages from a log")
    table_p.add_argument("log", help="self_play log file, or a log directory (its newest self_play log)")
    _table_options(table_p)
    table_p.set_defaults(func=table)

    export_p = actions.add_parser("export", help="write a log's rollouts with advantages as JSONL (validated)")
    export_p.add_argument("log", help="self_play log file, or a log directory (its newest self_play log)")
    export_p.add_argument("--export", "--out", dest="export", required=True, metavar="PATH", help="output JSONL file")
    export_p.set_defaults(func=export)

    schema_p = actions.add_parser("schema", help="print the JSON Schema of one rollouts.jsonl line")
    schema_p.set_defaults(func=schema)


def _table_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--width", type=int, default=48, help="instruction column width (default 48)")
    p.add_argument("--format", default="github", help="tabulate format (default github)")


# --------------------------------------------------------------------------------------


def resolve_log(path: str) -> str:
    """A log file as given, or the newest self_play log under a directory."""
    p = Path(path).expanduser()
    if p.is_file():
        return str(p)
    if p.is_dir():
        from inspect_ai.log import list_eval_logs, read_eval_log

        for info in list_eval_logs(str(p)):
            header = read_eval_log(info, header_only=True)
            if header.eval.task.split("/")[-1] == TASK_NAME:
                return info.name
        raise FileNotFoundError(f"no {TASK_NAME} log under {p}")
    raise FileNotFoundError(f"log not found: {p}")


def _read(path: str) -> Any:
    from inspect_ai.log import read_eval_log

    log = read_eval_log(resolve_log(path))
    if log.eval.task.split("/")[-1] != TASK_NAME:
        raise ValueError(f"{log.location}: task {log.eval.task!r} is not {TASK_NAME}")
    return log


def render_table(log: Any, width: int = 48, fmt: str = "github") -> str:
    """The advantages table of a log, with the provenance of its numbers and the metrics."""
    from tabulate import tabulate

    from harness.benchmarks.self_play import TABLE_HEADERS, advantages_rows, logged_games

    games = logged_games(log)
    rows: list[list[Any]] = []
    unjudged = 0
    for lg in games:
        if lg.result is None:
            unjudged += 1
            continue
        rows.extend(advantages_rows(lg.game_id, lg.epoch, lg.game, lg.result, width))
    roles = {role: str(m.model) for role, m in (log.eval.model_roles or {}).items()}
    meta = log.eval.task_args or {}
    lines = [
        f"log: {log.location}",
        f"task {log.eval.task}, model {log.eval.model}, roles {roles or 'none bound (all = model)'}",
        f"task args {meta or 'defaults'}; {len(games)} game(s), epochs {log.eval.config.epochs or 1}"
        + (f", {unjudged} not judged" if unjudged else ""),
        "",
        tabulate(rows, headers=TABLE_HEADERS, tablefmt=fmt, disable_numparse=True) if rows else "(no judged games)",
        "game = sample id#epoch; A_Sol lists the G answers' advantages in answer order; "
        "'-' = undefined (unusable query or unparseable judgement: reasons in the log and the export)",
    ]
    if log.results is not None:
        metrics = []
        for score in log.results.scores:
            for name, m in score.metrics.items():
                label = score.name if name in ("mean", "stderr") else name
                if name == "stderr":
                    label = f"{score.name} stderr"
                metrics.append((label, f"{m.value:.4f}"))
        lines += ["", tabulate(metrics, headers=["metric (over games)", "value"], tablefmt=fmt, disable_numparse=True)]
    return "\n".join(lines)


def write_export(log: Any, out: str) -> tuple[int, int]:
    """Write the log's rollouts to ``out`` (JSONL, every line validated); (challenger, solver) counts."""
    from harness.benchmarks.self_play import ROLLOUT_ADAPTER, logged_games, rollout_records

    lines = []
    n_ch = n_sol = 0
    for lg in logged_games(log):
        if lg.result is None:
            continue
        for rec in rollout_records(
            lg.game, lg.result, log=str(log.location), eval_id=log.eval.eval_id, game_id=lg.game_id, epoch=lg.epoch
        ):
            line = rec.model_dump_json()
            ROLLOUT_ADAPTER.validate_json(line)  # the line as written must read back
            lines.append(line)
            if rec.role == "challenger":
                n_ch += 1
            else:
                n_sol += 1
    target = Path(out).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(tmp, target)
    return n_ch, n_sol


# --------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from inspect_ai import eval as inspect_eval
    from inspect_ai._cli.util import parse_model_role_cli_args
    from inspect_ai._util.config import parse_cli_args

    from tasks.self_play import self_play

    task_args = parse_cli_args(args.task_args)
    task = self_play(**task_args)
    logs = inspect_eval(
        task,
        model=args.model,
        model_args=parse_cli_args(args.model_args),
        model_roles=parse_model_role_cli_args(tuple(args.model_role)) or None,
        log_dir=args.log_dir,
        display=args.display,
    )
    log = logs[0]
    if log.status != "success":
        print(f"self_play eval ended with status {log.status}: {log.error.message if log.error else ''}", file=sys.stderr)
        print(f"log: {log.location}", file=sys.stderr)
        return 1
    from inspect_ai.log import read_eval_log

    full = read_eval_log(log.location)
    print(render_table(full, args.width, args.format))
    if args.export:
        n_ch, n_sol = write_export(full, args.export)
        print(f"\nexported {n_ch} challenger + {n_sol} solver rollouts to {args.export}")
    return 0


def table(args: argparse.Namespace) -> int:
    print(render_table(_read(args.log), args.width, args.format))
    return 0


def export(args: argparse.Namespace) -> int:
    log = _read(args.log)
    n_ch, n_sol = write_export(log, args.export)
    print(f"exported {n_ch} challenger + {n_sol} solver rollouts from {log.location} to {args.export}")
    return 0


def schema(args: argparse.Namespace) -> int:
    from harness.benchmarks.self_play import ROLLOUT_ADAPTER

    print(json.dumps(ROLLOUT_ADAPTER.json_schema(), indent=2))
    return 0
