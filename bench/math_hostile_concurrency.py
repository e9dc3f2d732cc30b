"""Many concurrent hostile answers: do the other samples still get scored, right and soon?

Usage: ``python bench/math_hostile_concurrency.py [--hostile 32] [--legit 16] [--hogs 0]``

Scores, all at once on threads (as inspect's scorer does with ``anyio.to_thread``):
``--hostile`` numeric bombs (``\\boxed{9^{9^{9^{9}}}}``, gold 33), ``--legit`` correct
symbolic answers (``\\boxed{\\frac{66}{2}}``, gold 33) submitted interleaved with them, and
as many plain integer answers (which never need a worker). ``--hogs N`` adds N busy-loop
processes, as a loaded machine. Prints each group's verdicts and latency (median / max) and
the total wall time. ``--checkout PATH`` scores with another checkout's ``scorers.math``
(any version with ``check_math_answer(completion, gold)``) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

BOMB = "\\boxed{9^{9^{9^{9}}}}"
LEGIT = "\\boxed{\\frac{66}{2}}"
INTEGER = "\\boxed{33}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hostile", type=int, default=32)
    ap.add_argument("--legit", type=int, default=16)
    ap.add_argument("--hogs", type=int, default=0)
    ap.add_argument("--checkout", default=str(Path(__file__).resolve().parents[1]),
                    help="the checkout whose scorer to use (default: this one)")
    ap.add_argument("--out", help="JSON (default: bench/out/math_hostile_concurrency.json for this checkout's scorer)")
    args = ap.parse_args(argv)
    load_start = os.getloadavg()[0]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from benchjson import default_out, write_result

    sys.path.insert(0, args.checkout)
    import scorers.math as sm
    from scorers.math import check_math_answer

    print(f"scorers.math from {sm.__file__}")
    check_math_answer(LEGIT, "33")  # start and warm the worker(s) outside the timing
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
    results: dict[str, list[tuple[float, str]]] = {"hostile": [], "legit": [], "integer": []}
    lock = threading.Lock()

    def score(kind: str, completion: str) -> None:
        start = time.perf_counter()
        s = check_math_answer(completion, "33")
        value = "unscored" if isinstance(s.value, float) and math.isnan(s.value) else str(s.value)
        with lock:
            results[kind].append((time.perf_counter() - start, f"{value}/{(s.metadata or {}).get('reason')}"))

    jobs = [("hostile", BOMB)] * args.hostile
    for i in range(args.legit):  # interleave: legit answers arrive among the hostile ones
        jobs.insert((2 * i + 1) * len(jobs) // (2 * args.legit + 1), ("legit", LEGIT))
        jobs.append(("integer", INTEGER))
    threads = [threading.Thread(target=score, args=job) for job in jobs]
    start = time.perf_counter()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    wall = time.perf_counter() - start
    for kind, rows in results.items():
        if not rows:
            continue
        lat = [r[0] for r in rows]
        print(f"{kind:8} n={len(rows):3}  verdicts {dict(Counter(r[1] for r in rows))}  "
              f"latency median {statistics.median(lat):.2f} s, max {max(lat):.2f} s")
    print(f"total wall {wall:.1f} s with {args.hogs} CPU hogs")
    legit_ok = all(r[1].startswith("C/") for r in results["legit"] + results["integer"])
    this = Path(args.checkout).resolve() == Path(__file__).resolve().parents[1]
    if args.out or this:  # an older checkout's numbers never overwrite this one's
        groups = {kind: {"n": len(rows), "verdicts": dict(Counter(r[1] for r in rows)),
                         "median_s": statistics.median([r[0] for r in rows]), "max_s": max(r[0] for r in rows)}
                  for kind, rows in results.items() if rows}
        write_result(args.out or default_out("math_hostile_concurrency"),
                     {"hogs": args.hogs, "checkout": args.checkout, "groups": groups, "wall_s": wall,
                      "legit_all_correct": legit_ok}, load_start)
    return 0 if legit_ok else 1


if __name__ == "__main__":
    sys.exit(main())
