"""The bwrap sandbox's cost per call, against the pre-issue-13 sandbox, and its fairness.

Three measurements, all in one run so they share the machine's load:

1. ``python()`` per call (inspect's own tool, as the react solver calls it, in a sample
   sandbox set up the way an eval sets it up); ``bare`` rows run the same code with the same
   interpreter as a plain host subprocess (no sandbox, no login shell). In 1 and 2 the
   sandboxes' parent cgroup gets the CPU weight of one ordinary process, so that on a loaded
   machine the scheduler favours neither side.
2. Start-up overhead, new vs old: the sandbox of commit ``--baseline`` (before issue 13: no
   seccomp, keyring, cgroup or tmpfs) loaded from git next to today's, calls alternating
   between them; also today's sandbox without its per-sample launcher (``per-call``: each
   call joins the sample's cgroup itself, see harness/sandbox/launcher.py).
   ``true`` is pure sandbox start-up; ``print`` adds bash --login + python.
   Acceptance (issue 13): new/old start-up <= 1.25. On a machine shared with other jobs the
   median includes waiting for a CPU; the 10th percentile is closer to the cost itself.
3. Fairness: 64 hostile samples (each a CPU hog of 4 busy processes, re-run whenever its
   tool timeout kills it) and one benign sample calling ``print(6 * 7)`` over and over;
   reports the benign call's latency and the harness's event-loop lag, for today's defaults
   and for the old sandbox with inspect's subprocess throttle (one slot per CPU), as it ran,
   and without it.

    python bench/sandbox_python.py                         # everything (about 3 minutes)
    python bench/sandbox_python.py -n 50 --skip-fairness   # only the per-call costs
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchjson import default_out, write_result  # noqa: E402

BASELINE = "0260be8"
"""Last commit before issue 13 (harness/sandbox.py as it was)."""

WORKLOADS = {
    "print": "print(6 * 7)",
    "loop 10^6": "print(sum(i * i for i in range(10**6)))",
    "import numpy": "import numpy as np\nprint(int(np.arange(10).sum()))",
    "import sympy+scipy": "import sympy, scipy.optimize\nprint(sympy.isprime(2**31 - 1))",
}
PYTHON = ["bash", "--login", "-c", "python3 -"]
"""Exactly what inspect's python() tool executes."""
HOG = "import os\nos.fork()\nos.fork()\nwhile True:\n    pass\n"
"""A hostile call: four busy processes until the tool timeout kills them."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarise(name: str, kind: str, times: list[float]) -> dict[str, Any]:
    result = {
        "n": len(times),
        "median_s": statistics.median(times),
        "p95_s": percentile(times, 0.95),
        "min_s": min(times),
        "max_s": max(times),
    }
    print(f"  {kind:8s} {name:20s} median {result['median_s']:.3f} s   p95 {result['p95_s']:.3f} s", flush=True)
    return result


# ---------------------------------------------------------------------------------------
# 1. python() per call


async def measure_bare(n: int, timeout: int) -> dict[str, Any]:
    import anyio

    results: dict[str, Any] = {}
    for name, code in WORKLOADS.items():
        times = []
        for _ in range(n + 1):
            start = time.perf_counter()
            with anyio.fail_after(timeout):
                await anyio.run_process([sys.executable, "-"], input=code.encode())
            times.append(time.perf_counter() - start)
        results[name] = summarise(name, "bare", times[1:])
    return results


async def measure_tool(n: int, timeout: int) -> dict[str, Any]:
    from inspect_ai.tool import python
    from inspect_ai.util._sandbox.context import (
        cleanup_sandbox_environments_sample,
        init_sandbox_environments_sample,
    )
    from inspect_ai.util._sandbox.registry import registry_find_sandboxenv

    import harness.sandbox  # noqa: F401  (registers bwrap)

    env_type = registry_find_sandboxenv("bwrap")
    await env_type.task_init("bench", None)
    environments = await init_sandbox_environments_sample(env_type, "bench", None, {}, None, {})
    tool = python(timeout=timeout)
    results: dict[str, Any] = {}
    try:
        with one_process_weight():
            for name, code in WORKLOADS.items():
                await tool(code=code)  # warm the page cache once
                times = []
                for _ in range(n):
                    start = time.perf_counter()
                    out = await tool(code=code)
                    times.append(time.perf_counter() - start)
                    if "Error" in str(out):
                        raise RuntimeError(f"{name}: {out}")
                results[name] = summarise(name, "bwrap", times)
    finally:
        await cleanup_sandbox_environments_sample("bwrap", "bench", None, environments, False)
    return results


# ---------------------------------------------------------------------------------------
# 2. new vs old start-up


def load_baseline(ref: str) -> types.ModuleType:
    """harness/sandbox.py as of ``ref``, registered under another name so both coexist."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{ref}:harness/sandbox.py"], capture_output=True, text=True, check=True
    ).stdout
    marker = 'SANDBOX_TYPE = "bwrap"'
    if marker not in source:
        raise RuntimeError(f"{ref}:harness/sandbox.py does not look like the old bwrap sandbox")
    module = types.ModuleType("harness_sandbox_baseline")
    module.__file__ = f"{ref}:harness/sandbox.py"
    sys.modules[module.__name__] = module
    exec(compile(source.replace(marker, 'SANDBOX_TYPE = "bwrap_baseline"'), module.__file__, "exec"), module.__dict__)
    return module


