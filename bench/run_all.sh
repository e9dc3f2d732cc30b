#!/usr/bin/env bash
# Every benchmark, offline, one after another (so they do not disturb each other's timings),
# each writing JSON to bench/out/, then bench/out/run_all.json (each script's wall time).
# Default sizes reach a steady state and take under 5 minutes on an idle 2-core machine;
# --full: the paper-sized eval throughput runs (1,920 sample-epochs per setting), every
# sandbox measurement (incl. start-up vs the old sandbox and fairness) and the fuzzers at
# their full counts. Then `python3 bench/readme_table.py` rewrites README's performance
# table from the JSON. Numbers depend on the machine and on what else runs on it: each
# JSON records the load average.
set -uo pipefail
cd "$(dirname "$0")/.."
full=0
case "${1:-}" in
  --full) full=1 ;;
  "") ;;
  *) echo "usage: bash bench/run_all.sh [--full]" >&2; exit 2 ;;
esac
mkdir -p bench/out
start=$(date +%s)
times=""
failed=""
run() {
  echo "=== python3 bench/$*"
  local t0 status
  t0=$(date +%s)
  python3 "bench/$@"
  status=$?
  echo "--- $1: $(( $(date +%s) - t0 )) s"
  times="$times\"$1\": $(( $(date +%s) - t0 )), "
  [ "$status" -eq 0 ] || failed="$failed $1"
}
if [ "$full" -eq 1 ]; then
  run eval_throughput.py --full
  run tfgrpo_step.py
  run leaderboard.py
  run scorer_cost.py
  run sandbox_python.py
  run apigen_matcher.py
  run countdown_fuzz.py
  run judge_fuzz.py
  run parser_fuzz.py
  run math_hostile_concurrency.py
  run cli_startup.py
else
  run eval_throughput.py
  run tfgrpo_step.py
  run leaderboard.py
  run scorer_cost.py
  run sandbox_python.py -n 5 --skip-compare --skip-fairness
  run apigen_matcher.py --repeat 500 --random 3000
  run countdown_fuzz.py 3000
  run judge_fuzz.py 500
  run parser_fuzz.py -n 300 --bombs 5
  run math_hostile_concurrency.py --hostile 16 --legit 8
  run cli_startup.py --repeat 3
fi
total=$(( $(date +%s) - start ))
python3 - "$full" "$total" "{${times%, }}" "$failed" <<'EOF'
import json, os, sys
from datetime import datetime, timezone
full, total, times, failed = sys.argv[1:5]
out = {"command": "bash bench/run_all.sh" + (" --full" if full == "1" else ""),
       "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
       "machine": {"cores": os.cpu_count(), "load_average_end": os.getloadavg()[0]},
       "total_s": int(total), "scripts_s": json.loads(times), "failed": failed.split()}
open("bench/out/run_all.json", "w").write(json.dumps(out, indent=2))
EOF
echo "=== all benchmarks: ${total} s$([ -n "$failed" ] && echo "; FAILED:$failed")"
echo "the docs' performance table: python3 bench/readme_table.py"
[ -z "$failed" ]
