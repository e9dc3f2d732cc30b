#!/usr/bin/env bash
# Run every benchmark offline, one after another (so they do not disturb each other's
# timings), writing JSON to bench/out/. Prints each table and the wall time of each script
# and of the whole run. Numbers depend on the machine and on what else runs on it.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
start=$(date +%s)
run() {
  echo "=== python3 bench/$*"
  local t0; t0=$(date +%s)
  python3 "bench/$@"
  echo "--- $1: $(( $(date +%s) - t0 )) s"
}
run eval_throughput.py
run tfgrpo_step.py
run leaderboard.py
run scorer_cost.py
run sandbox_python.py -n 10
run apigen_matcher.py --repeat 500 --random 3000
run countdown_fuzz.py
run judge_fuzz.py
run parser_fuzz.py
run math_hostile_concurrency.py
echo "=== all benchmarks: $(( $(date +%s) - start )) s"