@contextlib.contextmanager
def one_process_weight() -> Any:
    """Give the sandboxes' parent cgroup the CPU weight of one ordinary process while
    measuring: what a bare subprocess and each old sandbox process have, so the scheduler
    favours neither side (by default all sandboxes together weigh as many processes as the
    machine has CPUs, which on a loaded machine would make the sandbox look faster)."""
    from harness.sandbox import cgroup

    support = cgroup.support()
    if "cpu" not in support.parents:
        yield
        return
    name = "cpu.weight" if support.version == "v2" else "cpu.shares"
    path = Path(support.parents["cpu"], name)
    before = path.read_text().strip()
    path.write_text("100" if name == "cpu.weight" else "1024")
    try:
        yield
    finally:
        path.write_text(before)


async def compare_startup(n: int, ref: str) -> dict[str, Any]:
    from harness.sandbox import BwrapSandboxEnvironment

    old_module = load_baseline(ref)
    envs = {"old": old_module.BwrapSandboxEnvironment(), "new": BwrapSandboxEnvironment()}
    # today's sandbox without its launcher: every call joins the sample's cgroup itself
    per_call = BwrapSandboxEnvironment()
    if per_call.launcher is not None:
        per_call.launcher.stop()
        per_call.launcher = None
        envs["per-call"] = per_call
    else:
        per_call.close()
    kinds = list(envs)
    calls = {"true": (["true"], None), "print": (PYTHON, "print(6 * 7)")}
    times: dict[str, dict[str, list[float]]] = {c: {k: [] for k in kinds} for c in calls}
    try:
        with one_process_weight():
            for call, (cmd, code) in calls.items():
                for i in range(n + 1):
                    # rotate which goes first, so drift in machine load hits all alike
                    for kind in kinds[i % len(kinds):] + kinds[: i % len(kinds)]:
                        start = time.perf_counter()
                        result = await envs[kind].exec(cmd, input=code, timeout=30)
                        elapsed = time.perf_counter() - start
                        if not result.success:
                            raise RuntimeError(f"{kind} {call}: {result.stderr}")
                        if i:  # the first round warms the page cache
                            times[call][kind].append(elapsed)
    finally:
        for env in envs.values():
            env.close()
    report: dict[str, Any] = {"baseline": ref}
    for call in calls:
        old, new = (statistics.median(times[call][k]) for k in ("old", "new"))
        old_p10, new_p10 = (percentile(times[call][k], 0.10) for k in ("old", "new"))
        report[call] = {
            "old": summarise(call, "old", times[call]["old"]),
            "new": summarise(call, "new", times[call]["new"]),
            "new_over_old": new / old,
            "new_over_old_p10": new_p10 / old_p10,
        }
        if "per-call" in envs:
            report[call]["per_call"] = summarise(call, "per-call", times[call]["per-call"])
            report[call]["per_call_over_old"] = statistics.median(times[call]["per-call"]) / old
        print(f"  {call}: new/old median = {new / old:.2f}, 10th percentile = {new_p10 / old_p10:.2f}", flush=True)
    return report


