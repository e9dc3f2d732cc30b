"""Eval throughput: one inspect process vs ``harness eval --workers N``, against the bound.

For each total ``max_connections`` (default 16, 64, 256) and each worker count (1 and N,
default N = twice the cores: one inspect process leaves its core idle between waves of
responses, so one worker per core stops short of the machine bound; at 256 connections on 2
cores, 2 workers reached 0.71-0.94 of the bound, 3 workers 0.86, 4 workers 0.97), the AIME task (``tasks/aime.py@aime``, 60 synthetic problems, epochs
sized per setting) runs through the CLI, ``harness eval ... --workers W``, against the
local stub server (inspect's openai-api provider, 1 s latency per call). Per setting:

- steady-state sample-epochs/s, from the samples' completion times: from the end of the
  first wave of max_connections to the 90th percentile, so start-up, ramp-up and the last
  stragglers do not count;
- the bound, min(connection bound, machine bound), and the ratio of the two:
  connection bound = max_connections / latency; machine bound = cores / CPU seconds per
  sample-epoch, measured in the same run on a bare inspect task (``generate()`` +
  ``match()``, same samples, same stub, zero latency) as the marginal CPU between a short
  and a long run (start-up cancels out; the least of two estimates, as CPU time inflates
  when other work shares the cores). The stub server runs on the same cores, so its CPU
  per request counts too; the bound over inspect's CPU alone is in the JSON beside it;
- the cores the run used (its processes' CPU seconds over its wall time, start-up
  included): on a shared machine, well below the core count when other work held the
  cores, and the ratios then understate an idle machine.

Also the harness task's CPU per sample-epoch beyond the bare task's (its own overhead),
measured the same way. Sizes: 6 waves of max_connections per setting (180 to 720
sample-epochs), enough for a stable rate; ``--full`` runs the paper's 1,920 (60 x 32).
Offline; the stub's answer key knows the synthetic problems. Prints a table, writes JSON.

    python bench/eval_throughput.py [--full] [--workers 4] [--connections 16,64,256] [--out ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchjson import default_out, write_result  # noqa: E402
from tabulate import tabulate  # noqa: E402

from harness.testing.stub_server import AnswerKey, StubConfig, StubServerProcess  # noqa: E402

N_PROBLEMS = 60
PAPER_EPOCHS = 32
WAVES = 6
"""A setting runs this many waves of max_connections (a steady state, not the ramp-up) ..."""
MIN_SAMPLE_EPOCHS, MAX_SAMPLE_EPOCHS = 180, 720
"""... within these bounds (past the machine bound, more waves only take longer)."""
REPEATS = 2
"""Estimates of CPU per sample-epoch per task (the least counts)."""

BARE_TASK = '''
from inspect_ai import Task, task
from inspect_ai.dataset import FieldSpec, json_dataset
from inspect_ai.scorer import match
from inspect_ai.solver import generate


@task
def bare(data: str) -> Task:
    return Task(dataset=json_dataset(data, FieldSpec(input="problem", target="answer", id="id")),
                solver=generate(), scorer=match(numeric=True))
'''
"""The machine bound's task: inspect with nothing of the harness (no template, no math scorer)."""


