"""``harness demo``: a small AIME-format eval with the offline test double, end to end.

It runs through inspect exactly like a real evaluation (dataset, solver, scorer, epochs,
reducers, log file) but the "model" is the TEST DOUBLE, which answers each problem
correctly with probability ``--p-correct``. The printed numbers measure the harness's
plumbing, not any language model.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from tabulate import tabulate

DEMO_DATA = "demo_aime.jsonl"
"""Eight self-written AIME-style problems in the HuggingFaceH4/aime_2024 schema."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run a small offline AIME-format eval with the test double and print Mean@k / Pass@k",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--epochs", type=int, default=8, help="epochs per problem (default 8)")
    p.add_argument("--p-correct", type=float, default=0.6, help="test double's chance of a correct answer (default 0.6)")
    p.add_argument("--log-dir", default="logs/demo", help="where the inspect log goes (default logs/demo)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspect_ai import eval as inspect_eval

    from harness.logs import metric_rows
    from tasks.aime import aime2024

    data = resources.files("harness") / "data" / DEMO_DATA
    with resources.as_file(data) as path:
        task = aime2024(data=str(path))
        logs = inspect_eval(
            task,
            model="testdouble/oracle",
            model_args={"p_correct": args.p_correct},
            epochs=args.epochs,
            log_dir=args.log_dir,
            display="none",
        )
    log = logs[0]
    if log.status != "success":
        print(f"demo eval ended with status {log.status}: {log.error.message if log.error else ''}")
        return 1
    rows = metric_rows(log)
    print(f"TEST DOUBLE demo (not a real model): testdouble/oracle, p_correct={args.p_correct}")
    print(f"task aime2024 on {len(task.dataset)} demo problems x {args.epochs} epochs\n")
    print(
        tabulate(
            [(r.label, f"{100 * r.value:.1f}", f"{100 * r.stderr:.1f}" if r.stderr is not None else "") for r in rows],
            headers=["metric", "%", "stderr %"],
            tablefmt="github",
        )
    )
    location = Path(log.location)
    print(f"\nlog: {location}\nview it with: inspect view --log-dir {location.parent}")
    return 0
