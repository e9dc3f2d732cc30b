"""Benchmark: start-up of the `harness` CLI and of the inspect entry point (target: `harness --help` < 0.5 s).

Runs, each in a fresh interpreter, ``harness --help``, ``harness X --help`` for every
command X, and one real report command (``harness leaderboard`` over a log the offline
TEST DOUBLE wrote with ``harness demo``; not a language model), and reports for each the
median wall time of ``--repeat`` runs and the number of modules imported (``python -X
importtime``), and whether inspect_ai was among them. Also the cost of the entry point
``harness._registry``, which inspect imports on every run of any task: wall time and
modules of ``import inspect_ai._cli.main, harness._registry`` minus ``import
inspect_ai._cli.main`` (inspect's own CLI, loaded first anyway). Wall times depend on the
machine's load (recorded in the JSON); the module counts do not.

    python3 bench/cli_startup.py [--repeat 5] [--checkout DIR] [--out bench/out/cli_startup.json]

``--checkout DIR`` measures another checkout of the harness (e.g. an older commit) with
this script's command list.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchjson import default_out, write_result

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.cli import COMMANDS  # noqa: E402

TARGET_S = 0.5
"""`harness --help` on an idle machine (issue 17)."""

_IMPORT = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|( *)(\S+)")


def _env(checkout: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(checkout)}


def _wall(argv: list[str], env: dict[str, str], cwd: Path, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if proc.returncode not in (0,):
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return statistics.median(times), min(times)


def _modules(argv: list[str], env: dict[str, str], cwd: Path) -> set[str]:
    proc = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], env=env, cwd=cwd, capture_output=True, text=True)
    return {m[2] for line in proc.stderr.splitlines() if (m := _IMPORT.match(line))}


def measure(label: str, argv: list[str], env: dict[str, str], cwd: Path, repeat: int) -> dict:
    median, least = _wall(argv, env, cwd, repeat)
    mods = _modules(argv, env, cwd)
    row = {"what": label, "wall_s_median": round(median, 3), "wall_s_min": round(least, 3),
           "modules": len(mods), "inspect_ai": "inspect_ai" in mods}
    print(f"{label:34s} {median:6.2f} s median ({least:.2f} min)  {len(mods):5d} modules"
          f"{'  inspect_ai' if row['inspect_ai'] else ''}")
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5, help="runs per command (the median is reported)")
    ap.add_argument("--checkout", default=str(ROOT), help="checkout of the harness to measure (default: this one)")
    ap.add_argument("--out", default=default_out("cli_startup"))
    args = ap.parse_args()
    load = os.getloadavg()[0]
    checkout = Path(args.checkout).resolve()
    env = _env(checkout)
    py = sys.executable
    cli = [py, "-m", "harness.cli"]
    with tempfile.TemporaryDirectory(prefix="harness-bench-cli-") as tmp:
        cwd = Path(tmp)
        rows = [measure("python -c pass (interpreter)", [py, "-c", "pass"], env, cwd, args.repeat)]
        rows.append(measure("harness --help", [*cli, "--help"], env, cwd, args.repeat))
        for name in COMMANDS:
            rows.append(measure(f"harness {name} --help", [*cli, name, "--help"], env, cwd, args.repeat))
        # one real report command, over a log the test double writes
        subprocess.run([*cli, "demo", "--log-dir", str(cwd / "logs"), "--epochs", "2"], env=env, cwd=cwd,
                       check=True, capture_output=True)
        report = measure("harness leaderboard logs", [*cli, "leaderboard", "logs"], env, cwd, args.repeat)
        base = measure("import inspect_ai._cli.main", [py, "-c", "import inspect_ai._cli.main"], env, cwd,
                       args.repeat)
        reg = measure("  + import harness._registry", [py, "-c", "import inspect_ai._cli.main, harness._registry"],
                      env, cwd, args.repeat)
    registry = {"extra_wall_s": round(reg["wall_s_median"] - base["wall_s_median"], 3),
                "extra_modules": reg["modules"] - base["modules"], "inspect_cli": base, "with_registry": reg}
    top = rows[1]
    helps = rows[2:]
    print(f"\nharness --help {top['wall_s_median']:.2f} s (target {TARGET_S} s idle; load average {load:.1f}); "
          f"slowest `harness X --help` {max(r['wall_s_median'] for r in helps):.2f} s; "
          f"any --help importing inspect_ai: {any(r['inspect_ai'] for r in rows[1:])}")
    print(f"harness._registry on top of inspect's CLI: +{registry['extra_wall_s']:.2f} s, "
          f"+{registry['extra_modules']} modules")
    write_result(args.out, {"checkout": str(checkout), "repeat": args.repeat, "target_s": TARGET_S,
                            "interpreter": rows[0], "top_help": top, "command_help": helps, "report": report,
                            "registry": registry}, load_start=load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
