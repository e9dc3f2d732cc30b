"""Wall time per python() call in the bwrap sandbox (sandbox start + run), median and p95.

Calls inspect's own ``python()`` tool, exactly as the react solver does, inside a sample
sandbox set up the way an eval sets it up (sample_init, recording proxy). Each call starts
a fresh sandbox and interpreter. The ``bare`` rows run the same code with the same
interpreter as a plain host subprocess (``python3 -``, no sandbox, no login shell): the
difference is the sandbox's own cost.

    python bench/sandbox_python.py                       # 30 calls per workload
    python bench/sandbox_python.py -n 50 --out bench/out/sandbox.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKLOADS = {
    "print": "print(6 * 7)",
    "loop 10^6": "print(sum(i * i for i in range(10**6)))",
    "import numpy": "import numpy as np\nprint(int(np.arange(10).sum()))",
    "import sympy+scipy": "import sympy, scipy.optimize\nprint(sympy.isprime(2**31 - 1))",
}


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
    print(f"  {kind:6s} {name:20s} median {result['median_s']:.3f} s   p95 {result['p95_s']:.3f} s", flush=True)
    return result


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


async def measure(sandbox: str, n: int, timeout: int) -> dict[str, Any]:
    from inspect_ai.tool import python
    from inspect_ai.util._sandbox.context import (
        cleanup_sandbox_environments_sample,
        init_sandbox_environments_sample,
    )
    from inspect_ai.util._sandbox.registry import registry_find_sandboxenv

    import harness.sandbox  # noqa: F401  (registers bwrap)

    env_type = registry_find_sandboxenv(sandbox)
    await env_type.task_init("bench", None)
    environments = await init_sandbox_environments_sample(env_type, "bench", None, {}, None, {})
    tool = python(timeout=timeout)
    results: dict[str, Any] = {}
    try:
        for name, code in WORKLOADS.items():
            await tool(code=code)  # warm the page cache once
            times = []
            for _ in range(n):
                start = time.perf_counter()
                out = await tool(code=code)
                times.append(time.perf_counter() - start)
                if "Error" in str(out):
                    raise RuntimeError(f"{name}: {out}")
            results[name] = summarise(name, sandbox, times)
    finally:
        await cleanup_sandbox_environments_sample(sandbox, "bench", None, environments, False)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=30, help="calls per workload (default 30)")
    parser.add_argument("--no-bare", action="store_true", help="skip the unsandboxed baseline")
    parser.add_argument("--timeout", type=int, default=30, help="python() timeout per call, s")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "sandbox.json"))
    args = parser.parse_args(argv)

    import anyio
    from tabulate import tabulate

    load_before = os.getloadavg()
    report: dict[str, Any] = {
        "what": "wall time per inspect python() call: fresh sandbox + fresh python3 + the code",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "loadavg_before": load_before,
        },
        "results": {},
    }
    report["results"]["bwrap"] = anyio.run(measure, "bwrap", args.n, args.timeout)
    if not args.no_bare:
        report["results"]["bare"] = anyio.run(measure_bare, args.n, args.timeout)
    report["machine"]["loadavg_after"] = os.getloadavg()

    rows = [
        [sandbox, name, r["n"], f"{r['median_s'] * 1000:.0f}", f"{r['p95_s'] * 1000:.0f}"]
        for sandbox, workloads in report["results"].items()
        for name, r in workloads.items()
    ]
    print()
    print(tabulate(rows, headers=["sandbox", "workload", "calls", "median ms", "p95 ms"]))
    print(f"\nload average before/after: {load_before[0]:.2f} / {report['machine']['loadavg_after'][0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