def _rows() -> list[dict]:
    return [
        {"id": i, "problem": f"Synthetic benchmark problem {i}: what is {i} * 7?", "answer": str(7 * i),
         "url": "", "year": "2024" if i < N_PROBLEMS // 2 else "2025"}
        for i in range(N_PROBLEMS)
    ]


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall s, CPU s of the command and every process under it)."""
    cpu0, t0 = _cpu_children(), time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _cpu_children() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr[-3000:]}")
    return wall, cpu


def steady_rate(log_dir: Path, first_wave: int = 0) -> tuple[float, int]:
    """Sample-epochs/s from the end of the first wave (``first_wave`` completions, between
    the 10th and 25th percentile) to the 90th percentile of completion times, and the count."""
    from inspect_ai.log import read_eval_log_sample_summaries

    times = sorted(
        datetime.fromisoformat(s.completed_at).timestamp()
        for p in log_dir.glob("*.eval") for s in read_eval_log_sample_summaries(str(p)) if s.completed_at
    )
    n = len(times)
    lo = max(int(0.1 * n), min(first_wave, n // 4))
    hi = max(int(0.9 * n) - 1, lo + 1)
    return (hi - lo) / (times[hi] - times[lo]), n


def cpu_per_sample(tasks: dict[str, list[str]], epochs: tuple[int, int], server: StubServerProcess,
                   env: dict[str, str], tmp: Path) -> dict[str, list[dict[str, float]]]:
    """Per task, REPEATS estimates of the marginal CPU ms per sample-epoch (client; stub)
    between a short run and a long run at zero latency. The long runs of the tasks take
    turns, so each round of estimates saw about the same load."""

    def point(name: str, e: int, i: int) -> tuple[int, float, float]:
        stub0 = server.cpu_seconds()
        _, cpu = run([sys.executable, "-m", "inspect_ai", "eval", *tasks[name], "--model", "openai-api/stub/model",
                      "--epochs", str(e), "--max-connections", "64", "--no-log-realtime", "--display", "none",
                      "--log-dir", str(tmp / f"{name}-{e}-{i}")], env, tmp)
        return N_PROBLEMS * e, cpu, server.cpu_seconds() - stub0

    short = {name: point(name, epochs[0], 0) for name in tasks}
    out: dict[str, list[dict[str, float]]] = {name: [] for name in tasks}
    for i in range(REPEATS):
        for name in tasks:
            (n1, c1, s1), (n2, c2, s2) = short[name], point(name, epochs[1], i)
            out[name].append({"client_ms": 1000 * (c2 - c1) / (n2 - n1), "stub_ms": 1000 * (s2 - s1) / (n2 - n1)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=default_out("eval_throughput"))
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--connections", default="16,64,256")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1),
                        help="the sharded setting (default: twice the cores, see above)")
    parser.add_argument("--full", action="store_true", help="paper-sized runs: 60 problems x 32 epochs per setting")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, data) and print it")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    try:
        measure(args, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def measure(args: argparse.Namespace, tmp: Path) -> None:

    cores = os.cpu_count() or 1
    rows = _rows()
    data = tmp / "aime.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp / "bare.py").write_text(BARE_TASK)
    key = AnswerKey({r["problem"]: r["answer"] for r in rows}, p_correct=0.7)
    env = {**os.environ, "STUB_API_KEY": "stub", "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])])}
    load_start = os.getloadavg()[0]
    results: dict = {"latency_s": args.latency, "full": args.full}

    # 1. the machine bound (and the harness's own CPU per sample-epoch), zero latency
    epochs = (1, PAPER_EPOCHS if args.full else 6)
    tasks = {"bare": ["bare.py", "-T", f"data={data}"],
             "harness": [str(ROOT / "tasks" / "aime.py") + "@aime", "-T", f"data={data}"]}
    with StubServerProcess(key, StubConfig(latency=0.0)) as server:
        env["STUB_BASE_URL"] = server.base_url
        run([sys.executable, "-m", "inspect_ai", "eval", "bare.py", "-T", f"data={data}", "--model",
             "openai-api/stub/model", "--limit", "2", "--display", "none", "--log-dir", str(tmp / "warm")], env, tmp)
        estimates = cpu_per_sample(tasks, epochs, server, env, tmp)
    # the least estimate is the least disturbed by other work; the overhead is the mean of
    # the rounds' paired differences (each pair measured back to back)
    bare = min(estimates["bare"], key=lambda e: e["client_ms"])
    harness = min(estimates["harness"], key=lambda e: e["client_ms"])
    diffs = [h["client_ms"] - b["client_ms"] for b, h in zip(estimates["bare"], estimates["harness"])]
    extra = sum(diffs) / len(diffs)
    machine = cores / ((bare["client_ms"] + bare["stub_ms"]) / 1000)
    results["machine_bound"] = {
        "bare_inspect_cpu_ms_per_sample_epoch": bare["client_ms"],
        "stub_cpu_ms_per_sample_epoch": bare["stub_ms"],
        "per_s": machine,
        "per_s_inspect_cpu_only": cores / (bare["client_ms"] / 1000),
        "single_process_per_s": 1000 / bare["client_ms"],
    }
    results["overhead"] = {
        "bare_cpu_ms_per_sample_epoch": bare["client_ms"],
        "harness_cpu_ms_per_sample_epoch": harness["client_ms"],
        "extra_ms_per_sample_epoch": extra,
        "estimates": estimates,
    }

    # 2. throughput per setting, through `harness eval --workers W`
    results["throughput"] = []
    table = []
    with StubServerProcess(key, StubConfig(latency=args.latency)) as server:
        env["STUB_BASE_URL"] = server.base_url
        for mc in [int(c) for c in args.connections.split(",")]:
            target = (N_PROBLEMS * PAPER_EPOCHS if args.full
                      else min(max(MIN_SAMPLE_EPOCHS, WAVES * mc), MAX_SAMPLE_EPOCHS))
            epochs_mc = math.ceil(target / N_PROBLEMS)
            for workers in sorted({1, args.workers}):
                log_dir = tmp / f"run-{mc}-{workers}"
                load = os.getloadavg()[0]
                wall, cpu = run([sys.executable, "-m", "harness.cli", "eval", str(ROOT / "tasks" / "aime.py") + "@aime",
                                 "-T", f"data={data}", "--model", "openai-api/stub/model", "--epochs", str(epochs_mc),
                                 "--max-connections", str(mc), "--workers", str(workers), "--no-log-realtime",
                                 "--display", "none", "--log-dir", str(log_dir)], env, tmp)
                rate, n = steady_rate(log_dir, first_wave=mc)
                conn_bound = mc / args.latency
                bound = min(conn_bound, machine)
                row = {"max_connections": mc, "workers": workers, "sample_epochs": n, "wall_s": wall,
                       "cpu_s": cpu, "cores_used": cpu / wall, "steady_per_s": rate,
                       "connection_bound_per_s": conn_bound, "machine_bound_per_s": machine, "bound_per_s": bound,
                       "ratio": rate / bound, "load_average": load}
                results["throughput"].append(row)
                table.append([mc, workers, n, f"{wall:.1f}", f"{cpu / wall:.2f}", f"{rate:.1f}", f"{conn_bound:.0f}",
                              f"{machine:.0f}", f"{rate / bound:.2f}", f"{load:.1f}"])
                print(f"  max_connections {mc}, {workers} worker(s): {rate:.1f}/s of {bound:.0f}/s", flush=True)
    for mc in {r["max_connections"] for r in results["throughput"]}:
        by_w = {r["workers"]: r["steady_per_s"] for r in results["throughput"] if r["max_connections"] == mc}
        if len(by_w) == 2:
            results.setdefault("scaling", {})[str(mc)] = by_w[max(by_w)] / by_w[1]

    print(f"\nAIME (60 synthetic problems) through `harness eval --workers W`, stub latency {args.latency}s; "
          f"{cores} cores; load average {load_start:.1f} at the start")
    print(tabulate(table, headers=["max_connections", "workers", "sample-epochs", "wall s", "cores used", "steady /s",
                                   "connection bound /s", "machine bound /s", "ratio to min", "load"],
                   tablefmt="github"))
    mb = results["machine_bound"]
    print(f"\nmachine bound: {cores} cores / ({mb['bare_inspect_cpu_ms_per_sample_epoch']:.1f} ms inspect + "
          f"{mb['stub_cpu_ms_per_sample_epoch']:.1f} ms stub CPU per sample-epoch) = {machine:.0f}/s "
          f"(inspect's CPU alone: {mb['per_s_inspect_cpu_only']:.0f}/s; "
          f"one process: {mb['single_process_per_s']:.0f}/s)")
    scaling = sorted(results.get("scaling", {}).items(), key=lambda kv: int(kv[0]))
    print("scaling, N workers / 1 worker, by max_connections: " + ", ".join(f"{k}: {v:.2f}x" for k, v in scaling))
    ov = results["overhead"]
    pairs = ", ".join(f"{h['client_ms'] - b['client_ms']:+.1f}"
                      for b, h in zip(ov["estimates"]["bare"], ov["estimates"]["harness"]))
    print(f"harness overhead: {ov['harness_cpu_ms_per_sample_epoch']:.1f} ms vs bare "
          f"{ov['bare_cpu_ms_per_sample_epoch']:.1f} ms CPU per sample-epoch; paired differences {pairs} ms "
          f"(mean {ov['extra_ms_per_sample_epoch']:+.1f} ms)")
    write_result(args.out, results, load_start)


if __name__ == "__main__":
    main()
