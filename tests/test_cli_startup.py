"""The ``harness`` CLI imports per command: ``--help`` never loads inspect_ai or the data stack.

Which modules are imported is asserted (in a fresh interpreter), never how long it takes:
the times are measured by ``bench/cli_startup.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from harness.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ("inspect_ai", "numpy", "pandas", "pyarrow", "matplotlib", "scipy", "sklearn", "tabulate")
"""Packages no ``--help`` may import (each costs 0.1-2 s of start-up)."""

PROBE = r"""
import contextlib, io, json, sys
from harness.cli import COMMANDS, main

def help_of(argv):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            main(argv)
        except SystemExit:
            pass
    return out.getvalue()

top = help_of(["--help"])
after_top = sorted(m for m in sys.modules if m.startswith(("harness.", "tasks", "solvers", "scorers")))
helps = {name: help_of([name, "--help"]) for name in COMMANDS}
helps["tfgrpo train"] = help_of(["tfgrpo", "train", "--help"])
helps["self-play run"] = help_of(["self-play", "run", "--help"])
print(json.dumps({"top": top, "after_top": after_top, "helps": helps, "modules": sorted(sys.modules)}))
"""


def _probe() -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_help_imports_no_heavy_package_and_top_level_no_command_module():
    out = _probe()
    # harness --help lists every command from the table alone
    assert out["after_top"] == ["harness.cli"], out["after_top"]
    for name, command in COMMANDS.items():
        assert name in out["top"] and command.help.replace("%%", "%").split()[0] in out["top"]
    # every `harness X --help` printed its own usage, and none of them pulled in a heavy package
    for name, text in out["helps"].items():
        assert text.startswith(f"usage: harness {name}"), (name, text[:200])
    loaded = {m.split(".")[0] for m in out["modules"]}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_command_table_matches_the_modules():
    """Each command of the table is registered by the module the table names (the stub left in
    its place otherwise has no arguments at all)."""
    for name in COMMANDS:
        chosen = _subparsers(build_parser([name]))[name]
        assert chosen._actions, f"{name}: {COMMANDS[name].module} did not register it"
    full = _subparsers(build_parser())
    assert list(full) == list(COMMANDS)
    assert all(p._actions for p in full.values())
    args = build_parser(["compare"]).parse_args(["compare", "a.eval", "b.eval"])
    assert args.command == "compare" and callable(args.func)
