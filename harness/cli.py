"""The ``harness`` command: a table of subcommands, each imported only when it runs.

Each command's module exposes ``register(subparsers)``, which adds its parser (and sets
``func(args) -> int`` as the parser default); its top level imports little (argparse and
light helpers), so ``harness X --help`` stays fast: what a command needs to run (inspect_ai,
pandas, the log readers) is imported inside the function that runs it. ``harness --help``
imports no command module at all: the one-line help of each command is in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, NamedTuple, Sequence


class Command(NamedTuple):
    module: str
    """Module whose ``register(subparsers)`` adds the command's parser."""
    help: str
    """One line for ``harness --help`` (argparse %-formatting: write %% for %)."""


COMMANDS: dict[str, Command] = {
    "offline-data": Command(
        "harness.commands.demo",
        "write small self-written data files for trying every task offline (not benchmark data)"),
    "demo": Command(
        "harness.commands.demo",
        "run a small offline AIME-format eval with the test double and print Mean@k / Pass@k"),
    "eval": Command(
        "harness.shard",
        "inspect eval over N processes on disjoint sample shards (--workers N), reported as one run"),
    "self-play": Command(
        "harness.commands.self_play",
        "Language Self-Play: run the game as an eval, print its advantages table, export rollouts"),
    "alpaca-metrics": Command(
        "harness.commands.alpaca",
        "AlpacaEval metrics (win rate, SE, LC win rate) from annotation files"),
    "leaderboard": Command(
        "harness.reports.leaderboard",
        "one row per configuration (model, task, solver, library, settings) from inspect logs, with 95%% "
        "bootstrap CIs"),
    "compare": Command(
        "harness.reports.leaderboard",
        "paired comparison of two logs on their shared problems (sign-flip test and its CI)"),
    "reproduce": Command(
        "harness.reports.paper",
        "a published table next to the numbers measured in your logs (deltas, CIs, missing cells)"),
    "transfer": Command(
        "harness.reports.transfer",
        "cross-domain transfer table (paper Table 6 layout): model x learned domain x benchmark"),
    "cost": Command(
        "harness.reports.cost",
        "token and $ report for eval logs and experience-library artifacts, next to the paper's cost analysis"),
    "tfgrpo": Command(
        "harness.tfgrpo.cli",
        "Training-Free GRPO: train an experience library, or write one directly"),
}
"""Every subcommand, in ``harness --help`` order."""

DESCRIPTION = (
    "Evaluation harness for self-improving LLM agents (Training-Free GRPO, Reflect-Retry-Reward, "
    "Language Self-Play), built on inspect-ai. Evaluations themselves run with `inspect eval "
    "tasks/<task>.py` (or `harness eval ... --workers N`: the same over N processes); these "
    "subcommands train, demo and report."
)


class _Only:
    """The subparsers action as a command module sees it: parsers of the wanted commands are
    added (with their help line from :data:`COMMANDS`), any other the module registers is
    built and dropped (a module may register several commands)."""

    def __init__(self, sub: argparse._SubParsersAction, wanted: set[str]) -> None:
        self._sub, self._wanted = sub, wanted

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if name not in self._wanted:
            return argparse.ArgumentParser(prog=name, add_help=False)
        kwargs.setdefault("help", COMMANDS[name].help)
        kwargs.setdefault("description", COMMANDS[name].help.replace("%%", "%"))
        return self._sub.add_parser(name, **kwargs)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``harness`` parser. With ``argv``, only the command it names is imported and
    built (every other command is a stub listed in ``--help``); without, every command."""
    parser = argparse.ArgumentParser(prog="harness", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if argv is None:
        wanted = set(COMMANDS)
    else:
        first = next((a for a in argv if not a.startswith("-")), None)
        wanted = {first} if first in COMMANDS else set()
    # group by module so a module registering two commands is imported and called once
    done: set[str] = set()
    for name, command in COMMANDS.items():
        if name not in wanted:
            sub.add_parser(name, help=command.help, add_help=False)
        elif command.module not in done:
            done.add(command.module)
            mine = {n for n, c in COMMANDS.items() if c.module == command.module} & wanted
            importlib.import_module(command.module).register(_Only(sub, mine))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as ex:
        from inspect_ai._util.error import PrerequisiteError

        if isinstance(ex, (PrerequisiteError, FileNotFoundError, ValueError)):
            print(f"harness {args.command}: {ex}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
