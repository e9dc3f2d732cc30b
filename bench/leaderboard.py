"""Benchmark: `harness leaderboard` over 50 logs of 2,000 sample-epochs each (bound: 10 s).

Builds the logs offline once (cached in --dir): one real inspect eval of aime2024 on 250
generated AIME-format problems x 8 epochs with the TEST DOUBLE (testdouble/oracle,
p_correct 0.5; not a language model), then 50 copies of its log whose header names a different
model (``write_eval_log(..., header_only=True)``), so every log is its own leaderboard
row. Then times the whole leaderboard build in-process (read headers, bootstrap CIs
with 10,000 resamples, markdown + HTML rendering: the 10 s bound applies to this) and,
for information, the `harness leaderboard` CLI end to end (adds Python start-up and
importing inspect_ai). Wall times depend on what else runs on the machine: the CPU
seconds and the load average are printed next to them.

    python bench/leaderboard.py [--dir /tmp/harness-bench-leaderboard] [--logs 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchjson import default_out, write_result

BOUND_S = 10.0


def build_logs(folder: Path, n_logs: int, problems: int, epochs: int) -> list[Path]:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.log import read_eval_log, write_eval_log

    from tasks.aime import aime2024

    logs = sorted(folder.glob("*.eval"))
    if len(logs) >= n_logs:
        return logs[:n_logs]
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "problems.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": i, "problem": f"Benchmark problem {i}: find n.", "answer": str(i % 1000),
                        "url": f"https://example/2024_AIME_I_Problems/Problem_{i}", "year": 2024}) + "\n"
            for i in range(1, problems + 1)
        )
    )
    t0 = time.perf_counter()
    base = inspect_eval(
        aime2024(data=str(data)),
        model="testdouble/oracle",
        model_args={"p_correct": 0.5},
        epochs=epochs,
        log_dir=str(folder / "base"),
        display="none",
        max_samples=200,
    )[0]
    print(f"base eval: {problems} problems x {epochs} epochs in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    header = read_eval_log(base.location, header_only=True)
    out = []
    for i in range(n_logs):
        dest = folder / f"bench_{i:03d}.eval"
        shutil.copyfile(base.location, dest)
        header.eval.model = f"testdouble/oracle-copy-{i:03d}"
        header.eval.eval_id = f"bench{i:03d}"
        write_eval_log(header, str(dest), header_only=True)
        out.append(dest)
    shutil.rmtree(folder / "base")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "harness-bench-leaderboard"))
    ap.add_argument("--logs", type=int, default=50)
    ap.add_argument("--problems", type=int, default=250)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--out", default=default_out("leaderboard"))
    args = ap.parse_args()
    load_start = os.getloadavg()[0]

    folder = Path(args.dir)
    logs = build_logs(folder, args.logs, args.problems, args.epochs)
    print(f"{len(logs)} logs in {folder} ({sum(p.stat().st_size for p in logs) / 1e6:.0f} MB)")

    from harness.reports.leaderboard import build, render_html, render_md
    from harness.reports.runs import read_runs

    c0 = time.process_time()
    t0 = time.perf_counter()
    runs, skipped = read_runs([str(folder)])
    t1 = time.perf_counter()
    lb = build(runs, skipped)
    t2 = time.perf_counter()
    md, page = render_md(lb), render_html(lb)
    t3 = time.perf_counter()
    cpu_in = time.process_time() - c0  # this process only (header-reading workers are children)
    (folder / "leaderboard.md").write_text(md)
    (folder / "leaderboard-inprocess.html").write_text(page)
    rows = len(lb.rows)
    epochs = sum(r.completed for r in runs)
    print(f"in-process: read {len(runs)} runs ({epochs:,} sample-epochs) {t1 - t0:.2f} s, "
          f"bootstrap CIs {t2 - t1:.2f} s, render md+html {t3 - t2:.2f} s; total {t3 - t0:.2f} s wall, {rows} rows "
          f"(main-process CPU {cpu_in:.2f} s)")

    import resource

    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t4 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "leaderboard", str(folder), "--out",
                           str(folder / "leaderboard.html")], capture_output=True, text=True)
    cli_s = time.perf_counter() - t4
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
        return 1
    print(f"CLI `harness leaderboard {folder} --out leaderboard.html` (incl. interpreter start): {cli_s:.2f} s wall, "
          f"{cpu:.2f} s CPU over {os.cpu_count()} cores; machine load average {load:.1f} (other users' work)")
    build_s = t3 - t0
    print(f"bound {BOUND_S:.0f} s on the leaderboard build (read + CIs + render, {build_s:.2f} s): "
          f"{'PASS' if build_s < BOUND_S else 'FAIL'}; the CLI adds interpreter start and importing inspect_ai "
          f"(about 1.8 s CPU)")
    write_result(args.out, {"logs": len(logs), "sample_epochs": epochs, "build_s": build_s, "read_s": t1 - t0,
                            "cis_s": t2 - t1, "render_s": t3 - t2, "cli_s": cli_s, "cli_cpu_s": cpu,
                            "bound_s": BOUND_S, "passed": build_s < BOUND_S}, load_start)
    return 0 if build_s < BOUND_S else 1


if __name__ == "__main__":
    sys.exit(main())
