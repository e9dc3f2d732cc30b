"""Eval throughput through inspect's openai-api provider against the local stub server.

1. AIME Mean@32 (the ``aime`` task: 2024 + 2025, 60 problems x 32 epochs = 1,920
   sample-epochs) at max_connections 16, 64 and 256 with 1 s latency per call: achieved
   sample-epochs/s against the bound max_connections / latency.
2. The harness's overhead per sample-epoch: the ``aime`` task (template, math scorer,
   adaptive reducers) versus a bare inspect task (same samples, generate(), match()) with
   the same stub model at zero latency (--overhead-epochs epochs, best of 3).

Offline; the problems are synthetic (the stub's answer key knows them). The stub server
runs in its own process, as a real endpoint would not share the client's interpreter.
Prints a table and writes JSON (--out).

    python bench/eval_throughput.py [--out bench/out/eval_throughput.json] [--epochs 32]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inspect_ai import Task  # noqa: E402
from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.dataset import Sample  # noqa: E402
from inspect_ai.model import get_model  # noqa: E402
from inspect_ai.scorer import match  # noqa: E402
from inspect_ai.solver import generate  # noqa: E402
from tabulate import tabulate  # noqa: E402

from harness.stub_server import AnswerKey, StubConfig, StubServerProcess  # noqa: E402

N_PROBLEMS = 60


def _rows() -> list[dict]:
    return [
        {"id": i, "problem": f"Synthetic benchmark problem {i}: what is {i} * 7?", "answer": str(7 * i),
         "url": "", "year": "2024" if i < N_PROBLEMS // 2 else "2025"}
        for i in range(N_PROBLEMS)
    ]


def _run(task: Task, server: StubServerProcess, epochs: int, max_connections: int, log_dir: str) -> float:
    model = get_model("openai-api/stub/model", base_url=server.base_url, api_key="stub", memoize=False)
    start = time.perf_counter()
    [log] = inspect_eval(
        task, model=model, epochs=epochs, max_connections=max_connections, max_samples=max_connections,
        log_dir=log_dir, display="none", log_samples=True,
        # bulk runs: no per-event realtime buffer (the CLI's --no-log-realtime); ~5 ms/sample
        log_realtime=False,
    )
    elapsed = time.perf_counter() - start
    assert log.status == "success", log.error
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="bench/out/eval_throughput.json")
    parser.add_argument("--epochs", type=int, default=32)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--connections", default="16,64,256")
    parser.add_argument("--overhead-epochs", type=int, default=3)
    args = parser.parse_args()

    from tasks.aime import aime

    rows = _rows()
    key = AnswerKey({r["problem"]: r["answer"] for r in rows}, p_correct=0.7)
    tmp = tempfile.mkdtemp(prefix="bench-throughput-")
    data = Path(tmp) / "aime.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    n = N_PROBLEMS * args.epochs

    results: dict = {"sample_epochs": n, "latency_s": args.latency, "throughput": [], "overhead": {}}
    table = []
    with StubServerProcess(key, StubConfig(latency=args.latency)) as server:
        for mc in [int(c) for c in args.connections.split(",")]:
            elapsed = _run(aime(data=str(data)), server, args.epochs, mc, tmp)
            achieved = n / elapsed
            bound = mc / args.latency
            results["throughput"].append(
                {"max_connections": mc, "seconds": elapsed, "samples_per_s": achieved, "bound_per_s": bound,
                 "ratio": achieved / bound}
            )
            table.append([mc, f"{elapsed:.1f}", f"{achieved:.1f}", f"{bound:.0f}", f"{achieved / bound:.2f}"])
    print(f"AIME (2024+2025) Mean@{args.epochs}: {n} sample-epochs, stub latency {args.latency}s per call")
    print(tabulate(table, headers=["max_connections", "wall s", "samples/s", "bound/s", "ratio"], tablefmt="github"))

    # overhead per sample-epoch at zero latency, harness task vs bare inspect task
    bare = Task(
        dataset=[Sample(id=str(r["id"]), input=r["problem"], target=r["answer"]) for r in rows],
        solver=generate(),
        scorer=match(numeric=True),
    )
    with StubServerProcess(key, StubConfig(latency=0.0)) as server:
        _run(bare, server, 1, 64, tmp)  # warm imports and the connection pool
        m = N_PROBLEMS * args.overhead_epochs
        t_bare = min(_run(bare, server, args.overhead_epochs, 64, tmp) for _ in range(3))
        t_harness = min(_run(aime(data=str(data)), server, args.overhead_epochs, 64, tmp) for _ in range(3))
    per_bare = t_bare / m * 1000
    per_harness = t_harness / m * 1000
    results["overhead"] = {
        "bare_ms_per_sample": per_bare,
        "harness_ms_per_sample": per_harness,
        "extra_ms_per_sample": per_harness - per_bare,
    }
    print(f"\nzero-latency cost per sample-epoch ({m} sample-epochs, max_connections 64, best of 3):")
    print(
        tabulate(
            [["bare inspect task", f"{per_bare:.2f}"], ["harness aime", f"{per_harness:.2f}"],
             ["harness overhead", f"{per_harness - per_bare:+.2f}"]],
            headers=["", "ms"], tablefmt="github",
        )
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
