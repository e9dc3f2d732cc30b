"""The ``harness`` command. Each subcommand lives in its own module exposing
``register(subparsers)``; it sets ``func(args) -> int`` as the parser default."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "harness.commands.demo",
    "harness.shard",
    "harness.commands.self_play",
    "harness.commands.alpaca",
    "harness.reports.leaderboard",
    "harness.reports.paper",
    "harness.reports.transfer",
    "harness.reports.cost",
    "harness.tfgrpo.cli",
]
"""Modules that add subcommands (in --help order)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description=(
            "Evaluation harness for self-improving LLM agents (Training-Free GRPO, "
            "Reflect-Retry-Reward, Language Self-Play), built on inspect-ai. Evaluations "
            "themselves run with `inspect eval tasks/<task>.py` (or `harness eval ... --workers N`: "
            "the same over N processes); these subcommands train, demo and report."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