# ---------------------------------------------------------------------------------------
# 3. fairness


async def fairness(kind: str, hostile: int, window: float, tool_timeout: int, ref: str) -> dict[str, Any]:
    """Benign call latency and event-loop lag while ``hostile`` samples hog the CPU."""
    import anyio

    if kind.startswith("old"):
        module = load_baseline(ref) if "harness_sandbox_baseline" not in sys.modules else sys.modules["harness_sandbox_baseline"]
    else:
        import harness.sandbox as module
    envs = [module.BwrapSandboxEnvironment() for _ in range(hostile + 1)]
    benign_env, hostile_envs = envs[0], envs[1:]
    throttle = kind != "old, unthrottled"  # the old sandbox used inspect's subprocess throttle
    latencies: list[float] = []
    failures: list[str] = []
    unfinished: list[float] = []
    lags: list[float] = []
    hostile_calls = 0

    async def hog(env: Any) -> None:
        nonlocal hostile_calls
        while True:
            with contextlib.suppress(Exception):
                await env.exec(PYTHON, input=HOG, timeout=tool_timeout, concurrency=throttle)
            hostile_calls += 1

    async def monitor() -> None:
        while True:
            start = time.monotonic()
            await anyio.sleep(0.05)
            lags.append(time.monotonic() - start - 0.05)

    async def benign(deadline: float) -> None:
        while time.monotonic() < deadline:
            start = time.monotonic()
            try:
                with anyio.fail_after(max(1.0, deadline - start)):
                    result = await benign_env.exec(
                        PYTHON, input="print(6 * 7)", timeout=tool_timeout, concurrency=throttle
                    )
                if result.stdout != "42\n":
                    failures.append(result.stderr[-200:])
                latencies.append(time.monotonic() - start)
            except TimeoutError:  # the window ended first: counted apart, as unfinished
                unfinished.append(time.monotonic() - start)
            except Exception as ex:  # a benign call that errs (e.g. its tool timeout) counts
                failures.append(f"{type(ex).__name__}: {ex}"[:200])
                latencies.append(time.monotonic() - start)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(monitor)
            for env in hostile_envs:
                tg.start_soon(hog, env)
            await anyio.sleep(2.0)  # let the hostile samples ramp up
            await benign(time.monotonic() + window)
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            for env in envs:
                await env.aclose()
    result: dict[str, Any] = {
        "hostile_samples": hostile,
        "hostile_calls_finished": hostile_calls,
        "benign_calls": len(latencies),
        "benign_failures": failures,
        "benign_unfinished_at_window_end_s": unfinished,
        "benign_median_s": statistics.median(latencies) if latencies else None,
        "benign_max_s": max(latencies) if latencies else None,
        "loop_lag_p95_s": percentile(lags, 0.95) if lags else None,
        "loop_lag_max_s": max(lags) if lags else None,
    }
    fmt = lambda v: "-" if v is None else f"{v:.2f} s"  # noqa: E731
    print(
        f"  {kind}: {len(latencies)} benign calls, median {fmt(result['benign_median_s'])}, "
        f"max {fmt(result['benign_max_s'])}, failures {len(failures)}, unfinished {len(unfinished)}; event loop lag p95 "
        f"{fmt(result['loop_lag_p95_s'])}, max {fmt(result['loop_lag_max_s'])}",
        flush=True,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=30, help="calls per workload (default 30)")
    parser.add_argument("--no-bare", action="store_true", help="skip the unsandboxed baseline")
    parser.add_argument("--timeout", type=int, default=30, help="python() timeout per call, s")
    parser.add_argument("--baseline", default=BASELINE, help=f"git ref of the old sandbox (default {BASELINE})")
    parser.add_argument("--skip-tool", action="store_true", help="skip measurement 1 (python() per call)")
    parser.add_argument("--skip-compare", action="store_true", help="skip measurement 2 (new vs old)")
    parser.add_argument("--skip-fairness", action="store_true", help="skip measurement 3 (fairness)")
    parser.add_argument("--hostile", type=int, default=64, help="hostile samples in the fairness run")
    parser.add_argument("--window", type=float, default=20.0, help="seconds of benign calls per fairness run")
    parser.add_argument("--tool-timeout", type=int, default=10, help="tool timeout in the fairness run (react's)")
    parser.add_argument("--out", default=default_out("sandbox"))
    args = parser.parse_args(argv)

    import anyio
    from tabulate import tabulate

    load_before = os.getloadavg()
    report: dict[str, Any] = {
        "what": "bwrap sandbox: wall time per call, new vs old start-up, benign latency among hostile samples",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "loadavg_before": load_before,
        },
        "results": {},
    }
    if not args.skip_tool:
        print("python() per call:", flush=True)
        report["results"]["bwrap"] = anyio.run(measure_tool, args.n, args.timeout)
        if not args.no_bare:
            report["results"]["bare"] = anyio.run(measure_bare, args.n, args.timeout)
    if not args.skip_compare:
        print(f"start-up, new vs old ({args.baseline}):", flush=True)
        report["startup"] = anyio.run(compare_startup, args.n, args.baseline)
    if not args.skip_fairness:
        print(f"fairness: benign print() among {args.hostile} hostile samples, {args.window:g} s each:", flush=True)
        report["fairness"] = {
            kind: anyio.run(fairness, kind, args.hostile, args.window, args.tool_timeout, args.baseline)
            for kind in ("new", "old", "old, unthrottled")
        }
    report["machine"]["loadavg_after"] = os.getloadavg()

    print()
    rows = [
        [sandbox, name, r["n"], f"{r['median_s'] * 1000:.0f}", f"{r['p95_s'] * 1000:.0f}"]
        for sandbox, workloads in report["results"].items()
        for name, r in workloads.items()
    ]
    if rows:
        print(tabulate(rows, headers=["sandbox", "workload", "calls", "median ms", "p95 ms"]))
    if "startup" in report:
        rows = [
            [call, f"{r['old']['median_s'] * 1000:.0f}", f"{r['new']['median_s'] * 1000:.0f}", f"{r['new_over_old']:.2f}",
             f"{r['new_over_old_p10']:.2f}",
             f"{r['per_call']['median_s'] * 1000:.0f}" if "per_call" in r else "-",
             f"{r['per_call_over_old']:.2f}" if "per_call" in r else "-"]
            for call, r in report["startup"].items()
            if call != "baseline"
        ]
        print()
        print(tabulate(rows, headers=["call", "old median ms", "new median ms", "new/old median", "new/old p10",
                                      "per-call median ms", "per-call/old"]))
    if "fairness" in report:
        rows = [
            [kind, r["benign_calls"], len(r["benign_failures"]), r["benign_median_s"], r["benign_max_s"],
             r["loop_lag_p95_s"], r["loop_lag_max_s"]]
            for kind, r in report["fairness"].items()
        ]
        print()
        print(tabulate(rows, headers=["sandbox", "benign calls", "failed", "median s", "max s", "lag p95 s", "lag max s"],
                       floatfmt=".2f"))
    print(f"\nload average before/after: {load_before[0]:.2f} / {report['machine']['loadavg_after'][0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    try:  # 1: expedited RCU grace periods, which make joining a cgroup cheap (docs/sandbox.md)
        report["machine"]["rcu_expedited"] = Path("/sys/kernel/rcu_expedited").read_text().strip()
    except OSError:
        report["machine"]["rcu_expedited"] = None
    print(f"rcu_expedited: {report['machine']['rcu_expedited']} (1 removes most of the per-call cgroup join cost)")
    write_result(args.out, report, load_before[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
