"""Benchmark: is a Training-Free GRPO step as fast as its critical path?

TEST DOUBLE at a fixed latency per call (default 1 s). A step's critical path is one
rollout wave per ``ceil(rollouts / max_connections)`` + one summary + one advantage + one
consolidation latency (all rollouts concurrent, summaries and advantages concurrent,
consolidation sequential). The script trains ``--steps`` steps over the self-written DAPO
fixture and reports each step's wall time / critical path (target <= 1.2). Step 1 also
pays one-off imports and inspect start-up; the steady state is steps 2+.

    PYTHONPATH=. python bench/tfgrpo_step.py [--latency 1] [--group-size 5] [--steps 3]
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

from benchjson import default_out, write_result

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--group-size", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--max-connections", type=int, default=64)
    ap.add_argument("--data", default=str(ROOT / "harness" / "data" / "offline" / "dapo.jsonl"))
    ap.add_argument("--out", default=default_out("tfgrpo_step"))
    args = ap.parse_args()
    load_start = os.getloadavg()[0]

    from inspect_ai._util._async import run_coroutine
    from inspect_ai.model import get_model
    from inspect_ai.util._display import init_display_type

    import harness._registry  # noqa: F401  (testdouble/)
    from harness.tfgrpo.optimizer import TrainConfig, Trainer

    init_display_type("none")
    model_args = {"latency": args.latency, "p_correct": 0.5, "max_connections": args.max_connections}
    model = get_model("testdouble/oracle", **model_args)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(task="dapo100", model="testdouble/oracle", model_args=model_args, data=args.data,
                          epochs=args.steps, group_size=args.group_size, out=str(Path(tmp) / "lib.json"),
                          max_connections=args.max_connections)
        started = time.monotonic()
        library = run_coroutine(Trainer(cfg, model).train())
        total = time.monotonic() - started
    print(f"TEST DOUBLE benchmark (not a real model): latency {args.latency}s/call, G={args.group_size}, "
          f"max_connections={args.max_connections}")
    print("step | rollouts | waves | summaries | groups kept | consolidation | critical path s | wall s | ratio")
    ratios, steps = [], []
    for s in library.steps:
        waves = math.ceil(s.rollouts / args.max_connections)
        stages = [waves, 1 if s.groups_kept else 0, 1 if s.groups_kept else 0, 1 if s.operations_proposed else 0]
        critical = args.latency * sum(stages)
        ratio = (s.wall_seconds or 0) / critical
        ratios.append(ratio)
        steps.append({"step": s.step + 1, "rollouts": s.rollouts, "critical_path_s": critical,
                      "wall_s": s.wall_seconds, "ratio": ratio})
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in s.phase_seconds.items())
        print(f"{s.step + 1:>4} | {s.rollouts:>8} | {waves:>5} | {s.usage.get('summary').calls if 'summary' in s.usage else 0:>9} | "
              f"{s.groups_kept:>5}/{s.groups:<5} | {stages[3]:>13} | {critical:>15.1f} | {s.wall_seconds:>6.2f} | {ratio:.2f}  ({phases})")
    steady = ratios[1:] or ratios
    print(f"steady-state ratio (steps 2+): mean {sum(steady) / len(steady):.2f}, max {max(steady):.2f} (target <= 1.2); "
          f"whole run {total:.1f}s")
    write_result(args.out, {"latency_s": args.latency, "group_size": args.group_size,
                            "max_connections": args.max_connections, "steps": steps,
                            "steady_mean_ratio": sum(steady) / len(steady), "steady_max_ratio": max(steady),
                            "target": 1.2, "wall_s": total}, load_start)


if __name__ == "__main__":
    main()
