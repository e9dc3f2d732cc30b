"""``harness demo``: a small AIME-format eval with the offline test double, end to end.

It runs through inspect exactly like a real evaluation (dataset, solver, scorer, epochs,
reducers, log file) but the "model" is the TEST DOUBLE, which answers each problem
correctly with probability ``--p-correct``. The printed numbers measure the harness's
plumbing, not any language model.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

DEMO_DATA = "demo_aime.jsonl"
"""Eight self-written AIME-style problems in the HuggingFaceH4/aime_2024 schema."""


OFFLINE_DATA = "offline"
"""Package folder (under ``harness/data``) of the self-written files ``harness offline-data`` writes."""

OFFLINE_FILES = ("dapo.jsonl", "apigen.jsonl", "webwalkerqa.jsonl", "afm.jsonl", "alpaca_eval.jsonl")
"""Written as they are; ``aime.jsonl`` is made from the demo problems (see :func:`offline_files`)."""


def offline_files() -> dict[str, str]:
    """File name -> content of the offline data: self-written rows in each task's upstream schema.

    ``aime.jsonl`` holds the demo problems split between the years 2024 and 2025, so both
    ``aime2024`` / ``aime2025`` and the two-year ``aime`` task read it (``-T data=``).
    """
    root = resources.files("harness") / "data"
    rows = [json.loads(line) for line in (root / DEMO_DATA).read_text(encoding="utf-8").splitlines() if line.strip()]
    for i, row in enumerate(rows):
        row["year"] = 2024 if i < len(rows) / 2 else 2025
    files = {"aime.jsonl": "".join(json.dumps(r) + "\n" for r in rows)}
    for name in OFFLINE_FILES:
        files[name] = (root / OFFLINE_DATA / name).read_text(encoding="utf-8")
    return files


def register(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser(
        "offline-data",
        description="Write the self-written sample data of the README's offline commands (rows in each "
        "task's upstream schema; not benchmark data) into DIR.",
    )
    w.add_argument("dir", nargs="?", default="offline", help="folder to write into (default ./offline)")
    w.add_argument("--force", action="store_true", help="overwrite files of the same name that differ")
    w.set_defaults(func=write_offline_data)
    p = sub.add_parser(
        "demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--epochs", type=int, default=8, help="epochs per problem (default 8)")
    p.add_argument("--p-correct", type=float, default=0.6, help="test double's chance of a correct answer (default 0.6)")
    p.add_argument("--log-dir", default="logs/demo", help="where the inspect log goes (default logs/demo)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from inspect_ai import eval as inspect_eval
    from tabulate import tabulate

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


def write_offline_data(args: argparse.Namespace) -> int:
    from inspect_ai._util.error import PrerequisiteError

    folder = Path(args.dir)
    files = offline_files()
    clashes = [n for n, text in files.items() if (folder / n).exists() and (folder / n).read_text(encoding="utf-8") != text]
    if clashes and not args.force:
        raise PrerequisiteError(f"{folder} already has {', '.join(clashes)} with other content: pass --force to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / name)
    print(f"wrote {len(files)} self-written sample files (not benchmark data) to {folder}/: {', '.join(files)}")
    return 0
